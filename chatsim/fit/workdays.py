"""Working days and hours, read from when the sellers write.

In the simulator, and in the logs it imitates, a human seller message (an answer, small
talk, a thread, a broadcast) is sent in working time only. So each shop's working window
is where its messages fall, and its working days are the days it writes:

* **window** (:func:`shop_windows`): the shop's daily start is its ``k``-th earliest
  first message of a day and its end the ``k``-th latest last message (``k = 1 + 5 %``
  of the days it worked, so one stray message does not move it), moved out by the
  expected gap to the true edge, ``k x 60 / (messages in the edge hour over all days)``
  minutes, to the nearest minute. A shop whose longest quiet stretch of the day lies
  inside the day works across midnight: its window runs from the end of that stretch to
  its start (``start_min > end_min``);
* **breaks** (:func:`segment_breaks`): quarter hours inside a segment's usual window
  where its shops together send under ``BREAK_LEVEL`` of their usual activity, 30
  minutes or longer (a lunch break);
* **days** (:func:`day_table`): every full shop-local date of the log, whether the shop
  wrote (``worked``), whether it had a reason to (``evidence``: it worked, or a chat was
  waiting during its window), whether it was in holiday mode, and its weekday. A date in
  holiday mode says nothing and is left out; an evidence date not worked is an absence
  (or a day off);
* **public holidays** (:func:`holiday_candidates`, :func:`public_holidays`): the
  countries a segment's shops may keep holidays of (the shops table's ``country`` column,
  then the countries of their time zone), and their holiday dates in the log.

Example:
    >>> round_window(537.2, 1079.1)
    (537, 1079)
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl

from chatsim.engine.clock import from_local_exact
from chatsim.fit.profile import Observations

__all__ = [
    "BREAK_LEVEL",
    "STEP_MIN",
    "WRAP_GAP_SLOTS",
    "WorkClock",
    "day_table",
    "holiday_candidates",
    "public_holidays",
    "round_window",
    "segment_breaks",
    "shop_windows",
    "subtract",
    "work_clock",
    "zone_countries",
]

#: Working windows are rounded to this many minutes.
STEP_MIN = 1
#: A shop whose longest quiet stretch of the day (in quarter hours, at least this long)
#: neither touches nor crosses midnight works across midnight.
WRAP_GAP_SLOTS = 8
#: A quarter hour with under this share of a segment's usual activity is a break.
BREAK_LEVEL = 0.08
_SLOT = 15
_MIN_BREAK = 30
_MIN_RANGE = 15
_DAY_MIN = 1440
_SHOP_BITS = 36  # (shop, second) keys: shops 2**36 seconds apart


def round_window(start: float, end: float) -> tuple[int, int]:
    """A window rounded to whole minutes, snapped to midnight within 10 minutes.

    Example:
        >>> round_window(4.0, 1436.5), round_window(537.4, 1079.6)
        ((0, 1440), (537, 1080))
    """
    s = int(round(max(start, 0.0) / STEP_MIN) * STEP_MIN)
    e = int(round(min(end, _DAY_MIN) / STEP_MIN) * STEP_MIN)
    s = 0 if s <= 10 else min(s, _DAY_MIN - STEP_MIN)
    e = _DAY_MIN if e >= _DAY_MIN - 10 else e
    return s, max(e, s + STEP_MIN)


def shop_windows(obs: Observations) -> pl.DataFrame:
    """Per shop with human seller messages: ``start_min, end_min`` (shop-local minutes of
    the day) and ``days_worked`` (see the module docstring).

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.fit.profile import observe
        >>> shop_windows(observe(sample_log(), min_days=0)).columns
        ['shop', 'start_min', 'end_min', 'days_worked']
    """
    daily = obs.activity.group_by("shop", "date").agg(
        first=pl.col("minute").min(), last=pl.col("minute").max()
    )
    k = (1 + (pl.len() * 0.05).floor()).cast(pl.Int64)
    per = daily.group_by("shop").agg(
        days_worked=pl.len(),
        start_raw=pl.col("first").sort().gather(k - 1).first(),
        end_raw=pl.col("last").sort(descending=True).gather(k - 1).first(),
        k=k.first(),
    )
    act = obs.activity.join(per.select("shop", "start_raw", "end_raw"), on="shop")
    edge = act.group_by("shop").agg(
        n_first=(
            (pl.col("minute") >= pl.col("start_raw"))
            & (pl.col("minute") < pl.col("start_raw") + 60)
        ).sum(),
        n_last=(
            (pl.col("minute") <= pl.col("end_raw")) & (pl.col("minute") > pl.col("end_raw") - 60)
        ).sum(),
    )
    per = per.join(edge, on="shop").with_columns(
        start=pl.col("start_raw") - pl.col("k") * 60.0 / pl.col("n_first").clip(1),
        end=pl.col("end_raw") + 1 + pl.col("k") * 60.0 / pl.col("n_last").clip(1),
    )
    wraps = _wrapped(obs)
    rows = [
        (shop, *wraps.get(shop, round_window(s, e)), n)
        for shop, s, e, n in per.select("shop", "start", "end", "days_worked").iter_rows()
    ]  # one row per shop
    return pl.DataFrame(
        rows,
        schema={
            "shop": pl.UInt32,
            "start_min": pl.Int32,
            "end_min": pl.Int32,
            "days_worked": pl.Int64,
        },
        orient="row",
    ).sort("shop")


def _wrapped(obs: Observations) -> dict[int, tuple[int, int]]:
    """Shops working across midnight: their longest quiet stretch of the day (quarter
    hours with no human message, over all days) lies inside the day. Their window is
    ``(start, end)`` with ``start > end``: from the first message after the quiet stretch
    to the last one before it."""
    slot = (pl.col("minute") // _SLOT).alias("slot")
    per = obs.activity.group_by("shop", slot).agg(
        lo=pl.col("minute").min(), hi=pl.col("minute").max()
    )
    if per.height == 0:
        return {}
    shops = per["shop"].unique().sort().to_numpy()
    row = np.searchsorted(shops, per["shop"].to_numpy())
    n_slots = _DAY_MIN // _SLOT
    busy = np.zeros((shops.size, n_slots), dtype=bool)
    busy[row, per["slot"].to_numpy()] = True
    twice = np.concatenate([busy, busy], axis=1)
    idx = np.arange(2 * n_slots)
    last = np.maximum.accumulate(np.where(twice, idx, -1), axis=1)
    run = np.where(twice, 0, idx - last)  # quiet quarter hours up to and including each
    end = np.argmax(run, axis=1)  # where the longest quiet run ends (in the doubled day)
    length = np.minimum(run[np.arange(shops.size), end], n_slots)
    start = end - length + 1
    inside = (start % n_slots >= 1) & (start % n_slots + length <= n_slots - 1)
    out: dict[int, tuple[int, int]] = {}
    lo = {(a, b): c for a, b, c in per.select("shop", "slot", "lo").iter_rows()}
    hi = {(a, b): c for a, b, c in per.select("shop", "slot", "hi").iter_rows()}
    for i in np.flatnonzero(inside & (length >= WRAP_GAP_SLOTS)):  # a loop over such shops
        shop, gap0, gap1 = int(shops[i]), int(start[i] % n_slots), int((end[i] + 1) % n_slots)
        out[shop] = (lo[(shop, gap1)], hi[(shop, gap0 - 1)] + 1)
    return out


def subtract(start: int, end: int, breaks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The window ``[start, end)`` minus the breaks, pieces shorter than 15 minutes dropped;
    a window with ``start > end`` crosses midnight (``[0, end)`` and ``[start, 24:00)``).

    Example:
        >>> subtract(540, 1080, [(720, 810)]), subtract(1380, 780, [])
        ([(540, 720), (810, 1080)], [(0, 780), (1380, 1440)])
    """
    if start > end:
        return subtract(0, end, breaks) + subtract(start, _DAY_MIN, breaks)
    pieces = [(start, end)]
    for a, b in breaks:
        pieces = [p for s, e in pieces for p in ((s, min(e, a)), (max(s, b), e)) if p[1] > p[0]]
    return [(s, e) for s, e in pieces if e - s >= _MIN_RANGE]


