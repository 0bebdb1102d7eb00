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

from collections.abc import Sequence

import polars as pl

__all__ = ["business_deadline", "business_seconds", "from_local", "local_time"]

_WEEK_S = 7 * 86400
_MONDAY_OFFSET_S = 3 * 86400  # 1970-01-01 was a Thursday


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


def from_local(naive: pl.Expr, zones: Sequence[str]) -> pl.Expr:
    """Naive local wall-clock time in each row's ``timezone`` -> UTC (earliest on DST overlaps)."""

    def one(z: str) -> pl.Expr:
        return naive.dt.replace_time_zone(
            z, ambiguous="earliest", non_existent="null"
        ).dt.convert_time_zone("UTC")

    if len(zones) == 1:
        return one(zones[0])
    return pl.coalesce(pl.when(pl.col("timezone") == z).then(one(z)) for z in zones)


def business_seconds(local: pl.Expr, intervals: list[tuple[int, int]]) -> pl.Expr:
    """Working seconds from a fixed Monday 00:00 to a naive local time (monotone)."""
    x = local.dt.epoch("s") + _MONDAY_OFFSET_S
    week, sow = x // _WEEK_S, x % _WEEK_S
    per_week = sum(b - a for a, b in intervals) * 60
    within = pl.sum_horizontal((sow - a * 60).clip(0, (b - a) * 60) for a, b in intervals)
    return week * per_week + within


def business_deadline(b_target: pl.Expr, intervals: list[tuple[int, int]]) -> pl.Expr:
    """Inverse of :func:`business_seconds`: the local time at which the working seconds
    reach ``b_target``."""
    per_week = sum(b - a for a, b in intervals) * 60
    week = b_target // per_week
    rem = b_target % per_week
    # rem == 0 is the end of the last interval of the previous week
    week = pl.when(rem == 0).then(week - 1).otherwise(week)
    rem = pl.when(rem == 0).then(per_week).otherwise(rem)
    cum = 0
    expr = None
    for a, b in intervals:
        length = (b - a) * 60
        sow = a * 60 + (rem - cum)
        cond = (rem > cum) & (rem <= cum + length)
        expr = pl.when(cond).then(sow) if expr is None else expr.when(cond).then(sow)
        cum += length
    sow_expr = expr.otherwise(None)  # type: ignore[union-attr]
    epoch = week * _WEEK_S + sow_expr - _MONDAY_OFFSET_S
    return pl.from_epoch(epoch, time_unit="s")
