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

Input: the messages sorted by conversation, ``sent_at``, ``message_id``, as two
arrays: ``sent_at`` in epoch microseconds and the per-message bits of
:func:`message_flags` (one byte). Output: per-chat arrays (:func:`chat_arrays`).
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

# bits of the per-message flag byte
BUYER = 1  # a buyer message (not a system message, carries no rating)
SELLER = 2  # a seller message (not a system message)
BROADCAST = 4  # a broadcast: is_broadcast, sent by the seller or "auto", not a system message
AUTO = 8  # an automatic reply: sender "auto", not a system message, not a broadcast
VALID = 16  # valid_reply is true
RATED = 32  # carries a rating
SATISFIED = 64  # the rating is "satisfied"
START = 128  # the first message of its conversation (in canonical order)

#: automatic-reply modes, as the kernel's integer codes
AUTO_REPLY_CODES = {"exclude_resolved": 0, "count_as_answer": 1, "ignore": 2}
#: "no such time" in the time arrays (null in the chat table)
NO_TIME = np.iinfo(np.int64).min


def message_flags() -> pl.Expr:
    """The flag byte ``_flags`` of each message, from the validated message columns,
    without the :data:`START` bit (which needs the canonical order: :func:`start_bit`).

    Example:
        >>> df = pl.DataFrame({"sender": ["buyer", "auto"], "kind": ["text", "system"],
        ...     "is_broadcast": False, "valid_reply": True, "rating": [None, None]})
        >>> df.select(message_flags())["_flags"].to_list()
        [17, 16]
    """
    s, b = pl.col("sender"), pl.col("is_broadcast")
    not_system = pl.col("kind") != "system"
    # a buyer row carrying a rating is the buyer's rating event, not a buyer message
    unrated = pl.col("rating").is_null()
    bits = [
        ((s == "buyer") & not_system & unrated, BUYER),
        ((s == "seller") & not_system, SELLER),
        (b & not_system & (s != "buyer"), BROADCAST),
        ((s == "auto") & not_system & ~b, AUTO),
        (pl.col("valid_reply"), VALID),
        (pl.col("rating").is_not_null(), RATED),
        (pl.col("rating") == "satisfied", SATISFIED),
    ]
    word = pl.sum_horizontal(e.fill_null(False).cast(pl.UInt8) * bit for e, bit in bits)
    return word.cast(pl.UInt8).alias("_flags")


def start_bit(conversation: str = "conversation_id") -> pl.Expr:
    """``_flags`` with the :data:`START` bit set on each conversation's first row (rows
    in canonical order)."""
    c = pl.col(conversation)
    start = c.ne_missing(c.shift(1)).fill_null(True)
    return (pl.col("_flags") | start.cast(pl.UInt8) * START).cast(pl.UInt8).alias("_flags")


def _shard(
    t,
    flags,
    lo,
    hi,
    mode,
    valid_only,
    session,
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
):
    """Chats of the rows ``lo:hi`` (whole conversations), written from index ``off``.
    Returns how many were written."""
    no = NO_TIME
    n = 0
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
                if rated:
                    rating[cur] = 0 if (f & SATISFIED) != 0 else 1
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
    return n


@functools.cache
def _compiled() -> Callable[..., int]:
    """:func:`_shard` compiled (on first use: importing numba takes a while; the machine
    code is cached on disk, next to this module or in numba's user cache)."""
    import numba

    return numba.njit(nogil=True, cache=True)(_shard)


