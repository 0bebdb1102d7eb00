"""Altair charts for the reports. Data is aggregated in polars first
(:mod:`chatsim.chart_data`, tested on its own); charts get small DataFrames only.

Every chart has a title, axis titles with units and tooltips.

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> rate_distribution(compare(sample_log())).to_dict()["title"]
    'Shop response rates under each rule (dashed lines: targets)'
"""

from __future__ import annotations

import altair as alt
import polars as pl

from chatsim.chart_data import (
    WEEKDAYS,
    hour_of_week_data,
    rate_histogram_data,
    response_time_histogram_data,
    targets_data,
)
from chatsim.metrics import Evaluation
from chatsim.schema import ChatLog

__all__ = [
    "FLIP_LABELS",
    "STATUS_COLORS",
    "WIDTH",
    "daily_status",
    "flip_matrix",
    "pass_rate_by_segment",
    "rate_distribution",
    "response_time_distribution",
    "sensitivity_curves",
    "sensitivity_heatmap",
    "shop_timeline",
    "unanswered_heatmap",
    "what_if_chart",
    "window_by_segment",
]

FLIP_LABELS = {
    "passes_both": "passes both",
    "loses_under_new": "loses status under the new rule",
    "gains_under_new": "gains status under the new rule",
    "fails_both": "fails both",
    "not_rated": "not rated (no counted chats)",
}
WIDTH = 620


def _rule_order(ev: Evaluation) -> list[str]:
    return [r.name for r in ev.rules]


# ----------------------------------------------------------------------------- charts
def rate_distribution(ev: Evaluation) -> alt.Chart:
    """Histogram of shop response rates under each rule with the targets marked."""
    data = rate_histogram_data(ev)
    order = _rule_order(ev)
    bars = (
        alt.Chart(data)
        .mark_bar(opacity=0.6, binSpacing=0)
        .encode(
            x=alt.X(
                "bin_start:Q",
                bin="binned",
                title="Shop response rate (share of counted chats answered in time)",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            x2="bin_end:Q",
            y=alt.Y("shops:Q", title="Shops (count)"),
            color=alt.Color("rule:N", sort=order, title="Rule"),
            tooltip=[
                alt.Tooltip("rule:N", title="Rule"),
                alt.Tooltip("bin_start:Q", title="Rate from", format=".1%"),
                alt.Tooltip("bin_end:Q", title="Rate to", format=".1%"),
                alt.Tooltip("shops:Q", title="Shops"),
            ],
        )
    )
    rules = (
        alt.Chart(targets_data(ev))
        .mark_rule(strokeDash=[6, 3], size=2)
        .encode(
            x="target:Q",
            color=alt.Color("rule:N", sort=order),
            tooltip=[alt.Tooltip("label:N", title="Target")],
        )
    )
    return (bars + rules).properties(
        width=WIDTH,
        height=260,
        title="Shop response rates under each rule (dashed lines: targets)",
    )


def flip_matrix(flips_df: pl.DataFrame, old: str, new: str) -> alt.Chart:
    """The 2x2 flip matrix: shops passing/failing under the old and the new rule."""
    rated = flips_df.filter(pl.col("flip") != "not_rated")
    counts = rated.group_by("pass_old", "pass_new").agg(pl.len().alias("shops"))
    grid = pl.DataFrame(
        {"pass_old": [True, True, False, False], "pass_new": [True, False, True, False]}
    )

    def label(col: str, rule: str) -> pl.Expr:
        return (
            pl.when(pl.col(col)).then(pl.lit(f"meets {rule}")).otherwise(pl.lit(f"misses {rule}"))
        )

    data = (
        grid.join(counts, on=["pass_old", "pass_new"], how="left")
        .with_columns(pl.col("shops").fill_null(0))
        .with_columns(
            label("pass_old", old).alias("old"),
            label("pass_new", new).alias("new"),
            (pl.col("shops") / max(rated.height, 1)).alias("share"),
        )
    )
    base = alt.Chart(data).encode(
        x=alt.X("new:N", title=f"New rule ({new})", sort=[f"meets {new}", f"misses {new}"]),
        y=alt.Y("old:N", title=f"Old rule ({old})", sort=[f"meets {old}", f"misses {old}"]),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("shops:Q", title="Shops (count)", scale=alt.Scale(scheme="blues")),
        tooltip=[
            alt.Tooltip("old:N", title="Old rule"),
            alt.Tooltip("new:N", title="New rule"),
            alt.Tooltip("shops:Q", title="Shops"),
            alt.Tooltip("share:Q", title="Share", format=".1%"),
        ],
    )
    text = base.mark_text(fontSize=16).encode(
        text=alt.Text("shops:Q"),
        color=alt.condition(alt.datum.share > 0.4, alt.value("white"), alt.value("black")),
    )
    return (heat + text).properties(
        width=360, height=220, title="Who flips: rated shops by status under each rule"
    )


def response_time_distribution(
    ev: Evaluation, rule: str | None = None, max_hours: float = 72.0
) -> alt.Chart:
    """Response-time histogram of answered counted chats, with the 12 h and 24 h lines."""
    data = response_time_histogram_data(ev, rule, max_hours)
    rule = rule or ev.rules[-1].name
    bars = (
        alt.Chart(data)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X(
                "bin_start:Q",
                bin="binned",
                title=f"Response time (hours; last bar: {max_hours:g} h or more)",
                scale=alt.Scale(domain=[0, max_hours + 1]),
            ),
            x2="bin_end:Q",
            y=alt.Y("chats:Q", title="Answered chats (count)"),
            tooltip=[
                alt.Tooltip("bin_start:Q", title="From (h)"),
                alt.Tooltip("bin_end:Q", title="To (h)"),
                alt.Tooltip("chats:Q", title="Chats"),
            ],
        )
    )
    windows = sorted({r.window_hours for r in ev.rules} | {12.0, 24.0})
    lines_df = pl.DataFrame({"hours": windows, "label": [f"{w:g} h window" for w in windows]})
    lines = (
        alt.Chart(lines_df)
        .mark_rule(color="#e45756", strokeDash=[6, 3], size=2)
        .encode(x="hours:Q", tooltip=[alt.Tooltip("label:N", title="Window")])
    )
    labels = (
        alt.Chart(lines_df)
        .mark_text(align="left", dx=4, dy=-120, color="#e45756")
        .encode(x="hours:Q", text="label:N")
    )
    return (bars + lines + labels).properties(
        width=WIDTH,
        height=260,
        title=f"How long buyers wait for an answer ({rule} chat definition)",
    )


