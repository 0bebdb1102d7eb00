"""Replications (chatsim/replications): the t-based interval, spawned seeds, identical
results whatever the number of workers, figures equal to a direct evaluation, and the
coverage of the 95 % interval.

Coverage tolerance: a 95 % interval covers the true value in a share of trials that is
binomial around 0.95. With ``T`` trials its standard error is ``√(0.95 · 0.05 / T)``; a test
accepts a coverage within about 4 standard errors below 95 % (and any above), so a correct
interval fails it about once in 30,000 draws, while an interval built with the normal
quantile instead of Student's t (coverage about 88 % with 5 replications) fails it.
"""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import polars as pl
import pytest

from chatsim.analysis import pass_rates, sweep
from chatsim.errors import ScenarioError
from chatsim.explain import bridge_table
from chatsim.metrics import compare
from chatsim.replications import (
    BOUNDS,
    TABLES,
    mean_interval,
    replication_seeds,
    run_replications,
    summarise,
    t_quantile,
    two_sided_t,
)
from chatsim.rules import LEGACY_24H, NEW_12H
from chatsim.scenario import Scenario
from chatsim.simulate import simulate


def tiny(**analysis) -> Scenario:
    return Scenario.from_dict(
        {
            "name": "tiny",
            "seed": 11,
            "shops": 20,
            "period": {"start": "2025-08-15", "days": 5},
            "archetypes": {"small_team": {"share": 0.5}, "solo_weekdays": {"share": 0.5}},
            "analysis": {"targets": [0.8, 0.85], "windows_hours": [12, 24], **analysis},
        }
    )


# --- the interval ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("df", "t"),
    # Student's t, two-sided 95 % (the usual table, 3 decimals)
    [(1, 12.706), (2, 4.303), (3, 3.182), (5, 2.571), (10, 2.228), (19, 2.093), (30, 2.042)],
)
def test_t_quantile_matches_the_table(df, t):
    assert round(t_quantile(df), 3) == t
    assert two_sided_t(t_quantile(df), df) == pytest.approx(0.95, abs=1e-12)


def test_t_quantile_other_levels_and_the_normal_limit():
    assert round(t_quantile(10, 0.90), 3) == 1.812
    assert round(t_quantile(999), 3) == 1.962 and t_quantile(999) > 1.959963984540054
    with pytest.raises(ScenarioError, match="degree of freedom"):
        two_sided_t(1.0, 0)
    with pytest.raises(ScenarioError, match="level"):
        t_quantile(5, 1.5)


def test_mean_interval_by_hand():
    # 1, 2, 3, 4: mean 2.5, sd √(5/3) = 1.2910, t(3) = 3.1824 -> half-width 2.0542
    iv = mean_interval([1, 2, 3, 4, None, float("nan")])
    assert (iv.mean, iv.n) == (2.5, 4)
    assert iv.sd == pytest.approx(math.sqrt(5 / 3))
    assert iv.half_width == pytest.approx(3.182446 * math.sqrt(5 / 3) / 2, rel=1e-6)
    assert (iv.low, iv.high) == pytest.approx((2.5 - iv.half_width, 2.5 + iv.half_width))
    assert mean_interval([0.4]).low is None and mean_interval([]).n == 0


def test_summary_does_not_depend_on_the_order_and_clips_to_bounds():
    rng = random.Random(1)
    values = [rng.random() * 1e-3 for _ in range(25)]  # shares near 0: the bound is reached
    runs = pl.DataFrame(
        {"replication": range(25), "measure": ["share_passing"] * 25, "value": values}
    )
    a = summarise(runs, [], bounds=BOUNDS)
    b = summarise(runs.sample(fraction=1.0, shuffle=True, seed=3), [], bounds=BOUNDS)
    assert a.equals(b)
    row = a.row(0, named=True)
    assert row["low"] >= 0.0 and row["high"] <= 1.0
    counts = pl.DataFrame({"replication": [0, 1, 2], "measure": ["gains"] * 3, "value": [0, 0, 1]})
    assert summarise(counts, [], bounds=BOUNDS)["low"].item() == 0.0  # never below 0 shops


# --- seeds and runs ---------------------------------------------------------------------


