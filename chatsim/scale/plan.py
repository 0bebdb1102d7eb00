"""Step 1 of the larger-than-memory path: one streaming pass over the messages, a plan.

:func:`plan_dataset` scans the message files once (streaming, bounded memory) and gives,
per shop, its message count, the files it appears in, its latest message and its id
ranges. From it: the global data cutoff, whether the files already hold whole shops (the
simulator's ``messages/shard=*.parquet``), how the shops are cut into buckets, and
whether the buckets' id ranges prove the global id checks or a streaming check must run.

Example:
    >>> plan = plan_dataset("chatsim/data/sample_log")
    >>> plan.n_buckets, plan.partitioned_by_shop
    (1, True)
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from chatsim.schema import (
    MESSAGE_COLUMNS,
    LazyLog,
    conform,
    id_dtypes,
    plausible_sent_at_range,
    read_guard,
    scan_log,
)

__all__ = [
    "BYTES_PER_MESSAGE",
    "DEFAULT_BUDGET_GB",
    "DISJOINT",
    "GIB",
    "Bucket",
    "DatasetPlan",
    "plan_dataset",
    "plan_log",
]

#: Peak memory of validating and evaluating one message in memory (bytes), measured
#: with two rules on simulated data (~430-610 B/message, see docs/scaling.md), rounded up.
BYTES_PER_MESSAGE = 700
#: Default memory budget for one bucket, in GiB (capped to a third of the machine's RAM).
DEFAULT_BUDGET_GB = 4.0
GIB = 1024**3
#: How :attr:`DatasetPlan.id_check` names an id column the buckets' ranges prove unique.
DISJOINT = "disjoint bucket ranges"


@dataclass(frozen=True)
class Bucket:
    """A group of whole shops evaluated together.

    Attributes:
        files: the message files to scan.
        shops: the bucket's shops (messages of other shops in ``files`` are skipped
            when ``filter_messages``); also selects the bucket's side-table rows.
        messages: the bucket's message count.
        filter_messages: whether ``files`` also hold other buckets' shops.
    """

    files: tuple[Path, ...]
    shops: pl.Series
    messages: int
    filter_messages: bool = False


@dataclass
class DatasetPlan:
    """How :func:`~chatsim.scale.compare_dataset` cuts a log into buckets (see :func:`plan_dataset`)."""

    source: str
    files: list[Path]
    fmt: str
    n_messages: int
    n_shops_with_messages: int
    data_end: dt.datetime | None
    partitioned_by_shop: bool
    max_bucket_messages: int
    n_buckets: int
    repartition: bool
    id_check: dict[str, str] = field(default_factory=dict)
    shop_stats: pl.DataFrame | None = field(default=None, repr=False)
    #: The type of each id column over the whole log (:func:`chatsim.schema.id_dtypes`).
    ids: dict[str, pl.DataType] = field(default_factory=dict)
    #: The plausible ``sent_at`` range every bucket is checked against.
    sent_at_range: tuple[dt.datetime, dt.datetime] | None = None


def _utc(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A timestamp column as UTC microseconds (text parsed; bad values become null)."""
    if dtype == pl.String:
        return expr.str.to_datetime(time_zone="UTC", strict=False, time_unit="us")
    return expr.dt.convert_time_zone("UTC").dt.cast_time_unit("us")


