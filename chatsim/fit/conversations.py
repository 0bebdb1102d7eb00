"""Conversations message by message: seller threads, broadcasts, buyer bursts, kinds.

:func:`message_counts` walks the messages sorted by conversation and time once, in one
compiled loop (numba, as the engine's chat state machine; no Python loop over messages),
and counts per shop what the chat table does not show: small talk, system rows, seller
threads and broadcasts with their replies, buyer bursts and the buyer messages by kind.
The buyers' waiting queue (each burst waits for one seller message) is the recursion
``L = max(0, L + burst - answer)`` along each conversation.

Example:
    >>> import datetime as dt
    >>> t0 = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
    >>> msgs = pl.DataFrame({
    ...     "shop": pl.Series([0, 0, 0, 0], dtype=pl.UInt32), "conversation_id": [1, 1, 1, 1],
    ...     "sent_at": [t0 + dt.timedelta(minutes=m) for m in (0, 1, 40, 50)],
    ...     "sender": pl.Series(["buyer", "buyer", "buyer", "seller"], dtype=pl.Enum(SENDERS)),
    ...     "kind": pl.Series(["text", "image", "text", "text"], dtype=pl.Enum(KINDS)),
    ...     "is_broadcast": [False] * 4, "valid_reply": [None, None, None, True],
    ...     "rating": pl.Series([None] * 4, dtype=pl.Enum(["satisfied", "unsatisfied"])),
    ... })
    >>> message_counts(msgs, 1).select("bursts", "threads", "text", "image").row(0)
    (2.0, 0.0, 2.0, 1.0)
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import polars as pl

from chatsim.scenario.weights import buyer_kinds
from chatsim.schema import KINDS, SENDERS

__all__ = [
    "BROADCAST_GAP_S",
    "BURST_GAP_MIN",
    "COUNTS",
    "REPLY_WINDOW_H",
    "message_counts",
]

#: A buyer message this many minutes after the buyer's last one starts a new burst.
BURST_GAP_MIN = 30.0
#: Broadcast messages of a shop less than this many seconds apart are one broadcast.
BROADCAST_GAP_S = 60.0
#: A buyer message at most this many hours after a seller thread or broadcast replies to it.
REPLY_WINDOW_H = 24.0
#: What :func:`message_counts` counts per shop, besides broadcasts and the buyer kinds.
COUNTS = (
    "small_talk", "system", "threads", "thread_answers",
    "broadcast_messages", "broadcast_answers", "bursts",
)  # fmt: skip
_HOUR_US = 3_600_000_000
_BUYER, _SELLER = SENDERS.index("buyer"), SENDERS.index("seller")
_SYSTEM = KINDS.index("system")


def message_counts(ordered: pl.DataFrame, n_shops: int) -> pl.DataFrame:
    """Per shop code ``shop`` (0 to ``n_shops - 1``, every one): ``small_talk, system,
    threads, thread_answers, broadcast_messages, broadcast_answers, bursts, broadcasts``
    and the buyer messages of each kind (``text, image, ...``: rating rows and system rows
    left out), as floats, from validated messages with a ``shop`` code sorted by
    ``conversation_id, sent_at, message_id``.

    A **seller thread** is a seller message (not a broadcast, small talk or a system row)
    while no buyer burst of the conversation waits for an answer and the buyer has not
    written for ``REPLY_WINDOW_H`` hours. A thread or a broadcast message is **answered**
    when the conversation's next message is the buyer's, within ``REPLY_WINDOW_H`` hours. A
    **burst** starts with a buyer message after a human seller message, or
    ``BURST_GAP_MIN`` minutes after the buyer's previous one. Broadcast messages of a shop
    closer than ``BROADCAST_GAP_S`` seconds are one broadcast. Buyer rating rows and system
    rows are left out of threads, replies and bursts.
    """
    shop = ordered["shop"].to_numpy().astype(np.int64)
    kinds = len(KINDS)
    out = _compiled()(
        ordered.select(_new_conversation())[:, 0].to_numpy(),
        ordered["sent_at"].dt.epoch("us").to_numpy(),
        ordered["sender"].to_physical().to_numpy().astype(np.int8),
        ordered["kind"].to_physical().to_numpy().astype(np.int8),
        ordered["is_broadcast"].to_numpy(),
        ordered["valid_reply"].fill_null(True).to_numpy(),
        ordered["rating"].is_not_null().to_numpy(),
        shop,
        n_shops,
        kinds,
    )
    cols = {c: out[:, i] for i, c in enumerate(COUNTS)}
    cols |= {k: out[:, len(COUNTS) + KINDS.index(k)] for k in buyer_kinds()}
    table = pl.DataFrame(
        {"shop": np.arange(n_shops, dtype=np.uint32)}
        | {c: v.astype(np.float64) for c, v in cols.items()}
    )
    kept = (pl.col("kind") != "system") & ~(
        (pl.col("sender") == "buyer") & pl.col("rating").is_not_null()
    )
    b = (
        ordered.filter(pl.col("is_broadcast") & kept)
        .select("shop", "sent_at")
        .sort("shop", "sent_at")
    )
    gap = (pl.col("sent_at") - pl.col("sent_at").shift(1)).dt.total_microseconds()
    events = (
        b.with_columns(
            new=(
                (pl.col("shop") != pl.col("shop").shift(1)) | (gap > BROADCAST_GAP_S * 1e6)
            ).fill_null(True)
        )
        .group_by("shop")
        .agg(broadcasts=pl.col("new").sum().cast(pl.Float64))
    )
    return (
        table.join(events, on="shop", how="left")
        .with_columns(pl.col("broadcasts").fill_null(0.0))
        .sort("shop")
    )


def _walk(starts, t, sender, kind, bcast, valid, rated, shop, n_shops, n_kinds):  # type: ignore[no-untyped-def]
    """The counts of :func:`message_counts`, one pass over the sorted rows (compiled)."""
    out = np.zeros((n_shops, 7 + n_kinds), dtype=np.int64)
    n = t.size
    burst_gap_us = BURST_GAP_MIN * 60 * 1e6
    reply_us = REPLY_WINDOW_H * _HOUR_US
    # the previous kept row (not a system row, not a buyer's rating row) and its state
    have_prev = False
    prev_conv = 0
    prev_sender = -1
    prev_t = np.int64(0)
    prev_shop = np.int64(0)
    prev_thread = False
    prev_bcast = False
    last_buyer_t = np.int64(0)
    has_buyer = False
    queue = 0  # buyer bursts waiting, before the row
    conv = 0  # the row's conversation, counted from the first
    for i in range(n):
        if starts[i]:
            conv += 1
        s = shop[i]
        sd = sender[i]
        k = kind[i]
        if k == _SYSTEM:
            out[s, 1] += 1
            continue
        if sd == _SELLER and not bcast[i] and not valid[i]:
            out[s, 0] += 1
        if sd == _BUYER:
            if rated[i]:
                continue
            out[s, 7 + k] += 1
        same = have_prev and conv == prev_conv
        if not same:
            has_buyer = False
            queue = 0
        elif sd == _BUYER and t[i] - prev_t <= reply_us:
            # the previous row (a thread or broadcast message) was answered
            if prev_thread:
                out[prev_shop, 3] += 1
            if prev_bcast:
                out[prev_shop, 5] += 1
        since_b_h = (t[i] - last_buyer_t) / _HOUR_US if has_buyer else np.inf
        burst = False
        if sd == _BUYER:
            burst = (
                not same
                or prev_sender == _SELLER
                or (t[i] - prev_t) > burst_gap_us
                or since_b_h * 60 > BURST_GAP_MIN
            )
        seller = sd == _SELLER and not bcast[i]
        answer = seller and valid[i]
        thread = answer and queue == 0 and since_b_h > REPLY_WINDOW_H
        if thread:
            out[s, 2] += 1
        if bcast[i]:
            out[s, 4] += 1
        if burst:
            out[s, 6] += 1
        queue = max(0, queue + (1 if burst else 0) - (1 if answer else 0))
        if sd == _BUYER:
            has_buyer = True
            last_buyer_t = t[i]
        have_prev = True
        prev_conv = conv
        prev_sender = sd
        prev_t = t[i]
        prev_shop = s
        prev_thread = thread
        prev_bcast = bcast[i]
    return out


def _new_conversation() -> pl.Expr:
    """True on a conversation's first row (rows sorted by conversation)."""
    conv = pl.col("conversation_id")
    return (conv != conv.shift(1)).fill_null(True)


@functools.cache
def _compiled() -> Callable[..., np.ndarray]:
    """:func:`_walk` compiled (on first use; the machine code is cached on disk)."""
    import numba

    return numba.njit(nogil=True, cache=True)(_walk)
