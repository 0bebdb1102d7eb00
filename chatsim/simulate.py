"""The traffic simulator: synthetic chat logs in the chatsim schema, from a scenario.

The model (documented in ``docs/simulator.md``) is generated with numpy array
operations only: buyer arrivals are a non-homogeneous Poisson process on hourly
bins, sellers answer in their own working time (per-shop calendars with shifted
shift times, covered days off and absent days; per-shop pace and auto-reply
adoption) through a vectorised FIFO queue, and the
auto replies, follow-ups, ratings, seller-initiated threads, broadcasts, blocked
buyers and holiday-mode periods are drawn per chat or per shop. Shops are cut
into fixed shards of :data:`SHARD_SIZE`; shard ``k`` draws from
``numpy.random.SeedSequence(seed, spawn_key=(k,))``, so the data depend only on
the scenario and its seed, never on the number of worker processes.

Example:
    >>> from chatsim.scenario import Scenario
    >>> sc = Scenario.from_dict({"name": "demo", "seed": 1, "shops": 3,
    ...     "period": {"start": "2025-08-15", "days": 3},
    ...     "archetypes": {"agency_247": {"share": 1.0}}})
    >>> log = simulate(sc)
    >>> log.shops["shop_id"].to_list()
    ['shop_00000', 'shop_00001', 'shop_00002']
    >>> log_hash(log) == log_hash(simulate(sc))
    True
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from chatsim.errors import ScenarioError
from chatsim.scenario import (
    Archetype,
    Campaign,
    Scenario,
    Schedule,
    range_minutes,
    shop_ids,
)
from chatsim.schema import (
    KIND_DTYPE,
    KINDS,
    RATING_DTYPE,
    SENDER_DTYPE,
    UTC_DATETIME,
    ChatLog,
)

__all__ = [
    "SHARD_SIZE",
    "DIURNAL",
    "WEEKLY",
    "simulate",
    "simulate_shard",
    "simulate_to_dir",
    "shops_table",
    "log_hash",
    "shutdown_workers",
]

#: Shops per shard (fixed: the shard layout, hence the data, never depends on workers).
SHARD_SIZE = 64
#: message_id = shop index * MESSAGE_ID_STRIDE + rank of the message within its shop.
MESSAGE_ID_STRIDE = 1_000_000_000
#: conversation_id = shop index * CONVERSATION_STRIDE + shop-local buyer number.
CONVERSATION_STRIDE = 1_000_000
#: buyer_id = BUYER_ID_BASE + conversation_id (buyers are shop-local).
BUYER_ID_BASE = 10**13

#: Buyer arrival profile by buyer-local hour of day (normalised to mean 1).
DIURNAL = np.array(
    [0.35, 0.2, 0.12, 0.08, 0.08, 0.12, 0.3, 0.6, 0.9, 1.15, 1.3, 1.35,
     1.3, 1.25, 1.2, 1.15, 1.1, 1.1, 1.2, 1.4, 1.6, 1.65, 1.35, 0.8]
)  # fmt: skip
DIURNAL = DIURNAL / DIURNAL.mean()
#: Buyer arrival profile by buyer-local weekday, Monday first (normalised to mean 1).
WEEKLY = np.array([1.0, 0.97, 0.97, 0.98, 1.0, 1.05, 1.03])
WEEKLY = WEEKLY / WEEKLY.mean()

_BUYER, _SELLER, _AUTO = 0, 1, 2
_K = {k: i for i, k in enumerate(KINDS)}
# kind mixes: (kinds, probabilities)
_FIRST_KIND = (
    [_K["text"], _K["product_card"], _K["order_card"], _K["image"], _K["video"], _K["sticker"], _K["emoji"]],
    [0.68, 0.12, 0.10, 0.05, 0.01, 0.02, 0.02],
)  # fmt: skip
_NEXT_KIND = (
    [_K["text"], _K["sticker"], _K["emoji"], _K["image"], _K["video"], _K["product_card"], _K["order_card"]],
    [0.55, 0.10, 0.12, 0.15, 0.03, 0.03, 0.02],
)  # fmt: skip
_FOLLOWUP_KIND = ([_K["text"], _K["sticker"], _K["emoji"], _K["image"]], [0.5, 0.2, 0.2, 0.1])
_SELLER_KIND = (
    [_K["text"], _K["product_card"], _K["image"], _K["sticker"]],
    [0.85, 0.07, 0.05, 0.03],
)
_THREAD_KIND = ([_K["text"], _K["product_card"], _K["order_card"]], [0.6, 0.25, 0.15])
_BROADCAST_KIND = ([_K["product_card"], _K["text"], _K["image"]], [0.5, 0.4, 0.1])
_REPLY_KIND = ([_K["text"], _K["emoji"], _K["sticker"]], [0.7, 0.15, 0.15])

_HOUR = 3600.0
_DAY = 86400.0
_CAL_PAD_DAYS = 45  # working calendar extends past the period so late answers exist
_BIG_T = 1e9  # seconds: per-shop offset for (shop, time) keys
_BIG_W = 1e13  # per-shop offset for the queue's running maximum
_MIN_SHIFT = 15 * 60.0  # a working range shortened by the jitter below this is dropped
_SHOP_AXIS_OFFSET = 8 * _DAY  # stacked shop calendars: room before a shop's first day
_ABSENCE_CONCENTRATION = 4.0  # Beta(4m, 4(1-m)): shop-level absence rates around m


# --------------------------------------------------------------------------------------
# calendars and profiles (cached per process)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    """Working intervals in seconds since the period start, with cumulative working time."""

    start: np.ndarray
    end: np.ndarray
    cum: np.ndarray  # working seconds before start[i]
    cum_end: np.ndarray  # working seconds at end[i]

    def work(self, t: np.ndarray) -> np.ndarray:
        """Working seconds elapsed from the calendar origin up to time ``t``."""
        if self.start.size == 0:
            return np.zeros_like(t)
        i = np.searchsorted(self.start, t, side="right") - 1
        ic = np.maximum(i, 0)
        w = self.cum[ic] + np.clip(t - self.start[ic], 0.0, self.end[ic] - self.start[ic])
        return np.where(i < 0, 0.0, w)

    def time_at(self, w: np.ndarray) -> np.ndarray:
        """The time at which ``w`` working seconds have elapsed (inf past the calendar)."""
        if self.start.size == 0:
            return np.full_like(w, np.inf)
        j = np.searchsorted(self.cum_end, w, side="left")
        jc = np.minimum(j, self.start.size - 1)
        t = self.start[jc] + (w - self.cum[jc])
        return np.where(j >= self.start.size, np.inf, t)

    def add(self, t: np.ndarray, working_seconds: np.ndarray) -> np.ndarray:
        """``t`` plus a delay counted in working time (waits for the next shift)."""
        return self.time_at(self.work(t) + working_seconds)


@dataclass(frozen=True)
class _DayPlan:
    """An archetype's working ranges, one row per range and staff-local day (not merged).

    ``cover`` rows are the ranges a shop that covers its days off (weekly days off and,
    unless the archetype works them anyway, public holidays) works on them: the
    archetype's first working weekday's ranges.
    """

    start: np.ndarray  # seconds since the period start
    end: np.ndarray
    day: np.ndarray  # staff-local day number
    first: np.ndarray  # first range of its day (gets the start jitter)
    last: np.ndarray  # last range of its day (gets the end jitter)
    cover: np.ndarray
    n_days: int


@lru_cache(maxsize=64)
def _day_plan(
    schedule: Schedule,
    staff_tz: str,
    holiday_country: str | None,
    works_holidays: bool,
    start: dt.date,
    days: int,
) -> _DayPlan:
    tz = ZoneInfo(staff_tz)
    origin = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC).timestamp()
    first = start - dt.timedelta(days=2)
    n_days = days + _CAL_PAD_DAYS + 4
    off: set[dt.date] = set()
    if holiday_country is not None and not works_holidays:
        import holidays

        years = range(first.year, (first + dt.timedelta(days=n_days)).year + 1)
        off = set(holidays.country_holidays(holiday_country, years=years).keys())
    template = next((r for r in schedule if r), ())
    rows: list[tuple[float, float, int, bool, bool, bool]] = []
    for d in range(n_days):  # a loop over days x working ranges (not over messages)
        day = first + dt.timedelta(days=d)
        ranges, cover = schedule[day.weekday()], False
        if day in off or not ranges:  # a day off: only shops covering their days off work
            ranges, cover = template, True
        base = dt.datetime.combine(day, dt.time())
        for i, r in enumerate(ranges):
            m0, m1 = range_minutes(r)
            a = (base + dt.timedelta(minutes=m0)).replace(tzinfo=tz).timestamp()
            b = (base + dt.timedelta(minutes=m1)).replace(tzinfo=tz).timestamp()
            if b > a:
                rows.append((a - origin, b - origin, d, i == 0, i == len(ranges) - 1, cover))
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    return _DayPlan(
        np.array(cols[0], dtype=float),
        np.array(cols[1], dtype=float),
        np.array(cols[2], dtype=np.int64),
        np.array(cols[3], dtype=bool),
        np.array(cols[4], dtype=bool),
        np.array(cols[5], dtype=bool),
        n_days,
    )


class _ShopCalendars:
    """Working calendars of several shops, stacked on one time axis.

    Shop ``i``'s time ``t`` (seconds since the period start) sits at
    ``i * span + offset + t``; working seconds accumulate over all shops, so the
    arithmetic is the same two ``searchsorted`` calls as :class:`_Calendar`, and
    results are converted back to shop-local time and shop-local working seconds.
    """

    def __init__(
        self, shop: np.ndarray, start: np.ndarray, end: np.ndarray, n_shops: int, span: float
    ) -> None:
        # rows sorted by (shop, start), non-overlapping within a shop; every time lies
        # in (-offset, span - offset)
        self.span, self.offset = span, _SHOP_AXIS_OFFSET
        base = shop * span + self.offset
        self.cal = _Calendar(base + start, base + end, *_cum(end - start))
        self.first = np.searchsorted(shop, np.arange(n_shops), side="left")
        self.last = np.searchsorted(shop, np.arange(n_shops), side="right") - 1
        # working seconds of all shops before shop i (also for shops without working time)
        self.base_w = np.append(self.cal.cum, self.cal.cum_end[-1:].sum())[self.first]

    def _axis(self, shop: np.ndarray) -> np.ndarray:
        return shop * self.span + self.offset

    def work(self, shop: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Working seconds of each shop from its calendar start up to ``t`` (inf for inf)."""
        finite = np.isfinite(t)
        tt = np.clip(np.where(finite, t, 0.0), -self.offset, self.span - self.offset - 1.0)
        w = self.cal.work(self._axis(shop) + tt) - self.base_w[shop]
        return np.where(finite, w, np.inf)

    def time_at(self, shop: np.ndarray, w: np.ndarray) -> np.ndarray:
        """The time at which shop ``shop`` has worked ``w`` seconds (inf past its calendar)."""
        c = self.cal
        if c.start.size == 0:
            return np.full(w.shape, np.inf)
        finite = np.isfinite(w)
        gw = np.where(finite, w, 0.0) + self.base_w[shop]
        j = np.maximum(np.searchsorted(c.cum_end, gw, side="left"), self.first[shop])
        ok = finite & (j <= self.last[shop])
        jc = np.minimum(j, c.start.size - 1)
        t = c.start[jc] + (gw - c.cum[jc]) - self._axis(shop)
        return np.where(ok, t, np.inf)

    def add(self, shop: np.ndarray, t: np.ndarray, working_seconds: np.ndarray) -> np.ndarray:
        """``t`` plus a delay counted in the shop's working time (waits for its next shift)."""
        return self.time_at(shop, self.work(shop, t) + working_seconds)


