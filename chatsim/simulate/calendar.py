"""Time in the simulator: working calendars, holiday mode and the buyers' arrival profile.

Every time is seconds since the period start (00:00 UTC of its first day). A shop's
working time is a sorted array of intervals with cumulative working seconds, so "add
``d`` working seconds to ``t``" is two ``searchsorted`` calls for all chats at once; the
calendars of an archetype's shops are stacked on one time axis (:class:`ShopCalendars`).

Example:
    >>> import numpy as np
    >>> cal = Calendar(np.array([0.0, 100.0]), np.array([10.0, 110.0]), *cumulative(np.array([10.0, 10.0])))
    >>> cal.add(np.array([5.0]), np.array([10.0])).tolist()  # 5 s left today, 5 s in the next shift
    [105.0]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from chatsim.scenario import Archetype, Campaign
from chatsim.schedule import WeeklySchedule

__all__ = [
    "BIG_T",
    "DAY",
    "DIURNAL",
    "HOUR",
    "WEEKLY",
    "Calendar",
    "DayPlan",
    "Intervals",
    "ShopCalendars",
    "after_holiday",
    "arrival_profile",
    "cumulative",
    "day_plan",
    "holiday_mode",
    "merge_intervals",
    "relative_weights",
    "shop_calendars",
]

#: Buyer arrival profile by buyer-local hour of day (normalised to mean 1).
DIURNAL = np.array(
    [0.35, 0.2, 0.12, 0.08, 0.08, 0.12, 0.3, 0.6, 0.9, 1.15, 1.3, 1.35,
     1.3, 1.25, 1.2, 1.15, 1.1, 1.1, 1.2, 1.4, 1.6, 1.65, 1.35, 0.8]
)  # fmt: skip
DIURNAL = DIURNAL / DIURNAL.mean()
#: Buyer arrival profile by buyer-local weekday, Monday first (normalised to mean 1).
WEEKLY = np.array([1.0, 0.97, 0.97, 0.98, 1.0, 1.05, 1.03])
WEEKLY = WEEKLY / WEEKLY.mean()

HOUR = 3600.0
DAY = 86400.0
#: Seconds: a per-shop offset that keeps (shop, time) keys of different shops apart.
BIG_T = 1e9
_CAL_PAD_DAYS = 45  # working calendar extends past the period so late answers exist
_MIN_SHIFT = 15 * 60.0  # a working range shortened by the jitter below this is dropped
_SHOP_AXIS_OFFSET = 8 * DAY  # stacked shop calendars: room before a shop's first day


@dataclass(frozen=True)
class Calendar:
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


def cumulative(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Working seconds before and at the end of each interval of the given lengths."""
    cum_end = np.cumsum(lengths)
    return cum_end - lengths, cum_end


@dataclass(frozen=True)
class DayPlan:
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
def day_plan(
    schedule: WeeklySchedule,
    staff_tz: str,
    holiday_country: str | None,
    works_holidays: bool,
    start: dt.date,
    days: int,
) -> DayPlan:
    """The weekly ``schedule`` laid out over the period (and a margin) in UTC seconds."""
    tz = ZoneInfo(staff_tz)
    origin = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC).timestamp()
    first = start - dt.timedelta(days=2)
    n_days = days + _CAL_PAD_DAYS + 4
    off: set[dt.date] = set()
    if holiday_country is not None and not works_holidays:
        import holidays

        years = range(first.year, (first + dt.timedelta(days=n_days)).year + 1)
        off = set(holidays.country_holidays(holiday_country, years=years).keys())
    working = schedule.working_days()
    template = schedule.minutes(working[0]) if working else ()
    rows: list[tuple[float, float, int, bool, bool, bool]] = []
    for d in range(n_days):  # a loop over days x working ranges (not over messages)
        day = first + dt.timedelta(days=d)
        ranges, cover = schedule.minutes(day.weekday()), False
        if day in off or not ranges:  # a day off: only shops covering their days off work
            ranges, cover = template, True
        spans = schedule.utc_intervals(day, tz, ranges)
        for i, (a, b) in enumerate(spans):
            if b > a:
                rows.append((a - origin, b - origin, d, i == 0, i == len(spans) - 1, cover))
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    return DayPlan(
        np.array(cols[0], dtype=float),
        np.array(cols[1], dtype=float),
        np.array(cols[2], dtype=np.int64),
        np.array(cols[3], dtype=bool),
        np.array(cols[4], dtype=bool),
        np.array(cols[5], dtype=bool),
        n_days,
    )


