"""The pandas reference computes exactly chatsim's shop table (same definitions).

It is also the baseline of ``benchmarks/metrics.py``, so this keeps the benchmark
honest: the speed ratio compares two implementations of the same metrics. It also
checks the synthetic generator's output validates unchanged.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from chatsim.metrics import compare
from chatsim.rules import DEFAULT_EXCLUSIONS, EXCLUSIONS, NEW_12H, Rule
from chatsim.sample import sample_log
from chatsim.schema import ChatLog
from tests.support.pandas_reference import SHOP_COLUMNS as COLUMNS
from tests.support.pandas_reference import pandas_compare, to_pandas_log
from tests.support.synthetic import synthetic_log


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    out = df[COLUMNS].copy()
    out["shop_id"] = out["shop_id"].astype(str)
    return out.sort_values(["rule", "shop_id"], ignore_index=True)


def assert_same_shop_table(log: ChatLog, rules: list[Rule]) -> None:
    expected = _ordered(compare(log, rules).shops.to_pandas())
    got = _ordered(pandas_compare(log, rules))
    assert len(expected) == log.shops.height * len(rules)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-9)


def test_sample_log_matches_chatsim(every_feature_rules):
    assert_same_shop_table(sample_log(), every_feature_rules)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_synthetic_logs_match_chatsim(seed, every_feature_rules):
    log = synthetic_log(20_000, seed=seed, n_shops=40)
    assert_same_shop_table(log, every_feature_rules)


def test_explicit_cutoff_matches_chatsim(every_feature_rules):
    log = synthetic_log(20_000, seed=5, n_shops=20)
    as_of = dt.datetime(2025, 8, 20, 12, tzinfo=dt.UTC)
    rules = every_feature_rules[:2]
    expected = _ordered(compare(log, rules, as_of=as_of).shops.to_pandas())
    got = _ordered(pandas_compare(to_pandas_log(log), rules, as_of=as_of))
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-9)


def test_synthetic_log_exercises_every_feature(every_feature_rules):
    # seed 2: a holiday-mode interval inside the evaluation period (exclusions count
    # only there)
    log = synthetic_log(20_000, seed=2, n_shops=40)
    shops = compare(log, every_feature_rules[:2]).shops
    totals = shops.select(
        pl.col(c).sum()
        for c in ("answered_in_time", "answered_late", "unanswered", "pending", "outside_period")
        + tuple(f"excluded_{r}" for r in EXCLUSIONS if r in DEFAULT_EXCLUSIONS)
    ).row(0, named=True)
    assert all(v > 0 for v in totals.values()), totals
    m = log.messages
    assert m["is_broadcast"].any() and not m["valid_reply"].all()
    assert (m["kind"] == "system").any() and m["rating"].is_not_null().any()
    assert log.shops["chatbot_enabled"].any() and log.shops["timezone"].n_unique() > 3


def test_synthetic_log_validates_unchanged():
    log = synthetic_log(100_000, seed=7)
    assert log.n_messages == 100_000
    assert log.messages.schema["message_id"] == pl.Int64
    assert log.messages.schema["conversation_id"] == pl.Int64
    valid = ChatLog.from_frames(log.messages, log.shops, log.holiday_mode, log.blocked)
    for name in ("messages", "shops", "holiday_mode", "blocked"):
        assert_frame_equal(getattr(valid, name), getattr(log, name))


def test_synthetic_log_is_reproducible():
    a, b = synthetic_log(5_000, seed=3), synthetic_log(5_000, seed=3)
    assert a.messages.equals(b.messages) and a.blocked.equals(b.blocked)
    assert not a.messages.equals(synthetic_log(5_000, seed=4).messages)


def test_business_clock_is_not_in_the_baseline():
    with pytest.raises(NotImplementedError):
        pandas_compare(sample_log(), [NEW_12H.replace(name="biz", clock="business")])
