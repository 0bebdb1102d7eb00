"""Weekly schedules: working hours per weekday, one value object for rules and scenarios.

A :class:`WeeklySchedule` maps each weekday (``mon`` .. ``sun``) to its working ranges,
local wall-clock times written ``"HH:MM-HH:MM"`` (``9:00`` and ``09:00`` both work;
``24:00`` ends a day). A rule's business clock (``Rule.business_schedule``) and a
scenario archetype's staff hours (``Archetype.schedule``) are both one of these, so
they are parsed, checked and written the same way. Weekdays are written as three
letters or in full, in any case (``mon``, ``Mon``, ``Monday``); a day left out is off
(or, with ``base``, keeps the base's ranges).

Example:
    >>> s = WeeklySchedule.parse({"mon": ["9:00-12:00", "13:00-18:00"], "Saturday": "10:00-14:00"})
    >>> s["mon"], s["sat"], s["sun"]
    (('09:00-12:00', '13:00-18:00'), ('10:00-14:00',), ())
    >>> s.week_minutes()[:2]
    [(540, 720), (780, 1080)]
    >>> WeeklySchedule.parse(s.to_dict()) == s
    True
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from itertools import pairwise
from typing import Any

from chatsim.errors import ChatsimError
from chatsim.yamlfile import shown

__all__ = ["WEEKDAYS", "WeeklySchedule", "local_to_utc"]

#: The weekdays, Monday first, as schedules and their YAML files name them.
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_KEYS = {name: i for names in (WEEKDAYS, _FULL_NAMES) for i, name in enumerate(names)}
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_DAY_MINUTES = 24 * 60
_EXPECTED_RANGE = "expected a time range 'HH:MM-HH:MM' (e.g. '09:00-18:00')"

Minutes = tuple[int, int]  # a working range as minutes after local midnight, end exclusive


class WeeklySchedule(Mapping[str, tuple[str, ...]]):
    """Working ranges per weekday; immutable, hashable, compares equal to the same mapping.

    As a mapping it reads ``weekday -> ("HH:MM-HH:MM", ...)`` (always all seven days,
    ranges sorted and written with two-digit hours); :meth:`minutes` gives the same
    ranges as minutes after midnight. Build one with :meth:`parse` (or the constructor,
    which parses with the default error type).

    Example:
        >>> office = WeeklySchedule.on(WEEKDAYS[:5], "09:00-18:00")
        >>> office["fri"], office["sat"], office.working_days()
        (('09:00-18:00',), (), (0, 1, 2, 3, 4))
        >>> office == {d: ("09:00-18:00",) if d not in ("sat", "sun") else () for d in WEEKDAYS}
        True
    """

    __slots__ = ("_days",)
    _days: tuple[tuple[Minutes, ...], ...]

    def __init__(self, days: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_days", _parse_days({} if days is None else days))

    # ---------------------------------------------------------------- construction
    @classmethod
    def parse(
        cls,
        raw: Any,
        *,
        where: str = "schedule",
        error: type[ChatsimError] = ChatsimError,
        base: WeeklySchedule | None = None,
    ) -> WeeklySchedule:
        """Validate ``{"mon": ["09:00-18:00"], ...}`` into a schedule.

        ``where`` starts every message (the file and key path, e.g.
        ``"scenarios/x.yaml: archetypes.solo.schedule"``); problems raise ``error``.
        Days left out are off, or keep the ranges of ``base`` when it is given.

        Example:
            >>> WeeklySchedule.parse({"tue": "8:30-12:00"}, base=WeeklySchedule.on(WEEKDAYS, "09:00-17:00"))["tue"]
            ('08:30-12:00',)
            >>> WeeklySchedule.parse({"mon": ["18:00-09:00"]}, where="hours")
            Traceback (most recent call last):
            ...
            chatsim.errors.ChatsimError: hours.mon[0]: '18:00-09:00' ends before it starts; split ranges crossing midnight into two days (e.g. mon: ['22:00-24:00'], tue: ['00:00-02:00']).
        """
        if isinstance(raw, WeeklySchedule) and base is None:
            return raw
        out = cls.__new__(cls)
        object.__setattr__(out, "_days", _parse_days(raw, where, error, base))
        return out

    @classmethod
    def on(cls, days: Iterable[str], *ranges: str) -> WeeklySchedule:
        """The same ``ranges`` on each of ``days``, every other day off.

        Example:
            >>> WeeklySchedule.on(["sat", "sun"], "10:00-14:00")["sun"]
            ('10:00-14:00',)
        """
        return cls.parse({d: list(ranges) for d in days})

    # ---------------------------------------------------------------- reading
    def minutes(self, day: int | str) -> tuple[Minutes, ...]:
        """The ranges of one weekday (0 = Monday, or a name) as (start, end) minutes after midnight.

        Example:
            >>> WeeklySchedule.parse({"mon": ["09:30-24:00"]}).minutes("mon")
            ((570, 1440),)
        """
        i = day if isinstance(day, int) else _weekday(day)
        if i is None or not 0 <= i < len(WEEKDAYS):
            raise KeyError(day)
        return self._days[i]

    def working_days(self) -> tuple[int, ...]:
        """The weekdays (0 = Monday) with at least one working range."""
        return tuple(i for i, ranges in enumerate(self._days) if ranges)

    def week_minutes(self) -> list[Minutes]:
        """Every working range as (start, end) minutes from Monday 00:00, sorted.

        Example:
            >>> WeeklySchedule.parse({"tue": ["09:00-10:00"]}).week_minutes()
            [(1980, 2040)]
        """
        return [
            (i * _DAY_MINUTES + a, i * _DAY_MINUTES + b)
            for i, day in enumerate(self._days)
            for a, b in day
        ]

    def utc_intervals(
        self, day: dt.date, tz: dt.tzinfo, ranges: Iterable[Minutes] | None = None
    ) -> list[tuple[float, float]]:
        """The working ranges of the local date ``day`` in zone ``tz`` as POSIX seconds.

        ``ranges`` replaces the day's own ranges (e.g. a day off worked at another
        day's hours). See :func:`local_to_utc` for DST changes.

        Example:
            >>> from zoneinfo import ZoneInfo
            >>> s = WeeklySchedule.parse({"fri": ["09:00-18:00"]})
            >>> s.utc_intervals(dt.date(2025, 8, 15), ZoneInfo("Asia/Ho_Chi_Minh"))  # 02:00-11:00 UTC
            [(1755223200.0, 1755255600.0)]
        """
        own = self._days[day.weekday()] if ranges is None else ranges
        return [(local_to_utc(day, a, tz), local_to_utc(day, b, tz)) for a, b in own]

    # ---------------------------------------------------------------- writing
    def to_dict(self) -> dict[str, list[str]]:
        """The YAML form: every weekday with its list of ``"HH:MM-HH:MM"`` ranges."""
        return {
            d: [_fmt(r) for r in ranges] for d, ranges in zip(WEEKDAYS, self._days, strict=True)
        }

    # ---------------------------------------------------------------- the mapping protocol
    def __getitem__(self, day: str) -> tuple[str, ...]:
        i = _weekday(day)
        if i is None:
            raise KeyError(day)
        return tuple(_fmt(r) for r in self._days[i])

    def __iter__(self) -> Iterator[str]:
        return iter(WEEKDAYS)

    def __len__(self) -> int:
        return len(WEEKDAYS)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WeeklySchedule):
            return self._days == other._days
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._days)

    def __repr__(self) -> str:
        working = {d: r for d, r in self.to_dict().items() if r}
        return f"WeeklySchedule({working!r})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a WeeklySchedule cannot be changed; build a new one with parse()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("a WeeklySchedule cannot be changed; build a new one with parse()")

    def __reduce__(self) -> tuple[Any, ...]:
        return (WeeklySchedule, (self.to_dict(),))

    def __copy__(self) -> WeeklySchedule:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> WeeklySchedule:
        return self


def local_to_utc(day: dt.date, minute: int, tz: dt.tzinfo) -> float:
    """POSIX seconds of the wall-clock time ``minute`` minutes after 00:00 of ``day`` in ``tz``.

    ``1440`` is the next day's midnight. A wall time a DST change skips or repeats
    resolves the way :mod:`zoneinfo` does with ``fold=0`` (the offset before the change).

    Example:
        >>> from zoneinfo import ZoneInfo
        >>> local_to_utc(dt.date(2025, 8, 15), 9 * 60, ZoneInfo("Asia/Ho_Chi_Minh"))
        1755223200.0
    """
    base = dt.datetime.combine(day, dt.time())
    return (base + dt.timedelta(minutes=minute)).replace(tzinfo=tz).timestamp()


# --------------------------------------------------------------------------------------
# parsing (one set of messages for every caller)
# --------------------------------------------------------------------------------------


def _weekday(key: object) -> int | None:
    return _KEYS.get(str(key).strip().lower()) if isinstance(key, str) else None


def _fmt(r: Minutes) -> str:
    (h1, m1), (h2, m2) = divmod(r[0], 60), divmod(r[1], 60)
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def _parse_days(
    raw: Any,
    where: str = "schedule",
    error: type[ChatsimError] = ChatsimError,
    base: WeeklySchedule | None = None,
) -> tuple[tuple[Minutes, ...], ...]:
    if not isinstance(raw, Mapping):
        raise error(
            f"{where}: expected a mapping of weekday -> list of 'HH:MM-HH:MM' ranges "
            f"(e.g. {{mon: ['09:00-18:00']}}), got {type(raw).__name__} {shown(raw)}."
        )
    days: list[tuple[Minutes, ...]] = list(base._days) if base is not None else [()] * 7
    given: dict[int, str] = {}
    for key, value in raw.items():
        plain = isinstance(key, str) and key.isprintable() and len(key) <= 60
        path = f"{where}.{key if plain else shown(key, 60)}"
        i = _weekday(key)
        if i is None:
            close = difflib.get_close_matches(str(key).strip().lower()[:50], list(_KEYS), n=1)
            hint = f" Did you mean '{WEEKDAYS[_KEYS[close[0]]]}'?" if close else ""
            raise error(
                f"{path}: unknown weekday.{hint} "
                f"Use one of {', '.join(WEEKDAYS)} (or the full name, e.g. 'monday')."
            )
        if i in given:
            raise error(f"{path}: {WEEKDAYS[i]} is already given as {given[i]!r}; list it once.")
        given[i] = str(key)
        days[i] = _parse_day(value, path, error)
    return tuple(days)


def _parse_day(value: Any, path: str, error: type[ChatsimError]) -> tuple[Minutes, ...]:
    if value is None:
        value = []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise error(f"{path}: expected a list of 'HH:MM-HH:MM' ranges, got {shown(value)}.")
    ranges = sorted(_parse_range(r, f"{path}[{j}]", error) for j, r in enumerate(value))
    for a, b in pairwise(ranges):
        if b[0] < a[1]:
            raise error(f"{path}: ranges {_fmt(a)!r} and {_fmt(b)!r} overlap.")
    return tuple(ranges)


def _parse_range(v: Any, path: str, error: type[ChatsimError]) -> Minutes:
    m = _RANGE.match(v.strip()) if isinstance(v, str) else None
    if m is None:
        raise error(f"{path}: {_EXPECTED_RANGE}, got {shown(v)}.")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > _DAY_MINUTES:
        raise error(
            f"{path}: {shown(v)} is not a valid time range (hours 00-24, minutes 00-59; "
            "24:00 only as an end)."
        )
    if end == start:
        raise error(f"{path}: {shown(v)} is empty: it ends when it starts.")
    if end < start:
        raise error(
            f"{path}: {shown(v)} ends before it starts; split ranges crossing midnight into two days "
            "(e.g. mon: ['22:00-24:00'], tue: ['00:00-02:00'])."
        )
    return start, end
