"""Charts of the sensitivity page: share passing by target and window (curves, heatmap,
by segment) and the target explorer (a client-side slider).

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.analysis import sweep
    >>> sensitivity_heatmap(sweep(sample_log(), [0.85, 0.9], [12, 24])).to_dict()["title"]
    'Share of shops passing over window x target'
"""

from __future__ import annotations

import altair as alt
import polars as pl

from chatsim.chart_data import (
    rule_points_data,
    target_explorer_data,
)
from chatsim.charts.scales import PCT_LABEL, WIDTH, pct_axis, rule_order, rule_scale, segment_scale
from chatsim.explain.colors import SEQUENTIAL_SCHEME
from chatsim.explain.labels import format_hours, format_share, label, segment_label
from chatsim.metrics import Evaluation
from chatsim.rules import Rule

__all__ = [
    "WINDOW_COLORS",
    "sensitivity_curves",
    "sensitivity_heatmap",
    "target_explorer",
    "window_by_segment",
]


#: Colours of the windows on the sensitivity curves: colour-blind safe (Paul Tol's
#: *bright* and *muted* dark tones), none a rule colour; ordered light to dark is not needed.
WINDOW_COLORS: tuple[str, ...] = (
    "#4477AA",
    "#EE6677",
    "#228833",
    "#CCBB44",
    "#66CCEE",
    "#AA3377",
    "#BBBBBB",
    "#332288",
    "#999933",
)


def _window_labels(sweep_df: pl.DataFrame) -> pl.DataFrame:
    return sweep_df.with_columns(
        pl.col("window_hours").map_elements(format_hours, return_dtype=pl.String).alias("window")
    )