def segment_breaks(
    obs: Observations, windows: pl.DataFrame, segment: pl.DataFrame
) -> dict[str, list[tuple[int, int]]]:
    """Each segment's breaks: quarter hours inside its median window where its shops,
    each weighted equally, send under ``BREAK_LEVEL`` of their median quarter-hour
    activity, in runs of 30 minutes or more (``segment``: ``shop, segment``)."""
    slot = (pl.col("minute") // _SLOT).alias("slot")
    per = obs.activity.group_by("shop", slot).agg(n=pl.len())
    per = per.with_columns(share=pl.col("n") / pl.col("n").sum().over("shop")).join(
        segment, on="shop"
    )
    n_shops = segment.group_by("segment").agg(shops=pl.len())
    prof = (
        per.group_by("segment", "slot")
        .agg(pl.col("share").sum())
        .join(n_shops, on="segment")
        .with_columns(level=pl.col("share") / pl.col("shops"))
    )
    med = (
        windows.join(segment, on="shop")
        .group_by("segment")
        .agg(pl.col("start_min").median(), pl.col("end_min").median())
    )
    out: dict[str, list[tuple[int, int]]] = {}
    for seg, s, e in med.sort("segment").iter_rows():  # a loop over segments
        lo, hi = int(s // _SLOT) + 2, int(math.ceil(e / _SLOT)) - 2
        level = np.zeros(_DAY_MIN // _SLOT)
        p = prof.filter(pl.col("segment") == seg)
        level[p["slot"].to_numpy()] = p["level"].to_numpy()
        inside = level[lo:hi]
        if inside.size < 4:
            out[seg] = []
            continue
        low = inside < BREAK_LEVEL * np.median(inside)
        out[seg] = _runs(low, lo)
    return out


def _runs(low: np.ndarray, offset: int) -> list[tuple[int, int]]:
    """Runs of True at least ``_MIN_BREAK`` minutes long, as minute ranges."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], low.astype(int), [0]])))
    return [
        ((offset + a) * _SLOT, (offset + b) * _SLOT)
        for a, b in zip(edges[::2], edges[1::2], strict=True)
        if (b - a) * _SLOT >= _MIN_BREAK
    ]


def day_table(obs: Observations, windows: pl.DataFrame) -> pl.DataFrame:
    """Every full shop-local date of the log per shop with a window: ``shop, date,
    weekday, worked, evidence, holiday_mode`` (see the module docstring).

    A chat is waiting during a date's window when it opened before the window's end and
    was answered after its start (or not at all); only primary chats outside holiday
    mode, not from blocked buyers and not resolved by an automatic reply count.
    """
    shops = obs.shops.select("shop", "timezone").join(windows, on="shop")
    t0 = obs.start_utc
    t1 = obs.data_end
    frames = []
    for z, part in shops.group_by("timezone"):  # a loop over time zones
        tz = str(z[0])
        first = (t0.astimezone(_zone(tz)) + dt.timedelta(days=1)).date()
        last = (t1.astimezone(_zone(tz)) - dt.timedelta(days=1)).date()
        if last < first:
            continue
        dates = pl.date_range(first, last, "1d", eager=True).alias("date")
        frames.append(part.join(dates.to_frame(), how="cross"))
    if not frames:
        return pl.DataFrame(
            schema={
                "shop": pl.UInt32, "date": pl.Date, "weekday": pl.Int8, "worked": pl.Boolean,
                "evidence": pl.Boolean, "holiday_mode": pl.Boolean,
            }
        )  # fmt: skip
    days = pl.concat(frames)
    zones = obs.zones
    wrap = pl.col("start_min") > pl.col("end_min")  # across midnight: the whole day
    bounds = {
        "ws": pl.when(wrap).then(0).otherwise(pl.col("start_min")),
        "we": pl.when(wrap).then(_DAY_MIN).otherwise(pl.col("end_min")),
    }
    for name, minute in bounds.items():
        naive = days.select(
            "timezone",
            t=pl.col("date").cast(pl.Datetime("us")) + pl.duration(minutes=minute),
        )
        days = days.with_columns(from_local_exact(naive, "t", zones).alias(name))
    worked = obs.activity.select("shop", "date").unique().with_columns(worked=pl.lit(True))
    days = days.join(worked, on=["shop", "date"], how="left").with_columns(
        pl.col("worked").fill_null(False), weekday=(pl.col("date").dt.weekday() - 1).cast(pl.Int8)
    )
    waiting = _waiting(obs, days)
    hol = _in_holiday_mode(obs, days)
    return days.select(
        "shop",
        "date",
        "weekday",
        "worked",
        evidence=pl.col("worked") | (pl.Series(waiting) > 0),
        holiday_mode=pl.Series(hol),
    ).sort("shop", "date")


@functools.cache
def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _key(shop: np.ndarray, t_s: np.ndarray | int) -> np.ndarray:
    return shop.astype(np.int64) * (1 << _SHOP_BITS) + t_s


def _waiting(obs: Observations, days: pl.DataFrame) -> np.ndarray:
    """Chats waiting during each day's window: opened before its end, answered after its
    start or never (one ``searchsorted`` per bound, all shops at once)."""
    c = obs.chats.filter(
        pl.col("primary")
        & ~pl.col("in_holiday")
        & ~pl.col("blocked_now")
        & ~pl.col("auto_resolved")
    )
    shop = c["shop"].to_numpy()
    opens = np.sort(_key(shop, c["open_at"].dt.epoch("s").to_numpy()))
    ans_s = c["answer_at"].dt.epoch("s").fill_null((1 << _SHOP_BITS) - 1).to_numpy()
    answers = np.sort(_key(shop, ans_s))
    d_shop = days["shop"].to_numpy()
    ws = days["ws"].dt.epoch("s").to_numpy()
    we = days["we"].dt.epoch("s").to_numpy()
    base = _key(d_shop, 0)
    opened = np.searchsorted(opens, _key(d_shop, we), "left") - np.searchsorted(opens, base, "left")
    done = np.searchsorted(answers, _key(d_shop, ws), "right") - np.searchsorted(
        answers, base, "left"
    )
    return opened - done


def _in_holiday_mode(obs: Observations, days: pl.DataFrame) -> np.ndarray:
    """Whether a holiday-mode interval of the shop overlaps the day's window."""
    h = obs.holiday_mode
    if h.height == 0:
        return np.zeros(days.height, dtype=bool)
    h = h.sort("shop", "start")
    hs = _key(h["shop"].to_numpy(), h["start"].dt.epoch("s").to_numpy())
    he = _key(h["shop"].to_numpy(), h["end"].dt.epoch("s").to_numpy())
    order = np.argsort(hs, kind="stable")
    hs, he = hs[order], np.maximum.accumulate(he[order])
    d_shop = days["shop"].to_numpy()
    ws = _key(d_shop, days["ws"].dt.epoch("s").to_numpy())
    we = _key(d_shop, days["we"].dt.epoch("s").to_numpy())
    j = np.searchsorted(hs, we, "left") - 1  # the last interval starting before the end
    jc = np.maximum(j, 0)
    return (j >= 0) & (he[jc] > ws) & (hs[jc] >= _key(d_shop, 0))


@functools.cache
def _zone_table() -> dict[str, tuple[str, ...]]:
    """IANA zone -> the ISO country codes using it (``zone1970.tab``)."""
    text = ""
    try:
        text = resources.files("tzdata").joinpath("zoneinfo/zone1970.tab").read_text()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        p = Path("/usr/share/zoneinfo/zone1970.tab")
        text = p.read_text() if p.exists() else ""
    out: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():  # a loop over the table's ~300 lines
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            out[parts[2]] = tuple(parts[0].split(","))
    return out


def zone_countries(zone: str) -> tuple[str, ...]:
    """The countries that use an IANA time zone (empty if unknown).

    Example:
        >>> zone_countries("Asia/Ho_Chi_Minh")
        ('VN',)
    """
    return _zone_table().get(zone, ())


@functools.cache
def _supported() -> frozenset[str]:
    import holidays

    return frozenset(holidays.list_supported_countries())


def holiday_candidates(country: str | None, zone: str) -> list[str]:
    """Countries whose public holidays a segment may keep, most likely first: its shops'
    ``country`` value, then the countries of its time zone (those ``holidays`` knows).

    Example:
        >>> holiday_candidates(None, "Asia/Ho_Chi_Minh"), holiday_candidates("GB", "Europe/London")[0]
        (['VN'], 'GB')
    """
    out: list[str] = []
    for c in ([country] if country else []) + list(zone_countries(zone)):
        if c in _supported() and c not in out:
            out.append(c)
    return out


@functools.cache
def public_holidays(country: str, start: dt.date, days: int) -> frozenset[dt.date]:
    """The public holidays of ``country`` in ``days`` days from ``start``.

    Example:
        >>> sorted(public_holidays("VN", dt.date(2025, 8, 15), 30))
        [datetime.date(2025, 9, 1), datetime.date(2025, 9, 2)]
    """
    import holidays

    end = start + dt.timedelta(days=days)
    years = range(start.year, end.year + 1)
    return frozenset(d for d in holidays.country_holidays(country, years=years) if start <= d < end)


class WorkClock:
    """Working time of many shops: sorted working intervals with cumulative seconds.

    ``work(shop, t)`` is the working seconds of ``shop`` before time ``t`` (POSIX
    seconds), ``inside(shop, t)`` whether ``t`` is in a working interval, since when, and
    the working seconds at that interval's start.

    Example:
        >>> c = WorkClock(np.array([0, 0]), np.array([0.0, 100.0]), np.array([10.0, 110.0]))
        >>> c.work(np.array([0]), np.array([105.0])).tolist()
        [15.0]
    """

    def __init__(self, shop: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        order = np.lexsort((start, shop))
        self.shop, self.start, self.end = shop[order], start[order], end[order]
        length = self.end - self.start
        cum = np.cumsum(length) - length
        first = np.concatenate([[True], self.shop[1:] != self.shop[:-1]]) if shop.size else shop
        base = np.maximum.accumulate(np.where(first, cum, 0.0)) if shop.size else cum
        self.cum = cum - base  # working seconds of the shop before each interval
        self.key = _key(self.shop, np.floor(self.start).astype(np.int64))

    def _find(self, shop: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        j = np.searchsorted(self.key, _key(shop, np.floor(t).astype(np.int64)), "right") - 1
        jc = np.maximum(j, 0)
        ok = (j >= 0) & (self.shop[jc] == shop) if self.shop.size else np.zeros(t.size, bool)
        return jc, ok

    def work(self, shop: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Working seconds of each shop before ``t``."""
        if self.shop.size == 0:
            return np.zeros(t.size)
        jc, ok = self._find(shop, t)
        w = self.cum[jc] + np.clip(t - self.start[jc], 0.0, self.end[jc] - self.start[jc])
        return np.where(ok, w, 0.0)

    def inside(self, shop: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(in working time?, seconds since the interval started, the shop's working
        seconds at the interval's start)."""
        if self.shop.size == 0:
            return np.zeros(t.size, bool), np.zeros(t.size), np.zeros(t.size)
        jc, ok = self._find(shop, t)
        inside = ok & (t >= self.start[jc]) & (t < self.end[jc])
        return inside, t - self.start[jc], self.cum[jc]


def work_clock(
    obs: Observations,
    days: pl.DataFrame,
    ranges: dict[int, list[tuple[int, int]]],
) -> WorkClock:
    """The shops' realized working time: their ``ranges`` (shop code -> minute ranges) on
    each date they worked, in UTC."""
    rows = pl.DataFrame(
        [(s, a, b) for s, rs in ranges.items() for a, b in rs],
        schema={"shop": pl.UInt32, "a": pl.Int32, "b": pl.Int32},
        orient="row",
    )  # a few rows per shop
    w = days.filter(pl.col("worked")).select("shop", "date").join(rows, on="shop")
    w = w.join(obs.shops.select("shop", "timezone"), on="shop")
    zones = obs.zones
    out = []
    for col in ("a", "b"):
        naive = w.select(
            "timezone", t=pl.col("date").cast(pl.Datetime("us")) + pl.duration(minutes=pl.col(col))
        )
        out.append(from_local_exact(naive, "t", zones).dt.epoch("us").to_numpy() / 1e6)
    return WorkClock(w["shop"].to_numpy(), out[0], out[1])
