"""Charts: aggregated data, titles, axis titles with units, tooltips."""

from __future__ import annotations

import polars as pl
import pytest

from chatsim import chart_data, charts
from chatsim.analysis import flips, pass_rates, sweep, window_rates
from chatsim.explain import bridge_table, flip_causes
from chatsim.metrics import compare
from chatsim.rules import AVG_RESPONSE_TIME, LEGACY_24H, NEW_12H, resolve_rule
from chatsim.sample import sample_log
from chatsim.scorecard import boost_by_seller_type, scorecard


@pytest.fixture(scope="module")
def ev_log():
    log = sample_log()
    return compare(log), log


def _layers(spec: dict) -> list[dict]:
    """Every unit spec of a chart: layers, concatenated and faceted charts included."""
    for key in ("layer", "vconcat", "hconcat"):
        if key in spec:
            return [unit for part in spec[key] for unit in _layers(part)]
    if "spec" in spec:
        return _layers(spec["spec"])
    return [spec]


def _check(chart) -> dict:
    spec = chart.to_dict()
    assert spec.get("title"), "chart has no title"
    enc_layers = [layer for layer in _layers(spec) if "encoding" in layer]
    first = enc_layers[0]["encoding"]
    for axis in ("x", "y"):
        if axis in first:
            assert first[axis].get("title"), f"{axis} axis has no title"
    assert any("tooltip" in layer["encoding"] for layer in enc_layers), "no tooltips"
    return spec


def test_every_chart_is_titled_labelled_with_tooltips(ev_log):
    ev, log = ev_log
    f = flips(ev)
    s = sweep(log, [0.8, 0.9], [12, 24])
    made = [
        charts.rate_distribution(ev),
        charts.flip_matrix(f, "legacy-24h", "new-12h"),
        charts.response_time_distribution(ev),
        charts.unanswered_heatmap(ev, log),
        charts.pass_rate_by_segment(
            pass_rates(ev, by="segment"), "segment", ["legacy-24h", "new-12h"]
        ),
        charts.sensitivity_curves(s, highlight_target=0.85, rules=list(ev.rules)),
        charts.sensitivity_heatmap(s, rules=list(ev.rules)),
        charts.window_by_segment(sweep(log, [0.85], [12, 24], by="segment"), "segment", 0.85),
        charts.shop_timeline(chart_data.shop_chats_local(ev, "shop_b"), "shop_b"),
        charts.daily_status(chart_data.shop_chats_local(ev, "shop_b"), "shop_b"),
        charts.bridge_chart(bridge_table(ev, log)),
        charts.causes_chart(flip_causes(ev)),
        charts.target_explorer(ev, window_rates(log, [12, 24]), "segment"),
        charts.what_if_chart(
            pl.DataFrame({"what_if": ["x"], "rescued": [2], "newly_failing": [0]})
        ),
        charts.boost_chart(boost_by_seller_type(scorecard(log))),
    ]
    for chart in made:
        _check(chart)


def test_rate_histogram_counts_every_rated_shop(ev_log):
    ev, _ = ev_log
    h = chart_data.rate_histogram_data(ev)
    rated = ev.shops.filter(pl.col("response_rate").is_not_null())
    assert h["shops"].sum() == rated.height
    assert h["bin_start"].min() >= 0 and h["bin_end"].max() <= 1.0 + 1e-9


def test_hour_of_week_is_complete_and_local(ev_log):
    ev, log = ev_log
    h = chart_data.hour_of_week_data(ev, log)
    assert h.height == 168
    n_unanswered = ev.chats.filter(
        (pl.col("rule") == "new-12h") & (pl.col("status") == "unanswered")
    ).height
    assert h["chats"].sum() == n_unanswered
    # shop_b (Paris) chats open at 20:00 local, which is 18:00 UTC in August
    tl = chart_data.shop_timeline_data(ev, "shop_b")
    assert tl.height > 0


def test_response_time_histogram_caps_long_waits(ev_log):
    ev, _ = ev_log
    h = chart_data.response_time_histogram_data(ev, max_hours=24)
    answered = ev.chats.filter(
        (pl.col("rule") == "new-12h")
        & pl.col("status").is_in(["answered_in_time", "answered_late"])
    ).height
    assert h["chats"].sum() == answered
    assert h["bin_start"].max() <= 24


def test_rate_distribution_never_stacks_and_labels_targets(ev_log):
    ev, _ = ev_log
    spec = charts.rate_distribution(ev).to_dict()
    assert len(spec["vconcat"]) == len(ev.rules)  # one panel per rule, no stacked bars
    texts = [u for u in _layers(spec) if u.get("mark", {}).get("type") == "text"]
    assert len(texts) == len(ev.rules)  # each target line labelled on the chart


