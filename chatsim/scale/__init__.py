"""Metrics over chat logs larger than memory: one machine, bounded memory.

:func:`compare_dataset` (also ``compare(path, rules, engine="buckets")``) computes the
same shop table as ``compare(read_log(path), rules)`` without ever holding the whole log
in memory. It relies on one property of the data: a chat never spans two conversations
and a conversation never spans two shops, so every shop's metrics depend only on that
shop's messages (and its rows of the side tables). The log can therefore be cut into
*buckets* of whole shops, each evaluated on its own with :func:`chatsim.metrics.compare`;
only the data cutoff (``as_of``, by default the latest message of the *whole* log) is
global.

The three steps, one module each:

1. **Plan** (:mod:`~chatsim.scale.plan`): for Parquet files, from their footers alone
   (:mod:`~chatsim.scale.footers`: row counts and column bounds, no data read) when the
   files' shop-id ranges do not overlap; otherwise one streaming pass over the message
   files gives, per shop, its message count, the files it appears in, its latest message
   and its id ranges. From it: the global cutoff, whether the files already hold whole
   shops (e.g. the simulator's ``messages/shard=*.parquet``) and the global id checks.
2. **Buckets** (:mod:`~chatsim.scale.packing`, :mod:`~chatsim.scale.buckets`): files that
   hold whole shops are packed into buckets of about equal size, at most ``budget /
   (BYTES_PER_MESSAGE x workers)`` messages (a file larger than that is split by shop).
   Otherwise the messages are repartitioned once, in streaming fashion, into N bucket
   folders (``sink_parquet`` with :class:`polars.PartitionBy`) under a temporary folder,
   shops assigned to buckets so that the buckets have about equal message counts.
3. **Evaluate** (:mod:`~chatsim.scale.evaluate`, :mod:`~chatsim.scale.run`): per bucket,
   ``workers`` buckets at once, read and validate (:meth:`ChatLog.from_frames` with the
   bucket's rows of the shop tables), ``compare(..., as_of=global cutoff)``, keep the shop
   table, free the bucket; results are taken in bucket order.

What is checked where (``docs/scaling.md``): every per-row and per-shop check of
:func:`chatsim.schema.validate_messages` runs per bucket (each bucket holds whole
shops, so a duplicate message id or a conversation under two shops *within* a
bucket is found there). Across buckets, message ids must be unique and a
conversation id must not occur under two shops: this is proven from the buckets'
id ranges when they do not overlap (the simulator's ids), and otherwise checked by a
streaming pass per slice of hashed ids, sized to the memory budget (the same checks
and messages as :mod:`chatsim.schema`). The side tables (shops, holiday mode,
blocked) are small and validated whole, once.

Example:
    >>> from chatsim.scale import compare_dataset
    >>> ev = compare_dataset("out/baseline", progress=False)  # doctest: +SKIP
    >>> ev.shops.height, ev.buckets  # doctest: +SKIP
"""

from __future__ import annotations

from chatsim.scale.evaluate import DatasetEvaluation, compare_dataset
from chatsim.scale.packing import Bucket
from chatsim.scale.plan import (
    BYTES_PER_MESSAGE,
    DEFAULT_BUDGET_GB,
    DatasetPlan,
    default_workers,
    plan_dataset,
)

__all__ = [
    "BYTES_PER_MESSAGE",
    "DEFAULT_BUDGET_GB",
    "Bucket",
    "DatasetEvaluation",
    "DatasetPlan",
    "compare_dataset",
    "default_workers",
    "plan_dataset",
]
