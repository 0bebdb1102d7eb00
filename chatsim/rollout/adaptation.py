"""The rollout page's adaptation tables: how long sellers who change their behaviour take to
get back above the target (see :mod:`chatsim.rollout`).

Example:
    >>> ADAPTATION_COLUMNS
    ('adapted_from', 'adaptation')
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from chatsim.rollout.tables import first_meeting, in_force_status, standing

__all__ = [
    "ADAPTATION_COLUMNS",
    "CURVE_DAYS_BEFORE",
    "NO_ADAPTERS",
    "adaptation_curve",
    "adaptation_recovery",
    "adaptation_summary",
]

#: Columns of a simulated shops table naming the sellers who change their behaviour: the
#: first day of the change (a date) and what they change (text); null for the others.
ADAPTATION_COLUMNS: tuple[str, str] = ("adapted_from", "adaptation")
#: Days before a change the adaptation curve starts.
CURVE_DAYS_BEFORE = 14
#: What the page says when the shops table names no adapting seller (real logs).
NO_ADAPTERS = "No adapting sellers in this log: its shops table has no dated changes."


def _adapters(shops: pl.DataFrame, last_day: dt.date) -> pl.DataFrame | None:
    if not set(ADAPTATION_COLUMNS) <= set(shops.columns):
        return None
    out = shops.filter(
        pl.col("adapted_from").is_not_null(), pl.col("adapted_from") <= last_day
    ).select("shop_id", "adapted_from", pl.col("adaptation").cast(pl.String).fill_null("change"))
    return out if out.height else None


def _status_under(
    daily: pl.DataFrame, status: pl.DataFrame, adapters: pl.DataFrame
) -> pl.DataFrame:
    """The adapters' daily rows under the rule in force on their change day (the rule they
    adapt to), with ``status`` and the days since the change."""
    rule_on = status.select("day", "rule").unique()
    pick = adapters.join(rule_on, left_on="adapted_from", right_on="day", how="inner")
    return (
        daily.join(pick, on=["shop_id", "rule"], how="inner")
        .with_columns(
            status=standing(pl.col("meets_target")),
            since=(pl.col("day") - pl.col("adapted_from")).dt.total_days(),
        )
        .sort("shop_id", "day")
    )


def _adapter_rows(
    daily: pl.DataFrame, shops: pl.DataFrame, status: pl.DataFrame | None
) -> pl.DataFrame | None:
    """The adapters' daily rows (:func:`_status_under`), None without adapters."""
    adapters = _adapters(shops, daily["day"].max()) if daily.height else None
    if adapters is None:
        return None
    return _status_under(daily, in_force_status(daily) if status is None else status, adapters)


def adaptation_recovery(
    daily: pl.DataFrame, shops: pl.DataFrame, status: pl.DataFrame | None = None
) -> pl.DataFrame | None:
    """For each shop that changes its behaviour (``adapted_from`` on or before the last day):
    the change, the rule in force on its first day, its standing the day before
    (``before``: meets / below / not_rated), the first day from the change it meets that
    rule (``back_on``) and ``days_to_target`` (0: met it on the day; null: not by the end).
    ``None`` when the shops table names no adapting seller (:data:`NO_ADAPTERS`).

    Example:
        >>> adaptation_recovery(daily, log.shops)  # doctest: +SKIP
    """
    rows = _adapter_rows(daily, shops, status)
    if rows is None:
        return None
    before = rows.filter(pl.col("since") == -1).select("shop_id", before="status")
    back = first_meeting(rows, rows.select("shop_id", from_day="adapted_from").unique())
    return (
        rows.select("shop_id", "adaptation", "adapted_from", "rule")
        .unique("shop_id")
        .join(before, on="shop_id", how="left")
        .join(back, on="shop_id", how="left")
        .with_columns(
            pl.col("before").fill_null("not_rated"),
            days_to_target=(pl.col("back_on") - pl.col("adapted_from")).dt.total_days(),
        )
        .sort("shop_id")
    )


def adaptation_curve(
    daily: pl.DataFrame,
    shops: pl.DataFrame,
    status: pl.DataFrame | None = None,
    *,
    days_before: int = CURVE_DAYS_BEFORE,
) -> pl.DataFrame | None:
    """Per change (``adaptation``) and day since it (from ``-days_before``), for the adapting
    sellers below the target the day before their change: the share of them meeting the
    target and their median rate, under the rule in force on the change day. Each change's
    days stop where the first of its sellers runs out of data, so a curve always follows
    the same sellers. ``None`` without adapting sellers below the target before.

    Example:
        >>> adaptation_curve(daily, log.shops)  # doctest: +SKIP
    """
    rows = _adapter_rows(daily, shops, status)
    if rows is None:
        return None
    below = rows.filter(pl.col("since") == -1, pl.col("status") == "below").select("shop_id")
    if below.height == 0:
        return None
    rows = rows.join(below, on="shop_id", how="semi")
    last = (pl.lit(daily["day"].max(), dtype=pl.Date) - pl.col("adapted_from")).dt.total_days()
    reach = rows.group_by("adaptation").agg(_reach=last.min())
    return (
        rows.join(reach, on="adaptation")
        .filter(pl.col("since") >= -days_before, pl.col("since") <= pl.col("_reach"))
        .group_by("adaptation", "since")
        .agg(
            sellers=pl.len().cast(pl.Int64),
            share=pl.col("meets_target").mean(),
            median_rate=pl.col("response_rate").median(),
        )
        .sort("adaptation", "since")
    )


def adaptation_summary(ad: pl.DataFrame) -> pl.DataFrame:
    """Per change (``adaptation``) of :func:`adaptation_recovery`: the sellers making it,
    those below the target the day before, those back above it by the end, and the median
    and longest days from the change to meeting the target (of those below before).

    Example:
        >>> adaptation_summary(adaptation_recovery(daily, log.shops))  # doctest: +SKIP
    """
    below = pl.col("before") == "below"
    back = pl.col("days_to_target").filter(below)
    return (
        ad.group_by("adaptation")
        .agg(
            first_day=pl.col("adapted_from").min(),
            sellers=pl.len(),
            below_before=below.sum(),
            back_above_target=back.is_not_null().sum(),
            median_days=back.median(),
            longest_days=back.max(),
        )
        .with_columns(pl.col("sellers", "below_before", "back_above_target").cast(pl.Int64))
        .sort("first_day", "adaptation")
    )
