"""Altair charts for the reports, one module per page. Data is aggregated in polars first
(:mod:`chatsim.chart_data`, tested on its own); charts get small DataFrames only.

Every chart has a title, axis titles with units and tooltips. :mod:`.comparison` holds the
rule-comparison page's charts, :mod:`.sensitivity` the sensitivity page's,
:mod:`.drilldown` the shop drill-down's, :mod:`.scales` what they share.

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> rate_distribution(compare(sample_log())).to_dict()["title"]
    "Shop response rates under each rule (dashed line: the rule's target)"
"""

from __future__ import annotations

from chatsim.charts.comparison import (
    bridge_chart,
    causes_chart,
    flip_matrix,
    pass_rate_by_segment,
    rate_distribution,
    response_time_distribution,
    unanswered_heatmap,
    what_if_chart,
)
from chatsim.charts.drilldown import STATUS_COLORS, daily_status, shop_timeline
from chatsim.charts.scales import WIDTH
from chatsim.charts.sensitivity import (
    sensitivity_curves,
    sensitivity_heatmap,
    target_explorer,
    window_by_segment,
)
from chatsim.explain.labels import FLIP_LABELS

__all__ = [
    "FLIP_LABELS",
    "STATUS_COLORS",
    "WIDTH",
    "bridge_chart",
    "causes_chart",
    "daily_status",
    "flip_matrix",
    "pass_rate_by_segment",
    "rate_distribution",
    "response_time_distribution",
    "sensitivity_curves",
    "sensitivity_heatmap",
    "shop_timeline",
    "target_explorer",
    "unanswered_heatmap",
    "what_if_chart",
    "window_by_segment",
]
