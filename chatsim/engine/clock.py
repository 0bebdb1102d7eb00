"""Clocks on polars: shop-local wall-clock time and the business-hours clock.

Polars expressions the polars backend uses for the chatbot weekend deadline and the
business clock (:class:`~chatsim.engine.polars.PolarsBackend`), and that the reports use
for local times. Each row's zone is its ``timezone`` column; ``zones`` lists the zones
that occur, so each is converted once, with no per-row Python.

Example:
    >>> import datetime as dt
    >>> hours = [(9 * 60, 17 * 60), (33 * 60, 41 * 60)]  # Monday, Tuesday 9:00-17:00
    >>> def at(day, hour):  # August 2025: the 4th is a Monday
    ...     return business_seconds(pl.lit(dt.datetime(2025, 8, day, hour)), hours)
    >>> pl.select(at(5, 10) - at(4, 12)).item() / 3600  # Monday 12:00 to Tuesday 10:00
    6.0
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Sequence

import polars as pl

__all__ = [
    "business_deadline",
    "business_deadline_us",
    "business_seconds",
    "business_us",
    "from_local",
    "from_local_exact",
    "local_time",
    "zone_gaps",
]

_WEEK_S = 7 * 86400
_MONDAY_OFFSET_S = 3 * 86400  # 1970-01-01 was a Thursday
_US = 1_000_000


def local_time(ts: pl.Expr, zones: Sequence[str]) -> pl.Expr:
    """UTC timestamps -> naive local wall-clock time in each row's ``timezone`` column.

    ``zones`` lists the zones that occur (one conversion per zone, no per-row Python).

    Example:
        >>> import datetime as dt
        >>> t = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
        >>> df = pl.DataFrame({"t": [t], "timezone": ["Asia/Tokyo"]})
        >>> df.select(local_time(pl.col("t"), ["Asia/Tokyo"]))["t"].dt.hour().to_list()
        [9]
    """
    if len(zones) == 1:
        return ts.dt.convert_time_zone(zones[0]).dt.replace_time_zone(None)
    return pl.coalesce(
        pl.when(pl.col("timezone") == z).then(ts.dt.convert_time_zone(z).dt.replace_time_zone(None))
        for z in zones
    )


def from_local(naive: pl.Expr, zones: Sequence[str], ambiguous: str = "earliest") -> pl.Expr:
    """Naive local wall-clock time in each row's ``timezone`` -> UTC (``ambiguous``: which of
    a repeated wall-clock time; null for a wall-clock time that does not exist:
    :func:`from_local_exact` resolves those)."""

    def one(z: str) -> pl.Expr:
        return naive.dt.replace_time_zone(
            z,
            ambiguous=ambiguous,  # type: ignore[arg-type]
            non_existent="null",
        ).dt.convert_time_zone("UTC")

    if len(zones) == 1:
        return one(zones[0])
    return pl.coalesce(pl.when(pl.col("timezone") == z).then(one(z)) for z in zones)


def from_local_exact(
    frame: pl.DataFrame,
    naive: str,
    zones: Sequence[str],
    zone: str = "timezone",
    ambiguous: str = "earliest",
) -> pl.Series:
    """:func:`from_local` of the column ``naive`` of ``frame``, never null where ``naive`` is
    set: a wall-clock time that does not exist (in a DST gap) is the next instant that
    exists, the moment the clocks jump (e.g. Europe/Berlin 2025-03-30 02:30 is 03:00 CEST,
    01:00 UTC). The zone of each row is its ``zone`` column (any row, with one zone).

    Example:
        >>> df = pl.DataFrame({"t": [dt.datetime(2025, 3, 30, 2, 30)], "timezone": ["Europe/Berlin"]})
        >>> from_local_exact(df, "t", ["Europe/Berlin"]).dt.to_string("%H:%M%z").to_list()
        ['01:00+0000']
    """
    out = frame.select(from_local(pl.col(naive), zones, ambiguous).alias(naive)).to_series()
    gap = out.is_null() & frame[naive].is_not_null()
    if not gap.any():
        return out
    # the few rows in a gap: the gaps of their zones near their days (zoneinfo), then
    # each row takes the end of the gap it falls in
    zcol = pl.col(zone) if len(zones) > 1 else pl.lit(zones[0])
    rows = (
        frame.lazy()
        .with_row_index("_i")
        .filter(pl.lit(gap))
        .select("_i", zcol.cast(pl.String).alias("_zone"), pl.col(naive).cast(pl.Datetime("us")))
        .collect()
    )
    days = rows.select("_zone", pl.col(naive).dt.date().alias("_day")).unique()
    gaps = [(z, g0, g1, t) for z, day in days.iter_rows() for g0, g1, t in zone_gaps(z, day)]
    table = pl.DataFrame(
        gaps,
        schema={
            "_zone": pl.String,
            "_g0": pl.Datetime("us"),
            "_g1": pl.Datetime("us"),
            "_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    ).unique()
    found = (
        rows.join(table, on="_zone", how="inner")
        .filter((pl.col(naive) >= pl.col("_g0")) & (pl.col(naive) < pl.col("_g1")))
        .group_by("_i")
        .agg(pl.col("_at").min())
        .sort("_i")
    )
    at = found["_at"].cast(out.dtype)
    return out.scatter(found["_i"], at)


@functools.lru_cache(maxsize=4096)
def zone_gaps(zone: str, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime, dt.datetime], ...]:
    """The DST gaps of ``zone`` within two days of ``day``: ``(first missing wall-clock time,
    first wall-clock time after the gap, the UTC instant of the jump)``, naive local times.

    Example:
        >>> [(str(a), str(b)) for a, b, _ in zone_gaps("America/St_Johns", dt.date(2025, 3, 9))]
        [('2025-03-09 02:00:00', '2025-03-09 03:00:00')]
    """
    tz = zoneinfo.ZoneInfo(zone)
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) - dt.timedelta(days=2)

    def offset(u: dt.datetime) -> dt.timedelta:
        return u.astimezone(tz).utcoffset() or dt.timedelta(0)

    out = []
    hour = dt.timedelta(hours=1)
    a = start
    off_a = offset(a)
    for _ in range(5 * 24):
        b = a + hour
        off_b = offset(b)
        if off_b > off_a:  # the clocks jump forward between a and b: bisect to the microsecond
            lo, hi = a, b
            while hi - lo > dt.timedelta(microseconds=1):
                mid = lo + (hi - lo) / 2  # timedelta arithmetic: whole microseconds
                if offset(mid) > off_a:
                    hi = mid
                else:
                    lo = mid
            naive = hi.replace(tzinfo=None)
            out.append((naive + off_a, naive + off_b, hi))
        a, off_a = b, off_b
    return tuple(out)


def business_us(local: pl.Expr, intervals: list[tuple[int, int]]) -> pl.Expr:
    """Working microseconds from a fixed Monday 00:00 to a naive local time (monotone, exact)."""
    x = local.dt.epoch("us") + _MONDAY_OFFSET_S * _US
    week_us = _WEEK_S * _US
    week, sow = x // week_us, x % week_us
    per_week = sum(b - a for a, b in intervals) * 60 * _US
    within = pl.sum_horizontal(
        (sow - a * 60 * _US).clip(0, (b - a) * 60 * _US) for a, b in intervals
    )
    return week * per_week + within


def business_seconds(local: pl.Expr, intervals: list[tuple[int, int]]) -> pl.Expr:
    """Working seconds (whole, rounded down) from a fixed Monday 00:00 to a naive local time
    (monotone); :func:`business_us` is exact."""
    return business_us(local, intervals) // _US


def business_deadline_us(b_target: pl.Expr, intervals: list[tuple[int, int]]) -> pl.Expr:
    """Inverse of :func:`business_us`: the naive local time (microseconds) at which the
    working microseconds reach ``b_target``."""
    per_week = sum(b - a for a, b in intervals) * 60 * _US
    week = b_target // per_week
    rem = b_target % per_week
    # rem == 0 is the end of the last interval of the previous week
    week = pl.when(rem == 0).then(week - 1).otherwise(week)
    rem = pl.when(rem == 0).then(per_week).otherwise(rem)
    cum = 0
    expr = None
    for a, b in intervals:
        length = (b - a) * 60 * _US
        sow = a * 60 * _US + (rem - cum)
        cond = (rem > cum) & (rem <= cum + length)
        expr = pl.when(cond).then(sow) if expr is None else expr.when(cond).then(sow)
        cum += length
    sow_expr = expr.otherwise(None)  # type: ignore[union-attr]
    epoch = week * (_WEEK_S * _US) + sow_expr - _MONDAY_OFFSET_S * _US
    return pl.from_epoch(epoch, time_unit="us")


def business_deadline(b_target: pl.Expr, intervals: list[tuple[int, int]]) -> pl.Expr:
    """Inverse of :func:`business_seconds`: the local time at which the working seconds
    reach ``b_target`` (whole seconds; :func:`business_deadline_us` is exact)."""
    return business_deadline_us(b_target * _US, intervals)
