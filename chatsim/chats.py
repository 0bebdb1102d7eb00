"""From messages to chats: the counted unit of every response-rate rule.

The definitions (``docs/metrics.md`` has them in full, with examples):

* A **chat** opens with a buyer message that arrives while nothing from that buyer
  is awaiting an answer; later buyer messages before the answer join it.
* It is **answered** by the first seller message after it opens. Which seller
  messages answer depends on the rule: system messages and broadcasts never do;
  with ``valid_replies_only`` only messages with ``valid_reply`` true do; automatic
  replies do only when ``auto_reply == "count_as_answer"``.
* With ``auto_reply == "exclude_resolved"`` an automatic reply to a waiting chat
  does not answer it: the chat waits ``session_hours`` more (a buyer message then
  continues it, a human answer then answers it; later ones do not); a chat that got
  an automatic reply, no human answer, and no
  buyer message after its last automatic reply is **resolved by automatic reply**
  (an exclusion). Broadcasts are never automatic replies, whatever the sender.
* A seller message sent while no chat is waiting **opens a seller thread** if it is a
  broadcast (sent by the seller or automatically) or the buyer has not written in the
  conversation for ``session_hours``;
  a chat opened by the buyer within ``session_hours`` of it (with no buyer message
  in between) is **seller-initiated** (an exclusion).

* A buyer row carrying a ``rating`` is the buyer's rating event, not a message: it
  rates the conversation's latest chat and opens none.

Messages are ordered by ``sent_at`` then ``message_id`` within a conversation.
The logic itself is :func:`chatsim.engine.chat_frame` (narwhals, run by Spark in
:mod:`chatsim.spark`) and, the same definitions as one compiled loop,
:mod:`chatsim.kernel` (what polars runs by default); this module is their polars
entry point.

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

import narwhals as nw
import polars as pl

from chatsim.engine import (
    ANSWERED_BY,
    AUTO,
    BUYER,
    CONV,
    HUMAN,
    NONE,
    GlobalOrder,
    Window,
    chat_columns,
    chat_frame,
    compiled_messages,
    in_chat_order,
    message_base,
    polars_backend,
)

__all__ = ["ANSWERED_BY", "AUTO", "BUYER", "HUMAN", "NONE", "build_chats", "order_messages"]


def order_messages(messages: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The messages in the canonical order (conversation, time, message id), lazily."""
    return messages.lazy().sort(CONV, "sent_at", "message_id")


def build_chats(
    messages: pl.DataFrame | pl.LazyFrame,
    *,
    auto_reply: str = "exclude_resolved",
    valid_replies_only: bool = False,
    session_hours: float = 24.0,
    presorted: bool = False,
    window: Window | None = None,
) -> pl.DataFrame:
    """Group validated messages into chats (one row per chat, rule-independent timing).

    Returns columns ``shop_id, conversation_id, buyer_id, chat_seq`` (1, 2, ... within the
    conversation), ``open_at, answer_at, answered_by, first_auto_at, last_buyer_at,
    n_buyer_messages, rating, seller_initiated, auto_resolved, response_s`` (calendar
    seconds, null when unanswered), sorted by ``conversation_id, chat_seq``.
    """
    be = polars_backend(["UTC"], window)
    schema = messages.lazy().collect_schema()
    if be.chats is not None:  # compiled (the default): one loop over the sorted messages
        ordered = compiled_messages(messages, presorted=presorted)
        definition = (auto_reply, valid_replies_only, session_hours)
        chats = be.chats(nw.from_native(ordered.lazy()))(definition).to_native()
    else:
        lf = messages.lazy() if presorted else order_messages(messages)
        if isinstance(be.window, GlobalOrder):
            ordered = lf.with_row_index("_r").collect()
            lookup = nw.from_native(ordered.lazy().select("_r", CONV, "shop_id", "buyer_id"))
            base = message_base(nw.from_native(ordered.lazy()), be)
        else:
            base = message_base(nw.from_native(lf), be, ("shop_id", "buyer_id"))
            lookup = base.select(*be.window.row_key, "shop_id", "buyer_id")
        chats = chat_frame(
            base,
            lookup,
            be,
            auto_reply=auto_reply,
            valid_replies_only=valid_replies_only,
            session_hours=session_hours,
        ).to_native()
    return in_chat_order(
        chats.select(
            pl.col("shop_id").cast(schema["shop_id"]),
            *chat_columns({c: schema[c] for c in (CONV, "buyer_id")}),
            *(["_open_pos"] if "_open_pos" in chats.collect_schema().names() else []),
        ),
        # the sorted pass gives the chats in this order already
        in_order=isinstance(be.window, GlobalOrder),
    ).collect()
