"""What a rule measures (chatsim/rulekinds.py, chatsim/engine/rates.py): the blended and
late-share rate kinds, the average-response-time and satisfaction metrics, hand-worked;
their checks, YAML and sentences; the same figures on every engine."""

from __future__ import annotations

import polars as pl
import pytest

from chatsim.errors import RuleError
from chatsim.metrics import compare
from chatsim.rulekinds import MEASURES, lower_is_better
from chatsim.rules import AVG_RESPONSE_TIME, CHAT_SATISFACTION, NEW_12H, Rule, resolve_rule
from chatsim.sample import sample_log
from tests.logbuilder import at, log_of, msgs, raw_messages

# -- the blended rate and the late share ------------------------------------------------
# eight chats, one per conversation, opened a day apart (c6 and c7 at the same instant);
# c1-c6 answered after 1 h, c7 and c8 never: 6 of 8 in time; cutoff 13 h after c8 opened
OPEN_DAY = {"c1": 0, "c2": 1, "c3": 2, "c4": 3, "c5": 4, "c6": 5, "c7": 5, "c8": 6}
AS_OF = at(days=6, hours=13)


def eight_chats():
    rows = []
    for conv, day in OPEN_DAY.items():
        rows.append((conv, at(days=day), "buyer"))
        if conv not in ("c7", "c8"):
            rows.append((conv, at(days=day, hours=1), "seller"))
    return log_of(msgs(*rows))


def shop_row(log, rule, as_of=AS_OF, shop="s1"):
    shops = compare(log, [rule], as_of=as_of).shops
    return shops.filter(pl.col("shop_id") == shop).row(0, named=True)


def blended(**kw):
    return NEW_12H.replace(name="blend", rate_kind="blended", **kw)


@pytest.mark.parametrize(
    ("settings", "want"),
    [
        # k = ceil(0.25 x 8) = 2: the newest chat c8 and, tied at the 2nd newest opening,
        # both c6 and c7: 1 of 3 in time; 0.5 x 6/8 + 0.5 x 1/3
        ({}, 0.5 * 0.75 + 0.5 * (1 / 3)),
        # k = ceil(0.8) = 1: c8 alone, 0 in time
        ({"recent_fraction": 0.1}, 0.5 * 0.75),
        # k = 4: c8, c7, c6, c5: 2 of 4
        ({"recent_fraction": 0.5}, 0.5 * 0.75 + 0.5 * 0.5),
        # every chat is recent: the plain share whatever the weight
        ({"recent_fraction": 1.0, "blend_weight": 0.2}, 0.75),
        # the weights: the period alone, the recent chats alone
        ({"blend_weight": 1.0}, 0.75),
        ({"blend_weight": 0.0}, 1 / 3),
        ({"blend_weight": 0.3}, 0.3 * 0.75 + 0.7 * (1 / 3)),
    ],
)
def test_blended_rate_hand_worked(settings, want):
    row = shop_row(eight_chats(), blended(**settings))
    assert row["rule_value"] == pytest.approx(want, abs=1e-15)
    assert row["rule_measure"] == "blended_response_rate"
    # the shop table's own columns keep their meaning: the period's share
    assert (row["counted"], row["answered_in_time"], row["response_rate"]) == (8, 6, 0.75)
    assert row["meets_target"] == (want > 0.85) and row["confidence"] is None


def test_blended_recent_count_is_not_fooled_by_floating_point():
    """0.1 x 30 is 3.0000000000000004 in floating point: still 3 recent chats. The 4th
    newest chat is the only one of the newest four answered in time."""
    rows = []
    for i in range(30):
        rows.append((f"c{i:02d}", at(hours=i), "buyer"))
        if i < 27:
            rows.append((f"c{i:02d}", at(hours=i + 0.5), "seller"))
    log = log_of(msgs(*rows))
    row = shop_row(log, blended(recent_fraction=0.1, blend_weight=0.0), as_of=at(hours=60))
    # newest three (c27, c28, c29) unanswered: 0; with four (c26 answered) it would be 1/4
    assert row["counted"] == 30 and row["rule_value"] == 0.0


