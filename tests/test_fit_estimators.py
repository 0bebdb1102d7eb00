"""The fit's estimators one by one: hand-worked logs and properties of the building blocks."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatsim.fit.estimate import zero_truncated_mean
from chatsim.fit.goodness import ks_distance
from chatsim.fit.hours import robust_sd
from chatsim.fit.profile import observe
from chatsim.fit.record import shrink
from chatsim.fit.response import pooled_spread, service_seconds
from chatsim.fit.segments import kmeans, silhouette
from chatsim.fit.workdays import WorkClock, round_window, shop_windows, subtract
from tests.logbuilder import at, log_of, msgs


def _hand_log():
    """One shop, eight days: a chat with small talk and a follow-up, a seller thread that
    is answered, a broadcast to three buyers (one replies), a system row, a buyer who
    writes again while their first chat still waits (two answers: no thread), a last chat."""
    b = {"broadcast": True}
    rows = [
        ("a", at(0), "buyer"),
        ("a", at(0.2), "seller", "system"),
        ("a", at(1 / 60), "buyer", "image"),
        ("a", at(0.5), "seller", "text", {"valid": False}),
        ("a", at(1), "seller"),
        ("a", at(1 + 10 / 60), "buyer", "sticker"),
        ("a", at(1.5), "seller"),
        ("b", at(0, days=1), "seller", "product_card"),
        ("b", at(2, days=1), "buyer"),
        ("d", at(0, days=2), "seller", "product_card", b),
        ("e", at(0, days=2), "seller", "product_card", b),
        ("f", at(0, days=2), "seller", "product_card", b),
        ("e", at(1, days=2), "buyer"),
        ("r", at(1, days=2), "buyer"),
        ("r", at(5, days=3), "buyer"),
        ("r", at(0, days=5), "seller"),
        ("r", at(0, days=6), "seller"),
        ("z", at(0, days=7), "buyer"),
        ("z", at(1, days=7), "seller"),
    ]
    rows = [
        (*r[:4], {**(r[4] if len(r) > 4 else {}), "message_id": i + 1}) if len(r) > 3 else r
        for i, r in enumerate(rows)
    ]
    return log_of(msgs(*rows), shops=[{"shop_id": "s1", "timezone": "UTC"}])


def test_hand_worked_log_counts_what_the_simulator_draws():
    s = observe(_hand_log()).shops.row(0, named=True)
    assert s["primary"] == 3  # a's first chat, r's (with the returning burst), z
    assert s["followups"] == 1 and s["followups_answered"] == 1
    assert s["thread_replies"] == 2  # to the thread and to the broadcast
    assert s["threads"] == 1 and s["thread_answers"] == 1  # r's second answer is no thread
    assert (s["broadcasts"], s["broadcast_messages"], s["broadcast_answers"]) == (1, 3, 1)
    assert s["small_talk"] == 1 and s["system"] == 1
    # bursts: a, a's follow-up, b's reply, e's reply, r twice, z; minus follow-up and replies
    assert s["bursts"] == 7 and s["arrivals"] == 4
    assert s["burst_messages"] / s["burst_chats"] == pytest.approx(5 / 3)


def test_working_window_from_first_and_last_messages():
    rows = []
    for d in range(5):
        rows += [(f"c{d}", at(0, days=d), "buyer"), (f"c{d}", at(10 / 60, days=d), "seller")]
        rows += [(f"e{d}", at(8, days=d), "buyer"), (f"e{d}", at(8 + 50 / 60, days=d), "seller")]
    obs = observe(log_of(msgs(*rows), shops=[{"shop_id": "s1", "timezone": "UTC"}]), min_days=0)
    w = shop_windows(obs).row(0, named=True)
    # first messages at 09:10, k = 1, 5 in the first hour: 550 - 60/5 = 538
    # last at 17:50 (minute 1070, so before 17:51): 1070 + 1 + 60/5 = 1083
    assert (w["start_min"], w["end_min"], w["days_worked"]) == (538, 1083, 5)


@given(st.floats(0.01, 300.0))
def test_zero_truncated_mean_inverts_the_observed_mean(r):
    observed = r / (1.0 - math.exp(-r))
    assert zero_truncated_mean(observed) == pytest.approx(r, rel=1e-6, abs=1e-6)


@given(st.floats(0, 1e4), st.floats(0, 1e4), st.floats(0, 1), st.floats(0.1, 100))
def test_shrink_lies_between_the_shop_and_its_segment(total, exposure, parent, k):
    total = min(total, exposure)
    v = shrink(total, exposure, parent, k)
    own = total / exposure if exposure else parent
    assert min(own, parent) - 1e-9 <= v <= max(own, parent) + 1e-9
    assert shrink(0, 0, parent, k) == pytest.approx(parent)


@given(
    st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=50),
    st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=50),
)
def test_ks_distance_is_a_symmetric_share(a, b):
    d = ks_distance(np.array(a), np.array(b))
    assert 0 <= d <= 1 and d == ks_distance(np.array(b), np.array(a))
    assert ks_distance(np.array(a), np.array(a)) == 0


def test_ks_distance_of_disjoint_samples_is_one():
    assert ks_distance(np.array([0.1, 0.2]), np.array([0.8, 0.9])) == 1.0


@given(st.floats(0, 1440), st.floats(0, 1440))
def test_windows_round_to_the_minute_and_snap_to_midnight(a, b):
    a, b = min(a, b), max(a, b)
    s, e = round_window(a, b)
    assert 0 <= s < e <= 1440
    assert abs(s - a) <= 0.5 or (s == 0 and a <= 10.5) or s == 1439
    assert abs(e - b) <= 0.5 or (e == 1440 and b >= 1429.5) or e == s + 1


@given(st.integers(0, 1400), st.integers(10, 1440), st.integers(0, 1430), st.integers(15, 300))
def test_breaks_are_cut_out_of_the_window(a, length, b0, blen):
    start, end = a, min(a + length, 1440)
    pieces = subtract(start, end, [(b0, b0 + blen)])
    for s, e in pieces:
        assert start <= s < e <= end and e - s >= 15
        assert e <= b0 or s >= b0 + blen


@settings(max_examples=50)
@given(
    st.lists(st.tuples(st.floats(0, 1e5), st.floats(1, 1e4)), min_size=1, max_size=8),
    st.lists(st.floats(-1e4, 2e5), min_size=2, max_size=20),
)
def test_work_clock_counts_working_seconds_only(intervals, times):
    start = np.cumsum([a + 1 for a, _ in intervals]) + np.cumsum(
        [0] + [d for _, d in intervals][:-1]
    )
    end = start + np.array([d for _, d in intervals])
    clock = WorkClock(np.zeros(start.size, dtype=np.int64), start.astype(float), end.astype(float))
    t = np.sort(np.array(times))
    w = clock.work(np.zeros(t.size, dtype=np.int64), t)
    assert np.all(np.diff(w) >= -1e-6)  # never runs backwards
    assert np.all(np.diff(w) <= np.diff(t) + 1e-6)  # never faster than the clock
    inside, _, _ = clock.inside(np.zeros(t.size, dtype=np.int64), t)
    expect = ((t[:, None] >= start[None]) & (t[:, None] < end[None])).any(1)
    assert (inside == expect).all()


def test_pooled_spread_recovers_shop_and_chat_spreads():
    rng = np.random.default_rng(1)
    shop_means = rng.normal(0, 0.6, 400)
    values = [m + rng.normal(0, 1.1, 30) for m in shop_means]
    between, within = pooled_spread(
        np.array([v.mean() for v in values]),
        np.array([v.var(ddof=1) for v in values]),
        np.full(400, 30),
    )
    assert between == pytest.approx(0.6, abs=0.07) and within == pytest.approx(1.1, abs=0.03)


def test_service_time_from_queue_order_and_shop_size():
    rng = np.random.default_rng(2)
    rows = []
    for shop, size in enumerate([0.5, 1.0, 2.0]):
        for day in range(60):
            for r in range(6):
                rows.append((shop, day, r, r * 360.0 / size + rng.lognormal(np.log(1200), 1.0)))
    b = pl.DataFrame(rows, schema=["shop", "w0", "rank", "wait_s"], orient="row")
    s, n = service_seconds(b, pl.DataFrame({"shop": [0, 1, 2], "size": [0.5, 1.0, 2.0]}))
    assert n == 3 * 60 * 5 and s == pytest.approx(360.0, rel=0.15)
    assert (
        service_seconds(b.filter(pl.col("rank") == 0), pl.DataFrame({"shop": [0], "size": [1.0]}))[
            0
        ]
        is None
    )


def test_robust_sd_of_a_normal_sample():
    x = np.random.default_rng(3).normal(600, 30, 5000)
    assert robust_sd(x) == pytest.approx(30, rel=0.05)
    assert robust_sd([500]) == 0.0


def test_kmeans_finds_separated_groups_and_silhouette_prefers_them():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(c, 0.1, (50, 2)) for c in (0.0, 3.0, 6.0)])
    truth = np.repeat([0, 1, 2], 50)
    labels = kmeans(x, 3, np.random.default_rng(0))
    pairs = {(int(t), int(lab)) for t, lab in zip(truth, labels, strict=True)}
    assert len(pairs) == 3  # one label per true group
    assert silhouette(x, labels) > 0.9 > silhouette(x, rng.integers(0, 3, 150))


# ------------------------------------------------------------------ the fit, pinned

#: The sha256 of the fitted YAML of a small simulated log (the baseline scaled to 40 shops
#: and 14 days), three ways: a change to how the fit computes (its speed, its passes over
#: the messages) must leave every value and comment as it was. A change meant to move the
#: fit updates these, and says why.
PINNED_LOG = "f33360d98d97fa6e82f014b62b1b9902b11bb31e6a60da0a7795da0dd144da08"
PINNED_YAML = {
    "by archetype": "8040c2f35bb260e24594c247965004966e5fffb37ddb4464d4ae6c34bab70575",
    "per shop": "2d61b30c2c1a4ab90da6f4621a54916e1b7fdde354447223f5edeb89acf11e01",
    "groups from behaviour": "5e3a2428b968ef136e0a0bed4f78a548772cbea2e33a055a5e3f9b4cd5d0b776",
}


def test_fitted_yaml_of_a_small_log_is_unchanged():
    import hashlib
    import warnings
    from pathlib import Path

    from chatsim.errors import ChatsimWarning
    from chatsim.fit import fit_log
    from chatsim.scenario import load_scenario
    from chatsim.simulate import log_hash, simulate

    root = Path(__file__).resolve().parents[1]
    log = simulate(load_scenario(root / "scenarios" / "baseline.yaml").scaled(shops=40, days=14))
    # the input first: a simulator change moves the log, not the fit
    assert log_hash(log) == PINNED_LOG, "the simulated log changed: re-pin both hashes"
    kwargs = {
        "by archetype": {"by": "archetype"},
        "per shop": {"by": "archetype", "per_shop": True},
        "groups from behaviour": {},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChatsimWarning)
        got = {
            name: hashlib.sha256(fit_log(log, **kw).to_yaml().encode()).hexdigest()
            for name, kw in kwargs.items()
        }
    assert got == PINNED_YAML
