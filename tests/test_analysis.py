"""Flips, pass rates, sweeps and what-ifs."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatsim.analysis import (
    FLIPS,
    flip_counts,
    flips,
    losers_table,
    pass_rates,
    pick_drilldown_shop,
    summary_table,
    sweep,
    timed_rule,
    what_if,
    window_rates,
    window_rates_of,
    window_rules,
)
from chatsim.errors import RuleError
from chatsim.metrics import compare
from chatsim.rules import AVG_RESPONSE_TIME, LEGACY_24H, NEW_12H
from chatsim.sample import sample_log
from chatsim.scenario import Scenario
from tests.logbuilder import at, log_of, msgs


def four_shops():
    """Shop a: 2 h answers (passes both); b: 13 h (passes 24 h, fails 12 h); c: 30 h (fails both);
    d: only seller threads (not rated)."""
    rows = []
    for shop, delay in (("a", 2), ("b", 13), ("c", 30)):
        for i in range(3):
            rows += [
                (f"{shop}{i}", at(days=i), "buyer", "text", {"shop": shop}),
                (f"{shop}{i}", at(days=i, hours=delay), "seller", "text", {"shop": shop}),
            ]
    rows.append(("d0", at(0), "seller", "text", {"shop": "d"}))
    rows.append(("z", at(days=20), "seller", "system", {"shop": "a"}))
    return log_of(msgs(*rows))


def test_flip_categories():
    ev = compare(four_shops(), [LEGACY_24H, NEW_12H])
    f = flips(ev)
    got = dict(zip(f["shop_id"], f["flip"].cast(pl.String), strict=True))
    assert got == {"a": "passes_both", "b": "loses_under_new", "c": "fails_both", "d": "not_rated"}
    b = f.filter(pl.col("shop_id") == "b").row(0, named=True)
    assert (b["rate_old"], b["rate_new"], b["rate_delta"]) == (1.0, 0.0, -1.0)
    counts = flip_counts(f)
    assert counts["flip"].cast(pl.String).to_list() == list(FLIPS)
    assert counts["shops"].to_list() == [1, 1, 0, 1, 1]
    assert counts["share"].sum() == pytest.approx(1.0)
    assert pick_drilldown_shop(ev) == "b"
    with pytest.raises(RuleError, match="not in the log"):
        pick_drilldown_shop(ev, "nope")


def test_flips_need_two_rules():
    with pytest.raises(RuleError, match="two rules"):
        flips(compare(four_shops(), [NEW_12H]))


def test_pass_rates_by_segment_and_unknown_segment():
    ev = compare(sample_log())
    pr = pass_rates(ev, by="segment")
    assert set(pr.columns) >= {"rule", "segment", "shops_rated", "shops_passing", "share_passing"}
    assert pr["rule"].to_list()[0] == "legacy-24h"
    with pytest.raises(RuleError, match="no segment column 'archetype'"):
        pass_rates(ev, by="archetype")


def test_sweep_grid_and_values():
    at_least = NEW_12H.replace(target_comparison="at_least")
    s = sweep(four_shops(), [0.5, 1.0], [12, 24, 48], base=at_least)
    assert s.height == 6
    at24 = s.filter(pl.col("window_hours") == 24)
    assert at24["shops_passing"].to_list() == [2, 2]  # a and b answer within 24 h
    assert s.filter(pl.col("window_hours") == 48)["shops_passing"].to_list() == [3, 3]
    # the base rule's target comparison decides the boundary: "more than 100 %" is never met
    strict = sweep(four_shops(), [0.5, 1.0], [48])
    assert strict["shops_passing"].to_list() == [3, 0]
    with pytest.raises(RuleError, match=r"\(0, 1\]"):
        sweep(four_shops(), [1.2], [12])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(0.05, 1.0), min_size=2, max_size=5, unique=True),
    st.lists(st.floats(1, 72), min_size=2, max_size=4, unique=True),
)
def test_sweep_is_monotone(targets, windows):
    s = sweep(sample_log(), targets, windows)
    for _, g in s.group_by("window_hours"):
        shares = g.sort("target")["share_passing"].to_list()
        assert all(a >= b for a, b in zip(shares, shares[1:], strict=False))
    for _, g in s.group_by("target"):
        shares = g.sort("window_hours")["share_passing"].to_list()
        assert all(a <= b for a, b in zip(shares, shares[1:], strict=False))


def test_what_if_counts_rescued_shops():
    sc = Scenario.from_dict(
        {
            "name": "wi",
            "seed": 3,
            "shops": 12,
            "period": {"start": "2025-08-15", "days": 10},
            "archetypes": {"solo_weekdays": {"share": 1.0}},
            "analysis": {
                "what_if": [
                    {
                        "name": "247 cover",
                        "set": {
                            "schedule": {
                                d: ["00:00-24:00"]
                                for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                            },
                            "delay_median_minutes": 5,
                        },
                    },
                ]
            },
        }
    )
    out = what_if(sc)
    row = out.row(0, named=True)
    assert row["what_if"] == "247 cover" and row["rule"] == "new-12h"
    assert row["failing_before"] > 0
    assert row["rescued"] > 0
    assert row["share_passing_after"] > row["share_passing_before"]


def test_flips_mark_shops_within_noise_of_both_targets():
    f = flips(compare(sample_log()))
    rows = {r["shop_id"]: r for r in f.to_dicts()}
    # shop_a: 11 of 11 under both rules, 74.1-100 %: holds both targets
    assert (
        rows["shop_a"]["confidence_old"]
        == rows["shop_a"]["confidence_new"]
        == ("too_close_to_call")
    )
    assert rows["shop_a"]["within_noise"]
    # shop_b: 0 of 9 under the new rule, clearly failing: not within noise
    assert rows["shop_b"]["confidence_new"] == "clear_fail" and not rows["shop_b"]["within_noise"]
    assert not rows["shop_d"]["within_noise"]  # not rated
    counts = flip_counts(f)
    assert counts["within_noise"].sum() == f["within_noise"].sum()
    assert "confidence" not in counts.columns


def test_window_rules_and_rates_from_one_evaluation():
    rules = window_rules([12, 24])
    assert [(r.name, r.window_hours) for r in rules] == [
        ("new-12h@12h", 12.0),
        ("new-12h@24h", 24.0),
    ]
    ev = compare(sample_log(), [LEGACY_24H, *rules], chats=False)
    assert window_rates_of(ev, rules).equals(window_rates(sample_log(), [12, 24]))
    with pytest.raises(RuleError, match="at least one target and one window"):
        window_rules([])


def test_a_what_if_on_one_seller_type_equals_the_whole_log_evaluation():
    """A variant on one archetype evaluates that archetype's shops only: the same figures as
    evaluating the whole variant log (at its own cutoff) and keeping them."""
    from chatsim.simulate import simulate

    sc = Scenario.from_dict(
        {
            "name": "wi2",
            "seed": 4,
            "shops": 16,
            "period": {"start": "2025-08-15", "days": 7},
            "archetypes": {"solo_weekdays": {"share": 0.5}, "small_team": {"share": 0.5}},
            "analysis": {
                "what_if": [
                    {
                        "name": "fast",
                        "archetype": "solo_weekdays",
                        "set": {"delay_median_minutes": 5},
                    }
                ]
            },
        }
    )
    base = compare(simulate(sc), chats=False)
    row = what_if(sc, baseline=base).row(0, named=True)
    after = compare(simulate(sc.with_change("fast")), chats=False).shops
    solo = pl.col("archetype") == "solo_weekdays"
    b = base.shops.filter((pl.col("rule") == "new-12h") & solo).sort("shop_id")
    a = after.filter((pl.col("rule") == "new-12h") & solo).sort("shop_id")
    assert row["segment_shops"] == b.height == 8
    rescued = (~b["meets_target"] & a["meets_target"]).sum()
    newly = (b["meets_target"] & ~a["meets_target"]).sum()
    assert (row["rescued"], row["newly_failing"]) == (rescued, newly)
    assert row["share_passing_after"] == pytest.approx(a["meets_target"].mean())


# --- rules of other metrics: flips and pass rates read the rule's figure (rule_value) ---------

LATE = NEW_12H.replace(
    name="late-12h", rate_kind="late_share", target=0.1, target_comparison="at_most"
)


@pytest.mark.parametrize("log_fn", [four_shops, sample_log])
def test_flips_and_pass_rates_give_todays_numbers_for_rate_rules(log_fn):
    """For the plain response-rate rules, rule_value is the response rate: the same flips,
    pass rates and medians as computed from ``response_rate`` directly."""
    ev = compare(log_fn(), [LEGACY_24H, NEW_12H])
    f = flips(ev)
    for rule, col in ((LEGACY_24H, "rate_old"), (NEW_12H, "rate_new")):
        want = ev.shops.filter(pl.col("rule") == rule.name).sort("shop_id")["response_rate"]
        assert f[col].to_list() == want.to_list()
    rated = ev.shops.filter(pl.col("response_rate").is_not_null())
    want = (
        rated.group_by("rule")
        .agg(
            pl.len().alias("shops_rated"),
            pl.col("meets_target").sum().alias("shops_passing"),
            pl.col("response_rate").median().alias("median_rate"),
        )
        .sort("rule")
    )
    got = pass_rates(ev).select(want.columns).sort("rule")
    assert got.to_dicts() == want.to_dicts()
    assert "rule_measure" not in f.columns  # a text column of the shop table, not a segment


def test_a_response_time_rule_is_judged_in_hours():
    """Shop a answers in 2 h (mean 2 h: meets "at most 2 h"), b in 13 h, c in 30 h."""
    ev = compare(four_shops(), [NEW_12H, AVG_RESPONSE_TIME])
    f = flips(ev).sort("shop_id")
    assert f["rate_new"].to_list()[:3] == pytest.approx([2.0, 13.0, 30.0])
    assert f["rate_new"][3] is None  # shop d: no answered chat, no figure
    assert f["rate_delta"].null_count() == f.height  # a rate and hours: no difference
    got = dict(zip(f["shop_id"], f["flip"].cast(pl.String), strict=True))
    assert got == {"a": "passes_both", "b": "fails_both", "c": "fails_both", "d": "not_rated"}
    art = pass_rates(ev).filter(pl.col("rule") == "avg-response-time").row(0, named=True)
    assert (art["shops_rated"], art["shops_passing"]) == (3, 1)
    assert art["median_rate"] == pytest.approx(13.0)
    assert timed_rule(ev) == "new-12h"
    table = summary_table(ev)
    assert table["target"].to_list() == ["more than 85 %", "at most 2 h"]


def test_a_late_share_rule_reads_lower_is_better():
    ev = compare(four_shops(), [NEW_12H, LATE])
    f = flips(ev).sort("shop_id")
    assert f["rate_new"].to_list()[:3] == [0.0, 1.0, 1.0]  # share late or unanswered
    assert f["pass_new"].to_list()[:3] == [True, False, False]
    assert f["rate_delta"].null_count() == f.height  # opposite directions: no difference
    assert timed_rule(ev) == "late-12h"


def test_losers_table_shows_hours_as_hours():
    ev = compare(four_shops(), [LEGACY_24H, AVG_RESPONSE_TIME])
    f = flips(ev)
    t = losers_table(f, ev, None)
    assert t.columns[:3] == ["shop_id", "rate_old", "hours_new"]
    assert t["shop_id"].to_list() == ["b"]  # meets 24 h at 90 %, mean 13 h > 2 h
    assert t["hours_new"].to_list() == pytest.approx([13.0])
    rates = compare(four_shops(), [LEGACY_24H, NEW_12H])
    same = losers_table(flips(rates), rates)
    assert same.columns[:3] == ["shop_id", "rate_old", "rate_new"]
