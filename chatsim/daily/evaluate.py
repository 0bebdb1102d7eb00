"""Daily evaluation: the shop table as it stands at the end of every day of a range.

Shop Health is recomputed every day over the trailing period. :func:`compare_daily`
gives, for every day of ``[start, end]``, every rule and every shop, the row of the shop
table that :func:`chatsim.metrics.compare` gives with ``as_of`` at that day's end
(:func:`~chatsim.daily.days.day_end`: the last microsecond of the day, in the shop's own
time zone or in a stated ``zone``), plus whether the rule is in force that day
(``in_force``, ``effective_from`` / ``effective_until``) and shown (``visible``,
``visible_from``).

Incrementally: the chats are built once, at the last cutoff, with each chat's instants
(:mod:`chatsim.daily.instants`); every chat's state at every cutoff follows from them and
is added up per shop and day (:mod:`chatsim.daily.timeline`); the engine's own finishing
stage makes the tables (:mod:`chatsim.daily.tables`). A rule the incremental path does
not cover (:func:`~chatsim.daily.support.incremental_supported`) is evaluated by one
``compare(..., as_of=day_end)`` per day and time zone (:func:`per_day_tables`). Either way
the figures are those of separate ``compare`` runs, row for row (docs/metrics.md, "Daily
evaluation").

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.rules import NEW_12H
    >>> d = compare_daily(sample_log(), [NEW_12H], start="2025-09-10", end="2025-09-11", zone="UTC")
    >>> d.select("day", "shop_id", "in_force").head(2).rows()
    [(datetime.date(2025, 9, 10), 'shop_a', True), (datetime.date(2025, 9, 10), 'shop_b', True)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from chatsim.daily.days import check_zone, day_end, day_range
from chatsim.daily.instants import DayGrid, rule_instants
from chatsim.daily.support import incremental_supported
from chatsim.daily.tables import daily_shop_table
from chatsim.daily.timeline import accumulate
from chatsim.engine import RATING_CODE, REASON_CODE
from chatsim.errors import EngineError
from chatsim.metrics import check_rule_list, compare
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from chatsim.schema import ChatLog, read_log

__all__ = [
    "DAILY_KEY",
    "SPARK_REFUSAL",
    "compare_daily",
    "daily_summary",
    "incremental_tables",
    "per_day_tables",
]

#: Why :func:`compare_daily` refuses the Spark engine, and what to use instead.
SPARK_REFUSAL = (
    "daily evaluation is not supported on Spark; use the polars engine (in memory) or the "
    'buckets engine (engine="buckets", chatsim metrics --daily ... --buckets auto) for a log '
    "larger than memory (docs/spark.md)."
)
#: The columns that identify a row of :func:`compare_daily` (then the shop table's).
DAILY_KEY: tuple[str, ...] = ("day", "as_of", "rule", "in_force", "visible")


def compare_daily(
    log: ChatLog | str | Path,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    *,
    start: dt.date | str,
    end: dt.date | str,
    zone: str | None = None,
    engine: str = "polars",
    lenient: bool = False,
    **options: Any,
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

    ``engine``: ``"polars"`` (in memory; ``lenient`` for a path as in ``read_log``) or
    ``"buckets"`` (a log folder larger than memory, bucket by bucket:
    :func:`chatsim.scale.daily.compare_daily_dataset`, which takes the ``options``);
    ``"spark"`` is refused (:data:`SPARK_REFUSAL`).

    Example:
        >>> from chatsim.sample import sample_log
        >>> d = compare_daily(sample_log(), start="2025-09-12", end="2025-09-13")
        >>> d.height, d["day"].n_unique(), d["rule"].unique(maintain_order=True).to_list()
        (16, 2, ['legacy-24h', 'new-12h'])
        >>> compare_daily(sample_log(), start="2025-09-12", end="2025-09-12", engine="spark")
        Traceback (most recent call last):
        ...
        chatsim.errors.EngineError: daily evaluation is not supported on Spark; use the polars engine (in memory) or the buckets engine (engine="buckets", chatsim metrics --daily ... --buckets auto) for a log larger than memory (docs/spark.md).
    """
    rules = check_rule_list(rules, "compare_daily()")
    days = day_range(start, end)
    check_zone(zone)
    if engine == "spark":
        raise EngineError(SPARK_REFUSAL)
    if engine == "buckets":
        if isinstance(log, ChatLog):
            raise EngineError(
                "the buckets engine reads the log from its files; give the path "
                "(this log is already in memory: use engine='polars')."
            )
        from chatsim.scale.daily import compare_daily_dataset

        return compare_daily_dataset(
            log, rules, start=days[0], end=days[-1], zone=zone, lenient=lenient, **options
        )
    if engine != "polars":
        raise EngineError(f"unknown engine {engine!r} for daily evaluation; use polars or buckets.")
    if options:
        raise EngineError(
            f"the polars engine of compare_daily takes no option {', '.join(map(repr, options))}; "
            "they are options of engine='buckets'."
        )
    if not isinstance(log, ChatLog):
        log = read_log(log, lenient=lenient)
    fast = [r for r in rules if incremental_supported(r)]
    slow = [r for r in rules if not incremental_supported(r)]
    tables = {**incremental_tables(log, fast, days, zone), **per_day_tables(log, slow, days, zone)}
    return _daily_frame([tables[r.name] for r in rules], rules, days)


