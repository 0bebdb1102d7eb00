"""Charts of a replication run: every headline figure as its mean with a 95 % interval
(error bars, or bands on the sensitivity curves), from
:func:`chatsim.chart_data.interval_data`.

Example:
    >>> from chatsim.scenario import Scenario
    >>> from chatsim.replications import run_replications
    >>> sc = Scenario.from_dict({"name": "d", "seed": 3, "shops": 6,
    ...     "period": {"start": "2025-08-15", "days": 3},
    ...     "archetypes": {"agency_247": {"share": 1.0}}})
    >>> rep = run_replications(sc, 2, bridge=False, sweep=False, what_if=False)
    >>> pass_share_intervals(rep).to_dict()["title"]
    'Shops meeting each rule: mean and 95 % interval over 2 replications'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import polars as pl

from chatsim.chart_data import interval_data
from chatsim.charts.scales import WIDTH, pct_axis, rule_scale
from chatsim.charts.sensitivity import WINDOW_COLORS
from chatsim.explain.labels import format_hours, label

if TYPE_CHECKING:
    from chatsim.replications import Replications

__all__ = [
    "PP_LABEL",
    "bridge_intervals",
    "flip_intervals",
    "pass_share_intervals",
    "segment_intervals",
    "sensitivity_bands",
    "what_if_intervals",
]

#: Axis label expression writing a change of share as "−12 pp".
PP_LABEL = "format(datum.value * 100, '.0f') + ' pp'"
_TIP = [
    alt.Tooltip("name:N", title="Of"),
    alt.Tooltip("measure_label:N", title="Figure"),
    alt.Tooltip("range:N", title="95 % interval"),
    alt.Tooltip("replications:Q", title="Replications"),
]


def _over(rep: Replications) -> str:
    return f"mean and 95 % interval over {rep.n} replication{'s' if rep.n != 1 else ''}"


def _points_and_bars(
    data: pl.DataFrame, y: alt.Y, x_title: str, color: alt.Color, *, share: bool = True, **extra
) -> alt.LayerChart:
    """A point at each mean and a bar from ``low`` to ``high``."""
    axis = pct_axis() if share else alt.Axis(**extra.pop("axis", {}))
    base = alt.Chart(data).encode(
        y=y,
        color=color,
        tooltip=[*_TIP, alt.Tooltip("mean:Q", title="Mean", format=".3~f")],
        **extra,
    )
    bars = base.mark_rule(size=2).encode(x=alt.X("low:Q", title=x_title, axis=axis), x2="high:Q")
    points = base.mark_point(filled=True, size=70).encode(
        x=alt.X("mean:Q", title=x_title, axis=axis)
    )
    return bars + points


def pass_share_intervals(rep: Replications) -> alt.LayerChart:
    """The share of rated shops meeting each rule: mean (point) and interval (bar)."""
    data = interval_data(rep, "rules", "share_passing")
    order = list(rep.rules)
    chart = _points_and_bars(
        data,
        alt.Y("name:N", sort=order, title="Rule"),
        "Shops meeting the rule (share of rated shops)",
        alt.Color("rule:N", sort=order, scale=rule_scale(order), legend=None),
    )
    return chart.properties(
        width=WIDTH - 160,
        height=40 * len(order) + 20,
        title=f"Shops meeting each rule: {_over(rep)}",
    )


def flip_intervals(rep: Replications) -> alt.LayerChart:
    """Shops that lose and gain status (and how many of them within noise of a target)."""
    measures = ["loses", "loses_within_noise", "gains", "gains_within_noise"]
    data = interval_data(rep, "flips", measures)
    names = [label(m, "column") for m in measures]
    chart = _points_and_bars(
        data,
        alt.Y("measure_label:N", sort=names, title="Shops"),
        "Shops (count)",
        alt.Color(
            "measure_label:N",
            sort=names,
            legend=None,
            scale=alt.Scale(domain=names, range=["#D55E00", "#E69F00", "#009E73", "#56B4E9"]),
        ),
        share=False,
    )
    return chart.properties(
        width=WIDTH - 160,
        height=150,
        title=f"Shops changing status from {rep.old} to {rep.new}: {_over(rep)}",
    )


def segment_intervals(rep: Replications) -> alt.LayerChart:
    """Per seller type, the share of its rated shops meeting each rule, with intervals."""
    data = interval_data(rep, "segments", "share_passing")
    order = list(rep.rules)
    noun = label(rep.segment_by or "segment", "column")
    chart = _points_and_bars(
        data,
        alt.Y("name:N", title=noun),
        "Shops meeting the rule (share of rated shops)",
        alt.Color("rule:N", sort=order, title="Rule", scale=rule_scale(order)),
        yOffset=alt.YOffset("rule:N", sort=order),
    )
    return chart.properties(width=WIDTH - 160, title=f"Pass rate by {noun.lower()}: {_over(rep)}")


def sensitivity_bands(rep: Replications) -> alt.LayerChart:
    """Share of shops passing the new rule vs target, one line per window, each with its
    interval as a band."""
    data = interval_data(rep, "sweep", "share_passing")
    windows = sorted(data["window_hours"].unique().to_list())
    order = [format_hours(w) for w in windows]
    targets = sorted(data["target"].unique().to_list()) or [0.85]
    x = alt.X(
        "target:Q",
        title="Target response rate",
        axis=pct_axis(values=targets),
        scale=alt.Scale(domain=[min(targets) - 0.01, max(targets) + 0.01]),
    )
    scale = alt.Scale(domain=order, range=list(WINDOW_COLORS[: len(order)]))
    color = alt.Color("name:N", sort=order, title="Response window", scale=scale)
    tips = [
        alt.Tooltip("target:Q", title="Target", format=".0%"),
        alt.Tooltip("name:N", title="Window"),
        *_TIP[2:],
        alt.Tooltip("mean:Q", title="Mean", format=".1%"),
    ]
    base = alt.Chart(data).encode(x=x, tooltip=tips)
    band = base.mark_area(opacity=0.2).encode(
        y=alt.Y(
            "low:Q",
            title="Shops meeting the target (share)",
            axis=pct_axis(),
            scale=alt.Scale(domain=[0, 1]),
        ),
        y2="high:Q",
        color=color,
    )
    line = base.mark_line(point=True).encode(
        y=alt.Y("mean:Q", title="Shops meeting the target (share)"), color=color
    )
    return (line + band).properties(
        width=WIDTH, height=300, title=f"Sensitivity to the target and the window: {_over(rep)}"
    )


def bridge_intervals(rep: Replications) -> alt.LayerChart:
    """Each step of the bridge: how much it moves the share passing, with its interval."""
    data = interval_data(rep, "bridge", "change").filter(pl.col("kind") == "step").sort("step")
    order = data["name"].to_list()
    chart = _points_and_bars(
        data,
        alt.Y("name:N", sort=order, title="Difference applied (in the bridge's order)"),
        "Change in the share passing (percentage points)",
        alt.value("#555555"),
        share=False,
        axis={"labelExpr": PP_LABEL},
    )
    zero = alt.Chart(pl.DataFrame({"x": [0.0]})).mark_rule(color="#999999").encode(x="x:Q")
    return (chart + zero).properties(
        width=WIDTH - 200,
        height=32 * max(len(order), 1),
        title=f"The bridge, one difference at a time: {_over(rep)}",
    )


def what_if_intervals(rep: Replications) -> alt.LayerChart:
    """Failing shops rescued (and newly failing) by each what-if variant, with intervals."""
    data = interval_data(rep, "what_if", ["rescued", "newly_failing"])
    effects = [label("rescued", "column"), label("newly_failing", "column")]
    chart = _points_and_bars(
        data,
        alt.Y("name:N", title="What-if variant"),
        "Shops (count)",
        alt.Color(
            "measure_label:N",
            sort=effects,
            title="Effect",
            scale=alt.Scale(domain=effects, range=["#009E73", "#999999"]),
        ),
        share=False,
        yOffset=alt.YOffset("measure_label:N", sort=effects),
    )
    return chart.properties(
        width=WIDTH - 160, title=f"What-if: shops rescued under {rep.new}: {_over(rep)}"
    )
