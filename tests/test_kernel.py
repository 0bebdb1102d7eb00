"""The compiled chat state machine (chatsim.engine.kernel) against the expression definitions."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatsim.chats import build_chats
from chatsim.engine import Compiled, GlobalOrder, PerConversation
from chatsim.engine import kernel as K
from chatsim.metrics import compare
from chatsim.rules import LEGACY_24H, NEW_12H
from chatsim.schema import ChatLog
from tests.logbuilder import at, log_of, msgs, random_logs, raw_messages
from tests.support.examples import examples

PROPS = settings(
    max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
MODES = st.sampled_from(list(K.AUTO_REPLY_CODES))
HOUR_US = 3_600_000_000


@st.composite
def messy_logs(draw):
    """random_logs with timestamp ties, gaps on session bounds and message ids in any
    order (null valid_reply rows too: compare validates them to true, build_chats on a
    raw frame keeps them)."""
    rows = draw(random_logs(ties=draw(st.booleans()), grid=draw(st.booleans())))
    ids = draw(st.permutations([r["message_id"] for r in rows]))
    nulls = draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)))
    return [
        {**r, "message_id": i, "valid_reply": None if null else r["valid_reply"]}
        for r, i, null in zip(rows, ids, nulls, strict=True)
    ]


@PROPS
@given(messy_logs(), MODES, st.sampled_from([0.5, 6.0, 24.0]), st.booleans())
def test_compiled_chats_equal_the_expression_definitions(rows, auto, session, valid_first):
    """Chat and shop tables are identical to those of the narwhals definitions, on both
    of their windows, for every automatic-reply mode and session bound; the second
    rule's chat definition is the derived one (other valid_replies_only)."""
    valid = LEGACY_24H.replace(auto_reply=auto, session_hours=session)
    any_reply = NEW_12H.replace(auto_reply=auto, session_hours=session)
    rules = [valid, any_reply] if valid_first else [any_reply, valid]
    log = log_of(rows)
    got = compare(log, rules, window=Compiled())
    for window in (GlobalOrder(), PerConversation()):
        want = compare(log, rules, window=window)
        assert got.chats.equals(want.chats), type(window).__name__
        assert got.shops.equals(want.shops), type(window).__name__


@PROPS
@given(messy_logs(), MODES, st.sampled_from([0.5, 24.0]), st.data())
def test_units_stars_and_marks_equal_the_expression_definitions(rows, auto, session, data):
    """With the optional columns (stars on any row, no-response-needed marks), every
    buyer message as a unit and the marks read: identical chat and shop tables."""
    n = len(rows)
    stars = data.draw(st.lists(st.sampled_from([None, 1, 3, 4, 5]), min_size=n, max_size=n))
    marks = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    raw = raw_messages(rows).with_columns(
        pl.Series("stars", stars, dtype=pl.Int64), pl.Series("no_response_needed", marks)
    )
    log = ChatLog.from_frames(raw)
    marked = frozenset({"holiday_mode", "blocked", "seller_initiated", "no_response_needed"})
    base = NEW_12H.replace(auto_reply=auto, session_hours=session, exclusions=marked)
    rules = [
        base.replace(name="units", counted_unit="message"),
        base.replace(name="chats", valid_replies_only=True),
        base.replace(name="valid-units", counted_unit="message", valid_replies_only=True),
    ]
    got = compare(log, rules, window=Compiled())
    for window in (GlobalOrder(), PerConversation()):
        want = compare(log, rules, window=window)
        assert got.chats.equals(want.chats), type(window).__name__
        assert got.shops.equals(want.shops), type(window).__name__


@PROPS
@given(messy_logs(), MODES, st.booleans(), st.sampled_from(["us", "ns", "ms"]))
def test_build_chats_equals_the_expression_definitions(rows, auto, valid_only, unit):
    """Also on raw frames: null valid_reply kept, any time unit."""
    raw = raw_messages(rows).with_columns(pl.col("sent_at").dt.cast_time_unit(unit))
    opts = {"auto_reply": auto, "valid_replies_only": valid_only}
    for messages in (log_of(rows).messages, raw):
        got = build_chats(messages, **opts)
        assert got.equals(build_chats(messages, window=GlobalOrder(), **opts))
        assert got.equals(build_chats(messages, window=PerConversation(), **opts))


def test_unvalidated_nulls_the_flag_byte_cannot_hold_are_refused():
    from chatsim.errors import SchemaError

    rows = msgs(("a", at(0), "buyer"), ("a", at(1), "seller"))
    raw = raw_messages(rows).with_columns(pl.Series("is_broadcast", [False, None]))
    with pytest.raises(SchemaError, match=r"null values in \{'is_broadcast': 1\}.*read_log"):
        build_chats(raw)


def test_a_session_bound_beyond_any_gap_means_never():
    log = log_of(msgs(("a", at(0), "buyer"), ("a", at(0.1), "auto"), ("a", at(5000), "buyer")))
    rule = NEW_12H.replace(session_hours=1e10)
    got = compare(log, [rule])
    assert got.chats.equals(compare(log, [rule], window=GlobalOrder()).chats)
    assert got.chats["n_buyer_messages"].to_list() == [2]  # one chat, never expired


def test_compiled_equals_the_expressions_on_a_synthetic_log():
    from tests.support.synthetic import synthetic_log

    log = synthetic_log(20_000, seed=3, n_shops=15)
    rules = [LEGACY_24H, NEW_12H, NEW_12H.replace(name="auto", auto_reply="count_as_answer")]
    a = compare(log, rules)
    b = compare(log, rules, window=GlobalOrder())
    assert a.chats.height > 1000
    assert a.chats.equals(b.chats) and a.shops.equals(b.shops)