def test_blended_minimum_and_default_rate():
    row = shop_row(eight_chats(), blended(min_chats=9, default_rate=0.57))
    assert row["rule_value"] == 0.57 and row["confidence"] == "too_few_chats"
    # the response rate column is the shop's own share's: no default for a blended rule
    assert row["response_rate"] is None and row["tier"] == "below_target"


def late(**kw):
    base = {"target": 0.2, "target_comparison": "at_most"}
    return NEW_12H.replace(name="late", rate_kind="late_share", **{**base, **kw})


def test_late_share_hand_worked_and_read_as_a_maximum():
    log = eight_chats()
    row = shop_row(log, late())
    # 2 of 8 late or unanswered; 25 % is above a 20 % maximum
    assert row["rule_value"] == 0.25 and row["rule_measure"] == "late_share"
    assert row["meets_target"] is False and row["tier"] == "below_target"
    # Wilson interval of 2/8: about 7-59 %, across 20 %
    assert row["confidence"] == "too_close_to_call"
    # the target itself passes; tiers are strictly above their boundaries
    assert shop_row(log, late(target=0.25))["meets_target"] is True
    tiers = late(warning_below=0.2, enforcement_below=0.25)
    assert shop_row(log, tiers)["tier"] == "warning"
    assert shop_row(log, late(warning_below=0.1, enforcement_below=0.2))["tier"] == "enforcement"
    clear = late(target=0.95)
    assert shop_row(log, clear)["confidence"] == "clear_pass"


def test_late_share_minimum_and_default_rate():
    row = shop_row(eight_chats(), late(min_chats=10, default_rate=0.1))
    assert (row["rule_value"], row["meets_target"], row["tier"]) == (0.1, True, "meets")
    assert row["confidence"] == "too_few_chats" and row["response_rate"] is None
    row = shop_row(eight_chats(), late(min_chats=10))
    assert (row["rule_value"], row["meets_target"], row["tier"]) == (None, None, None)


def test_rule_meets_and_tier_agree_with_the_shop_table():
    rule = late(warning_below=0.3, enforcement_below=0.5)
    assert [rule.tier(v) for v in (0.1, 0.2, 0.25, 0.3, 0.31, 0.5, 0.6)] == [
        "meets",
        "meets",
        "below_target",
        "below_target",
        "warning",
        "warning",
        "enforcement",
    ]
    assert lower_is_better(rule) and not lower_is_better(NEW_12H)


# -- average response time ---------------------------------------------------------------


def timed_chats():
    """s1: answered after 1 h, 2 h, 14 h (late: still a response time), a chat given an
    automatic reply after 0.5 h and a human answer after 4 h, one unanswered, one
    pending; s2: one unanswered chat only."""
    rows = msgs(
        ("c1", at(0), "buyer"),
        ("c1", at(1), "seller"),
        ("c2", at(0), "buyer"),
        ("c2", at(2), "seller"),
        ("c3", at(0), "buyer"),
        ("c3", at(14), "seller"),
        ("c4", at(0), "buyer"),
        ("c5", at(0), "buyer"),
        ("c5", at(0.5), "auto"),
        ("c5", at(4), "seller"),
        ("c6", at(30), "buyer"),
    )
    other = msgs(("d1", at(0), "buyer"), shop="s2")
    for i, r in enumerate(other):
        r["message_id"] = 100 + i
    return log_of(rows + other)


TIMED_AS_OF = at(31)


@pytest.mark.parametrize(
    ("settings", "want", "meets"),
    [
        # automatic replies excluded: 1, 2, 14, 4 h
        ({}, (1 + 2 + 14 + 4) / 4, False),
        ({"time_statistic": "median"}, 3.0, False),
        ({"time_statistic": "median", "target": 3.0}, 3.0, True),
        # automatic replies count: the 0.5 h reply answers c5
        ({"auto_reply": "count_as_answer"}, (1 + 2 + 14 + 0.5) / 4, False),
        ({"auto_reply": "count_as_answer", "time_statistic": "median"}, 1.5, True),
    ],
)
def test_average_response_time_hand_worked(settings, want, meets):
    rule = AVG_RESPONSE_TIME.replace(**settings)
    row = shop_row(timed_chats(), rule, as_of=TIMED_AS_OF)
    assert row["rule_value"] == pytest.approx(want, abs=1e-12)
    assert row["meets_target"] is meets and row["tier"] == ("meets" if meets else "below_target")
    assert row["rule_measure"] == f"{rule.time_statistic}_response_hours"
    # the unanswered chat is counted but has no time; the pending one is neither
    assert (row["counted"], row["pending"]) == (5, 1)
    assert row["confidence"] is None  # no interval for a time


