"""Scenario files: what the traffic simulator generates, validated into frozen dataclasses.

A scenario names a seed, a period, a number of shops and a mix of shop
*archetypes* (solo sellers working weekdays, 24/7 agencies, cross-border teams...),
plus campaign days and the settings of the policy analysis that runs on the
simulated log. Every problem raises :class:`~chatsim.errors.ScenarioError` naming
the file and the key path, e.g. ``scenarios/x.yaml: archetypes.solo.schedule.mon: ...``.
The file reference is ``docs/simulator.md``.

Example:
    >>> sc = Scenario.from_dict({"name": "demo", "shops": 10,
    ...     "period": {"start": "2025-08-15", "days": 7},
    ...     "archetypes": {"solo_weekdays": {"share": 0.5}, "agency_247": {"share": 0.5}}})
    >>> sc.archetype("agency_247").schedule[5]
    ('00:00-24:00',)
    >>> sc.scaled(shops=4).shops
    4
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import yaml

from chatsim.errors import ScenarioError

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_RULES: tuple[str, ...] = ("legacy-24h", "new-12h")
DEFAULT_TARGETS: tuple[float, ...] = (0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95)
DEFAULT_WINDOWS: tuple[float, ...] = (6.0, 8.0, 12.0, 18.0, 24.0, 36.0, 48.0)
_RANGE_RE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_RULE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# --------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------


def _err(source: str, path: str, msg: str) -> ScenarioError:
    where = f"{source}: {path}: " if path else f"{source}: "
    return ScenarioError(where + msg)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_keys(d: Mapping[str, Any], allowed: list[str], source: str, path: str) -> None:
    for key in d:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise _err(
                source,
                _join(path, str(key)),
                f"unknown key.{hint} Allowed keys: {', '.join(allowed)}.",
            )


def _mapping(v: Any, source: str, path: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise _err(
            source, path, f"expected a mapping of keys to values, got {type(v).__name__} {v!r}."
        )
    return v


def _int(v: Any, source: str, path: str, *, minimum: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _err(source, path, f"expected an integer, got {type(v).__name__} {v!r}.")
    if minimum is not None and v < minimum:
        raise _err(source, path, f"must be >= {minimum}, got {v}.")
    return int(v)


def _float(
    v: Any,
    source: str,
    path: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _err(source, path, f"expected a number, got {type(v).__name__} {v!r}.")
    x = float(v)
    if not math.isfinite(x):
        raise _err(source, path, f"must be a finite number, got {v!r}.")
    if lo is not None and (x < lo or (lo_open and x == lo)):
        op = ">" if lo_open else ">="
        raise _err(source, path, f"must be {op} {lo:g}, got {v!r}.")
    if hi is not None and x > hi:
        raise _err(source, path, f"must be <= {hi:g}, got {v!r}.")
    return x


def _prob(v: Any, source: str, path: str) -> float:
    return _float(v, source, path, lo=0.0, hi=1.0)


def _bool(v: Any, source: str, path: str) -> bool:
    if not isinstance(v, bool):
        raise _err(source, path, f"expected true or false, got {type(v).__name__} {v!r}.")
    return v


def _str(v: Any, source: str, path: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise _err(source, path, f"expected a non-empty string, got {type(v).__name__} {v!r}.")
    return v


def _date(v: Any, source: str, path: str) -> dt.date:
    if isinstance(v, dt.datetime):
        raise _err(source, path, f"expected a date (YYYY-MM-DD), got a date-time {v!r}.")
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            pass
    raise _err(source, path, f"expected a date as YYYY-MM-DD (e.g. 2025-08-15), got {v!r}.")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones() | {"UTC"})


def _tz(v: Any, source: str, path: str) -> str:
    name = _str(v, source, path)
    zones = _zones()
    if name not in zones:
        close = difflib.get_close_matches(name, sorted(zones), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise _err(
            source,
            path,
            f"unknown time zone {name!r}.{hint} Use an IANA name such as 'Asia/Ho_Chi_Minh'.",
        )
    return name


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    import holidays

    return frozenset(holidays.list_supported_countries())


def _holiday_country(v: Any, source: str, path: str) -> str | None:
    if v is None:
        return None
    code = _str(v, source, path)
    if code not in _countries():
        close = difflib.get_close_matches(code.upper(), sorted(_countries()), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise _err(
            source,
            path,
            f"unknown holiday country {code!r} (not supported by the 'holidays' package).{hint} "
            "Use an ISO 3166 code such as 'VN', 'TH', 'ID', 'CN', or null for no public holidays.",
        )
    return code


def _parse_range(v: Any, source: str, path: str) -> str:
    if not isinstance(v, str):
        raise _err(source, path, f"expected a time range 'HH:MM-HH:MM', got {v!r}.")
    m = _RANGE_RE.match(v.strip())
    if not m:
        raise _err(
            source, path, f"expected a time range 'HH:MM-HH:MM' (e.g. '09:00-18:00'), got {v!r}."
        )
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60:
        raise _err(source, path, f"{v!r} is not a valid time range (hours 00-24, minutes 00-59).")
    if end <= start:
        raise _err(
            source,
            path,
            f"{v!r} ends before it starts; split ranges crossing midnight into two days "
            "(e.g. mon: ['22:00-24:00'], tue: ['00:00-02:00']).",
        )
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def range_minutes(r: str) -> tuple[int, int]:
    """Start and end of a validated ``"HH:MM-HH:MM"`` range in minutes after midnight.

    Example:
        >>> range_minutes("09:30-24:00")
        (570, 1440)
    """
    m = _RANGE_RE.match(r)
    assert m is not None
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    return h1 * 60 + m1, h2 * 60 + m2


Schedule = tuple[tuple[str, ...], ...]  # 7 weekdays (mon..sun) of "HH:MM-HH:MM" ranges


def _parse_schedule(v: Any, source: str, path: str, base: Schedule | None) -> Schedule:
    d = _mapping(v, source, path)
    _check_keys(d, list(WEEKDAYS), source, path)
    out = list(base) if base is not None else [() for _ in WEEKDAYS]
    for i, day in enumerate(WEEKDAYS):
        if day not in d:
            continue
        raw = d[day]
        p = _join(path, day)
        if raw is None:
            raw = []
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list | tuple):
            raise _err(source, p, f"expected a list of 'HH:MM-HH:MM' ranges, got {raw!r}.")
        ranges = sorted(
            (_parse_range(r, source, f"{p}[{j}]") for j, r in enumerate(raw)), key=range_minutes
        )
        for a, b in zip(ranges, ranges[1:], strict=False):
            if range_minutes(b)[0] < range_minutes(a)[1]:
                raise _err(source, p, f"ranges {a!r} and {b!r} overlap.")
        out[i] = tuple(ranges)
    return tuple(out)


def _every_day(*ranges: str) -> dict[str, list[str]]:
    return {d: list(ranges) for d in WEEKDAYS}


def _days(days: str, *ranges: str) -> dict[str, list[str]]:
    on = set(days.split(","))
    return {d: (list(ranges) if d in on else []) for d in WEEKDAYS}


# --------------------------------------------------------------------------------------
# archetypes
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Archetype:
    """One kind of shop: time zones, working schedule, volume, behaviour.

    All rates are per shop. Times of day in ``schedule`` are in ``staff_timezone``.

    Example:
        >>> a = builtin_archetype("solo_weekdays")
        >>> a.schedule[5], a.works_holidays
        ((), False)
    """

    name: str
    share: float
    timezone: str = "Asia/Ho_Chi_Minh"
    buyer_timezone: str | None = None  # None: same as timezone
    staff_timezone: str | None = None  # None: same as timezone
    country: str = "VN"
    schedule: Schedule = tuple(("09:00-18:00",) for _ in WEEKDAYS)
    holiday_country: str | None = "VN"
    works_holidays: bool = False
    chats_per_day: float = 30.0
    volume_sigma: float = 0.7
    burst_mean: float = 1.8
    followup_prob: float = 0.2
    followup_answer_prob: float = 0.7
    delay_median_minutes: float = 20.0
    delay_sigma: float = 1.0
    delay_shop_sigma: float = 0.7
    capacity_per_hour: float = 20.0
    schedule_jitter_minutes: float = 30.0
    absence_rate: float = 0.03
    off_day_cover: float = 0.1
    auto_reply_adoption: float = 1.0
    auto_reply_rate: float = 0.0
    faq_resolution: float = 0.3
    chatbot_enabled: bool = False
    seller_threads_per_day: float = 1.0
    seller_thread_reply_rate: float = 0.4
    broadcasts_per_week: float = 1.0
    broadcast_recipients: float = 40.0
    broadcast_reply_rate: float = 0.05
    blocked_share: float = 0.01
    blocked_answer_rate: float = 0.1
    holiday_mode_per_month: float = 0.1
    holiday_mode_days: float = 3.0
    holiday_mode_answer_rate: float = 0.15
    small_talk_share: float = 0.03
    system_message_share: float = 0.02
    rating_prob: float = 0.3

    @property
    def buyer_tz(self) -> str:
        """The buyers' time zone (arrival profile)."""
        return self.buyer_timezone or self.timezone

    @property
    def staff_tz(self) -> str:
        """The staff's time zone (working schedule, public holidays)."""
        return self.staff_timezone or self.timezone

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (every parameter, schedule as weekday -> ranges)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}
        d["schedule"] = {day: list(r) for day, r in zip(WEEKDAYS, self.schedule, strict=True)}
        return d