def _cum(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cum_end = np.cumsum(lengths)
    return cum_end - lengths, cum_end


def _shop_calendars(
    rng: np.random.Generator, arch: Archetype, plan: _DayPlan, ns: int
) -> _ShopCalendars:
    """Per-shop working calendars: the archetype's plan with per-shop start/end shifts,
    off-day cover and absent days (one draw per shop, one per shop and day)."""
    sd = arch.schedule_jitter_minutes * 60.0
    z = np.clip(rng.standard_normal((2, ns)), -3.0, 3.0)
    shift = np.round(z * sd / 60.0) * 60.0  # whole minutes
    covers = rng.random(ns) < arch.off_day_cover
    m = arch.absence_rate
    if 0.0 < m < 1.0:  # each shop's own absence rate, Beta around the archetype's
        rate = rng.beta(_ABSENCE_CONCENTRATION * m, _ABSENCE_CONCENTRATION * (1.0 - m), ns)
    else:
        rate = np.full(ns, m)
    absent = rng.random((ns, plan.n_days)) < rate[:, None]
    keep = ~absent[:, plan.day] & (~plan.cover[None, :] | covers[:, None])
    shop, row = np.nonzero(keep)
    s = plan.start[row] + np.where(plan.first[row], shift[0, shop], 0.0)
    e = plan.end[row] + np.where(plan.last[row], shift[1, shop], 0.0)
    ok = e - s >= _MIN_SHIFT
    shop, s, e = shop[ok], s[ok], e[ok]
    order = np.lexsort((s, shop))
    shop, s, e = shop[order], s[order], e[order]
    if shop.size:  # merge touching/overlapping ranges within a shop (24/7 days, jitter)
        run_end = np.maximum.accumulate(e + shop * _BIG_T) - shop * _BIG_T
        new = np.ones(shop.size, dtype=bool)
        new[1:] = (shop[1:] != shop[:-1]) | (s[1:] > run_end[:-1])
        idx = np.flatnonzero(new)
        shop, s, e = shop[idx], s[idx], np.maximum.reduceat(e, idx)
    span = plan.n_days * _DAY + 2 * _SHOP_AXIS_OFFSET
    return _ShopCalendars(shop, s, e, ns, span)


@lru_cache(maxsize=64)
def _arrival_profile(
    buyer_tz: str, start: dt.date, days: int, campaigns: tuple[Campaign, ...]
) -> np.ndarray:
    """Relative arrival rate of each UTC hour of the period (mean ~1 outside campaigns)."""
    tz = ZoneInfo(buyer_tz)
    origin = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    hours = days * 24
    rate = np.empty(hours)
    camp = {}
    for c in campaigns:
        for h in c.hours if c.hours is not None else range(24):
            camp[(c.date, h)] = camp.get((c.date, h), 1.0) * c.multiplier
    for i in range(hours):  # a loop over the period's hours (not over messages)
        loc = (origin + dt.timedelta(hours=i)).astimezone(tz)
        rate[i] = DIURNAL[loc.hour] * WEEKLY[loc.weekday()] * camp.get((loc.date(), loc.hour), 1.0)
    return rate


# --------------------------------------------------------------------------------------
# per-shard generation
# --------------------------------------------------------------------------------------


class _Parts:
    """Accumulates message columns from the model's parts (concatenated at the end)."""

    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {
            k: [] for k in ("shop", "buyer", "t", "sender", "kind", "bcast", "rating", "valid")
        }

    def add(
        self,
        shop: np.ndarray,
        buyer: np.ndarray,
        t: np.ndarray,
        sender: int,
        kind: np.ndarray | int,
        *,
        bcast: bool = False,
        rating: np.ndarray | None = None,
        valid: bool = True,
    ) -> None:
        n = t.size
        c = self.cols
        c["shop"].append(shop.astype(np.int64, copy=False))
        c["buyer"].append(buyer.astype(np.int64, copy=False))
        c["t"].append(t)
        c["sender"].append(np.full(n, sender, dtype=np.int8))
        c["kind"].append(np.broadcast_to(np.asarray(kind, dtype=np.int8), (n,)))
        c["bcast"].append(np.full(n, bcast))
        c["rating"].append(np.zeros(n, np.int8) if rating is None else rating.astype(np.int8))
        c["valid"].append(np.full(n, valid))

    def concat(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) if v else np.empty(0) for k, v in self.cols.items()}