def _daily_frame(
    tables: Sequence[pl.DataFrame], rules: Sequence[Rule], days: Sequence[dt.date]
) -> pl.DataFrame:
    """The rules' daily tables as one, with the rule dates, sorted and the key first."""
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
    columns = tables[0].columns
    out = pl.concat([t.select(columns) for t in tables], how="vertical_relaxed")
    out = out.join(force, on=["day", "rule"], how="left", maintain_order="left")
    out = out.with_columns(_order=pl.col("rule").replace_strict(order, return_dtype=pl.Int32))
    out = out.sort("day", "_order", "shop_id").drop("_order")
    rest = [c for c in out.columns if c not in DAILY_KEY]
    return out.select(*DAILY_KEY, *rest)


def incremental_tables(
    log: ChatLog, rules: Sequence[Rule], days: Sequence[dt.date], zone: str | None
) -> dict[str, pl.DataFrame]:
    """Each rule's daily shop table (``day``, ``as_of``, the shop table's columns), computed
    incrementally (every rule must pass :func:`incremental_supported`).

    Example:
        >>> from chatsim.sample import sample_log
        >>> t = incremental_tables(sample_log(), [NEW_12H], [dt.date(2025, 9, 12)], "UTC")
        >>> t["new-12h"].height
        4
    """
    out: dict[str, pl.DataFrame] = {}
    if not rules:
        return out

    def table(rule: Rule, chats: dict, grid: DayGrid) -> pl.DataFrame:
        counts, resp_sum, med = accumulate(
            chats,
            grid.cut,
            log.shops.height,
            pos_blk=REASON_CODE["blocked"],
            pos_auto=REASON_CODE["auto_resolved"],
            n_reasons=len(REASON_CODE),
            sat_code=RATING_CODE["satisfied"],
        )
        del chats
        return daily_shop_table(rule, counts, resp_sum, med, grid, log.shops)

    # each rule's counts are added up while the next rule's chats are judged
    with ThreadPoolExecutor(1, thread_name_prefix="chatsim-daily") as pool:
        running: tuple[str, Future[pl.DataFrame]] | None = None
        for rule, chats, grid in rule_instants(log, rules, days, zone):
            if running is not None:
                out[running[0]] = running[1].result()
            running = (rule.name, pool.submit(table, rule, chats, grid))
            del chats
        if running is not None:
            out[running[0]] = running[1].result()
    return out


def per_day_tables(
    log: ChatLog, rules: Sequence[Rule], days: Sequence[dt.date], zone: str | None
) -> dict[str, pl.DataFrame]:
    """Each rule's daily shop table by one ``compare(..., as_of=day_end, chats=False)`` per
    day and time zone, on the shops of that zone (the log split by zone once).

    Example:
        >>> from chatsim.sample import sample_log
        >>> t = per_day_tables(sample_log(), [NEW_12H], [dt.date(2025, 9, 12)], "UTC")
        >>> t["new-12h"].columns[:3]
        ['rule', 'shop_id', 'timezone']
    """
    if not rules:
        return {}
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
    out = pl.concat(frames, how="vertical_relaxed")
    return {r.name: out.filter(pl.col("rule") == r.name) for r in rules}


def _zone_logs(log: ChatLog, zone: str | None) -> list[tuple[str, ChatLog]]:
    """The log split by the zone whose day ends count: one part per shop zone, or one."""
    if zone is not None:
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