# --- the kernel itself ---------------------------------------------------------------------


@st.composite
def flag_arrays(draw):
    """Times (non-decreasing within a conversation) and flag bytes with START bits."""
    n = draw(st.integers(0, 60))
    flags = draw(st.lists(st.integers(0, 127), min_size=n, max_size=n))
    starts = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    steps = draw(st.lists(st.integers(0, 30 * HOUR_US), min_size=n, max_size=n))
    f = np.array(flags, dtype=np.uint8) | (np.array(starts, dtype=bool) * K.START).astype(np.uint8)
    if n:
        f[0] |= K.START
    return np.cumsum(np.array(steps, dtype=np.int64)), f


@PROPS
@given(flag_arrays(), MODES, st.booleans(), st.integers(2, 7))
def test_shards_do_not_change_the_chats(arrays, auto, valid_only, threads):
    t, f = arrays
    opts = {"auto_reply": auto, "valid_replies_only": valid_only, "session_us": 24 * HOUR_US}
    one = K.chat_arrays(t, f, threads=1, units=True, **opts)
    many = K.chat_arrays(t, f, threads=threads, units=True, **opts)
    for k in (*K.OUTPUTS, "u_pos", "u_seq", "u_no_reply"):
        assert np.array_equal(one[k], many[k]), k
    # one unit per buyer message, in row order
    assert np.array_equal(one["u_pos"], np.flatnonzero(f & K.BUYER))
    # chats in chat-table order, one opening row each, numbered 1, 2, ... per conversation
    assert np.all(np.diff(one["open_pos"]) > 0)
    conv = np.cumsum((f & K.START) > 0)[one["open_pos"]]  # each chat's conversation
    first = np.r_[True, conv[1:] != conv[:-1]][: len(conv)]
    assert np.array_equal(one["seq"] == 1, first)
    assert np.all(one["seq"][~first] == one["seq"][np.flatnonzero(~first) - 1] + 1)


def test_the_flag_byte_reads_the_message_columns():
    df = pl.DataFrame(
        {
            "sender": ["buyer", "buyer", "seller", "seller", "auto", "auto", "auto"],
            "kind": ["text", "system", "image", "text", "text", "text", "system"],
            "is_broadcast": [False, False, False, True, False, True, False],
            "valid_reply": [True, True, None, False, True, True, True],
            "rating": [None, "satisfied", "unsatisfied", None, None, None, None],
        }
    )
    got = df.select(K.message_flags()).to_series().to_list()
    assert got == [
        K.BUYER | K.VALID,
        K.VALID | K.RATED | K.SATISFIED,  # a system message is neither buyer nor seller
        K.SELLER | K.RATED,  # null valid_reply: not valid
        K.SELLER | K.BROADCAST,
        K.AUTO | K.VALID,
        K.BROADCAST | K.VALID,  # a broadcast is never an automatic reply
        K.VALID,
    ]


def test_a_late_rating_goes_to_the_latest_chat_and_an_expired_auto_reply_reopens():
    log = log_of(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(0.1), "auto"),  # waiting chat gets an automatic reply
            ("a", at(30), "buyer"),  # more than a session later: a new chat
            ("a", at(31), "seller"),
            ("a", at(40), "seller", "system", {"rating": "unsatisfied"}),
        )
    )
    c = build_chats(log.messages)
    assert c["chat_seq"].to_list() == [1, 2]
    assert c["auto_resolved"].to_list() == [True, False]
    assert c["rating"].cast(pl.String).to_list() == [None, "unsatisfied"]
    assert c["response_s"].to_list() == [None, 3600.0]


@pytest.mark.parametrize("window", [Compiled(), GlobalOrder(), PerConversation()])
def test_session_bounds_are_inclusive(window):
    """A buyer message exactly one session after an automatic reply continues the chat;
    a seller message exactly one session after the buyer's last message opens no
    thread (so the next buyer chat is not seller-initiated)."""
    log = log_of(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(0.25), "auto"),
            ("a", at(24.25), "buyer"),  # continues chat 1
            ("b", at(0), "buyer"),
            ("b", at(1), "seller"),
            ("b", at(24), "seller"),  # exactly 24 h after the buyer: no thread
            ("b", at(25), "buyer"),
        )
    )
    c = build_chats(log.messages, window=window)
    assert c["conversation_id"].to_list() == ["a", "b", "b"]
    assert c["n_buyer_messages"].to_list() == [2, 1, 1]
    assert c["seller_initiated"].to_list() == [False, False, False]


def test_empty_input_and_bad_arrays():
    empty = K.chat_arrays(np.array([], np.int64), np.array([], np.uint8), session_us=1)
    assert all(len(v) == 0 and v.dtype == K.OUTPUTS[k] for k, v in empty.items())
    t = np.array([1, 2], np.int64)
    with pytest.raises(ValueError, match="START"):
        K.chat_arrays(t, np.array([K.BUYER, K.BUYER], np.uint8), session_us=1)
    with pytest.raises(ValueError, match="uint8"):
        K.chat_arrays(t, np.array([K.START], np.uint8), session_us=1)
    with pytest.raises(ValueError, match="auto_reply"):
        K.chat_arrays(t, np.array([K.START, 0], np.uint8), session_us=1, auto_reply="x")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 2**32 - 1), max_size=300),
    st.integers(1, 2**32 - 1),
)
def test_radix_order_is_the_stable_argsort(values, spread):
    """The compiled radix sort gives numpy's stable argsort, ties and all (keys drawn over a
    narrow and a wide range)."""
    keys = (np.array(values, dtype=np.uint64) % spread).astype(np.uint32)
    got = K.stable_order(keys)
    assert np.array_equal(got.astype(np.int64), np.argsort(keys, kind="stable"))
