"""How a rule's field values are read and checked: numbers, rates, whole numbers and dates
from Python or a YAML file, each wrong value a :class:`~chatsim.errors.RuleError` naming
the rule and the field. :mod:`chatsim.rules` declares the fields; this module holds the
checks they share.

Example:
    >>> to_date("2025-08-15", "rule 'x': effective_from")
    datetime.date(2025, 8, 15)
    >>> to_float("85%", "rule 'x': target")
    0.85
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from chatsim.errors import RuleError
from chatsim.yamlfile import check_number, shown

__all__ = [
    "DATE_FIELDS",
    "FLOAT_FIELDS",
    "check_known_keys",
    "rate_or_number",
    "to_date",
    "to_exclusions",
    "to_float",
    "whole_number",
]


#: The fields held as floats (an integer in a file is turned into one).
FLOAT_FIELDS: tuple[str, ...] = (
    *("window_hours", "target", "warning_below", "enforcement_below"),
    *("default_rate", "session_hours"),
)


#: The fields held as dates (``YYYY-MM-DD`` in a file).
DATE_FIELDS: tuple[str, ...] = (
    *("period_start", "period_end", "effective_from", "effective_until", "visible_from"),
)


def to_float(v: Any, where: str) -> float:
    """A number read from a file (``"85%"`` is 0.85); the range is checked by :class:`Rule`."""
    return check_number(v, where, RuleError, percent=True)


def to_date(v: Any, where: str) -> dt.date | None:
    """A date read from a file: ``None``, a date or ``YYYY-MM-DD`` text."""
    if v is None or (isinstance(v, dt.date) and not isinstance(v, dt.datetime)):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    raise RuleError(f"{where}: expected a date as YYYY-MM-DD, got {shown(v)}.")


def whole_number(v: Any, where: str, lo: int, hi: int, unit: str, note: str = "") -> None:
    """``v`` must be a whole number (not a boolean) from ``lo`` to ``hi``."""
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise RuleError(
            f"{where} must be a whole number of {unit} from {lo}{note} to {hi:,}, got {shown(v)}."
        )


def rate_or_number(
    v: Any, where: str, lo: float | None = None, hi: float | None = None, lo_open: bool = False
) -> None:
    """``v`` must be a number in the range (a rate's error says to write it as a fraction)."""
    extra = " (write rates as fractions: 0.85 for 85 %)" if hi == 1 else ""
    check_number(v, where, RuleError, lo=lo, hi=hi, lo_open=lo_open, hint=extra)


def check_known_keys(data: Mapping[str, Any], fields: Collection[str], source: str) -> None:
    """Every key of a rule mapping must be a field; an unknown one is named, with the
    closest field as a hint."""
    unknown = [k for k in data if k not in fields]
    if unknown:
        hints = {
            shown(k): difflib.get_close_matches(str(k), fields, n=1, cutoff=0.5)
            for k in unknown[:5]
        }
        hint = "; ".join(k + (f" (did you mean '{h[0]}'?)" if h else "") for k, h in hints.items())
        raise RuleError(f"{source}: unknown key(s) {hint}. Allowed: {sorted(fields)}.")


def to_exclusions(ex: Any, source: str, allowed: Sequence[str]) -> frozenset[str]:
    """The exclusions setting read from a file: a list of names (each name is checked by
    :class:`~chatsim.rules.Rule`)."""
    if (
        isinstance(ex, str | Mapping)
        or not hasattr(ex, "__iter__")
        or not all(isinstance(e, str) for e in ex)
    ):
        raise RuleError(
            f"{source}: exclusions must be a list of names, e.g. {list(allowed)}; got {shown(ex)}."
        )
    return frozenset(ex)
