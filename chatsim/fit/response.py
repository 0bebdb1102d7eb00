"""Response delays and staff capacity, measured in the shops' own working time.

The simulator's seller picks a chat up (first come, first served, ``1 / capacity``
working hours each) and answers it a lognormal delay later, both counted in working
time. On the shops' realized working time (:class:`~chatsim.fit.workdays.WorkClock`):

* **delays** (:func:`delay_sample`): chats whose buyer stopped writing inside a working
  interval, at least ``SETTLED_QUEUE_MIN`` working minutes after the queue of chats that
  waited for that interval was served (``queue x service`` after it began), answered by a
  human: ``log`` of the working minutes to the answer. Per
  shop, their mean is the log of the shop's median delay; the pooled spread inside shops
  is ``delay_sigma``, the spread of shop means beyond their sampling noise is
  ``delay_shop_sigma``;
* **capacity** (:func:`service_seconds`): chats that arrived outside working time wait
  for the next interval in one queue; the ``r``-th of them (0, 1, ...) is answered about
  ``r x service`` later than the first. The slope of working seconds to the answer on
  ``r / size`` (the shop's volume relative to its segment), within each shop, pooled over
  the segment, is the service time of a shop of size 1: ``capacity_per_hour = 3600 /
  slope``.

Only answered primary chats outside holiday mode, not from blocked buyers, not resolved
by an automatic reply and opened before the log settles are used.

Example:
    >>> pooled_spread(np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.array([10, 10]))
    (0.6324555320336759, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from chatsim.fit.profile import Observations
from chatsim.fit.workdays import WorkClock

__all__ = [
    "SETTLED_QUEUE_MIN",
    "Waits",
    "answered_waits",
    "backlog_sample",
    "delay_sample",
    "pooled_spread",
    "queue_clearing",
    "service_seconds",
]

#: Delays are read from chats arriving this many working minutes after a shift began.
SETTLED_QUEUE_MIN = 90.0


def _answered(obs: Observations) -> pl.DataFrame:
    hol_next = pl.col("holiday_next")
    # a chat "resolved" by an automatic reply but answered by a human after the seller
    # session ended waited in the queue all the same (``human_after``, profile.py)
    answer = pl.when(pl.col("auto_resolved")).then(pl.col("human_after")).otherwise("answer_at")
    return (
        obs.chats.with_columns(answer_at=answer)
        .filter(
            pl.col("primary")
            & pl.col("answer_at").is_not_null()
            & ~pl.col("in_holiday")
            & ~pl.col("blocked_now")
            & (hol_next.is_null() | (hol_next > pl.col("answer_at")))
            & (pl.col("open_at") < obs.settled)
        )
        .select("shop", "last_buyer_at", "answer_at")
    )


def _seconds(s: pl.Series) -> np.ndarray:
    return s.dt.epoch("us").to_numpy() / 1e6


@dataclass(frozen=True)
class Waits:
    """The answered chats the delay and capacity estimators read, on the work clock
    (computed once, :func:`answered_waits`): ``shop``, ``ready`` (the buyer's last
    message, seconds), ``inside`` (it fell in working time), ``since`` (working seconds
    since that interval began), ``w_start`` (the shop's working seconds at the interval's
    start), ``w_ready`` (at ``ready``) and ``wr`` (working seconds from ``ready`` to the
    answer)."""

    shop: np.ndarray
    ready: np.ndarray
    inside: np.ndarray
    since: np.ndarray
    w_start: np.ndarray
    w_ready: np.ndarray
    wr: np.ndarray


def answered_waits(obs: Observations, clock: WorkClock) -> Waits:
    """:class:`Waits` of the answered primary chats (see the module's docstring).

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.fit.profile import observe
        >>> obs = observe(sample_log(), min_days=0)
        >>> answered_waits(obs, WorkClock(np.zeros(0, int), np.zeros(0), np.zeros(0))).wr.size
        22
    """
    c = _answered(obs)
    shop = c["shop"].to_numpy().astype(np.int64)
    ready, ans = _seconds(c["last_buyer_at"]), _seconds(c["answer_at"])
    inside, since, w_start = clock.inside(shop, ready)
    w_ready = clock.work(shop, ready)
    return Waits(shop, ready, inside, since, w_start, w_ready, clock.work(shop, ans) - w_ready)


def delay_sample(waits: Waits, queue: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per chat read for delays: ``shop`` and ``log_min`` (log working minutes to answer).

    ``queue`` (``shop, w0, clear_s``: the working seconds at an interval's start and how
    long its waiting chats took to serve) moves each interval's cut-off later.
    """
    w = waits
    f = pl.DataFrame(
        {
            "shop": w.shop,
            "w0": np.round(w.w_start).astype(np.int64),
            "since": w.since,
            "wr": w.wr,
            "ok": w.inside & (w.wr > 0.0),
        }
    )
    if queue is not None and queue.height:
        f = f.join(queue, on=["shop", "w0"], how="left", maintain_order="left")
    else:
        f = f.with_columns(clear_s=pl.lit(0.0))
    f = f.filter(
        pl.col("ok")
        & (pl.col("since") >= pl.col("clear_s").fill_null(0.0) + SETTLED_QUEUE_MIN * 60.0)
    )
    return f.select("shop", log_min=(pl.col("wr") / 60.0).log())


def backlog_sample(waits: Waits) -> pl.DataFrame:
    """Per chat that waited for the next working interval: ``shop``, ``w0`` (the shop's
    working seconds at that interval's start, whole seconds), ``rank`` in its queue (by
    arrival) and ``wait_s`` (working seconds from the interval's start to the answer)."""
    w = waits
    keep = ~w.inside & (w.wr > 0.0)
    frame = pl.DataFrame(
        {
            "shop": w.shop[keep],
            "w0": np.round(w.w_ready[keep]).astype(np.int64),
            "ready": w.ready[keep],
            "wait_s": w.wr[keep],
        }
    )
    return (
        frame.sort("shop", "w0", "ready")
        .with_columns(rank=pl.col("ready").rank("ordinal").over("shop", "w0") - 1)
        .select("shop", "w0", "rank", "wait_s")
    )


def pooled_spread(
    means: np.ndarray, variances: np.ndarray, counts: np.ndarray
) -> tuple[float, float]:
    """(spread of the group means beyond their sampling noise, pooled spread inside
    groups), as standard deviations; groups with fewer than 2 values are left out."""
    ok = counts >= 2
    if not ok.any():
        return 0.0, 0.0
    m, v, n = means[ok], variances[ok], counts[ok]
    within = float(np.sqrt(np.sum(v * (n - 1)) / np.sum(n - 1)))
    between = float(np.var(m, ddof=1)) if m.size > 1 else 0.0
    noise = float(np.mean(within**2 / n))
    return float(np.sqrt(max(between - noise, 0.0))), within


def service_seconds(backlog: pl.DataFrame, size: pl.DataFrame) -> tuple[float | None, int]:
    """Service time of a size-1 shop (seconds) from a backlog sample and each shop's
    ``size``: the within-shop slope of the wait on ``rank / size``; ``(None, n)`` when it
    is not positive or fewer than 100 chats waited behind another.

    Example:
        >>> b = pl.DataFrame({"shop": [0] * 120, "rank": list(range(120)),
        ...                   "wait_s": [600.0 + 360.0 * r for r in range(120)]})
        >>> service_seconds(b, pl.DataFrame({"shop": [0], "size": [1.0]}))
        (360.0, 119)
    """
    b = backlog.join(size, on="shop").with_columns(x=pl.col("rank") / pl.col("size"))
    n = int((b["rank"] > 0).sum())
    if n < 100:
        return None, n
    # within each shop's queue (one working interval): queues differ in what waited
    # before them, which would otherwise read as a steeper slope
    group = ["shop", "w0"] if "w0" in b.columns else ["shop"]
    d = b.with_columns(
        dx=pl.col("x") - pl.col("x").mean().over(group),
        dy=pl.col("wait_s") - pl.col("wait_s").mean().over(group),
    )
    sxx = float((d["dx"] ** 2).sum())
    slope = float((d["dx"] * d["dy"]).sum()) / sxx if sxx > 0 else 0.0
    return (slope if slope > 0 else None), n


def queue_clearing(backlog: pl.DataFrame, service: pl.DataFrame) -> pl.DataFrame:
    """Per shop and interval with waiting chats: ``shop, w0, clear_s``, the working
    seconds its queue took to serve (waiting chats x the shop's ``service_s``)."""
    q = backlog.group_by("shop", "w0").agg(waiting=pl.len())
    return q.join(service, on="shop").select(
        "shop", "w0", clear_s=pl.col("waiting") * pl.col("service_s")
    )