def test_average_response_time_of_a_shop_without_answers_is_no_value():
    row = shop_row(timed_chats(), AVG_RESPONSE_TIME, as_of=TIMED_AS_OF, shop="s2")
    assert (row["counted"], row["rule_value"], row["meets_target"]) == (1, None, None)
    assert row["tier"] is None and row["confidence"] == "no_chats"


def test_average_response_time_minimum_counts_answered_chats():
    rule = AVG_RESPONSE_TIME.replace(min_chats=5)  # s1 has 4 answered counted chats
    row = shop_row(timed_chats(), rule, as_of=TIMED_AS_OF)
    assert (row["rule_value"], row["confidence"]) == (None, "too_few_chats")


# -- satisfaction --------------------------------------------------------------------------


def rated_chats(stars: bool):
    """s1: six answered chats, c1-c3 rated satisfied, c4 unsatisfied, c5-c6 unrated, and a
    pending chat; with ``stars``: c1 5, c2 4, c3 3 stars (coarse: satisfied), c4 1.
    s2: two chats, one rated satisfied, coarse ratings only."""
    rows, stars_of = [], {"c1": 5, "c2": 4, "c3": 3, "c4": 1}
    for i in range(1, 7):
        c = f"c{i}"
        rows += [(c, at(i), "buyer"), (c, at(i + 1), "seller")]
        if i <= 4:
            rating = "satisfied" if i <= 3 else "unsatisfied"
            rows.append((c, at(i + 2), "buyer", "text", {"rating": rating}))
    rows.append(("c7", at(40), "buyer"))
    data = msgs(*rows)
    other = msgs(
        ("d1", at(0), "buyer"),
        ("d1", at(1), "seller"),
        ("d1", at(2), "buyer", "text", {"rating": "satisfied"}),
        ("d2", at(3), "buyer"),
        ("d2", at(4), "seller"),
        shop="s2",
    )
    for i, r in enumerate(other):
        r["message_id"] = 100 + i
    frame = raw_messages(data + other)
    if stars:
        conv_stars = pl.col("conversation_id").replace_strict(stars_of, default=None)
        frame = frame.with_columns(
            stars=pl.when(pl.col("rating").is_not_null()).then(conv_stars).cast(pl.Int64)
        )
    from chatsim.schema import ChatLog

    return ChatLog.from_frames(frame)


RATED_AS_OF = at(41)


@pytest.mark.parametrize(
    ("stars", "base", "want", "measure"),
    [
        (False, "rated", 3 / 4, "satisfaction_coarse"),
        # received: the six counted chats and the pending one
        (False, "received", 3 / 7, "satisfaction_coarse"),
        # 4-5 stars: c1 and c2 (c3's 3 stars do not count, though coarse "satisfied")
        (True, "rated", 2 / 4, "satisfaction_stars"),
        (True, "received", 2 / 7, "satisfaction_stars"),
    ],
)
def test_satisfaction_rate_hand_worked(stars, base, want, measure):
    rule = CHAT_SATISFACTION.replace(satisfaction_base=base)
    log = rated_chats(stars)
    row = shop_row(log, rule, as_of=RATED_AS_OF)
    assert row["rule_value"] == pytest.approx(want, abs=1e-15)
    assert row["rule_measure"] == measure
    # the shop table's satisfaction rate stays the coarse satisfied / rated
    assert row["satisfaction_rate"] == 0.75
    assert row["meets_target"] is (want >= CHAT_SATISFACTION.target)
    # a shop with coarse ratings only is read on them, and says so
    other = shop_row(log, rule, as_of=RATED_AS_OF, shop="s2")
    assert other["rule_measure"] == "satisfaction_coarse"
    assert other["rule_value"] == (1.0 if base == "rated" else 0.5)


