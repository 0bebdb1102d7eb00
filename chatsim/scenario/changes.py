"""Dated changes: sellers who adapt from a date, checked and planned shop by shop.

A scenario's ``changes`` list says that from a date some shops (an archetype, or a share
of its shops) behave differently: any archetype parameter set to a new value, optionally
ramped in over ``ramp_days``. Numeric parameters move linearly from the old to the new
value (day ``k`` of an ``N``-day ramp is ``k/N`` of the way); other parameters (schedules,
true/false switches, time zones) switch per shop on a day drawn within the ramp.

Which shops adapt, and each one's switch day, are drawn from the scenario seed in a
stream of each change's own (keyed by its name): the draw depends neither on the number
of workers nor on the other changes. Dates are UTC days of the simulated period.

Example:
    >>> from chatsim.scenario import Scenario
    >>> sc = Scenario.from_dict({"name": "d", "shops": 10,
    ...     "period": {"start": "2025-08-01", "days": 30},
    ...     "archetypes": {"solo_weekdays": {"share": 1.0}},
    ...     "changes": [{"name": "faster", "from": "2025-08-15", "share": 0.5,
    ...                  "ramp_days": 4, "set": {"delay_median_minutes": 10}}]})
    >>> plan = change_plan(sc)
    >>> int(plan[0].selected.sum()), plan[0].start_day
    (5, 14)
    >>> [round(archetype_on(sc.archetypes[0], [(sc.changes[0], 14, 0)], d).delay_median_minutes, 1)
    ...  for d in (13, 14, 15, 17, 20)]
    [20.0, 17.5, 15.0, 10.0, 10.0]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from chatsim.scenario.checks import (
    Where,
    check_keys,
    integer,
    iso_date,
    listing,
    mapping,
    probability,
    text,
)
from chatsim.yamlfile import shown

if TYPE_CHECKING:
    from chatsim.scenario.model import Archetype, Period, Scenario

__all__ = [
    "CHANGE_KEYS",
    "Change",
    "ShopChanges",
    "archetype_on",
    "change_plan",
    "parse_changes",
]

#: The keys of one entry of a scenario's ``changes`` list.
CHANGE_KEYS: tuple[str, ...] = ("name", "from", "archetype", "share", "ramp_days", "set")
#: First element of the spawn key of the changes' random streams (apart from the shards').
_CHANGE_STREAM = 0xC4A96E
_MAX_RAMP_DAYS = 3_653


@dataclass(frozen=True)
class Change:
    """From ``start`` (the YAML key ``from``), ``share`` of the shops of ``archetype`` (all
    archetypes when ``None``) take the parameters in ``set``, ramped in over ``ramp_days``.

    Example:
        >>> Change("bots", dt.date(2025, 8, 15), {"auto_reply_rate": 0.9}).to_dict()["from"]
        '2025-08-15'
    """

    name: str
    start: dt.date
    set: Mapping[str, Any]
    archetype: str | None = None
    share: float = 1.0
    ramp_days: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (the ``changes`` entry of a scenario file)."""
        from chatsim.scenario.model import plain_data

        d: dict[str, Any] = {"name": self.name, "from": self.start.isoformat()}
        if self.archetype is not None:
            d["archetype"] = self.archetype
        d["share"] = self.share
        d["ramp_days"] = self.ramp_days
        d["set"] = plain_data(self.set)
        return d

    def describe(self) -> str:
        """One sentence for reports.

        Example:
            >>> Change("bots", dt.date(2025, 8, 15), {"auto_reply_rate": 0.9},
            ...        "small_team", 0.4, 14).describe()
            'bots: from 2025-08-15, 40 % of small_team shops set auto_reply_rate, ramped in over 14 days.'
        """
        who = "all" if self.share == 1.0 else f"{self.share * 100:g} % of"
        arch = f"{self.archetype} shops" if self.archetype else "shops"
        ramp = f", ramped in over {self.ramp_days} days" if self.ramp_days else ""
        return f"{self.name}: from {self.start.isoformat()}, {who} {arch} set {', '.join(self.set)}{ramp}."


