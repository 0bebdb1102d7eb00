"""Step 3 of the larger-than-memory path: evaluate bucket by bucket, gather the shop table.

:func:`compare_dataset` is the entry point of :mod:`chatsim.scale` (the ``buckets``
engine of :func:`chatsim.metrics.compare`): plan, check ids across buckets, cut, then
per bucket read and validate (:meth:`ChatLog.from_frames` with the bucket's rows of the
side tables), :func:`chatsim.metrics.compare` at the global cutoff, keep the shop table,
free the bucket.

Example:
    >>> ev = compare_dataset("chatsim/data/sample_log", progress=False)
    >>> ev.buckets, ev.shops.height
    (1, 8)
"""

from __future__ import annotations

import datetime as dt
import gc
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from chatsim.errors import EngineError
from chatsim.metrics import Evaluation, check_rule_list, compare, data_cutoff
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from chatsim.scale.buckets import (
    check_ids_across_buckets,
    file_buckets,
    repartition,
    scan_without,
)
from chatsim.scale.plan import BYTES_PER_MESSAGE, GIB, Bucket, DatasetPlan, plan_log
from chatsim.schema import (
    ChatLog,
    LazyLog,
    align_id,
    read_guard,
    scan_log,
    unmatched_shop_rows,
    validate_blocked,
    validate_holiday_mode,
    validate_shops,
)

__all__ = ["CHATS_OUT_REFUSED", "DatasetEvaluation", "check_chats_out", "compare_dataset"]

#: Name endings ``chats_out`` refuses: the buckets engine writes a folder of Parquet files.
CHATS_OUT_REFUSED = (".csv", ".gz", ".pq", ".tsv", ".txt", ".json")

SideTables = tuple[pl.DataFrame | None, pl.DataFrame | None, pl.DataFrame | None]


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


def check_chats_out(chats_out: str | Path) -> Path:
    """The folder the buckets engine writes its chat tables to (``bucket=NNNNN.parquet``).

    A file name (``chats.csv``), or a path that is a file, is refused: the chat table is
    written bucket by bucket as a folder of Parquet files, never as one file.

    Example:
        >>> check_chats_out("out/chats.csv")
        Traceback (most recent call last):
        ...
        chatsim.errors.EngineError: out/chats.csv: the buckets engine writes the chat table as a folder of Parquet files (out/chats.csv/bucket=00000.parquet, ...), not a .csv file; give a folder name such as out/chats, or compute in memory (--engine polars) to write one file.
    """
    out = Path(chats_out)
    if out.suffix.lower() in CHATS_OUT_REFUSED or out.is_file():
        kind = f"a {out.suffix} file" if out.suffix else "a file"
        raise EngineError(
            f"{out}: the buckets engine writes the chat table as a folder of Parquet files "
            f"({out}/bucket=00000.parquet, ...), not {kind}; give a folder name such as "
            f"{out.with_suffix('')}, or compute in memory (--engine polars) to write one file."
        )
    return out


def _side_tables(lazy: LazyLog, plan: DatasetPlan) -> SideTables:
    """The side tables, validated whole and cast to the messages' id types; rows of shops
    without messages reported (:func:`chatsim.schema.unmatched_shop_rows`)."""
    id_dtype, buyer_dtype = plan.ids["shop_id"], plan.ids["buyer_id"]
    names = lazy.sources()
    shops = hol = blk = None
    if (df := lazy.read_side_table("shops")) is not None:
        shops = validate_shops(df, names["shops"])
        shops = align_id(shops, "shop_id", id_dtype, names["shops"])
    if (df := lazy.read_side_table("holiday_mode")) is not None:
        hol = validate_holiday_mode(df, names["holiday_mode"])
        hol = align_id(hol, "shop_id", id_dtype, names["holiday_mode"])
    if (df := lazy.read_side_table("blocked")) is not None:
        blk = validate_blocked(df, names["blocked"])
        blk = align_id(blk, "shop_id", id_dtype, names["blocked"])
        blk = align_id(blk, "buyer_id", buyer_dtype, names["blocked"])
    stats = plan.shop_stats
    assert stats is not None
    with_messages = stats.select(pl.col("shop_id").cast(id_dtype))
    for name, table in (("holiday_mode", hol), ("blocked", blk)):
        if table is not None:
            unmatched_shop_rows(table, with_messages, names[name])
    return shops, hol, blk


def _rows_of(df: pl.DataFrame | None, shops: pl.Series) -> pl.DataFrame | None:
    """A side table's rows of ``shops`` (the bucket's shop ids as stored in the files)."""
    if df is None:
        return None
    return df.filter(pl.col("shop_id").is_in(shops.cast(df.schema["shop_id"]).implode()))


