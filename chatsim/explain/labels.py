"""What a reader sees: human labels for code names and for rule fields' values.

One source of truth for every page, chart and sentence of a report:

* **labels** for every code name a reader can meet: flip categories, chat statuses,
  tiers, the confidence of a shop's standing, exclusion reasons, automatic-reply modes, clocks, who answered, ratings, seller
  types (archetypes; any other ``snake_case`` id reads as a sentence), rule fields and
  shop-table columns (:func:`label`, :func:`segment_label`, :func:`field_label`,
  :func:`column_label`, :func:`labelled`);
* **rule fields' values**: a rule field's value and change (``"Window 24 h → 12 h"``).

The number formats (shares, percentage points, counts, hours, ranges) are
:mod:`chatsim.explain.formats`, re-exported here for the pages that take them from this
module; the colours of rules and segments are in :mod:`chatsim.explain.colors`.

Example:
    >>> label("loses_under_new"), segment_label("agency_247"), segment_label("saturday_half_day")
    ('Loses status under the new rule', '24/7 agencies', 'Saturday half day')
    >>> format_share(0.5773), format_pp(-0.2541), format_count(1234), format_hours(6.0)
    ('57.7 %', '−25.4 pp', '1,234', '6 h')
    >>> describe_change("window_hours", 24.0, 12.0)
    'Window 24 h → 12 h'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from chatsim.errors import ReportError
from chatsim.explain.formats import (
    MINUS,
    MISSING,
    format_count,
    format_hours,
    format_pp,
    format_share,
)
from chatsim.explain.rulefigures import (
    COMPARISON_VALUES,
    MEASURE_LABELS,
    METRIC_LABELS,
    RATE_KIND_LABELS,
    RULE_FIGURE_FIELD_LABELS,
    RULE_FIGURE_VALUES,
)

__all__ = [
    "ANSWERED_BY_LABELS",
    "ARCHETYPE_LABELS",
    "MESSAGE_KIND_LABELS",
    "SENDER_LABELS",
    "AUTO_REPLY_LABELS",
    "CLOCK_LABELS",
    "COLUMN_LABELS",
    "CONFIDENCE_LABELS",
    "FIELD_LABELS",
    "FLIP_LABELS",
    "LABEL_TABLES",
    "MEASURE_LABELS",
    "METRIC_LABELS",
    "RATE_KIND_LABELS",
    "MINUS",
    "MISSING",
    "OPEN_TIME_LABELS",
    "RATING_LABELS",
    "REASON_LABELS",
    "STATUS_LABELS",
    "TIERS",
    "TIER_LABELS",
    "WEEKDAYS",
    "column_label",
    "describe_change",
    "field_label",
    "format_count",
    "format_field",
    "format_hours",
    "format_pp",
    "format_share",
    "humanize",
    "label",
    "labelled",
    "segment_label",
]

_ID = re.compile(r"[a-z][a-z0-9_]*")

FLIP_LABELS: dict[str, str] = {
    "passes_both": "Passes both rules",
    "loses_under_new": "Loses status under the new rule",
    "gains_under_new": "Gains status under the new rule",
    "fails_both": "Fails both rules",
    "not_rated": "Not rated (no counted chats)",
}
STATUS_LABELS: dict[str, str] = {
    "answered_in_time": "Answered in time",
    "answered_late": "Answered late",
    "unanswered": "Unanswered",
    "pending": "Pending (deadline after the data end)",
    "excluded": "Excluded",
    "outside_period": "Outside the evaluation period",
}
#: The tiers :meth:`chatsim.rules.Rule.tier` names, best first.
TIERS: tuple[str, ...] = ("meets", "below_target", "warning", "enforcement")
TIER_LABELS: dict[str, str] = {
    "meets": "Meets the target",
    "below_target": "Below the target",
    "warning": "Warning",
    "enforcement": "Enforcement",
}
#: The confidence of a shop's standing (the shop table's ``confidence``).
CONFIDENCE_LABELS: dict[str, str] = {
    "clear_pass": "Clearly meets the target",
    "too_close_to_call": "Too close to call",
    "clear_fail": "Clearly misses the target",
    "too_few_chats": "Fewer counted chats than the rule's minimum",
    "no_chats": "No counted chats",
}
REASON_LABELS: dict[str, str] = {
    "holiday_mode": "Holiday mode",
    "blocked": "Blocked buyer",
    "seller_initiated": "Started by the seller",
    "public_holiday": "Public holiday",
    "no_response_needed": "No response needed",
    "auto_resolved": "Resolved by automatic reply",
}
AUTO_REPLY_LABELS: dict[str, str] = {
    "exclude_resolved": "Chats resolved by automatic reply are excluded",
    "count_as_answer": "An automatic reply counts as an answer",
    "ignore": "Automatic replies are ignored",
}
CLOCK_LABELS: dict[str, str] = {
    "calendar": "Calendar time",
    "business": "Business hours",
}
ANSWERED_BY_LABELS: dict[str, str] = {"seller": "Seller", "auto": "Automatic reply"}
SENDER_LABELS: dict[str, str] = {"buyer": "Buyer", **ANSWERED_BY_LABELS}
MESSAGE_KIND_LABELS: dict[str, str] = {
    "text": "Text",
    "sticker": "Sticker",
    "emoji": "Emoji",
    "image": "Image",
    "video": "Video",
    "order_card": "Order card",
    "product_card": "Product card",
    "system": "System message",
}
RATING_LABELS: dict[str, str] = {"satisfied": "Satisfied", "unsatisfied": "Unsatisfied"}
#: Weekday labels of the hour-of-week charts, Monday first (polars' ``dt.weekday()`` 1-7).
WEEKDAYS: list[str] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
#: When a chat opened, in shop-local time (:mod:`chatsim.explain.causes`).
OPEN_TIME_LABELS: dict[str, str] = {
    "holiday": "Public holiday",
    "weekend": "Weekend",
    "night": "Night",
    "daytime": "Working-day daytime",
}
#: The built-in archetypes (seller types), as a reader names them.
ARCHETYPE_LABELS: dict[str, str] = {
    "solo_weekdays": "Solo weekday sellers",
    "small_team": "Small teams",
    "agency_247": "24/7 agencies",
    "auto_reply_heavy": "Chatbot-heavy shops",
    "cross_border": "Cross-border teams",
    "holiday_prone": "Holiday-prone shops",
}
#: Rule fields, as the bridge and the rule tables name them.
FIELD_LABELS: dict[str, str] = {
    "name": "Name",
    "window_hours": "Window",
    "target": "Target",
    "target_comparison": "Target comparison",
    "warning_below": "Warning below",
    "enforcement_below": "Enforcement below",
    "min_chats": "Minimum counted chats",
    "default_rate": "Rate under the minimum",
    "period_days": "Evaluation period",
    "period_start": "Period start",
    "period_end": "Period end",
    "auto_reply": "Automatic replies",
    "exclusions": "Exclusions",
    "valid_replies_only": "Valid-reply filter",
    "chatbot_weekend_deadline": "Chatbot-weekend deadline",
    "clock": "Clock",
    "business_schedule": "Business hours",
    "session_hours": "Session bound",
    "violation_points": "Violation points",
    "boosts_store_rating": "Boosts Store Rating",
    "effective_from": "In force from",
    "effective_until": "In force until",
    "visible_from": "Shown from",
    "description": "Description",
    **RULE_FIGURE_FIELD_LABELS,
}
#: Automatic-reply modes as a rule field's value (:func:`format_field`).
_AUTO_REPLY_VALUES = {
    "exclude_resolved": "exclude resolved chats",
    "count_as_answer": "count as answers",
    "ignore": "ignored",
}
#: Fields whose change the bridge names by another field's label ("Target: at least → ...").
_CHANGE_PREFIXES = {"target_comparison": "Target:"}
#: Columns of the shop, chat, summary and flip tables.
COLUMN_LABELS: dict[str, str] = {
    "rule": "Rule",
    "shop_id": "Shop",
    "timezone": "Time zone",
    "chatbot_enabled": "Chatbot on",
    "archetype": "Seller type",
    "segment": "Segment",
    "country": "Country",
    "chats": "Chats",
    "counted": "Counted chats",
    "counted_chats": "Counted chats",
    "answered_in_time": "Answered in time",
    "answered_late": "Answered late",
    "unanswered": "Unanswered",
    "pending": "Pending",
    "outside_period": "Outside the period",
    **{f"excluded_{k}": f"Excluded: {v.lower()}" for k, v in REASON_LABELS.items()},
    "avg_response_hours": "Mean response time (h)",
    "median_response_hours": "Median response time (h)",
    "rated": "Rated chats",
    "satisfied": "Satisfied ratings",
    "response_rate": "Response rate",
    "response_rate_low": "Response rate, 95 % interval from",
    "response_rate_high": "Response rate, 95 % interval to",
    "satisfaction_rate": "Satisfaction rate",
    "satisfaction_rate_low": "Satisfaction rate, 95 % interval from",
    "satisfaction_rate_high": "Satisfaction rate, 95 % interval to",
    "meets_target": "Meets the target",
    "rule_value": "Rule's figure",
    "rule_measure": "Figure measured",
    "metric": "Metric",
    "rate_kind": "Rate kind",
    "tier": "Tier",
    "confidence": "Confidence",
    "window_hours": "Window (h)",
    "target": "Target",
    "shops": "Shops",
    "shops_rated": "Shops rated",
    "shops_meeting_target": "Shops meeting the target",
    "share_meeting_target": "Share meeting the target",
    "overall_rate": "Overall response rate",
    "rate_old": "Rate, old rule",
    "rate_new": "Rate, new rule",
    "hours_old": "Figure (h), old rule",
    "hours_new": "Figure (h), new rule",
    "pass_old": "Meets the old rule",
    "pass_new": "Meets the new rule",
    "counted_old": "Counted chats, old rule",
    "counted_new": "Counted chats, new rule",
    "confidence_old": "Confidence, old rule",
    "confidence_new": "Confidence, new rule",
    "within_noise": "Within noise of both targets",
    "flip": "Change of status",
    "rate_delta": "Rate change",
    "old_rule": "Old rule",
    "new_rule": "New rule",
    "conversation_id": "Conversation",
    "buyer_id": "Buyer",
    "chat_seq": "Chat no.",
    "open_at": "Opened",
    "answer_at": "Answered",
    "answered_by": "Answered by",
    "first_auto_at": "First automatic reply",
    "last_buyer_at": "Last buyer message",
    "n_buyer_messages": "Buyer messages",
    "rating": "Rating",
    "seller_initiated": "Started by the seller",
    "auto_resolved": "Resolved by automatic reply",
    "response_s": "Response time (s)",
    "excluded_reason": "Exclusion reason",
    "deadline": "Deadline",
    "status": "Status",
    # pass rates, sweeps and what-ifs (chatsim.analysis)
    "shops_passing": "Shops passing",
    "share_passing": "Share passing",
    "median_rate": "Median of the rule's figure",
    "what_if": "What-if",
    "failing_before": "Failing before",
    "rescued": "Rescued",
    "newly_failing": "Newly failing",
    "share_passing_before": "Share passing before",
    "share_passing_after": "Share passing after",
    # replications (chatsim.replications)
    "replication": "Replication",
    "replications": "Replications",
    "measure": "Figure",
    "measure_label": "Figure",
    "name": "Of",
    "value": "Value",
    "mean": "Mean",
    "low": "95 % interval from",
    "high": "95 % interval to",
    "half_width": "Half-width of the interval",
    "sd": "Standard deviation",
    "range": "95 % interval",
    "share_change": "Change in the share passing",
    "loses": "Shops losing status",
    "gains": "Shops gaining status",
    "loses_within_noise": "Shops losing status within noise",
    "gains_within_noise": "Shops gaining status within noise",
}

#: The label tables by kind (:func:`label`, :func:`labelled`).
LABEL_TABLES: dict[str, Mapping[str, str]] = {
    "flip": FLIP_LABELS,
    "status": STATUS_LABELS,
    "tier": TIER_LABELS,
    "confidence": CONFIDENCE_LABELS,
    "reason": REASON_LABELS,
    "auto_reply": AUTO_REPLY_LABELS,
    "clock": CLOCK_LABELS,
    "answered_by": ANSWERED_BY_LABELS,
    "sender": SENDER_LABELS,
    "kind": MESSAGE_KIND_LABELS,
    "rating": RATING_LABELS,
    "open_time": OPEN_TIME_LABELS,
    "archetype": ARCHETYPE_LABELS,
    "field": FIELD_LABELS,
    "column": COLUMN_LABELS,
    "metric": METRIC_LABELS,
    "rate_kind": RATE_KIND_LABELS,
    "rule_measure": MEASURE_LABELS,
    "target_comparison": COMPARISON_VALUES,
}
# a code found in several tables reads the same in each, except where the kind is given
_ANY_KIND = (
    "flip",
    "status",
    "tier",
    "confidence",
    "reason",
    "auto_reply",
    "clock",
    "open_time",
    "kind",
    "archetype",
    "rule_measure",
    "target_comparison",
)
#: What a missing code (e.g. a chat with no exclusion reason) reads as, by kind.
_NONE_LABELS = {"reason": "Not excluded", "tier": "Not rated", "rating": "Not rated"}


def humanize(code: str) -> str:
    """A ``snake_case`` id as a reader writes it: ``"solo_weekday"`` -> ``"Solo weekday"``.

    Text that is not a lower-case id (``"GB"``, ``"Shop A"``, a rule name such as
    ``"new-12h"``) is left as it is.

    Example:
        >>> humanize("saturday_half_day"), humanize("solo"), humanize("GB"), humanize("new-12h")
        ('Saturday half day', 'Solo', 'GB', 'new-12h')
    """
    if not _ID.fullmatch(code):
        return code
    words = code.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def label(code: str | None, kind: str | None = None) -> str:
    """The label of a code name; ``kind`` (a key of :data:`LABEL_TABLES`) picks the table,
    else the first table that knows it; an unknown id reads as :func:`humanize` makes it.

    Example:
        >>> label("auto_resolved"), label(None, "reason"), label("below_target", "tier")
        ('Resolved by automatic reply', 'Not excluded', 'Below the target')
    """
    if code is None:
        return _NONE_LABELS.get(kind or "", MISSING)
    code = str(code)
    if kind is not None:
        if kind not in LABEL_TABLES:
            raise ReportError(
                f"unknown label kind {kind!r}; the kinds are {', '.join(sorted(LABEL_TABLES))}."
            )
        found = LABEL_TABLES[kind].get(code)
        return found if found is not None else humanize(code)
    for k in _ANY_KIND:
        if code in LABEL_TABLES[k]:
            return LABEL_TABLES[k][code]
    return humanize(code)


def segment_label(value: str | None) -> str:
    """A segment value (an archetype id, a country code...) as a reader names it.

    Example:
        >>> segment_label("solo_weekdays"), segment_label("weekday_chatbot"), segment_label("all")
        ('Solo weekday sellers', 'Weekday chatbot', 'All shops')
    """
    if value == "all":  # a what-if that changes every segment
        return "All shops"
    return label(value, "archetype")


def field_label(name: str) -> str:
    """A rule field's name as a reader names it (fields added later read humanized).

    Example:
        >>> field_label("valid_replies_only"), field_label("holiday_clock")
        ('Valid-reply filter', 'Holiday clock')
    """
    return label(name, "field")


def column_label(name: str) -> str:
    """A table column's header as a reader names it.

    Example:
        >>> column_label("excluded_auto_resolved")
        'Excluded: resolved by automatic reply'
    """
    return label(name, "column")


def labelled(
    df: pl.DataFrame, kinds: Mapping[str, str] | None = None, *, headers: bool = False
) -> pl.DataFrame:
    """A table with its code columns as labels (``{column: kind}``; by default every column
    named after a kind: ``flip``, ``status``, ``tier``, ``archetype``..., plus
    ``excluded_reason``, the flips' ``confidence_old`` and ``confidence_new``, and a
    ``segment`` column, read as seller types), and with readable
    headers if ``headers``.

    Example:
        >>> df = pl.DataFrame({"flip": ["fails_both"], "excluded_reason": [None]})
        >>> labelled(df, headers=True).row(0, named=True)
        {'Change of status': 'Fails both rules', 'Exclusion reason': 'Not excluded'}
    """
    if kinds is None:
        kinds = {c: c for c in df.columns if c in LABEL_TABLES and c not in ("field", "column")}
        extra = {
            "excluded_reason": "reason",
            "segment": "archetype",
            "confidence_old": "confidence",
            "confidence_new": "confidence",
        }
        kinds = {**kinds, **{c: k for c, k in extra.items() if c in df.columns}}

    def relabel(c: str, k: str) -> pl.Expr:
        codes = df[c].cast(pl.String).drop_nulls().unique().to_list()
        return (
            pl.col(c)
            .cast(pl.String)
            .replace_strict({v: label(v, k) for v in codes}, return_dtype=pl.String)
            .fill_null(label(None, k))
        )

    out = df.with_columns(relabel(c, k) for c, k in kinds.items())
    if headers:
        out = out.rename({c: column_label(c) for c in out.columns})
    return out


def format_field(name: str, value: Any) -> str:
    """A rule field's value as a reader reads it (hours, shares, on/off, labels, dates).

    Example:
        >>> format_field("target", 0.9), format_field("valid_replies_only", True)
        ('90 %', 'on')
        >>> format_field("exclusions", frozenset({"blocked", "holiday_mode"}))
        'holiday mode, blocked buyer'
    """
    if value is None:
        return "no rating" if name == "default_rate" else "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if name.endswith("_hours") and isinstance(value, int | float):
        return format_hours(value)
    if name.endswith("_days") and isinstance(value, int | float):
        return f"{value:g} days"
    if name == "min_chats" and isinstance(value, int):
        return "off" if value == 0 else f"{value:,} counted chats"
    if name == "due_day_offset" and isinstance(value, int):
        return {0: "the same day", 1: "the next day"}.get(value, f"{value} days later")
    shares = ("target", "warning_below", "enforcement_below", "default_rate")
    if name in (*shares, "blend_weight", "recent_fraction") or name.endswith("_share"):
        return format_share(value, 0 if round(100 * value, 6) == round(100 * value) else 1)
    if isinstance(value, dt.date):
        return value.isoformat()
    if name == "exclusions":
        from chatsim.rules import EXCLUSIONS

        chosen = [e for e in EXCLUSIONS if e in value] + sorted(set(value) - set(EXCLUSIONS))
        return ", ".join(label(e, "reason").lower() for e in chosen) or "none"
    if isinstance(value, Mapping):  # a weekly schedule
        days = [f"{d.title()} {' '.join(r).replace('-', '–')}" for d, r in value.items() if r]
        return "; ".join(days) or "no working hours"
    if name == "auto_reply" and value in _AUTO_REPLY_VALUES:
        return _AUTO_REPLY_VALUES[value]
    if isinstance(value, str) and value in RULE_FIGURE_VALUES.get(name, {}):
        return RULE_FIGURE_VALUES[name][value]
    if isinstance(value, str):
        return label(value).lower() if label(value) != value else value
    if isinstance(value, Iterable):
        return ", ".join(format_field(name, v) for v in value)
    return str(value)


def describe_change(name: str, old: Any, new: Any) -> str:
    """One rule field's change, as the bridge labels it: ``"Target 90 % → 85 %"``.

    Example:
        >>> describe_change("chatbot_weekend_deadline", True, False)
        'Chatbot-weekend deadline on → off'
        >>> describe_change("target_comparison", "at_least", "more_than")
        'Target: at least → more than'
    """
    prefix = _CHANGE_PREFIXES.get(name, field_label(name))
    return f"{prefix} {format_field(name, old)} → {format_field(name, new)}"