def _shop_stats(lazy: LazyLog, sent_at_range: tuple[dt.datetime, dt.datetime]) -> pl.DataFrame:
    """One streaming pass: per shop, messages, files, latest message and id ranges.

    The latest message ignores times outside ``sent_at_range`` (refused or dropped when
    the buckets are read), so one implausible time cannot move the cutoff.
    """
    lo, hi = sent_at_range
    parts = []
    for i, f in enumerate(lazy.files):
        lf = conform(lazy.scan([f]), MESSAGE_COLUMNS, f"{lazy.source}:{f.name}")
        parts.append(
            lf.select(
                "shop_id",
                "message_id",
                "conversation_id",
                _utc(pl.col("sent_at"), lf.collect_schema()["sent_at"]).alias("sent_at"),
                pl.lit(i, dtype=pl.UInt32).alias("_file"),
            )
        )
    lf = pl.concat(parts, how="vertical_relaxed")
    return (
        lf.group_by("shop_id")
        .agg(
            pl.len().alias("n"),
            pl.col("_file").n_unique().alias("n_files"),
            pl.col("_file").min().alias("file"),
            pl.col("sent_at").filter(pl.col("sent_at").is_between(lo, hi)).max().alias("last"),
            pl.col("message_id").min().alias("mid_min"),
            pl.col("message_id").max().alias("mid_max"),
            pl.col("conversation_id").min().alias("conv_min"),
            pl.col("conversation_id").max().alias("conv_max"),
        )
        .collect(engine="streaming")
    )


def _default_budget_gb() -> float:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return DEFAULT_BUDGET_GB
    return min(DEFAULT_BUDGET_GB, total / 3 / GIB)


def _pack_files(stats: pl.DataFrame, files: Sequence[Path], max_n: int) -> list[Bucket]:
    """Buckets of consecutive files holding whole shops, each at most ``max_n`` messages."""
    by_file = stats.group_by("file").agg(pl.col("n").sum(), pl.col("shop_id")).sort("file")
    buckets: list[Bucket] = []
    cur_files: list[Path] = []
    cur_shops: list[pl.Series] = []
    cur_n = 0

    def flush() -> None:
        nonlocal cur_files, cur_shops, cur_n
        if cur_files:
            buckets.append(Bucket(tuple(cur_files), pl.concat(cur_shops), cur_n))
        cur_files, cur_shops, cur_n = [], [], 0

    for file_i, n, shops in by_file.iter_rows():
        shops = pl.Series("shop_id", shops, dtype=stats.schema["shop_id"])
        if n > max_n:  # a file too large for one bucket: split it by shop
            flush()
            sub = stats.filter(pl.col("file") == file_i).sort("shop_id")
            group = (sub["n"].cum_sum() - 1) // max_n
            # greedy on the running total, so a bucket exceeds max_n only for one huge shop
            for _, part in sub.with_columns(group.alias("_g")).group_by("_g", maintain_order=True):
                buckets.append(
                    Bucket(
                        (files[file_i],),
                        part["shop_id"],
                        int(part["n"].sum()),
                        filter_messages=True,
                    )
                )
            continue
        if cur_n + n > max_n:
            flush()
        cur_files.append(files[file_i])
        cur_shops.append(shops)
        cur_n += int(n)
    flush()
    return buckets


def _assign_shops(stats: pl.DataFrame, n_buckets: int) -> pl.DataFrame:
    """Shops -> bucket, largest shops first to the least loaded bucket (balanced counts)."""
    s = stats.sort(["n", "shop_id"], descending=[True, False], nulls_last=True)
    heap = [(0, b) for b in range(n_buckets)]
    out = []
    for n in s["n"].to_list():
        load, b = heapq.heappop(heap)
        out.append(b)
        heapq.heappush(heap, (load + n, b))
    return s.select("shop_id", "n").with_columns(pl.Series("bucket", out, dtype=pl.UInt32))


def _ranges_disjoint(stats: pl.DataFrame, lo: str, hi: str) -> bool:
    """Whether the buckets' [min, max] ranges of an id column do not overlap."""
    r = stats.group_by("bucket").agg(pl.col(lo).min(), pl.col(hi).max()).drop_nulls().sort(lo, hi)
    if r.height <= 1:
        return True
    return bool((r[hi].head(r.height - 1) < r[lo].tail(r.height - 1)).all())