def _with_quiet_shops(
    bucket_list: list[Bucket], shops_df: pl.DataFrame | None, plan: DatasetPlan
) -> list[Bucket]:
    """Shops without messages still get their row, once: in the first bucket."""
    if shops_df is None or not bucket_list:
        return bucket_list
    stats = plan.shop_stats
    assert stats is not None
    dtype = shops_df.schema["shop_id"]
    with_messages = stats.select(pl.col("shop_id").cast(dtype))
    orphans = shops_df.join(with_messages, on="shop_id", how="anti")["shop_id"]
    if orphans.len():
        b0 = bucket_list[0]
        bucket_list[0] = Bucket(
            b0.files,
            pl.concat([b0.shops, orphans.cast(b0.shops.dtype)]),
            b0.messages,
            b0.filter_messages,
        )
    return bucket_list


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
    takes; a messages folder of Parquet (or CSV) files is scanned lazily. Also
    ``compare(path, rules, engine="buckets", ...)``.

    Args:
        buckets: ``None`` (files as buckets when each holds whole shops, else a
            repartition sized to the budget) or a number of buckets to repartition into.
        work_dir: where repartitioned buckets are written (a temporary folder inside
            it, removed at the end; default: the system's temporary folder).
        chats_out: write each bucket's chat table to ``chats_out/bucket=NNNNN.parquet`` (a
            folder: a file name such as ``chats.csv`` is refused, :func:`check_chats_out`).
        keep_chats: also return the chat table in memory (as large as the log).
        lenient: as in :func:`~chatsim.schema.read_log`: the same rows are dropped as in
            memory (a message id repeated across buckets keeps its first copy).

    Example:
        >>> ev = compare_dataset("out/baseline", progress=False)  # doctest: +SKIP
    """
    rules = check_rule_list(rules, "compare_dataset()")
    chats_dir = check_chats_out(chats_out) if chats_out is not None else None
    lazy = scan_log(path, shops=shops, holiday_mode=holiday_mode, blocked=blocked)
    plan = plan_log(lazy, buckets=buckets, memory_budget_gb=memory_budget_gb)
    if plan.n_messages == 0:  # nothing to cut: the in-memory path
        log = lazy.read(lenient=lenient, sent_at_range=plan.sent_at_range)
        ev = compare(log, rules, as_of=data_cutoff(as_of, plan.data_end, plan.source))
        return DatasetEvaluation(**ev.__dict__, buckets=1)

    side = _side_tables(lazy, plan)
    copies = check_ids_across_buckets(
        plan, plan.max_bucket_messages * BYTES_PER_MESSAGE, lenient=lenient
    )
    n_copies = copies.height
    cutoff = data_cutoff(as_of, plan.data_end, plan.source)

    tmp: Path | None = None
    if chats_dir is not None:
        chats_dir.mkdir(parents=True, exist_ok=True)
        for old in chats_dir.glob("bucket=*.parquet"):
            old.unlink()
    try:
        if plan.repartition:
            tmp = _scratch_folder(plan, work_dir)
            bucket_list = repartition(plan, tmp, copies)
            copies = copies.clear()  # not in the buckets' files
        else:
            bucket_list = file_buckets(plan)
        ev = _evaluate(
            _with_quiet_shops(bucket_list, side[0], plan),
            plan,
            rules,
            cutoff,
            side,
            chats_dir,
            keep_chats=keep_chats,
            progress=progress,
            lenient=lenient,
            copies=copies,
            names=lazy.sources(),
        )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if n_copies:  # repeated ids dropped across buckets, counted as in memory
        reason = "duplicate message_id"
        ev.dropped = {**ev.dropped, reason: ev.dropped.get(reason, 0) + n_copies}
    return ev


def _scratch_folder(plan: DatasetPlan, work_dir: str | Path | None) -> Path:
    """A fresh temporary folder for the repartitioned buckets, if the disk has room."""
    base = Path(work_dir) if work_dir is not None else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    need = sum(f.stat().st_size for f in plan.files)
    free = shutil.disk_usage(base).free
    if plan.fmt == "parquet" and free < 1.2 * need:
        raise OSError(
            f"repartitioning {plan.source} needs about {need / GIB:.1f} GiB in {base}; "
            f"{free / GIB:.1f} GiB free. Pass work_dir= on a larger disk."
        )
    return Path(tempfile.mkdtemp(prefix="chatsim-buckets-", dir=base))


def _evaluate(
    bucket_list: list[Bucket],
    plan: DatasetPlan,
    rules: list[Rule],
    cutoff: dt.datetime,
    side: SideTables,
    chats_dir: Path | None,
    *,
    keep_chats: bool,
    progress: bool,
    lenient: bool,
    copies: pl.DataFrame,
    names: dict[str, str],
) -> DatasetEvaluation:
    shops_df, hol_df, blk_df = side
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=plan.n_messages, desc="metrics", unit="msg", unit_scale=True)
    # repartitioned buckets are Parquet whatever the input's format
    fmt = "parquet" if plan.repartition else plan.fmt
    shop_frames: list[pl.DataFrame] = []
    chat_frames: list[pl.DataFrame] = []
    chats_schema: pl.Schema | None = None
    used = after = 0
    dropped: dict[str, int] = {}
    as_of_out: dt.datetime | None = None
    try:
        for i, b in enumerate(bucket_list):
            lf = scan_without(b.files, plan, fmt, copies)
            if b.filter_messages:
                lf = lf.filter(pl.col("shop_id").is_in(b.shops.implode()))
            with read_guard(b.files, fmt):  # type: ignore[arg-type]
                msgs = lf.collect()
            log = ChatLog.from_frames(
                msgs,
                _rows_of(shops_df, b.shops),
                _rows_of(hol_df, b.shops),
                _rows_of(blk_df, b.shops),
                source=f"{plan.source}[bucket {i}]",
                sources={**names, "messages": f"{plan.source}[bucket {i}]"},
                lenient=lenient,
                sent_at_range=plan.sent_at_range,
                ids=plan.ids,
                check_unmatched=False,  # checked once, over the whole log
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