def unanswered_heatmap(ev: Evaluation, log: ChatLog, rule: str | None = None) -> alt.Chart:
    """Hour-of-week heatmap (shop-local time) of chats that were never answered."""
    rule = rule or ev.rules[-1].name
    data = hour_of_week_data(ev, log, rule)
    return (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="Hour the chat opened (shop-local time, 0-23)"),
            y=alt.Y("weekday:N", sort=WEEKDAYS, title="Weekday (shop-local)"),
            color=alt.Color("chats:Q", title="Unanswered chats", scale=alt.Scale(scheme="oranges")),
            tooltip=[
                alt.Tooltip("weekday:N", title="Weekday"),
                alt.Tooltip("hour:O", title="Hour"),
                alt.Tooltip("chats:Q", title="Unanswered chats"),
            ],
        )
        .properties(width=WIDTH, height=200, title=f"When unanswered chats arrive ({rule})")
    )


def pass_rate_by_segment(pass_df: pl.DataFrame, by: str, rule_order: list[str]) -> alt.Chart:
    """Share of shops meeting each rule's target, per segment (e.g. archetype)."""
    return (
        alt.Chart(pass_df)
        .mark_bar()
        .encode(
            y=alt.Y(f"{by}:N", title=by.replace("_", " ").capitalize()),
            yOffset=alt.YOffset("rule:N", sort=rule_order),
            x=alt.X(
                "share_passing:Q",
                title="Shops meeting the target (share of rated shops)",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("rule:N", sort=rule_order, title="Rule"),
            tooltip=[
                alt.Tooltip(f"{by}:N"),
                alt.Tooltip("rule:N", title="Rule"),
                alt.Tooltip("shops_passing:Q", title="Shops passing"),
                alt.Tooltip("shops_rated:Q", title="Shops rated"),
                alt.Tooltip("share_passing:Q", title="Share", format=".1%"),
                alt.Tooltip("median_rate:Q", title="Median rate", format=".1%"),
            ],
        )
        .properties(width=WIDTH - 120, title=f"Pass rate by {by.replace('_', ' ')} under each rule")
    )


def sensitivity_curves(sweep_df: pl.DataFrame, highlight_target: float | None = None) -> alt.Chart:
    """Share of shops passing vs target, one line per response window."""
    data = sweep_df.with_columns(pl.format("{} h", pl.col("window_hours").round(1)).alias("window"))
    order = [f"{w} h" for w in sorted(data["window_hours"].round(1).unique().to_list())]
    lines = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("target:Q", title="Target response rate", axis=alt.Axis(format="%")),
            y=alt.Y(
                "share_passing:Q",
                title="Shops meeting the target (share)",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color(
                "window:N", sort=order, title="Response window", scale=alt.Scale(scheme="viridis")
            ),
            tooltip=[
                alt.Tooltip("window:N", title="Window"),
                alt.Tooltip("target:Q", title="Target", format=".0%"),
                alt.Tooltip("share_passing:Q", title="Share passing", format=".1%"),
                alt.Tooltip("shops_passing:Q", title="Shops passing"),
                alt.Tooltip("shops_rated:Q", title="Shops rated"),
            ],
        )
    )
    chart = lines
    if highlight_target is not None:
        rule = (
            alt.Chart(pl.DataFrame({"target": [highlight_target]}))
            .mark_rule(strokeDash=[6, 3])
            .encode(
                x="target:Q", tooltip=[alt.Tooltip("target:Q", title="Policy target", format=".0%")]
            )
        )
        chart = lines + rule
    return chart.properties(
        width=WIDTH, height=280, title="Sensitivity: share of shops passing by target and window"
    )


