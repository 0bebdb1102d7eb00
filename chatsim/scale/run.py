"""Step 3's inner loop: evaluate buckets, several at once, and hand back their results in order.

:class:`BucketJob` holds what every bucket shares (the plan, the rules, the global cutoff,
the validated side tables); :meth:`BucketJob.run` reads one bucket's files, validates
them with the bucket's rows of the side tables and runs
:func:`chatsim.metrics.compare` at the global cutoff. :func:`run_buckets` runs the
buckets on ``workers`` threads (polars, numba and the Parquet reader release the
interpreter lock, so two buckets keep two cores busy where one bucket leaves the second
core idle in its single-threaded steps) and yields the results in bucket order: the
first bucket (in order) that fails is the error raised, whatever the timing.

Example:
    >>> from chatsim.scale.plan import plan_dataset
    >>> from chatsim.metrics import data_cutoff
    >>> from chatsim.rules import NEW_12H
    >>> plan = plan_dataset("chatsim/data/sample_log")
    >>> job = BucketJob(plan, [NEW_12H], data_cutoff(None, plan.data_end, plan.source))
    >>> [r.used for r in run_buckets(job, plan.bucket_list, workers=2)]
    [88]
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from chatsim.metrics import compare
from chatsim.rules import Rule
from chatsim.scale.buckets import COPIES_SCHEMA, scan_without
from chatsim.scale.packing import Bucket
from chatsim.scale.plan import DatasetPlan
from chatsim.schema import ChatLog, read_guard, scan_files

__all__ = ["BucketJob", "BucketResult", "run_buckets"]

SideTables = tuple[pl.DataFrame | None, pl.DataFrame | None, pl.DataFrame | None]


@dataclass
class BucketResult:
    """What one bucket gives: its shop table, chats (kept only if asked), counts, and the
    shop ids its messages name (as stored, before validation)."""

    shops: pl.DataFrame
    chats: pl.DataFrame
    used: int
    after: int
    dropped: dict[str, int]
    as_of: dt.datetime
    shop_ids: pl.Series


def _rows_of(df: pl.DataFrame | None, shops: pl.Series) -> pl.DataFrame | None:
    """A side table's rows of ``shops`` (shop ids as stored in the message files)."""
    if df is None:
        return None
    wanted = shops.cast(df.schema["shop_id"], strict=False).implode()
    return df.filter(pl.col("shop_id").is_in(wanted))


@dataclass
class BucketJob:
    """Everything the buckets share; :meth:`run` evaluates one.

    ``side`` holds the validated shops, holiday-mode and blocked tables (each may be
    None); ``chats_dir`` is where each bucket's chat table is written
    (``bucket=NNNNN.parquet``); ``keep_chats`` returns it too; ``copies`` are the rows
    a lenient read drops across buckets (:func:`~chatsim.scale.buckets.check_ids_across_buckets`).
    """

    plan: DatasetPlan
    rules: list[Rule]
    cutoff: dt.datetime
    side: SideTables = (None, None, None)
    chats_dir: Path | None = None
    keep_chats: bool = False
    lenient: bool = False
    copies: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=COPIES_SCHEMA))
    names: dict[str, str] = field(default_factory=dict)

    @property
    def fmt(self) -> str:
        """The buckets' file format (repartitioned buckets are Parquet whatever the input)."""
        return "parquet" if self.plan.repartition else self.plan.fmt

    def read(self, bucket: Bucket) -> pl.DataFrame:
        """A bucket's messages, as stored (without the rows of ``copies``)."""
        lf = scan_without(bucket.files, self.plan, self.fmt, self.copies)
        if bucket.filter_messages:
            assert bucket.shops is not None
            lf = lf.filter(pl.col("shop_id").is_in(bucket.shops.implode()))
        with read_guard(bucket.files, self.fmt):  # type: ignore[arg-type]
            return lf.collect()

    def run(self, i: int, bucket: Bucket) -> BucketResult:
        """Read, validate and evaluate bucket ``i``."""
        msgs = self.read(bucket)
        shop_ids = msgs.get_column("shop_id").unique()
        return self.evaluate(i, msgs, shop_ids)

    def bucket_log(self, i: int, msgs: pl.DataFrame, shop_ids: pl.Series) -> ChatLog:
        """Bucket ``i``'s log: ``msgs`` validated with the side-table rows of ``shop_ids``
        (ids cast to the plan's types; unmatched rows are checked once, over the whole log)."""
        shops_df, hol_df, blk_df = self.side
        where = f"{self.plan.source}[bucket {i}]"
        return ChatLog.from_frames(
            msgs,
            _rows_of(shops_df, shop_ids),
            _rows_of(hol_df, shop_ids),
            _rows_of(blk_df, shop_ids),
            source=where,
            sources={**self.names, "messages": where},
            lenient=self.lenient,
            sent_at_range=self.plan.sent_at_range,
            ids=self.plan.ids,
            check_unmatched=False,  # checked once, over the whole log
        )

    def evaluate(self, i: int, msgs: pl.DataFrame, shop_ids: pl.Series) -> BucketResult:
        """Validate ``msgs`` with the side-table rows of ``shop_ids`` and evaluate them
        (also a bucket of shops without messages: ``msgs`` empty)."""
        log = self.bucket_log(i, msgs, shop_ids)
        del msgs
        with_chats = self.chats_dir is not None or self.keep_chats
        ev = compare(log, self.rules, as_of=self.cutoff, chats=with_chats)
        del log
        if self.chats_dir is not None:
            ev.chats.write_parquet(self.chats_dir / f"bucket={i:05d}.parquet")
        return BucketResult(
            shops=ev.shops,
            chats=ev.chats if self.keep_chats else ev.chats.head(0),
            used=ev.messages_used,
            after=ev.messages_after_cutoff,
            dropped=dict(ev.dropped),
            as_of=ev.as_of,
            shop_ids=shop_ids,
        )

    def empty_messages(self, bucket: Bucket) -> pl.DataFrame:
        """No messages, with the columns of ``bucket``'s files (for shops without any)."""
        with read_guard(bucket.files[:1], self.fmt):  # type: ignore[arg-type]
            return scan_files(bucket.files[:1], self.fmt).head(0).collect()  # type: ignore[arg-type]


def run_buckets(
    job: BucketJob, buckets: Sequence[Bucket], *, workers: int = 1
) -> Iterator[BucketResult]:
    """``job.run`` for every bucket, ``workers`` at a time; results in bucket order.

    A failing bucket raises when its turn comes (the buckets before it were computed);
    the buckets not started yet are cancelled and those running are let finish.
    """
    if workers <= 1 or len(buckets) <= 1:
        for i, b in enumerate(buckets):
            yield job.run(i, b)
        return
    with ThreadPoolExecutor(min(workers, len(buckets)), thread_name_prefix="chatsim-bucket") as ex:
        # each task in a copy of the caller's context (the wording of error messages)
        futures: list[Future[BucketResult]] = [
            ex.submit(contextvars.copy_context().run, job.run, i, b) for i, b in enumerate(buckets)
        ]
        try:
            for f in futures:
                yield f.result()
        finally:
            for f in futures:
                f.cancel()
