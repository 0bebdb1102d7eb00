"""The twin of a log: loaded from its file or fitted here, what a page says about its fit, and
the model-based parts of a real log's report (what-ifs and bands on the twin)."""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl
import pytest

from chatsim.analysis import what_if_plan
from chatsim.errors import ChatsimWarning, FitError
from chatsim.fit import ALL_SHOPS, Calibration, fit_log, fit_settings
from chatsim.notebook import load_context
from chatsim.scenario import Scenario, load_scenario
from chatsim.schema import ChatLog, read_log
from chatsim.simulate import simulate
from chatsim.twin import (
    MODEL_BASED,
    calibration_key_numbers,
    calibration_takeaways,
    calibration_warnings,
    figures_table,
    load_twin,
    pass_share_table,
    read_twin,
)
from tests.support.notebooks import write_as_export

ROOT = Path(__file__).resolve().parents[1]


def _quiet_fit(log: ChatLog, **kw) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChatsimWarning)
        return fit_log(log, **kw)


@pytest.fixture(scope="module")
def real_log(tmp_path_factory) -> tuple[ChatLog, Path]:
    """A small log written like a real export: no archetype column, a country column."""
    sim = simulate(load_scenario(ROOT / "scenarios" / "baseline.yaml").scaled(shops=16, days=8))
    folder = tmp_path_factory.mktemp("real") / "log"
    write_as_export(sim, folder)
    return read_log(folder), folder


@pytest.fixture(scope="module")
def twin_file(real_log, tmp_path_factory) -> Path:
    log, _ = real_log
    path = tmp_path_factory.mktemp("twin") / "twin.yaml"
    _quiet_fit(log, by="country", per_shop=True).write(path)
    return path


# ------------------------------------------------------------------ loading the twin


def test_the_fitted_yaml_records_how_it_was_fitted(twin_file):
    settings = fit_settings(twin_file.read_text())
    assert settings == {"by": "country", "per_shop": True, "seed": 0, "min_days": 7}
    assert fit_settings("name: hand written\n") is None


def test_a_twin_file_is_fitted_again_with_its_settings(real_log, twin_file):
    log, _ = real_log
    t = load_twin(twin_file, log, by=None, per_shop=False)  # the file's settings win
    assert t.from_file and t.notes == ()
    assert t.scenario == load_scenario(twin_file)
    assert t.fit.per_shop and set(t.fit.shops["segment"]) <= set(log.shops["country"])
    # each simulated shop stands for one of the log's shops, in its segment
    assert t.fit.twin_segments().height == log.shops.height


def test_without_a_file_the_log_is_fitted_here_shop_by_shop(real_log):
    log, _ = real_log
    t = load_twin("", log, by="country")
    assert not t.from_file
    assert t.fit.per_shop  # 16 shops: under PER_SHOP_MAX_SHOPS
    assert [a.name for a in t.scenario.archetypes] == sorted(log.shops["shop_id"].to_list())


def test_an_edited_twin_is_simulated_as_it_is_and_said_so(real_log, twin_file, tmp_path):
    log, _ = real_log
    text = twin_file.read_text()
    edited = tmp_path / "edited.yaml"
    edited.write_text(text.replace("satisfaction:\n  max: ", "satisfaction:\n  max: 0.5 #", 1))
    t = load_twin(edited, log)
    assert t.scenario.satisfaction.max == 0.5
    assert t.fit.scenario.satisfaction.max == 0.5
    assert len(t.notes) == 1 and "differs from a fresh fit" in t.notes[0]


def test_a_twin_of_another_log_is_refused(real_log, tmp_path):
    log, _ = real_log
    other = simulate(load_scenario(ROOT / "scenarios" / "baseline.yaml").scaled(shops=6, days=8))
    path = tmp_path / "other.yaml"
    _quiet_fit(other, by="archetype", per_shop=True).write(path)
    text = path.read_text().replace('"by": "archetype"', '"by": "country"')
    path.write_text(text)
    with pytest.raises(FitError, match="fitted from another log or with other settings"):
        load_twin(path, log)


