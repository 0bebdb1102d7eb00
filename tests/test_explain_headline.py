"""The key numbers of a two-rule evaluation, on a hand-made log and the bundled sample."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from chatsim.analysis import flip_counts, flips, pass_rates
from chatsim.explain.headline import SegmentChange, key_numbers, segment_column
from chatsim.explain.labels import MINUS
from chatsim.metrics import compare
from chatsim.rules import LEGACY_24H, NEW_12H
from chatsim.sample import sample_log
from tests.test_explain_bridge import rule_change_log


@pytest.fixture(scope="module")
def ev():
    return compare(rule_change_log())


def test_key_numbers_equal_the_evaluation(ev):
    h = key_numbers(ev)
    assert (h.old, h.new, h.shops, h.segment_by) == ("legacy-24h", "new-12h", 5, "segment")
    rates = pass_rates(ev)
    assert (h.passing_old, h.rated_old) == tuple(rates.row(0)[1:3][::-1])
    assert (h.passing_new, h.rated_new) == tuple(rates.row(1)[1:3][::-1])
    assert h.share_old == rates["share_passing"][0] and h.share_new == rates["share_passing"][1]
    counts = dict(flip_counts(flips(ev)).select("flip", "shops").iter_rows())
    assert (h.loses, h.gains) == (counts["loses_under_new"], counts["gains_under_new"]) == (3, 2)
    s = ev.summary()
    assert [h.rate_old, h.rate_new] == s["overall_rate"].to_list()
    assert [h.counted_old, h.counted_new] == s["counted_chats"].to_list()


def test_segments_most_and_least_affected(ev):
    h = key_numbers(ev)
    # segment a: win1, win2 pass 24 h only, tgt 85 % only: 2/3 -> 1/3; b: val gains, wkd loses
    assert [(s.segment, s.shops_rated) for s in h.segments] == [("a", 3), ("b", 2)]
    a, b = h.segments
    assert (a.share_old, a.share_new) == pytest.approx((2 / 3, 1 / 3))
    assert (b.share_old, b.share_new, b.change) == (0.5, 0.5, 0.0)
    assert h.most_affected == a and h.least_affected == b
    assert h.segment_noun == "segment"


def test_the_strip_rows_are_labelled_and_formatted(ev):
    h = key_numbers(ev)
    frame = h.as_frame()
    assert frame.columns == ["key", "label", "value", "detail"]
    values = dict(frame.select("key", "value").iter_rows())
    assert values == {
        "passing_old": "60.0 %",
        "passing_new": "40.0 %",
        "loses": "3",
        "gains": "2",
        "rate_old": values["rate_old"],
        "rate_new": values["rate_new"],
        "most_affected": f"{MINUS}33.3 pp",
        "least_affected": "0.0 pp",
        "counted_old": values["counted_old"],
        "counted_new": values["counted_new"],
    }
    details = dict(frame.select("key", "detail").iter_rows())
    assert details["passing_old"] == "3 of 5 rated shops"
    assert details["most_affected"] == "A: 66.7 % → 33.3 %"
    assert [r[0] for r in h.rows()] == frame["label"].to_list()
    assert frame["label"][0] == "Meet legacy-24h"
    assert frame.filter(pl.col("key") == "most_affected")["label"][0] == "Most affected segment"


def test_archetypes_are_seller_types_and_one_segment_has_no_least():
    ev = compare(sample_log())
    assert segment_column(ev) == "segment"
    h = key_numbers(ev, by="segment")
    assert len(h.segments) == 3
    one = key_numbers(
        ev.__class__(
            **{**ev.__dict__, "shops": ev.shops.with_columns(pl.lit("x").alias("archetype"))}
        )
    )
    assert one.segment_by == "archetype" and one.segment_noun == "seller type"
    assert len(one.segments) == 1 and one.least_affected is None
    assert "least_affected" not in one.as_frame()["key"].to_list()
    assert SegmentChange("agency_247", 3, 1.0, 0.5).label == "24/7 agencies"


def test_rules_picked_by_name_and_without_segments():
    log = rule_change_log()
    ev = compare(log, [NEW_12H, LEGACY_24H])
    h = key_numbers(ev, old="legacy-24h", new="new-12h")
    assert (h.passing_old, h.passing_new, h.loses, h.gains) == (3, 2, 3, 2)
    bare = replace(ev, shops=ev.shops.drop("segment"))
    h = key_numbers(bare)
    assert h.segment_by is None and h.segments == () and h.most_affected is None
