"""From messages to chats: the counted unit of every response-rate rule.

The definitions (``docs/metrics.md`` has them in full, with examples):

* A **chat** opens with a buyer message that arrives while nothing from that buyer
  is awaiting an answer; later buyer messages before the answer join it.
* It is **answered** by the first seller message after it opens. Which seller
  messages answer depends on the rule: system messages and broadcasts never do;
  with ``valid_replies_only`` only messages with ``valid_reply`` true do; automatic
  replies do only when ``auto_reply == "count_as_answer"``.
* With ``auto_reply == "exclude_resolved"`` an automatic reply to a waiting chat
  does not answer it: a buyer message within ``session_hours`` of that reply
  continues the chat; a chat that got an automatic reply, no human answer, and no
  buyer message after its last automatic reply is **resolved by automatic reply**
  (an exclusion). Broadcasts are never automatic replies, whatever the sender.
* A seller message sent while no chat is waiting **opens a seller thread** if it is a
  broadcast or the buyer has not written in the conversation for ``session_hours``;
  a chat opened by the buyer within ``session_hours`` of it (with no buyer message
  in between) is **seller-initiated** (an exclusion).

Messages are ordered by ``sent_at`` then ``message_id`` within a conversation.
Everything is vectorised polars: one sort, then forward-fills and one group-by.

Example:
    >>> import polars as pl, datetime as dt
    >>> from chatsim.schema import ChatLog
    >>> t0 = dt.datetime(2025, 8, 1, tzinfo=dt.timezone.utc)
    >>> log = ChatLog.from_frames(pl.DataFrame({
    ...     "message_id": [1, 2, 3], "shop_id": "s", "conversation_id": "c",
    ...     "buyer_id": "b", "sent_at": [t0, t0 + dt.timedelta(minutes=5),
    ...     t0 + dt.timedelta(hours=2)], "sender": ["buyer", "buyer", "seller"],
    ...     "kind": ["text", "image", "text"], "is_broadcast": False}))
    >>> build_chats(log.messages).select("n_buyer_messages", "response_s").row(0)
    (2, 7200.0)
"""

from __future__ import annotations

import polars as pl

from chatsim.schema import RATING_DTYPE

# integer codes of the state machine
NONE, BUYER, HUMAN, AUTO = 0, 1, 2, 3
_NO_TIME = -(2**62)  # sentinel for "no such earlier message in this conversation"
_US_PER_HOUR = 3_600_000_000

ANSWERED_BY = pl.Enum(["seller", "auto"])


def _ffill_prev(value: pl.Expr, conv_start: pl.Expr, reset: object) -> pl.Expr:
    """Value of the latest earlier row (strictly before) in the same conversation.

    ``value`` is null on rows that do not set it; ``reset`` is returned where no
    earlier row in the conversation set it.
    """
    seeded = pl.when(conv_start & value.is_null()).then(pl.lit(reset)).otherwise(value)
    filled = seeded.forward_fill().shift(1)
    return pl.when(conv_start).then(pl.lit(reset)).otherwise(filled)