def test_satisfaction_minimum_and_default_rate():
    rule = CHAT_SATISFACTION.replace(min_chats=5, default_rate=0.9)
    row = shop_row(rated_chats(False), rule, as_of=RATED_AS_OF)  # 4 rated chats
    assert (row["rule_value"], row["meets_target"], row["confidence"]) == (
        0.9,
        True,
        "too_few_chats",
    )


# -- the rules: checks, files, sentences -----------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"metric": "speed"}, "rule 'x': metric 'speed' is not one of"),
        ({"rate_kind": "mean"}, "rule 'x': rate_kind 'mean' is not one of"),
        ({"rate_kind": "blended", "blend_weight": 1.5}, "rule 'x': blend_weight"),
        ({"rate_kind": "blended", "recent_fraction": 0}, r"recent_fraction must be in \(0, 1\]"),
        ({"rate_kind": "late_share", "target": 0.1}, "late_share target is a maximum"),
        ({"target_comparison": "at_most"}, "at_most is for a figure where lower is better"),
        (
            {"metric": "average_response_time", "target": 2},
            "average_response_time target is a maximum",
        ),
        (
            {"metric": "average_response_time", "target": 0, "target_comparison": "at_most"},
            r"target \(hours\)",
        ),
        (
            {
                "metric": "average_response_time",
                "target": 2,
                "target_comparison": "at_most",
                "rate_kind": "blended",
            },
            "rate_kind 'blended' applies to the response_rate metric only",
        ),
        (
            {
                "metric": "average_response_time",
                "target": 2,
                "target_comparison": "at_most",
                "min_chats": 2,
                "default_rate": 0.5,
            },
            "has no default figure",
        ),
        (
            {
                "rate_kind": "late_share",
                "target": 0.1,
                "target_comparison": "at_most",
                "warning_below": 0.3,
                "enforcement_below": 0.2,
            },
            "enforcement_below must not be under warning_below",
        ),
        ({"time_statistic": "mode"}, "time_statistic 'mode'"),
        ({"satisfaction_base": "all"}, "satisfaction_base 'all'"),
    ],
)
def test_bad_settings_are_named(changes, match):
    with pytest.raises(RuleError, match=match):
        NEW_12H.replace(name="x", **changes)


def test_a_response_time_target_is_in_hours():
    rule = AVG_RESPONSE_TIME.replace(target=36, warning_below=48, enforcement_below=72)
    assert rule.target == 36.0 and rule.tier(50) == "warning" and rule.tier(80) == "enforcement"


@pytest.mark.parametrize(
    "rule",
    [
        blended(blend_weight=0.4, recent_fraction=0.3, min_chats=2, default_rate=0.57),
        late(warning_below=0.25, enforcement_below=0.4),
        AVG_RESPONSE_TIME,
        AVG_RESPONSE_TIME.replace(time_statistic="median", auto_reply="count_as_answer"),
        CHAT_SATISFACTION.replace(satisfaction_base="received"),
    ],
)
def test_yaml_round_trip(rule, tmp_path):
    path = tmp_path / "r.yaml"
    rule.to_yaml(path)
    assert Rule.from_yaml(path) == rule


def test_settings_from_a_file_read_percentages():
    r = Rule.from_dict(
        {"base": "new-12h", "name": "b", "rate_kind": "blended", "recent_fraction": "25%"}
    )
    assert r.recent_fraction == 0.25 and isinstance(r.blend_weight, float)


def test_describe_says_what_is_measured_and_which_way():
    assert "blended 40% period + 60% most recent 30% of chats" in (
        blended(blend_weight=0.4, recent_fraction=0.3).describe()
    )
    text = late(warning_below=0.25).describe()
    assert "share late or unanswered" in text and "target at most 20%" in text
    assert "warning above 25%" in text
    assert "mean response time" in AVG_RESPONSE_TIME.describe()
    assert "target at most 2 h" in AVG_RESPONSE_TIME.describe()
    assert (
        "over chats received" in CHAT_SATISFACTION.replace(satisfaction_base="received").describe()
    )