#: Archetype parameters a scenario may set (everything but ``name``).
ARCHETYPE_PARAMS: tuple[str, ...] = tuple(f.name for f in fields(Archetype) if f.name != "name")
_PROBS = {
    "followup_prob",
    "followup_answer_prob",
    "absence_rate",
    "off_day_cover",
    "auto_reply_adoption",
    "auto_reply_rate",
    "faq_resolution",
    "seller_thread_reply_rate",
    "broadcast_reply_rate",
    "blocked_share",
    "blocked_answer_rate",
    "holiday_mode_answer_rate",
    "small_talk_share",
    "system_message_share",
    "rating_prob",
}
_NONNEG = {
    "chats_per_day",
    "volume_sigma",
    "delay_sigma",
    "delay_shop_sigma",
    "seller_threads_per_day",
    "broadcasts_per_week",
    "broadcast_recipients",
    "holiday_mode_per_month",
}
#: Upper bound of ``schedule_jitter_minutes`` (shifts are clipped to 3 standard deviations).
MAX_SCHEDULE_JITTER = 240.0
_POSITIVE = {"delay_median_minutes", "capacity_per_hour", "holiday_mode_days"}

BUILTIN_ARCHETYPES: dict[str, dict[str, Any]] = {
    "solo_weekdays": {
        "timezone": "Asia/Ho_Chi_Minh",
        "country": "VN",
        "holiday_country": "VN",
        "schedule": _days("mon,tue,wed,thu,fri", "09:00-12:00", "13:30-18:00"),
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
        "schedule": _every_day("09:00-21:00"),
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
        "schedule": _every_day("00:00-24:00"),
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
        "schedule": _days("mon,tue,wed,thu,fri,sat", "09:00-21:00"),
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
        "schedule": _days("mon,tue,wed,thu,fri,sat", "09:00-20:00"),
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
        "schedule": _days("mon,tue,wed,thu,fri,sat", "08:00-19:00"),
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


def _parse_archetype_params(
    raw: Mapping[str, Any], base: Archetype, source: str, path: str
) -> Archetype:
    """Apply the parameters in ``raw`` on top of ``base`` (validating each)."""
    _check_keys(raw, list(ARCHETYPE_PARAMS), source, path)
    vals: dict[str, Any] = {}
    for key, v in raw.items():
        p = _join(path, key)
        if key == "share":
            vals[key] = _float(v, source, p, lo=0.0, hi=1.0)
        elif key == "timezone":
            vals[key] = _tz(v, source, p)
        elif key in ("buyer_timezone", "staff_timezone"):
            vals[key] = None if v is None else _tz(v, source, p)
        elif key == "country":
            vals[key] = _str(v, source, p)
        elif key == "schedule":
            vals[key] = _parse_schedule(v, source, p, base.schedule)
        elif key == "holiday_country":
            vals[key] = _holiday_country(v, source, p)
        elif key in ("works_holidays", "chatbot_enabled"):
            vals[key] = _bool(v, source, p)
        elif key in _PROBS:
            vals[key] = _prob(v, source, p)
        elif key in _NONNEG:
            vals[key] = _float(v, source, p, lo=0.0)
        elif key in _POSITIVE:
            vals[key] = _float(v, source, p, lo=0.0, lo_open=True)
        elif key == "burst_mean":
            vals[key] = _float(v, source, p, lo=1.0)
        elif key == "schedule_jitter_minutes":
            vals[key] = _float(v, source, p, lo=0.0, hi=MAX_SCHEDULE_JITTER)
        else:  # pragma: no cover - every parameter is handled above
            raise _err(source, p, "unhandled parameter.")
    return dataclasses.replace(base, **vals)


@cache
def builtin_archetype(name: str) -> Archetype:
    """A built-in archetype by name (share 0; scenarios set the share).

    Example:
        >>> builtin_archetype("agency_247").works_holidays
        True
    """
    if name not in BUILTIN_ARCHETYPES:
        raise ScenarioError(
            f"unknown built-in archetype {name!r}; available: {', '.join(BUILTIN_ARCHETYPES)}."
        )
    return _parse_archetype_params(
        BUILTIN_ARCHETYPES[name], Archetype(name=name, share=0.0), "<builtin>", name
    )


def _parse_archetype(name: str, raw: Any, source: str, path: str) -> Archetype:
    d = dict(_mapping(raw, source, path))
    use = d.pop("use", None)
    if use is not None:
        use = _str(use, source, _join(path, "use"))
        if use not in BUILTIN_ARCHETYPES:
            close = difflib.get_close_matches(use, list(BUILTIN_ARCHETYPES), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise _err(
                source,
                _join(path, "use"),
                f"unknown built-in archetype {use!r}.{hint} Allowed: {', '.join(BUILTIN_ARCHETYPES)}.",
            )
        base = builtin_archetype(use)
    elif name in BUILTIN_ARCHETYPES:
        base = builtin_archetype(name)
    else:
        base = Archetype(name=name, share=0.0)
    if "share" not in d:
        raise _err(
            source, _join(path, "share"), "missing: every archetype needs a share in [0, 1]."
        )
    _check_keys(d, ["use", *ARCHETYPE_PARAMS], source, path)
    return dataclasses.replace(_parse_archetype_params(d, base, source, path), name=name)


# --------------------------------------------------------------------------------------
# the other sections
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The simulated period: ``days`` days from ``start`` 00:00 UTC (end exclusive)."""

    start: dt.date
    days: int

    @property
    def start_utc(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=dt.UTC)

    @property
    def end_utc(self) -> dt.datetime:
        return self.start_utc + dt.timedelta(days=self.days)


@dataclass(frozen=True)
class Campaign:
    """A campaign day: buyer arrivals multiplied by ``multiplier`` on ``date``
    (buyer local date), restricted to ``hours`` (buyer local hours 0-23) if given."""

    date: dt.date
    multiplier: float
    hours: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Satisfaction:
    """Probability that a rating is ``satisfied`` given the response time ``h`` (hours):
    ``max / (1 + exp((h - midpoint_hours) / scale_hours))``; ``faq`` for chats resolved
    by an automatic reply."""

    max: float = 0.95
    midpoint_hours: float = 16.0
    scale_hours: float = 5.0
    faq: float = 0.8

    def p_satisfied(self, hours: Any) -> Any:
        """Vectorised curve (numpy arrays or floats).

        Example:
            >>> round(float(Satisfaction().p_satisfied(0.0)), 3)
            0.913
        """
        import numpy as np

        z = np.clip(
            (np.asarray(hours, dtype=float) - self.midpoint_hours) / self.scale_hours, -50, 50
        )
        return self.max / (1.0 + np.exp(z))


@dataclass(frozen=True)
class WhatIf:
    """A named one-change variant: ``set`` archetype parameters, on ``archetype`` or on all."""

    name: str
    set: Mapping[str, Any]
    archetype: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name}
        if self.archetype is not None:
            d["archetype"] = self.archetype
        d["set"] = _plain(self.set)
        return d


@dataclass(frozen=True)
class Analysis:
    """Settings of the policy analysis run on the simulated log."""

    rules: tuple[str, ...] = DEFAULT_RULES
    targets: tuple[float, ...] = DEFAULT_TARGETS
    windows_hours: tuple[float, ...] = DEFAULT_WINDOWS
    drilldown_shop: str | None = None
    what_if: tuple[WhatIf, ...] = ()


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


def shop_ids(n: int) -> list[str]:
    """The shop ids a scenario with ``n`` shops generates.

    Example:
        >>> shop_ids(2)
        ['shop_00000', 'shop_00001']
    """
    width = max(5, len(str(max(n - 1, 0))))
    return [f"shop_{i:0{width}d}" for i in range(n)]


_TOP_KEYS = [
    "name",
    "description",
    "seed",
    "period",
    "shops",
    "archetypes",
    "campaigns",
    "satisfaction",
    "analysis",
]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario (see the module docstring and ``docs/simulator.md``).

    Example:
        >>> sc = load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
        >>> small = sc.scaled(shops=20, days=7)  # doctest: +SKIP
    """

    name: str
    period: Period
    shops: int
    archetypes: tuple[Archetype, ...]
    seed: int = 0
    description: str = ""
    campaigns: tuple[Campaign, ...] = ()
    satisfaction: Satisfaction = field(default_factory=Satisfaction)
    analysis: Analysis = field(default_factory=Analysis)
    source: str = field(default="<memory>", compare=False)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "<memory>") -> Scenario:
        """Validate a plain mapping (as read from YAML) into a Scenario."""
        d = _mapping(d, source, "")
        _check_keys(d, _TOP_KEYS, source, "")
        for req in ("name", "period", "shops", "archetypes"):
            if req not in d:
                raise _err(source, req, "missing required key.")
        name = _str(d["name"], source, "name")
        description = d.get("description", "") or ""
        if not isinstance(description, str):
            raise _err(source, "description", f"expected text, got {description!r}.")
        seed = _int(d.get("seed", 0), source, "seed", minimum=0)

        pd = _mapping(d["period"], source, "period")
        _check_keys(pd, ["start", "days"], source, "period")
        if "start" not in pd or "days" not in pd:
            raise _err(source, "period", "needs both 'start' (YYYY-MM-DD) and 'days'.")
        period = Period(
            _date(pd["start"], source, "period.start"),
            _int(pd["days"], source, "period.days", minimum=1),
        )
        shops = _int(d["shops"], source, "shops", minimum=1)

        ad = _mapping(d["archetypes"], source, "archetypes")
        if not ad:
            raise _err(source, "archetypes", "needs at least one archetype.")
        archetypes = tuple(
            _parse_archetype(str(n), raw, source, f"archetypes.{n}") for n, raw in ad.items()
        )
        total = sum(a.share for a in archetypes)
        if abs(total - 1.0) > 1e-6:
            shares = ", ".join(f"{a.name}={a.share:g}" for a in archetypes)
            raise _err(source, "archetypes", f"shares must sum to 1, got {total:g} ({shares}).")

        campaigns = tuple(
            _parse_campaign(c, source, f"campaigns[{i}]")
            for i, c in enumerate(_list(d.get("campaigns", []), source, "campaigns"))
        )
        satisfaction = _parse_satisfaction(d.get("satisfaction", {}), source)
        analysis = _parse_analysis(d.get("analysis", {}) or {}, source, archetypes, shops)
        return cls(
            name=name,
            period=period,
            shops=shops,
            archetypes=archetypes,
            seed=seed,
            description=description,
            campaigns=campaigns,
            satisfaction=satisfaction,
            analysis=analysis,
            source=source,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form; ``Scenario.from_dict(sc.to_dict()) == sc``.

        Archetypes are written with every parameter resolved (no ``use``).
        """
        a = self.analysis
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "period": {"start": self.period.start.isoformat(), "days": self.period.days},
            "shops": self.shops,
            "archetypes": {x.name: x.to_dict() for x in self.archetypes},
            "campaigns": [
                {"date": c.date.isoformat(), "multiplier": c.multiplier}
                | ({"hours": list(c.hours)} if c.hours is not None else {})
                for c in self.campaigns
            ],
            "satisfaction": dataclasses.asdict(self.satisfaction),
            "analysis": {
                "rules": list(a.rules),
                "targets": list(a.targets),
                "windows_hours": list(a.windows_hours),
                "drilldown_shop": a.drilldown_shop,
                "what_if": [w.to_dict() for w in a.what_if],
            },
        }
        return out

    def to_yaml(self) -> str:
        """The scenario as YAML text (loadable with :func:`load_scenario`)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    # ---------------------------------------------------------------- helpers
    def archetype(self, name: str) -> Archetype:
        """The archetype called ``name``."""
        for a in self.archetypes:
            if a.name == name:
                return a
        raise ScenarioError(
            f"{self.source}: no archetype {name!r}; have {[a.name for a in self.archetypes]}."
        )

    def shop_archetypes(self) -> list[int]:
        """Archetype index of each shop (contiguous blocks in archetype order).

        Counts are ``share * shops`` rounded by largest remainder; when there are at
        least as many shops as archetypes, every archetype with a positive share gets
        at least one shop.
        """
        raw = [a.share * self.shops for a in self.archetypes]
        counts = [int(math.floor(x)) for x in raw]
        rest = self.shops - sum(counts)
        order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - counts[i]), i))
        for i in order[:rest]:
            counts[i] += 1
        positive = [i for i, a in enumerate(self.archetypes) if a.share > 0]
        if self.shops >= len(positive):
            for i in positive:
                if counts[i] == 0:
                    j = max(range(len(counts)), key=lambda k: (counts[k], -k))
                    counts[j] -= 1
                    counts[i] += 1
        out: list[int] = []
        for i, c in enumerate(counts):
            out.extend([i] * c)
        return out

    def with_change(self, what_if: WhatIf | str) -> Scenario:
        """The scenario with one what-if variant applied (by object or by name).

        Example:
            >>> sc = Scenario.from_dict({"name": "d", "shops": 2,
            ...     "period": {"start": "2025-08-15", "days": 7},
            ...     "archetypes": {"solo_weekdays": {"share": 1.0}}})
            >>> sc.with_change(WhatIf("bots", {"auto_reply_rate": 0.9})).archetypes[0].auto_reply_rate
            0.9
        """
        if isinstance(what_if, str):
            found = [w for w in self.analysis.what_if if w.name == what_if]
            if not found:
                raise ScenarioError(
                    f"{self.source}: analysis.what_if: no variant named {what_if!r}; "
                    f"have {[w.name for w in self.analysis.what_if]}."
                )
            what_if = found[0]
        names = [a.name for a in self.archetypes]
        if what_if.archetype is not None and what_if.archetype not in names:
            raise ScenarioError(
                f"{self.source}: what-if {what_if.name!r}: no archetype {what_if.archetype!r}; "
                f"have {names}."
            )
        path = f"what-if {what_if.name!r}.set"
        new = tuple(
            dataclasses.replace(
                _parse_archetype_params(dict(what_if.set), a, self.source, path), share=a.share
            )
            if what_if.archetype in (None, a.name)
            else a
            for a in self.archetypes
        )
        return dataclasses.replace(self, name=f"{self.name} + {what_if.name}", archetypes=new)

    def scaled(self, *, shops: int | None = None, days: int | None = None) -> Scenario:
        """The same scenario with fewer/more shops or days (for quick runs).

        A ``drilldown_shop`` that no longer exists is dropped.
        """
        n = self.shops if shops is None else shops
        nd = self.period.days if days is None else days
        if n < 1 or nd < 1:
            raise ScenarioError(f"{self.source}: scaled(): shops and days must be >= 1.")
        an = self.analysis
        if an.drilldown_shop is not None and an.drilldown_shop not in set(shop_ids(n)):
            an = dataclasses.replace(an, drilldown_shop=None)
        return dataclasses.replace(self, shops=n, period=Period(self.period.start, nd), analysis=an)


