"""Sellers who adapt: a shard's shops that a dated change selects, simulated anew from it.

A scenario's dated changes (:mod:`chatsim.scenario.changes`) give every shop they select
a timeline of archetypes, constant between day boundaries. The shard is first simulated
exactly as without changes; then, for each adapting shop, every exchange (a buyer's chat
with its answers and follow-ups, a seller thread, a broadcast and its replies) that starts
on or after the shop's first change day is replaced by the same exchanges simulated with
the archetype of the day it starts on. Shops with the same timeline piece are simulated
together, from a random stream of the shard's own (``SeedSequence(seed, spawn_key=(shard,
2, k))``), so any number of workers still writes the same bytes, and nothing before a
shop's change, nor any shop it does not select, moves.

An adapting shop keeps its own size, pace, calendar and holiday-mode periods unless the
change sets a parameter they come from (then they are drawn again for the new timeline
piece). Its buyers after the change are new buyers (numbered after the earlier ones).

Example:
    >>> from chatsim.scenario import Scenario
    >>> sc = Scenario.from_dict({"name": "d", "shops": 4, "period": {"start": "2025-08-01",
    ...     "days": 10}, "archetypes": {"small_team": {"share": 1.0}},
    ...     "changes": [{"name": "slower", "from": "2025-08-06", "ramp_days": 2,
    ...                  "set": {"delay_median_minutes": 60}}]})
    >>> [(a, b, arch.delay_median_minutes) for a, b, arch, _ in shop_segments(
    ...     sc, cached_plan(sc), 0, 0.5, sc.archetypes[0])]
    [(5, 6, 36.0), (6, 10, 60.0)]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from chatsim.errors import ScenarioError
from chatsim.scenario import Archetype, Scenario, ShopChanges, archetype_on, change_plan
from chatsim.simulate.calendar import (
    DAY,
    day_plan,
    holiday_mode,
    merge_intervals,
    shop_calendars,
)
from chatsim.simulate.group import GroupOut, ShopHabits, simulate_group
from chatsim.simulate.messages import CONVERSATION_STRIDE, Parts

__all__ = [
    "CALENDAR_FIELDS",
    "HOLIDAY_MODE_FIELDS",
    "Adapted",
    "adapt_shard",
    "cached_plan",
    "shop_segments",
]

#: Parameters a shop's working calendar is drawn from (a change to one redraws it).
CALENDAR_FIELDS: tuple[str, ...] = (
    "timezone",
    "staff_timezone",
    "schedule",
    "holiday_country",
    "works_holidays",
    "schedule_jitter_minutes",
    "absence_rate",
    "absence_concentration",
    "off_day_cover",
)
#: Parameters a shop's holiday-mode periods are drawn from.
HOLIDAY_MODE_FIELDS: tuple[str, ...] = ("holiday_mode_per_month", "holiday_mode_days")
_SEGMENT_STREAM = 2
_plans: dict[str, tuple[ShopChanges, ...]] = {}


def cached_plan(sc: Scenario) -> tuple[ShopChanges, ...]:
    """:func:`~chatsim.scenario.change_plan`, computed once per process and scenario."""
    if not sc.changes:
        return ()
    key = repr(
        (sc.seed, sc.shops, sc.period, [(a.name, a.share) for a in sc.archetypes],
         [c.to_dict() for c in sc.changes])
    )  # fmt: skip
    if key not in _plans:
        if len(_plans) > 8:
            _plans.clear()
        _plans[key] = change_plan(sc)
    return _plans[key]


def shop_segments(
    sc: Scenario,
    plan: tuple[ShopChanges, ...],
    shop: int,
    u: float,
    base: Archetype,
    memo: dict[tuple[object, ...], list[Archetype]] | None = None,
) -> list[tuple[int, int, Archetype, bool]]:
    """The timeline of shop ``shop`` (global index, archetype ``base``) from its first change
    on: pieces ``(first day, end day, archetype, automatic replies on)``; empty if no change
    selects it.

    ``u`` is the shop's adoption draw (:func:`chatsim.simulate.shard.adoption_draws`): the
    shop has automatic replies on while ``u`` is below the day's ``auto_reply_adoption``,
    so a rising adoption switches shops on one by one and never off. ``memo`` keeps the
    day-by-day archetypes of timelines already seen (shops that share them).
    """
    mine = sorted(
        ((p.change, p.start_day, int(p.switch_day[shop])) for p in plan if p.selected[shop]),
        key=lambda x: x[1],
    )
    days = sc.period.days
    if not mine or mine[0][1] >= days:
        return []
    # after this day nothing ramps or switches any more
    settle = max(max(s0 + c.ramp_days - 1, sw) for c, s0, sw in mine)
    day0 = mine[0][1]
    key = (base.name, tuple((c.name, s0, sw) for c, s0, sw in mine))
    daily = None if memo is None else memo.get(key)
    if daily is None:
        daily = [archetype_on(base, mine, d) for d in range(day0, min(settle, days - 1) + 1)]
        if memo is not None:
            memo[key] = daily
    pieces: list[tuple[int, Archetype, bool]] = []
    for d, a in enumerate(daily, start=day0):
        on = bool(u < a.auto_reply_adoption)
        a = dataclasses.replace(a, auto_reply_adoption=base.auto_reply_adoption)
        if not pieces or pieces[-1][1] != a or pieces[-1][2] != on:
            pieces.append((d, a, on))
    ends = [p[0] for p in pieces[1:]] + [days]
    return [(d, e, a, on) for (d, a, on), e in zip(pieces, ends, strict=True)]


@dataclass(frozen=True)
class Adapted:
    """A shard's message columns, holiday-mode and blocked rows after the dated changes."""

    cols: dict[str, np.ndarray]
    hol: tuple[np.ndarray, np.ndarray, np.ndarray]  # shard-local shop, start, end
    blk: tuple[np.ndarray, np.ndarray, np.ndarray]  # shard-local shop, buyer, blocked at


