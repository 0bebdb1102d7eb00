"""Daily evaluation: the shop table as it stands at the end of every day of a range.

Shop Health is recomputed every day over the trailing period. :func:`compare_daily`
gives, for every day of ``[start, end]``, every rule and every shop, the row of the shop
table that :func:`chatsim.metrics.compare` gives with ``as_of`` at that day's end
(:func:`day_end`: the last microsecond of the day, in the shop's own time zone or in a
stated ``zone``), plus whether the rule is in force that day (``in_force``,
``effective_from`` / ``effective_until``) and shown (``visible``, ``visible_from``).

The figures are those separate ``compare`` runs give, row for row, by construction: each
day and time zone is one ``compare(..., as_of=day_end, chats=False)`` on the shops of that
zone, so everything that moves with the cutoff (pending chats answered later, blocks
taking effect by date, automatic-reply resolution a later message undoes, ratings given
later, messages after the cutoff, the trailing period anchored at it) is exactly as in a
single run. The log is read and split by zone once; each run reads only its zone's
messages. See docs/metrics.md ("Daily evaluation") for the cost.

Example:
    >>> import datetime as dt
    >>> from chatsim.sample import sample_log
    >>> from chatsim.rules import NEW_12H
    >>> d = compare_daily(sample_log(), [NEW_12H], start="2025-09-10", end="2025-09-11", zone="UTC")
    >>> d.select("day", "shop_id", "in_force").head(2).rows()
    [(datetime.date(2025, 9, 10), 'shop_a', True), (datetime.date(2025, 9, 10), 'shop_b', True)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from chatsim.errors import RuleError
from chatsim.metrics import check_rule_list, compare
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from chatsim.schema import ChatLog, read_log

__all__ = ["DAILY_KEY", "MAX_DAYS", "compare_daily", "daily_summary", "day_end", "day_range"]

#: The columns that identify a row of :func:`compare_daily` (then the shop table's).
DAILY_KEY: tuple[str, ...] = ("day", "as_of", "rule", "in_force", "visible")
#: Longest range :func:`compare_daily` takes, in days (about three years).
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


def _zone_logs(log: ChatLog, zone: str | None) -> list[tuple[str, ChatLog]]:
    """The log split by the zone whose day ends count: one part per shop zone, or one."""
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise RuleError(
                f"zone {zone!r} is not a known time zone; give an IANA name such as "
                "'Asia/Jakarta' or 'UTC', or leave it out for each shop's own zone."
            ) from None
        return [(zone, log)]
    parts = []
    for (tz,), shops in log.shops.partition_by(
        "timezone", as_dict=True, maintain_order=True
    ).items():
        keep = pl.col("shop_id").is_in(shops["shop_id"].implode())
        parts.append(
            (
                str(tz),
                ChatLog(
                    messages=log.messages.filter(keep),
                    shops=shops,
                    holiday_mode=log.holiday_mode.filter(keep),
                    blocked=log.blocked.filter(keep),
                    source=log.source,
                    dropped=log.dropped,
                ),
            )
        )
    return sorted(parts, key=lambda p: p[0])


def compare_daily(
    log: ChatLog | str | Path,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    *,
    start: dt.date | str,
    end: dt.date | str,
    zone: str | None = None,
) -> pl.DataFrame:
    """The shop table at the end of every day of ``[start, end]``, for every rule and shop.

    One row per day, rule and shop: ``day``, ``as_of`` (the cutoff, UTC: :func:`day_end`
    in the shop's zone, or in ``zone``), ``rule``, ``in_force`` and ``visible`` (the rule's
    dates, :meth:`Rule.in_force` / :meth:`Rule.visible`), then the columns of
    ``compare(...).shops`` (counted, in time, pending, rate and its interval, meets target,
    tier, confidence...), equal to a ``compare(log, rules, as_of=cutoff)`` run. Sorted by
    day, rule (in the order given) and shop. ``log`` is a :class:`ChatLog` or a path
    :func:`~chatsim.schema.read_log` reads. Effective dates do not change the figures:
    every rule is evaluated every day, and ``in_force`` says which one counts.

    Example:
        >>> from chatsim.sample import sample_log
        >>> d = compare_daily(sample_log(), start="2025-09-12", end="2025-09-13")
        >>> d.height, d["day"].n_unique(), d["rule"].unique(maintain_order=True).to_list()
        (16, 2, ['legacy-24h', 'new-12h'])
    """
    rules = check_rule_list(rules, "compare_daily()")
    days = day_range(start, end)
    if not isinstance(log, ChatLog):
        log = read_log(log)
    order = {r.name: i for i, r in enumerate(rules)}
    force = pl.DataFrame(
        {
            "day": [d for r in rules for d in days],
            "rule": [r.name for r in rules for _ in days],
            "in_force": [r.in_force(d) for r in rules for d in days],
            "visible": [r.visible(d) for r in rules for d in days],
        },
        schema={"day": pl.Date, "rule": pl.String, "in_force": pl.Boolean, "visible": pl.Boolean},
    )
    frames = []
    for tz, part in _zone_logs(log, zone):
        for day in days:
            cutoff = day_end(day, tz)
            shops = compare(part, rules, as_of=cutoff, chats=False).shops
            frames.append(
                shops.with_columns(
                    day=pl.lit(day, dtype=pl.Date),
                    as_of=pl.lit(cutoff, dtype=pl.Datetime("us", "UTC")),
                )
            )
    out = pl.concat(frames, how="vertical_relaxed").join(
        force, on=["day", "rule"], how="left", maintain_order="left"
    )
    out = out.with_columns(_order=pl.col("rule").replace_strict(order, return_dtype=pl.Int32))
    out = out.sort("day", "_order", "shop_id").drop("_order")
    rest = [c for c in out.columns if c not in DAILY_KEY]
    return out.select(*DAILY_KEY, *rest)


def daily_summary(daily: pl.DataFrame) -> pl.DataFrame:
    """Per rule, in force or not: the days covered and the mean share of rated shops meeting
    the target over those days (what ``chatsim metrics --daily`` prints).

    Example:
        >>> import datetime as dt
        >>> from chatsim.sample import sample_log
        >>> d = compare_daily(sample_log(), start=dt.date(2025, 9, 10), end=dt.date(2025, 9, 11))
        >>> daily_summary(d).columns
        ['rule', 'in_force', 'days', 'share_meeting_target']
    """
    return (
        daily.filter(pl.col("response_rate").is_not_null())
        .group_by("rule", "in_force")
        .agg(
            pl.col("day").n_unique().alias("days"),
            pl.col("meets_target").mean().alias("share_meeting_target"),
        )
        .sort("rule", "in_force")
    )
