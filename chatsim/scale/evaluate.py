"""Step 3 of the larger-than-memory path: evaluate bucket by bucket, gather the shop table.

:func:`compare_dataset` is the entry point of :mod:`chatsim.scale` (the ``buckets``
engine of :func:`chatsim.metrics.compare`): plan, check ids across buckets, cut, then
per bucket (:mod:`chatsim.scale.run`, several buckets at once) read and validate
(:meth:`ChatLog.from_frames` with the bucket's rows of the side tables),
:func:`chatsim.metrics.compare` at the global cutoff, keep the shop table, free the
bucket. Last, the side-table rows of shops without messages: holiday-mode and blocked
rows are warned about, shops-table rows evaluated (one row per rule, rates null).

Example:
    >>> ev = compare_dataset("chatsim/data/sample_log", progress=False)
    >>> ev.buckets, ev.shops.height
    (1, 8)
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from chatsim.errors import EngineError
from chatsim.metrics import Evaluation, check_rule_list, compare, data_cutoff
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from chatsim.scale.buckets import check_ids_across_buckets, file_buckets, repartition
from chatsim.scale.packing import Bucket
from chatsim.scale.plan import BYTES_PER_MESSAGE, GIB, DatasetPlan, default_workers, plan_log
from chatsim.scale.run import BucketJob, BucketResult, SideTables, run_buckets
from chatsim.schema import (
    LazyLog,
    align_id,
    scan_log,
    unmatched_shop_rows,
    validate_blocked,
    validate_holiday_mode,
    validate_shops,
)

__all__ = [
    "CHATS_OUT_REFUSED",
    "DatasetEvaluation",
    "check_chats_out",
    "compare_dataset",
    "side_tables",
]

#: Name endings ``chats_out`` refuses: the buckets engine writes a folder of Parquet files.
CHATS_OUT_REFUSED = (".csv", ".gz", ".pq", ".tsv", ".txt", ".json")


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
        workers: how many buckets were evaluated at once.
        planned_from: ``"footers"`` (the plan read only the Parquet footers) or ``"scan"``.
    """

    buckets: int = 0
    repartitioned: bool = False
    bucket_messages: list[int] = field(default_factory=list)
    id_check: dict[str, str] = field(default_factory=dict)
    chats_path: Path | None = None
    workers: int = 1
    planned_from: str = "scan"


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


def side_tables(lazy: LazyLog, plan: DatasetPlan) -> SideTables:
    """The side tables (shops, holiday mode, blocked; each None when the log has none),
    validated whole and cast to the messages' id types (those of ``plan``)."""
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
    return shops, hol, blk


def compare_dataset(
    path: str | Path,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    *,
    as_of: dt.datetime | str | None = None,
    buckets: int | None = None,
    workers: int | None = None,
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
    ``memory_budget_gb`` (default: 4 GiB, at most a third of the RAM) for the buckets
    in flight plus the shop table. ``path`` is what :func:`~chatsim.schema.read_log`
    takes; a messages folder of Parquet (or CSV) files is scanned lazily. Also
    ``compare(path, rules, engine="buckets", ...)``.

    Args:
        buckets: ``None`` (files as buckets when each holds whole shops, else a
            repartition sized to the budget) or a number of buckets to repartition into.
        workers: buckets evaluated at once, each sized to ``memory_budget_gb / workers``
            (default :func:`~chatsim.scale.plan.default_workers`: 2 on 2 cores or more).
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
    n_workers = default_workers() if workers is None else workers
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise EngineError(f"workers must be a whole number of at least 1; got {workers!r}.")
    chats_dir = check_chats_out(chats_out) if chats_out is not None else None
    lazy = scan_log(path, shops=shops, holiday_mode=holiday_mode, blocked=blocked)
    plan = plan_log(lazy, buckets=buckets, memory_budget_gb=memory_budget_gb, workers=n_workers)
    if plan.n_messages == 0:  # nothing to cut: the in-memory path
        log = lazy.read(lenient=lenient, sent_at_range=plan.sent_at_range)
        ev = compare(log, rules, as_of=data_cutoff(as_of, plan.data_end, plan.source))
        return DatasetEvaluation(**ev.__dict__, buckets=1)

    side = side_tables(lazy, plan)
    # the id check runs alone: the whole budget
    budget = plan.max_bucket_messages * BYTES_PER_MESSAGE * plan.workers
    copies = check_ids_across_buckets(plan, budget, lenient=lenient)
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
        job = BucketJob(
            plan,
            rules,
            cutoff,
            side,
            chats_dir,
            keep_chats=keep_chats,
            lenient=lenient,
            copies=copies,
            names=lazy.sources(),
        )
        ev = _evaluate(job, bucket_list, progress=progress)
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


def _quiet_shops(job: BucketJob, bucket_list: list[Bucket], seen: pl.Series) -> BucketResult | None:
    """Side-table rows of shops without messages: warned about (holiday mode, blocked) and
    evaluated (shops table: one row per rule, rates null), as ``compare`` does."""
    shops_df, hol_df, blk_df = job.side
    id_dtype = job.plan.ids["shop_id"]
    with_messages = seen.cast(id_dtype, strict=False).unique().to_frame("shop_id")
    for name, table in (("holiday_mode", hol_df), ("blocked", blk_df)):
        if table is not None:
            unmatched_shop_rows(table, with_messages, job.names[name])
    if shops_df is None:
        return None
    quiet = shops_df.join(with_messages, on="shop_id", how="anti")["shop_id"]
    if not quiet.len():
        return None
    return job.evaluate(len(bucket_list), job.empty_messages(bucket_list[0]), quiet)


def _evaluate(job: BucketJob, bucket_list: list[Bucket], *, progress: bool) -> DatasetEvaluation:
    plan, rules = job.plan, job.rules
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=plan.n_messages, desc="metrics", unit="msg", unit_scale=True)
    results: list[BucketResult] = []
    try:
        for b, r in zip(
            bucket_list, run_buckets(job, bucket_list, workers=plan.workers), strict=True
        ):
            results.append(r)
            if bar is not None:
                bar.update(b.messages)
    finally:
        if bar is not None:
            bar.close()
    seen = pl.concat([r.shop_ids for r in results])
    if (quiet := _quiet_shops(job, bucket_list, seen)) is not None:
        results.append(quiet)
    dropped: dict[str, int] = {}
    for r in results:
        for k, v in r.dropped.items():
            dropped[k] = dropped.get(k, 0) + v
    order = {r.name: k for k, r in enumerate(rules)}
    shops_out = (
        pl.concat([r.shops for r in results], how="vertical_relaxed")
        .with_columns(pl.col("rule").replace_strict(order, return_dtype=pl.UInt32).alias("_r"))
        .sort("_r", "shop_id")
        .drop("_r")
    )
    chats = pl.concat([r.chats for r in results], how="vertical_relaxed")
    return DatasetEvaluation(
        rules=rules,
        as_of=results[0].as_of,
        chats=chats,
        shops=shops_out,
        messages_used=sum(r.used for r in results),
        messages_after_cutoff=sum(r.after for r in results),
        dropped=dropped,
        buckets=len(bucket_list),
        repartitioned=plan.repartition,
        bucket_messages=[b.messages for b in bucket_list],
        id_check=dict(plan.id_check),
        chats_path=job.chats_dir,
        workers=min(plan.workers, len(bucket_list)),
        planned_from=plan.planned_from,
    )