@pytest.fixture(scope="module")
def ev_metrics():
    """The sample log under a rate, a response-time and a late-share rule."""
    rules = [LEGACY_24H, NEW_12H, AVG_RESPONSE_TIME, resolve_rule("amazon-lrr")]
    return compare(sample_log(), rules)


def _x_axes(spec: dict) -> dict[str, dict]:
    """Each panel's title text -> the x encoding of its bars."""
    out = {}
    for panel in spec["vconcat"]:
        bars = next(u for u in panel["layer"] if u["mark"]["type"] == "bar")
        out[panel["title"]["text"]] = bars["encoding"]["x"]
    return out


def test_rate_distribution_draws_hours_on_an_hours_axis_and_says_lower_is_better(ev_metrics):
    ev = ev_metrics
    spec = _check(charts.rate_distribution(ev))
    axes = _x_axes(spec)
    hours = axes["avg-response-time: target at most 2 h (lower is better)"]
    assert "hours" in hours["title"] and hours["scale"]["domain"][0] == 0
    assert hours["scale"]["domain"][1] > 2  # the 2 h target line is on the axis
    assert "' h'" in hours["axis"]["labelExpr"]
    late = axes["amazon-lrr: target at most 10 % (lower is better)"]
    assert late["scale"]["domain"] == [0, 1] and "lower is better" in late["title"]
    assert axes["new-12h: target more than 85 %"]["scale"]["domain"] == [0, 1]
    assert spec["title"] == "Each rule's figure per shop (dashed line: the rule's target)"
    labels = chart_data.targets_data(ev)["label"].to_list()
    assert labels[2:] == ["avg-response-time target at most 2 h", "amazon-lrr target at most 10 %"]


def test_figure_histograms_count_every_rated_shop_once(ev_metrics):
    ev = ev_metrics
    shares = chart_data.rate_histogram_data(ev)
    hours = chart_data.hours_histogram_data(ev, max_hours=1.0)
    rated = ev.shops.filter(pl.col("rule_value").is_not_null())
    assert set(shares["rule"]) == {"legacy-24h", "new-12h", "amazon-lrr"}
    assert set(hours["rule"]) == {"avg-response-time"}
    assert shares["shops"].sum() + hours["shops"].sum() == rated.height
    assert hours["bin_start"].max() <= 1.0  # later figures in the last bin


def test_response_time_lines_only_for_rules_judging_a_window(ev_metrics):
    text = str(charts.response_time_distribution(ev_metrics).to_dict())
    assert "new-12h: 12 h" in text and "amazon-lrr: 24 h" in text
    assert "avg-response-time: 12 h" not in text


def test_pass_rate_by_segment_gives_each_median_in_its_unit(ev_metrics):
    ev = ev_metrics
    chart = charts.pass_rate_by_segment(pass_rates(ev, by="segment"), "segment", list(ev.rules))
    rows = _check(chart)
    values = next(iter(rows["datasets"].values()))
    art = [r for r in values if r["rule"] == "avg-response-time"]
    assert art and all(r["median_text"].endswith(" h") for r in art)
    assert {r["target"] for r in art} == {"at most 2 h (lower is better)"}
    rate = [r for r in values if r["rule"] == "new-12h"]
    assert all(r["median_text"].endswith(" %") for r in rate)


def test_target_explorer_binds_a_slider_and_a_window_select(ev_log):
    ev, log = ev_log
    spec = charts.target_explorer(ev, window_rates(log, [12, 24]), "segment").to_dict()
    binds = {p["name"]: p["bind"]["input"] for p in spec["params"]}
    assert binds == {"target_pct": "range", "window_pick": "select"}
    data = chart_data.target_explorer_data(ev, window_rates(log, [12, 24]), "segment")
    assert data.height < 5000 and data["shops"].sum() == 3 * 4  # 3 shops x (2 rules + 2 windows)


def test_sensitivity_marks_both_rules(ev_log):
    ev, log = ev_log
    s = sweep(log, [0.85, 0.9], [12, 24])
    text = str(charts.sensitivity_heatmap(s, rules=list(ev.rules)).to_dict())
    assert "legacy-24h: 24 h, 90 %" in text and "new-12h: 12 h, 85 %" in text
    assert "6.0 h" not in text and "a 85" not in text