def _choice(rng: np.random.Generator, mix: tuple[list[int], list[float]], n: int) -> np.ndarray:
    kinds, p = mix
    return np.asarray(kinds, dtype=np.int8)[rng.choice(len(kinds), size=n, p=p)]


def _lognormal_minutes(
    rng: np.random.Generator, median_min: float, sigma: float, n: int
) -> np.ndarray:
    return median_min * 60.0 * np.exp(sigma * rng.standard_normal(n))


def _first_index(sorted_keys: np.ndarray) -> np.ndarray:
    """For a sorted array, the index of the first element equal to each element."""
    n = sorted_keys.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    return np.repeat(starts, np.diff(np.append(starts, n)))


class _Intervals:
    """Per-shop non-overlapping intervals with a vectorised 'which interval holds t'."""

    def __init__(self, shop: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        self.shop, self.start, self.end = shop, start, end
        self.key = shop * _BIG_T + start

    def lookup(self, shop: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inside?, end of the holding interval) for each (shop, t)."""
        if self.key.size == 0:
            return np.zeros(t.size, dtype=bool), np.full(t.size, np.nan)
        j = np.searchsorted(self.key, shop * _BIG_T + t, side="right") - 1
        jc = np.maximum(j, 0)
        inside = (j >= 0) & (self.shop[jc] == shop) & (t < self.end[jc])
        return inside, np.where(inside, self.end[jc], np.nan)


def _holiday_mode(
    rng: np.random.Generator, arch: Archetype, shops: np.ndarray, period_s: float, days: int
) -> _Intervals:
    n = rng.poisson(arch.holiday_mode_per_month * days / 30.0, shops.size)
    shop = np.repeat(shops, n)
    length = rng.gamma(4.0, arch.holiday_mode_days / 4.0, shop.size) * _DAY
    length = np.maximum(length, _HOUR)
    start = rng.uniform(-length, period_s)
    start = np.round(start / 60.0) * 60.0  # whole minutes
    end = start + np.round(length / 60.0) * 60.0
    order = np.lexsort((start, shop))
    shop, start, end = shop[order], start[order], end[order]
    if shop.size:  # merge overlaps within a shop
        run_end = np.maximum.accumulate(end + shop * _BIG_T) - shop * _BIG_T
        new = np.ones(shop.size, dtype=bool)
        new[1:] = (shop[1:] != shop[:-1]) | (start[1:] > run_end[:-1])
        idx = np.flatnonzero(new)
        shop, start, end = shop[idx], start[idx], np.maximum.reduceat(end, idx)
    return _Intervals(shop, start, end)


def _after_holiday(
    hol: _Intervals,
    cal: _ShopCalendars,
    shop: np.ndarray,
    local: np.ndarray,
    t: np.ndarray,
    delay: np.ndarray,
) -> np.ndarray:
    """Move seller messages due inside a holiday-mode interval to after it (plus ``delay``).

    ``shop`` is the shard-local shop index (holiday mode), ``local`` the index within the
    archetype group (calendars)."""
    for _ in range(8):  # the new time may fall into the shop's next holiday-mode interval
        finite = np.isfinite(t)
        inside, end = hol.lookup(shop, np.where(finite, t, 0.0))
        inside &= finite
        if not inside.any():
            break
        t = np.where(inside, cal.add(local, np.nan_to_num(end), delay), t)
    return t


@dataclass
class _GroupOut:
    hol_shop: np.ndarray
    hol_start: np.ndarray
    hol_end: np.ndarray
    blk_shop: np.ndarray
    blk_buyer: np.ndarray
    blk_at: np.ndarray


def _simulate_group(
    rng: np.random.Generator,
    sc: Scenario,
    arch: Archetype,
    shops: np.ndarray,
    adopts: np.ndarray,
    parts: _Parts,
) -> _GroupOut:
    """Generate every message of the shops ``shops`` (shard-local indices) of one archetype.

    ``adopts`` says which of them have automatic replies on (see :func:`_adoption`).
    """
    days = sc.period.days
    period_s = days * _DAY
    plan = _day_plan(
        arch.schedule,
        arch.staff_tz,
        arch.holiday_country,
        arch.works_holidays,
        sc.period.start,
        days,
    )
    profile = _arrival_profile(arch.buyer_tz, sc.period.start, days, sc.campaigns)
    ns = shops.size
    sig = arch.volume_sigma
    size = np.exp(sig * rng.standard_normal(ns) - sig * sig / 2.0)  # mean-1 shop size factor
    lam = arch.chats_per_day * size
    # per-shop habits: a median-1 factor on the response delay and the shop's own calendar
    pace = np.exp(arch.delay_shop_sigma * rng.standard_normal(ns))
    cal = _shop_calendars(rng, arch, plan, ns)
    hol = _holiday_mode(rng, arch, shops, period_s, days)

    # ---- buyer-initiated chats: Poisson counts per (shop, UTC hour)
    counts = rng.poisson(lam[:, None] / 24.0 * profile[None, :])
    per_shop = counts.sum(axis=1)
    hours = profile.size
    cell = np.repeat(np.arange(ns * hours), counts.ravel())
    n = cell.size
    local = cell // hours
    shop = shops[local]
    t_open = (cell % hours) * _HOUR + rng.random(n) * _HOUR

    # buyers: a shop-local pool of ~0.75 buyers per chat, so some buyers come back
    n_buyers = np.maximum(1, np.ceil(per_shop * 0.75)).astype(np.int64)
    buyer = (rng.random(n) * n_buyers[local]).astype(np.int64)

    # blocked buyers: a share of each shop's pool, blocked at a random time
    pool_off = np.concatenate([[0], np.cumsum(n_buyers)])
    blocked = rng.random(pool_off[-1]) < arch.blocked_share
    blocked_at = np.where(
        blocked, rng.uniform(-15 * _DAY, max(period_s - _DAY, 0.0), pool_off[-1]), np.inf
    )
    blocked_at = np.round(blocked_at)
    b_idx = np.flatnonzero(blocked)
    b_local = np.searchsorted(pool_off, b_idx, side="right") - 1
    out = _GroupOut(
        hol.shop, hol.start, hol.end, shops[b_local], b_idx - pool_off[b_local], blocked_at[b_idx]
    )
    is_blocked_now = t_open >= blocked_at[pool_off[local] + buyer]

    # ---- the buyer's burst, the auto reply and FAQ resolution
    auto = adopts[local] & (rng.random(n) < arch.auto_reply_rate)
    resolved = auto & (rng.random(n) < arch.faq_resolution)
    nb = 1 + rng.poisson(arch.burst_mean - 1.0, n)
    nb[resolved] = 1
    first = np.cumsum(nb) - nb
    chat = np.repeat(np.arange(n), nb)
    pos = np.arange(chat.size) - first[chat]
    gap = np.where(pos == 0, 0.0, 1.0 + rng.exponential(40.0, chat.size))
    cum = np.cumsum(gap)
    tb = t_open[chat] + cum - cum[first][chat]
    t_last = tb[first + nb - 1]
    kind = _choice(rng, _NEXT_KIND, chat.size)
    kind[first] = _choice(rng, _FIRST_KIND, n)
    parts.add(shop[chat], buyer[chat], tb, _BUYER, kind)

    t_auto = t_open + rng.uniform(1.0, 4.0, n)

    # ---- human answers: working time, holiday mode, blocked buyers, FIFO capacity queue
    in_hol, hol_end = hol.lookup(shop, t_open)
    answered = ~resolved
    answered &= np.where(in_hol, rng.random(n) < arch.holiday_mode_answer_rate, True)
    answered &= np.where(is_blocked_now, rng.random(n) < arch.blocked_answer_rate, True)
    ready = np.where(in_hol, np.fmax(t_last, hol_end), t_last)
    delay = _lognormal_minutes(rng, arch.delay_median_minutes, arch.delay_sigma, n) * pace[local]
    idx = np.flatnonzero(answered)
    a = cal.work(local[idx], ready[idx])
    order = np.lexsort((a, local[idx]))
    a_s, sh_s = a[order], local[idx][order].astype(float)
    k = np.arange(idx.size) - _first_index(sh_s)
    # staff capacity scales with the shop's size: big shops have more staff
    svc = (_HOUR / (arch.capacity_per_hour * size))[sh_s.astype(np.int64)]
    # Lindley recursion S_k = max(A_k, S_{k-1} + s) as a running maximum per shop
    g = np.maximum.accumulate(a_s - k * svc + sh_s * _BIG_W) - sh_s * _BIG_W
    start_w = np.empty(idx.size)
    start_w[order] = g + k * svc
    t_reply = np.full(n, np.inf)
    t_reply[idx] = cal.time_at(local[idx], start_w + delay[idx])
    # an answer due while the shop is in holiday mode waits until the shop is back
    t_reply = _after_holiday(hol, cal, shop, local, t_reply, delay)

    small_talk = answered & (rng.random(n) < arch.small_talk_share)
    delay2 = _lognormal_minutes(rng, arch.delay_median_minutes, arch.delay_sigma, n) * pace[local]
    t_answer = np.where(
        small_talk,
        _after_holiday(hol, cal, shop, local, cal.add(local, t_reply, delay2), delay2),
        t_reply,
    )
    has_answer = np.isfinite(t_answer)

    # ---- ratings on the closing message (the answer, or the auto reply of a resolved chat)
    rated = rng.random(n) < arch.rating_prob
    resp_h = (t_answer - t_open) / _HOUR
    p_sat = np.where(
        resolved, sc.satisfaction.faq, sc.satisfaction.p_satisfied(np.fmin(resp_h, 1e4))
    )
    rating = np.where(rated, np.where(rng.random(n) < p_sat, 1, 2), 0)

    sel = np.flatnonzero(auto)
    parts.add(shop[sel], buyer[sel], t_auto[sel], _AUTO, _K["text"],
              rating=np.where(resolved[sel], rating[sel], 0))  # fmt: skip
    sel = np.flatnonzero(small_talk & np.isfinite(t_reply))
    parts.add(shop[sel], buyer[sel], t_reply[sel], _SELLER, _K["text"], valid=False)
    sel = np.flatnonzero(has_answer)
    parts.add(shop[sel], buyer[sel], t_answer[sel], _SELLER, _choice(rng, _SELLER_KIND, sel.size),
              rating=rating[sel])  # fmt: skip

    # ---- seller-side system messages (order updates; not replies)
    sel = np.flatnonzero(rng.random(n) < arch.system_message_share)
    parts.add(shop[sel], buyer[sel], t_open[sel] + rng.uniform(30.0, 1800.0, sel.size),
              _SELLER, _K["system"])  # fmt: skip

    # ---- follow-ups after the answer (new chats in the metric's sense)
    fu = np.flatnonzero(has_answer & (rng.random(n) < arch.followup_prob))
    t_fu = t_answer[fu] + _lognormal_minutes(rng, 10.0, 1.0, fu.size)
    parts.add(shop[fu], buyer[fu], t_fu, _BUYER, _choice(rng, _FOLLOWUP_KIND, fu.size))
    fa = rng.random(fu.size) < arch.followup_answer_prob
    fa_delay = _lognormal_minutes(rng, arch.delay_median_minutes, arch.delay_sigma, fu.size)
    fa_delay *= pace[local[fu]]
    lf = local[fu][fa]
    t_fa = _after_holiday(
        hol, cal, shop[fu][fa], lf, cal.add(lf, t_fu[fa], fa_delay[fa]), fa_delay[fa]
    )
    parts.add(shop[fu][fa], buyer[fu][fa], t_fa, _SELLER, _choice(rng, _SELLER_KIND, t_fa.size))

    # ---- seller-initiated threads (new conversations) and broadcasts to followers
    every = np.arange(ns)
    w0, w1 = cal.work(every, np.zeros(ns)), cal.work(every, np.full(ns, period_s))
    works = w1 > w0  # shops with working time in the period
    n_thr = rng.poisson(arch.seller_threads_per_day * days * works)
    th_local = np.repeat(every, n_thr)
    th_t = cal.time_at(th_local, rng.uniform(w0[th_local], w1[th_local]))
    th_buyer = n_buyers[th_local] + (np.arange(th_local.size) - _first_index(th_local))
    off = ~hol.lookup(shops[th_local], th_t)[0]  # no new threads while on holiday
    th_local, th_t, th_buyer = th_local[off], th_t[off], th_buyer[off]
    parts.add(shops[th_local], th_buyer, th_t, _SELLER, _choice(rng, _THREAD_KIND, th_t.size))
    rep = rng.random(th_t.size) < arch.seller_thread_reply_rate
    t_rep = th_t[rep] + np.minimum(rng.exponential(2 * _HOUR, int(rep.sum())), 23 * _HOUR)
    parts.add(
        shops[th_local[rep]], th_buyer[rep], t_rep, _BUYER, _choice(rng, _REPLY_KIND, t_rep.size)
    )

    n_bc = rng.poisson(arch.broadcasts_per_week * days / 7.0 * works)
    bc_local = np.repeat(every, n_bc)
    bc_t = cal.time_at(bc_local, rng.uniform(w0[bc_local], w1[bc_local]))
    off = ~hol.lookup(shops[bc_local], bc_t)[0]  # no broadcasts while on holiday
    bc_local, bc_t = bc_local[off], bc_t[off]
    followers = max(1, int(math.ceil(4 * arch.broadcast_recipients)))
    n_rec = np.minimum(rng.poisson(arch.broadcast_recipients, bc_local.size), followers)
    bc_kind = _choice(rng, _BROADCAST_KIND, bc_local.size)
    base = rng.integers(0, followers, bc_local.size)
    bc_of = np.repeat(np.arange(bc_local.size), n_rec)
    j = np.arange(bc_of.size) - (np.cumsum(n_rec) - n_rec)[bc_of]
    rec_local = bc_local[bc_of]
    rec_buyer = n_buyers[rec_local] + n_thr[rec_local] + (base[bc_of] + j) % followers
    rec_t = bc_t[bc_of] + j * 0.001  # a broadcast is delivered in one sweep
    parts.add(shops[rec_local], rec_buyer, rec_t, _SELLER, bc_kind[bc_of], bcast=True)
    rep = rng.random(rec_t.size) < arch.broadcast_reply_rate
    t_rep = rec_t[rep] + np.minimum(rng.exponential(_HOUR, int(rep.sum())), 23 * _HOUR)
    parts.add(
        shops[rec_local[rep]], rec_buyer[rep], t_rep, _BUYER, _choice(rng, _REPLY_KIND, t_rep.size)
    )

    top = int((n_buyers + n_thr).max(initial=0)) + followers
    if top >= CONVERSATION_STRIDE:
        raise ScenarioError(
            f"{sc.source}: archetypes.{arch.name}: a shop would have {top} conversations; "
            f"the simulator supports < {CONVERSATION_STRIDE} per shop. Lower chats_per_day or days."
        )
    return out


def _shard_count(sc: Scenario) -> int:
    return (sc.shops + SHARD_SIZE - 1) // SHARD_SIZE


def _utc(seconds: np.ndarray, origin_us: int) -> pl.Series:
    us = np.round(seconds * 1e6).astype(np.int64) + origin_us
    return pl.Series(us, dtype=pl.Int64).cast(UTC_DATETIME)


def simulate_shard(sc: Scenario, shard: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Generate one shard: (messages sorted by message_id, holiday_mode, blocked).

    Shard ``k`` holds shops ``k*SHARD_SIZE`` .. ``(k+1)*SHARD_SIZE - 1`` and draws from
    ``SeedSequence(sc.seed, spawn_key=(k,))``.

    Example:
        >>> from chatsim.scenario import Scenario
        >>> sc = Scenario.from_dict({"name": "d", "shops": 2, "period": {"start": "2025-08-15",
        ...     "days": 2}, "archetypes": {"small_team": {"share": 1.0}}})
        >>> simulate_shard(sc, 0)[0]["shop_id"].unique().sort().to_list()
        ['shop_00000', 'shop_00001']
    """
    arrays, hol, blk = _shard_arrays(sc, shard)
    return _messages_frame(sc, shard, arrays), hol, blk


def _shard_arrays(
    sc: Scenario, shard: int
) -> tuple[dict[str, np.ndarray], pl.DataFrame, pl.DataFrame]:
    """One shard as compact numpy columns sorted by (shop, time), plus its side tables."""
    n_shards = _shard_count(sc)
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} out of range 0..{n_shards - 1}")
    rng = np.random.default_rng(np.random.SeedSequence(sc.seed, spawn_key=(shard,)))
    lo, hi = shard * SHARD_SIZE, min((shard + 1) * SHARD_SIZE, sc.shops)
    arch_of = np.asarray(sc.shop_archetypes()[lo:hi])
    parts = _Parts()
    outs: list[_GroupOut] = []
    adopts = _adoption(sc, shard)
    for ai in np.unique(arch_of):  # a loop over archetypes present in the shard
        local = np.flatnonzero(arch_of == ai)
        outs.append(_simulate_group(rng, sc, sc.archetypes[int(ai)], local, adopts[local], parts))
    c = parts.concat()
    period_s = sc.period.days * _DAY
    keep = np.flatnonzero((c["t"] >= 0.0) & (c["t"] < period_s))
    t_us = np.round(c["t"][keep] * 1e6).astype(np.int64)
    # one stable sort by (shop, time); ties keep the generation order
    order = np.argsort(c["shop"][keep] * (1 << 46) + t_us, kind="stable")
    take = keep[order]
    arrays = {
        "shop": c["shop"][take].astype(np.int16),
        "buyer": c["buyer"][take].astype(np.int32),
        "t_us": t_us[order],
        "sender": c["sender"][take],
        "kind": c["kind"][take],
        "rating": c["rating"][take],
        "bcast": c["bcast"][take],
        "valid": c["valid"][take],
    }
    origin_us = _origin_us(sc)
    names = _names(sc, shard)
    hol_shop = np.concatenate([o.hol_shop for o in outs])
    hol = pl.DataFrame(
        {
            "shop_id": names.gather(hol_shop),
            "start": _utc(np.concatenate([o.hol_start for o in outs]), origin_us),
            "end": _utc(np.concatenate([o.hol_end for o in outs]), origin_us),
        }
    ).sort("shop_id", "start")
    blk_shop = np.concatenate([o.blk_shop for o in outs])
    blk_buyer = (blk_shop + lo) * CONVERSATION_STRIDE + np.concatenate([o.blk_buyer for o in outs])
    blk = pl.DataFrame(
        {
            "shop_id": names.gather(blk_shop),
            "buyer_id": blk_buyer + BUYER_ID_BASE,
            "blocked_at": _utc(np.concatenate([o.blk_at for o in outs]), origin_us),
        }
    ).sort("shop_id", "buyer_id")
    return arrays, hol, blk


