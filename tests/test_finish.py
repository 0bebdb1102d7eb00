"""The shop table's rate intervals (Wilson score), ``confidence`` and ``min_chats``
(chatsim/engine/finish.py): hand-computed values, properties, and every engine."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatsim.engine.finish import CONFIDENCE, Z_95, standing_confidence, wilson_interval
from chatsim.metrics import compare
from chatsim.rules import LEGACY_24H, NEW_12H
from chatsim.sample import sample_log, sample_log_path


def wilson(x: int, n: int) -> tuple[float, float]:
    lo, hi = wilson_interval(pl.col("x"), pl.col("n"))
    frame = pl.DataFrame({"x": [x], "n": [n]}, schema={"x": pl.Int64, "n": pl.Int64})
    return frame.select(lo.alias("lo"), hi.alias("hi")).row(0)


# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I,
# method 3 (score interval without continuity correction), and hand-worked cases:
# 2 of 3: centre (2/3 + z²/6) / (1 + z²/3) = 0.5731, half-width 0.3654;
# 11 of 11: low = n / (n + z²) = 11 / 14.8415 = 0.7412.
HAND = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (2, 3, 0.2077, 0.9385),
    (11, 11, 0.7412, 1.0),
]


@pytest.mark.parametrize(("x", "n", "low", "high"), HAND)
def test_wilson_interval_matches_hand_computed_values(x, n, low, high):
    got = wilson(x, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_wilson_z_is_the_two_sided_95_percent_normal_quantile():
    assert abs(Z_95 - 1.959963984540054) < 1e-15


def test_no_trials_no_interval():
    assert wilson(0, 0) == (None, None)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_interval_holds_the_rate_within_zero_and_one(xn):
    x, n = xn
    low, high = wilson(x, n)
    if n == 0:
        assert (low, high) == (None, None)
        return
    assert 0.0 <= low <= x / n <= high <= 1.0
    assert (low == 0.0) == (x == 0) and (high == 1.0) == (x == n)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2_000), st.integers(0, 2_000), st.integers(2, 50))
def test_interval_narrows_with_more_chats_at_the_same_rate(n, x, k):
    x = min(x, n)
    low, high = wilson(x, n)
    low_k, high_k = wilson(k * x, k * n)
    assert high_k - low_k < high - low


@pytest.mark.parametrize(
    ("comparison", "low", "high", "want"),
    [
        # a bound on the target: on the passing side only for "at least"
        ("at_least", 0.85, 0.95, "clear_pass"),
        ("more_than", 0.85, 0.95, "too_close_to_call"),
        ("at_least", 0.70, 0.85, "too_close_to_call"),
        ("more_than", 0.70, 0.85, "clear_fail"),
        ("at_least", 0.70, 0.8499, "clear_fail"),
        ("more_than", 0.8501, 0.95, "clear_pass"),
        ("at_least", 0.80, 0.90, "too_close_to_call"),
    ],
)
def test_confidence_honours_the_target_comparison(comparison, low, high, want):
    rule = NEW_12H.replace(target=0.85, target_comparison=comparison)
    t = pl.DataFrame({"counted": [40], "response_rate_low": [low], "response_rate_high": [high]})
    assert t.select(standing_confidence(rule))["confidence"].item() == want


def test_confidence_without_a_rate_of_its_own():
    rule = NEW_12H.replace(min_chats=5)
    t = pl.DataFrame(
        {"counted": [0, 4, 5], "response_rate_low": [None, None, 0.9]},
        schema={"counted": pl.Int64, "response_rate_low": pl.Float64},
    ).with_columns(response_rate_high=pl.col("response_rate_low"))
    got = t.select(standing_confidence(rule))["confidence"].to_list()
    assert got == ["no_chats", "too_few_chats", "clear_pass"]


def test_shop_table_intervals_and_confidence_on_the_sample_log():
    shops = compare(sample_log(), [NEW_12H]).shops.sort("shop_id")
    cols = ["counted", "answered_in_time", "response_rate_low", "response_rate_high"]
    rows = {r["shop_id"]: r for r in shops.select("shop_id", *cols, "confidence").to_dicts()}
    # shop_a: 11 of 11 answered in time -> 74.1-100 %, holds 85 %: too close to call
    assert rows["shop_a"]["response_rate_low"] == pytest.approx(0.7412, abs=5e-5)
    assert rows["shop_a"]["confidence"] == "too_close_to_call"
    # shop_b: 0 of 9 -> 0-29.9 %: clearly below 85 %
    assert rows["shop_b"]["response_rate_high"] == pytest.approx(0.2991, abs=5e-5)
    assert rows["shop_b"]["confidence"] == "clear_fail"
    assert rows["shop_d"]["counted"] == 0 and rows["shop_d"]["confidence"] == "no_chats"
    assert set(shops["confidence"]) <= set(CONFIDENCE)
    rated = shops.filter(pl.col("response_rate").is_not_null())
    assert (rated["response_rate_low"] <= rated["response_rate"]).all()
    assert (rated["response_rate"] <= rated["response_rate_high"]).all()
    sat = shops.filter(pl.col("rated") > 0)
    assert (sat["satisfaction_rate_low"] <= sat["satisfaction_rate"]).all()


def test_confidence_agrees_with_meets_target_when_clear():
    shops = compare(sample_log(), [LEGACY_24H, NEW_12H]).shops
    clear = shops.filter(pl.col("confidence").is_in(["clear_pass", "clear_fail"]))
    assert clear.height > 0
    assert (clear["meets_target"] == (clear["confidence"] == "clear_pass")).all()


@pytest.mark.parametrize("engine", ["polars", "buckets"])
def test_min_chats_on_every_engine(engine, tmp_path):
    """Under a minimum of 10 counted chats, shop_c (4) and shop_b (9) are not rated, or rated
    at the default rate; shop_a (11) keeps its own rate. (Spark: tests/test_spark.py runs
    the policy case ``min_chats`` and the every-feature rules, which set min_chats.)"""
    rules = [
        NEW_12H,
        NEW_12H.replace(name="min10", min_chats=10),
        NEW_12H.replace(name="min10-default", min_chats=10, default_rate=0.5),
    ]
    options = {"progress": False, "work_dir": tmp_path} if engine == "buckets" else {}
    shops = compare(sample_log_path(), rules, engine=engine, **options).shops
    got = {
        (r["rule"], r["shop_id"]): (r["response_rate"], r["tier"], r["confidence"])
        for r in shops.to_dicts()
    }
    assert got["min10", "shop_a"] == got["new-12h", "shop_a"] == (1.0, "meets", "too_close_to_call")
    assert got["min10", "shop_b"] == (None, None, "too_few_chats")
    assert got["min10", "shop_c"] == (None, None, "too_few_chats")
    assert got["min10-default", "shop_b"] == (0.5, "below_target", "too_few_chats")
    assert got["min10-default", "shop_d"] == (0.5, "below_target", "no_chats")
    assert got["new-12h", "shop_d"] == (None, None, "no_chats")
    # the interval is the shop's own rate's: none for a default rate
    low = shops.filter(pl.col("rule") == "min10-default").sort("shop_id")["response_rate_low"]
    assert low.is_null().to_list() == [False, True, True, True]
    assert shops.filter(pl.col("rule") == "min10")["counted"].to_list() == [11, 9, 4, 0]


@pytest.mark.parametrize(
    ("low", "high", "want"),
    [
        # a maximum (a late share at most 20 %): a clear pass at or below it
        (0.05, 0.20, "clear_pass"),
        (0.10, 0.30, "too_close_to_call"),
        (0.2001, 0.40, "clear_fail"),
        (0.20, 0.40, "too_close_to_call"),
    ],
)
def test_confidence_of_a_maximum_target(low, high, want):
    rule = NEW_12H.replace(rate_kind="late_share", target=0.2, target_comparison="at_most")
    t = pl.DataFrame({"counted": [40], "response_rate_low": [low], "response_rate_high": [high]})
    assert t.select(standing_confidence(rule))["confidence"].item() == want


def test_confidence_without_an_interval_says_only_how_many_chats():
    rule = NEW_12H.replace(min_chats=3)
    t = pl.DataFrame({"answered": [0, 2, 7]})
    got = t.select(standing_confidence(rule, low=None, high=None, base=pl.col("answered")))
    assert got["confidence"].to_list() == ["no_chats", "too_few_chats", None]
