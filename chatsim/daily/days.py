"""The days of a daily evaluation and their cutoffs: each day's end in a time zone.

:func:`day_range` reads the range (dates, both included), :func:`day_end` gives a day's
cutoff (the last microsecond of the day, local), :func:`check_zone` names an unknown zone
and :func:`cutoff_matrix` gives every zone's cutoffs as epoch microseconds (one row per
zone, ascending), what the incremental evaluation maps instants onto.

Example:
    >>> cutoff_matrix([dt.date(2025, 8, 4)], ["UTC"]).tolist()
    [[1754351999999999]]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from chatsim.engine import epoch_us
from chatsim.errors import RuleError

__all__ = ["MAX_DAYS", "check_zone", "cutoff_matrix", "day_end", "day_range"]

#: Longest range :func:`~chatsim.daily.compare_daily` takes, in days (about three years).
MAX_DAYS = 1_100


def day_end(day: dt.date, zone: str) -> dt.datetime:
    """The cutoff (UTC) of ``day`` in ``zone``: one microsecond before the next local midnight.

    A message at the next midnight belongs to the next day; with the trailing period
    ``(cutoff - 30 d, cutoff]`` the period is the 30 local days ending with ``day`` (on a
    day without a DST change).

    Example:
        >>> day_end(dt.date(2025, 8, 15), "Asia/Jakarta")
        datetime.datetime(2025, 8, 15, 16, 59, 59, 999999, tzinfo=datetime.timezone.utc)
    """
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo(zone))
    return midnight.astimezone(dt.UTC) - dt.timedelta(microseconds=1)


def day_range(start: dt.date | str, end: dt.date | str) -> list[dt.date]:
    """Every day from ``start`` to ``end``, both included (dates or ``YYYY-MM-DD``).

    Example:
        >>> day_range("2025-08-14", "2025-08-16")[-1]
        datetime.date(2025, 8, 16)
        >>> day_range("2025-08-16", "2025-08-14")
        Traceback (most recent call last):
        ...
        chatsim.errors.RuleError: daily range: the end 2025-08-14 is before the start 2025-08-16; give START..END with START first.
    """
    first, last = _date(start, "start"), _date(end, "end")
    if last < first:
        raise RuleError(
            f"daily range: the end {last} is before the start {first}; "
            "give START..END with START first."
        )
    n = (last - first).days + 1
    if n > MAX_DAYS:
        raise RuleError(f"daily range: {n:,} days is more than {MAX_DAYS:,}; split the range.")
    return [first + dt.timedelta(days=i) for i in range(n)]


def _date(v: dt.date | str, what: str) -> dt.date:
    if isinstance(v, dt.datetime):
        raise RuleError(f"daily range: the {what} must be a date, not a time; got {v}.")
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        raise RuleError(
            f"daily range: the {what} {v!r} is not a date; write it as YYYY-MM-DD."
        ) from None


def check_zone(zone: str | None) -> str | None:
    """``zone`` if it is a known IANA time zone (or None), else :class:`RuleError`.

    Example:
        >>> check_zone("Mars/Olympus")
        Traceback (most recent call last):
        ...
        chatsim.errors.RuleError: zone 'Mars/Olympus' is not a known time zone; give an IANA name such as 'Asia/Jakarta' or 'UTC', or leave it out for each shop's own zone.
    """
    if zone is None:
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError(
            f"zone {zone!r} is not a known time zone; give an IANA name such as "
            "'Asia/Jakarta' or 'UTC', or leave it out for each shop's own zone."
        ) from None
    return zone


def cutoff_matrix(days: Sequence[dt.date], zones: Sequence[str]) -> np.ndarray:
    """Each zone's day ends (:func:`day_end`) as epoch microseconds: int64, one row per
    zone (in the order given), one column per day, ascending along each row."""
    return np.array(
        [[epoch_us(day_end(d, z)) for d in days] for z in zones], dtype=np.int64
    ).reshape(len(zones), len(days))