def sensitivity_heatmap(sweep_df: pl.DataFrame) -> alt.Chart:
    """Heatmap of the share of shops passing over (window, target)."""
    data = sweep_df.with_columns(
        pl.format("{}%", (pl.col("target") * 100).round(1))
        .str.replace(r"\.0%$", "%")
        .alias("target_label")
    )
    order = data.sort("target")["target_label"].unique(maintain_order=True).to_list()
    base = alt.Chart(data).encode(
        x=alt.X("target_label:O", title="Target response rate", sort=order),
        y=alt.Y("window_hours:O", title="Response window (hours)", sort="descending"),
    )
    heat = base.mark_rect().encode(
        color=alt.Color(
            "share_passing:Q",
            title="Share passing",
            scale=alt.Scale(scheme="redyellowgreen", domain=[0, 1]),
        ),
        tooltip=[
            alt.Tooltip("window_hours:Q", title="Window (h)"),
            alt.Tooltip("target:Q", title="Target", format=".0%"),
            alt.Tooltip("share_passing:Q", title="Share passing", format=".1%"),
            alt.Tooltip("shops_passing:Q", title="Shops passing"),
        ],
    )
    text = base.mark_text(fontSize=10).encode(text=alt.Text("share_passing:Q", format=".0%"))
    return (heat + text).properties(
        width=WIDTH - 100, height=260, title="Share of shops passing over window x target"
    )


STATUS_COLORS = {
    "answered_in_time": "#54a24b",
    "answered_late": "#f58518",
    "unanswered": "#e45756",
    "pending": "#9d755d",
    "excluded": "#bab0ac",
    "outside_period": "#dddddd",
}