def _id_types(lazy: LazyLog) -> dict[str, pl.DataType]:
    """The id columns' types over the whole log (one streaming pass, text columns only)."""
    cols = ["message_id", "shop_id", "conversation_id", "buyer_id"]
    parts = [
        conform(lazy.scan([f]), MESSAGE_COLUMNS, f"{lazy.source}:{f.name}").select(cols)
        for f in lazy.files
    ]
    return id_dtypes(pl.concat(parts, how="vertical_relaxed"), cols)


def plan_log(
    lazy: LazyLog,
    *,
    buckets: int | None = None,
    memory_budget_gb: float | None = None,
    sent_at_range: tuple[dt.datetime, dt.datetime] | None = None,
) -> DatasetPlan:
    """:func:`plan_dataset` for a log already located with :func:`chatsim.schema.scan_log`."""
    budget = (memory_budget_gb if memory_budget_gb is not None else _default_budget_gb()) * GIB
    max_n = max(1, int(budget // BYTES_PER_MESSAGE))
    files = list(lazy.files)
    rng = sent_at_range if sent_at_range is not None else plausible_sent_at_range()
    with read_guard(lazy.files, lazy.fmt):
        stats = _shop_stats(lazy, rng)
        ids = _id_types(lazy)
    n = int(stats["n"].sum()) if stats.height else 0
    partitioned = stats.height == 0 or int(stats["n_files"].max()) <= 1  # type: ignore[arg-type]
    repartition = buckets is not None or not partitioned
    if repartition:
        n_buckets = buckets if buckets is not None else max(1, math.ceil(n / max_n))
        if n_buckets < 1:
            raise ValueError(f"buckets must be at least 1; got {buckets}.")
        n_buckets = min(n_buckets, max(1, stats.height))
        assign = _assign_shops(stats, n_buckets)
        stats = stats.join(
            assign.select("shop_id", "bucket"), on="shop_id", how="left", nulls_equal=True
        )
    else:
        packed = _pack_files(stats, files, max_n)
        n_buckets = len(packed)
        owner = (
            pl.concat(
                [
                    pl.DataFrame({"shop_id": b.shops}).with_columns(
                        pl.lit(i, dtype=pl.UInt32).alias("bucket")
                    )
                    for i, b in enumerate(packed)
                ]
            )
            if packed
            else pl.DataFrame({"shop_id": [], "bucket": []})
        )
        stats = stats.join(owner, on="shop_id", how="left", nulls_equal=True)
    id_check = {
        "message_id": DISJOINT
        if _ranges_disjoint(stats, "mid_min", "mid_max")
        else "streaming check",
        "conversation_id": DISJOINT
        if _ranges_disjoint(stats, "conv_min", "conv_max")
        else "streaming check",
    }
    last = stats["last"].max() if stats.height else None
    return DatasetPlan(
        source=lazy.source,
        files=files,
        fmt=lazy.fmt,
        n_messages=n,
        n_shops_with_messages=stats.height,
        data_end=last,  # type: ignore[arg-type]
        partitioned_by_shop=partitioned,
        max_bucket_messages=max_n,
        n_buckets=n_buckets,
        repartition=repartition,
        id_check=id_check,
        shop_stats=stats,
        ids=ids,
        sent_at_range=rng,
    )


def plan_dataset(
    path: str | Path,
    *,
    buckets: int | None = None,
    memory_budget_gb: float | None = None,
    shops: str | Path | None = None,
    holiday_mode: str | Path | None = None,
    blocked: str | Path | None = None,
) -> DatasetPlan:
    """Step 1 of :func:`~chatsim.scale.compare_dataset`: scan the messages once (streaming)
    and plan buckets.

    ``buckets=None`` uses the files as buckets when each holds whole shops, otherwise
    repartitions into as many buckets as the memory budget needs; an integer forces a
    repartition into that many buckets.
    """
    lazy = scan_log(path, shops=shops, holiday_mode=holiday_mode, blocked=blocked)
    return plan_log(lazy, buckets=buckets, memory_budget_gb=memory_budget_gb)