def _list(v: Any, source: str, path: str) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list | tuple):
        raise _err(source, path, f"expected a list, got {type(v).__name__} {v!r}.")
    return list(v)


def _parse_campaign(v: Any, source: str, path: str) -> Campaign:
    c = _mapping(v, source, path)
    _check_keys(c, ["date", "multiplier", "hours"], source, path)
    if "date" not in c or "multiplier" not in c:
        raise _err(source, path, "a campaign needs 'date' and 'multiplier'.")
    hours = None
    if c.get("hours") is not None:
        hs = _list(c["hours"], source, f"{path}.hours")
        hours = tuple(
            sorted({_int(h, source, f"{path}.hours[{i}]", minimum=0) for i, h in enumerate(hs)})
        )
        if any(h > 23 for h in hours) or not hours:
            raise _err(source, f"{path}.hours", f"expected buyer-local hours 0-23, got {hs!r}.")
    return Campaign(
        _date(c["date"], source, f"{path}.date"),
        _float(c["multiplier"], source, f"{path}.multiplier", lo=0.0),
        hours,
    )


def _parse_satisfaction(v: Any, source: str) -> Satisfaction:
    d = _mapping(v or {}, source, "satisfaction")
    keys = [f.name for f in fields(Satisfaction)]
    _check_keys(d, keys, source, "satisfaction")
    vals: dict[str, float] = {}
    for k, x in d.items():
        p = f"satisfaction.{k}"
        if k in ("max", "faq"):
            vals[k] = _prob(x, source, p)
        elif k == "scale_hours":
            vals[k] = _float(x, source, p, lo=0.0, lo_open=True)
        else:
            vals[k] = _float(x, source, p)
    return Satisfaction(**vals)


