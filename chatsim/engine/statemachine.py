"""Messages -> chats: the chat state machine as narwhals expressions (Spark runs it; so can polars).

:func:`message_base` computes the rule-independent per-message columns once;
:func:`chat_frame` groups the messages into chats under one chat definition (automatic-reply
mode, ``valid_replies_only``, session bound) through the :class:`~chatsim.engine.backend.Window`
of the backend; :func:`with_features` adds the rule-independent facts each rule's judging reads
(shop time zone, holiday mode, blocked buyer). :func:`expression_chats` builds every definition,
deriving a definition that differs only in ``valid_replies_only`` from an earlier one
(:func:`differing_conversations`).

The same definitions exist as one compiled loop (:mod:`chatsim.engine.kernel`), which polars
runs by default; the tests require identical chat tables from both.

Example:
    >>> import polars as pl
    >>> base = nw.from_native(pl.LazyFrame({"conversation_id": [1, 1, 2], "_seller": True,
    ...     "_bcast": False, "valid_reply": [True, None, True]}))
    >>> differing_conversations(base).to_native().collect()["conversation_id"].to_list()
    [1]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import narwhals as nw

from chatsim.engine.backend import Agg, Backend, GlobalOrder, Window, join_columns, join_flag
from chatsim.engine.codes import AUTO, BUYER, CONV, HUMAN, NO_TIME, NONE, US_PER_HOUR

__all__ = [
    "chat_frame",
    "differing_conversations",
    "expression_chats",
    "message_base",
    "with_features",
]


def message_base(messages: nw.LazyFrame, be: Backend, carry: Sequence[str] = ()) -> nw.LazyFrame:
    """Rule-independent per-message columns, shared by every chat definition.

    ``messages`` must hold the validated message columns; on :class:`GlobalOrder`
    it must be sorted by conversation, ``sent_at``, ``message_id`` with row index ``_r``.
    ``carry`` names further columns to keep (e.g. ``shop_id``, ``buyer_id``).
    """
    w = be.window
    names = messages.columns
    lf = be.add_epoch_us(messages, {"_t": "sent_at"})
    # the optional columns (absent: no stars column, every buyer message needs a reply)
    stars = [nw.col("stars").cast(nw.Int64).alias("_stars")] if "stars" in names else []
    no_reply = (
        nw.col("no_response_needed").fill_null(False)
        if "no_response_needed" in names
        else nw.lit(False)
    )
    not_system = nw.col("kind") != "system"
    sender = nw.col("sender")
    bcast = nw.col("is_broadcast")
    # the ordered pass needs no message id (rows are already in canonical order)
    order_cols = [] if isinstance(w, GlobalOrder) else ["message_id"]
    lf = lf.select(
        *(["_r"] if "_r" in lf.columns else []),
        CONV,
        *carry,
        *order_cols,
        "_t",
        "valid_reply",
        "rating",
        *stars,
        no_reply.alias("_nr"),
        # a buyer row carrying a rating is the buyer's rating event, not a buyer message
        _buyer=(sender == "buyer") & not_system & nw.col("rating").is_null(),
        _seller=(sender == "seller") & not_system,
        # a broadcast, sent by the seller or automatically (never a buyer or system row)
        _bcast=bcast & not_system & (sender != "buyer"),
        # broadcasts never answer and are never automatic replies, whatever the sender
        _auto=(sender == "auto") & not_system & ~bcast,
        _sent_by_auto=sender == "auto",
    )
    lf = w.start(lf)
    lf = w.prev(lf, "_last_buyer", nw.when(nw.col("_buyer")).then(nw.col("_t")), NO_TIME)
    return lf


def chat_frame(
    base: nw.LazyFrame,
    lookup: nw.LazyFrame,
    be: Backend,
    *,
    auto_reply: str = "exclude_resolved",
    valid_replies_only: bool = False,
    session_hours: float = 24.0,
    units: bool = False,
) -> nw.LazyFrame:
    """One row per chat (the definitions of :mod:`chatsim.chats`), lazily; with ``units``
    one row per buyer message (the ``message`` counted unit: every buyer message belongs
    to a chat and takes its chat's values, with its own time as ``open_at``, its number
    among the conversation's buyer messages as ``chat_seq`` and its own
    ``no_response_needed`` mark).

    ``base`` comes from :func:`message_base`; ``lookup`` holds ``row_key`` plus
    ``shop_id``, ``buyer_id`` (and ``conversation_id``) of each message: a chat takes
    them from its opening message.
    """
    w = be.window
    session_us = int(round(session_hours * US_PER_HOUR))
    t = nw.col("_t")
    human = nw.col("_seller") & ~nw.col("_bcast")
    if valid_replies_only:
        human = human & nw.col("valid_reply")
    if auto_reply == "count_as_answer":
        human = human | nw.col("_auto")
    lf = base.with_columns(_human=human)
    buyer, human = nw.col("_buyer"), nw.col("_human")
    BUYER_, HUMAN_, AUTO_ = (nw.lit(code, dtype=nw.Int8) for code in (BUYER, HUMAN, AUTO))

    # 1. state of the latest buyer/answering row: is a chat waiting?
    bh = nw.when(buyer).then(BUYER_).otherwise(nw.when(human).then(HUMAN_))
    lf = w.prev(lf, "_prev_bh", bh, NONE)
    # 2. automatic replies to a waiting chat (only they carry the AUTO state): after a
    # buyer message, each automatic message until the first one that comes more than
    # a session after the previous automatic message (the session ended there)
    if auto_reply == "exclude_resolved":
        pos = nw.col(w.pos).cast(nw.Int64)
        auto = nw.col("_auto")
        lf = w.prev(lf, "_last_bh_pos", nw.when(buyer | human).then(pos), -1)
        lf = w.prev(lf, "_prev_auto_pos", nw.when(auto).then(pos), -1)
        lf = w.prev(lf, "_prev_auto_t", nw.when(auto).then(t), NO_TIME)
        lf = lf.with_columns(
            _gap=auto
            & (nw.col("_prev_auto_pos") > nw.col("_last_bh_pos"))
            & (t - nw.col("_prev_auto_t") > session_us)
        )
        lf = w.prev(lf, "_last_gap_pos", nw.when(nw.col("_gap")).then(pos), -1)
        lf = lf.with_columns(
            _u=auto
            & (nw.col("_prev_bh") == BUYER)
            & ~nw.col("_gap")
            & (nw.col("_last_gap_pos") < nw.col("_last_bh_pos"))
        )
    else:
        lf = lf.with_columns(_u=nw.lit(False))
    state = (
        nw.when(buyer)
        .then(BUYER_)
        .otherwise(nw.when(human).then(HUMAN_).otherwise(nw.when(nw.col("_u")).then(AUTO_)))
    )
    lf = lf.with_columns(_state=state)
    lf = w.prev(lf, "_prev", nw.col("_state"), NONE)
    lf = w.prev(lf, "_prev_t", nw.when(~nw.col("_state").is_null()).then(t), NO_TIME)
    prev = nw.col("_prev")
    # a chat waits after a buyer message, and for a session after an automatic reply
    waiting = (prev == BUYER) | ((prev == AUTO) & (t - nw.col("_prev_t") <= session_us))
    is_open = buyer & ~waiting
    last_buyer = nw.col("_last_buyer")
    # a seller message opens a thread only when no chat is waiting; a broadcast (seller
    # or automatic) does so whenever, other seller messages only if the buyer has been
    # silent for a session
    opener = (
        (nw.col("_seller") | nw.col("_bcast"))
        & ~waiting
        & (nw.col("_bcast") | (last_buyer == NO_TIME) | (t - last_buyer > session_us))
    )
    lf = lf.with_columns(
        _open=is_open, _answer=human & waiting, _in_chat=is_open | waiting, _opener=opener
    )
    lf = w.prev(lf, "_last_opener", nw.when(nw.col("_opener")).then(t), NO_TIME)
    lf = w.number(lf, "_open")
    lo = nw.col("_last_opener")
    seller_init = (
        nw.col("_open")
        & (lo != NO_TIME)
        & (t - lo <= session_us)
        & ((last_buyer == NO_TIME) | (last_buyer < lo))
    )

    # One group per chat: the chat's own rows (``_in_chat``: its opening message is the
    # earliest, answers, automatic replies and buyer messages all fall inside it) and
    # the ratings given while it was the conversation's latest chat; the latest of
    # those counts (encoded as position * 2 + satisfied, so the latest is the maximum).
    answer, u = nw.col("_answer"), nw.col("_u")
    rated = ~nw.col("rating").is_null()
    rating_code = nw.col(w.pos).cast(nw.Int64) * 2 + (nw.col("rating") == "satisfied").cast(
        nw.Int64
    )
    # the stars of the same (latest) rating event: position * 8 + stars (0: none)
    has_stars = "_stars" in base.columns
    stars_code = nw.col(w.pos).cast(nw.Int64) * 8 + nw.col("_stars").fill_null(0)
    aggs = [
        Agg("_open_pos", "first", nw.col(w.pos)),
        Agg("_open_us", "first", t),
        Agg("_answer_us", "first", t, answer),
        Agg("_ans_auto", "any", where=answer & nw.col("_sent_by_auto")),
        Agg("_first_auto_us", "first", t, u),
        Agg("_last_auto_us", "last", t, u),
        Agg("_last_buyer_us", "last", t, buyer),
        Agg("n_buyer_messages", "count", where=buyer),
        Agg("seller_initiated", "any", where=seller_init),  # true on opening rows only
        Agg("_rating_code", "last", rating_code, rated),
        *([Agg("_stars_code", "last", stars_code, rated)] if has_stars else []),
        Agg("_n_reply", "count", where=buyer & ~nw.col("_nr")),
    ]
    if "_seq" not in w.chat_key:
        aggs.append(Agg("_seq", "first", nw.col("_seq")))
    if units:
        # the chat key where the grouping does not keep it (GlobalOrder: the chat number)
        aggs += [Agg(f"{k}_no", "first", nw.col(k)) for k in w.chat_key if k not in (CONV, "_seq")]
    in_group = nw.col("_in_chat") | (rated & (nw.col("_seq") > 0))
    chats = w.attach(w.aggregate(lf, in_group, aggs), lookup)
    if units:
        chats = _units(lf, chats, w)
    chats = chats.with_columns(
        _open_ts=nw.col("_open_us"),
        _answer_ts=nw.col("_answer_us"),
        _first_auto_ts=nw.col("_first_auto_us"),
        _last_buyer_ts=nw.col("_last_buyer_us"),
    )
    chats = be.add_timestamps(
        chats,
        {
            "open_at": "_open_ts",
            "answer_at": "_answer_ts",
            "first_auto_at": "_first_auto_ts",
            "last_buyer_at": "_last_buyer_ts",
        },
    )
    code = nw.col("_rating_code")
    stars = nw.col("_stars_code") % 8
    return chats.select(
        "shop_id",
        CONV,
        "buyer_id",
        nw.col("_seq").cast(nw.Int32).alias("chat_seq"),
        "open_at",
        "answer_at",
        # answered_by and rating as codes (positions in ANSWERED_BY_NAMES, RATING_NAMES)
        nw.when(~nw.col("_answer_us").is_null())
        .then(nw.col("_ans_auto").cast(nw.Int8))
        .alias("answered_by"),
        "first_auto_at",
        "last_buyer_at",
        nw.col("n_buyer_messages").cast(nw.Int32),
        nw.when(~code.is_null()).then((1 - code % 2).cast(nw.Int8)).alias("rating"),
        *([nw.when(stars > 0).then(stars.cast(nw.Int8)).alias("stars")] if has_stars else []),
        "seller_initiated",
        (
            ~nw.col("_first_auto_us").is_null()
            & nw.col("_answer_us").is_null()
            & (nw.col("_last_buyer_us") < nw.col("_last_auto_us"))
        ).alias("auto_resolved"),
        (nw.col("_n_reply") == 0).alias("_no_reply"),
        "_open_us",
        "_answer_us",
        (nw.col("_answer_us") - nw.col("_open_us")).alias("_resp_us"),
        *(c for c in w.chat_order if c not in (CONV, "chat_seq")),
    )


def _units(lf: nw.LazyFrame, chats: nw.LazyFrame, w: Window) -> nw.LazyFrame:
    """The chats' buyer messages as rows (the ``message`` counted unit): each takes its
    chat's values (joined on the chat key), with its own time (``_open_us``), position
    (``_open_pos`` where the window orders chats by it), number among the conversation's
    buyer messages (``_seq``) and ``no_response_needed`` mark (``_n_reply``: 0 or 1)."""
    buyer = nw.col("_buyer")
    lf = w.number(lf, "_buyer", chat="_uchat", seq="_useq")
    unit_rows = lf.filter(buyer).select(
        *w.chat_key,
        nw.col("_t").alias("_ut"),
        nw.col(w.pos).alias("_upos"),
        "_useq",
        (~nw.col("_nr")).cast(nw.Int64).alias("_unr"),
    )
    on = [k if k in (CONV, "_seq") else f"{k}_no" for k in w.chat_key]
    out = unit_rows.join(chats, left_on=w.chat_key, right_on=on, how="left")
    out = out.with_columns(_open_us=nw.col("_ut"), _seq=nw.col("_useq"), _n_reply=nw.col("_unr"))
    if "_open_pos" in w.chat_order:  # the units in row order, as chats are
        out = out.with_columns(_open_pos=nw.col("_upos")).sort("_open_pos")
    return out.drop("_ut", "_upos", "_useq", "_unr")


def with_features(
    chats: nw.LazyFrame,
    shops: nw.LazyFrame,
    holiday_mode: nw.LazyFrame,
    blocked: nw.LazyFrame,
    as_of: dt.datetime,
    *,
    has_holidays: bool = True,
    has_blocked: bool = True,
    key: Sequence[str] = (CONV, "chat_seq"),
    be: Backend | None = None,
) -> nw.LazyFrame:
    """Rule-independent facts of each chat: shop time zone, chatbot flag and ``country``
    (where the shops table has one), opened in holiday mode (``_hol``), from a buyer
    blocked at or before the cutoff (``_blk``).

    ``key`` identifies a chat (:attr:`Window.chat_order`: one integer column on polars).
    ``be`` supplies how columns and flags are attached (default: joins).
    """
    key = list(key)
    add_columns = be.add_columns if be is not None else join_columns
    flag_rows = be.flag_rows if be is not None else join_flag
    shop_cols = [
        "timezone",
        "chatbot_enabled",
        *(["country"] if "country" in shops.columns else []),
    ]
    c = add_columns(chats, shops.select("shop_id", *shop_cols), "shop_id")
    if has_holidays:
        hits = (
            c.select(*key, "shop_id", "open_at")
            .join(holiday_mode.select("shop_id", "start", "end"), on="shop_id", how="inner")
            .filter((nw.col("open_at") >= nw.col("start")) & (nw.col("open_at") < nw.col("end")))
            .select(*key)
        )
        c = flag_rows(c, key, hits, "_hol")
    else:
        c = c.with_columns(_hol=nw.lit(False))
    if has_blocked:
        blk = blocked.filter(nw.col("blocked_at") <= as_of).select("shop_id", "buyer_id")
        c = flag_rows(c, ["shop_id", "buyer_id"], blk, "_blk")
    else:
        c = c.with_columns(_blk=nw.lit(False))
    return c


def expression_chats(
    messages: nw.LazyFrame,
    lookup: nw.LazyFrame | None,
    be: Backend,
    keys: Sequence[tuple],
    featured: Callable[[nw.LazyFrame], nw.LazyFrame],
) -> dict[tuple, nw.LazyFrame]:
    """Each chat definition's featured chats by :func:`chat_frame` (for :func:`judged_chats`).

    Two chat definitions that differ only in ``valid_replies_only`` give the same chats
    in every conversation without a non-valid seller reply (the only rows where "an
    answer" differs): the second one is built on the other conversations alone and
    takes the rest from the first (:func:`differing_conversations`); it holds only its
    differing conversations' chats, the rest is a lazy view of its source's chats.
    """
    carry = () if lookup is not None else ("shop_id", "buyer_id")
    base: nw.LazyFrame | None = be.materialize(message_base(messages, be, carry))
    del messages
    if lookup is None:
        lookup = base.select(*be.window.row_key, "shop_id", "buyer_id")
    by_key: dict[tuple, nw.LazyFrame] = {}
    affected: nw.LazyFrame | None = None  # differing_conversations, when first needed
    for i, key in enumerate(keys):
        auto_reply, valid_only, session, units = key
        src = _source_definition(key, keys[:i])
        if src is None:
            part = base
        else:
            if affected is None:
                affected = be.materialize(differing_conversations(base))
            part = _rows_of(be, base, affected, inside=True)
        chats = chat_frame(
            part,
            lookup,
            be,
            auto_reply=auto_reply,
            valid_replies_only=valid_only,
            session_hours=session,
            units=units,
        )
        own = be.materialize(featured(chats))
        if src is None:
            by_key[key] = own
        else:
            assert affected is not None
            # the source's chats outside the differing conversations
            same = _rows_of(be, by_key[src], affected, inside=False)
            by_key[key] = be.window.combine(same, own)
        del chats, part, own
    return by_key


def _rows_of(be: Backend, lf: nw.LazyFrame, convs: nw.LazyFrame, *, inside: bool) -> nw.LazyFrame:
    """The rows of ``lf`` in (``inside``) or outside the conversations ``convs``: a flag,
    not a semi- or anti-join, so the rows keep their order (:class:`GlobalOrder`)."""
    flagged = be.flag_rows(lf, [CONV], convs, "_differs")
    keep = nw.col("_differs") if inside else ~nw.col("_differs")
    return flagged.filter(keep).drop("_differs")


def _source_definition(key: tuple, built: Sequence[tuple]) -> tuple | None:
    """An earlier chat definition that ``key`` can be derived from (same automatic-reply
    mode, session bound and rows, other ``valid_replies_only``), or None."""
    for other in built:
        if other[0] == key[0] and other[2:] == key[2:] and other[1] != key[1]:
            return other
    return None


def differing_conversations(base: nw.LazyFrame) -> nw.LazyFrame:
    """Conversations (``conversation_id``) holding a seller reply not marked valid
    (false or null): the only messages that answer under one setting of ``valid_replies_only``
    and not under the other (:func:`message_base` columns)."""
    differs = nw.col("_seller") & ~nw.col("_bcast") & ~nw.col("valid_reply").fill_null(False)
    return base.filter(differs).select(CONV).unique()
