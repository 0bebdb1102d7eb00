"""The fit's proof: simulate the baseline scenario, fit it, simulate the fitted scenario with
other seeds, and compare (the goals of docs/fitting.md); and the fitted parameters against
the true ones."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from pathlib import Path

import polars as pl
import pytest

from chatsim.errors import ChatsimWarning
from chatsim.fit import GOALS, calibration_tables, fit_log
from chatsim.scenario import load_scenario
from chatsim.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
BASELINE = load_scenario(ROOT / "scenarios" / "baseline.yaml")
TWIN_RUNS = 3


@pytest.fixture(scope="module")
def observed():
    return simulate(BASELINE)


@pytest.fixture(scope="module")
def twin_fit(observed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChatsimWarning)
        return fit_log(observed, by="archetype", per_shop=True)


@pytest.fixture(scope="module")
def segment_fit(observed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChatsimWarning)
        return fit_log(observed, by="archetype")


@pytest.fixture(scope="module")
def calibration(observed, twin_fit):
    return calibration_tables(observed, twin_fit, replications=TWIN_RUNS)


def _figure(cal, name: str) -> pl.DataFrame:
    return cal.figures.filter(pl.col("figure") == name)


# ------------------------------------------------------------------ the round trip


def test_pass_shares_of_all_shops_within_3_points(calibration):
    """The goal is 3 points; the fit does better: at most 1.8 points on the baseline and
    on three other logs of it (docs/fitting.md), so 2 points are asserted."""
    f = _figure(calibration, "pass share difference, all shops (points)")
    assert sorted(f["rule"].to_list()) == ["legacy-24h", "new-12h"]
    assert (f["value"] <= 2.0).all(), calibration.pass_shares


def test_pass_shares_of_each_segment_within_5_points_or_chance(calibration):
    """Within 5 points, or within three standard deviations of what chance alone moves a
    segment's share (``noise_points``: one run's spread around the twin's mean, so the
    observed share has it too). Segments of 30-45 shops with many shops near a target
    have a spread of 3-4 points: a perfect fit still misses 5 points there now and then
    (docs/fitting.md, "How close a fit can get")."""
    f = _figure(calibration, "pass share difference, segment (points)")
    assert f.height == 2 * len(BASELINE.archetypes)
    p = calibration.pass_shares.filter(pl.col("segment") != "all shops")
    bound = pl.max_horizontal(pl.lit(5.0), 3 * pl.col("noise_points") * (1 + 1 / TWIN_RUNS) ** 0.5)
    beyond = p.filter(pl.col("difference_points").abs() > bound)
    assert beyond.height == 0, beyond
    # and all segments but one meet the 5 points outright (the baseline: cross-border
    # shops, +6.7 points with a noise of 3.5; none on three other logs)
    assert (f["value"] <= 5.0).sum() >= f.height - 1, f


def test_hour_of_week_arrivals_correlate_above_095(calibration):
    """The goal is 0.95, asserted; with the fitted arrival profiles the baseline's segments
    reach 0.974-0.999 (weekend hours included: they once fell outside the hour-of-week
    count, which read higher)."""
    f = _figure(calibration, "hour-of-week arrival correlation")
    assert set(f["segment"]) == {a.name for a in BASELINE.archetypes} | {"all shops"}
    assert (f["value"] > 0.95).all(), f


def test_shop_response_rates_within_ks_01(calibration):
    f = _figure(calibration, "shop response-rate KS distance")
    assert f.height == 2 and (f["value"] < 0.1).all(), f


def test_every_goal_is_checked(calibration):
    assert set(GOALS) <= set(calibration.figures["figure"])
    firm = calibration.figures.filter(
        pl.col("goal").is_not_null()
        & (pl.col("figure") != "pass share difference, segment (points)")
    )
    assert firm["ok"].all(), firm


def test_the_twin_has_the_observed_shops_one_for_one(observed, twin_fit):
    sc = twin_fit.scenario
    assert sc.shops == observed.shops.height == len(sc.archetypes)
    assert [a.name for a in sc.archetypes] == sorted(observed.shops["shop_id"].to_list())
    twin = twin_fit.twin_segments().rename({"shop_id": "twin_shop_id"})
    mapped = twin_fit.shops.join(twin, on="twin_shop_id", suffix="_twin")
    assert (mapped["segment"] == mapped["segment_twin"]).all()
    # a shop's own volume: its primary chats per day (no campaign in this log beyond 9.9)
    assert all(a.volume_sigma == 0.0 and a.delay_shop_sigma == 0.0 for a in sc.archetypes)


def test_noise_of_one_run_is_reported_with_several_runs(calibration):
    p = calibration.pass_shares
    assert p["noise_points"].null_count() == 0
    assert (p["shops_simulated"] == p["shops_observed"]).all()


# ------------------------------------------------------------------ fitted vs true


def _window(schedule) -> tuple[int, int]:
    """The first working day's start and end, in minutes."""
    ranges = schedule.minutes(schedule.working_days()[0])
    return ranges[0][0], ranges[-1][1]