def _adoption(sc: Scenario, shard: int) -> np.ndarray:
    """Which shops of a shard have automatic replies (and a chatbot, if enabled) on.

    Drawn from ``SeedSequence(seed, spawn_key=(shard, 1))``, a stream of its own, so the
    shops table can be built without simulating the messages.
    """
    lo, hi = shard * SHARD_SIZE, min((shard + 1) * SHARD_SIZE, sc.shops)
    rng = np.random.default_rng(np.random.SeedSequence(sc.seed, spawn_key=(shard, 1)))
    adoption = np.array([a.auto_reply_adoption for a in sc.archetypes])
    return rng.random(hi - lo) < adoption[np.asarray(sc.shop_archetypes()[lo:hi], dtype=int)]


def _origin_us(sc: Scenario) -> int:
    return int(sc.period.start_utc.timestamp()) * 1_000_000


def _names(sc: Scenario, shard: int) -> pl.Series:
    lo, hi = shard * SHARD_SIZE, min((shard + 1) * SHARD_SIZE, sc.shops)
    return pl.Series("shop_id", shop_ids(sc.shops)[lo:hi], dtype=pl.String)


def _messages_frame(sc: Scenario, shard: int, c: dict[str, np.ndarray]) -> pl.DataFrame:
    """The messages table of a shard from its compact columns."""
    shop_g = c["shop"].astype(np.int64) + shard * SHARD_SIZE
    rank = np.arange(shop_g.size) - _first_index(shop_g)
    conv = shop_g * CONVERSATION_STRIDE + c["buyer"]
    return pl.DataFrame(
        {
            "message_id": shop_g * MESSAGE_ID_STRIDE + rank,
            "shop_id": _names(sc, shard).gather(c["shop"]),
            "conversation_id": conv,
            "buyer_id": conv + BUYER_ID_BASE,
            "sent_at": pl.Series(c["t_us"] + _origin_us(sc), dtype=pl.Int64).cast(UTC_DATETIME),
            "sender": _enum(c["sender"], SENDER_DTYPE),
            "kind": _enum(c["kind"], KIND_DTYPE),
            "is_broadcast": c["bcast"],
            "rating": _enum(c["rating"], RATING_DTYPE, offset=1),
            "valid_reply": c["valid"],
        }
    )


