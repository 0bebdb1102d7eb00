"""Charts: aggregated data, titles, axis titles with units, tooltips."""

from __future__ import annotations

import polars as pl
import pytest

from chatsim import chart_data, charts
from chatsim.analysis import flips, pass_rates, sweep
from chatsim.metrics import compare
from chatsim.sample import sample_log


@pytest.fixture(scope="module")
def ev_log():
    log = sample_log()
    return compare(log), log


def _layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


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
    tl = chart_data.shop_timeline_data(ev, "shop_b")
    made = [
        charts.rate_distribution(ev),
        charts.flip_matrix(f, "legacy-24h", "new-12h"),
        charts.response_time_distribution(ev),
        charts.unanswered_heatmap(ev, log),
        charts.pass_rate_by_segment(
            pass_rates(ev, by="segment"), "segment", ["legacy-24h", "new-12h"]
        ),
        charts.sensitivity_curves(s, highlight_target=0.85),
        charts.sensitivity_heatmap(s),
        charts.window_by_segment(sweep(log, [0.85], [12, 24], by="segment"), "segment", 0.85),
        charts.shop_timeline(tl, "shop_b", "new-12h"),
        charts.daily_status(tl, "shop_b"),
        charts.what_if_chart(
            pl.DataFrame({"what_if": ["x"], "rescued": [2], "newly_failing": [0]})
        ),
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
