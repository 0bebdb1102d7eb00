"""Step 2 of the larger-than-memory path: the global id checks and the buckets' files.

* :func:`check_ids_across_buckets`: message ids unique and each conversation under one
  shop, over the whole log, where the plan's id ranges do not prove it: the checks of
  :mod:`chatsim.schema` run streaming, one slice of hashed ids at a time; for a lenient
  read it returns the repeated copies to drop instead (the first copy is kept, as
  in memory);
* :func:`file_buckets`: the buckets of a log whose files hold whole shops;
* :func:`repartition`: otherwise, the messages written once into one folder per bucket.

Example:
    >>> from chatsim.scale.plan import plan_dataset
    >>> plan = plan_dataset("chatsim/data/sample_log")
    >>> [b.messages for b in file_buckets(plan)] == [plan.n_messages]
    True
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from chatsim.scale.packing import DISJOINT, Bucket
from chatsim.scale.plan import DatasetPlan
from chatsim.schema import (
    MESSAGE_COLUMNS,
    check_one_shop_per_conversation,
    check_unique_message_ids,
    conform,
    read_guard,
    required_columns,
    scan_files,
)

__all__ = [
    "BYTES_PER_KEY",
    "COPIES_SCHEMA",
    "check_ids_across_buckets",
    "file_buckets",
    "repartition",
    "scan_without",
]

#: Rows a lenient read drops across buckets: file index (in the plan) and row in the file.
COPIES_SCHEMA = {"_file": pl.UInt32, "_row": pl.UInt32}

#: Bytes per key of a streaming group-by used by the global id checks (estimate).
BYTES_PER_KEY = 64


def _kept(lf: pl.LazyFrame, plan: DatasetPlan) -> pl.Expr:
    """Rows a lenient read keeps before removing duplicates: required fields present and
    ``sent_at`` in the plausible range (the order of :func:`chatsim.schema.validate_messages`)."""
    keep = pl.all_horizontal(pl.col(c).is_not_null() for c in required_columns(MESSAGE_COLUMNS))
    if plan.sent_at_range is not None:
        t = pl.col("sent_at")
        if lf.collect_schema()["sent_at"] == pl.String:
            t = t.str.to_datetime(time_zone="UTC", strict=False, time_unit="us")
        lo, hi = plan.sent_at_range
        keep = keep & (t.is_null() | t.is_between(lo, hi))
    return keep


def check_ids_across_buckets(
    plan: DatasetPlan, budget_bytes: float, *, lenient: bool = False
) -> pl.DataFrame:
    """Message ids unique and conversations under one shop, over the whole log (streaming).

    Only needed where bucket id ranges overlap. The keys are cut into slices by hash so
    that each slice's group-by fits the budget; each slice reads only the id columns.
    Strict, a repeated id raises; ``lenient``, the repeated copies are returned
    (:data:`COPIES_SCHEMA`: every copy after the first, in file and row order, among the
    rows a lenient read keeps), for the buckets to skip, and the conversation check runs
    without them, as in memory.
    """
    copies = pl.DataFrame(schema=COPIES_SCHEMA)
    need = [k for k, how in plan.id_check.items() if how != DISJOINT]
    if not need:
        return copies
    slices = max(1, math.ceil(plan.n_messages * BYTES_PER_KEY / budget_bytes))
    parts = []
    for i, f in enumerate(plan.files):
        lf = conform(scan_files([f], plan.fmt), MESSAGE_COLUMNS, plan.source)
        # ids typed as for the whole log, so that messages show them as in memory
        lf = lf.with_columns(pl.col(c).cast(t) for c, t in plan.ids.items())
        lf = lf.with_row_index("_row").with_columns(
            pl.lit(i, dtype=pl.UInt32).alias("_file"),
            _kept(lf, plan).alias("_kept") if lenient else pl.lit(True).alias("_kept"),
        )
        parts.append(lf.select("message_id", "conversation_id", "shop_id", *COPIES_SCHEMA, "_kept"))
    lf = pl.concat(parts, how="vertical_relaxed")
    if lenient:
        lf = lf.filter("_kept")

    def part(key: str, k: int) -> pl.LazyFrame:
        return lf.filter(pl.col(key).hash(7) % slices == k) if slices > 1 else lf

    with read_guard(plan.files, plan.fmt):  # type: ignore[arg-type]
        if lenient and "message_id" in need:
            found = []
            for k in range(slices):
                rows = part("message_id", k)
                dup = rows.filter(pl.len().over("message_id") > 1)
                found.append(
                    dup.sort("_file", "_row")
                    .filter(pl.int_range(pl.len()).over("message_id") > 0)
                    .select(*COPIES_SCHEMA)
                    .collect(engine="streaming")
                )
            copies = pl.concat(found).sort(*COPIES_SCHEMA)
            if copies.height:
                lf = lf.join(copies.lazy(), on=list(COPIES_SCHEMA), how="anti")
        for k in range(slices):
            if "message_id" in need and not lenient:
                # across buckets: the hint only where a lenient read can help
                check_unique_message_ids(part("message_id", k).select("message_id"), plan.source)
            if "conversation_id" in need:
                check_one_shop_per_conversation(
                    part("conversation_id", k).select("conversation_id", "shop_id"), plan.source
                )
    return copies


def scan_without(
    files: tuple[Path, ...], plan: DatasetPlan, fmt: str, copies: pl.DataFrame
) -> pl.LazyFrame:
    """The messages of ``files`` (files of the plan) without the rows in ``copies``."""
    if not copies.height:
        return scan_files(files, fmt)  # type: ignore[arg-type]
    parts = []
    for f in files:
        i = plan.files.index(f)
        rows = copies.filter(pl.col("_file") == i)["_row"]
        lf = scan_files([f], fmt)  # type: ignore[list-item]
        if rows.len():
            lf = (
                lf.with_row_index("_row")
                .filter(pl.col("_row").is_in(rows.implode()).not_())
                .drop("_row")
            )
        parts.append(lf)
    return pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]


def repartition(plan: DatasetPlan, out: Path, copies: pl.DataFrame | None = None) -> list[Bucket]:
    """Write the messages into one folder per bucket (one streaming pass), without the
    rows of ``copies`` (see :func:`check_ids_across_buckets`)."""
    stats = plan.shop_stats
    assert stats is not None
    mapping = stats.select("shop_id", "bucket").drop_nulls("shop_id")
    null_bucket = stats.filter(pl.col("shop_id").is_null())["bucket"]
    default = int(null_bucket[0]) if null_bucket.len() else 0
    key = (
        pl.col("shop_id")
        .replace_strict(
            mapping["shop_id"], mapping["bucket"], default=default, return_dtype=pl.UInt32
        )
        .fill_null(default)
        .alias("_bucket")
    )
    copies = copies if copies is not None else pl.DataFrame(schema=COPIES_SCHEMA)
    with read_guard(plan.files, plan.fmt):  # type: ignore[arg-type]
        scan_without(tuple(plan.files), plan, plan.fmt, copies).with_columns(key).sink_parquet(
            pl.PartitionBy(out, key="_bucket", include_key=False),
            mkdir=True,
            engine="streaming",
        )
    buckets = []
    for b in range(plan.n_buckets):
        part = stats.filter(pl.col("bucket") == b)
        files = tuple(sorted((out / f"_bucket={b}").glob("*.parquet")))
        if not files:
            continue
        buckets.append(Bucket(files, part["shop_id"], int(part["n"].sum())))
    return buckets


def file_buckets(plan: DatasetPlan) -> list[Bucket]:
    """The planned buckets of a log whose files hold whole shops (no repartition)."""
    return list(plan.bucket_list)