def _moved(minute: int, zone_from: str, zone_to: str) -> int:
    """A wall-clock minute of a summer day in ``zone_from``, read in ``zone_to``."""
    from zoneinfo import ZoneInfo

    if minute == 1440:
        return minute
    t = dt.datetime(2025, 8, 20, tzinfo=ZoneInfo(zone_from)) + dt.timedelta(minutes=minute)
    t = t.astimezone(ZoneInfo(zone_to))
    return t.hour * 60 + t.minute


#: parameter -> (relative tolerance, absolute tolerance): |fitted - true| <= max(rel x true, abs).
TOLERANCE = {
    "chats_per_day": (0.30, 0.0),  # a mean over 30-90 shops of lognormal sizes (sigma 0.5-0.7)
    "volume_sigma": (0.0, 0.25),
    "burst_mean": (0.0, 0.1),
    "followup_prob": (0.0, 0.03),
    "followup_answer_prob": (0.0, 0.05),
    "delay_median_minutes": (0.15, 0.0),
    "delay_sigma": (0.0, 0.15),
    "delay_shop_sigma": (0.0, 0.25),
    "absence_rate": (0.0, 0.02),
    "small_talk_share": (0.0, 0.01),
    "system_message_share": (0.0, 0.01),
    "rating_prob": (0.0, 0.02),
    "blocked_share": (0.0, 0.005),
    "blocked_answer_rate": (0.0, 0.08),
    "seller_thread_reply_rate": (0.0, 0.08),
    "broadcast_recipients": (0.10, 0.0),
    "broadcast_reply_rate": (0.0, 0.02),
    "holiday_mode_answer_rate": (0.0, 0.15),
}


@pytest.mark.parametrize("param", sorted(TOLERANCE))
def test_fitted_parameters_are_near_the_true_ones(segment_fit, param):
    """Within the tolerance, or three standard errors of a share with the estimate's
    sample size (a share of few chats is rough)."""
    rel, tol = TOLERANCE[param]
    prov = segment_fit.provenance().filter(pl.col("parameter") == param)
    n_of = dict(zip(prov["archetype"], prov["n"], strict=True))
    for true in BASELINE.archetypes:
        got = getattr(segment_fit.scenario.archetype(true.name), param)
        want = getattr(true, param)
        if param == "holiday_mode_answer_rate" and true.holiday_mode_per_month == 0:
            continue  # never in holiday mode: nothing to fit
        se = (want * (1 - want) / n_of[true.name]) ** 0.5 if 0 < want < 1 and n_of[true.name] else 0
        assert abs(got - want) <= max(rel * want, tol, 3 * se), (true.name, param, got, want)


def test_automatic_replies_are_recovered(segment_fit):
    for true in BASELINE.archetypes:
        got = segment_fit.scenario.archetype(true.name)
        effective = true.auto_reply_adoption * true.auto_reply_rate
        assert abs(got.auto_reply_adoption * got.auto_reply_rate - effective) <= 0.06, true.name
        if effective > 0:
            assert abs(got.auto_reply_rate - true.auto_reply_rate) <= 0.05, true.name
            assert abs(got.faq_resolution - true.faq_resolution) <= 0.08, true.name


