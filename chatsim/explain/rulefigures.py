"""What a rule measures, as a reader names it: the figure a rule judges, its unit and side.

A rule (:mod:`chatsim.rulekinds`) judges one figure per shop, the shop table's
``rule_value``: a response rate (plain, blended, or the late share, where lower is
better), a response time in hours, or a satisfaction rate. This module holds the labels of
those code names (``metric``, ``rate_kind``, the ``rule_measure`` values, the settings
that shape them) and the words charts and tables put beside a rule's figure: its name
(:func:`figure_name`), its target (:func:`target_text`) and whether it is drawn on a share
axis (:func:`chatsim.rulekinds.figure_is_share`) or an hours axis.

Example:
    >>> from chatsim.rules import AVG_RESPONSE_TIME, NEW_12H
    >>> figure_name(NEW_12H), target_text(NEW_12H)
    ('Response rate', 'more than 85 %')
    >>> figure_name(AVG_RESPONSE_TIME), target_text(AVG_RESPONSE_TIME)
    ('Mean response time (hours; lower is better)', 'at most 2 h')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatsim.explain.formats import format_hours, format_share
from chatsim.rulekinds import figure_is_share, lower_is_better, measure_of

if TYPE_CHECKING:  # pragma: no cover
    from chatsim.rules import Rule

__all__ = [
    "COMPARISON_VALUES",
    "MEASURE_LABELS",
    "axis_title",
    "METRIC_LABELS",
    "RATE_KIND_LABELS",
    "RULE_FIGURE_FIELD_LABELS",
    "RULE_FIGURE_VALUES",
    "figure_name",
    "lower_is_better_note",
    "target_text",
]

#: ``Rule.metric``: what a rule measures.
METRIC_LABELS: dict[str, str] = {
    "response_rate": "Response rate",
    "average_response_time": "Average response time",
    "satisfaction_rate": "Chat satisfaction rate",
}
#: ``Rule.rate_kind``: how a response-rate rule reads its chats.
RATE_KIND_LABELS: dict[str, str] = {
    "share": "Share answered in time",
    "blended": "Blended share (period and most recent chats)",
    "late_share": "Share late or unanswered (lower is better)",
}
#: The shop table's ``rule_measure`` values: what ``rule_value`` is.
MEASURE_LABELS: dict[str, str] = {
    "response_rate": "Response rate",
    "blended_response_rate": "Blended response rate",
    "late_share": "Share late or unanswered (lower is better)",
    "mean_response_hours": "Mean response time (hours; lower is better)",
    "median_response_hours": "Median response time (hours; lower is better)",
    "satisfaction_stars": "Chats rated 4-5 stars",
    "satisfaction_coarse": "Chats rated satisfied",
}
#: Rule fields that say what a rule measures, counts and when a unit is due.
RULE_FIGURE_FIELD_LABELS: dict[str, str] = {
    "metric": "Metric",
    "rate_kind": "Rate kind",
    "blend_weight": "Weight of the period's rate",
    "recent_fraction": "Most recent chats",
    "time_statistic": "Response-time statistic",
    "satisfaction_base": "Satisfaction over",
    "counted_unit": "Counted unit",
    "deadline": "Deadline",
    "cutoff_time": "Daily cut-off",
    "due_time": "Due time",
    "due_day_offset": "Due day",
    "holiday_mode": "Holiday mode",
}
#: Target comparisons as a rule field's value.
COMPARISON_VALUES: dict[str, str] = {
    "at_least": "at least",
    "more_than": "more than",
    "at_most": "at most",
}
#: Values of those fields as a rule field's value (:func:`chatsim.explain.format_field`).
RULE_FIGURE_VALUES: dict[str, dict[str, str]] = {
    "metric": {k: v.lower() for k, v in METRIC_LABELS.items()},
    "rate_kind": {
        "share": "share answered in time",
        "blended": "blended share",
        "late_share": "late share",
    },
    "time_statistic": {"mean": "mean", "median": "median"},
    "satisfaction_base": {"rated": "rated chats", "received": "chats received"},
    "counted_unit": {
        "chat": "every chat",
        "first_chat": "first chat of a conversation",
        "message": "every buyer message",
    },
    "deadline": {"window": "window after the chat", "daily_cutoff": "daily cut-off"},
    "holiday_mode": {
        "exclude_received": "chats received excluded",
        "pause_clock": "clock paused",
    },
    "target_comparison": COMPARISON_VALUES,
}


def figure_name(rule: Rule) -> str:
    """What the rule's figure is, as an axis or a column names it.

    Example:
        >>> from chatsim.rules import NEW_12H
        >>> figure_name(NEW_12H.replace(rate_kind="late_share", target=0.1,
        ...                             target_comparison="at_most"))
        'Share late or unanswered (lower is better)'
    """
    return MEASURE_LABELS.get(measure_of(rule), "Rule's figure")


def axis_title(rule: Rule) -> str:
    """The axis title of a chart of the rule's figure per shop, with its unit and, for a
    figure where lower is better, that.

    Example:
        >>> from chatsim.rules import AVG_RESPONSE_TIME
        >>> axis_title(AVG_RESPONSE_TIME)
        'Mean response time of answered chats (hours; lower is better)'
    """
    measure = measure_of(rule)
    return {
        "response_rate": "Shop response rate (share of counted chats answered in time)",
        "blended_response_rate": "Blended response rate (period and most recent chats)",
        "late_share": "Share of counted chats late or unanswered (lower is better)",
        "mean_response_hours": "Mean response time of answered chats (hours; lower is better)",
        "median_response_hours": "Median response time of answered chats (hours; lower is better)",
        "satisfaction_stars": "Chats rated 4-5 stars (share)",
        "satisfaction_coarse": "Chats rated satisfied (share)",
    }.get(measure, figure_name(rule))


def target_text(rule: Rule) -> str:
    """The rule's target with its side and unit: ``"at least 90 %"``, ``"at most 2 h"``.

    Example:
        >>> from chatsim.rules import LEGACY_24H
        >>> target_text(LEGACY_24H)
        'at least 90 %'
    """
    side = COMPARISON_VALUES.get(rule.target_comparison, rule.target_comparison)
    if not figure_is_share(rule):
        return f"{side} {format_hours(rule.target)}"
    digits = 0 if round(100 * rule.target, 6) == round(100 * rule.target) else 1
    return f"{side} {format_share(rule.target, digits)}"


def lower_is_better_note(rule: Rule) -> str:
    """``" (lower is better)"`` for a rule whose figure passes at or below its target, else
    ``""``: what a title or tooltip adds so a reader reads the figure the right way round.

    Example:
        >>> from chatsim.rules import NEW_12H
        >>> lower_is_better_note(NEW_12H)
        ''
    """
    return " (lower is better)" if lower_is_better(rule) else ""
