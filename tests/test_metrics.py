"""Hand-worked examples from the policy, and property tests of the metrics."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatsim.errors import RuleError
from chatsim.metrics import chat_table, compare, shop_table
from chatsim.rules import EXCLUSIONS, LEGACY_24H, NEW_12H, Rule
from tests.logbuilder import T0, at, log_of, msgs, random_logs
from tests.support.examples import examples

NEW_24H = NEW_12H.replace(name="new-24h", window_hours=24)
LATE = {"sent_at": None}


def statuses(log, rule=NEW_12H, **kw) -> list[str]:
    return chat_table(log, rule, **kw)["status"].cast(pl.String).to_list()


def one_shop(log, rule=NEW_12H, **kw) -> dict:
    return shop_table(log, rule, **kw).row(0, named=True)


def closing(conv="z", days=40):
    """A message well after everything else, so deadlines fall before the cutoff."""
    return (conv, at(days=days), "seller", "system")


# --- the chat unit -------------------------------------------------------------------


def test_burst_of_buyer_messages_is_one_chat_timed_from_the_first():
    log = log_of(
        msgs(
            ("c", at(0), "buyer", "text"),
            ("c", at(0.1), "buyer", "sticker"),
            ("c", at(0.2), "buyer", "image"),
            ("c", at(0.3), "buyer", "order_card"),
            ("c", at(5), "seller", "text"),
            closing(days=20),
        )
    )
    ct = chat_table(log)
    assert ct.height == 1
    assert ct["n_buyer_messages"].to_list() == [4]
    assert ct["response_s"].to_list() == [5 * 3600]
    assert ct["status"].cast(pl.String).to_list() == ["answered_in_time"]


def test_every_buyer_message_kind_needs_a_reply():
    kinds = ["text", "sticker", "emoji", "image", "video", "order_card", "product_card"]
    rows = [(f"c{i}", at(i), "buyer", k) for i, k in enumerate(kinds)]
    log = log_of(msgs(*rows, closing(days=20)))
    assert statuses(log) == ["unanswered"] * len(kinds)


def test_system_messages_neither_open_nor_answer():
    log = log_of(
        msgs(
            ("c", at(0), "buyer", "system"),
            ("c", at(1), "buyer", "text"),
            ("c", at(2), "seller", "system"),
            ("c", at(3), "seller", "text"),
            closing(days=20),
        )
    )
    ct = chat_table(log)
    assert ct["open_at"].to_list() == [at(1)]
    assert ct["answer_at"].to_list() == [at(3)]


def test_follow_up_after_answer_opens_a_new_chat():
    log = log_of(
        msgs(
            ("c", at(0), "buyer"),
            ("c", at(1), "seller"),
            ("c", at(2), "buyer"),
            ("c", at(20), "seller"),
            closing(days=20),
        )
    )
    ct = chat_table(log)
    assert ct["chat_seq"].to_list() == [1, 2]
    assert ct["status"].cast(pl.String).to_list() == ["answered_in_time", "answered_late"]


# --- windows, weekends, the 12 h vs 24 h rules ------------------------------------------


def test_thirteen_hour_answer_fails_12h_passes_24h():
    log = log_of(msgs(("c", at(0), "buyer"), ("c", at(13), "seller"), closing(days=20)))
    assert statuses(log, NEW_12H) == ["answered_late"]
    assert statuses(log, NEW_24H) == ["answered_in_time"]


def test_weekend_messages_count_on_the_calendar_clock():
    sat = dt.datetime(2025, 8, 9, 10, 0, tzinfo=dt.UTC)  # Saturday
    log = log_of(
        msgs(("c", sat, "buyer"), ("c", sat + dt.timedelta(hours=47), "seller"), closing(days=20))
    )
    assert statuses(log, NEW_12H) == ["answered_late"]
    assert chat_table(log)["response_s"].to_list() == [47 * 3600]


def test_chatbot_weekend_deadline_is_monday_noon_local_for_chatbot_shops_only():
    # Saturday 10:00 Jakarta (03:00 UTC); answered Monday 11:30 Jakarta = 49.5 h later
    sat = dt.datetime(2025, 8, 9, 3, 0, tzinfo=dt.UTC)
    mon_1130 = dt.datetime(2025, 8, 11, 4, 30, tzinfo=dt.UTC)
    rows = msgs(("c", sat, "buyer"), ("c", mon_1130, "seller"), closing(days=20))
    bot = log_of(
        rows, shops=[{"shop_id": "s1", "timezone": "Asia/Jakarta", "chatbot_enabled": True}]
    )
    nobot = log_of(
        rows, shops=[{"shop_id": "s1", "timezone": "Asia/Jakarta", "chatbot_enabled": False}]
    )
    ct = chat_table(bot, LEGACY_24H)
    assert ct["deadline"].to_list() == [dt.datetime(2025, 8, 11, 5, 0, tzinfo=dt.UTC)]
    assert statuses(bot, LEGACY_24H) == ["answered_in_time"]
    assert statuses(nobot, LEGACY_24H) == ["answered_late"]
    assert statuses(bot, NEW_12H) == ["answered_late"]  # the new rule has no weekend grace


def test_dst_change_response_time_is_elapsed_time_not_wall_clock():
    # Paris leaves summer time on Sun 26 Oct 2025 03:00 -> 02:00.
    # Opened Sat 22:00 CEST (20:00 UTC), answered Sun 09:30 CET (08:30 UTC):
    # 11.5 h on the wall clock, 12.5 h elapsed -> late under 12 h.
    opened = dt.datetime(2025, 10, 25, 20, 0, tzinfo=dt.UTC)
    answered = dt.datetime(2025, 10, 26, 8, 30, tzinfo=dt.UTC)
    shops = [{"shop_id": "s1", "timezone": "Europe/Paris", "chatbot_enabled": True}]
    log = log_of(
        msgs(
            ("c", opened, "buyer"),
            ("c", answered, "seller"),
            ("z", opened + dt.timedelta(days=5), "seller", "system"),
        ),
        shops=shops,
    )
    assert chat_table(log)["response_s"].to_list() == [12.5 * 3600]
    assert statuses(log, NEW_12H) == ["answered_late"]
    # the chatbot-weekend deadline is Monday 12:00 CET = 11:00 UTC (not 10:00)
    ct = chat_table(log, LEGACY_24H)
    assert ct["deadline"].to_list() == [dt.datetime(2025, 10, 27, 11, 0, tzinfo=dt.UTC)]


# --- right-censoring ------------------------------------------------------------------------


def test_chat_spanning_the_cutoff_is_pending_not_failed():
    log = log_of(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(1), "seller"),
            ("c", at(days=10), "buyer"),
            ("c", at(days=10, hours=6), "seller", "system"),
        )
    )
    # cutoff = 6 h after the open: the 12 h deadline is still ahead
    row = one_shop(log, NEW_12H)
    assert statuses(log) == ["answered_in_time", "pending"]
    assert row["pending"] == 1 and row["counted"] == 1 and row["response_rate"] == 1.0


def test_pending_under_24h_can_be_failed_under_12h():
    log = log_of(msgs(("c", at(0), "buyer"), ("c", at(15), "seller", "system")))
    assert statuses(log, NEW_12H) == ["unanswered"]
    assert statuses(log, NEW_24H) == ["pending"]


def test_answer_before_cutoff_passes_even_if_deadline_is_after_it():
    log = log_of(msgs(("c", at(0), "buyer"), ("c", at(2), "seller")))
    assert statuses(log, NEW_24H) == ["answered_in_time"]


def test_as_of_ignores_later_messages_and_counts_them():
    log = log_of(msgs(("c", at(0), "buyer"), ("c", at(30), "seller"), ("d", at(40), "buyer")))
    ev = compare(log, [NEW_12H], as_of=at(20))
    assert ev.messages_after_cutoff == 2
    assert ev.chats["status"].cast(pl.String).to_list() == ["unanswered"]
    with pytest.raises(RuleError, match="time zone"):
        compare(log, [NEW_12H], as_of="2025-08-05T00:00:00")


# --- exclusions -----------------------------------------------------------------------------


def test_holiday_mode_excludes_chats_opened_inside_the_interval():
    log = log_of(
        msgs(
            ("a", at(0), "buyer"),
            ("b", at(days=3), "buyer"),
            ("c", at(days=6), "buyer"),
            closing(days=20),
        ),
        holiday=[
            {"shop_id": "s1", "start": at(days=2), "end": at(days=4)},
            {"shop_id": "s1", "start": at(days=3.5), "end": at(days=5)},
        ],
    )
    ct = chat_table(log)
    assert ct["excluded_reason"].cast(pl.String).to_list() == [None, "holiday_mode", None]
    row = one_shop(log)
    assert row["excluded_holiday_mode"] == 1 and row["counted"] == 2


def test_blocked_buyers_chats_are_excluded():
    log = log_of(
        msgs(
            ("a", at(0), "buyer", "text", {"buyer": "rude"}),
            ("b", at(1), "buyer"),
            closing(days=20),
        ),
        blocked=[{"shop_id": "s1", "buyer_id": "rude", "blocked_at": at(days=2)}],
    )
    assert chat_table(log)["excluded_reason"].cast(pl.String).to_list() == ["blocked", None]
    # a block after the data cutoff does not apply yet
    later = log_of(
        msgs(("a", at(0), "buyer", "text", {"buyer": "rude"}), closing(days=20)),
        blocked=[{"shop_id": "s1", "buyer_id": "rude", "blocked_at": at(days=50)}],
    )
    assert statuses(later) == ["unanswered"]


def test_broadcast_reply_within_session_is_seller_initiated():
    log = log_of(
        msgs(
            ("a", at(0), "seller", "text", {"broadcast": True}),
            ("a", at(3), "buyer"),  # answers the broadcast: seller-initiated
            ("a", at(4), "seller"),
            ("b", at(0), "seller"),  # a seller-opened thread
            ("b", at(30), "buyer"),  # 30 h later: a chat of the buyer's own
            closing(days=20),
        )
    )
    ct = chat_table(log)
    assert ct["excluded_reason"].cast(pl.String).to_list() == ["seller_initiated", None]
    assert one_shop(log)["excluded_seller_initiated"] == 1


def test_late_seller_answer_does_not_open_a_seller_thread():
    log = log_of(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(30), "seller"),  # late answer
            ("a", at(31), "buyer"),  # a new chat, not seller-initiated
            closing(days=20),
        )
    )
    assert chat_table(log)["excluded_reason"].to_list() == [None, None]


def test_exclusion_order_holiday_before_blocked():
    log = log_of(
        msgs(("a", at(0), "buyer", "text", {"buyer": "rude"}), closing(days=20)),
        holiday=[{"shop_id": "s1", "start": at(-1), "end": at(1)}],
        blocked=[{"shop_id": "s1", "buyer_id": "rude", "blocked_at": at(0)}],
    )
    assert chat_table(log)["excluded_reason"].cast(pl.String).to_list() == ["holiday_mode"]


def test_switching_an_exclusion_off_counts_the_chat():
    log = log_of(msgs(("a", at(0), "seller"), ("a", at(1), "buyer"), closing(days=20)))
    rule = NEW_12H.replace(exclusions=frozenset({"holiday_mode", "blocked", "auto_resolved"}))
    assert statuses(log, NEW_12H) == ["excluded"]
    assert statuses(log, rule) == ["unanswered"]


# --- the three readings of automatic replies ---------------------------------------------------


AUTO_ONLY = msgs(("a", at(0), "buyer"), ("a", at(0.001), "auto"), closing(days=20))
AUTO_THEN_FOLLOW_UP = msgs(
    ("a", at(0), "buyer"),
    ("a", at(0.001), "auto"),
    ("a", at(0.1), "buyer"),
    ("a", at(3), "seller"),
    closing(days=20),
)


def test_auto_resolved_chat_excluded_under_exclude_resolved():
    log = log_of(AUTO_ONLY)
    assert chat_table(log)["excluded_reason"].cast(pl.String).to_list() == ["auto_resolved"]


def test_auto_reply_counts_as_answer_reading():
    rule = NEW_12H.replace(name="auto-answers", auto_reply="count_as_answer")
    ct = chat_table(log_of(AUTO_ONLY), rule)
    assert ct["status"].cast(pl.String).to_list() == ["answered_in_time"]
    assert ct["answered_by"].cast(pl.String).to_list() == ["auto"]
    # the follow-up after the automatic answer is a chat of its own, answered by the seller
    ct = chat_table(log_of(AUTO_THEN_FOLLOW_UP), rule)
    assert ct["answered_by"].cast(pl.String).to_list() == ["auto", "seller"]


def test_auto_reply_ignored_reading():
    rule = NEW_12H.replace(name="auto-ignored", auto_reply="ignore")
    assert statuses(log_of(AUTO_ONLY), rule) == ["unanswered"]


def test_buyer_writing_again_after_auto_reply_keeps_the_chat_counted():
    ct = chat_table(log_of(AUTO_THEN_FOLLOW_UP))
    assert ct.height == 1
    assert ct["status"].cast(pl.String).to_list() == ["answered_in_time"]
    assert ct["response_s"].to_list() == [3 * 3600]
    assert ct["first_auto_at"].to_list() == [at(0.001)]


def test_buyer_message_long_after_auto_reply_opens_a_new_chat():
    log = log_of(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(0.001), "auto"),
            ("a", at(48), "buyer"),
            closing(days=20),
        )
    )
    ct = chat_table(log)
    assert ct["excluded_reason"].cast(pl.String).to_list() == ["auto_resolved", None]


# --- valid replies -------------------------------------------------------------------------------


def test_small_talk_reply_does_not_answer_under_valid_replies_only():
    log = log_of(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(1), "seller", "text", {"valid": False}),
            ("a", at(30), "seller"),
            closing(days=20),
        )
    )
    assert statuses(log, LEGACY_24H) == ["answered_late"]
    assert statuses(log, NEW_12H) == ["answered_in_time"]


# --- business hours ------------------------------------------------------------------------------


def test_business_hours_rule_counts_only_working_time():
    fri_17 = dt.datetime(2025, 8, 8, 17, 0, tzinfo=dt.UTC)
    mon_10 = dt.datetime(2025, 8, 11, 10, 0, tzinfo=dt.UTC)
    rule = NEW_12H.replace(name="biz-12h", clock="business")
    log = log_of(msgs(("a", fri_17, "buyer"), ("a", mon_10, "seller"), closing(days=20)))
    ct = chat_table(log, rule)
    assert ct["response_s"].to_list() == [2 * 3600]  # Fri 17-18, Mon 9-10
    # 12 working hours from Fri 17:00: 1 h Friday, 9 h Monday, 2 h Tuesday -> Tue 11:00
    assert ct["deadline"].to_list() == [dt.datetime(2025, 8, 12, 11, 0, tzinfo=dt.UTC)]
    assert ct["status"].cast(pl.String).to_list() == ["answered_in_time"]


def test_business_hours_follow_the_shop_time_zone():
    # Mon 09:00 in Ho Chi Minh City is 02:00 UTC; an 8 h business window ends 18:00 local
    mon_2am = dt.datetime(2025, 8, 11, 2, 0, tzinfo=dt.UTC)
    rule = NEW_12H.replace(name="biz-8h", clock="business", window_hours=8)
    shops = [{"shop_id": "s1", "timezone": "Asia/Ho_Chi_Minh"}]
    log = log_of(msgs(("a", mon_2am, "buyer"), closing(days=20)), shops=shops)
    assert chat_table(log, rule)["deadline"].to_list() == [
        dt.datetime(2025, 8, 11, 10, 0, tzinfo=dt.UTC)
    ]


# --- period, shop table --------------------------------------------------------------------------


def test_trailing_period_and_explicit_period():
    log = log_of(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(1), "seller"),
            ("b", at(days=40), "buyer"),
            ("b", at(days=40, hours=1), "seller"),
        )
    )
    assert statuses(log) == ["outside_period", "answered_in_time"]
    explicit = NEW_12H.replace(period_start=dt.date(2025, 8, 1), period_end=dt.date(2025, 8, 10))
    assert statuses(log, explicit) == ["answered_in_time", "outside_period"]


def test_shop_table_rates_and_satisfaction():
    log = log_of(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(2), "seller", "text", {"rating": "satisfied"}),
            ("b", at(0), "buyer"),
            ("b", at(20), "seller", "text", {"rating": "unsatisfied"}),
            ("c", at(0), "buyer"),
            ("c", at(3), "seller"),
            ("d", at(0), "buyer"),
            closing(days=20),
        )
    )
    row = one_shop(log)
    assert row["counted"] == 4 and row["answered_in_time"] == 2
    assert row["answered_late"] == 1 and row["unanswered"] == 1
    assert row["response_rate"] == 0.5
    assert row["avg_response_hours"] == pytest.approx((2 + 20 + 3) / 3)
    assert row["median_response_hours"] == 3
    assert row["satisfaction_rate"] == 0.5 and row["rated"] == 2
    assert row["meets_target"] is False and row["tier"] == "below_target"


def test_rates_over_zero_counted_chats_are_null():
    log = log_of(
        msgs(("a", at(0), "seller"), ("b", at(0), "buyer", "text", {"shop": "s2"})),
        shops=[
            {"shop_id": "s1", "timezone": "UTC"},
            {"shop_id": "s2", "timezone": "UTC"},
            {"shop_id": "s3", "timezone": "UTC"},
        ],
    )
    st_ = shop_table(log).sort("shop_id")
    assert st_["shop_id"].to_list() == ["s1", "s2", "s3"]
    assert st_["response_rate"].to_list() == [None, None, None]  # s2's only chat is pending
    assert st_["meets_target"].to_list() == [None, None, None]


def test_legacy_tiers():
    assert LEGACY_24H.tier(0.95) == "meets"
    assert LEGACY_24H.tier(0.87) == "warning"
    assert LEGACY_24H.tier(0.5) == "enforcement"


def test_compare_one_pass_many_rules_and_unique_names():
    log = log_of(msgs(("a", at(0), "buyer"), ("a", at(13), "seller"), closing(days=20)))
    ev = compare(log, [LEGACY_24H, NEW_12H, NEW_24H])
    assert ev.summary()["rule"].to_list() == ["legacy-24h", "new-12h", "new-24h"]
    # every exclusion reason, then pending and outside the period
    assert ev.exclusions().height == 3 * (len(EXCLUSIONS) + 2)
    with pytest.raises(RuleError, match="unique"):
        compare(log, [NEW_12H, NEW_12H])


# --- one face for every engine ---------------------------------------------------------------


def test_every_engine_by_name_gives_the_same_shop_tables(tmp_path, every_feature_rules):
    from chatsim.sample import sample_log, sample_log_path

    want = compare(sample_log(), every_feature_rules)
    for kw in (
        {},  # polars, reading the path
        {"engine": "polars", "lenient": True, "chats": False},
        {"engine": "buckets", "progress": False},
        {"engine": "buckets", "buckets": 2, "work_dir": tmp_path, "progress": False},
    ):
        got = compare(sample_log_path(), every_feature_rules, **kw)
        assert got.shops.sort("rule", "shop_id").equals(want.shops.sort("rule", "shop_id")), kw
        assert (got.as_of, got.messages_used) == (want.as_of, want.messages_used)


def test_unknown_engine_names_the_known_ones():
    from chatsim.errors import EngineError
    from chatsim.metrics import ENGINES, get_engine

    log = log_of(msgs(("a", at(0), "buyer")))
    with pytest.raises(EngineError, match="unknown engine 'dask'; the engines are buckets, polars"):
        compare(log, engine="dask")
    assert ENGINES.names() == ["buckets", "polars", "spark"]
    assert set(get_engine("buckets").options()) >= {"buckets", "memory_budget_gb", "chats_out"}


def test_an_option_the_engine_does_not_take_is_named():
    from chatsim.errors import EngineError
    from chatsim.sample import sample_log, sample_log_path

    with pytest.raises(
        EngineError, match=r"polars engine takes no option 'buckets'.*buckets engine"
    ):
        compare(sample_log(), buckets=3)
    with pytest.raises(EngineError, match="spark engine takes no option 'chats'"):
        compare(sample_log_path(), engine="spark", chats=False)  # before any Spark session
    with pytest.raises(EngineError, match="buckets engine reads the log from its files"):
        compare(sample_log(), engine="buckets")
    with pytest.raises(EngineError, match="lenient.*already read"):
        compare(sample_log(), lenient=True)


def test_every_engine_checks_the_rule_list_alike():
    from chatsim.metrics import data_cutoff
    from chatsim.sample import sample_log_path
    from chatsim.scale import compare_dataset
    from chatsim.spark import compare_spark

    for run in (compare, compare_dataset, compare_spark):  # no Spark session is started
        with pytest.raises(RuleError, match=rf"^{run.__name__}\(\) needs at least one rule"):
            run(sample_log_path(), [])
        with pytest.raises(RuleError, match="rule names must be unique"):
            run(sample_log_path(), [NEW_12H, NEW_12H])
    with pytest.raises(RuleError, match="no data cutoff; pass as_of"):
        data_cutoff(None, None, "empty.csv")
    with pytest.raises(RuleError, match="no time zone"):
        data_cutoff("2025-08-01T00:00:00", None, "log")
    with pytest.raises(RuleError, match="not an ISO-8601"):
        data_cutoff("yesterday", None, "log")


# --- properties -------------------------------------------------------------------------------------

PROPS = settings(
    max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
RATE_COLS = [
    "shop_id",
    "counted",
    "answered_in_time",
    "pending",
    "response_rate",
    "excluded_holiday_mode",
    "excluded_seller_initiated",
    "excluded_auto_resolved",
]


@PROPS
@given(
    random_logs(), st.sampled_from(["exclude_resolved", "count_as_answer", "ignore"]), st.booleans()
)
def test_12h_rate_never_exceeds_24h_rate(rows, auto, valid_only):
    r12 = NEW_12H.replace(auto_reply=auto, valid_replies_only=valid_only)
    r24 = r12.replace(name="r24", window_hours=24)
    ev = compare(log_of(rows), [r12, r24])
    s = ev.shops.pivot(on="rule", index="shop_id", values="response_rate")
    for a, b in s.select("new-12h", "r24").iter_rows():
        if a is not None and b is not None:
            assert a <= b + 1e-12
    # the legacy rule (with its weekend grace and valid-replies setting) is never stricter
    # than the new rule with the same chat definition
    legacy = LEGACY_24H.replace(valid_replies_only=valid_only, auto_reply=auto)
    ev = compare(log_of(rows), [r12, legacy])
    s = ev.shops.pivot(on="rule", index="shop_id", values="response_rate")
    for a, b in s.select("new-12h", "legacy-24h").iter_rows():
        if a is not None and b is not None:
            assert a <= b + 1e-12


@PROPS
@given(
    random_logs(),
    st.sampled_from(["exclude_resolved", "count_as_answer", "ignore"]),
    st.booleans(),
)
def test_derived_chat_definition_equals_building_it_whole(rows, auto, legacy_first):
    # the second of two definitions differing only in valid_replies_only is rebuilt only
    # on conversations with a non-valid seller reply; results equal a run of each rule alone
    valid = LEGACY_24H.replace(auto_reply=auto)
    any_reply = NEW_12H.replace(auto_reply=auto)
    rules = [valid, any_reply] if legacy_first else [any_reply, valid]
    log = log_of(rows)
    ev = compare(log, rules)
    for rule in rules:
        alone = compare(log, [rule])
        assert ev.chats.filter(pl.col("rule") == rule.name).equals(alone.chats)
        assert ev.shops.filter(pl.col("rule") == rule.name).equals(alone.shops)


def test_message_of_a_shop_missing_from_the_shops_table_is_named():
    from chatsim.errors import SchemaError
    from chatsim.schema import ChatLog

    log = log_of(msgs(("a", at(0), "buyer"), ("b", at(1), "buyer", "text", {"shop": "s2"})))
    broken = ChatLog(  # bypasses validation, as a hand-built ChatLog could
        messages=log.messages,
        shops=log.shops.filter(pl.col("shop_id") == "s1"),
        holiday_mode=log.holiday_mode,
        blocked=log.blocked,
    )
    with pytest.raises(SchemaError, match=r"1 message\(s\) belong to shops .*'s2'"):
        compare(broken)


@PROPS
@given(random_logs(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(rows, rnd):
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    # in time order overall: the canonical sort's fast path
    by_time = sorted(rows, key=lambda r: (r["sent_at"], r["message_id"]))
    a = compare(log_of(rows))
    for other in (shuffled, by_time):
        b = compare(log_of(other))
        assert a.shops.equals(b.shops)
        assert a.chats.equals(b.chats)


@PROPS
@given(random_logs(), st.integers(1, 5))
def test_adding_excluded_chats_changes_no_rate(rows, n_extra):
    base = compare(log_of(rows))
    extra = list(rows)
    mid = max(r["message_id"] for r in rows)
    t_max = max(r["sent_at"] for r in rows)
    for i in range(n_extra):
        mid += 1
        # chats from a blocked buyer in new conversations, inside the period
        extra.append(
            {
                **rows[0],
                "message_id": mid,
                "conversation_id": f"x{i}",
                "buyer_id": "blocked-buyer",
                "sender": "buyer",
                "kind": "text",
                "is_broadcast": False,
                "rating": None,  # a rated buyer row is a rating event, not a chat
                "sent_at": t_max - dt.timedelta(hours=i + 1),
            }
        )
    blocked = [{"shop_id": rows[0]["shop_id"], "buyer_id": "blocked-buyer", "blocked_at": T0}]
    more = compare(log_of(extra, blocked=blocked))
    cols = ["rule", "shop_id", "counted", "answered_in_time", "pending", "response_rate"]
    assert base.shops.select(cols).equals(more.shops.select(cols))
    assert int(more.shops["excluded_blocked"].sum()) == 2 * n_extra


@PROPS
@given(random_logs(), st.floats(-5000, 5000))
def test_shifting_every_timestamp_changes_nothing(rows, shift_h):
    delta = dt.timedelta(hours=shift_h)
    shifted = [{**r, "sent_at": r["sent_at"] + delta} for r in rows]
    rules = [NEW_12H, NEW_24H]
    a = compare(log_of(rows), rules)
    b = compare(log_of(shifted), rules)
    assert a.shops.equals(b.shops)
    # weekly features (chatbot weekend deadline, business hours) are invariant under whole weeks
    weeks = dt.timedelta(weeks=round(shift_h / 168))
    weekly = [LEGACY_24H, NEW_12H.replace(name="biz", clock="business")]
    shops = [{"shop_id": s, "timezone": "UTC", "chatbot_enabled": True} for s in ("s0", "s1")]
    shifted_w = [{**r, "sent_at": r["sent_at"] + weeks} for r in rows]
    used = sorted({r["shop_id"] for r in rows})
    shops = [s for s in shops if s["shop_id"] in used]
    a = compare(log_of(rows, shops=shops), weekly)
    b = compare(log_of(shifted_w, shops=shops), weekly)
    assert a.shops.equals(b.shops)


def test_rule_validation_named():
    with pytest.raises(RuleError, match="target"):
        Rule(name="x", window_hours=12, target=1.2)


@PROPS
@given(random_logs(ties=True, grid=True))
def test_shop_figures_alone_equal_those_of_a_full_compare(rows):
    """compare(chats=False) skips the chat table: same shop table, an empty chat table
    with the same columns, for every clock and automatic-reply mode."""
    rules = [
        LEGACY_24H,
        NEW_12H,
        NEW_12H.replace(name="biz", clock="business"),
        NEW_12H.replace(name="auto", auto_reply="count_as_answer"),
    ]
    log = log_of(rows)
    full = compare(log, rules)
    lean = compare(log, rules, chats=False)
    assert lean.shops.equals(full.shops)
    assert lean.chats.height == 0 and lean.chats.schema == full.chats.schema
    assert lean.summary().equals(full.summary())


def test_data_cutoff_reads_iso_8601_as_the_command_line_does():
    """``z`` is UTC and ``t`` separates date and time, in either case, as ISO 8601 allows."""
    from chatsim.cliargs import as_of_timestamp
    from chatsim.metrics import data_cutoff
    from chatsim.sample import sample_log

    want = dt.datetime(2025, 9, 14, tzinfo=dt.UTC)
    for text in ("2025-09-14T00:00:00Z", "2025-09-14t00:00:00z", "2025-09-14T07:00:00+07:00"):
        assert data_cutoff(text, None, "log") == want == as_of_timestamp(text), text
    ev = compare(sample_log(), as_of="2025-08-20t00:00:00z")
    assert ev.as_of == dt.datetime(2025, 8, 20, tzinfo=dt.UTC)
