"""What a reader is told about replications (chatsim/explain/uncertainty.py): key numbers
as ranges, the plain-words reading, and warnings when an interval is too wide."""

from __future__ import annotations

import polars as pl
import pytest

from chatsim.explain.formats import format_range
from chatsim.explain.uncertainty import (
    WIDE_COUNT,
    WIDE_SHARE,
    interval_key_numbers,
    interval_reading,
    interval_takeaways,
    interval_warnings,
    is_too_wide,
)
from chatsim.replications import KEY_DTYPES, TABLES, Replications, mean_interval


def runs_of(rows: dict[str, list[tuple]]) -> dict[str, pl.DataFrame]:
    """Per table, rows of (replication, *keys, measure, value); the other tables empty."""
    out = {}
    for t, keys in TABLES.items():
        schema = {"replication": pl.Int32, **{k: KEY_DTYPES[k] for k in keys}}
        schema |= {"measure": pl.String, "value": pl.Float64}
        out[t] = pl.DataFrame(rows.get(t, []), schema=schema, orient="row")
    return out


def fake(old: list[float], new: list[float], loses: list[int], near: list[int]) -> Replications:
    """A run of len(old) replications: shares meeting each rule, shops losing status."""
    rules, flips, changes = [], [], []
    for i, (a, b, k, m) in enumerate(zip(old, new, loses, near, strict=True)):
        rules += [(i, "old", "share_passing", a), (i, "new", "share_passing", b)]
        rules += [(i, "old", "overall_rate", 0.9), (i, "new", "overall_rate", 0.8)]
        flips += [(i, "loses", k), (i, "gains", 0), (i, "share_change", b - a)]
        flips += [(i, "loses_within_noise", m), (i, "gains_within_noise", 0)]
        changes += [(i, "solo_weekdays", "change", b - a - 0.1), (i, "agency_247", "change", 0.0)]
    runs = runs_of({"rules": rules, "flips": flips, "segment_changes": changes})
    n = len(old)
    return Replications("x", 1, tuple(range(n)), ("old", "new"), "archetype", runs)


@pytest.fixture
def steady() -> Replications:
    return fake(
        [0.60, 0.61, 0.62, 0.61, 0.60],
        [0.30, 0.31, 0.30, 0.32, 0.31],
        [80, 84, 82, 86, 83],
        [2, 3, 2, 4, 3],
    )


def test_key_numbers_are_ranges_of_the_intervals(steady):
    frame = interval_key_numbers(steady).as_frame()
    by_key = {r["key"]: r for r in frame.to_dicts()}
    # mean 60.8 %, sd 0.837 pp, t(4) = 2.776: ±1.04 pp
    iv = mean_interval([0.60, 0.61, 0.62, 0.61, 0.60])
    assert by_key["passing_old"]["value"] == format_range(iv.low, iv.high) == "59.8–61.8 %"
    assert by_key["passing_old"]["detail"] == "mean 60.8 % over 5 replications"
    assert (
        by_key["share_change"]["value"].endswith(" pp")
        and " to " in by_key["share_change"]["value"]
    )
    assert by_key["loses"]["value"] == "80–86"
    assert by_key["loses"]["detail"].endswith("; 2–4 within noise of a target")
    assert by_key["gains"]["detail"] == "mean 0.0 over 5 replications"  # none within noise
    assert by_key["most_affected"]["detail"].startswith("Solo weekday sellers: mean ")
    assert list(frame.columns) == ["key", "label", "value", "detail"]


def test_narrow_intervals_give_no_warning_but_a_changing_sign_does(steady):
    assert interval_warnings(steady) == []
    flat = fake([0.30, 0.31, 0.30, 0.31], [0.31, 0.30, 0.30, 0.31], [1, 2, 1, 2], [0, 0, 0, 0])
    (warning,) = interval_warnings(flat)
    assert warning.startswith("The change in the share passing (") and "may be zero" in warning


def test_wide_intervals_are_named_with_their_width(steady):
    wide = fake([0.40, 0.70, 0.55], [0.30, 0.31, 0.30], [80, 84, 82], [2, 3, 2])
    found = interval_warnings(wide)
    assert found[0].startswith("The share of shops meeting old is only known to within ±")
    assert "after 3 replications: too wide to support a conclusion" in found[0]
    counts = fake([0.6, 0.6, 0.61], [0.3, 0.31, 0.3], [2, 30, 12], [0, 0, 0])
    assert any(
        w.startswith("The number of shops that lose status") for w in interval_warnings(counts)
    )


def test_one_replication_has_no_interval():
    one = fake([0.6], [0.3], [80], [2])
    assert interval_warnings(one)[0].startswith("Only 1 replication: no figure has an interval")
    assert interval_key_numbers(one).as_frame()["value"][0] == "60.0 %"
    assert "With a single simulation there is no range" in interval_reading(one)


def test_thresholds():
    assert (WIDE_SHARE, WIDE_COUNT) == (0.05, 0.25)
    assert not is_too_wide(mean_interval([0.30, 0.31, 0.32]))
    assert is_too_wide(mean_interval([0.30, 0.40]))  # t(1) = 12.7: ±63.5 pp
    assert not is_too_wide(mean_interval([80, 84, 82, 86, 83]), "count")
    assert is_too_wide(mean_interval([2, 30, 12]), "count")
    assert not is_too_wide(mean_interval([0, 0, 1, 0]), "count")  # under one shop


def test_takeaways_quote_the_ranges(steady):
    found = interval_takeaways(steady)
    assert [t.key for t in found] == ["intervals"]
    assert found[0].text.startswith("Over 5 replications, 59.8–61.8 % of rated shops meet old")
    assert all(f in found[0].text for f in found[0].figures)
    reading = interval_reading(steady)
    assert "5 simulations" in reading and "95 in 100" in reading and "_" not in reading
