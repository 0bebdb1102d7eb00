"""How whole shops are cut into buckets: packing files, assigning shops, proving id ranges.

* :func:`pack_files`: buckets of consecutive files that hold whole shops, of about equal
  size and as many as keeps every worker busy (:func:`bucket_count`); a file too large
  for one bucket is split by shop;
* :func:`assign_shops`: for a repartition, shops to buckets, largest first to the least
  loaded;
* :func:`id_check`: whether the buckets' id ranges prove message and conversation ids
  unique across buckets (:data:`DISJOINT`), or a streaming check must run.

Example:
    >>> bucket_count(10_000, 3_000, workers=2)
    4
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

__all__ = [
    "DISJOINT",
    "UNIT",
    "Bucket",
    "assign_shops",
    "bucket_count",
    "id_check",
    "pack_files",
]

#: How :attr:`~chatsim.scale.plan.DatasetPlan.id_check` names an id column the buckets'
#: ranges prove unique.
DISJOINT = "disjoint bucket ranges"
#: What the plan knows of a file, or of one shop of a file it splits.
UNIT = ("n", "mid_min", "mid_max", "conv_min", "conv_max", "last")


@dataclass(frozen=True)
class Bucket:
    """A group of whole shops evaluated together.

    Attributes:
        files: the message files to scan.
        shops: the bucket's shops when the plan knows them (None when it read only the
            file footers: then the files hold exactly the bucket's shops); with
            ``filter_messages``, the shops to keep.
        messages: the bucket's message count.
        filter_messages: whether ``files`` also hold other buckets' shops.
    """

    files: tuple[Path, ...]
    shops: pl.Series | None
    messages: int
    filter_messages: bool = False


def bucket_count(total: int, max_n: int, workers: int) -> int:
    """How many buckets: the fewest of at most ``max_n`` messages, rounded up to a
    multiple of ``workers`` (equal buckets then keep every worker busy to the end).

    Example:
        >>> bucket_count(10_000, 3_000, 2)  # 4 buckets of 2,500, not 3,000 x 3 + 1,000
        4
    """
    k = max(1, math.ceil(total / max_n))
    return math.ceil(k / workers) * workers


def pack_files(
    by_file: pl.DataFrame,
    files: Sequence[Path],
    max_n: int,
    by_shop: Callable[[int], pl.DataFrame],
    workers: int = 1,
) -> tuple[list[Bucket], pl.DataFrame]:
    """Buckets of consecutive files holding whole shops, each at most ``max_n`` messages
    and of about equal size, as many as :func:`bucket_count` says (or a few more
    ``workers`` when the files do not fit that count).

    ``by_file``: one row per file (``file``, ``shops`` or null, and :data:`UNIT`), in
    file order; ``by_shop(file)``: that file's shops (``shop_id`` and :data:`UNIT`), to
    split a file too large for one bucket. Also returns each bucket's units (files or
    shops: ``bucket`` and :data:`UNIT`), for the id ranges.

    Example:
        >>> by_file = pl.DataFrame({"file": range(5), "n": [900, 1100, 1000, 1000, 1000]})
        >>> by_file = by_file.with_columns(pl.lit(None, pl.List(pl.String)).alias("shops"),
        ...                                *(pl.lit(None, pl.Int64).alias(c) for c in UNIT[1:]))
        >>> buckets, _ = pack_files(by_file, [Path(f"f{i}") for i in range(5)], 3000,
        ...                         lambda i: None, workers=2)
        >>> [b.messages for b in buckets]
        [3000, 2000]
    """
    k = bucket_count(int(by_file["n"].sum()), max_n, workers)
    by_shop = functools.cache(by_shop)  # a split file is scanned once
    for _ in range(8):
        buckets, units = _pack_into(by_file, files, max_n, by_shop, k)
        if len(buckets) <= k:
            break
        k += workers
    return buckets, units


def _pack_into(
    by_file: pl.DataFrame,
    files: Sequence[Path],
    max_n: int,
    by_shop: Callable[[int], pl.DataFrame],
    k: int,
) -> tuple[list[Bucket], pl.DataFrame]:
    """:func:`pack_files` aiming at ``k`` buckets: each takes the messages left over the
    buckets left; a file goes to the next bucket when it would take this one further
    past that size than it leaves it short."""
    left = int(by_file["n"].sum())
    k_left = k
    shop_dtype = by_file.schema["shops"].inner  # type: ignore[attr-defined]
    buckets: list[Bucket] = []
    units: list[pl.DataFrame] = []
    cur: list[dict] = []
    cur_n = 0

    def add(rows: pl.DataFrame) -> None:
        units.append(
            rows.select(UNIT).with_columns(pl.lit(len(buckets), pl.UInt32).alias("bucket"))
        )

    def close(bucket: Bucket) -> None:
        nonlocal left, k_left
        buckets.append(bucket)
        left -= bucket.messages
        k_left = max(1, k_left - 1)

    def flush() -> None:
        nonlocal cur, cur_n
        if cur:
            known = all(r["shops"] is not None for r in cur)
            shops = pl.Series("shop_id", [s for r in cur for s in r["shops"] or ()], shop_dtype)
            add(pl.DataFrame(cur, schema=by_file.schema))
            close(Bucket(tuple(files[r["file"]] for r in cur), shops if known else None, cur_n))
        cur, cur_n = [], 0

    for row in by_file.iter_rows(named=True):
        n = int(row["n"])
        if n > max_n:  # a file too large for one bucket: split it by shop
            flush()
            sub = by_shop(row["file"]).sort("shop_id")
            group = (sub["n"].cum_sum() - 1) // max_n
            # greedy on the running total, so a bucket exceeds max_n only for one huge shop
            for _, part in sub.with_columns(group.alias("_g")).group_by("_g", maintain_order=True):
                add(part)
                close(
                    Bucket(
                        (files[row["file"]],),
                        part["shop_id"],
                        int(part["n"].sum()),
                        filter_messages=True,
                    )
                )
            continue
        target = left / k_left
        if cur and (cur_n + n > max_n or 2 * (cur_n - target) + n > 0):
            flush()
        cur.append(row)
        cur_n += n
    flush()
    return buckets, pl.concat(units, how="vertical_relaxed") if units else pl.DataFrame()


def assign_shops(stats: pl.DataFrame, n_buckets: int) -> pl.DataFrame:
    """Shops -> bucket, largest shops first to the least loaded bucket (balanced counts).

    Example:
        >>> stats = pl.DataFrame({"shop_id": ["a", "b", "c"], "n": [5, 3, 2]})
        >>> assign_shops(stats, 2)["bucket"].to_list()
        [0, 1, 1]
    """
    s = stats.sort(["n", "shop_id"], descending=[True, False], nulls_last=True)
    heap = [(0, b) for b in range(n_buckets)]
    out = []
    for n in s["n"].to_list():
        load, b = heapq.heappop(heap)
        out.append(b)
        heapq.heappush(heap, (load + n, b))
    return s.select("shop_id", "n").with_columns(pl.Series("bucket", out, dtype=pl.UInt32))


def _ranges_disjoint(units: pl.DataFrame, lo: str, hi: str) -> bool:
    """Whether the buckets' [min, max] ranges of an id column do not overlap."""
    if units.height == 0:
        return True
    r = units.group_by("bucket").agg(pl.col(lo).min(), pl.col(hi).max()).drop_nulls().sort(lo, hi)
    if r.height <= 1:
        return True
    return bool((r[hi].head(r.height - 1) < r[lo].tail(r.height - 1)).all())


def id_check(units: pl.DataFrame) -> dict[str, str]:
    """How message and conversation ids are checked across buckets: :data:`DISJOINT`
    where the buckets' ranges (``units``: ``bucket`` and :data:`UNIT`) do not overlap,
    else ``"streaming check"``.

    Example:
        >>> units = pl.DataFrame({"bucket": [0, 1], "mid_min": [1, 5], "mid_max": [4, 9],
        ...                       "conv_min": [1, 2], "conv_max": [3, 4]})
        >>> id_check(units)["message_id"], id_check(units)["conversation_id"]
        ('disjoint bucket ranges', 'streaming check')
    """
    return {
        key: DISJOINT if _ranges_disjoint(units, lo, hi) else "streaming check"
        for key, lo, hi in (
            ("message_id", "mid_min", "mid_max"),
            ("conversation_id", "conv_min", "conv_max"),
        )
    }
