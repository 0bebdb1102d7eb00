"""Step 1 of the larger-than-memory path: a plan, from the file footers or one streaming pass.

:func:`plan_dataset` finds the global data cutoff, whether the files already hold whole
shops (the simulator's ``messages/shard=*.parquet``), how the log is cut into buckets,
and whether the buckets' id ranges prove the global id checks or a streaming check must
run. For Parquet files it first reads only their footers (row counts, column bounds;
:mod:`chatsim.scale.footers`): when the files' shop-id ranges do not overlap, every file
holds whole shops and no data is read to plan. Otherwise (text files, footers without
bounds, files split by time...) one streaming pass gives, per shop, its message count,
the files it appears in, its latest message and its id ranges.

Example:
    >>> plan = plan_dataset("chatsim/data/sample_log")
    >>> plan.n_buckets, plan.partitioned_by_shop
    (1, True)
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from chatsim.scale.footers import file_facts
from chatsim.scale.packing import (
    UNIT,
    Bucket,
    assign_shops,
    id_check,
    pack_files,
)
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
    "GIB",
    "DatasetPlan",
    "default_workers",
    "plan_dataset",
    "plan_log",
]

#: Memory allowed per message of a bucket in flight (bytes): a safe upper bound (earlier
#: engines peaked at 360-610 B/message, today's at about 150-200; docs/scaling.md).
BYTES_PER_MESSAGE = 700
#: Default memory budget for all buckets in flight, in GiB (capped to a third of the RAM).
DEFAULT_BUDGET_GB = 4.0
GIB = 1024**3
#: The identifier columns whose type is chosen for the whole log.
ID_COLUMNS = ("message_id", "shop_id", "conversation_id", "buyer_id")


@dataclass
class DatasetPlan:
    """How :func:`~chatsim.scale.compare_dataset` cuts a log into buckets (see :func:`plan_dataset`)."""

    source: str
    files: list[Path]
    fmt: str
    n_messages: int
    #: Shops with messages (None when the plan read only the footers).
    n_shops_with_messages: int | None
    data_end: dt.datetime | None
    partitioned_by_shop: bool
    max_bucket_messages: int
    n_buckets: int
    repartition: bool
    id_check: dict[str, str] = field(default_factory=dict)
    #: Per shop: messages, files, latest message, id ranges and bucket (None when the
    #: plan read only the footers).
    shop_stats: pl.DataFrame | None = field(default=None, repr=False)
    #: The type of each id column over the whole log (:func:`chatsim.schema.id_dtypes`).
    ids: dict[str, pl.DataType] = field(default_factory=dict)
    #: The plausible ``sent_at`` range every bucket is checked against.
    sent_at_range: tuple[dt.datetime, dt.datetime] | None = None
    #: The buckets of files holding whole shops (empty when the log is repartitioned).
    bucket_list: list[Bucket] = field(default_factory=list, repr=False)
    #: How the plan was made: ``"footers"`` (no data read) or ``"scan"``.
    planned_from: str = "scan"
    #: Buckets evaluated at once (each sized to the budget's share).
    workers: int = 1


def _utc(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A timestamp column as UTC microseconds (text parsed; bad values become null)."""
    if dtype == pl.String:
        return expr.str.to_datetime(time_zone="UTC", strict=False, time_unit="us")
    return expr.dt.convert_time_zone("UTC").dt.cast_time_unit("us")


def _conformed(lazy: LazyLog, i: int) -> pl.LazyFrame:
    """File ``i``'s messages with their column types checked (no data read)."""
    f = lazy.files[i]
    return conform(lazy.scan([f]), MESSAGE_COLUMNS, f"{lazy.source}:{f.name}")


def _shop_stats(
    lazy: LazyLog,
    sent_at_range: tuple[dt.datetime, dt.datetime],
    files: Sequence[int] | None = None,
) -> pl.DataFrame:
    """One streaming pass over the files (or the files at positions ``files``): per shop,
    messages, files, latest message and id ranges.

    The latest message ignores times outside ``sent_at_range`` (refused or dropped when
    the buckets are read), so one implausible time cannot move the cutoff.
    """
    lo, hi = sent_at_range
    parts = []
    for i in files if files is not None else range(len(lazy.files)):
        lf = _conformed(lazy, i)
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


