"""Metrics over chat logs larger than memory: one machine, bounded memory.

:func:`compare_dataset` computes the same shop table as
``compare(read_log(path), rules)`` without ever holding the whole log in memory.
It relies on one property of the data: a chat never spans two conversations and a
conversation never spans two shops, so every shop's metrics depend only on that
shop's messages (and its rows of the side tables). The log can therefore be cut into
*buckets* of whole shops, each evaluated on its own with :func:`chatsim.metrics.compare`;
only the data cutoff (``as_of``, by default the latest message of the *whole* log) is
global.

The three steps:

1. **Plan** (streaming, bounded memory): one streaming pass over the message files
   gives, per shop, its message count, the files it appears in, its latest message and
   its id ranges. From it: the global cutoff, whether the files already hold whole
   shops (e.g. the simulator's ``messages/shard=*.parquet``) and the global id checks.
2. **Buckets**: files that hold whole shops are packed into buckets of at most
   ``budget / BYTES_PER_MESSAGE`` messages (a file larger than that is split by shop).
   Otherwise the messages are repartitioned once, in streaming fashion, into N bucket
   folders (``sink_parquet`` with :class:`polars.PartitionBy`) under a temporary folder,
   shops assigned to buckets so that the buckets have about equal message counts.
3. **Evaluate**: per bucket, read and validate (:meth:`ChatLog.from_frames` with the
   bucket's rows of the shop tables), ``compare(..., as_of=global cutoff)``, keep the
   shop table, free the bucket.

What is checked where (``docs/scaling.md``): every per-row and per-shop check of
:func:`chatsim.schema.validate_messages` runs per bucket (each bucket holds whole
shops, so a duplicate message id or a conversation under two shops *within* a
bucket is found there). Across buckets, message ids must be unique and a
conversation id must not occur under two shops: this is proven from the buckets'
id ranges when they do not overlap (the simulator's ids), and otherwise checked by a
streaming pass per slice of hashed ids, sized to the memory budget. The side tables
(shops, holiday mode, blocked) are small and validated whole, once.

Example:
    >>> from chatsim.scale import compare_dataset
    >>> ev = compare_dataset("out/baseline", progress=False)  # doctest: +SKIP
    >>> ev.shops.height, ev.buckets  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from chatsim.errors import RuleError, SchemaError
from chatsim.metrics import Evaluation, compare
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from chatsim.schema import (
    MESSAGE_COLUMNS,
    ChatLog,
    _align_id,
    _conform,
    _scan,
    locate_log,
    validate_blocked,
    validate_holiday_mode,
    validate_shops,
)

__all__ = [
    "BYTES_PER_MESSAGE",
    "DEFAULT_BUDGET_GB",
    "Bucket",
    "DatasetEvaluation",
    "DatasetPlan",
    "compare_dataset",
    "plan_dataset",
]

#: Peak memory of validating and evaluating one message in memory (bytes), measured
#: with two rules on simulated data (~430-610 B/message, see docs/scaling.md), rounded up.
BYTES_PER_MESSAGE = 700
#: Default memory budget for one bucket, in GiB (capped to a third of the machine's RAM).
DEFAULT_BUDGET_GB = 4.0
#: Bytes per key of a streaming group-by used by the global id checks (estimate).
_BYTES_PER_KEY = 64
_GIB = 1024**3


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
    """How :func:`compare_dataset` cuts a log into buckets (see :func:`plan_dataset`)."""

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


@dataclass
class DatasetEvaluation(Evaluation):
    """An :class:`~chatsim.metrics.Evaluation` computed bucket by bucket.

    ``chats`` is empty unless ``keep_chats=True`` (it is as large as the log); with
    ``chats_out`` the chat tables are written there as a Parquet dataset instead.

    Attributes:
        buckets: how many buckets were evaluated.
        repartitioned: whether the messages were repartitioned by shop first.
        bucket_messages: messages per bucket.
        id_check: how message and conversation ids were checked across buckets.
        chats_path: the folder ``chats_out`` written to (None without it).
    """

    buckets: int = 0
    repartitioned: bool = False
    bucket_messages: list[int] = field(default_factory=list)
    id_check: dict[str, str] = field(default_factory=dict)
    chats_path: Path | None = None


# --------------------------------------------------------------------------------------
# locating and scanning
# --------------------------------------------------------------------------------------


def _locate(
    path: str | Path,
    shops: str | Path | None,
    holiday_mode: str | Path | None,
    blocked: str | Path | None,
) -> tuple[list[Path], str, dict[str, Path | None]]:
    """Message files, their format and the side-table paths (the layout of ``read_log``)."""
    msg_path, side = locate_log(path, shops=shops, holiday_mode=holiday_mode, blocked=blocked)
    if msg_path.is_dir():
        files = sorted(msg_path.rglob("*.parquet"))
        fmt = "parquet"
        if not files:
            files = sorted(msg_path.rglob("*.csv"))
            fmt = "csv"
        if not files:
            raise SchemaError(f"{msg_path}: folder holds no .parquet or .csv files.")
    else:
        suffix = msg_path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            fmt = "parquet"
        elif suffix in (".csv", ".gz"):
            fmt = "csv"
        else:
            raise SchemaError(
                f"{msg_path}: unsupported file type; use .parquet or .csv (or a folder of them)."
            )
        files = [msg_path]
    return files, fmt, side


def _scan_files(files: Sequence[Path], fmt: str) -> pl.LazyFrame:
    if fmt == "parquet":
        return pl.scan_parquet(list(files), hive_partitioning=False)
    return pl.scan_csv(list(files), infer_schema=False)


def _utc(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A timestamp column as UTC microseconds (text parsed; bad values become null)."""
    if dtype == pl.String:
        return expr.str.to_datetime(time_zone="UTC", strict=False, time_unit="us")
    return expr.dt.convert_time_zone("UTC").dt.cast_time_unit("us")


