"""Which archetype parameters the fit reads as ratios and rates, which are a shop's own, and
the range each fitted value is held to.

:data:`RATIOS` are a share or mean of two per-shop counts summed over a group (e.g.
``followup_prob`` = follow-ups / answered primary chats); :data:`RATES` a count over an
exposure (threads per active day). :mod:`chatsim.fit.estimate` fits them per segment and
for the parent group, :mod:`chatsim.fit.pershop` per shop.

Example:
    >>> clip_value("followup_prob", 1.4), clip_value("burst_mean", 0.5)
    (1.0, 1.0)
"""

from __future__ import annotations

import math

__all__ = ["BOUNDS", "HOURS_PARAMS", "IDENTITY_PARAMS", "RATES", "RATIOS", "clip_value"]

#: parameter -> (numerator, denominator, unit): a share or mean of per-shop counts.
RATIOS: dict[str, tuple[str, str, str]] = {
    "burst_mean": ("burst_messages", "burst_chats", "chats"),
    "followup_prob": ("followups_settled", "followup_base", "chats"),
    "followup_answer_prob": ("followups_answered", "followups_settled", "chats"),
    "faq_resolution": ("faq_resolved", "faq_auto", "chats"),
    "seller_thread_reply_rate": ("thread_answers", "threads", "messages"),
    "broadcast_reply_rate": ("broadcast_answers", "broadcast_messages", "messages"),
    "blocked_share": ("buyers_blocked", "buyers", "buyers"),
    "blocked_answer_rate": ("blocked_answered", "blocked_chats", "chats"),
    "holiday_mode_answer_rate": ("holiday_answered", "holiday_chats", "chats"),
    "small_talk_share": ("small_talk", "with_answer", "chats"),
    "system_message_share": ("system", "arrivals", "chats"),
    "rating_prob": ("rated", "ratable", "chats"),
}
#: parameter -> (count, exposure, unit): a rate per unit of exposure.
RATES: dict[str, tuple[str, str, str]] = {
    "seller_threads_per_day": ("threads", "active_days", "days"),
    "broadcasts_per_week": ("broadcasts_true", "active_weeks", "weeks"),
    "broadcast_recipients": ("broadcast_messages", "broadcasts_true", "broadcasts"),
    "holiday_mode_per_month": ("holiday_periods", "months", "months"),
    "holiday_mode_days": ("holiday_days", "holiday_periods", "periods"),
}
#: Parameters a small segment keeps as its own (it takes its behaviour from the parent).
IDENTITY_PARAMS = (
    "share", "timezone", "country", "chats_per_day", "volume_sigma", "chatbot_enabled",
)  # fmt: skip
#: The working-hours parameters (:mod:`chatsim.fit.hours`), fitted per segment and shop.
HOURS_PARAMS = (
    "schedule", "holiday_country", "works_holidays", "schedule_jitter_minutes",
    "absence_rate", "off_day_cover",
)  # fmt: skip
#: parameter -> (lowest, highest) where it is not a share in [0, 1] (or a rate >= 0).
BOUNDS: dict[str, tuple[float, float]] = {
    "burst_mean": (1.0, math.inf),
    "holiday_mode_days": (1e-3, math.inf),
}


def clip_value(param: str, v: float) -> float:
    """``v`` held to ``param``'s range: :data:`BOUNDS`, else [0, 1] for a share and
    [0, inf) for a rate."""
    lo, hi = BOUNDS.get(
        param, (0.0, 1.0 if param not in RATES and param != "burst_mean" else math.inf)
    )
    return float(min(max(v, lo), hi))