def default_workers() -> int:
    """Buckets evaluated at once by default: 2 on a machine with 2 or more cores, else 1.

    Two buckets in flight keep both cores of a small machine busy through the steps that
    run on one thread (reading a file, the checks, the compiled state machine's shards).

    Example:
        >>> default_workers() in (1, 2)
        True
    """
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def _default_budget_gb() -> float:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return DEFAULT_BUDGET_GB
    return min(DEFAULT_BUDGET_GB, total / 3 / GIB)


def _id_types(lazy: LazyLog, cols: Sequence[str] = ID_COLUMNS) -> dict[str, pl.DataType]:
    """The id columns' types over the whole log (one streaming pass, text columns only)."""
    parts = [_conformed(lazy, i).select(cols) for i in range(len(lazy.files))]
    return id_dtypes(pl.concat(parts, how="vertical_relaxed"), cols)


def _footer_plan(
    lazy: LazyLog, rng: tuple[dt.datetime, dt.datetime], max_n: int, workers: int
) -> DatasetPlan | None:
    """The plan of Parquet files holding whole shops, from their footers; None when the
    footers cannot prove it (then the data are scanned)."""
    if lazy.fmt != "parquet" or not lazy.files:
        return None
    schemas = [_conformed(lazy, i).collect_schema() for i in range(len(lazy.files))]
    types: dict[str, pl.DataType] = {}
    for c in (*ID_COLUMNS, "sent_at"):
        found = {s[c] for s in schemas}
        if len(found) != 1:  # types differ between files: the scan reconciles them
            return None
        types[c] = found.pop()
    if not isinstance(types["sent_at"], pl.Datetime):  # text times: parsed by the scan
        return None
    text_ids = [c for c in ID_COLUMNS if types[c] == pl.String]
    cols = ["shop_id", "message_id", "conversation_id", "sent_at"]
    facts = file_facts(lazy.files, cols + [c for c in text_ids if c not in cols])
    if facts is None:
        return None
    facts = facts.filter(pl.col("n") > 0)
    needed = [f"{c}_{k}" for c in cols for k in ("min", "max", "nulls")]
    if facts.height == 0 or any(c not in facts.columns for c in needed):
        return None
    lo, hi = rng
    if facts["shop_id_nulls"].sum() or facts["sent_at_max"].null_count():
        return None
    last = pl.from_epoch(facts["sent_at_max"], time_unit="us").dt.replace_time_zone("UTC")
    if not last.is_between(lo, hi).all():
        return None  # an implausible time: the cutoff needs the scan, which skips it
    by_shop = facts.sort("shop_id_min")
    if not (by_shop["shop_id_max"].head(-1) < by_shop["shop_id_min"].tail(-1)).all():
        return None  # a shop may span files
    ids = dict(types)
    del ids["sent_at"]
    undecided = []
    for c in text_ids:  # a bound that is not an integer makes the whole column text
        bounds = pl.concat([facts[f"{c}_min"], facts[f"{c}_max"]]).drop_nulls()
        if f"{c}_min" in facts.columns and id_dtypes(bounds.to_frame(c), [c])[c] == pl.String:
            continue
        undecided.append(c)
    if undecided:
        with read_guard(lazy.files, lazy.fmt):
            ids.update(_id_types(lazy, undecided))
    by_file = facts.select(
        "file",
        pl.lit(None, dtype=pl.List(types["shop_id"])).alias("shops"),
        "n",
        pl.col("message_id_min").alias("mid_min"),
        pl.col("message_id_max").alias("mid_max"),
        pl.col("conversation_id_min").alias("conv_min"),
        pl.col("conversation_id_max").alias("conv_max"),
        last.alias("last"),
    )

    def split(i: int) -> pl.DataFrame:
        with read_guard([lazy.files[i]], lazy.fmt):
            return _shop_stats(lazy, rng, [i])

    buckets, units = pack_files(by_file, lazy.files, max_n, split, workers)
    return DatasetPlan(
        source=lazy.source,
        files=list(lazy.files),
        fmt=lazy.fmt,
        n_messages=int(facts["n"].sum()),
        n_shops_with_messages=None,
        data_end=by_file["last"].max(),  # type: ignore[arg-type]
        partitioned_by_shop=True,
        max_bucket_messages=max_n,
        n_buckets=len(buckets),
        repartition=False,
        id_check=id_check(units),
        ids=ids,
        sent_at_range=rng,
        bucket_list=buckets,
        planned_from="footers",
        workers=workers,
    )