def _enum(codes: np.ndarray, dtype: pl.Enum, offset: int = 0) -> pl.Series:
    """Integer codes -> Enum (codes below ``offset`` become null)."""
    phys = codes.astype(np.int64) - offset
    s = pl.Series(np.maximum(phys, 0).astype(np.uint32), dtype=pl.UInt32)
    if offset:
        s = s.scatter(np.flatnonzero(phys < 0), None)
    return s.cat.to(dtype)


def shops_table(sc: Scenario) -> pl.DataFrame:
    """The shops table of a scenario: ids, time zones, segments, and ``chatbot_enabled``
    for the shops of a chatbot archetype that adopted automatic replies.

    Example:
        >>> from chatsim.scenario import Scenario
        >>> sc = Scenario.from_dict({"name": "d", "shops": 1, "period": {"start": "2025-08-15",
        ...     "days": 1}, "archetypes": {"cross_border": {"share": 1.0, "auto_reply_adoption": 0.0}}})
        >>> shops_table(sc).row(0)
        ('shop_00000', 'Europe/London', False, 'cross_border', 'GB')
    """
    arch = [sc.archetypes[i] for i in sc.shop_archetypes()]
    adopts = np.concatenate([_adoption(sc, k) for k in range(_shard_count(sc))])
    return pl.DataFrame(
        {
            "shop_id": shop_ids(sc.shops),
            "timezone": [a.timezone for a in arch],
            "chatbot_enabled": [
                a.chatbot_enabled and bool(x) for a, x in zip(arch, adopts, strict=True)
            ],
            "archetype": [a.name for a in arch],
            "country": [a.country for a in arch],
        },
        schema={
            "shop_id": pl.String,
            "timezone": pl.String,
            "chatbot_enabled": pl.Boolean,
            "archetype": pl.String,
            "country": pl.String,
        },
    )


