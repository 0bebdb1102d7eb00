"""What a rule counts and when a unit is due: the counted unit and the deadline kind.

:class:`~chatsim.rules.Rule` declares the fields; this module holds their allowed values,
the check of one rule's settings (:func:`check_units_and_deadline`, each wrong value a
:class:`~chatsim.errors.RuleError` naming the rule and the field) and the words
``Rule.describe`` uses (:func:`deadline_words`, :func:`unit_words`).

* ``counted_unit``: ``chat`` (every chat, today), ``first_chat`` (only the first chat of a
  conversation) or ``message`` (every buyer message of a chat is a unit, due from its own
  time and answered by the chat's answer);
* ``deadline``: ``window`` (``window_hours`` after the unit, on the rule's clock) or
  ``daily_cutoff`` (received before ``cutoff_time`` shop-local on day d: due at
  ``due_time`` on day d + ``due_day_offset``; at or after the cut-off: one day later).

Example:
    >>> clock_minutes("17:30", "rule 'x': cutoff_time")
    1050
    >>> deadline_words("daily_cutoff", "17:00", "12:00", 1)
    'received before 17:00 local, answered by 12:00 the next day (after 17:00: a day later)'
"""

from __future__ import annotations

import re
from typing import Any, Literal

from chatsim.errors import RuleError
from chatsim.yamlfile import shown

__all__ = [
    "COUNTED_UNITS",
    "DEADLINES",
    "DEFAULT_EXCLUSIONS",
    "EXCLUSIONS",
    "CountedUnit",
    "DeadlineKind",
    "check_units_and_deadline",
    "clock_minutes",
    "deadline_words",
    "unit_words",
]

CountedUnit = Literal["chat", "first_chat", "message"]
DeadlineKind = Literal["window", "daily_cutoff"]

#: What one counted unit is (``Rule.counted_unit``).
COUNTED_UNITS: tuple[str, ...] = ("chat", "first_chat", "message")
#: How a unit's deadline is set (``Rule.deadline``).
DEADLINES: tuple[str, ...] = ("window", "daily_cutoff")
#: Exclusion reasons, in the order they are applied (a unit gets the first that matches).
EXCLUSIONS: tuple[str, ...] = (
    "holiday_mode",
    "blocked",
    "seller_initiated",
    "auto_resolved",
    "public_holiday",
    "no_response_needed",
)
#: The exclusions a rule applies unless it says otherwise (the reasons the policy text
#: names; ``public_holiday`` and ``no_response_needed`` are switched on per rule).
DEFAULT_EXCLUSIONS: frozenset[str] = frozenset(EXCLUSIONS[:4])

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def clock_minutes(v: Any, where: str) -> int:
    """Minutes after midnight of an ``HH:MM`` text (00:00 to 23:59)."""
    m = _CLOCK.match(v) if isinstance(v, str) else None
    if m is None:
        raise RuleError(f"{where}: expected a time of day as HH:MM (e.g. '17:00'), got {shown(v)}.")
    return int(m.group(1)) * 60 + int(m.group(2))


def check_units_and_deadline(rule: Any, where: str) -> None:
    """Check a rule's ``counted_unit``, ``deadline``, ``cutoff_time``, ``due_time`` and
    ``due_day_offset`` (and how they combine with its clock)."""
    if rule.counted_unit not in COUNTED_UNITS:
        raise RuleError(
            f"{where}: counted_unit {shown(rule.counted_unit)} is not one of {list(COUNTED_UNITS)}."
        )
    if rule.deadline not in DEADLINES:
        raise RuleError(
            f"{where}: deadline {shown(rule.deadline)} is not one of {list(DEADLINES)}."
        )
    offset = rule.due_day_offset
    if isinstance(offset, bool) or offset not in (0, 1):
        raise RuleError(
            f"{where}: due_day_offset must be 0 (same day) or 1 (next day), got {shown(offset)}."
        )
    if rule.deadline == "window":
        for key in ("cutoff_time", "due_time"):
            if getattr(rule, key) is not None:
                raise RuleError(
                    f"{where}: {key} is read only with deadline: daily_cutoff; set deadline: "
                    f"daily_cutoff, or remove {key}."
                )
        return
    if rule.cutoff_time is None or rule.due_time is None:
        raise RuleError(
            f"{where}: deadline daily_cutoff needs cutoff_time and due_time (HH:MM, shop-local), "
            "e.g. cutoff_time: '17:00', due_time: '12:00', due_day_offset: 1."
        )
    cut = clock_minutes(rule.cutoff_time, f"{where}: cutoff_time")
    due = clock_minutes(rule.due_time, f"{where}: due_time")
    if offset == 0 and due < cut:
        raise RuleError(
            f"{where}: with due_day_offset 0 a chat received just before the cut-off "
            f"({rule.cutoff_time}) would be due earlier the same day ({rule.due_time}); "
            "set due_time at or after cutoff_time, or due_day_offset: 1."
        )
    if rule.clock != "calendar":
        raise RuleError(
            f"{where}: deadline daily_cutoff sets the due time on the shop's wall clock; use "
            "clock: calendar (the business clock measures a window)."
        )
    if rule.chatbot_weekend_deadline:
        raise RuleError(
            f"{where}: chatbot_weekend_deadline moves a window deadline; it does not combine "
            "with deadline: daily_cutoff (set it false)."
        )


def deadline_words(kind: str, cutoff: str | None, due: str | None, offset: int) -> str:
    """How ``Rule.describe`` states a daily cut-off deadline."""
    day = "the same day" if offset == 0 else "the next day"
    return f"received before {cutoff} local, answered by {due} {day} (after {cutoff}: a day later)"


def unit_words(unit: str) -> str | None:
    """How ``Rule.describe`` states a counted unit other than the chat (None for it)."""
    return {
        "first_chat": "first chat of each conversation only",
        "message": "every buyer message counted",
    }.get(unit)