def _shop_stats(files: Sequence[Path], fmt: str, source: str) -> pl.DataFrame:
    """One streaming pass: per shop, messages, files, latest message and id ranges."""
    parts = []
    for i, f in enumerate(files):
        lf = _conform(_scan_files([f], fmt), MESSAGE_COLUMNS, f"{source}:{f.name}")
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
            pl.col("sent_at").max().alias("last"),
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
    return min(DEFAULT_BUDGET_GB, total / 3 / _GIB)


# --------------------------------------------------------------------------------------
# planning
# --------------------------------------------------------------------------------------


def _pack_files(stats: pl.DataFrame, files: list[Path], max_n: int) -> list[Bucket]:
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
    import heapq

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


def plan_dataset(
    path: str | Path,
    *,
    buckets: int | None = None,
    memory_budget_gb: float | None = None,
    shops: str | Path | None = None,
    holiday_mode: str | Path | None = None,
    blocked: str | Path | None = None,
) -> DatasetPlan:
    """Step 1 of :func:`compare_dataset`: scan the messages once (streaming) and plan buckets.

    ``buckets=None`` uses the files as buckets when each holds whole shops, otherwise
    repartitions into as many buckets as the memory budget needs; an integer forces a
    repartition into that many buckets.
    """
    files, fmt, _side = _locate(path, shops, holiday_mode, blocked)
    source = str(path)
    budget = (memory_budget_gb if memory_budget_gb is not None else _default_budget_gb()) * _GIB
    max_n = max(1, int(budget // BYTES_PER_MESSAGE))
    stats = _shop_stats(files, fmt, source)
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
        "message_id": "disjoint bucket ranges"
        if _ranges_disjoint(stats, "mid_min", "mid_max")
        else "streaming check",
        "conversation_id": "disjoint bucket ranges"
        if _ranges_disjoint(stats, "conv_min", "conv_max")
        else "streaming check",
    }
    last = stats["last"].max() if stats.height else None
    return DatasetPlan(
        source=source,
        files=files,
        fmt=fmt,
        n_messages=n,
        n_shops_with_messages=stats.height,
        data_end=last,  # type: ignore[arg-type]
        partitioned_by_shop=partitioned,
        max_bucket_messages=max_n,
        n_buckets=n_buckets,
        repartition=repartition,
        id_check=id_check,
        shop_stats=stats,
    )


# --------------------------------------------------------------------------------------
# global checks and repartitioning (streaming)
# --------------------------------------------------------------------------------------


def _check_ids_across_buckets(plan: DatasetPlan, budget_bytes: float) -> None:
    """Message ids unique and conversations under one shop, over the whole log (streaming).

    Only needed where bucket id ranges overlap. The keys are cut into slices by hash so
    that each slice's group-by fits the budget; each slice reads only the id columns.
    """
    need = [k for k, how in plan.id_check.items() if how != "disjoint bucket ranges"]
    if not need:
        return
    slices = max(1, math.ceil(plan.n_messages * _BYTES_PER_KEY / budget_bytes))
    parts = [
        _conform(_scan_files([f], plan.fmt), MESSAGE_COLUMNS, plan.source).select(
            "message_id", "conversation_id", "shop_id"
        )
        for f in plan.files
    ]
    lf = pl.concat(parts, how="vertical_relaxed")
    for k in range(slices):
        if "message_id" in need:
            sl = lf.select("message_id")
            if slices > 1:
                sl = sl.filter(pl.col("message_id").hash(7) % slices == k)
            dup = (
                sl.group_by("message_id")
                .agg(pl.len().alias("n"))
                .filter(pl.col("n") > 1)
                .sort("message_id")
                .collect(engine="streaming")
            )
            if dup.height:
                raise SchemaError(
                    f"{plan.source}: column 'message_id': {dup.height} id(s) occur in more "
                    f"than one row (e.g. ids {dup['message_id'].head(5).to_list()}). Message ids "
                    "must be unique; deduplicate the export."
                )
        if "conversation_id" in need:
            sl = lf.select("conversation_id", "shop_id")
            if slices > 1:
                sl = sl.filter(pl.col("conversation_id").hash(7) % slices == k)
            two = (
                sl.group_by("conversation_id")
                .agg(pl.col("shop_id").n_unique().alias("n_shops"))
                .filter(pl.col("n_shops") > 1)
                .sort("conversation_id")
                .collect(engine="streaming")
            )
            if two.height:
                raise SchemaError(
                    f"{plan.source}: column 'conversation_id': {two.height} conversation(s) "
                    f"appear under more than one shop_id (e.g. "
                    f"{two['conversation_id'].head(5).to_list()}). A conversation is one buyer "
                    "and one shop; give each shop's threads their own conversation ids."
                )


def _repartition(plan: DatasetPlan, out: Path) -> list[Bucket]:
    """Write the messages into one folder per bucket (one streaming pass)."""
    stats = plan.shop_stats
    assert stats is not None
    mapping = stats.select("shop_id", "bucket").drop_nulls("shop_id")
    null_bucket = stats.filter(pl.col("shop_id").is_null())["bucket"]
    default = int(null_bucket[0]) if null_bucket.len() else 0
    lf = _scan_files(plan.files, plan.fmt)
    key = (
        pl.col("shop_id")
        .replace_strict(
            mapping["shop_id"], mapping["bucket"], default=default, return_dtype=pl.UInt32
        )
        .fill_null(default)
        .alias("_bucket")
    )
    lf.with_columns(key).sink_parquet(
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


def _file_buckets(plan: DatasetPlan) -> list[Bucket]:
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


# --------------------------------------------------------------------------------------
# the entry point
# --------------------------------------------------------------------------------------


def _side_tables(
    side: dict[str, Path | None], id_dtype: pl.DataType, buyer_dtype: pl.DataType, source: str
) -> tuple[pl.DataFrame | None, pl.DataFrame | None, pl.DataFrame | None]:
    """The side tables, validated whole and cast to the messages' id types."""
    shops = hol = blk = None
    if side["shops"] is not None:
        shops = validate_shops(_scan(side["shops"]), f"{source}:shops")
        shops = _align_id(shops, "shop_id", id_dtype, f"{source}:shops")
    if side["holiday_mode"] is not None:
        hol = validate_holiday_mode(_scan(side["holiday_mode"]), f"{source}:holiday_mode")
        hol = _align_id(hol, "shop_id", id_dtype, f"{source}:holiday_mode")
    if side["blocked"] is not None:
        blk = validate_blocked(_scan(side["blocked"]), f"{source}:blocked")
        blk = _align_id(blk, "shop_id", id_dtype, f"{source}:blocked")
        blk = _align_id(blk, "buyer_id", buyer_dtype, f"{source}:blocked")
    return shops, hol, blk


def _rows_of(df: pl.DataFrame | None, shops: pl.Series) -> pl.DataFrame | None:
    if df is None:
        return None
    return df.filter(pl.col("shop_id").is_in(shops.implode()))


def compare_dataset(
    path: str | Path,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    *,
    as_of: dt.datetime | str | None = None,
    buckets: int | None = None,
    work_dir: str | Path | None = None,
    chats_out: str | Path | None = None,
    keep_chats: bool = False,
    progress: bool = True,
    memory_budget_gb: float | None = None,
    lenient: bool = False,
    shops: str | Path | None = None,
    holiday_mode: str | Path | None = None,
    blocked: str | Path | None = None,
) -> DatasetEvaluation:
    """Evaluate ``rules`` on a log folder too large for memory, bucket by bucket.

    Gives the shop table of ``compare(read_log(path, ...), rules, as_of=as_of)``
    (sorted by rule, in the order given, then ``shop_id``), with memory bounded by
    ``memory_budget_gb`` (default: 4 GiB, at most a third of the RAM) for the largest
    bucket plus the shop table. ``path`` is what :func:`~chatsim.schema.read_log`
    takes; a messages folder of Parquet (or CSV) files is scanned lazily.

    Args:
        buckets: ``None`` (files as buckets when each holds whole shops, else a
            repartition sized to the budget) or a number of buckets to repartition into.
        work_dir: where repartitioned buckets are written (a temporary folder inside
            it, removed at the end; default: the system's temporary folder).
        chats_out: write each bucket's chat table to ``chats_out/bucket=NNNNN.parquet``.
        keep_chats: also return the chat table in memory (as large as the log).
        lenient: as in :func:`~chatsim.schema.read_log`, applied per bucket.

    Example:
        >>> ev = compare_dataset("out/baseline", progress=False)  # doctest: +SKIP
    """
    rules = list(rules)
    if not rules:
        raise RuleError("compare_dataset() needs at least one rule.")
    files, fmt, side = _locate(path, shops, holiday_mode, blocked)
    plan = plan_dataset(
        path,
        buckets=buckets,
        memory_budget_gb=memory_budget_gb,
        shops=shops,
        holiday_mode=holiday_mode,
        blocked=blocked,
    )
    source = plan.source
    budget_bytes = plan.max_bucket_messages * BYTES_PER_MESSAGE
    if as_of is None:
        if plan.data_end is None:
            raise RuleError(
                f"{source}: the log has no messages, so there is no data cutoff; pass as_of."
            )
        cutoff: dt.datetime | str = plan.data_end
    else:
        cutoff = as_of
    if plan.n_messages == 0:  # nothing to cut: the in-memory path
        from chatsim.schema import read_log

        ev = compare(
            read_log(
                path, shops=shops, holiday_mode=holiday_mode, blocked=blocked, lenient=lenient
            ),
            rules,
            as_of=cutoff,
        )
        return DatasetEvaluation(**ev.__dict__, buckets=1)

    msg_schema = _conform(_scan_files(files[:1], fmt), MESSAGE_COLUMNS, source).collect_schema()
    shops_df, hol_df, blk_df = _side_tables(
        side, msg_schema["shop_id"], msg_schema["buyer_id"], source
    )
    _check_ids_across_buckets(plan, budget_bytes)

    tmp: Path | None = None
    chats_dir = Path(chats_out) if chats_out is not None else None
    if chats_dir is not None:
        chats_dir.mkdir(parents=True, exist_ok=True)
        for old in chats_dir.glob("bucket=*.parquet"):
            old.unlink()
    try:
        if plan.repartition:
            base = Path(work_dir) if work_dir is not None else Path(tempfile.gettempdir())
            base.mkdir(parents=True, exist_ok=True)
            need = sum(f.stat().st_size for f in plan.files)
            free = shutil.disk_usage(base).free
            if plan.fmt == "parquet" and free < 1.2 * need:
                raise OSError(
                    f"repartitioning {source} needs about {need / _GIB:.1f} GiB in {base}; "
                    f"{free / _GIB:.1f} GiB free. Pass work_dir= on a larger disk."
                )
            tmp = Path(tempfile.mkdtemp(prefix="chatsim-buckets-", dir=base))
            bucket_list = _repartition(plan, tmp)
        else:
            bucket_list = _file_buckets(plan)
        # shops without messages still get their row, once: in the first bucket
        if shops_df is not None and bucket_list:
            stats = plan.shop_stats
            assert stats is not None
            orphans = shops_df.join(stats.select("shop_id"), on="shop_id", how="anti")["shop_id"]
            if orphans.len():
                b0 = bucket_list[0]
                bucket_list[0] = Bucket(
                    b0.files,
                    pl.concat([b0.shops, orphans.cast(b0.shops.dtype)]),
                    b0.messages,
                    b0.filter_messages,
                )
        return _evaluate(
            bucket_list,
            plan,
            rules,
            cutoff,
            (shops_df, hol_df, blk_df),
            chats_dir,
            keep_chats=keep_chats,
            progress=progress,
            lenient=lenient,
        )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _evaluate(
    bucket_list: list[Bucket],
    plan: DatasetPlan,
    rules: list[Rule],
    cutoff: dt.datetime | str,
    side: tuple[pl.DataFrame | None, pl.DataFrame | None, pl.DataFrame | None],
    chats_dir: Path | None,
    *,
    keep_chats: bool,
    progress: bool,
    lenient: bool,
) -> DatasetEvaluation:
    shops_df, hol_df, blk_df = side
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=plan.n_messages, desc="metrics", unit="msg", unit_scale=True)
    shop_frames: list[pl.DataFrame] = []
    chat_frames: list[pl.DataFrame] = []
    chats_schema: pl.Schema | None = None
    used = after = 0
    dropped: dict[str, int] = {}
    as_of_out: dt.datetime | None = None
    try:
        for i, b in enumerate(bucket_list):
            lf = _scan_files(b.files, plan.fmt)
            if b.filter_messages:
                lf = lf.filter(pl.col("shop_id").is_in(b.shops.implode()))
            log = ChatLog.from_frames(
                lf,
                _rows_of(shops_df, b.shops),
                _rows_of(hol_df, b.shops),
                _rows_of(blk_df, b.shops),
                source=f"{plan.source}[bucket {i}]",
                lenient=lenient,
            )
            ev = compare(log, rules, as_of=cutoff, chats=chats_dir is not None or keep_chats)
            del log
            as_of_out = ev.as_of
            shop_frames.append(ev.shops)
            used += ev.messages_used
            after += ev.messages_after_cutoff
            for k, v in ev.dropped.items():
                dropped[k] = dropped.get(k, 0) + v
            chats_schema = ev.chats.schema
            if chats_dir is not None:
                ev.chats.write_parquet(chats_dir / f"bucket={i:05d}.parquet")
            if keep_chats:
                chat_frames.append(ev.chats)
            del ev
            gc.collect()
            if bar is not None:
                bar.update(b.messages)
    finally:
        if bar is not None:
            bar.close()
    order = {r.name: k for k, r in enumerate(rules)}
    shops_out = (
        pl.concat(shop_frames, how="vertical_relaxed")
        .with_columns(pl.col("rule").replace_strict(order, return_dtype=pl.UInt32).alias("_r"))
        .sort("_r", "shop_id")
        .drop("_r")
    )
    if keep_chats:
        chats = pl.concat(chat_frames, how="vertical_relaxed")
    else:
        chats = pl.DataFrame(schema=chats_schema)
    assert as_of_out is not None
    return DatasetEvaluation(
        rules=rules,
        as_of=as_of_out,
        chats=chats,
        shops=shops_out,
        messages_used=used,
        messages_after_cutoff=after,
        dropped=dropped,
        buckets=len(bucket_list),
        repartitioned=plan.repartition,
        bucket_messages=[b.messages for b in bucket_list],
        id_check=dict(plan.id_check),
        chats_path=chats_dir,
    )
