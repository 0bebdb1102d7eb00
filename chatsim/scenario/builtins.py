"""The built-in archetypes: six kinds of shop a scenario can mix, use as a base or tune.

Example:
    >>> sorted(BUILTIN_ARCHETYPES)[:3]
    ['agency_247', 'auto_reply_heavy', 'cross_border']
    >>> builtin_archetype("agency_247").works_holidays
    True
"""

from __future__ import annotations

from functools import cache
from typing import Any

from chatsim.errors import ScenarioError
from chatsim.scenario.checks import Where
from chatsim.scenario.model import Archetype
from chatsim.schedule import WEEKDAYS, WeeklySchedule

__all__ = ["BUILTIN_ARCHETYPES", "builtin_archetype"]

#: The built-in archetypes: parameters that differ from :class:`Archetype`'s defaults.
BUILTIN_ARCHETYPES: dict[str, dict[str, Any]] = {
    "solo_weekdays": {
        "timezone": "Asia/Ho_Chi_Minh",
        "country": "VN",
        "holiday_country": "VN",
        "schedule": WeeklySchedule.on(WEEKDAYS[:5], "09:00-12:00", "13:30-18:00"),
        "chats_per_day": 12.0,
        "volume_sigma": 0.6,
        "delay_median_minutes": 20.0,
        "delay_sigma": 1.1,
        "delay_shop_sigma": 0.8,
        "capacity_per_hour": 10.0,
        "schedule_jitter_minutes": 120.0,  # owners keep very different hours
        "absence_rate": 0.04,
        "off_day_cover": 0.35,  # a third also answer on weekends and holidays
        "auto_reply_adoption": 0.35,  # ... and a third switched the chatbot on
        "auto_reply_rate": 0.7,
        "chatbot_enabled": True,
        "seller_threads_per_day": 0.5,
        "broadcasts_per_week": 0.5,
        "broadcast_recipients": 30.0,
        "holiday_mode_per_month": 0.15,
        "small_talk_share": 0.05,
    },
    "small_team": {
        "timezone": "Asia/Bangkok",
        "country": "TH",
        "holiday_country": "TH",
        "schedule": WeeklySchedule.on(WEEKDAYS, "09:00-21:00"),
        "chats_per_day": 40.0,
        "delay_median_minutes": 12.0,
        "delay_sigma": 1.0,
        "delay_shop_sigma": 0.6,
        "capacity_per_hour": 25.0,
        "schedule_jitter_minutes": 30.0,
        "absence_rate": 0.02,
        "auto_reply_adoption": 0.5,
        "auto_reply_rate": 0.4,
        "broadcasts_per_week": 1.5,
        "broadcast_recipients": 60.0,
    },
    "agency_247": {
        "timezone": "Asia/Jakarta",
        "country": "ID",
        "holiday_country": "ID",
        "works_holidays": True,
        "schedule": WeeklySchedule.on(WEEKDAYS, "00:00-24:00"),
        "chats_per_day": 80.0,
        "volume_sigma": 0.5,
        "delay_median_minutes": 4.0,
        "delay_sigma": 0.8,
        "delay_shop_sigma": 0.6,
        "capacity_per_hour": 80.0,
        "schedule_jitter_minutes": 0.0,  # shifts hand over around the clock
        "absence_rate": 0.0,
        "auto_reply_adoption": 0.7,
        "auto_reply_rate": 0.4,
        "faq_resolution": 0.2,
        "seller_threads_per_day": 2.0,
        "broadcasts_per_week": 2.0,
        "broadcast_recipients": 80.0,
        "holiday_mode_per_month": 0.0,
        "small_talk_share": 0.01,
    },
    "auto_reply_heavy": {
        "timezone": "Asia/Kuala_Lumpur",
        "country": "MY",
        "holiday_country": "MY",
        "schedule": WeeklySchedule.on(WEEKDAYS[:6], "09:00-21:00"),
        "chats_per_day": 60.0,
        "delay_median_minutes": 25.0,
        "delay_sigma": 1.2,
        "delay_shop_sigma": 0.7,
        "capacity_per_hour": 15.0,
        "schedule_jitter_minutes": 60.0,
        "absence_rate": 0.02,
        "off_day_cover": 0.5,
        "auto_reply_adoption": 1.0,
        "auto_reply_rate": 0.9,
        "faq_resolution": 0.55,
        "chatbot_enabled": True,
        "broadcasts_per_week": 2.0,
        "broadcast_recipients": 60.0,
    },
    "cross_border": {
        "timezone": "Europe/London",
        "staff_timezone": "Asia/Shanghai",
        "country": "GB",
        "holiday_country": "CN",
        "schedule": WeeklySchedule.on(WEEKDAYS[:6], "09:00-20:00"),
        "chats_per_day": 25.0,
        "delay_median_minutes": 20.0,
        "delay_sigma": 1.0,
        "capacity_per_hour": 12.0,
        "schedule_jitter_minutes": 60.0,
        "absence_rate": 0.03,
        "off_day_cover": 0.4,
        "auto_reply_adoption": 0.5,
        "auto_reply_rate": 0.6,
        "faq_resolution": 0.25,
        "chatbot_enabled": True,
    },
    "holiday_prone": {
        "timezone": "Asia/Manila",
        "country": "PH",
        "holiday_country": "PH",
        "schedule": WeeklySchedule.on(WEEKDAYS[:6], "08:00-19:00"),
        "chats_per_day": 15.0,
        "delay_median_minutes": 20.0,
        "capacity_per_hour": 10.0,
        "schedule_jitter_minutes": 60.0,
        "absence_rate": 0.03,
        "off_day_cover": 0.4,
        "holiday_mode_per_month": 1.2,
        "holiday_mode_days": 4.0,
        "holiday_mode_answer_rate": 0.1,
    },
}


@cache
def builtin_archetype(name: str) -> Archetype:
    """A built-in archetype by name (share 0; scenarios set the share).

    Example:
        >>> builtin_archetype("small_team").schedule["sun"]
        ('09:00-21:00',)
    """
    if name not in BUILTIN_ARCHETYPES:
        raise ScenarioError(
            f"unknown built-in archetype {name!r}; available: {', '.join(BUILTIN_ARCHETYPES)}."
        )
    return Archetype(name=name, share=0.0).updated(
        BUILTIN_ARCHETYPES[name], Where("<builtin>", name)
    )
