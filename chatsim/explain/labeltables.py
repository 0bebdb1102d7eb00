"""The label tables: how a reader names each code a report can show (flip categories, chat
statuses, tiers, confidence, exclusion reasons, automatic-reply modes, clocks, who answered,
message kinds, ratings, weekdays, open times, seller types, rule fields and table columns).

:mod:`chatsim.explain.labels` reads them (``label``, ``field_label``, ``column_label``) and
re-exports them; pages take them from there.

Example:
    >>> TIER_LABELS["warning"], COLUMN_LABELS["shop_id"]
    ('Warning', 'Shop')
"""

from __future__ import annotations

from chatsim.explain.rulefigures import RULE_FIGURE_FIELD_LABELS

__all__ = [
    "ANSWERED_BY_LABELS",
    "ARCHETYPE_LABELS",
    "AUTO_REPLY_LABELS",
    "CLOCK_LABELS",
    "COLUMN_LABELS",
    "CONFIDENCE_LABELS",
    "FIELD_LABELS",
    "FLIP_LABELS",
    "MESSAGE_KIND_LABELS",
    "OPEN_TIME_LABELS",
    "RATING_LABELS",
    "REASON_LABELS",
    "SENDER_LABELS",
    "STATUS_LABELS",
    "TIERS",
    "TIER_LABELS",
    "WEEKDAYS",
]

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
