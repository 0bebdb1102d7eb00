"""Checks of the archetype knobs that are lists or mappings of weights: the buyers' arrival
profile by hour of day and by weekday, and the mix of the kinds of buyer messages.

Each check takes the raw value (as read from YAML) and returns the field's value, or
raises a :class:`~chatsim.errors.ScenarioError` naming the file and the key path (the
item, for one bad weight). ``null`` keeps the simulator's built-in profile or mixes.

Example:
    >>> at = Where("x.yaml", "archetypes.solo.arrival_weekdays")
    >>> weekday_weights([1, 1, 1, 1, 1, 2, 2], at)
    (1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0)
    >>> weekday_weights([1, 1, 1, 1, 1, 2], at)
    Traceback (most recent call last):
    ...
    chatsim.errors.ScenarioError: x.yaml: archetypes.solo.arrival_weekdays: expected 7 weights (Monday first), got 6 values.
    >>> kind_shares({"text": 0.75, "image": 0.25}, Where("x.yaml", "archetypes.solo.kind_mix"))
    (('text', 0.75), ('image', 0.25))
"""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any

from chatsim.scenario.checks import Check, Where, listing, mapping, non_negative, probability
from chatsim.yamlfile import shown

__all__ = [
    "KIND_SHARE_TOLERANCE",
    "buyer_kinds",
    "hour_weights",
    "kind_shares",
    "weekday_weights",
    "weights",
]

#: How far the shares of a kind mix may sum from 1.
KIND_SHARE_TOLERANCE = 1e-6


@cache
def buyer_kinds() -> tuple[str, ...]:
    """The kinds a buyer's message can have: the schema's kinds but ``system``, in schema
    order (read when first needed: the schema module loads polars).

    Example:
        >>> buyer_kinds()[:3]
        ('text', 'sticker', 'emoji')
    """
    from chatsim.schema.columns import KINDS

    return tuple(k for k in KINDS if k != "system")


def weights(n: int, what: str) -> Check:
    """A check for ``n`` relative weights (numbers >= 0, not all 0), or null.

    ``what`` says what the ``n`` weights are, for the error message.
    """

    def check(v: Any, at: Where, current: Any = None) -> tuple[float, ...] | None:
        if v is None:
            return None
        items = listing(v, at)
        if len(items) != n:
            raise at.error(f"expected {n} weights ({what}), got {len(items)} values.")
        out = tuple(non_negative(x, at.item(i)) for i, x in enumerate(items))
        if not any(out):
            raise at.error(
                "the weights are all 0; give at least one positive weight, or null for "
                "the built-in profile."
            )
        return out

    return check


#: 24 relative weights of buyer arrivals by buyer-local hour of day (0-23), or null.
hour_weights = weights(24, "one per buyer-local hour 0-23")
#: 7 relative weights of buyer arrivals by buyer-local weekday (Monday first), or null.
weekday_weights = weights(7, "Monday first")


def kind_shares(v: Any, at: Where, current: Any = None) -> tuple[tuple[str, float], ...] | None:
    """Shares of buyer messages by kind (a mapping kind -> share, summing to 1), or null.

    Kinds are the schema's (:func:`buyer_kinds`); the value keeps them in that order.
    """
    if v is None:
        return None
    d = mapping(v, at)
    kinds = buyer_kinds()
    for k in d:
        if k not in kinds:
            close = difflib.get_close_matches(str(k)[:100], kinds, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise at.key(k).error(
                f"unknown buyer message kind {shown(k)}.{hint} Allowed: {', '.join(kinds)}."
            )
    shares = {k: probability(d[k], at.key(k)) for k in kinds if k in d}
    total = sum(shares.values())
    if abs(total - 1.0) > KIND_SHARE_TOLERANCE:
        listed = ", ".join(f"{k}={s:g}" for k, s in shares.items())
        raise at.error(f"shares must sum to 1, got {total:g} ({listed or 'none'}).")
    return tuple(shares.items())
