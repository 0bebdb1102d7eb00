"""The data behind the report charts: small polars frames aggregated from an evaluation.

Charts (:mod:`chatsim.charts`) draw these frames and never aggregate themselves, so
each aggregation is tested on its own and no chart gets more rows than it shows
(Altair refuses over 5,000). Nothing here imports Altair.

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> ev = compare(sample_log())
    >>> rate_histogram_data(ev)["rule"].unique().sort().to_list()
    ['legacy-24h', 'new-12h']
"""

from __future__ import annotations

import polars as pl

from chatsim.metrics import Evaluation, local_time
from chatsim.schema import ChatLog

__all__ = [
    "WEEKDAYS",
    "hour_of_week_data",
    "rate_histogram_data",
    "response_time_histogram_data",
    "shop_timeline_data",
    "targets_data",
]

#: Weekday labels of the hour-of-week charts, Monday first (polars' ``dt.weekday()`` 1-7).
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def rate_histogram_data(ev: Evaluation, bin_width: float = 0.025) -> pl.DataFrame:
    """Shops per response-rate bin and rule (rated shops only)."""
    return (
        ev.shops.filter(pl.col("response_rate").is_not_null())
        .with_columns(
            ((pl.col("response_rate") / bin_width).floor().clip(0, 1 / bin_width - 1) * bin_width)
            .round(6)
            .alias("bin_start")
        )
        .group_by("rule", "bin_start")
        .agg(pl.len().alias("shops"))
        .with_columns((pl.col("bin_start") + bin_width).round(6).alias("bin_end"))
        .sort("rule", "bin_start")
    )


def targets_data(ev: Evaluation) -> pl.DataFrame:
    """One row per rule with its target (and tiers) for rule lines on charts."""
    return pl.DataFrame(
        {
            "rule": [r.name for r in ev.rules],
            "target": [r.target for r in ev.rules],
            "window_hours": [r.window_hours for r in ev.rules],
            "label": [f"{r.name} target {r.target:.0%}" for r in ev.rules],
        }
    )


def response_time_histogram_data(
    ev: Evaluation, rule: str | None = None, max_hours: float = 72.0, bin_hours: float = 1.0
) -> pl.DataFrame:
    """Answered counted chats per response-time bin (hours; the last bin holds everything later)."""
    rule = rule or ev.rules[-1].name
    return (
        ev.chats.filter(
            (pl.col("rule") == rule) & pl.col("status").is_in(["answered_in_time", "answered_late"])
        )
        .with_columns(
            ((pl.col("response_s") / 3600 / bin_hours).floor() * bin_hours)
            .clip(0, max_hours)
            .alias("bin_start")
        )
        .group_by("bin_start")
        .agg(pl.len().alias("chats"))
        .with_columns(
            (pl.col("bin_start") + bin_hours).alias("bin_end"),
            pl.lit(rule).alias("rule"),
        )
        .sort("bin_start")
    )


def hour_of_week_data(
    ev: Evaluation,
    log: ChatLog,
    rule: str | None = None,
    statuses: tuple[str, ...] = ("unanswered",),
) -> pl.DataFrame:
    """Chats with the given statuses by the shop-local weekday and hour they opened (all 168 cells)."""
    rule = rule or ev.rules[-1].name
    zones = sorted(log.shops["timezone"].unique().to_list())
    c = (
        ev.chats.filter((pl.col("rule") == rule) & pl.col("status").is_in(list(statuses)))
        .join(log.shops.select("shop_id", "timezone"), on="shop_id", how="left")
        .with_columns(local_time(pl.col("open_at"), zones).alias("_local"))
        .group_by(
            pl.col("_local").dt.weekday().alias("weekday_no"),
            pl.col("_local").dt.hour().alias("hour"),
        )
        .agg(pl.len().alias("chats"))
    )
    grid = pl.DataFrame({"weekday_no": list(range(1, 8))}, schema={"weekday_no": pl.Int8}).join(
        pl.DataFrame({"hour": list(range(24))}, schema={"hour": pl.Int8}), how="cross"
    )
    return (
        grid.join(
            c.cast({"weekday_no": pl.Int8, "hour": pl.Int8}), on=["weekday_no", "hour"], how="left"
        )
        .with_columns(
            pl.col("chats").fill_null(0).cast(pl.Int64),
            pl.col("weekday_no")
            .replace_strict(dict(enumerate(WEEKDAYS, 1)), return_dtype=pl.String)
            .alias("weekday"),
        )
        .sort("weekday_no", "hour")
    )


def shop_timeline_data(ev: Evaluation, shop_id: str, rule: str | None = None) -> pl.DataFrame:
    """One shop's chats under a rule: open, answer, deadline and status (for the drill-down)."""
    rule = rule or ev.rules[-1].name
    return (
        ev.chats.filter((pl.col("rule") == rule) & (pl.col("shop_id") == shop_id))
        .select(
            "conversation_id",
            "chat_seq",
            "open_at",
            "answer_at",
            "deadline",
            "status",
            "excluded_reason",
            "n_buyer_messages",
            (pl.col("response_s") / 3600).alias("response_hours"),
        )
        .with_columns(pl.col("status").cast(pl.String), pl.col("excluded_reason").cast(pl.String))
        .sort("open_at")
    )
