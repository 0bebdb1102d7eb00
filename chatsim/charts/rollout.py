"""Charts of the rollout page: the daily shares through the policy dates, the tiers, the
shops falling below and recovering, recovery and adaptation times, and one small panel per
seller type. Each draws a small table of :mod:`chatsim.rollout`; a rule's colour is its
colour on every page (:func:`~chatsim.charts.scales.rule_scale`), the rule in force is the
thick solid line (the other rules are thin and dashed), and the policy dates are marked.

Example:
    >>> import datetime as dt
    >>> from chatsim.rollout import policy_dates
    >>> from chatsim.rules import LEGACY_24H, NEW_12H
    >>> shares = pl.DataFrame({"day": [dt.date(2025, 8, 15)] * 2, "rule": ["legacy-24h", "new-12h"],
    ...     "in_force": [False, True], "visible": [False, True], "shops_rated": [10, 10],
    ...     "shops_meeting": [6, 3], "share": [0.6, 0.3]})
    >>> daily_share_chart(shares, policy_dates([LEGACY_24H, NEW_12H])).to_dict()["title"]
    'Share of rated shops meeting each rule, day by day (thick line: the rule in force)'
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from chatsim.charts.scales import WIDTH, pct_axis, rule_scale, segment_scale, tier_scale
from chatsim.explain.colors import CHANGE_COLORS
from chatsim.explain.labels import label, segment_label
from chatsim.rollout import TIERS

__all__ = [
    "adaptation_chart",
    "daily_share_chart",
    "recovery_chart",
    "segment_share_charts",
    "tier_chart",
    "transitions_chart",
]

#: The day axis: calendar days as written in the data (no time-zone shift in the browser).
_DAY = "utcyearmonthdate(day):T"
_DAY_FORMAT = "%d %b"


def _day_x(title: str = "Day (end of day, each shop's time zone)") -> alt.X:
    return alt.X(_DAY, title=title, axis=alt.Axis(format=_DAY_FORMAT, labelAngle=0))


def _day_tip() -> alt.Tooltip:
    return alt.Tooltip(_DAY, title="Day", format="%a %d %b %Y")


def _markers(
    dates: pl.DataFrame, days: pl.Series | None = None, *, text: bool = True
) -> list[alt.Chart]:
    """Vertical rules (and their labels) at the policy dates; a label in the last quarter of
    ``days`` (the chart's days) ends at its rule, so it stays inside the chart."""
    if dates.height == 0:
        return []
    # one line of text per marker, stacked from the top, so close dates never overlap
    data = (
        dates.select("day", "label")
        .with_row_index("row")
        .with_columns(ypos=pl.col("row").cast(pl.Int64) * 13 + 2, late=pl.lit(False))
    )
    if days is not None and days.len():
        first, last = days.min(), days.max()
        data = data.with_columns(late=pl.col("day") > first + (last - first) * 3 / 4)
    rule = (
        alt.Chart(data)
        .mark_rule(color="#555", strokeDash=[2, 2])
        .encode(x=_DAY, tooltip=[_day_tip(), alt.Tooltip("label:N", title="Policy date")])
    )
    if not text:
        return [rule]
    words = [
        alt.Chart(data.filter(pl.col("late") == late))
        .mark_text(
            align="right" if late else "left",
            baseline="top",
            dx=-3 if late else 3,
            dy=2,
            fontSize=10,
            color="#333",
        )
        .encode(x=_DAY, y=alt.Y("ypos:Q", scale=None), text="label:N")
        for late in (False, True)
    ]
    return [rule, *words]


def _rule_lines(
    data: pl.DataFrame,
    names: Sequence[str],
    y_title: str,
    *,
    width: int,
    height: int,
    x_title: str = "Day (end of day, each shop's time zone)",
) -> list[alt.Chart]:
    """Each rule's share: thin dashed over every day, thick solid on the days in force,
    with invisible points carrying the tooltips."""
    color = alt.Color("rule:N", title="Rule", scale=rule_scale(list(names)), sort=list(names))
    y = alt.Y("share:Q", title=y_title, axis=pct_axis(), scale=alt.Scale(domain=[0, 1]))
    base = alt.Chart(data).properties(width=width, height=height)
    tips = [
        _day_tip(),
        alt.Tooltip("rule:N", title="Rule"),
        alt.Tooltip("state:N", title="That day"),
        alt.Tooltip("share:Q", title="Share meeting the target", format=".1%"),
        alt.Tooltip("shops_meeting:Q", title="Shops meeting the target"),
        alt.Tooltip("shops_rated:Q", title="Shops rated"),
    ]
    return [
        base.mark_line(strokeDash=[4, 3], strokeWidth=1.2, opacity=0.7).encode(
            x=_day_x(x_title), y=y, color=color
        ),
        base.transform_filter("datum.in_force")
        .mark_line(strokeWidth=3)
        .encode(x=_day_x(x_title), y=y, color=color, detail="rule:N"),
        base.mark_circle(size=40, opacity=0).encode(
            x=_day_x(x_title), y=y, color=color, tooltip=tips
        ),
    ]


def _with_state(shares: pl.DataFrame) -> pl.DataFrame:
    state = (
        pl.when(pl.col("in_force"))
        .then(pl.lit("in force"))
        .when(pl.col("visible"))
        .then(pl.lit("shown, without consequence"))
        .otherwise(pl.lit("not in force"))
    )
    return (
        shares.with_columns(state=state)
        if "visible" in shares.columns
        else shares.with_columns(
            state=pl.when(pl.col("in_force"))
            .then(pl.lit("in force"))
            .otherwise(pl.lit("not in force"))
        )
    )


def daily_share_chart(
    shares: pl.DataFrame, dates: pl.DataFrame, height: int = 260
) -> alt.LayerChart:
    """Share of rated shops meeting each rule, day by day (:func:`chatsim.rollout.daily_shares`),
    the rule in force drawn thick and the policy dates (:func:`chatsim.rollout.policy_dates`)
    marked."""
    names = shares["rule"].unique(maintain_order=True).to_list()
    layers = _rule_lines(
        _with_state(shares),
        names,
        "Shops meeting the target (share of rated shops)",
        width=WIDTH,
        height=height,
    )
    return alt.layer(*layers, *_markers(dates, shares["day"])).properties(
        title="Share of rated shops meeting each rule, day by day (thick line: the rule in force)"
    )


def tier_chart(tiers: pl.DataFrame, dates: pl.DataFrame, height: int = 220) -> alt.LayerChart:
    """Share of rated shops in each tier of the rule in force, day by day
    (:func:`chatsim.rollout.tier_shares`), stacked."""
    data = tiers.with_columns(
        tier_label=pl.col("tier").replace_strict(
            {t: label(t, "tier") for t in tiers["tier"].unique().to_list()},
            return_dtype=pl.String,
        ),
        order=pl.col("tier").replace_strict(
            {t: i for i, t in enumerate(TIERS)}, default=len(TIERS), return_dtype=pl.Int32
        ),
    )
    order = [label(t, "tier") for t in TIERS]
    area = (
        alt.Chart(data)
        .mark_area(opacity=0.9)
        .encode(
            x=_day_x(),
            y=alt.Y(
                "share:Q",
                stack="zero",
                title="Rated shops in the tier (share)",
                axis=pct_axis(),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("tier_label:N", title="Tier", scale=tier_scale(), sort=order),
            order=alt.Order("order:Q"),
            tooltip=[
                _day_tip(),
                alt.Tooltip("rule:N", title="Rule in force"),
                alt.Tooltip("tier_label:N", title="Tier"),
                alt.Tooltip("share:Q", title="Share of rated shops", format=".1%"),
                alt.Tooltip("shops:Q", title="Shops"),
                alt.Tooltip("shops_rated:Q", title="Shops rated"),
            ],
        )
        .properties(width=WIDTH, height=height)
    )
    return alt.layer(area, *_markers(dates, tiers["day"])).properties(
        title="Tiers under the rule in force, day by day"
    )


def transitions_chart(
    trans: pl.DataFrame, dates: pl.DataFrame, height: int = 200
) -> alt.LayerChart:
    """Shops falling below the target (down) and recovering (up) each day under the rule in
    force (:func:`chatsim.rollout.transitions`)."""
    moves = {"recovered": "Back above the target", "fell_below": "Fell below the target"}
    data = trans.unpivot(
        index=["day", "rule"], on=list(moves), variable_name="move", value_name="shops"
    ).with_columns(
        move_label=pl.col("move").replace_strict(moves, return_dtype=pl.String),
        signed=pl.when(pl.col("move") == "fell_below")
        .then(-pl.col("shops"))
        .otherwise(pl.col("shops")),
    )
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=_day_x(),
            y=alt.Y("signed:Q", title="Shops (down: fell below, up: back above)"),
            color=alt.Color(
                "move_label:N",
                title="Change",
                scale=alt.Scale(
                    domain=list(moves.values()),
                    range=[CHANGE_COLORS["better"], CHANGE_COLORS["worse"]],
                ),
            ),
            tooltip=[
                _day_tip(),
                alt.Tooltip("rule:N", title="Rule in force"),
                alt.Tooltip("move_label:N", title="Change"),
                alt.Tooltip("shops:Q", title="Shops"),
            ],
        )
        .properties(width=WIDTH, height=height)
    )
    return alt.layer(bars, *_markers(dates, text=False)).properties(
        title="Shops changing standing each day under the rule in force"
    )