# --------------------------------------------------------------------------------------
# running shards, in memory or to a folder
# --------------------------------------------------------------------------------------


def _write_shard(
    sc: Scenario, shard: int, out_dir: str
) -> tuple[int, int, pl.DataFrame, pl.DataFrame]:
    msgs, hol, blk = simulate_shard(sc, shard)
    msgs.write_parquet(Path(out_dir) / "messages" / f"shard={shard:05d}.parquet")
    return shard, msgs.height, hol, blk


def _in_memory(
    sc: Scenario, shard: int
) -> tuple[int, dict[str, np.ndarray], pl.DataFrame, pl.DataFrame]:
    # compact numpy columns travel between processes far cheaper than the finished table
    return (shard, *_shard_arrays(sc, shard))


def _direct(sc: Scenario, shard: int) -> tuple[int, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return (shard, *simulate_shard(sc, shard))


_POOLS: dict[int, ProcessPoolExecutor] = {}


def _executor(workers: int) -> ProcessPoolExecutor:
    """A process pool of ``workers`` processes, started on first use and then reused.

    Processes are spawned (not forked): polars' thread pool does not survive fork().
    """
    pool = _POOLS.get(workers)
    if pool is None or getattr(pool, "_broken", False):
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )
        _POOLS[workers] = pool
    return pool


