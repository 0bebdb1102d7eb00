"""The calibration tables (observed vs simulated twin) and their charts."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

from chatsim.charts.calibration import (
    arrivals_chart,
    pass_share_chart,
    rate_bins_chart,
    response_time_chart,
)
from chatsim.errors import ChatsimWarning
from chatsim.fit import GOALS, calibration_tables, fit_log
from chatsim.scenario import load_scenario
from chatsim.simulate import simulate


@pytest.fixture(scope="module")
def log():
    return simulate(load_scenario("scenarios/baseline.yaml").scaled(shops=60, days=14))


@pytest.fixture(scope="module")
def fitted(log):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChatsimWarning)
        return fit_log(log, by="archetype")


@pytest.fixture(scope="module")
def cal(log, fitted):
    return calibration_tables(log, fitted, replications=2)


def test_tables_add_up(cal, log):
    a = cal.arrivals.group_by("segment").agg(pl.col("observed").sum(), pl.col("simulated").sum())
    assert a["observed"].to_list() == pytest.approx([1.0] * a.height)
    assert a["simulated"].to_list() == pytest.approx([1.0] * a.height)
    assert cal.arrivals.filter(pl.col("segment") == "all shops").height == 168
    r = cal.rate_bins.group_by("rule", "source").agg(pl.col("share").sum(), pl.col("shops").sum())
    assert r["share"].to_list() == pytest.approx([1.0] * 4)
    t = cal.response_times.group_by("rule", "source").agg(pl.col("share").sum())
    assert t["share"].to_list() == pytest.approx([1.0] * 4)
    every = cal.pass_shares.filter(pl.col("segment") == "all shops")
    assert every["shops_observed"].to_list() == [log.shops.height] * 2
    assert (every["shops_simulated"] == every["shops_observed"]).all()


def test_figures_cover_every_goal_and_judge_them(cal):
    f = cal.figures
    assert set(GOALS) <= set(f["figure"])
    judged = f.filter(pl.col("goal").is_not_null())
    for op, value, goal, ok in judged.select("op", "value", "goal", "ok").iter_rows():
        assert ok == {"<=": value <= goal, "<": value < goal, ">": value > goal}[op]
    assert cal.goals_met() == bool(judged["ok"].all())
    assert f.filter(pl.col("goal").is_null())["figure"].unique().to_list() == [
        "response-time KS distance"
    ]


def test_a_log_against_itself_is_a_perfect_fit(log, fitted):
    same = calibration_tables(log, fitted, twin=log)
    f = same.figures.filter(pl.col("segment") == "all shops")
    assert f.filter(pl.col("figure").str.contains("difference"))["value"].to_list() == [0, 0]
    assert f.filter(pl.col("figure").str.contains("KS"))["value"].to_list() == [0, 0, 0, 0]
    assert f.filter(pl.col("figure").str.contains("correlation"))["value"][0] == pytest.approx(1)
    assert same.pass_shares["noise_points"].null_count() == same.pass_shares.height


def test_noise_is_given_with_several_runs(cal):
    assert cal.pass_shares["noise_points"].null_count() == 0
    assert (cal.pass_shares["noise_points"] >= 0).all()


def _units(spec: dict) -> list[dict]:
    for key in ("layer", "vconcat", "hconcat"):
        if key in spec:
            return [u for part in spec[key] for u in _units(part)]
    return _units(spec["spec"]) if "spec" in spec else [spec]


@pytest.mark.parametrize("which", ["arrivals", "response_times", "rate_bins", "pass_shares"])
def test_every_calibration_chart_is_titled_labelled_with_tooltips(cal, which):
    chart = {
        "arrivals": lambda: arrivals_chart(cal.arrivals),
        "response_times": lambda: response_time_chart(cal.response_times),
        "rate_bins": lambda: rate_bins_chart(cal.rate_bins),
        "pass_shares": lambda: pass_share_chart(cal.pass_shares),
    }[which]()
    spec = chart.to_dict()
    assert spec.get("title")
    units = [u for u in _units(spec) if "encoding" in u]
    for axis in ("x", "y"):
        if axis in units[0]["encoding"]:
            assert units[0]["encoding"][axis].get("title"), axis
    assert any("tooltip" in u["encoding"] for u in units)
    data = [v for v in spec.get("datasets", {}).values()]
    assert data and all(len(rows) < 5000 for rows in data)