def _parse_analysis(v: Any, source: str, archetypes: tuple[Archetype, ...], shops: int) -> Analysis:
    d = _mapping(v, source, "analysis")
    _check_keys(d, [f.name for f in fields(Analysis)], source, "analysis")
    out: dict[str, Any] = {}
    if "rules" in d:
        rules = _list(d["rules"], source, "analysis.rules")
        if not rules:
            raise _err(source, "analysis.rules", "needs at least one rule.")
        parsed = []
        for i, r in enumerate(rules):
            p = f"analysis.rules[{i}]"
            r = _str(r, source, p)
            if r.endswith((".yaml", ".yml")):
                base = Path(source).parent if Path(source).exists() else Path.cwd()
                if not (base / r).exists() and not Path(r).exists():
                    raise _err(source, p, f"rule file {r!r} not found (relative to {base}).")
            elif not _RULE_NAME_RE.match(r):
                raise _err(
                    source,
                    p,
                    f"{r!r} is neither a built-in rule name (e.g. 'legacy-24h', 'new-12h') "
                    "nor a path to a rule YAML file.",
                )
            parsed.append(r)
        out["rules"] = tuple(parsed)
    if "targets" in d:
        ts = _list(d["targets"], source, "analysis.targets")
        if not ts:
            raise _err(source, "analysis.targets", "needs at least one target.")
        vals = []
        for i, t in enumerate(ts):
            x = _float(t, source, f"analysis.targets[{i}]")
            if not 0.0 < x <= 1.0:
                raise _err(
                    source,
                    "analysis.targets",
                    f"target {t!r} (item {i}) is outside (0, 1]; targets are shares, "
                    "write 0.85 for 85 %.",
                )
            vals.append(x)
        out["targets"] = tuple(vals)
    if "windows_hours" in d:
        ws = _list(d["windows_hours"], source, "analysis.windows_hours")
        if not ws:
            raise _err(source, "analysis.windows_hours", "needs at least one window.")
        out["windows_hours"] = tuple(
            _float(w, source, f"analysis.windows_hours[{i}]", lo=0.0, lo_open=True)
            for i, w in enumerate(ws)
        )
    if d.get("drilldown_shop") is not None:
        s = _str(d["drilldown_shop"], source, "analysis.drilldown_shop")
        ids = shop_ids(shops)
        if s not in set(ids):
            raise _err(
                source,
                "analysis.drilldown_shop",
                f"no shop {s!r} in this scenario; shop ids run {ids[0]} .. {ids[-1]}.",
            )
        out["drilldown_shop"] = s
    if "what_if" in d:
        names = [a.name for a in archetypes]
        items = []
        seen: set[str] = set()
        for i, w in enumerate(_list(d["what_if"], source, "analysis.what_if")):
            p = f"analysis.what_if[{i}]"
            wd = _mapping(w, source, p)
            _check_keys(wd, ["name", "archetype", "set"], source, p)
            if "name" not in wd or "set" not in wd:
                raise _err(source, p, "a what-if needs 'name' and 'set'.")
            wname = _str(wd["name"], source, f"{p}.name")
            if wname in seen:
                raise _err(source, f"{p}.name", f"duplicate what-if name {wname!r}.")
            seen.add(wname)
            arch = wd.get("archetype")
            if arch is not None and arch not in names:
                close = difflib.get_close_matches(str(arch), names, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise _err(
                    source,
                    f"{p}.archetype",
                    f"no archetype {arch!r} in this scenario.{hint} Allowed: {', '.join(names)}.",
                )
            sets = _mapping(wd["set"], source, f"{p}.set")
            if not sets:
                raise _err(source, f"{p}.set", "needs at least one parameter to change.")
            if "share" in sets:
                raise _err(source, f"{p}.set.share", "a what-if cannot change shares.")
            for a in archetypes:  # validate keys and values against each affected archetype
                if arch in (None, a.name):
                    _parse_archetype_params(sets, a, source, f"{p}.set")
            items.append(WhatIf(wname, _plain(sets), arch))
        out["what_if"] = tuple(items)
    return Analysis(**out)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file.

    Example:
        >>> sc = load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
        >>> sc.shops  # doctest: +SKIP
        300
    """
    p = Path(path)
    if not p.exists():
        raise ScenarioError(f"{p}: no such scenario file.")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{p}: not valid YAML: {exc}") from exc
    if data is None:
        raise ScenarioError(f"{p}: the file is empty.")
    return Scenario.from_dict(data, source=str(p))
