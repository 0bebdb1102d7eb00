"""The chat state machine compiled (numba): messages in canonical order -> one row per chat.

This is :func:`chatsim.engine.chat_frame` written as one loop over the sorted
messages instead of a chain of ordered passes: the polars engine's chat builder. It
carries each conversation's state (the latest buyer / answering message, the
latest automatic reply, the latest seller thread opener) in a few registers and
writes a chat's values as its rows go by, so it reads each message once.

The definitions are those of :mod:`chatsim.chats`; :func:`chatsim.engine.chat_frame`
states them as narwhals expressions, which Spark and the ``PerConversation`` window
run. The tests run both on the same logs (hand-worked policy cases, random logs,
every automatic-reply mode) and require identical chat tables.

Input: the messages sorted by conversation, ``sent_at``, ``message_id``, as three
arrays: ``sent_at`` in epoch microseconds, the per-message bits of :func:`message_flags`
(one byte) and the optional columns' byte of :func:`extra_flags` (stars, the
no-response-needed mark; zeros without them). Output: per-chat arrays
(:func:`chat_arrays`) and, for the ``message`` counted unit, per-unit arrays (one per
buyer message of a chat: :data:`UNIT_OUTPUTS`).
Conversations are independent, so the rows are cut into shards at conversation
starts and the shards run on threads (the compiled loop releases the GIL).

Example:
    >>> import numpy as np
    >>> t = np.array([0, 60_000_000, 7_200_000_000], dtype=np.int64)
    >>> f = np.array([START | BUYER, BUYER, SELLER | VALID], dtype=np.uint8)
    >>> out = chat_arrays(t, f, session_us=24 * 3_600_000_000)
    >>> out["open_pos"].tolist(), out["answer_us"].tolist(), out["n_buyer"].tolist()
    ([0], [7200000000], [2])
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl

from chatsim.engine.flags import (
    AUTO,
    AUTO_REPLY_CODES,
    BROADCAST,
    BUYER,
    NO_REPLY,
    NO_TIME,
    RATED,
    SATISFIED,
    SELLER,
    STARS_MASK,
    START,
    VALID,
    extra_flags,
    message_flags,
    start_bit,
)

# the compiled radix sort lives beside the kernel; callers reach it as kernel.radix_order
from chatsim.engine.radix import ordered_within, radix_order, stable_order

__all__ = [
    "AUTO",
    "AUTO_REPLY_CODES",
    "BROADCAST",
    "BUYER",
    "NO_REPLY",
    "NO_TIME",
    "OUTPUTS",
    "RATED",
    "SATISFIED",
    "SELLER",
    "STARS_MASK",
    "START",
    "UNIT_OUTPUTS",
    "VALID",
    "chat_arrays",
    "chat_shards",
    "chats_frame",
    "extra_flags",
    "message_flags",
    "ordered_within",
    "radix_order",
    "stable_order",
    "start_bit",
    "units_frame",
]


def _shard(
    t,
    flags,
    extra,
    lo,
    hi,
    mode,
    valid_only,
    session,
    units,
    off,
    open_pos,
    open_us,
    answer_us,
    first_auto_us,
    last_auto_us,
    last_buyer_us,
    n_buyer,
    seq_out,
    rating,
    answered_auto,
    seller_initiated,
    stars,
    n_reply,
    u_pos,
    u_chat,
    u_seq,
    u_no_reply,
):
    """Chats of the rows ``lo:hi`` (whole conversations), written from index ``off``, and
    (``units``) each chat's buyer messages as units, written from the same index.
    Returns how many chats and units were written."""
    no = NO_TIME
    n = 0
    nu = 0
    i = lo
    while i < hi:
        # the conversation's rows i:j
        j = i + 1
        while j < hi and (flags[j] & START) == 0:
            j += 1
        # state: the latest buyer, human answer or automatic reply to a waiting chat
        # (prev, at prev_t), the latest buyer message, the latest seller thread opener;
        # 0 none, 1 buyer, 2 human, 3 automatic reply
        prev = 0
        prev_t = no
        last_buyer = no
        last_opener = no
        seq = 0
        useq = 0
        cur = -1
        for k in range(i, j):
            f = flags[k]
            tk = t[k]
            buyer = (f & BUYER) != 0
            seller = (f & SELLER) != 0
            bcast = (f & BROADCAST) != 0
            auto = (f & AUTO) != 0
            human = seller and not bcast
            if valid_only:
                human = human and (f & VALID) != 0
            if mode == 1:
                human = human or auto
            # a chat waits for an answer after a buyer message, and for session_us after
            # an automatic reply to it (then the automatic reply has resolved it)
            waiting = prev == 1 or (prev == 3 and tk - prev_t <= session)
            u = mode == 0 and auto and waiting
            is_open = buyer and not waiting
            # a broadcast (seller or automatic) opens a thread whenever no chat waits
            opener = (
                (seller or bcast)
                and not waiting
                and (bcast or last_buyer == no or tk - last_buyer > session)
            )
            rated = (f & RATED) != 0
            if is_open:
                seq += 1
                cur = off + n
                n += 1
                open_pos[cur] = k
                open_us[cur] = tk
                answer_us[cur] = no
                first_auto_us[cur] = no
                last_auto_us[cur] = no
                last_buyer_us[cur] = no
                n_buyer[cur] = 0
                seq_out[cur] = seq
                rating[cur] = -1
                stars[cur] = 0
                n_reply[cur] = 0
                answered_auto[cur] = False
                seller_initiated[cur] = (
                    last_opener != no
                    and tk - last_opener <= session
                    and (last_buyer == no or last_buyer < last_opener)
                )
            # the chat's rows: its own messages, and ratings given while it is the
            # conversation's latest chat (the latest rating counts)
            if cur >= 0 and (is_open or waiting or rated):
                if human and waiting and answer_us[cur] == no:
                    answer_us[cur] = tk
                    answered_auto[cur] = auto
                if u:
                    if first_auto_us[cur] == no:
                        first_auto_us[cur] = tk
                    last_auto_us[cur] = tk
                if buyer:
                    last_buyer_us[cur] = tk
                    n_buyer[cur] += 1
                    no_reply = (extra[k] & NO_REPLY) != 0
                    if not no_reply:
                        n_reply[cur] += 1
                    if units:
                        useq += 1
                        u = off + nu
                        nu += 1
                        u_pos[u] = k
                        u_chat[u] = cur - off
                        u_seq[u] = useq
                        u_no_reply[u] = no_reply
                if rated:
                    rating[cur] = 0 if (f & SATISFIED) != 0 else 1
                    stars[cur] = extra[k] & STARS_MASK
            if buyer:
                last_buyer = tk
                prev = 1
                prev_t = tk
            elif human:
                prev = 2
                prev_t = tk
            elif u:
                prev = 3
                prev_t = tk
            if opener:
                last_opener = tk
        i = j
    return n, nu


@functools.cache
def _compiled() -> Callable[..., int]:
    """:func:`_shard` compiled (on first use: importing numba takes a while; the machine
    code is cached on disk, next to this module or in numba's user cache)."""
    import numba

    return numba.njit(nogil=True, cache=True)(_shard)


#: the per-chat arrays of :func:`chat_arrays` and their dtypes
OUTPUTS: dict[str, type] = {
    "open_pos": np.int64,
    "open_us": np.int64,
    "answer_us": np.int64,
    "first_auto_us": np.int64,
    "last_auto_us": np.int64,
    "last_buyer_us": np.int64,
    "n_buyer": np.int32,
    "seq": np.int32,
    "rating": np.int8,
    "answered_auto": np.bool_,
    "seller_initiated": np.bool_,
    "stars": np.int8,
    "n_reply": np.int32,
}
#: the per-unit arrays (``units``): the buyer message's row, its chat (index among the
#: shard's chats), its number among the conversation's units, its no-response-needed mark
UNIT_OUTPUTS: dict[str, type] = {
    "u_pos": np.int64,
    "u_chat": np.int64,
    "u_seq": np.int32,
    "u_no_reply": np.bool_,
}


def chat_shards(
    t: np.ndarray,
    flags: np.ndarray,
    *,
    auto_reply: str = "exclude_resolved",
    valid_replies_only: bool = False,
    session_us: int,
    threads: int | None = None,
    extra: np.ndarray | None = None,
    units: bool = False,
) -> list[dict[str, np.ndarray]]:
    """Per-chat arrays (:data:`OUTPUTS`) of messages in canonical order, one dict per
    shard of whole conversations; the shards in order, chats in chat-table order
    (conversation, chat number). :func:`chat_arrays` joins them. With ``units`` each
    dict also holds the shard's units (:data:`UNIT_OUTPUTS`: every buyer message of a
    chat, in row order).

    ``t`` is ``sent_at`` in epoch microseconds (int64), ``flags`` the flag bytes with
    :data:`START` set (:func:`message_flags`, :func:`start_bit`), ``extra`` the optional
    columns' bytes (:func:`extra_flags`; None: zeros). The values follow
    :func:`chatsim.engine.chat_frame`: ``open_pos`` is the opening row's index,
    times are :data:`NO_TIME` where the chat has none, ``rating`` is a position in
    ``RATING_NAMES`` (-1: none) and ``seq`` the chat number in its conversation.
    ``threads`` (shards run at once) defaults to polars' thread pool size.
    """
    n = len(t)
    if len(flags) != n or t.dtype != np.int64 or flags.dtype != np.uint8:
        raise ValueError("t (int64) and flags (uint8) must have the same length")
    if extra is None:
        extra = np.zeros(n, dtype=np.uint8)
    if len(extra) != n or extra.dtype != np.uint8:
        raise ValueError("extra (uint8) must have the length of t")
    if n and not flags[0] & START:
        raise ValueError("the first row must start a conversation (START bit)")
    if auto_reply not in AUTO_REPLY_CODES:
        raise ValueError(f"auto_reply must be one of {list(AUTO_REPLY_CODES)}")
    threads = max(1, threads if threads is not None else pl.thread_pool_size())
    # shards cut at conversation starts
    bounds = [0]
    for s in range(1, threads):
        cut = _next_start(flags, max(n * s // threads, bounds[-1] + 1))
        if cut < n:
            bounds.append(cut)
    bounds.append(n)
    # a shard holds at most one chat per buyer message: room for that many, from
    # arrays whose pages are only touched where chats are written
    buyers = [
        int(np.count_nonzero(flags[a:b] & BUYER)) for a, b in zip(bounds, bounds[1:], strict=False)
    ]
    offsets = np.concatenate([[0], np.cumsum(buyers)]).astype(np.int64)
    room = {k: np.empty(int(offsets[-1]), dtype=d) for k, d in OUTPUTS.items()}
    # as many units as buyer messages at most (no room without units)
    unit_room = {
        k: np.empty(int(offsets[-1]) if units else 0, dtype=d) for k, d in UNIT_OUTPUTS.items()
    }
    mode = AUTO_REPLY_CODES[auto_reply]
    shard = _compiled()

    def run(s: int) -> tuple[int, int]:
        return shard(
            t,
            flags,
            extra,
            bounds[s],
            bounds[s + 1],
            mode,
            valid_replies_only,
            # a bound beyond any time difference means "never": clamp to int64
            np.int64(min(session_us, np.iinfo(np.int64).max)),
            units,
            offsets[s],
            *room.values(),
            *unit_room.values(),
        )

    shards = range(len(bounds) - 1)
    if len(shards) == 1:
        counts = [run(0)]
    else:
        with ThreadPoolExecutor(len(shards)) as pool:
            counts = list(pool.map(run, shards))
    out = []
    for s, (c, cu) in enumerate(counts):
        part = {k: v[offsets[s] : offsets[s] + c] for k, v in room.items()}
        if units:
            part |= {k: v[offsets[s] : offsets[s] + cu] for k, v in unit_room.items()}
        out.append(part)
    return out


def _next_start(flags: np.ndarray, i: int, step: int = 1 << 16) -> int:
    """The first row at or after ``i`` that starts a conversation (``len(flags)``: none)."""
    n = len(flags)
    while i < n:
        hit = np.flatnonzero(flags[i : i + step] & START)
        if len(hit):
            return i + int(hit[0])
        i += step
    return n


def chat_arrays(t: np.ndarray, flags: np.ndarray, **options: object) -> dict[str, np.ndarray]:
    """:func:`chat_shards` joined: one array per output (:data:`OUTPUTS`).

    Example:
        >>> t = np.array([0, 5, 9], dtype=np.int64)
        >>> f = np.array([START | BUYER, START | BUYER, SELLER], dtype=np.uint8)
        >>> chat_arrays(t, f, session_us=10, threads=2)["answer_us"].tolist() == [NO_TIME, 9]
        True
    """
    shards = chat_shards(t, flags, **options)  # type: ignore[arg-type]
    names = [*OUTPUTS, *(UNIT_OUTPUTS if options.get("units") else ())]
    return {k: np.concatenate([s[k] for s in shards]) for k in names}


def chats_frame(
    shards: list[dict[str, np.ndarray]],
    ids: Mapping[str, pl.Series],
    t: np.ndarray | None = None,
    *,
    last_auto: bool = False,
) -> pl.LazyFrame:
    """The chats of :func:`chat_shards` as :func:`chatsim.engine.chat_frame`'s columns
    (codes, epoch microseconds, ``_open_pos``), lazily; with ``last_auto`` also
    ``last_auto_at``, the time of each chat's last automatic reply (null if none).

    ``ids`` holds the ``shop_id``, ``conversation_id`` and ``buyer_id`` columns of the
    sorted messages: a chat takes those of its opening row. With ``t`` (the messages'
    times; the shards built with ``units``) the rows are the units instead
    (:func:`units_frame`).
    """
    utc = pl.Datetime("us", "UTC")

    def column(k: str) -> pl.Series:
        # the shards' arrays as the chunks of one column (no copy)
        return pl.concat([pl.Series(k, s[k]) for s in shards], rechunk=False)

    pos = column("open_pos").cast(pl.UInt32).alias("_open_pos")
    frame = pl.DataFrame(
        [ids[c].gather(pos) for c in ("shop_id", "conversation_id", "buyer_id")]
        + [column(k) for k in OUTPUTS if k != "open_pos"]
        + [pos]
    )
    if t is not None:
        frame = units_frame(frame, shards, t)

    def time(name: str) -> pl.Expr:
        c = pl.col(name)
        return pl.when(c != NO_TIME).then(c)

    answer = time("answer_us")
    return frame.lazy().select(
        "shop_id",
        "conversation_id",
        "buyer_id",
        pl.col("seq").alias("chat_seq"),
        pl.col("open_us").cast(utc).alias("open_at"),
        answer.cast(utc).alias("answer_at"),
        pl.when(answer.is_not_null())
        .then(pl.col("answered_auto").cast(pl.Int8))
        .alias("answered_by"),
        time("first_auto_us").cast(utc).alias("first_auto_at"),
        *([time("last_auto_us").cast(utc).alias("last_auto_at")] if last_auto else []),
        time("last_buyer_us").cast(utc).alias("last_buyer_at"),
        pl.col("n_buyer").alias("n_buyer_messages"),
        pl.when(pl.col("rating") >= 0).then(pl.col("rating")).alias("rating"),
        pl.when(pl.col("stars") > 0).then(pl.col("stars")).alias("stars"),
        "seller_initiated",
        (
            (pl.col("first_auto_us") != NO_TIME)
            & answer.is_null()
            & (pl.col("last_buyer_us") < pl.col("last_auto_us"))
        ).alias("auto_resolved"),
        (pl.col("n_reply") == 0).alias("_no_reply"),
        pl.col("open_us").alias("_open_us"),
        answer.alias("_answer_us"),
        (answer - pl.col("open_us")).alias("_resp_us"),
        "_open_pos",
    )


def units_frame(
    chats: pl.DataFrame, shards: list[dict[str, np.ndarray]], t: np.ndarray
) -> pl.DataFrame:
    """The units (every buyer message of a chat) from the per-chat arrays ``chats`` (one
    row per chat, in shard order) and the shards' unit arrays: each unit takes its chat's
    values, with its own time as ``open_us``, its row as ``_open_pos``, its number in
    the conversation as ``seq`` and its own mark as ``n_reply`` (1 needs a reply, 0 not).
    """
    # a unit's chat index counts within its shard: add the chats of the earlier shards
    before = np.cumsum([0] + [len(s["seq"]) for s in shards[:-1]])
    chat = np.concatenate([s["u_chat"] + b for s, b in zip(shards, before, strict=True)])
    unit_pos = np.concatenate([s["u_pos"] for s in shards])
    rows = chats.drop("_open_pos").select(pl.all().gather(pl.Series(chat)))
    return rows.with_columns(
        pl.Series("seq", np.concatenate([s["u_seq"] for s in shards])),
        pl.Series("open_us", t[unit_pos]),
        pl.Series("n_reply", (~np.concatenate([s["u_no_reply"] for s in shards])).astype(np.int32)),
        pl.Series("_open_pos", unit_pos).cast(pl.UInt32),
    )