def adapt_shard(
    sc: Scenario,
    shard: int,
    lo: int,
    arch_of: np.ndarray,
    u: np.ndarray,
    cols: dict[str, np.ndarray],
    outs: dict[int, tuple[np.ndarray, GroupOut]],
) -> Adapted | None:
    """Apply the scenario's dated changes to one simulated shard (``None``: no shop adapts).

    ``arch_of``/``u``: each shard shop's archetype index and adoption draw; ``cols``: the
    shard's message columns (:meth:`Parts.concat`); ``outs``: by archetype index, the
    group's shard-local shops and its :class:`GroupOut`.
    """
    plan = cached_plan(sc)
    ns = arch_of.size
    # shops with the same archetype on some days are simulated together, each shop's
    # exchanges kept from its own days: (base archetype, archetype, replies on, repeat)
    groups: dict[tuple[int, int, bool, int], list[tuple[int, int, int]]] = {}
    archs: list[Archetype] = []
    t0 = np.full(ns, np.inf)  # each shop's first change, seconds from the period start
    memo: dict[tuple[object, ...], list[Archetype]] = {}
    for s in range(ns):
        base = sc.archetypes[int(arch_of[s])]
        used: dict[tuple[int, bool], int] = {}
        for a, b, arch, on in shop_segments(sc, plan, lo + s, float(u[s]), base, memo):
            t0[s] = min(t0[s], a * DAY)
            k = next((i for i, x in enumerate(archs) if x == arch), len(archs))
            if k == len(archs):
                archs.append(arch)
            rep = used[(k, on)] = used.get((k, on), -1) + 1
            groups.setdefault((int(arch_of[s]), k, on, rep), []).append((s, a, b))
    if not groups:
        return None

    keep = cols["origin"] < t0[cols["shop"]]
    out = {k: [v[keep]] for k, v in cols.items()}
    top = np.zeros(ns, dtype=np.int64)  # next free buyer number of each shop
    np.maximum.at(top, cols["shop"], cols["buyer"] + 1)
    hol_s, hol_a, hol_b, blk_s, blk_b, blk_t = ([] for _ in range(6))
    for o in (g for _, g in outs.values()):
        before = o.hol_start < t0[o.hol_shop]
        hol_s.append(o.hol_shop[before])
        hol_a.append(o.hol_start[before])
        hol_b.append(o.hol_end[before])
        blk_s.append(o.blk_shop)
        blk_b.append(o.blk_buyer)
        blk_t.append(o.blk_at)
        np.maximum.at(top, o.blk_shop, o.blk_buyer + 1)

    days, period_s = sc.period.days, sc.period.days * DAY
    for g, ((ai, k, on, _), members) in enumerate(groups.items()):
        shops = np.array([m[0] for m in members], dtype=np.int64)
        first = np.zeros(ns)
        end = np.zeros(ns)
        first[shops] = [m[1] * DAY for m in members]
        end[shops] = [m[2] * DAY for m in members]
        group_shops, base_out = outs[ai]
        base, arch = sc.archetypes[ai], archs[k]
        h0 = base_out.habits
        assert h0 is not None
        pos = np.searchsorted(group_shops, shops)
        rng = np.random.default_rng(
            np.random.SeedSequence(sc.seed, spawn_key=(shard, _SEGMENT_STREAM, g))
        )
        if all(getattr(arch, f) == getattr(base, f) for f in CALENDAR_FIELDS):
            cal = h0.cal.subset(pos)
        else:
            plan_ = day_plan(
                arch.schedule, arch.staff_tz, arch.holiday_country, arch.works_holidays,
                sc.period.start, days,
            )  # fmt: skip
            cal = shop_calendars(rng, arch, plan_, shops.size)
        if all(getattr(arch, f) == getattr(base, f) for f in HOLIDAY_MODE_FIELDS):
            hol = h0.hol
        else:
            hol = holiday_mode(rng, arch, shops, period_s, days)
        habits = ShopHabits(h0.size[pos], h0.pace[pos], cal, hol)
        parts = Parts()
        seg = simulate_group(rng, sc, arch, shops, np.full(shops.size, on), parts, habits=habits)
        c = parts.concat()
        sel = (c["origin"] >= first[c["shop"]]) & (c["origin"] < end[c["shop"]])
        off = top.copy()
        for key, v in c.items():
            out[key].append(v[sel] + off[c["shop"][sel]] if key == "buyer" else v[sel])
        shifted = c["buyer"][sel] + off[c["shop"][sel]]
        np.maximum.at(top, c["shop"][sel], shifted + 1)
        # blocked buyers of this piece that write in it; holiday mode within the piece
        seen = np.unique(c["shop"][sel] * CONVERSATION_STRIDE + c["buyer"][sel])
        bk = np.isin(seg.blk_shop * CONVERSATION_STRIDE + seg.blk_buyer, seen)
        blk_s.append(seg.blk_shop[bk])
        blk_b.append(seg.blk_buyer[bk] + off[seg.blk_shop[bk]])
        blk_t.append(seg.blk_at[bk])
        h_a, h_b = first[hol.shop], end[hol.shop]
        inside = np.isin(hol.shop, shops) & (hol.end > h_a) & (hol.start < h_b)
        hol_s.append(hol.shop[inside])
        hol_a.append(np.maximum(hol.start, h_a)[inside])
        hol_b.append(np.minimum(hol.end, h_b)[inside])
    if int(top.max(initial=0)) >= CONVERSATION_STRIDE:
        raise ScenarioError(
            f"{sc.source}: changes: an adapting shop would have {int(top.max())} conversations; "
            f"the simulator supports < {CONVERSATION_STRIDE}. Lower chats_per_day or days."
        )
    merged = {k: np.concatenate(v) for k, v in out.items()}
    hol_all = _merged_intervals(np.concatenate(hol_s), np.concatenate(hol_a), np.concatenate(hol_b))
    blk_all = (np.concatenate(blk_s), np.concatenate(blk_b), np.concatenate(blk_t))
    return Adapted(merged, hol_all, blk_all)


def _merged_intervals(
    shop: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.lexsort((start, shop))
    return merge_intervals(shop[order], start[order], end[order])