class ShopCalendars:
    """Working calendars of several shops, stacked on one time axis.

    Shop ``i``'s time ``t`` (seconds since the period start) sits at
    ``i * span + offset + t``; working seconds accumulate over all shops, so the
    arithmetic is the same two ``searchsorted`` calls as :class:`Calendar`, and
    results are converted back to shop-local time and shop-local working seconds.
    """

    def __init__(
        self, shop: np.ndarray, start: np.ndarray, end: np.ndarray, n_shops: int, span: float
    ) -> None:
        # rows sorted by (shop, start), non-overlapping within a shop; every time lies
        # in (-offset, span - offset)
        self.rows = (shop, start, end)
        self.span, self.offset = span, _SHOP_AXIS_OFFSET
        base = shop * span + self.offset
        self.cal = Calendar(base + start, base + end, *cumulative(end - start))
        self.first = np.searchsorted(shop, np.arange(n_shops), side="left")
        self.last = np.searchsorted(shop, np.arange(n_shops), side="right") - 1
        # working seconds of all shops before shop i (also for shops without working time)
        self.base_w = np.append(self.cal.cum, self.cal.cum_end[-1:].sum())[self.first]

    def subset(self, shops: np.ndarray) -> ShopCalendars:
        """The calendars of ``shops`` (indices into these calendars), renumbered 0, 1, ...

        Example:
            >>> cal = ShopCalendars(np.array([0, 1]), np.array([0.0, 5.0]), np.array([9.0, 7.0]), 2, 100.0)
            >>> cal.subset(np.array([1])).rows
            (array([0]), array([5.]), array([7.]))
        """
        shop, start, end = self.rows
        new = np.full(self.first.size, -1, dtype=np.int64)
        new[shops] = np.arange(shops.size)
        keep = new[shop] >= 0
        return ShopCalendars(new[shop[keep]], start[keep], end[keep], shops.size, self.span)

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