def _stable_order(keys: np.ndarray) -> np.ndarray:
    """The stable sorting permutation of ``keys`` (uint32): a least-significant-digit
    radix sort, in as few passes of at most 11 bits as the keys' range needs."""
    n = len(keys)
    idx = np.arange(n).astype(np.uint32)
    if n < 2:
        return idx
    lo = keys.min()
    span = keys.max() - lo
    bits = 0
    while bits < 32 and (span >> np.uint32(bits)) > 0:
        bits += 1
    if bits == 0:
        return idx
    passes = (bits + 10) // 11
    width = (bits + passes - 1) // passes
    size = 1 << width
    mask = np.uint32(size - 1)
    counts = np.zeros((passes, size + 1), np.int64)
    k = np.empty(n, np.uint32)
    for i in range(n):  # the keys from 0, and every pass's digit counts at once
        v = np.uint32(keys[i] - lo)
        k[i] = v
        for p in range(passes):
            counts[p, ((v >> np.uint32(p * width)) & mask) + 1] += 1
    tmp_i = np.empty(n, np.uint32)
    tmp_k = np.empty(n, np.uint32)
    for p in range(passes):
        c = counts[p]
        for d in range(size):
            c[d + 1] += c[d]
        shift = np.uint32(p * width)
        for i in range(n):
            v = k[i]
            d = (v >> shift) & mask
            pos = c[d]
            c[d] = pos + 1
            tmp_i[pos] = idx[i]
            tmp_k[pos] = v
        idx, tmp_i = tmp_i, idx
        k, tmp_k = tmp_k, k
    return idx


def _ordered_within(perm: np.ndarray, keys: np.ndarray, t: np.ndarray, mid: np.ndarray) -> bool:
    """Whether, in the order ``perm``, the rows of each key follow each other by
    (``t``, ``mid``), strictly."""
    for j in range(1, len(perm)):
        p = perm[j]
        q = perm[j - 1]
        if keys[p] == keys[q] and (t[p] < t[q] or (t[p] == t[q] and mid[p] <= mid[q])):
            return False
    return True


@functools.cache
def _compiled_sort() -> tuple[Callable[..., np.ndarray], Callable[..., bool]]:
    import numba

    jit = numba.njit(nogil=True, cache=True)
    return jit(_stable_order), jit(_ordered_within)


def stable_order(keys: np.ndarray) -> np.ndarray:
    """The stable sorting permutation of uint32 ``keys``, as uint32 row positions
    (``np.argsort(keys, kind="stable")``, by a compiled radix sort).

    Example:
        >>> stable_order(np.array([7, 3, 7, 0], dtype=np.uint32)).tolist()
        [3, 1, 0, 2]
    """
    if keys.dtype != np.uint32 or len(keys) >= 2**32:
        raise ValueError("keys must be uint32, fewer than 2**32 of them")
    return _compiled_sort()[0](keys)


def ordered_within(perm: np.ndarray, keys: np.ndarray, t: np.ndarray, mid: np.ndarray) -> bool:
    """Whether, taken in the order ``perm`` (e.g. :func:`stable_order` of ``keys``), the
    rows of each key come in increasing (``t``, ``mid``) order, no two alike (int64
    ``t`` and ``mid``): then that order is the sort by key, ``t``, ``mid``.

    Example:
        >>> keys = np.array([1, 0, 1], dtype=np.uint32)
        >>> t, mid = np.array([5, 9, 2]), np.array([1, 2, 3])
        >>> ordered_within(stable_order(keys), keys, t, mid)  # key 1: t 5 then 2
        False
    """
    return bool(_compiled_sort()[1](perm, keys, t, mid))


def radix_order(
    df: pl.DataFrame, conversation: str = "conversation_id", *, keep_message_id: bool = True
) -> pl.DataFrame | None:
    """``df`` sorted by ``conversation``, ``sent_at``, ``message_id``, by the compiled
    radix sort, or None where it does not apply (text or wide-ranging ids, nulls in the
    keys, rows not in time order within conversations: then the general sort of
    :func:`chatsim.engine.canonical_order` runs).

    A stable sort by conversation (:func:`stable_order`) whose order within conversations
    is checked on the permutation (:func:`ordered_within`); the columns are then gathered
    once from contiguous memory (one chunk each: several times faster than across the
    many chunks of a log read from files), without ``message_id`` unless kept.

    Example:
        >>> df = pl.DataFrame({"conversation_id": [9, 4, 9], "sent_at": [1, 2, 3],
        ...                    "message_id": [1, 2, 3]})
        >>> radix_order(df)["message_id"].to_list()
        [2, 1, 3]
    """
    n = df.height
    if not n or n >= 2**32 or not {conversation, "sent_at", "message_id"} <= set(df.columns):
        return None
    conv, t, mid = df[conversation], df["sent_at"], df["message_id"]
    if not (conv.dtype.is_integer() and mid.dtype.is_integer()):
        return None
    if not (t.dtype.is_integer() or isinstance(t.dtype, pl.Datetime)):
        return None
    if conv.null_count() or t.null_count() or mid.null_count():
        return None
    lo, hi = conv.min(), conv.max()
    if hi - lo >= 2**32 or (mid.dtype == pl.UInt64 and mid.max() >= 2**63):  # type: ignore[operator]
        return None
    wide = conv if conv.dtype == pl.UInt64 else conv.cast(pl.Int64)  # no overflow below
    keys = (wide - lo).cast(pl.UInt32).to_numpy()
    perm = stable_order(keys)
    t_int = t.to_physical().cast(pl.Int64).to_numpy()
    if not ordered_within(perm, keys, t_int, mid.cast(pl.Int64).to_numpy()):
        return None
    cols = df if keep_message_id else df.drop("message_id")
    return cols.rechunk().select(pl.all().gather(pl.Series(perm)))


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
}