def test_seeds_are_spawned_distinct_and_stable():
    seeds = replication_seeds(20250815, 50)
    assert len(set(seeds)) == 50 and 20250815 not in seeds
    assert replication_seeds(20250815, 20) == seeds[:20]  # the first 20 of any run
    assert all(0 <= s < 2**63 for s in seeds)
    assert replication_seeds(20250816, 3) != seeds[:3]
    children = np.random.SeedSequence(20250815).spawn(2)
    assert seeds[1] == int(children[1].generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def test_same_result_whatever_the_number_of_workers():
    sc = tiny(
        what_if=[{"name": "fast", "archetype": "solo_weekdays", "set": {"delay_median_minutes": 5}}]
    )
    one = run_replications(sc, 3, workers=1)
    two = run_replications(sc, 3, workers=2)
    for t in TABLES:
        assert one.runs[t].equals(two.runs[t]), t
        assert one.summaries[t].equals(two.summaries[t]), t
    assert one.seeds == two.seeds == tuple(replication_seeds(11, 3))
    assert one.runs["what_if"].height and one.runs["bridge"].height and one.runs["sweep"].height


def test_replications_need_a_whole_number_from_one():
    with pytest.raises(ScenarioError, match="analysis.replications: must be a whole number"):
        run_replications(tiny(), 0)
    with pytest.raises(ScenarioError, match="no replication table 'flops'"):
        run_replications(tiny(), 1, bridge=False, sweep=False, what_if=False).summary("flops")


def test_default_count_is_the_scenarios():
    rep = run_replications(tiny(replications=2), bridge=False, sweep=False, what_if=False)
    assert rep.n == 2 and set(rep.runs["rules"]["replication"]) == {0, 1}


def test_a_replications_figures_equal_a_direct_evaluation():
    sc = tiny()
    rep = run_replications(sc, 2, what_if=False)
    second = dataclasses.replace(sc, seed=rep.seeds[1])
    log = simulate(second)
    ev = compare(log, [LEGACY_24H, NEW_12H])
    runs = {t: r.filter(pl.col("replication") == 1) for t, r in rep.runs.items()}
    shares = dict(pass_rates(ev).select("rule", "share_passing").iter_rows())
    got = runs["rules"].filter(pl.col("measure") == "share_passing")
    assert dict(got.select("rule", "value").iter_rows()) == shares
    steps = bridge_table(ev, log)
    got = runs["bridge"].filter(pl.col("measure") == "share").sort("step")["value"].to_list()
    assert got == steps["share"].to_list()
    grid = sweep(log, [0.8, 0.85], [12, 24], base=NEW_12H)
    got = runs["sweep"].sort("window_hours", "target")["value"].to_list()
    assert got == grid["share_passing"].to_list()
    # and the summary is the mean of the runs
    mean = rep.interval("rules", "share_passing", rule="new-12h").mean
    values = rep.runs["rules"].filter(
        (pl.col("measure") == "share_passing") & (pl.col("rule") == "new-12h")
    )["value"]
    assert mean == pytest.approx(values.mean())


# --- coverage ---------------------------------------------------------------------------


def coverage(truth: float, estimates: list[list[float]]) -> float:
    """The share of trials whose interval holds ``truth``."""
    hits = 0
    for values in estimates:
        iv = mean_interval(values)
        hits += iv.low <= truth <= iv.high
    return hits / len(estimates)


def floor(trials: int) -> float:
    """The lowest coverage accepted over ``trials`` trials (see the module text)."""
    return 0.95 - 4 * math.sqrt(0.95 * 0.05 / trials)


@pytest.mark.parametrize("n", [5, 20])
def test_interval_covers_a_known_share_about_95_percent_of_trials(n):
    """Fast: the shares of 300 shops passing with probability 0.35, ``n`` per trial."""
    rng = np.random.default_rng(7)
    trials = 4_000
    shares = rng.binomial(300, 0.35, size=(trials, n)) / 300
    got = coverage(0.35, shares.tolist())
    assert floor(trials) <= got <= 0.97, got


@pytest.mark.slow
def test_interval_from_20_replications_covers_the_true_pass_share():
    """A small scenario's true share passing (and overall rate): the mean of 400
    replications; 100 trials of 20 other replications each (two runs of 1,000): their 95 %
    intervals hold it in about 95 % of trials (at least :func:`floor` of 100, 86 %)."""
    sc = tiny(rules=["new-12h"])
    plan = {"bridge": False, "sweep": False, "what_if": False}
    truth_run = run_replications(dataclasses.replace(sc, seed=1), 400, workers=2, **plan)
    size = 20
    runs = [
        run_replications(dataclasses.replace(sc, seed=seed), 1_000, workers=2, **plan)
        for seed in (2, 3)
    ]
    for measure in ("share_passing", "overall_rate"):
        truth = truth_run.interval("rules", measure, rule="new-12h").mean
        trials = []
        for run in runs:
            t = run.runs["rules"].filter(pl.col("measure") == measure).sort("replication")
            v = t["value"].to_list()
            trials += [v[i : i + size] for i in range(0, len(v), size)]
        assert len(trials) == 100
        got = coverage(truth, trials)
        assert floor(len(trials)) <= got, (measure, got)
