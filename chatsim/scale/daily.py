"""The daily shop table of a log larger than memory: :func:`compare_daily_dataset`.

A shop's daily rows depend only on its own messages and side-table rows, so the daily
table of a log is the daily tables of buckets of whole shops put together. This module
runs :func:`chatsim.daily.compare_daily` per bucket on the larger-than-memory path's
plan (:func:`~chatsim.scale.plan.plan_log`, the global id checks, the file buckets or the
repartition, several buckets at once: :func:`~chatsim.scale.run.run_buckets`), then
evaluates the shops without messages (rates null) and sorts the rows as in memory. The
result equals ``compare_daily(read_log(path), ...)`` (``tests/test_scale_daily.py``).

Example:
    >>> d = compare_daily_dataset("chatsim/data/sample_log", start="2025-09-12",
    ...                           end="2025-09-12", zone="UTC")
    >>> d.height
    8
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from chatsim.daily import compare_daily, day_end, day_range
from chatsim.daily.days import check_zone
from chatsim.errors import EngineError
from chatsim.metrics import check_rule_list
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from chatsim.scale.buckets import check_ids_across_buckets, file_buckets, repartition
from chatsim.scale.evaluate import side_tables
from chatsim.scale.plan import BYTES_PER_MESSAGE, default_workers, plan_log
from chatsim.scale.run import BucketJob, BucketResult, run_buckets
from chatsim.schema import scan_log

__all__ = ["DailyBucketJob", "compare_daily_dataset"]


@dataclass
class DailyBucketJob(BucketJob):
    """A :class:`~chatsim.scale.run.BucketJob` whose buckets give their daily shop tables
    (:func:`~chatsim.daily.compare_daily` over ``days``, day ends in ``zone`` or each
    shop's own) instead of one shop table."""

    days: list[dt.date] = field(default_factory=list)
    zone: str | None = None

    def evaluate(self, i: int, msgs: pl.DataFrame, shop_ids: pl.Series) -> BucketResult:
        """Validate ``msgs`` with the side-table rows of ``shop_ids``; their daily table."""
        log = self.bucket_log(i, msgs, shop_ids)
        del msgs
        daily = compare_daily(
            log, self.rules, start=self.days[0], end=self.days[-1], zone=self.zone
        )
        return BucketResult(
            shops=daily,
            chats=pl.DataFrame(),
            used=log.n_messages,
            after=0,
            dropped=dict(log.dropped.counts),
            as_of=self.cutoff,
            shop_ids=shop_ids,
        )


def compare_daily_dataset(
    path: str | Path,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    *,
    start: dt.date | str,
    end: dt.date | str,
    zone: str | None = None,
    buckets: int | None = None,
    workers: int | None = None,
    work_dir: str | Path | None = None,
    memory_budget_gb: float | None = None,
    lenient: bool = False,
    shops: str | Path | None = None,
    holiday_mode: str | Path | None = None,
    blocked: str | Path | None = None,
) -> pl.DataFrame:
    """``compare_daily(read_log(path, ...), rules, start=, end=, zone=)``, bucket by bucket
    in bounded memory (the options as in :func:`chatsim.scale.compare_dataset`).

    Example:
        >>> compare_daily_dataset("out/big", start="2025-08-01", end="2025-08-31")  # doctest: +SKIP
    """
    rules = check_rule_list(rules, "compare_daily_dataset()")
    days = day_range(start, end)
    check_zone(zone)
    n_workers = default_workers() if workers is None else workers
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise EngineError(f"workers must be a whole number of at least 1; got {workers!r}.")
    lazy = scan_log(path, shops=shops, holiday_mode=holiday_mode, blocked=blocked)
    plan = plan_log(lazy, buckets=buckets, memory_budget_gb=memory_budget_gb, workers=n_workers)
    if plan.n_messages == 0:  # nothing to cut: in memory
        log = lazy.read(lenient=lenient, sent_at_range=plan.sent_at_range)
        return compare_daily(log, rules, start=days[0], end=days[-1], zone=zone)
    side = side_tables(lazy, plan)
    budget = plan.max_bucket_messages * BYTES_PER_MESSAGE * plan.workers
    copies = check_ids_across_buckets(plan, budget, lenient=lenient)
    tmp: Path | None = None
    try:
        if plan.repartition:
            base = Path(work_dir) if work_dir is not None else Path(tempfile.gettempdir())
            base.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix="chatsim-daily-", dir=base))
            bucket_list = repartition(plan, tmp, copies)
            copies = copies.clear()
        else:
            bucket_list = file_buckets(plan)
        job = DailyBucketJob(
            plan,
            rules,
            day_end(days[-1], zone or "UTC"),
            side,  # type: ignore[arg-type]
            lenient=lenient,
            copies=copies,
            names=lazy.sources(),
            days=days,
            zone=zone,
        )
        results = list(run_buckets(job, bucket_list, workers=plan.workers))
        shops_df = side[0]
        if shops_df is not None:  # shops without messages: rows with no chats
            seen = pl.concat([r.shop_ids for r in results]).cast(plan.ids["shop_id"], strict=False)
            quiet = shops_df.filter(~pl.col("shop_id").is_in(seen.implode()))["shop_id"]
            if quiet.len():
                empty = job.empty_messages(bucket_list[0])
                results.append(job.evaluate(len(bucket_list), empty, quiet))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    order = {r.name: k for k, r in enumerate(rules)}
    tables = [r.shops for r in results]
    return (
        pl.concat([t.select(tables[0].columns) for t in tables], how="vertical_relaxed")
        .with_columns(pl.col("rule").replace_strict(order, return_dtype=pl.UInt32).alias("_r"))
        .sort("day", "_r", "shop_id")
        .drop("_r")
    )