def recovery_chart(rec: pl.DataFrame, period_days: int, height: int = 200) -> alt.LayerChart:
    """Days from the switch to meeting the target again, for the shops that fall below on
    the switch day (:func:`chatsim.rollout.switch_recovery`); the trailing period marked."""
    back = rec.filter(pl.col("days_to_recover").is_not_null())
    counts = back.group_by("days_to_recover").agg(shops=pl.len()).sort("days_to_recover")
    still = rec.height - back.height
    top = int(counts["shops"].max() or 0)
    right = max(period_days, int(counts["days_to_recover"].max() or 0)) + 1
    bars = (
        alt.Chart(counts)
        .mark_bar(color="#009E73", size=max(2, WIDTH // right - 2))
        .encode(
            x=alt.X(
                "days_to_recover:Q",
                title="Days after the switch until the shop meets the target again",
                scale=alt.Scale(domain=[0, right], nice=False, padding=0),
            ),
            y=alt.Y(
                "shops:Q",
                title="Shops (count)",
                axis=alt.Axis(tickMinStep=1),
                scale=alt.Scale(domain=[0, top + max(1, top // 3)]),  # room for the label
            ),
            tooltip=[
                alt.Tooltip("days_to_recover:Q", title="Days after the switch"),
                alt.Tooltip("shops:Q", title="Shops back above the target"),
            ],
        )
        .properties(width=WIDTH, height=height)
    )
    return alt.layer(bars, _period_rule(period_days)).properties(
        title=(
            "When the shops that fell below on the switch day recover "
            f"({still} still below at the end)"
        )
    )


def _period_rule(period_days: int) -> alt.LayerChart:
    data = pl.DataFrame(
        {"x": [period_days], "text": [f"{period_days} days: the whole period is after the date"]}
    )
    rule = (
        alt.Chart(data)
        .mark_rule(color="#555", strokeDash=[2, 2])
        .encode(x="x:Q", tooltip=[alt.Tooltip("text:N", title="Trailing period")])
    )
    words = (
        alt.Chart(data)
        .mark_text(align="right", baseline="top", dx=-3, dy=2, fontSize=10, color="#333")
        .encode(x="x:Q", y=alt.value(0), text="text:N")
    )
    return alt.layer(rule, words)


def adaptation_chart(curve: pl.DataFrame, period_days: int, height: int = 240) -> alt.LayerChart:
    """For adapting sellers below the target before their change: the share of them meeting
    the target by days since the change, one line per change
    (:func:`chatsim.rollout.adaptation_curve`), with the change and the end of the trailing
    period after it marked."""
    names = curve["adaptation"].unique().sort().to_list()
    lines = (
        alt.Chart(curve)
        .mark_line(point=alt.OverlayMarkDef(size=18))
        .encode(
            x=alt.X("since:Q", title="Days since the seller's change (0: its first day)"),
            y=alt.Y(
                "share:Q",
                title="Sellers meeting the target (share)",
                axis=pct_axis(),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color(
                "adaptation:N", title="Change", scale=segment_scale({n: n for n in names})
            ),
            tooltip=[
                alt.Tooltip("adaptation:N", title="Change"),
                alt.Tooltip("since:Q", title="Days since the change"),
                alt.Tooltip("share:Q", title="Share meeting the target", format=".1%"),
                alt.Tooltip("median_rate:Q", title="Median response rate", format=".1%"),
                alt.Tooltip("sellers:Q", title="Sellers followed"),
            ],
        )
        .properties(width=WIDTH, height=height)
    )
    zero = (
        alt.Chart(pl.DataFrame({"x": [0]}))
        .mark_rule(color="#555")
        .encode(x="x:Q", tooltip=[alt.Tooltip("x:Q", title="The change (day)")])
    )
    return alt.layer(lines, zero, _period_rule(period_days)).properties(
        title="Adapting sellers after their change: the trailing window delays the rate"
    )


def segment_share_charts(
    seg: pl.DataFrame, dates: pl.DataFrame, by: str, columns: int = 2
) -> alt.VConcatChart:
    """One small panel per seller type (``segment`` of :func:`chatsim.rollout.segment_shares`):
    the share of its rated shops meeting each rule, day by day, the rule in force thick."""
    names = seg["rule"].unique(maintain_order=True).to_list()
    codes = seg["segment"].fill_null("—").unique().sort().to_list()
    width = (WIDTH - 60 * (columns - 1)) // columns
    panels = []
    for code in codes:
        part = _with_state(seg.filter(pl.col("segment").fill_null("—") == code))
        layers = _rule_lines(
            part, names, "Meeting the target", width=width, height=120, x_title="Day"
        )
        panels.append(
            alt.layer(*layers, *_markers(dates, text=False)).properties(title=segment_label(code))
        )
    rows = [alt.hconcat(*panels[i : i + columns]) for i in range(0, len(panels), columns)]
    noun = label(by, "column").lower()
    return alt.vconcat(*rows).properties(
        title=f"Share meeting each rule by {noun}, day by day (thick line: the rule in force)"
    )
