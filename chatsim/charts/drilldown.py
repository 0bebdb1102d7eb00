"""Charts of the shop drill-down page: one shop's chats over time and its daily status,
coloured by status under each rule.

Example:
    >>> STATUS_COLORS["unanswered"].startswith("#")
    True
"""

from __future__ import annotations

import altair as alt
import polars as pl

from chatsim.chart_data import (
    STATUS_CODES,
)
from chatsim.charts.scales import WIDTH
from chatsim.explain.labels import label

__all__ = [
    "STATUS_COLORS",
    "TIMELINE_MAX_CHATS",
    "daily_status",
    "shop_timeline",
]

#: Most chats per rule a timeline draws (the latest); a busier shop's title says so.
TIMELINE_MAX_CHATS = 2000
#: The columns the timeline reads (the rest of the shop's chat table stays off the page).
_TIMELINE_COLUMNS = (
    "rule",
    "opened",
    "answered",
    "deadline",
    "until",
    "response_hours",
    "status_label",
    "excluded_because",
    "n_buyer_messages",
)


#: Status colours (keyed by code), drawn under the labels of :mod:`chatsim.explain.labels`.
STATUS_COLORS = {
    "answered_in_time": "#009E73",
    "answered_late": "#E69F00",
    "unanswered": "#CC3311",
    "pending": "#56B4E9",
    "excluded": "#BBBBBB",
    "outside_period": "#DDDDDD",
}


def _status_scale() -> alt.Scale:
    return alt.Scale(
        domain=[label(c, "status") for c in STATUS_CODES],
        range=[STATUS_COLORS[c] for c in STATUS_CODES],
    )


#: The status legend shows each label whole ("Pending (deadline after the data end)").
_STATUS_LEGEND = alt.Legend(labelLimit=0)


def shop_timeline(chats: pl.DataFrame, shop_id: str, rule: str | None = None) -> alt.Chart:
    """One shop's chats in its local time, one panel per rule: a dot at the opening, a bar
    to the answer (or to the rule's deadline if unanswered), coloured by the chat's status
    under that rule (:func:`chatsim.chart_data.shop_chats_local`). At most
    :data:`TIMELINE_MAX_CHATS` chats per rule, the latest (the title says when)."""
    data = chats if rule is None else chats.filter(pl.col("rule") == rule)
    rules = data["rule"].unique(maintain_order=True).to_list()
    per_rule = data.group_by("rule").len()["len"].max() if data.height else 0
    data = (
        data.sort("opened", descending=True)
        .group_by("rule", maintain_order=True)
        .head(TIMELINE_MAX_CHATS)
        .sort("rule", "opened")
        .select(*_TIMELINE_COLUMNS)
        .with_columns(  # to the second and the millihour: a lighter page, the same chart
            pl.col("opened", "answered", "deadline", "until").dt.truncate("1s"),
            pl.col("response_hours").round(3),
        )
    )
    title = f"Shop {shop_id}: every chat under each rule"
    if per_rule and per_rule > TIMELINE_MAX_CHATS:
        title = f"Shop {shop_id}: the latest {TIMELINE_MAX_CHATS:,} of {per_rule:,} chats per rule"
    scale = _status_scale()
    base = alt.Chart(data).encode(
        y=alt.Y("opened:T", title="Chat opened (shop-local time)", sort="descending"),
    )
    tooltip = [
        alt.Tooltip("rule:N", title="Rule"),
        alt.Tooltip("opened:T", title="Opened", format="%a %Y-%m-%d %H:%M"),
        alt.Tooltip("answered:T", title="Answered", format="%a %Y-%m-%d %H:%M"),
        alt.Tooltip("deadline:T", title="Deadline", format="%a %Y-%m-%d %H:%M"),
        alt.Tooltip("response_hours:Q", title="Response (h)", format=".1f"),
        alt.Tooltip("status_label:N", title="Status"),
        alt.Tooltip("excluded_because:N", title="Excluded because"),
        alt.Tooltip("n_buyer_messages:Q", title="Buyer messages"),
    ]
    bars = base.mark_bar(size=3, opacity=0.7).encode(
        x=alt.X(
            "opened:T",
            title="Shop-local time: bar from opening to answer, or to the deadline if unanswered",
        ),
        x2="until:T",
        color=alt.Color("status_label:N", title="Status", scale=scale, legend=_STATUS_LEGEND),
        tooltip=tooltip,
    )
    dots = base.mark_point(filled=True, size=18).encode(
        x="opened:T", color=alt.Color("status_label:N", scale=scale), tooltip=tooltip
    )
    return (
        (bars + dots)
        .properties(width=WIDTH - 130, height=300)
        .facet(
            column=alt.Column("rule:N", sort=rules, title=None, header=alt.Header(labelFontSize=13))
        )
        .properties(title=title)
    )


def daily_status(chats: pl.DataFrame, shop_id: str, rule: str | None = None) -> alt.Chart:
    """Chats per shop-local day by status under one rule (stacked bars of one rule's
    statuses: the parts of a whole)."""
    rule = rule or chats["rule"].unique(maintain_order=True).to_list()[-1]
    data = (
        chats.filter(pl.col("rule") == rule)
        .group_by(pl.col("opened").dt.date().alias("day"), "status_label")
        .agg(pl.len().alias("chats"))
        .sort("day", "status_label")
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("day:T", title="Day the chat opened (shop-local)", timeUnit="yearmonthdate"),
            y=alt.Y("chats:Q", title="Chats (count)"),
            color=alt.Color(
                "status_label:N", title="Status", scale=_status_scale(), legend=_STATUS_LEGEND
            ),
            tooltip=[
                alt.Tooltip("day:T", title="Day"),
                alt.Tooltip("status_label:N", title="Status"),
                alt.Tooltip("chats:Q", title="Chats"),
            ],
        )
        .properties(
            width=WIDTH, height=200, title=f"Shop {shop_id}: chats per day by status ({rule})"
        )
    )