def test_a_missing_twin_file_is_named():
    with pytest.raises(FitError, match="no twin scenario there"):
        load_twin("/nonexistent/twin.yaml", read_log(ROOT / "chatsim" / "data" / "sample_log"))
    assert read_twin("") is None and read_twin("/nonexistent/twin.yaml") is None


# ------------------------------------------------------------------ what the page says


def _cal(diff_all: float, seg_diff: float, noise: float | None, corr: float) -> Calibration:
    shares = pl.DataFrame(
        {
            "rule": ["legacy-24h", "legacy-24h"],
            "segment": [ALL_SHOPS, "VN"],
            "shops_observed": [40, 12],
            "observed": [0.7, 0.5],
            "shops_simulated": [40, 12],
            "simulated": [0.7 + diff_all / 100, 0.5 + seg_diff / 100],
            "difference_points": [diff_all, seg_diff],
            "noise_points": [1.0, noise],
        }
    )
    figures = pl.DataFrame(
        {
            "figure": [
                "pass share difference, all shops (points)",
                "pass share difference, segment (points)",
                "hour-of-week arrival correlation",
                "shop response-rate KS distance",
                "response-time KS distance",
            ],
            "rule": ["legacy-24h", "legacy-24h", None, "legacy-24h", "legacy-24h"],
            "segment": [ALL_SHOPS, "VN", ALL_SHOPS, ALL_SHOPS, ALL_SHOPS],
            "value": [abs(diff_all), abs(seg_diff), corr, 0.05, 0.02],
            "op": ["<=", "<=", ">", "<", None],
            "goal": [3.0, 5.0, 0.95, 0.1, None],
        }
    )
    ok = (
        pl.when(pl.col("goal").is_null()).then(None)
        .when(pl.col("op") == "<=").then(pl.col("value") <= pl.col("goal"))
        .when(pl.col("op") == ">").then(pl.col("value") > pl.col("goal"))
        .otherwise(pl.col("value") < pl.col("goal"))
    )  # fmt: skip
    empty = pl.DataFrame()
    return Calibration(
        shares, empty, empty, empty, figures.with_columns(ok=ok), empty, ("segment 'x' pooled.",)
    )


def test_key_numbers_count_the_goals_over_all_shops():
    nums = {k: (v, d) for k, _, v, d in calibration_key_numbers(_cal(1.0, 2.0, 1.0, 0.99)).items}
    assert nums["goals"][0] == "3 of 3"
    assert nums["share_legacy-24h"][0] == "70.0 % vs 71.0 %"
    assert nums["share_legacy-24h"][1].startswith("+1.0 points")
    assert nums["segments"][0] == "1 of 1"
    assert nums["arrivals"][0] == "r = 0.990"
    missed = {k: v for k, _, v, _ in calibration_key_numbers(_cal(4.0, 2.0, 1.0, 0.9)).items}
    assert missed["goals"] == "1 of 3"


def test_takeaways_give_the_verdict_and_weigh_a_segment_gap_against_chance():
    good = calibration_takeaways(_cal(1.0, 2.0, 1.0, 0.99))
    assert good[0].text.startswith("Over all shops the twin reproduces the log")
    assert not [t for t in good if t.key.startswith("segment_")]  # 2 points: nothing to say
    bad = calibration_takeaways(_cal(4.0, 8.0, 3.0, 0.9))
    assert "misses the arrival pattern" in bad[0].text
    assert "share of shops meeting legacy-24h (within 3 points)" in bad[0].text
    seg = next(t for t in bad if t.key == "segment_VN")
    assert "within what chance gives" in seg.text  # 8 points, chance 3: within 3 x 3
    beyond = next(
        t for t in calibration_takeaways(_cal(1.0, 12.0, 3.0, 0.99)) if t.key == "segment_VN"
    )
    assert "larger than chance" in beyond.text
    fixed = next(
        t for t in calibration_takeaways(_cal(1.0, 8.0, 0.0, 0.99)) if t.key == "segment_VN"
    )
    assert "not one run's luck" in fixed.text