def parse_changes(
    v: Any, at: Where, archetypes: Sequence[Archetype], period: Period
) -> tuple[Change, ...]:
    """Check a scenario's ``changes`` list against its archetypes and period."""
    names = [a.name for a in archetypes]
    last = period.start + dt.timedelta(days=period.days - 1)
    out: list[Change] = []
    seen: set[str] = set()
    for i, raw in enumerate(listing(v, at)):
        p = at.item(i)
        d = mapping(raw, p)
        check_keys(d, list(CHANGE_KEYS), p)
        for req in ("name", "from", "set"):
            if req not in d:
                raise p.key(req).error(
                    "missing: a change needs 'name', 'from' (YYYY-MM-DD) and 'set'."
                )
        name = text(d["name"], p.key("name"))
        if name in seen:
            raise p.key("name").error(f"duplicate change name {shown(name)}; names must differ.")
        seen.add(name)
        start = iso_date(d["from"], p.key("from"))
        if not period.start <= start <= last:
            raise p.key("from").error(
                f"{start.isoformat()} is outside the scenario period "
                f"({period.start.isoformat()} .. {last.isoformat()}); pick a day inside it."
            )
        arch = d.get("archetype")
        if arch is not None and arch not in names:
            close = difflib.get_close_matches(str(arch)[:100], names, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise p.key("archetype").error(
                f"no archetype {shown(arch)} in this scenario.{hint} Allowed: {', '.join(names)}."
            )
        share = probability(d.get("share", 1.0), p.key("share"))
        ramp = integer(minimum=0, maximum=_MAX_RAMP_DAYS)(d.get("ramp_days", 0), p.key("ramp_days"))
        sets = mapping(d["set"], p.key("set"))
        if not sets:
            raise p.key("set").error("needs at least one archetype parameter to change.")
        if "share" in sets:
            raise p.key("set.share").error(
                "a change cannot set an archetype's share; use the change's own 'share' "
                "(the share of the archetype's shops that adapt)."
            )
        from chatsim.scenario.model import ARCHETYPE_PARAMS, plain_data

        check_keys(sets, [k for k in ARCHETYPE_PARAMS if k != "share"], p.key("set"))
        for a in archetypes:  # values checked against each archetype the change reaches
            if arch in (None, a.name):
                a.updated(sets, p.key("set"))

        out.append(Change(name, start, plain_data(sets), arch, share, ramp))
    return tuple(out)


@dataclass(frozen=True)
class ShopChanges:
    """One change, planned over every shop of a scenario (numpy arrays by shop index)."""

    change: Change
    start_day: int  # the change's first day, counted from the period start
    selected: np.ndarray  # bool: the shop adapts
    switch_day: np.ndarray  # int: the shop's switch day of non-numeric parameters


def change_plan(sc: Scenario) -> tuple[ShopChanges, ...]:
    """Which shops each change selects, and each shop's switch day.

    ``round(share * n)`` of the ``n`` shops of the change's archetype adapt: those with the
    smallest draws of the change's own stream (``SeedSequence(seed, spawn_key=(...,
    crc32(name)))``). Switch days are uniform over the ramp's days.
    """
    if not sc.changes:
        return ()
    arch_of = np.asarray(sc.shop_archetypes(), dtype=np.int64)
    names = np.array([a.name for a in sc.archetypes])
    out = []
    for c in sc.changes:
        key = (_CHANGE_STREAM, zlib.crc32(c.name.encode("utf-8")))
        rng = np.random.default_rng(np.random.SeedSequence(sc.seed, spawn_key=key))
        u = rng.random(sc.shops)
        ramp = rng.integers(0, max(c.ramp_days, 1), sc.shops)
        eligible = np.ones(sc.shops, dtype=bool)
        if c.archetype is not None:
            eligible = names[arch_of] == c.archetype
        idx = np.flatnonzero(eligible)
        k = int(math.floor(c.share * idx.size + 0.5))
        chosen = idx[np.argsort(u[idx], kind="stable")[:k]]
        selected = np.zeros(sc.shops, dtype=bool)
        selected[chosen] = True
        start_day = (c.start - sc.period.start).days
        out.append(ShopChanges(c, start_day, selected, start_day + ramp))
    return tuple(out)


def archetype_on(
    base: Archetype, changes: Sequence[tuple[Change, int, int]], day: int
) -> Archetype:
    """A shop's archetype on ``day`` (from the period start), given its changes as
    ``(change, start day, switch day)`` in the order they apply.

    Numeric parameters ramp linearly: on day ``start + j`` of an ``N``-day ramp they are
    ``(j + 1) / N`` of the way from the value before the change to the new one. Other
    parameters take the new value from the shop's switch day.
    """
    a = base
    for c, s0, sw in changes:
        if day < s0:
            continue
        target = a.updated(c.set, Where("<change>", c.name))
        f = 1.0 if c.ramp_days == 0 else min(1.0, (day - s0 + 1) / c.ramp_days)
        vals: dict[str, Any] = {}
        for k in c.set:
            old, new = getattr(a, k), getattr(target, k)
            if isinstance(old, float) and isinstance(new, float):
                vals[k] = new if f >= 1.0 else old + (new - old) * f
            else:
                vals[k] = new if day >= sw else old
        a = dataclasses.replace(a, **vals)
    return a