def shutdown_workers() -> None:
    """Stop the worker processes kept for reuse by :func:`simulate` (they also stop at exit)."""
    while _POOLS:
        _POOLS.popitem()[1].shutdown()


def _results(sc: Scenario, fn, extra: tuple, workers: int, progress: bool, desc: str) -> Iterator:
    n = _shard_count(sc)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc=desc, unit="shard")
    try:
        if workers <= 1 or n == 1:
            for k in range(n):
                yield fn(sc, k, *extra)
                if bar is not None:
                    bar.update(1)
        else:
            ex = _executor(min(workers, n))
            futs: list[Future] = [ex.submit(fn, sc, k, *extra) for k in range(n)]
            try:
                for f in as_completed(futs):
                    yield f.result()
                    if bar is not None:
                        bar.update(1)
            finally:
                for f in futs:
                    f.cancel()
    finally:
        if bar is not None:
            bar.close()


def simulate(scenario: Scenario, *, workers: int = 1, progress: bool = False) -> ChatLog:
    """Simulate a scenario in memory; messages sorted by ``message_id``.

    The result is identical for any ``workers``.

    Example:
        >>> from chatsim.scenario import load_scenario
        >>> log = simulate(load_scenario("scenarios/baseline.yaml").scaled(shops=10, days=3))  # doctest: +SKIP
    """
    fn = _in_memory if workers > 1 else _direct
    got: dict[int, tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]] = {}
    for shard, msgs, hol, blk in _results(scenario, fn, (), workers, progress, "simulating"):
        if not isinstance(msgs, pl.DataFrame):  # built while the workers go on
            msgs = _messages_frame(scenario, shard, msgs)
        got[shard] = (msgs, hol, blk)
    parts = [got[k] for k in sorted(got)]
    msgs = pl.concat([p[0] for p in parts], rechunk=False)
    hol = pl.concat([p[1] for p in parts])
    blk = pl.concat([p[2] for p in parts])
    return ChatLog(msgs, shops_table(scenario), hol, blk, source=f"<simulated {scenario.name}>")