def shop_timeline(timeline: pl.DataFrame, shop_id: str, rule: str) -> alt.Chart:
    """One shop's chats over time: arrival (dot), wait until answer or deadline (bar), status colour."""
    data = timeline.with_columns(
        pl.coalesce("answer_at", "deadline").alias("until"),
        pl.col("open_at").dt.date().alias("day"),
    )
    scale = alt.Scale(domain=list(STATUS_COLORS), range=list(STATUS_COLORS.values()))
    base = alt.Chart(data).encode(
        y=alt.Y("open_at:T", title="Chat opened (UTC)", sort="descending")
    )
    bars = base.mark_bar(size=3, opacity=0.7).encode(
        x=alt.X(
            "open_at:T",
            title="Time (UTC): bar from opening to answer, or to the deadline if unanswered",
        ),
        x2="until:T",
        color=alt.Color("status:N", title="Status", scale=scale),
        tooltip=[
            alt.Tooltip("open_at:T", title="Opened", format="%Y-%m-%d %H:%M"),
            alt.Tooltip("answer_at:T", title="Answered", format="%Y-%m-%d %H:%M"),
            alt.Tooltip("deadline:T", title="Deadline", format="%Y-%m-%d %H:%M"),
            alt.Tooltip("response_hours:Q", title="Response (h)", format=".1f"),
            alt.Tooltip("status:N", title="Status"),
            alt.Tooltip("excluded_reason:N", title="Excluded because"),
            alt.Tooltip("n_buyer_messages:Q", title="Buyer messages"),
        ],
    )
    dots = base.mark_point(filled=True, size=18).encode(
        x="open_at:T", color=alt.Color("status:N", scale=scale)
    )
    return (bars + dots).properties(
        width=WIDTH, height=380, title=f"Shop {shop_id}: every chat under {rule}"
    )


def daily_status(timeline: pl.DataFrame, shop_id: str) -> alt.Chart:
    """Chats per day by status for one shop (stacked bars)."""
    data = (
        timeline.group_by(pl.col("open_at").dt.date().alias("day"), "status")
        .agg(pl.len().alias("chats"))
        .sort("day", "status")
    )
    scale = alt.Scale(domain=list(STATUS_COLORS), range=list(STATUS_COLORS.values()))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("day:T", title="Day the chat opened (UTC)"),
            y=alt.Y("chats:Q", title="Chats (count)"),
            color=alt.Color("status:N", title="Status", scale=scale),
            tooltip=[
                alt.Tooltip("day:T", title="Day"),
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("chats:Q", title="Chats"),
            ],
        )
        .properties(width=WIDTH, height=200, title=f"Shop {shop_id}: chats per day by status")
    )


def what_if_chart(df: pl.DataFrame) -> alt.Chart:
    """Failing shops rescued by each one-change variant."""
    data = df.unpivot(
        index=["what_if"],
        on=["rescued", "newly_failing"],
        variable_name="effect",
        value_name="shops",
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("what_if:N", title="What-if variant"),
            yOffset="effect:N",
            x=alt.X("shops:Q", title="Shops (count)"),
            color=alt.Color(
                "effect:N",
                title="Effect",
                scale=alt.Scale(domain=["rescued", "newly_failing"], range=["#54a24b", "#e45756"]),
            ),
            tooltip=[
                alt.Tooltip("what_if:N", title="Variant"),
                alt.Tooltip("effect:N", title="Effect"),
                alt.Tooltip("shops:Q", title="Shops"),
            ],
        )
        .properties(width=WIDTH - 120, title="What-if: failing shops rescued under the new rule")
    )


def window_by_segment(sweep_seg: pl.DataFrame, by: str, target: float) -> alt.Chart:
    """Share of shops passing at one target, by response window, one line per segment."""
    data = sweep_seg.filter((pl.col("target") - target).abs() < 1e-9)
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("window_hours:Q", title="Response window (hours)"),
            y=alt.Y(
                "share_passing:Q",
                title=f"Shops meeting a {target:.0%} target (share)",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color(f"{by}:N", title=by.replace("_", " ").capitalize()),
            tooltip=[
                alt.Tooltip(f"{by}:N"),
                alt.Tooltip("window_hours:Q", title="Window (h)"),
                alt.Tooltip("share_passing:Q", title="Share passing", format=".1%"),
                alt.Tooltip("shops_rated:Q", title="Shops rated"),
            ],
        )
        .properties(
            width=WIDTH,
            height=280,
            title=f"Which sellers a shorter window hurts: share passing a {target:.0%} target by window",
        )
    )
