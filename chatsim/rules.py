"""Response-rate rules as data: the single definition both the CLI and the notebooks use.

A :class:`Rule` says how a shop's chats are judged: the response window, the
target (with warning and enforcement tiers), the evaluation period, how automatic
replies count, which exclusions apply, which clock measures response time
(calendar or business hours) and the legacy chatbot-weekend deadline.

The built-in rules follow ``docs/policy.md`` (our reading of the marketplace text):

* :data:`LEGACY_24H`: 24-hour response rate, target 90 % (warning below 90 %,
  enforcement below 85 %), valid replies only, chatbot-weekend deadline on,
  chats fully handled by automatic replies excluded;
* :data:`NEW_12H`: 12-hour response rate over the trailing 30 calendar days,
  target 85 %, every day counts, chats resolved by automatic replies excluded.

Example:
    >>> r = NEW_12H.replace(window_hours=6, name="new-6h")
    >>> Rule.from_yaml(r.to_yaml()) == r
    True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chatsim.errors import RuleError
from chatsim.rulekinds import (
    COMING_RULE_SETTINGS,
    Metric,
    RateKind,
    SatisfactionBase,
    TimeStatistic,
    check_kind,
    describe_kind,
    lower_is_better,
)
from chatsim.ruleunits import (
    COUNTED_UNITS,
    DEADLINES,
    DEFAULT_EXCLUSIONS,
    EXCLUSIONS,
    CountedUnit,
    DeadlineKind,
    check_units_and_deadline,
    deadline_words,
    unit_words,
)
from chatsim.rulevalues import FLOAT_FIELDS, rate_or_number, whole_number
from chatsim.ruleyaml import (
    builtin,
    resolve_rule,
    rule_from_dict,
    rule_from_yaml,
    rule_to_dict,
    rule_to_yaml,
)
from chatsim.schedule import WEEKDAYS, WeeklySchedule
from chatsim.yamlfile import shown

__all__ = [
    "AUTO_REPLY_MODES",
    "AVG_RESPONSE_TIME",
    "BUILTIN_RULES",
    "CHAT_SATISFACTION",
    "CLOCKS",
    "COUNTED_UNITS",
    "DEADLINES",
    "DEFAULT_EXCLUSIONS",
    "EXCLUSIONS",
    "HOLIDAY_MODES",
    "LEGACY_24H",
    "MAX_MIN_CHATS",
    "MAX_PERIOD_DAYS",
    "NEW_12H",
    "OFFICE_HOURS",
    "TARGET_COMPARISONS",
    "AutoReplyMode",
    "Clock",
    "CountedUnit",
    "DeadlineKind",
    "HolidayModeReading",
    "Rule",
    "TargetComparison",
    "builtin",
    "resolve_rule",
    "schedule_minutes",
]

AutoReplyMode = Literal["exclude_resolved", "count_as_answer", "ignore"]
Clock = Literal["calendar", "business"]
TargetComparison = Literal["at_least", "more_than", "at_most"]
HolidayModeReading = Literal["exclude_received", "pause_clock"]

AUTO_REPLY_MODES: tuple[str, ...] = ("exclude_resolved", "count_as_answer", "ignore")
CLOCKS: tuple[str, ...] = ("calendar", "business")
#: Which side of the target passes: ``rate >= target``, ``rate > target`` or (a figure
#: where lower is better, :mod:`chatsim.rulekinds`) ``figure <= target``.
TARGET_COMPARISONS: tuple[str, ...] = ("at_least", "more_than", "at_most")
#: Readings of holiday mode: chats received in it excluded, or also the clock paused in it.
HOLIDAY_MODES: tuple[str, ...] = ("exclude_received", "pause_clock")
#: Largest ``min_chats`` a rule takes.
MAX_MIN_CHATS = 1_000_000
#: Longest trailing evaluation period a rule takes, in days (ten years).
MAX_PERIOD_DAYS = 3_653
#: Monday-Friday 09:00-18:00, the default schedule of a business-hours rule.
OFFICE_HOURS = WeeklySchedule.on(WEEKDAYS[:5], "09:00-18:00")


def schedule_minutes(schedule: Mapping[str, Sequence[str]]) -> list[tuple[int, int]]:
    """Working intervals as (start, end) minutes from Monday 00:00, sorted.

    Example:
        >>> schedule_minutes({"tue": ("09:00-10:00",)})
        [(1980, 2040)]
    """
    return WeeklySchedule.parse(schedule, error=RuleError).week_minutes()


@dataclass(frozen=True)
class Rule:
    """One response-rate rule. Immutable; derive variants with :meth:`replace`.

    Attributes:
        name: short identifier used in tables and charts (e.g. ``"new-12h"``).
        window_hours: a chat passes if answered within this many hours of opening.
        target: the rate a shop must reach (0-1]; ``target_comparison`` says whether the
            target itself passes.
        warning_below / enforcement_below: optional lower tiers: a rate strictly below
            the boundary is in the tier, a rate equal to it is not (whatever
            ``target_comparison`` says).
        target_comparison: ``at_least`` (``meets_target`` is ``rate >= target``; the
            legacy guide's "at least 90 %") or ``more_than`` (``rate > target``; "more than
            85 %" for the new rule). The ``meets`` tier is exactly ``meets_target``.
        min_chats / default_rate: a shop with fewer than ``min_chats`` counted chats gets
            ``default_rate`` as its rate (its tier and ``meets_target`` follow), or no
            rating when that is None; ``0`` (the default) and ``1`` are off.
        metric / rate_kind / blend_weight / recent_fraction / time_statistic /
            satisfaction_base: the figure the rule judges (:mod:`chatsim.rulekinds`): the
            ``response_rate`` as a ``share`` (default), a ``blended`` share (``blend_weight``
            x the period + the rest x its most recent ``recent_fraction`` of chats) or a
            ``late_share``; the ``average_response_time`` (``mean`` or ``median``, hours);
            the ``satisfaction_rate`` over ``rated`` or ``received`` chats. A late share
            and a response time take ``target_comparison: at_most`` (lower is better; the
            tiers then apply strictly above their boundaries); a response time's target is
            in hours.
        period_days: trailing evaluation period ending at the data cutoff.
        period_start / period_end: explicit period (UTC dates, end exclusive); overrides
            ``period_days`` when given.
        auto_reply: ``exclude_resolved`` (a chat handled only by automatic replies, after
            which the buyer did not write again, is excluded; automatic replies do not
            answer), ``count_as_answer`` (an automatic reply answers the chat) or
            ``ignore`` (automatic messages are disregarded).
        exclusions: which of :data:`EXCLUSIONS` apply (default :data:`DEFAULT_EXCLUSIONS`;
            ``public_holiday``: units received on a public holiday of the shop's ``country``;
            ``no_response_needed``: units whose buyer messages are all so flagged).
        counted_unit: ``chat`` (every chat), ``first_chat`` (only each conversation's first
            chat) or ``message`` (every buyer message of a chat, due from its own time and
            answered by the chat's answer); :mod:`chatsim.ruleunits`.
        deadline / cutoff_time / due_time / due_day_offset: ``window`` (``window_hours``
            after the unit) or ``daily_cutoff`` (received before ``cutoff_time`` shop-local
            on day d: due at ``due_time`` on day d + ``due_day_offset``; at or after the
            cut-off, a day later).
        holiday_mode: ``exclude_received`` (chats opened in holiday mode are excluded) or
            ``pause_clock`` (also, the response clock stops while the shop is in holiday
            mode: a chat's deadline moves later, and its response time shrinks, by the
            holiday-mode time between its opening and them); calendar clock only.
        valid_replies_only: only seller messages with ``valid_reply`` true answer a chat.
        chatbot_weekend_deadline: for shops with ``chatbot_enabled``, chats opened Saturday
            00:00 to Sunday 23:59 shop-local time are due Monday 12:00 local (or at the
            normal deadline if that is later).
        clock: ``calendar`` (elapsed time, weekends and holidays count) or ``business``
            (only time inside ``business_schedule`` in the shop's time zone counts).
        session_hours: the bound of a seller session (a buyer message within this many
            hours of a seller-opened thread belongs to it) and of an automatic-reply
            session (within this many hours of an automatic reply a buyer message
            continues that chat and a human answer answers it; later, neither).
        violation_points / boosts_store_rating: what missing / meeting the rule does
            (descriptive, shown in reports).
        effective_from / effective_until: the first and last day (dates, inclusive) the
            rule is in force; None (the default) is open-ended. Read by
            :func:`chatsim.daily.compare_daily` (its ``in_force`` column); a single
            :func:`~chatsim.metrics.compare` evaluates the rule whatever the dates.
        visible_from: the first day the rule's rate is shown to sellers without
            consequence, before ``effective_from`` (None: shown from ``effective_from``);
            ``compare_daily``'s ``visible`` column.
    """

    name: str
    window_hours: float
    target: float
    warning_below: float | None = None
    enforcement_below: float | None = None
    target_comparison: TargetComparison = "at_least"
    min_chats: int = 0
    default_rate: float | None = None
    metric: Metric = "response_rate"
    rate_kind: RateKind = "share"
    blend_weight: float = 0.5
    recent_fraction: float = 0.25
    time_statistic: TimeStatistic = "mean"
    satisfaction_base: SatisfactionBase = "rated"
    period_days: int = 30
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    auto_reply: AutoReplyMode = "exclude_resolved"
    exclusions: frozenset[str] = field(default_factory=lambda: DEFAULT_EXCLUSIONS)
    holiday_mode: HolidayModeReading = "exclude_received"
    valid_replies_only: bool = False
    chatbot_weekend_deadline: bool = False
    clock: Clock = "calendar"
    business_schedule: Mapping[str, tuple[str, ...]] = OFFICE_HOURS
    session_hours: float = 24.0
    violation_points: bool = False
    boosts_store_rating: bool = False
    effective_from: dt.date | None = None
    effective_until: dt.date | None = None
    visible_from: dt.date | None = None
    counted_unit: CountedUnit = "chat"
    deadline: DeadlineKind = "window"
    cutoff_time: str | None = None
    due_time: str | None = None
    due_day_offset: int = 1
    description: str = ""

    def __post_init__(self) -> None:
        where = f"rule {shown(self.name)}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise RuleError("rule name: must be a non-empty string.")
        rate_or_number(self.window_hours, f"{where}: window_hours", lo=0, lo_open=True)
        # the metric, its settings, the target, the tiers and their side (rulekinds)
        check_kind(self, where)
        whole_number(
            self.min_chats, f"{where}: min_chats", 0, MAX_MIN_CHATS, "counted chats", " (off)"
        )
        if self.default_rate is not None and self.min_chats < 1:
            raise RuleError(
                f"{where}: default_rate is the rate of a shop with fewer than min_chats counted "
                "chats, but min_chats is 0 (off); set min_chats (e.g. 2) or remove default_rate."
            )
        if self.default_rate is not None:
            rate_or_number(self.default_rate, f"{where}: default_rate", lo=0, hi=1)
        whole_number(self.period_days, f"{where}: period_days", 1, MAX_PERIOD_DAYS, "days")
        if (self.period_start is None) != (self.period_end is None):
            raise RuleError(f"{where}: give both period_start and period_end, or neither.")
        if self.period_start is not None and self.period_end <= self.period_start:  # type: ignore[operator]
            raise RuleError(f"{where}: period_end must be after period_start.")
        for key in ("effective_from", "effective_until", "visible_from"):
            v = getattr(self, key)
            if v is not None and (not isinstance(v, dt.date) or isinstance(v, dt.datetime)):
                raise RuleError(f"{where}: {key} must be a date (YYYY-MM-DD), got {shown(v)}.")
        start, until = self.effective_from, self.effective_until
        if start is not None and until is not None and until < start:
            raise RuleError(
                f"{where}: effective_until {until} is before effective_from {start}; "
                "swap them, or leave one empty for an open-ended rule."
            )
        if self.visible_from is not None:
            if start is None:
                raise RuleError(
                    f"{where}: visible_from {self.visible_from} needs effective_from (the day "
                    "the rule starts to count); set it, or remove visible_from."
                )
            if self.visible_from > start:
                raise RuleError(
                    f"{where}: visible_from {self.visible_from} is after effective_from {start}; "
                    "a rule is visible at the latest from the day it is in force."
                )
        if self.auto_reply not in AUTO_REPLY_MODES:
            raise RuleError(
                f"{where}: auto_reply {shown(self.auto_reply)} is not one of {list(AUTO_REPLY_MODES)}."
            )
        if self.clock not in CLOCKS:
            raise RuleError(f"{where}: clock {shown(self.clock)} is not one of {list(CLOCKS)}.")
        if self.target_comparison not in TARGET_COMPARISONS:
            raise RuleError(
                f"{where}: target_comparison {shown(self.target_comparison)} is not one of "
                f"{list(TARGET_COMPARISONS)}."
            )
        if self.holiday_mode not in HOLIDAY_MODES:
            raise RuleError(
                f"{where}: holiday_mode {shown(self.holiday_mode)} is not one of "
                f"{list(HOLIDAY_MODES)}."
            )
        if self.holiday_mode == "pause_clock" and self.clock == "business":
            raise RuleError(
                f"{where}: holiday_mode 'pause_clock' works with the calendar clock only; "
                "use clock: calendar, or holiday_mode: exclude_received with the business clock."
            )
        unknown = set(self.exclusions) - set(EXCLUSIONS)
        if unknown:
            raise RuleError(
                f"{where}: unknown exclusion(s) {shown(sorted(unknown))}; allowed: {list(EXCLUSIONS)}."
            )
        for name in FLOAT_FIELDS:
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, float(v))
        object.__setattr__(self, "exclusions", frozenset(self.exclusions))
        sched = WeeklySchedule.parse(
            self.business_schedule, where=f"{where}: business_schedule", error=RuleError
        )
        object.__setattr__(self, "business_schedule", sched)
        if self.clock == "business" and not sched.working_days():
            raise RuleError(f"{where}: a business-hours rule needs at least one working range.")
        rate_or_number(self.session_hours, f"{where}: session_hours", lo=0, lo_open=True)
        check_units_and_deadline(self, where)

    # -- derived --------------------------------------------------------------------
    @property
    def window_seconds(self) -> int:
        return int(round(self.window_hours * 3600))

    def chat_key(self) -> tuple[Any, ...]:
        """The settings that decide how messages group into chats (shared across rules),
        and whether the rows are buyer messages (``counted_unit: message``)."""
        return (
            self.auto_reply,
            self.valid_replies_only,
            self.session_hours,
            self.counted_unit == "message",
        )

    def meets(self, rate: float | None) -> bool | None:
        """Whether a rate meets the target (``target_comparison``); None for no rate.

        Example:
            >>> LEGACY_24H.meets(0.9), NEW_12H.meets(0.85), NEW_12H.meets(0.851)
            (True, False, True)
        """
        if rate is None:
            return None
        if self.target_comparison == "at_most":  # lower is better (chatsim.rulekinds)
            return rate <= self.target
        return rate > self.target if self.target_comparison == "more_than" else rate >= self.target

    def tier(self, rate: float | None) -> str | None:
        """Name the tier a rate falls in: ``meets``, ``below_target``, ``warning``, ``enforcement``.

        Example:
            >>> LEGACY_24H.tier(0.87), LEGACY_24H.tier(0.8), NEW_12H.tier(0.9)
            ('warning', 'enforcement', 'meets')
        """
        if rate is None:
            return None
        # lower is better: the tiers are strictly above their boundaries
        sign = -1 if lower_is_better(self) else 1
        if self.enforcement_below is not None and sign * rate < sign * self.enforcement_below:
            return "enforcement"
        if self.warning_below is not None and sign * rate < sign * self.warning_below:
            return "warning"
        return "meets" if self.meets(rate) else "below_target"

    def in_force(self, day: dt.date) -> bool:
        """Whether the rule is in force on ``day`` (``effective_from``/``effective_until``).

        Example:
            >>> NEW_12H.in_force(dt.date(2025, 8, 14)), NEW_12H.in_force(dt.date(2025, 8, 15))
            (False, True)
        """
        if self.effective_from is not None and day < self.effective_from:
            return False
        return self.effective_until is None or day <= self.effective_until

    def visible(self, day: dt.date) -> bool:
        """Whether the rule's rate is shown on ``day``: in force, or from ``visible_from``.

        Example:
            >>> NEW_12H.visible(dt.date(2025, 7, 15)), NEW_12H.visible(dt.date(2025, 7, 14))
            (True, False)
        """
        if self.visible_from is None:
            return self.in_force(day)
        return self.visible_from <= day and (
            self.effective_until is None or day <= self.effective_until
        )

    def replace(self, **changes: Any) -> Rule:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """One line for report headers.

        Example:
            >>> NEW_12H.describe()[:50]
            'new-12h: answered within 12 h, target more than 85'
        """
        due = f"answered within {self.window_hours:g} h"
        if self.deadline == "daily_cutoff":
            due = deadline_words(
                self.deadline, self.cutoff_time, self.due_time, self.due_day_offset
            )
        # what is measured, the target and its tiers (chatsim.rulekinds)
        parts = describe_kind(self, due)
        if unit_words(self.counted_unit):
            parts.append(unit_words(self.counted_unit))  # type: ignore[arg-type]
        if self.min_chats > 0:
            fewer = "no rating" if self.default_rate is None else f"rate {self.default_rate:.0%}"
            parts.append(f"rated on at least {self.min_chats} counted chats (fewer: {fewer})")
        if self.period_start is not None:
            parts.append(f"period {self.period_start} to {self.period_end}")
        else:
            parts.append(f"trailing {self.period_days} days")
        parts.append(f"{self.clock} clock")
        parts.append(f"auto replies: {self.auto_reply}")
        if self.valid_replies_only:
            parts.append("valid replies only")
        if self.chatbot_weekend_deadline:
            parts.append("chatbot weekend chats due Monday 12:00")
        parts.append("excludes " + ", ".join(e for e in EXCLUSIONS if e in self.exclusions))
        if self.holiday_mode == "pause_clock":
            parts.append("clock paused in holiday mode")
        if self.visible_from is not None:
            parts.append(f"shown from {self.visible_from}")
        if self.effective_from is not None or self.effective_until is not None:
            start = self.effective_from or "the start"
            until = f" until {self.effective_until}" if self.effective_until else ""
            parts.append(
                f"in force from {start}{until}" if self.effective_from else f"in force{until}"
            )
        return "; ".join(parts)

    # -- serialisation (chatsim.ruleyaml) ----------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A plain dict (YAML-ready); inverse of :meth:`from_dict`."""
        return rule_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "rule") -> Rule:
        """Build a rule from a mapping, naming unknown keys and bad values.

        Unset keys take the defaults of ``base`` (a built-in rule or peer preset name) if given,
        else the dataclass defaults.

        Example:
            >>> Rule.from_dict({"base": "new-12h", "name": "new-8h", "window_hours": 8}).window_hours
            8.0
        """
        return rule_from_dict(cls, data, source)

    def to_yaml(self, path: str | Path | None = None) -> str:
        """Serialise to YAML (and write it to ``path`` if given)."""
        return rule_to_yaml(self, path)

    @classmethod
    def from_yaml(cls, text_or_path: str | Path) -> Rule:
        """Load a rule from YAML text or a ``.yaml``/``.yml`` file."""
        return rule_from_yaml(cls, text_or_path)


LEGACY_24H = Rule(
    name="legacy-24h",
    window_hours=24,
    target=0.90,
    warning_below=0.90,
    enforcement_below=0.85,
    target_comparison="at_least",
    auto_reply="exclude_resolved",
    valid_replies_only=True,
    chatbot_weekend_deadline=True,
    violation_points=True,
    effective_until=dt.date(2025, 8, 14),
    description="Legacy 24-Hour Response Rate: customer-initiated chats answered within 24 hours "
    "(US seller-center guide); replaced from 15 Aug 2025.",
)

NEW_12H = Rule(
    name="new-12h",
    window_hours=12,
    target=0.85,
    target_comparison="more_than",
    auto_reply="exclude_resolved",
    boosts_store_rating=True,
    visible_from=dt.date(2025, 7, 15),
    effective_from=dt.date(2025, 8, 15),
    description="12-Hour Response Rate: customer-initiated chats answered within 12 hours over "
    "the last 30 calendar days, weekends and holidays included; feeds Store Rating from 15 Aug 2025.",
)

#: The coming Shop Health rules, Average Response Time and Chat Satisfaction Rate
#: (chatsim.rulekinds.COMING_RULE_SETTINGS): new-12h's period and exclusions, no dates.
AVG_RESPONSE_TIME, CHAT_SATISFACTION = (
    NEW_12H.replace(visible_from=None, effective_from=None, **s) for s in COMING_RULE_SETTINGS
)

BUILTIN_RULES: dict[str, Rule] = {
    r.name: r for r in (LEGACY_24H, NEW_12H, AVG_RESPONSE_TIME, CHAT_SATISFACTION)
}