def chat_shards(
    t: np.ndarray,
    flags: np.ndarray,
    *,
    auto_reply: str = "exclude_resolved",
    valid_replies_only: bool = False,
    session_us: int,
    threads: int | None = None,
) -> list[dict[str, np.ndarray]]:
    """Per-chat arrays (:data:`OUTPUTS`) of messages in canonical order, one dict per
    shard of whole conversations; the shards in order, chats in chat-table order
    (conversation, chat number). :func:`chat_arrays` joins them.

    ``t`` is ``sent_at`` in epoch microseconds (int64), ``flags`` the flag bytes with
    :data:`START` set (:func:`message_flags`, :func:`start_bit`). The values follow
    :func:`chatsim.engine.chat_frame`: ``open_pos`` is the opening row's index,
    times are :data:`NO_TIME` where the chat has none, ``rating`` is a position in
    ``RATING_NAMES`` (-1: none) and ``seq`` the chat number in its conversation.
    ``threads`` (shards run at once) defaults to polars' thread pool size.
    """
    n = len(t)
    if len(flags) != n or t.dtype != np.int64 or flags.dtype != np.uint8:
        raise ValueError("t (int64) and flags (uint8) must have the same length")
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
    mode = AUTO_REPLY_CODES[auto_reply]
    shard = _compiled()

    def run(s: int) -> int:
        return shard(
            t,
            flags,
            bounds[s],
            bounds[s + 1],
            mode,
            valid_replies_only,
            # a bound beyond any time difference means "never": clamp to int64
            np.int64(min(session_us, np.iinfo(np.int64).max)),
            offsets[s],
            *room.values(),
        )

    shards = range(len(bounds) - 1)
    if len(shards) == 1:
        counts = [run(0)]
    else:
        with ThreadPoolExecutor(len(shards)) as pool:
            counts = list(pool.map(run, shards))
    return [
        {k: v[offsets[s] : offsets[s] + c] for k, v in room.items()} for s, c in enumerate(counts)
    ]


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
    return {k: np.concatenate([s[k] for s in shards]) for k in OUTPUTS}


def chats_frame(shards: list[dict[str, np.ndarray]], ids: Mapping[str, pl.Series]) -> pl.LazyFrame:
    """The chats of :func:`chat_shards` as :func:`chatsim.engine.chat_frame`'s columns
    (codes, epoch microseconds, ``_open_pos``), lazily.

    ``ids`` holds the ``shop_id``, ``conversation_id`` and ``buyer_id`` columns of the
    sorted messages: a chat takes those of its opening row.
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
        time("last_buyer_us").cast(utc).alias("last_buyer_at"),
        pl.col("n_buyer").alias("n_buyer_messages"),
        pl.when(pl.col("rating") >= 0).then(pl.col("rating")).alias("rating"),
        "seller_initiated",
        (
            (pl.col("first_auto_us") != NO_TIME)
            & answer.is_null()
            & (pl.col("last_buyer_us") < pl.col("last_auto_us"))
        ).alias("auto_resolved"),
        pl.col("open_us").alias("_open_us"),
        answer.alias("_answer_us"),
        (answer - pl.col("open_us")).alias("_resp_us"),
        "_open_pos",
    )