# --- replications ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rep():
    from chatsim.replications import run_replications
    from chatsim.scenario import Scenario

    sc = Scenario.from_dict(
        {
            "name": "tiny",
            "seed": 5,
            "shops": 12,
            "period": {"start": "2025-08-15", "days": 4},
            "archetypes": {"small_team": {"share": 0.5}, "solo_weekdays": {"share": 0.5}},
            "analysis": {
                "targets": [0.8, 0.9],
                "windows_hours": [12, 24],
                "what_if": [{"name": "bots", "set": {"auto_reply_rate": 0.9}}],
            },
        }
    )
    return run_replications(sc, 3)


def test_every_interval_chart_is_titled_labelled_with_tooltips(rep):
    for chart in (
        charts.pass_share_intervals(rep),
        charts.flip_intervals(rep),
        charts.segment_intervals(rep),
        charts.sensitivity_bands(rep),
        charts.bridge_intervals(rep),
        charts.what_if_intervals(rep),
    ):
        spec = _check(chart)
        assert "95 % interval over 3 replications" in spec["title"]
        assert any("low" in str(u.get("encoding")) for u in _layers(spec))  # a bar or band


def test_interval_data_is_the_summary_with_names_and_ranges(rep):
    d = chart_data.interval_data(rep, "sweep", "share_passing")
    s = rep.summary("sweep").filter(pl.col("measure") == "share_passing")
    assert d.height == s.height == 4 and d["mean"].equals(s["mean"])
    assert set(d["name"]) == {"12 h", "24 h"}
    assert all("–" in r or " to " in r or r.endswith("%") for r in d["range"])
    seg = chart_data.interval_data(rep, "segments", "share_passing")
    assert set(seg["name"]) == {"Small teams", "Solo weekday sellers"}
    flips = chart_data.interval_data(rep, "flips", ["loses", "gains"])
    assert flips["name"].to_list() == ["Shops losing status", "Shops gaining status"]
    assert (flips["low"] >= 0).all()  # a count's interval never goes below 0


def test_bridge_step_names_wrap_under_their_bars():
    """The bridge's step names are cut into short lines (the axis splits them on ``|``), so
    neighbouring labels under narrow bars never run into each other."""
    from chatsim.charts.comparison import bridge_chart
    from chatsim.explain import bridge_table
    from chatsim.metrics import compare
    from chatsim.rules import LEGACY_24H, NEW_12H
    from chatsim.sample import sample_log

    log = sample_log()
    spec = bridge_chart(bridge_table(compare(log, [LEGACY_24H, NEW_12H]), log)).to_dict()
    values = next(iter(spec["datasets"].values()))
    assert len(values) >= 4
    for row in values:
        lines = row["axis_label"].split("|")
        assert all(len(line) <= 16 for line in lines), row["axis_label"]
        assert "".join(lines).replace(" ", "") == row["label"].replace(" ", "")


def test_window_and_rule_colours_are_separate_scales():
    """The windows' colours and the rules' are separate scales on the sensitivity page: shared,
    the window curves lose their legend and the chosen window's bars get no colour at all."""
    from chatsim.analysis import sweep, window_rates
    from chatsim.metrics import compare
    from chatsim.rules import LEGACY_24H, NEW_12H
    from chatsim.sample import sample_log

    log = sample_log()
    ev = compare(log, [LEGACY_24H, NEW_12H])
    explorer = charts.target_explorer(ev, window_rates(log, [6, 12, 24]), "segment").to_dict()
    assert explorer["resolve"]["scale"]["color"] == "independent"
    curves = charts.sensitivity_curves(
        sweep(log, [0.8, 0.85, 0.9], [12, 24]), 0.85, [LEGACY_24H, NEW_12H]
    ).to_dict()
    assert curves["resolve"]["scale"]["color"] == "independent"
    window_layer = curves["layer"][0]
    assert window_layer["encoding"]["color"]["title"] == "Response window"
    assert window_layer["encoding"]["color"].get("legend", {}) is not None


def test_sensitivity_marks_only_plain_response_rate_rules(ev_metrics):
    """A sweep varies the share answered in time: a response time (2 h, never "200 %") or
    a late share has no point on it."""
    pts = chart_data.rule_points_data(list(ev_metrics.rules))
    assert pts["rule"].to_list() == ["legacy-24h", "new-12h"]
    s = sweep(sample_log(), [0.1, 0.85], [12, 24])
    text = str(charts.sensitivity_heatmap(s, rules=list(ev_metrics.rules)).to_dict())
    assert "200 %" not in text and "amazon-lrr: 24 h" not in text