def sensitivity_curves(
    sweep_df: pl.DataFrame,
    highlight_target: float | None = None,
    rules: list[Rule] | None = None,
) -> alt.Chart:
    """Share of shops passing vs target, one line per response window; the rules' own
    (window, target) points marked and labelled (``rules``)."""
    data = _window_labels(sweep_df)
    windows = sorted(data["window_hours"].unique().to_list())
    order = [format_hours(w) for w in windows]
    targets = sorted(data["target"].unique().to_list())
    lines = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "target:Q",
                title="Target response rate",
                axis=pct_axis(values=targets),
                scale=alt.Scale(domain=[min(targets) - 0.01, max(targets) + 0.01]),
            ),
            y=alt.Y(
                "share_passing:Q",
                title="Shops meeting the target (share)",
                axis=pct_axis(),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color(
                "window:N",
                sort=order,
                title="Response window",
                scale=alt.Scale(domain=order, range=list(WINDOW_COLORS[: len(order)])),
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
        chart = chart + (
            alt.Chart(pl.DataFrame({"target": [highlight_target]}))
            .mark_rule(strokeDash=[6, 3], color="#555555")
            .encode(
                x="target:Q", tooltip=[alt.Tooltip("target:Q", title="Policy target", format=".0%")]
            )
        )
    if rules:
        # the windows' and the rules' colours are separate scales: shared, the windows'
        # legend disappears (the rule points have none)
        chart = (
            chart + _rule_points(rules, data, x="target:Q", y="share_passing:Q")
        ).resolve_scale(color="independent")
    return chart.properties(
        width=WIDTH, height=300, title="Sensitivity: share of shops passing by target and window"
    )


def _rule_points(rules: list[Rule], sweep_df: pl.DataFrame, *, x: str, y: str) -> alt.LayerChart:
    """Each rule's (window, target) point: a ringed dot in the rule's colour, labelled."""
    pts = rule_points_data(rules, sweep_df).filter(pl.col("share_passing").is_not_null())
    pts = pts.with_columns(pl.col("target_label").alias("target_text"))
    scale = rule_scale([r.name for r in rules])
    base = alt.Chart(pts).encode(x=x, y=y, color=alt.Color("rule:N", scale=scale, legend=None))
    dots = base.mark_point(size=260, strokeWidth=3, filled=False, opacity=1).encode(
        tooltip=[alt.Tooltip("label:N", title="Rule"), alt.Tooltip("share_passing:Q", format=".1%")]
    )
    text = base.mark_text(align="left", dx=12, dy=-10, fontWeight="bold").encode(text="label:N")
    return dots + text


def sensitivity_heatmap(sweep_df: pl.DataFrame, rules: list[Rule] | None = None) -> alt.Chart:
    """Heatmap of the share of shops passing over (window, target), single-hue scale in %;
    the rules' own points outlined and labelled (``rules``)."""
    data = _window_labels(sweep_df).with_columns(
        pl.col("target")
        .map_elements(lambda t: format_share(t, 0), return_dtype=pl.String)
        .alias("target_label"),
        pl.col("share_passing")
        .map_elements(lambda t: format_share(t, 0), return_dtype=pl.String)
        .alias("share_label"),
    )
    t_order = data.sort("target")["target_label"].unique(maintain_order=True).to_list()
    w_order = data.sort("window_hours", descending=True)["window"].unique(maintain_order=True)
    x = alt.X(
        "target_label:O", title="Target response rate", sort=t_order, axis=alt.Axis(labelAngle=0)
    )
    y = alt.Y("window:O", title="Response window", sort=w_order.to_list())
    base = alt.Chart(data).encode(x=x, y=y)
    heat = base.mark_rect().encode(
        color=alt.Color(
            "share_passing:Q",
            title="Share passing",
            scale=alt.Scale(scheme=SEQUENTIAL_SCHEME, domain=[0, 1]),
            legend=alt.Legend(labelExpr=PCT_LABEL),
        ),
        tooltip=[
            alt.Tooltip("window:N", title="Window"),
            alt.Tooltip("target_label:N", title="Target"),
            alt.Tooltip("share_passing:Q", title="Share passing", format=".1%"),
            alt.Tooltip("shops_passing:Q", title="Shops passing"),
        ],
    )
    text = base.mark_text(fontSize=10).encode(
        text="share_label:N",
        color=alt.condition(alt.datum.share_passing > 0.55, alt.value("white"), alt.value("black")),
    )
    chart = heat + text
    if rules:
        pts = rule_points_data(rules, sweep_df).filter(pl.col("share_passing").is_not_null())
        scale = rule_scale([r.name for r in rules])
        marks = alt.Chart(pts).encode(
            x=alt.X("target_label:O", sort=t_order),
            y=alt.Y("window:O", sort=w_order.to_list()),
            color=alt.Color("rule:N", scale=scale, title="Rule (its window and target)"),
        )
        chart = chart + marks.mark_rect(filled=False, strokeWidth=3).encode(
            tooltip=[alt.Tooltip("label:N", title="Rule")]
        )
    return chart.properties(
        width=WIDTH - 100, height=260, title="Share of shops passing over window x target"
    )


def window_by_segment(sweep_seg: pl.DataFrame, by: str, target: float) -> alt.Chart:
    """Share of shops passing at one target, by response window, one line per segment."""
    data = sweep_seg.filter((pl.col("target") - target).abs() < 1e-9)
    codes = data[by].cast(pl.String).fill_null("—").unique().sort().to_list()
    names = {c: segment_label(c) for c in codes}
    data = data.with_columns(
        pl.col(by).cast(pl.String).fill_null("—").replace_strict(names).alias("segment_label"),
        pl.col("window_hours").map_elements(format_hours, return_dtype=pl.String).alias("window"),
    )
    noun = label(by, "column")
    t = format_share(target, 0)
    windows = sorted(data["window_hours"].unique().to_list())
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "window_hours:Q",
                title="Response window (hours)",
                axis=alt.Axis(values=windows, labelExpr="datum.value + ' h'"),
            ),
            y=alt.Y(
                "share_passing:Q",
                title=f"Shops meeting the {t} target (share)",
                axis=pct_axis(),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("segment_label:N", title=noun, scale=segment_scale(names)),
            tooltip=[
                alt.Tooltip("segment_label:N", title=noun),
                alt.Tooltip("window:N", title="Window"),
                alt.Tooltip("share_passing:Q", title="Share passing", format=".1%"),
                alt.Tooltip("shops_rated:Q", title="Shops rated"),
            ],
        )
        .properties(
            width=WIDTH,
            height=280,
            title=f"Which sellers a shorter window hurts: share passing the {t} target by window",
        )
    )