def test_the_coming_rules_are_built_in_and_undated():
    for name in ("avg-response-time", "chat-satisfaction"):
        rule = resolve_rule(name)
        assert rule.effective_from is None and rule.visible_from is None
        assert rule.boosts_store_rating and rule.period_days == NEW_12H.period_days
    assert AVG_RESPONSE_TIME.target == 2.0 and AVG_RESPONSE_TIME.target_comparison == "at_most"


def test_defaults_keep_todays_figures():
    """A rule with the new settings at their defaults is today's rule: its figure is the
    response rate, and the shop table's other columns are unchanged."""
    ev = compare(sample_log(), [NEW_12H])
    again = NEW_12H.replace(
        metric="response_rate", rate_kind="share", blend_weight=0.5, recent_fraction=0.25
    )
    assert again == NEW_12H
    shops = ev.shops
    assert shops["rule_value"].equals(shops["response_rate"])
    assert set(shops["rule_measure"]) == {"response_rate"} <= set(MEASURES)


# -- every engine ------------------------------------------------------------------------------


def test_buckets_give_the_same_figures(tmp_path):
    from chatsim.schema import write_log

    log = eight_chats()
    path = tmp_path / "log"
    write_log(log, path)
    rules = [blended(), late(), AVG_RESPONSE_TIME, CHAT_SATISFACTION]
    want = compare(log, rules, as_of=AS_OF).shops.sort("rule", "shop_id")
    got = compare(path, rules, as_of=AS_OF, engine="buckets", work_dir=tmp_path, progress=False)
    from polars.testing import assert_frame_equal

    assert_frame_equal(got.shops.sort("rule", "shop_id"), want, check_dtypes=False)


def test_shop_tables_alone_give_the_same_figures():
    """``chats=False`` (sweeps, what-ifs, the buckets engine) reads the same chat columns,
    ``stars`` included."""
    rules = [blended(), late(), AVG_RESPONSE_TIME, CHAT_SATISFACTION]
    log = rated_chats(True)
    want = compare(log, rules, as_of=RATED_AS_OF).shops
    got = compare(log, rules, as_of=RATED_AS_OF, chats=False).shops
    assert got.equals(want)


def test_pandas_reference_reads_stars_the_same_way():
    """The reference (tests/support/pandas_reference.py) on a log with stars: every shop's
    figure, measure, standing and confidence as chatsim's."""
    from tests.support.pandas_reference import pandas_compare

    rules = [
        CHAT_SATISFACTION,
        CHAT_SATISFACTION.replace(name="recv", satisfaction_base="received"),
    ]
    cols = ["rule", "shop_id", "rule_value", "rule_measure", "meets_target", "tier", "confidence"]
    log = rated_chats(True)
    want = compare(log, rules, as_of=RATED_AS_OF).shops.select(cols).sort("rule", "shop_id")
    got = pl.from_pandas(pandas_compare(log, rules, as_of=RATED_AS_OF)[cols]).sort(
        "rule", "shop_id"
    )
    assert got.rows() == want.rows()


def test_average_response_time_per_buyer_message():
    """A chat of two buyer messages (0 h, 1 h) answered at 3 h: 3 h per chat; per buyer
    message (``counted_unit: message``) 3 h and 2 h, 2.5 h on average."""
    log = log_of(msgs(("c1", at(0), "buyer"), ("c1", at(1), "buyer"), ("c1", at(3), "seller")))
    per_chat = shop_row(log, AVG_RESPONSE_TIME, as_of=at(20))
    per_message = shop_row(log, AVG_RESPONSE_TIME.replace(counted_unit="message"), as_of=at(20))
    assert (per_chat["counted"], per_chat["rule_value"]) == (1, 3.0)
    assert (per_message["counted"], per_message["rule_value"]) == (2, 2.5)


def test_summary_counts_shops_on_the_rules_own_figure():
    ev = compare(timed_chats(), [NEW_12H, AVG_RESPONSE_TIME], as_of=TIMED_AS_OF)
    s = {r["rule"]: r for r in ev.summary().iter_rows(named=True)}
    # s2 has a response rate (0 of 1) but no response time
    assert (s["new-12h"]["shops_rated"], s["avg-response-time"]["shops_rated"]) == (2, 1)
    assert s["avg-response-time"]["metric"] == "average_response_time"
    assert s["avg-response-time"]["share_meeting_target"] == 0.0