def plan_log(
    lazy: LazyLog,
    *,
    buckets: int | None = None,
    memory_budget_gb: float | None = None,
    sent_at_range: tuple[dt.datetime, dt.datetime] | None = None,
    workers: int = 1,
) -> DatasetPlan:
    """:func:`plan_dataset` for a log already located with :func:`chatsim.schema.scan_log`."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1; got {workers}.")
    budget = (memory_budget_gb if memory_budget_gb is not None else _default_budget_gb()) * GIB
    max_n = max(1, int(budget // (BYTES_PER_MESSAGE * workers)))
    rng = sent_at_range if sent_at_range is not None else plausible_sent_at_range()
    if buckets is None:
        with read_guard(lazy.files, lazy.fmt):
            plan = _footer_plan(lazy, rng, max_n, workers)
        if plan is not None:
            return plan
    files = list(lazy.files)
    with read_guard(lazy.files, lazy.fmt):
        stats = _shop_stats(lazy, rng)
        ids = _id_types(lazy)
    n = int(stats["n"].sum()) if stats.height else 0
    partitioned = stats.height == 0 or int(stats["n_files"].max()) <= 1  # type: ignore[arg-type]
    repartition = buckets is not None or not partitioned
    packed: list[Bucket] = []
    if repartition:
        n_buckets = buckets if buckets is not None else max(1, math.ceil(n / max_n))
        if n_buckets < 1:
            raise ValueError(f"buckets must be at least 1; got {buckets}.")
        n_buckets = min(n_buckets, max(1, stats.height))
        assign = assign_shops(stats, n_buckets)
        stats = stats.join(
            assign.select("shop_id", "bucket"), on="shop_id", how="left", nulls_equal=True
        )
        units = stats
    else:
        by_file = (
            stats.group_by("file")
            .agg(
                pl.col("shop_id").alias("shops"),
                pl.col("n").sum(),
                pl.col("mid_min", "conv_min").min(),
                pl.col("mid_max", "conv_max", "last").max(),
            )
            .sort("file")
            .select("file", "shops", *UNIT)
        )
        packed, units = pack_files(
            by_file, files, max_n, lambda i: stats.filter(pl.col("file") == i), workers
        )
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
        id_check=id_check(units),
        shop_stats=stats,
        ids=ids,
        sent_at_range=rng,
        bucket_list=packed,
        workers=workers,
    )


def plan_dataset(
    path: str | Path,
    *,
    buckets: int | None = None,
    memory_budget_gb: float | None = None,
    workers: int = 1,
    shops: str | Path | None = None,
    holiday_mode: str | Path | None = None,
    blocked: str | Path | None = None,
) -> DatasetPlan:
    """Step 1 of :func:`~chatsim.scale.compare_dataset`: plan buckets from the Parquet
    footers, or from one streaming scan of the messages.

    ``buckets=None`` uses the files as buckets when each holds whole shops, otherwise
    repartitions into as many buckets as the memory budget needs; an integer forces a
    repartition into that many buckets. Each bucket gets ``memory_budget_gb / workers``
    (``workers`` buckets are evaluated at once).
    """
    lazy = scan_log(path, shops=shops, holiday_mode=holiday_mode, blocked=blocked)
    return plan_log(lazy, buckets=buckets, memory_budget_gb=memory_budget_gb, workers=workers)
