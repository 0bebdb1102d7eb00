"""The counted unit, the daily cut-off deadline, the public-holiday and no-response-needed
exclusions and the stars column: hand-worked cases, every engine alike, and the features
switched off giving the plain rule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatsim.engine import GlobalOrder, PerConversation
from chatsim.errors import ChatsimWarning, EngineError, RuleError, SchemaError
from chatsim.metrics import compare
from chatsim.rules import DEFAULT_EXCLUSIONS, EXCLUSIONS, NEW_12H, Rule
from chatsim.schema import ChatLog, read_log, write_log
from tests.logbuilder import at, msgs, random_logs, raw_messages
from tests.support.examples import examples
from tests.support.pandas_reference import SHOP_COLUMNS, pandas_compare

UTC = dt.UTC
PLAIN = NEW_12H.replace(name="plain", period_days=90)
CUTOFF = PLAIN.replace(
    name="cutoff", deadline="daily_cutoff", cutoff_time="17:00", due_time="02:30"
)


def log_with(
    rows: list[dict],
    *,
    no_reply: list[bool] | None = None,
    stars: list[int | None] | None = None,
    shops: list[dict] | None = None,
) -> ChatLog:
    """A validated log of ``rows`` (tests.logbuilder) with the optional columns."""
    df = raw_messages(rows)
    if no_reply is not None:
        df = df.with_columns(pl.Series("no_response_needed", no_reply))
    if stars is not None:
        df = df.with_columns(pl.Series("stars", stars, dtype=pl.Int64))
    return ChatLog.from_frames(df, pl.DataFrame(shops) if shops else None)


def judged(log: ChatLog, rule: Rule, as_of: dt.datetime | None = None) -> pl.DataFrame:
    """The chat table of ``rule``, the same from every polars window (checked)."""
    got = compare(log, [rule], as_of=as_of).chats
    for window in (GlobalOrder(), PerConversation()):
        assert got.equals(compare(log, [rule], as_of=as_of, window=window).chats)
    return got


# --- rule fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"counted_unit": "thread"}, r"rule 'x': counted_unit 'thread' is not one of"),
        ({"deadline": "cutoff"}, r"rule 'x': deadline 'cutoff' is not one of"),
        ({"deadline": "daily_cutoff"}, r"rule 'x': deadline daily_cutoff needs cutoff_time"),
        ({"cutoff_time": "17:00"}, r"rule 'x': cutoff_time is read only with deadline"),
        (
            {"deadline": "daily_cutoff", "cutoff_time": "25:00", "due_time": "12:00"},
            r"rule 'x': cutoff_time: expected a time of day as HH:MM",
        ),
        (
            {
                "deadline": "daily_cutoff",
                "cutoff_time": "17:00",
                "due_time": "12:00",
                "due_day_offset": 0,
            },
            r"rule 'x': with due_day_offset 0 .* set due_time at or after cutoff_time",
        ),
        ({"due_day_offset": 2}, r"rule 'x': due_day_offset must be 0 \(same day\) or 1"),
        (
            {
                "deadline": "daily_cutoff",
                "cutoff_time": "17:00",
                "due_time": "12:00",
                "clock": "business",
            },
            r"rule 'x': deadline daily_cutoff .* use clock: calendar",
        ),
        (
            {
                "deadline": "daily_cutoff",
                "cutoff_time": "17:00",
                "due_time": "12:00",
                "chatbot_weekend_deadline": True,
            },
            r"rule 'x': chatbot_weekend_deadline .* does not combine",
        ),
        ({"exclusions": {"public_holidays"}}, r"unknown exclusion\(s\) \['public_holidays'\]"),
    ],
)
def test_a_bad_setting_names_the_rule_and_the_field(changes, message):
    with pytest.raises(RuleError, match=message):
        NEW_12H.replace(name="x", **changes)


def test_the_new_fields_round_trip_through_yaml_and_are_described():
    rule = CUTOFF.replace(counted_unit="first_chat", exclusions=frozenset(EXCLUSIONS))
    assert Rule.from_yaml(rule.to_yaml()) == rule
    text = rule.describe()
    assert "received before 17:00 local, answered by 02:30 the next day" in text
    assert "first chat of each conversation only" in text and "public_holiday" in text
    assert "every buyer message counted" in PLAIN.replace(counted_unit="message").describe()
    # the built-in rules keep their exclusions: the new reasons are switched on per rule
    assert NEW_12H.exclusions == DEFAULT_EXCLUSIONS
    assert {"public_holiday", "no_response_needed"} <= set(EXCLUSIONS) - DEFAULT_EXCLUSIONS


# --- counted unit --------------------------------------------------------------------------


def test_every_buyer_message_is_a_unit_due_from_its_own_time():
    # two buyer messages one hour apart, one answer 13 h after the first: the first is
    # late (13 h > 12 h), the second in time (12 h); the next chat is unanswered
    log = log_with(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(1), "buyer"),
            ("a", at(13), "seller"),
            ("a", at(14), "buyer"),
            ("a", at(40), "seller", "system"),
        )
    )
    chats = judged(log, PLAIN.replace(counted_unit="message"))
    assert chats["chat_seq"].to_list() == [1, 2, 3]
    assert chats["open_at"].to_list() == [at(0), at(1), at(14)]
    assert chats["response_s"].to_list() == [13 * 3600.0, 12 * 3600.0, None]
    assert chats["status"].cast(str).to_list() == [
        "answered_late",
        "answered_in_time",
        "unanswered",
    ]
    shop = compare(log, [PLAIN.replace(counted_unit="message")]).shops.row(0, named=True)
    assert (shop["counted"], shop["answered_in_time"], shop["response_rate"]) == (3, 1, 1 / 3)


def test_only_the_first_chat_of_a_conversation_counts():
    log = log_with(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(20), "seller"),
            ("a", at(30), "buyer"),
            ("a", at(31), "seller"),
            ("b", at(1), "buyer"),
            ("b", at(2), "seller"),
        )
    )
    plain = compare(log, [PLAIN]).shops.row(0, named=True)
    first = judged(log, PLAIN.replace(counted_unit="first_chat"))
    assert plain["chats"] == 3 and plain["answered_in_time"] == 2
    assert first[["conversation_id", "chat_seq"]].rows() == [("a", 1), ("b", 1)]
    assert first["status"].cast(str).to_list() == ["answered_late", "answered_in_time"]


# --- daily cut-off -------------------------------------------------------------------------


def test_a_cut_off_cycle_across_midnight_and_the_spring_dst_change():
    # Europe/Berlin moves from 02:00 CET to 03:00 CEST on 30 March 2025. Cut-off 17:00,
    # due 02:30 the next day:
    # * 29 Mar 16:00 local (before the cut-off): due 30 Mar 02:30, a time that does not
    #   exist: the moment the clocks jump, 01:00 UTC; answered 00:59 UTC in time;
    # * 29 Mar 18:00 local (after it): due 31 Mar 02:30 CEST = 00:30 UTC;
    # * 1 Mar 23:59 local, just before midnight and after the cut-off: due 3 Mar 02:30 CET.
    t = dt.datetime
    log = log_with(
        msgs(
            ("a", t(2025, 3, 29, 15, tzinfo=UTC), "buyer"),
            ("a", t(2025, 3, 30, 0, 59, tzinfo=UTC), "seller"),
            ("b", t(2025, 3, 29, 17, tzinfo=UTC), "buyer"),
            ("c", t(2025, 3, 1, 22, 59, tzinfo=UTC), "buyer"),
        ),
        shops=[{"shop_id": "s1", "timezone": "Europe/Berlin"}],
    )
    chats = judged(log, CUTOFF, as_of=t(2025, 3, 31, tzinfo=UTC))
    assert chats["deadline"].to_list() == [
        t(2025, 3, 30, 1, tzinfo=UTC),
        t(2025, 3, 31, 0, 30, tzinfo=UTC),
        t(2025, 3, 3, 1, 30, tzinfo=UTC),
    ]
    assert chats["status"].cast(str).to_list() == ["answered_in_time", "pending", "unanswered"]


def test_a_cut_off_cycle_on_the_autumn_dst_change_takes_the_first_pass():
    # America/New_York repeats 01:00-02:00 on 2 November 2025: due 01:30 is 05:30 UTC
    # (EDT), not 06:30 (EST). Received 1 Nov 10:00 EDT, before the 12:00 cut-off, due the
    # next day; received exactly at the cut-off: due a day later (3 Nov 01:30 EST).
    rule = PLAIN.replace(deadline="daily_cutoff", cutoff_time="12:00", due_time="01:30")
    t = dt.datetime
    log = log_with(
        msgs(
            ("a", t(2025, 11, 1, 14, tzinfo=UTC), "buyer"),
            ("b", t(2025, 11, 1, 16, tzinfo=UTC), "buyer"),
        ),
        shops=[{"shop_id": "s1", "timezone": "America/New_York"}],
    )
    chats = judged(log, rule, as_of=t(2025, 11, 5, tzinfo=UTC))
    assert chats["deadline"].to_list() == [
        t(2025, 11, 2, 5, 30, tzinfo=UTC),
        t(2025, 11, 3, 6, 30, tzinfo=UTC),
    ]


def test_a_same_day_cycle():
    # cut-off 15:00, due 23:59 the same day (Asia/Ho_Chi_Minh, UTC+7)
    rule = PLAIN.replace(
        deadline="daily_cutoff", cutoff_time="15:00", due_time="23:59", due_day_offset=0
    )
    log = log_with(
        msgs(("a", at(0), "buyer"), ("b", at(7), "buyer")),  # 16:00 and 23:00 local
        shops=[{"shop_id": "s1", "timezone": "Asia/Ho_Chi_Minh"}],
    )
    chats = judged(log, rule, as_of=at(days=3))
    # 16:00 local is after the cut-off: due 23:59 the next day (16:59 UTC)
    day = dt.datetime(2025, 8, 5, 16, 59, tzinfo=UTC)
    assert chats["deadline"].to_list() == [day, day]


# --- exclusions ----------------------------------------------------------------------------


def test_chats_received_on_a_public_holiday_of_the_shops_country_are_excluded():
    # 3 October is German Unity Day: 2 Oct 23:30 UTC is 3 Oct 01:30 in Berlin (excluded),
    # 3 Oct 22:30 UTC is 4 Oct 00:30 (counted); a shop without a country has none
    t = dt.datetime
    rows = msgs(
        ("a", t(2025, 10, 2, 23, 30, tzinfo=UTC), "buyer"),
        ("b", t(2025, 10, 3, 22, 30, tzinfo=UTC), "buyer"),
    )
    rows += msgs(("c", t(2025, 10, 3, 12, tzinfo=UTC), "buyer"), shop="s2")
    for i, r in enumerate(rows):
        r["message_id"] = i + 1
    shops = [
        {"shop_id": "s1", "timezone": "Europe/Berlin", "country": "DE"},
        {"shop_id": "s2", "timezone": "Europe/Berlin", "country": None},
    ]
    log = log_with(rows, shops=shops)
    rule = PLAIN.replace(exclusions=DEFAULT_EXCLUSIONS | {"public_holiday"})
    chats = judged(log, rule, as_of=t(2025, 10, 6, tzinfo=UTC))
    assert chats["excluded_reason"].cast(str).to_list() == ["public_holiday", None, None]
    shops_t = compare(log, [rule], as_of=t(2025, 10, 6, tzinfo=UTC)).shops
    assert shops_t["excluded_public_holiday"].to_list() == [1, 0]
    # off in the plain rule
    assert compare(log, [PLAIN]).chats["excluded_reason"].null_count() == 3


def test_public_holidays_need_known_country_codes_and_warn_without_a_country_column():
    rows = msgs(("a", at(0), "buyer"))
    rule = PLAIN.replace(exclusions=DEFAULT_EXCLUSIONS | {"public_holiday"})
    bad = log_with(rows, shops=[{"shop_id": "s1", "timezone": "UTC", "country": "Germany"}])
    with pytest.raises(SchemaError, match=r"column 'country': 1 shop\(s\) .* \['Germany'\]"):
        compare(bad, [rule])
    with pytest.warns(ChatsimWarning, match=r"no 'country' column.*\['plain'\]"):
        ev = compare(log_with(rows), [rule])
    assert ev.chats["excluded_reason"].null_count() == 1


def test_an_empty_country_means_no_public_holidays_as_the_error_says():
    # 2025-09-01 is a public holiday in VN: the VN shop's chat is excluded, the chat of the
    # shop with an empty country is counted
    day = at(days=28)  # Monday 2025-09-01 09:00 UTC
    rows = msgs(("a", day, "buyer"), ("b", day, "buyer", "text", {"shop": "s2"}))
    rule = PLAIN.replace(exclusions=DEFAULT_EXCLUSIONS | {"public_holiday"})
    shops = [
        {"shop_id": "s1", "timezone": "UTC", "country": "VN"},
        {"shop_id": "s2", "timezone": "UTC", "country": ""},
    ]
    ev = compare(log_with(rows, shops=shops), [rule], as_of=at(days=30))
    got = ev.shops.sort("shop_id")
    assert got["excluded_public_holiday"].to_list() == [1, 0]
    assert got["counted"].to_list() == [0, 1]


def test_a_chat_whose_buyer_messages_all_need_no_response_is_excluded():
    log = log_with(
        msgs(
            ("a", at(0), "buyer"),
            ("a", at(1), "buyer"),  # both marked: excluded
            ("b", at(0), "buyer"),
            ("b", at(1), "buyer"),
        ),  # one marked: counted
        no_reply=[True, True, True, False],
    )
    rule = PLAIN.replace(exclusions=DEFAULT_EXCLUSIONS | {"no_response_needed"})
    chats = judged(log, rule, as_of=at(days=2))
    assert chats["excluded_reason"].cast(str).to_list() == ["no_response_needed", None]
    assert compare(log, [rule], as_of=at(days=2)).shops["excluded_no_response_needed"].item() == 1
    # per message: the marked messages are excluded, the other one counts
    units = judged(log, rule.replace(counted_unit="message"), as_of=at(days=2))
    assert units["excluded_reason"].cast(str).to_list() == [
        "no_response_needed",
        "no_response_needed",
        "no_response_needed",
        None,
    ]
    # the plain rule does not read the mark
    assert compare(log, [PLAIN], as_of=at(days=2)).shops["excluded_no_response_needed"].item() == 0


# --- stars ---------------------------------------------------------------------------------


def test_a_chat_carries_the_stars_of_its_latest_rating():
    rows = msgs(
        ("a", at(0), "buyer"),
        ("a", at(1), "seller"),
        ("a", at(2), "buyer", "text", {"rating": "satisfied"}),
        ("a", at(3), "buyer", "text", {"rating": "unsatisfied"}),
        ("b", at(0), "buyer"),
        ("b", at(1), "seller"),
        ("b", at(2), "buyer"),
    )
    log = log_with(rows, stars=[None, None, 5, None, None, None, 2])
    chats = judged(log, PLAIN)
    # a: the latest rating had no stars; b: stars with no rating are a rating event,
    # unsatisfied (1-3 stars)
    assert chats["stars"].to_list() == [None, 2]
    assert chats["rating"].cast(str).to_list() == ["unsatisfied", "unsatisfied"]
    assert log.messages["rating"].cast(str).to_list()[-1] == "unsatisfied"


@pytest.mark.parametrize(
    ("stars", "message"),
    [
        ([0, 6], r"x.csv: column 'stars': 2 row\(s\) hold values outside 1-5 \(e.g. \[0, 6\]\)"),
        (["4", "four"], r"x.csv: column 'stars': 1 row\(s\) are not whole numbers .*'four'"),
        ([4.5, 1.0], r"x.csv: column 'stars' has type Float64; expected whole numbers from 1"),
    ],
)
def test_bad_stars_are_named(stars, message):
    df = raw_messages(msgs(("a", at(0), "buyer"), ("a", at(1), "buyer"))).with_columns(
        pl.Series("stars", stars)
    )
    with pytest.raises(SchemaError, match=message):
        ChatLog.from_frames(df, source="x.csv", sources={"messages": "x.csv"})


def test_the_optional_columns_read_from_csv(tmp_path):
    log = log_with(
        msgs(("a", at(0), "buyer"), ("a", at(1), "seller")), no_reply=[True, False], stars=[None, 4]
    )
    write_log(log, tmp_path / "log", fmt="csv")
    back = read_log(tmp_path / "log")
    assert back.messages["stars"].dtype == pl.Int8
    assert back.messages.select("no_response_needed", "stars").equals(
        log.messages.select("no_response_needed", "stars")
    )


# --- every engine --------------------------------------------------------------------------


def featured_log(n: int, seed: int) -> ChatLog:
    """A synthetic log with every optional column: countries from the shops' zones,
    some buyer messages marked no-response-needed, stars on most ratings."""
    from tests.support.synthetic import synthetic_log

    log = synthetic_log(n, seed=seed, n_shops=30)
    rng = np.random.default_rng(seed)
    m = log.messages
    country = {
        "Asia/Jakarta": "ID",
        "Asia/Ho_Chi_Minh": "VN",
        "Asia/Manila": "PH",
        "Asia/Kolkata": "IN",
        "Europe/Paris": "FR",
        "America/New_York": "US",
        "America/Sao_Paulo": "BR",
    }
    rated = m["rating"].is_not_null().to_numpy()
    stars = np.where(rated & (rng.random(m.height) < 0.8), rng.integers(1, 6, m.height), 0)
    messages = m.with_columns(
        pl.Series("no_response_needed", rng.random(m.height) < 0.15),
        pl.Series("stars", stars).replace(0, None),
    )
    shops = log.shops.with_columns(
        pl.col("timezone").replace_strict(country, default=None).alias("country")
    )
    return ChatLog.from_frames(messages, shops, log.holiday_mode, log.blocked)


@pytest.mark.parametrize("seed", [0, 2])
def test_every_polars_form_and_the_pandas_reference_agree(seed, every_feature_rules):
    log = featured_log(15_000, seed)
    got = compare(log, every_feature_rules)
    for window in (GlobalOrder(), PerConversation()):
        other = compare(log, every_feature_rules, window=window)
        assert got.chats.equals(other.chats) and got.shops.equals(other.shops)
    want = pandas_compare(log, every_feature_rules)
    cols = [c for c in SHOP_COLUMNS if c in want.columns]
    mine = got.shops.to_pandas()[cols].assign(shop_id=lambda d: d["shop_id"].astype(str))
    theirs = want[cols].assign(shop_id=lambda d: d["shop_id"].astype(str))
    key = ["rule", "shop_id"]
    import pandas as pd

    pd.testing.assert_frame_equal(
        theirs.sort_values(key, ignore_index=True),
        mine.sort_values(key, ignore_index=True),
        check_dtype=False,
        rtol=1e-9,
    )
    # the features had something to do
    totals = got.shops.group_by("rule").agg(
        pl.col("excluded_public_holiday", "excluded_no_response_needed").sum()
    )
    per = {r: (h, n) for r, h, n in totals.rows()}
    assert per["first-chat-holidays"][0] > 0 and per["per-message"][1] > 0
    assert got.chats["stars"].is_not_null().any()


def test_the_buckets_engine_agrees(tmp_path, every_feature_rules):
    log = featured_log(8_000, 1)
    write_log(log, tmp_path / "log")
    want = compare(tmp_path / "log", every_feature_rules).shops.sort("rule", "shop_id")
    got = compare(
        tmp_path / "log", every_feature_rules, engine="buckets", buckets=3, progress=False
    )
    assert got.shops.sort("rule", "shop_id").equals(want)


def test_spark_names_what_it_does_not_run():
    from chatsim.spark import compare_spark

    with pytest.raises(
        EngineError,
        match=r"'cutoff': the daily_cutoff deadline is not supported "
        r"on the spark engine; use the polars engine",
    ):
        compare_spark("no/such/log", [CUTOFF])


# --- switched off: the plain rule ----------------------------------------------------------

PROPS = settings(
    max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPS
@given(random_logs(grid=True), st.sampled_from(["exclude_resolved", "count_as_answer", "ignore"]))
def test_the_features_switched_off_give_the_plain_rule(rows, auto):
    """The new exclusions with nothing to exclude (no country, no marks), and the counted
    units where every conversation has one chat of one buyer message, equal the plain
    rule's shop table."""
    plain = PLAIN.replace(auto_reply=auto)
    log = log_with(
        rows,
        no_reply=[False] * len(rows),
        stars=[None] * len(rows),
        shops=[{"shop_id": s, "timezone": "Asia/Jakarta", "country": None} for s in ("s0", "s1")],
    )
    off = plain.replace(name="off", exclusions=frozenset(EXCLUSIONS))
    want = compare(log, [plain]).shops.drop("rule")
    assert compare(log, [off]).shops.drop("rule").equals(want)
    # one buyer message per conversation: one chat of one unit each
    first = log.messages.filter(pl.col("sender") != "buyer").vstack(
        log.messages.filter(pl.col("sender") == "buyer").unique("conversation_id", keep="first")
    )
    single = ChatLog.from_frames(first, log.shops)
    want = compare(single, [plain]).shops.drop("rule")
    for unit in ("first_chat", "message"):
        got = compare(single, [plain.replace(name=unit, counted_unit=unit)])
        assert got.shops.drop("rule").equals(want), unit
