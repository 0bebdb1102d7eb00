"""Altair charts for the reports, one module per page. Data is aggregated in polars first
(:mod:`chatsim.chart_data`, tested on its own); charts get small DataFrames only.

Every chart has a title, axis titles with units and tooltips. :mod:`.comparison` holds the
rule-comparison page's charts, :mod:`.sensitivity` the sensitivity page's,
:mod:`.calibration` the calibration page's (a log beside its fitted twin),
:mod:`.drilldown` the shop drill-down's, :mod:`.peers` the peers page's,
:mod:`.rollout` the rollout page's, :mod:`.scorecard` the Shop Health scorecard's,
:mod:`.uncertainty` those of a replication run
(means with 95 % intervals as error bars and bands), :mod:`.scales` what they share.

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> rate_distribution(compare(sample_log())).to_dict()["title"]
    "Shop response rates under each rule (dashed line: the rule's target)"
"""

from __future__ import annotations

from chatsim.charts.calibration import (
    arrivals_chart,
    pass_share_chart,
    rate_bins_chart,
    response_time_chart,
)
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
from chatsim.charts.peers import peer_disagreement, peer_distance, peer_favours, peer_pass_shares
from chatsim.charts.rollout import (
    adaptation_chart,
    daily_share_chart,
    recovery_chart,
    segment_share_charts,
    tier_chart,
    transitions_chart,
)
from chatsim.charts.scales import WIDTH
from chatsim.charts.scorecard import boost_chart
from chatsim.charts.sensitivity import (
    sensitivity_curves,
    sensitivity_heatmap,
    target_explorer,
    window_by_segment,
)
from chatsim.charts.uncertainty import (
    bridge_intervals,
    flip_intervals,
    pass_share_intervals,
    segment_intervals,
    sensitivity_bands,
    what_if_intervals,
)
from chatsim.explain.labels import FLIP_LABELS

__all__ = [
    "adaptation_chart",
    "daily_share_chart",
    "recovery_chart",
    "segment_share_charts",
    "tier_chart",
    "transitions_chart",
    "FLIP_LABELS",
    "STATUS_COLORS",
    "WIDTH",
    "arrivals_chart",
    "boost_chart",
    "bridge_chart",
    "bridge_intervals",
    "causes_chart",
    "daily_status",
    "flip_intervals",
    "flip_matrix",
    "pass_rate_by_segment",
    "pass_share_chart",
    "pass_share_intervals",
    "peer_disagreement",
    "peer_distance",
    "peer_favours",
    "peer_pass_shares",
    "rate_bins_chart",
    "rate_distribution",
    "response_time_chart",
    "response_time_distribution",
    "segment_intervals",
    "sensitivity_bands",
    "sensitivity_curves",
    "sensitivity_heatmap",
    "shop_timeline",
    "target_explorer",
    "unanswered_heatmap",
    "what_if_chart",
    "what_if_intervals",
    "window_by_segment",
]
