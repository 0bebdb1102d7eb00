"""Conversations message by message: seller threads, broadcasts, buyer bursts.

:func:`message_counts` walks the messages sorted by conversation and time once, with numpy
array operations over all rows (no loop over messages), and counts per shop what the chat
table does not show: small talk, system rows, seller threads and broadcasts with their
replies, and buyer bursts. The buyers' waiting queue (each burst waits for one seller
message) is the recursion ``L = max(0, L + burst - answer)`` along each conversation,
computed for all rows at once as a running maximum (:func:`waiting_bursts`).

Example:
    >>> waiting_bursts(np.array([1, 1, 0, 0]), np.array([0, 0, 1, 1]),
    ...                np.array([0, 0, 0, 0]), np.array([False, True, True, True])).tolist()
    [0, 1, 2, 1]
"""

from __future__ import annotations

import numpy as np
import polars as pl

from chatsim.schema import SENDERS

__all__ = [
    "BROADCAST_GAP_S",
    "BURST_GAP_MIN",
    "REPLY_WINDOW_H",
    "message_counts",
    "waiting_bursts",
]

#: A buyer message this many minutes after the buyer's last one starts a new burst.
BURST_GAP_MIN = 30.0
#: Broadcast messages of a shop less than this many seconds apart are one broadcast.
BROADCAST_GAP_S = 60.0
#: A buyer message at most this many hours after a seller thread or broadcast replies to it.
REPLY_WINDOW_H = 24.0
_HOUR_US = 3_600_000_000
_BUYER, _SELLER, _AUTO = (SENDERS.index(s) for s in ("buyer", "seller", "auto"))


def message_counts(ordered: pl.DataFrame) -> pl.DataFrame:
    """Per ``shop_id``: ``small_talk, system, threads, thread_answers, broadcast_messages,
    broadcast_answers, bursts, broadcasts`` from validated messages sorted by
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
    kinds = ordered.group_by("shop_id").agg(
        small_talk=(
            (pl.col("sender") == "seller")
            & (pl.col("kind") != "system")
            & ~pl.col("is_broadcast")
            & ~pl.col("valid_reply").fill_null(True)
        ).sum(),
        system=(pl.col("kind") == "system").sum(),
    )
    m = ordered.filter(
        (pl.col("kind") != "system")
        & ~((pl.col("sender") == "buyer") & pl.col("rating").is_not_null())
    ).select("shop_id", "conversation_id", "sent_at", "sender", "is_broadcast", "valid_reply")
    conv = m["conversation_id"].to_numpy()
    t = m["sent_at"].dt.epoch("us").to_numpy()
    sender = m["sender"].to_physical().to_numpy()
    bcast = m["is_broadcast"].to_numpy()
    valid = m["valid_reply"].fill_null(True).to_numpy()
    n = conv.size
    same_prev = np.zeros(n, dtype=bool)
    same_prev[1:] = conv[1:] == conv[:-1]
    same_next = np.zeros(n, dtype=bool)
    same_next[:-1] = same_prev[1:]
    idx = np.arange(n)
    last_b = np.maximum.accumulate(np.where(sender == _BUYER, idx, -1))
    last_b = np.concatenate([[-1], last_b[:-1]])  # the last buyer row strictly before
    conv_start = np.maximum.accumulate(np.where(same_prev, 0, idx))
    since_b_h = np.where(last_b >= conv_start, (t - t[np.maximum(last_b, 0)]) / _HOUR_US, np.inf)
    prev = np.where(same_prev, np.roll(sender, 1), -1)
    gap_us = np.where(same_prev, t - np.roll(t, 1), 0)
    # a returning buyer whose earlier chat still waits starts a new burst too
    burst = (sender == _BUYER) & (
        ~same_prev
        | (prev == _SELLER)
        | (gap_us > BURST_GAP_MIN * 60 * 1e6)
        | (since_b_h * 60 > BURST_GAP_MIN)
    )
    seller = (sender == _SELLER) & ~bcast
    waiting = waiting_bursts(burst, seller & valid, conv_start, same_prev)
    thread = seller & valid & (waiting == 0) & (since_b_h > REPLY_WINDOW_H)
    answered = (
        same_next
        & (np.roll(sender, -1) == _BUYER)
        & ((np.roll(t, -1) - t) <= REPLY_WINDOW_H * _HOUR_US)
    )
    flags = pl.DataFrame(
        {
            "shop_id": m["shop_id"],
            "thread": thread,
            "thread_answer": thread & answered,
            "bcast": bcast,
            "bcast_answer": bcast & answered,
            "burst": burst,
        }
    )
    per_shop = flags.group_by("shop_id").agg(
        threads=pl.col("thread").sum(),
        thread_answers=pl.col("thread_answer").sum(),
        broadcast_messages=pl.col("bcast").sum(),
        broadcast_answers=pl.col("bcast_answer").sum(),
        bursts=pl.col("burst").sum(),
    )
    b = m.filter(pl.col("is_broadcast")).select("shop_id", "sent_at").sort("shop_id", "sent_at")
    gap = (pl.col("sent_at") - pl.col("sent_at").shift(1)).dt.total_microseconds()
    events = (
        b.with_columns(
            new=(
                (pl.col("shop_id") != pl.col("shop_id").shift(1)) | (gap > BROADCAST_GAP_S * 1e6)
            ).fill_null(True)
        )
        .group_by("shop_id")
        .agg(broadcasts=pl.col("new").sum())
    )
    out = kinds.join(per_shop, on="shop_id", how="full", coalesce=True)
    return out.join(events, on="shop_id", how="left")


def waiting_bursts(
    burst: np.ndarray, answer: np.ndarray, conv_start: np.ndarray, same_prev: np.ndarray
) -> np.ndarray:
    """Buyer bursts still waiting just before each row: the queue ``L = max(0, L + burst -
    answer)`` run along each conversation (rows sorted by conversation; ``conv_start``:
    each row's conversation's first row; ``same_prev``: the previous row is of the same
    conversation), as a running maximum (no loop)."""
    x = burst.astype(np.int64) - answer.astype(np.int64)
    s = np.cumsum(x)
    before = np.where(conv_start > 0, s[np.maximum(conv_start - 1, 0)], 0)
    rel = s - before  # the sum within the conversation, up to and including the row
    conv = np.cumsum(~same_prev)
    big = np.int64(4) * (np.abs(rel).max(initial=0) + 1)
    low = np.maximum.accumulate(-rel + big * conv) - big * conv  # -(running minimum)
    queue = rel + np.maximum(low, 0)
    return np.where(same_prev, np.roll(queue, 1), 0)
