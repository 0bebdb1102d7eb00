"""Step 2 of the larger-than-memory path: the global id checks and the buckets' files.

* :func:`check_ids_across_buckets`: message ids unique and each conversation under one
  shop, over the whole log, where the plan's id ranges do not prove it: the checks of
  :mod:`chatsim.schema` run streaming, one slice of hashed ids at a time;
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

from chatsim.scale.plan import DISJOINT, Bucket, DatasetPlan
from chatsim.schema import (
    MESSAGE_COLUMNS,
    check_one_shop_per_conversation,
    check_unique_message_ids,
    conform,
    scan_files,
)

__all__ = ["BYTES_PER_KEY", "check_ids_across_buckets", "file_buckets", "repartition"]

#: Bytes per key of a streaming group-by used by the global id checks (estimate).
BYTES_PER_KEY = 64


def check_ids_across_buckets(plan: DatasetPlan, budget_bytes: float) -> None:
    """Message ids unique and conversations under one shop, over the whole log (streaming).

    Only needed where bucket id ranges overlap. The keys are cut into slices by hash so
    that each slice's group-by fits the budget; each slice reads only the id columns.
    """
    need = [k for k, how in plan.id_check.items() if how != DISJOINT]
    if not need:
        return
    slices = max(1, math.ceil(plan.n_messages * BYTES_PER_KEY / budget_bytes))
    parts = [
        conform(scan_files([f], plan.fmt), MESSAGE_COLUMNS, plan.source).select(
            "message_id", "conversation_id", "shop_id"
        )
        for f in plan.files
    ]
    lf = pl.concat(parts, how="vertical_relaxed")

    def part(key: str, k: int) -> pl.LazyFrame:
        return lf.filter(pl.col(key).hash(7) % slices == k) if slices > 1 else lf

    for k in range(slices):
        # across buckets a lenient read cannot drop the copies: no lenient hint
        if "message_id" in need:
            check_unique_message_ids(
                part("message_id", k).select("message_id"), plan.source, lenient_hint=False
            )
        if "conversation_id" in need:
            check_one_shop_per_conversation(
                part("conversation_id", k).select("conversation_id", "shop_id"), plan.source
            )


def repartition(plan: DatasetPlan, out: Path) -> list[Bucket]:
    """Write the messages into one folder per bucket (one streaming pass)."""
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
    scan_files(plan.files, plan.fmt).with_columns(key).sink_parquet(
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
    stats = plan.shop_stats
    assert stats is not None
    buckets = []
    for b in range(plan.n_buckets):
        part = stats.filter(pl.col("bucket") == b)
        files = tuple(sorted({plan.files[i] for i in part["file"].unique().to_list()}))
        buckets.append(
            Bucket(
                files,
                part["shop_id"],
                int(part["n"].sum()),
                filter_messages=_files_hold_other_shops(stats, part, b),
            )
        )
    return buckets


def _files_hold_other_shops(stats: pl.DataFrame, part: pl.DataFrame, b: int) -> bool:
    files = part["file"].unique().implode()
    return bool(stats.filter(pl.col("file").is_in(files) & (pl.col("bucket") != b)).height)