def simulate_to_dir(
    scenario: Scenario,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Simulate a scenario into a log folder readable by :func:`chatsim.schema.read_log`.

    Writes ``messages/shard=00000.parquet`` (one file per shard of
    :data:`SHARD_SIZE` shops), ``shops.parquet``, ``holiday_mode.parquet``,
    ``blocked.parquet`` and ``scenario.yaml`` (the resolved scenario).
    ``workers=None`` uses every core.

    Example:
        >>> simulate_to_dir(load_scenario("scenarios/baseline.yaml"), "out/baseline")  # doctest: +SKIP
        PosixPath('out/baseline')
    """
    out = Path(out_dir)
    msg_dir = out / "messages"
    msg_dir.mkdir(parents=True, exist_ok=True)
    for old in msg_dir.glob("shard=*.parquet"):  # a previous run may have had more shards
        old.unlink()
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    got = sorted(
        _results(scenario, _write_shard, (str(out),), n_workers, progress, "simulating"),
        key=lambda r: r[0],
    )
    pl.concat([r[2] for r in got]).write_parquet(out / "holiday_mode.parquet")
    pl.concat([r[3] for r in got]).write_parquet(out / "blocked.parquet")
    shops_table(scenario).write_parquet(out / "shops.parquet")
    (out / "scenario.yaml").write_text(scenario.to_yaml(), encoding="utf-8")
    return out


def log_hash(log: ChatLog) -> str:
    """SHA-256 over the four tables, each sorted, column by column (for reproducibility checks).

    Example:
        >>> log_hash(simulate(sc)) == log_hash(simulate(sc, workers=2))  # doctest: +SKIP
        True
    """
    h = hashlib.sha256()
    sort_keys = {
        "messages": ["message_id"],
        "shops": ["shop_id"],
        "holiday_mode": ["shop_id", "start", "end"],
        "blocked": ["shop_id", "buyer_id", "blocked_at"],
    }
    for name, keys in sort_keys.items():
        df: pl.DataFrame = getattr(log, name)
        df = df.sort(keys, maintain_order=True)
        h.update(f"{name}:{df.height}:".encode())
        for col in sorted(df.columns):
            s = df[col]
            h.update(f"{col}:{s.dtype}:".encode())
            if s.dtype == pl.String:
                s = pl.concat([s.hash(seed=0), s.hash(seed=1)])  # 128 bits per value
            s = s.to_physical()
            h.update(s.is_null().to_numpy().tobytes())
            h.update(s.fill_null(0).to_numpy().tobytes())
    return h.hexdigest()