def test_working_days_hours_and_holidays_are_recovered(segment_fit):
    for true in BASELINE.archetypes:
        got = segment_fit.scenario.archetype(true.name)
        assert got.schedule.working_days() == true.schedule.working_days(), true.name
        start, end = (_moved(m, true.staff_tz, true.timezone) for m in _window(true.schedule))
        got_start, got_end = _window(got.schedule)
        assert abs(got_start - start) <= 45 and abs(got_end - end) <= 45, true.name
        assert abs(got.schedule_jitter_minutes - true.schedule_jitter_minutes) <= 30, true.name
    solo = segment_fit.scenario.archetype("solo_weekdays")
    assert [r for r in solo.schedule.minutes("mon")][0][1] == 720  # the lunch break
    keeps = {a.name: (a.holiday_country, a.works_holidays) for a in segment_fit.scenario.archetypes}
    assert keeps["solo_weekdays"] == ("VN", False)
    assert keeps["auto_reply_heavy"] == ("MY", False)
    assert keeps["holiday_prone"] == ("PH", False)
    assert keeps["agency_247"][1] is True


def test_campaign_day_and_satisfaction_curve_are_recovered(segment_fit):
    (camp,) = segment_fit.scenario.campaigns
    assert camp.date == dt.date(2025, 9, 9) and abs(camp.multiplier - 2.0) <= 0.25
    got, want = segment_fit.scenario.satisfaction, BASELINE.satisfaction
    # waits over a day look a little better than they were: a buyer's next chat joining
    # an unanswered one lends it its rating (docs/fitting.md)
    assert abs(got.max - want.max) <= 0.06
    assert abs(got.midpoint_hours - want.midpoint_hours) <= 2.5
    assert abs(got.scale_hours - want.scale_hours) <= 2.0
    assert abs(got.faq - want.faq) <= 0.05


def test_docs_table_gives_these_fitted_values(segment_fit):
    """docs/fitting.md's table of fitted (true) values is what the fit gives today."""
    lines = (ROOT / "docs" / "fitting.md").read_text().splitlines()
    (head,) = [i for i, ln in enumerate(lines) if ln.startswith("| parameter | `")]
    names = re.findall(r"`(\w+)`", lines[head])
    rows = [re.match(r"^\| `(\w+)` \| (.+) \|$", ln) for ln in lines[head + 2 :]]
    rows = [r for r in rows[: next(i for i, r in enumerate(rows) if r is None)]]
    assert len(rows) >= 25 and names == [a.name for a in BASELINE.archetypes]
    for row in rows:
        param, cells = row.group(1), [c.strip() for c in row.group(2).split("|")]
        for name, cell in zip(names, cells, strict=True):
            got = getattr(segment_fit.scenario.archetype(name), param)
            true = getattr(BASELINE.archetype(name), param)
            assert cell == f"{got:g} ({true:g})", (name, param, cell)


# ------------------------------------------------------------------ the fitted files


def test_fitted_yaml_loads_to_the_same_scenario_and_simulates(segment_fit, twin_fit, tmp_path):
    for name, f in (("segments", segment_fit), ("shops", twin_fit)):
        path = f.write(tmp_path / f"{name}.yaml")
        loaded = load_scenario(path)
        assert loaded == f.scenario
    small = simulate(load_scenario(tmp_path / "segments.yaml").scaled(shops=12, days=7))
    assert small.n_messages > 0 and small.shops.height == 12


def test_every_value_in_the_yaml_says_where_it_came_from(segment_fit):
    text = segment_fit.to_yaml()
    block = text.split("archetypes:", 1)[1].split("campaigns:", 1)[0]
    params = [
        ln for ln in block.splitlines() if ln.startswith("    ") and not ln.startswith("    share")
    ]
    assert params and all("  # " in ln for ln in params)
    comments = [ln.split("  # ", 1)[1] for ln in params]
    assert all(
        c.startswith(("fitted from", "pooled from all shops", "default (not informed"))
        for c in comments
    )
    # the buyers' and the staff's zones are not estimated, and say so
    assert all(
        "default (not informed" in ln
        for ln in params
        if ln.strip().startswith(("buyer_timezone", "staff_timezone"))
    )
    prov = segment_fit.provenance()
    assert set(prov["source"]) <= {"fitted", "pooled", "default"}
    assert prov.filter(pl.col("source") == "fitted")["n"].min() > 0