def merge_intervals(
    shop: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge touching/overlapping intervals within each shop (rows sorted by shop, start)."""
    if not shop.size:
        return shop, start, end
    run_end = np.maximum.accumulate(end + shop * BIG_T) - shop * BIG_T
    new = np.ones(shop.size, dtype=bool)
    new[1:] = (shop[1:] != shop[:-1]) | (start[1:] > run_end[:-1])
    idx = np.flatnonzero(new)
    return shop[idx], start[idx], np.maximum.reduceat(end, idx)


def shop_calendars(
    rng: np.random.Generator, arch: Archetype, plan: DayPlan, ns: int
) -> ShopCalendars:
    """Per-shop working calendars: the archetype's plan with per-shop start/end shifts,
    off-day cover and absent days (one draw per shop, one per shop and day).

    Each shop's absence rate is Beta(k m, k (1 - m)) around the archetype's ``absence_rate``
    ``m``, with ``k`` its ``absence_concentration``: a small ``k`` leaves most shops never
    away and a few often, a large one gives every shop nearly ``m``."""
    sd = arch.schedule_jitter_minutes * 60.0
    z = np.clip(rng.standard_normal((2, ns)), -3.0, 3.0)
    shift = np.round(z * sd / 60.0) * 60.0  # whole minutes
    covers = rng.random(ns) < arch.off_day_cover
    m, k = arch.absence_rate, arch.absence_concentration
    # each shop's own absence rate, Beta around the archetype's
    rate = rng.beta(k * m, k * (1.0 - m), ns) if 0.0 < m < 1.0 else np.full(ns, m)
    absent = rng.random((ns, plan.n_days)) < rate[:, None]
    keep = ~absent[:, plan.day] & (~plan.cover[None, :] | covers[:, None])
    shop, row = np.nonzero(keep)
    s = plan.start[row] + np.where(plan.first[row], shift[0, shop], 0.0)
    e = plan.end[row] + np.where(plan.last[row], shift[1, shop], 0.0)
    ok = e - s >= _MIN_SHIFT
    shop, s, e = shop[ok], s[ok], e[ok]
    order = np.lexsort((s, shop))
    shop, s, e = merge_intervals(shop[order], s[order], e[order])  # 24/7 days, jitter
    span = plan.n_days * DAY + 2 * _SHOP_AXIS_OFFSET
    return ShopCalendars(shop, s, e, ns, span)


def relative_weights(weights: tuple[float, ...] | None, builtin: np.ndarray) -> np.ndarray:
    """``weights`` scaled to mean 1 (``builtin`` when ``None``).

    Example:
        >>> relative_weights((1.0, 3.0), DIURNAL[:2]).tolist()
        [0.5, 1.5]
    """
    if weights is None:
        return builtin
    w = np.asarray(weights, dtype=float)
    return w / w.mean()


@lru_cache(maxsize=64)
def arrival_profile(
    buyer_tz: str,
    start: dt.date,
    days: int,
    campaigns: tuple[Campaign, ...],
    hours: tuple[float, ...] | None = None,
    weekdays: tuple[float, ...] | None = None,
) -> np.ndarray:
    """Relative arrival rate of each UTC hour of the period (mean ~1 outside campaigns):
    the weight of its buyer-local hour of day times that of its weekday (``hours``, 24
    weights, and ``weekdays``, 7 from Monday, each scaled to mean 1; ``None``: the
    built-in :data:`DIURNAL` and :data:`WEEKLY`), times any campaign's multiplier."""
    diurnal = relative_weights(hours, DIURNAL)
    weekly = relative_weights(weekdays, WEEKLY)
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
        rate[i] = diurnal[loc.hour] * weekly[loc.weekday()] * camp.get((loc.date(), loc.hour), 1.0)
    return rate


# --------------------------------------------------------------------------------------
# holiday mode: when a shop is away
# --------------------------------------------------------------------------------------


class Intervals:
    """Per-shop non-overlapping intervals with a vectorised 'which interval holds t'."""

    def __init__(self, shop: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        self.shop, self.start, self.end = shop, start, end
        self.key = shop * BIG_T + start

    def lookup(self, shop: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inside?, end of the holding interval) for each (shop, t)."""
        if self.key.size == 0:
            return np.zeros(t.size, dtype=bool), np.full(t.size, np.nan)
        j = np.searchsorted(self.key, shop * BIG_T + t, side="right") - 1
        jc = np.maximum(j, 0)
        inside = (j >= 0) & (self.shop[jc] == shop) & (t < self.end[jc])
        return inside, np.where(inside, self.end[jc], np.nan)


def holiday_mode(
    rng: np.random.Generator, arch: Archetype, shops: np.ndarray, period_s: float, days: int
) -> Intervals:
    """Each shop's holiday-mode periods (Poisson count, gamma lengths, overlaps merged)."""
    n = rng.poisson(arch.holiday_mode_per_month * days / 30.0, shops.size)
    shop = np.repeat(shops, n)
    length = rng.gamma(4.0, arch.holiday_mode_days / 4.0, shop.size) * DAY
    length = np.maximum(length, HOUR)
    start = rng.uniform(-length, period_s)
    start = np.round(start / 60.0) * 60.0  # whole minutes
    end = start + np.round(length / 60.0) * 60.0
    order = np.lexsort((start, shop))
    return Intervals(*merge_intervals(shop[order], start[order], end[order]))


def after_holiday(
    hol: Intervals,
    cal: ShopCalendars,
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