def order_messages(messages: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The messages in the canonical order (conversation, time, message id), lazily."""
    return messages.lazy().sort("conversation_id", "sent_at", "message_id")


def build_chats(
    messages: pl.DataFrame | pl.LazyFrame,
    *,
    auto_reply: str = "exclude_resolved",
    valid_replies_only: bool = False,
    session_hours: float = 24.0,
    presorted: bool = False,
) -> pl.DataFrame:
    """Group validated messages into chats (one row per chat, rule-independent timing).

    Returns columns ``shop_id, conversation_id, buyer_id, chat_seq`` (1, 2, ... within the
    conversation), ``open_at, answer_at, answered_by, first_auto_at, last_buyer_at,
    n_buyer_messages, rating, seller_initiated, auto_resolved, response_s`` (calendar
    seconds, null when unanswered), sorted by ``conversation_id, chat_seq``.
    """
    session_us = int(round(session_hours * _US_PER_HOUR))
    lf = messages.lazy() if presorted else order_messages(messages)
    conv_start = pl.col("conversation_id").ne_missing(pl.col("conversation_id").shift(1))
    t = pl.col("_t")

    not_system = pl.col("kind") != "system"
    sender = pl.col("sender")
    is_buyer = (sender == "buyer") & not_system
    is_seller = (sender == "seller") & not_system
    human = is_seller & pl.col("is_broadcast").not_()
    if valid_replies_only:
        human = human & pl.col("valid_reply")
    # broadcasts never answer and are never automatic replies, whatever the sender
    is_auto = (sender == "auto") & not_system & pl.col("is_broadcast").not_()
    if auto_reply == "count_as_answer":
        human = human | is_auto

    lf = lf.select(
        "shop_id",
        "conversation_id",
        "buyer_id",
        "rating",
        pl.col("sent_at").dt.epoch("us").alias("_t"),
        conv_start.alias("_cs"),
        is_buyer.alias("_buyer"),
        human.alias("_human"),
        is_auto.alias("_auto"),
        (is_seller & pl.col("is_broadcast")).alias("_bcast"),
        is_seller.alias("_seller"),
        (sender == "auto").alias("_sent_by_auto"),
    )
    cs = pl.col("_cs")
    # 1. state of the latest buyer/human row: is a chat waiting?
    bh = pl.when(pl.col("_buyer")).then(BUYER).when(pl.col("_human")).then(HUMAN)
    lf = lf.with_columns(_ffill_prev(bh, cs, NONE).alias("_prev_bh"))
    # 2. automatic replies to a waiting chat (only they carry the AUTO state)
    if auto_reply == "exclude_resolved":
        auto_state = pl.col("_auto") & (pl.col("_prev_bh") == BUYER)
    else:
        auto_state = pl.lit(False)
    lf = lf.with_columns(auto_state.alias("_u"))
    state = (
        pl.when(pl.col("_buyer"))
        .then(BUYER)
        .when(pl.col("_human"))
        .then(HUMAN)
        .when(pl.col("_u"))
        .then(AUTO)
    )
    lf = lf.with_columns(
        _ffill_prev(state, cs, NONE).alias("_prev"),
        _ffill_prev(pl.when(state.is_not_null()).then(t), cs, _NO_TIME).alias("_prev_t"),
        _ffill_prev(pl.when(pl.col("_buyer")).then(t), cs, _NO_TIME).alias("_last_buyer"),
    )
    prev = pl.col("_prev")
    waiting = prev.is_in([BUYER, AUTO])
    is_open = pl.col("_buyer") & (
        prev.is_in([NONE, HUMAN]) | ((prev == AUTO) & (t - pl.col("_prev_t") > session_us))
    )
    last_buyer = pl.col("_last_buyer")
    opener = (
        pl.col("_seller")
        & waiting.not_()
        & (pl.col("_bcast") | (last_buyer == _NO_TIME) | (t - last_buyer > session_us))
    )
    lf = lf.with_columns(
        is_open.alias("_open"),
        (pl.col("_human") & waiting).alias("_answer"),
        (is_open | waiting).alias("_in_chat"),
    )
    lf = lf.with_columns(
        _ffill_prev(pl.when(opener).then(t), cs, _NO_TIME).alias("_last_opener"),
        pl.col("_open").cast(pl.Int64).cum_sum().alias("_chat"),
    )
    # chat numbering within the conversation (for ratings and stable chat ids)
    lf = lf.with_columns(
        (
            pl.col("_chat")
            - pl.when(cs).then(pl.col("_chat") - pl.col("_open").cast(pl.Int64)).forward_fill()
        ).alias("_seq")
    )
    lo = pl.col("_last_opener")
    seller_init = (
        pl.col("_open")
        & (lo != _NO_TIME)
        & (t - lo <= session_us)
        & ((last_buyer == _NO_TIME) | (last_buyer < lo))
    )
    lf = lf.with_columns(seller_init.alias("_sinit"))

    chats = (
        lf.filter(pl.col("_in_chat"))
        .group_by("_chat")
        .agg(
            pl.col("shop_id").first(),
            pl.col("conversation_id").first(),
            pl.col("buyer_id").first(),
            pl.col("_seq").first().cast(pl.Int32).alias("chat_seq"),
            pl.col("_t").first().alias("open_us"),
            pl.col("_t").filter(pl.col("_answer")).first().alias("answer_us"),
            pl.col("_sent_by_auto").filter(pl.col("_answer")).first().alias("_ans_auto"),
            pl.col("_t").filter(pl.col("_u")).first().alias("auto_us"),
            pl.col("_t").filter(pl.col("_u")).last().alias("last_auto_us"),
            pl.col("_t").filter(pl.col("_buyer")).last().alias("last_buyer_us"),
            pl.col("_buyer").sum().cast(pl.Int32).alias("n_buyer_messages"),
            pl.col("_sinit").first().alias("seller_initiated"),
        )
    )
    # ratings: the latest rating given in the conversation while this chat was the latest
    ratings = (
        lf.filter(pl.col("rating").is_not_null() & (pl.col("_seq") > 0))
        .group_by("_chat")
        .agg(pl.col("rating").last())
    )
    to_dt = pl.Datetime("us", "UTC")
    out = (
        chats.join(ratings, on="_chat", how="left")
        .with_columns(
            pl.col("open_us").cast(to_dt).alias("open_at"),
            pl.col("answer_us").cast(to_dt).alias("answer_at"),
            pl.when(pl.col("answer_us").is_not_null())
            .then(pl.when(pl.col("_ans_auto")).then(pl.lit("auto")).otherwise(pl.lit("seller")))
            .cast(ANSWERED_BY)
            .alias("answered_by"),
            pl.col("auto_us").cast(to_dt).alias("first_auto_at"),
            pl.col("last_buyer_us").cast(to_dt).alias("last_buyer_at"),
            (
                pl.col("auto_us").is_not_null()
                & pl.col("answer_us").is_null()
                & (pl.col("last_buyer_us") < pl.col("last_auto_us"))
            ).alias("auto_resolved"),
            ((pl.col("answer_us") - pl.col("open_us")) / 1e6).alias("response_s"),
            pl.col("rating").cast(RATING_DTYPE),
        )
        .select(
            "shop_id",
            "conversation_id",
            "buyer_id",
            "chat_seq",
            "open_at",
            "answer_at",
            "answered_by",
            "first_auto_at",
            "last_buyer_at",
            "n_buyer_messages",
            "rating",
            "seller_initiated",
            "auto_resolved",
            "response_s",
        )
        .sort("conversation_id", "chat_seq")
    )
    return out.collect()
