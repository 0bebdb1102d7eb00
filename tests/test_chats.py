"""Hand-worked examples of the chat definitions: broadcasts and automatic replies."""

from __future__ import annotations

import polars as pl

from chatsim.chats import build_chats
from chatsim.metrics import chat_table
from chatsim.rules import NEW_12H
from tests.logbuilder import at, log_of, msgs

BCAST = {"broadcast": True}
AUTO_ANSWERS = NEW_12H.replace(name="auto-answers", auto_reply="count_as_answer")


def closing(conv="z", days=20):
    return (conv, at(days=days), "seller", "system")


def reasons(log, rule=NEW_12H) -> list[str | None]:
    return chat_table(log, rule)["excluded_reason"].cast(pl.String).to_list()


def statuses(log, rule=NEW_12H) -> list[str]:
    return chat_table(log, rule)["status"].cast(pl.String).to_list()


# --- a. a broadcast opens a seller thread only when no buyer chat is waiting -----------------


def test_broadcast_opens_a_thread_even_if_the_buyer_wrote_recently():
    log = log_of(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(1), "seller"),  # answered: nothing waiting
            ("a", at(2), "seller", "text", BCAST),  # buyer wrote 2 h ago: still opens
            ("a", at(3), "buyer"),  # reply to the broadcast
            ("a", at(4), "seller"),
            closing(),
        )
    )
    assert reasons(log) == [None, "seller_initiated"]


def test_plain_seller_message_soon_after_buyer_does_not_open_a_thread():
    log = log_of(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(1), "seller"),
            ("a", at(2), "seller"),  # buyer wrote 2 h ago: no thread
            ("a", at(3), "buyer"),
            ("a", at(4), "seller"),
            closing(),
        )
    )
    assert reasons(log) == [None, None]


def test_broadcast_while_a_chat_is_waiting_opens_no_thread():
    log = log_of(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(1), "seller", "text", BCAST),  # the chat is waiting: no thread
            ("a", at(2), "seller"),  # the answer
            ("a", at(3), "buyer"),  # a new chat of the buyer's own
            ("a", at(4), "seller"),
            closing(),
        )
    )
    ct = chat_table(log)
    assert reasons(log) == [None, None]
    assert ct["answer_at"].to_list() == [at(2), at(4)]


# --- b. broadcasts never answer and are never automatic replies ---------------------------------


def test_broadcast_from_seller_does_not_answer():
    log = log_of(msgs(("a", at(0), "buyer"), ("a", at(1), "seller", "text", BCAST), closing()))
    assert statuses(log) == ["unanswered"]
    assert statuses(log, AUTO_ANSWERS) == ["unanswered"]


def test_automatic_broadcast_is_not_an_automatic_reply():
    log = log_of(msgs(("a", at(0), "buyer"), ("a", at(0.01), "auto", "text", BCAST), closing()))
    # not an automatic reply: no auto_resolved exclusion, and it does not answer either
    ct = chat_table(log)
    assert ct["excluded_reason"].to_list() == [None]
    assert ct["first_auto_at"].to_list() == [None]
    assert statuses(log) == ["unanswered"]
    assert statuses(log, AUTO_ANSWERS) == ["unanswered"]
    # a real automatic reply does answer under count_as_answer
    real = log_of(msgs(("a", at(0), "buyer"), ("a", at(0.01), "auto"), closing()))
    assert statuses(real, AUTO_ANSWERS) == ["answered_in_time"]


# --- c. resolved by automatic reply: judged on the last automatic reply ------------------------


#: A chat answered twice automatically: the buyer wrote again after the first reply.
TWO_AUTO_REPLIES = (
    ("a", at(0), "buyer"),
    ("a", at(0.01), "auto"),
    ("a", at(0.5), "buyer"),  # continues the chat
    ("a", at(0.51), "auto"),  # the last automatic reply
)


def test_auto_resolved_uses_the_last_automatic_reply():
    log = log_of(msgs(*TWO_AUTO_REPLIES, closing()))
    ct = chat_table(log)
    assert ct.height == 1
    assert ct["excluded_reason"].cast(pl.String).to_list() == ["auto_resolved"]
    assert ct["first_auto_at"].to_list() == [at(0.01)]  # still the first one


def test_buyer_after_the_last_automatic_reply_keeps_the_chat_counted():
    log = log_of(
        msgs(*TWO_AUTO_REPLIES, ("a", at(0.6), "buyer"), closing())  # wrote again after the last
    )
    assert reasons(log) == [None]
    assert statuses(log) == ["unanswered"]


def test_build_chats_reports_auto_resolved_flag():
    log = log_of(msgs(*TWO_AUTO_REPLIES, closing()))
    c = build_chats(log.messages)
    assert c["auto_resolved"].to_list() == [True]
    assert c["n_buyer_messages"].to_list() == [2]


# --- the two window strategies of the engine agree ---------------------------------------------


def test_per_conversation_windows_equal_the_sorted_pass():
    """The Spark strategy (windows per conversation), run on polars, gives the same tables."""
    from chatsim.engine import PerConversation
    from chatsim.metrics import compare
    from chatsim.rules import LEGACY_24H
    from tests.support.synthetic import synthetic_log

    log = synthetic_log(8_000, seed=1, n_shops=12)
    rules = [LEGACY_24H, NEW_12H, AUTO_ANSWERS]
    a = compare(log, rules)
    b = compare(log, rules, window=PerConversation())
    assert a.chats.equals(b.chats) and a.shops.equals(b.shops)