def target_explorer(
    ev: Evaluation,
    window_rates: pl.DataFrame | None = None,
    by: str | None = None,
) -> alt.VConcatChart:
    """Drag a target, pick a window: the share of shops passing per rule and segment,
    recomputed in the browser (Vega-Lite params and transforms over
    :func:`chatsim.chart_data.target_explorer_data`, a few thousand rows at most)."""
    data = target_explorer_data(ev, window_rates, by)
    rules = rule_order(ev)
    new = ev.rules[-1]
    target = alt.param(
        name="target_pct",
        value=round(new.target * 100),
        bind=alt.binding_range(min=50, max=100, step=1, name="Target (%) "),
    )
    rows = data.to_dicts()
    values = alt.InlineData(values=rows)
    seg_order = ["All shops", *sorted(set(data["segment"].to_list()) - {"All shops"})]

    def share_chart(kind: str, color: alt.Color, title: str, extra: list | None = None):
        passing = (
            alt.datum.pct > target
            if new.target_comparison == "more_than"
            else alt.datum.pct >= target
        )
        by_seg = (
            alt.Chart(values)
            .transform_filter(alt.datum.kind == kind)
            .transform_filter(extra[0] if extra else "true")
            .transform_calculate(passing=alt.expr.if_(passing, alt.datum.shops, 0))
        )

        def finish(chart):
            return (
                chart.transform_calculate(share="datum.passing_sum / datum.shops_sum")
                .mark_bar()
                .encode(
                    y=alt.Y("segment:N", sort=seg_order, title="Shops"),
                    # rules side by side in a band; the one chosen window fills its band
                    **({"yOffset": alt.YOffset("source:N")} if kind == "rule" else {}),
                    x=alt.X(
                        "share:Q",
                        title="Shops meeting the chosen target (share of rated shops)",
                        scale=alt.Scale(domain=[0, 1]),
                        axis=pct_axis(),
                    ),
                    color=color,
                    tooltip=[
                        alt.Tooltip("segment:N", title="Shops"),
                        alt.Tooltip("source:N", title="Rule or window"),
                        alt.Tooltip("passing_sum:Q", title="Shops passing"),
                        alt.Tooltip("shops_sum:Q", title="Shops rated"),
                        alt.Tooltip("share:Q", title="Share passing", format=".1%"),
                    ],
                )
            )

        per_seg = finish(
            by_seg.transform_aggregate(
                passing_sum="sum(passing)", shops_sum="sum(shops)", groupby=["source", "segment"]
            )
        )
        overall = finish(
            by_seg.transform_aggregate(
                passing_sum="sum(passing)", shops_sum="sum(shops)", groupby=["source"]
            ).transform_calculate(segment="'All shops'")
        )
        return (per_seg + overall).properties(width=WIDTH - 180, title=title)

    top = share_chart(
        "rule",
        alt.Color("source:N", title="Rule", scale=rule_scale(rules), sort=rules),
        "Each rule with the chosen target",
    )
    charts = [top]
    if window_rates is not None:
        wins = data.filter(pl.col("kind") == "window")["source"].unique().to_list()
        wins = sorted(wins, key=lambda w: float(w.split()[0]))
        default = format_hours(new.window_hours)
        window = alt.param(
            name="window_pick",
            value=default if default in wins else wins[0],
            bind=alt.binding_select(options=wins, name="Window "),
        )
        bottom = share_chart(
            "window",
            alt.Color("source:N", title="Window", scale=alt.Scale(range=["#4477AA"])),
            f"{new.name} with the chosen window and target",
            [alt.datum.source == window],
        )
        charts.append(bottom)
        return (
            alt.vconcat(*charts)
            .add_params(target, window)
            # the rules' colours and the window's are separate scales: shared, the window's
            # bars get no colour at all
            .resolve_scale(color="independent")
            .properties(title="Explore: drag the target, pick a window")
        )
    return alt.vconcat(*charts).add_params(target).properties(title="Explore: drag the target")