def test_page_tables_name_their_columns_for_a_reader():
    cal = _cal(1.0, 8.0, 3.0, 0.99)
    assert pass_share_table(cal).columns == [
        "rule", "segment", "shops", "share_in_log", "share_in_twin", "gap_points", "chance_points"
    ]  # fmt: skip
    f = figures_table(cal)
    assert f["goal"].to_list() == ["at most 3.0", "at most 5.0", "above 0.95", "under 0.1", None]
    assert f["met"].to_list() == [True, False, True, True, None]


def test_pooled_segments_are_warned_in_plain_words(real_log):
    log, _ = real_log
    t = load_twin("", log, by="country")
    warned = calibration_warnings(t)
    assert len(warned) == len(t.fit.warnings) > 0
    for w in warned:  # segment and parameter names in words, not codes
        assert "_" not in w.text.split(" pooled")[0], w.text


# ------------------------------------------------------------------ model-based parts


def _scenario(what_if: list[dict]) -> Scenario:
    return Scenario.from_dict(
        {
            "name": "s",
            "shops": 4,
            "period": {"start": "2025-08-15", "days": 7},
            "archetypes": {"solo_weekdays": {"share": 0.5}, "small_team": {"share": 0.5}},
            "analysis": {"what_if": what_if},
        }
    )


def test_what_if_plan_runs_the_scenarios_variants_that_fit_the_twin():
    sc = _scenario(
        [
            {"name": "bots", "set": {"auto_reply_rate": 0.9}},
            {"name": "solo faster", "archetype": "solo_weekdays", "set": {"capacity_per_hour": 20}},
        ]
    )
    assert what_if_plan(sc).scenario is sc
    assert what_if_plan(sc, run=False).scenario is None
    no_twin = what_if_plan(sc, real_log=True)
    assert no_twin.scenario is None and "no fitted model" in no_twin.reason
    twin = Scenario.from_dict(
        {"name": "t", "shops": 2, "period": {"start": "2025-08-15", "days": 7},
         "archetypes": {"shop_a": {"share": 0.5}, "shop_b": {"share": 0.5}}}
    )  # fmt: skip
    plan = what_if_plan(sc, twin=twin, real_log=True, run=False)  # run is a real log's default
    assert plan.model_based
    assert [v.name for v in plan.scenario.analysis.what_if] == ["bots"]
    assert plan.skipped == (
        "solo faster changes the seller type Solo weekday sellers, which the fitted model of your "
        "log does not have, so it is left out",
    )
    only_segment = _scenario([{"name": "x", "archetype": "small_team", "set": {"burst_mean": 2}}])
    none = what_if_plan(only_segment, twin=twin, real_log=True)
    assert none.scenario is None and none.model_based and "Small teams" in none.reason


def test_a_real_logs_report_runs_what_ifs_and_bands_on_its_twin(real_log, twin_file):
    _, folder = real_log
    params = dict(
        scenario_path=str(ROOT / "scenarios" / "baseline.yaml"),
        log_path=str(folder),
        rules=["legacy-24h", "new-12h"],
        real_log=True,
        targets=[0.8, 0.9],
        windows_hours=[12.0, 24.0],
    )
    plain = load_context(**params)
    assert not plain.model_based and plain.replications(1, twin=True) is None
    assert plain.what_if_plan(False).scenario is None
    ctx = load_context(**params, twin_path=str(twin_file))
    assert ctx.model_based and ctx.twin == load_scenario(twin_file)
    model = ctx.model_scenario()
    assert model.analysis.windows_hours == (12.0, 24.0) and model.analysis.targets == (0.8, 0.9)
    plan = ctx.what_if_plan(False)
    assert plan.model_based and [v.name for v in plan.scenario.analysis.what_if] == [
        "auto replies on"
    ]
    assert ctx.replications(1) is None  # the main report's intervals stay off
    rep = ctx.replications(2, twin=True, bridge=False, what_if=False)
    assert rep is not None and rep.n == 2
    assert MODEL_BASED.startswith("Model-based: on a fitted model of your log, not the log itself")
    # a simulated log's report is unchanged by a twin
    sim = load_context(**{**params, "log_path": "", "real_log": False}, shops=6, days=3,
                       twin_path=str(twin_file))  # fmt: skip
    assert not sim.model_based and sim.model_scenario() is sim.scenario
