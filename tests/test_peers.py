"""The peers analysis on a hand-worked evaluation: five shops under three designs.

| shop | seller type | legacy-24h | new-12h | etsy-star |
|---|---|---|---|---|
| s1 | 24/7 agencies | pass (clear) | pass (clear) | pass |
| s2 | 24/7 agencies | pass (too close) | fail (too close) | pass |
| s3 | solo weekday sellers | fail | fail | pass |
| s4 | solo weekday sellers | pass | fail (too close) | pass |
| s5 | solo weekday sellers | not rated | fail (too few chats) | not rated |

The analysis reads only the rules and the shop table, so the evaluation is built by hand.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatsim import charts
from chatsim.charts.peers import peer_disagreement, peer_distance, peer_favours, peer_pass_shares
from chatsim.errors import RuleError
from chatsim.metrics import Evaluation
from chatsim.peers import (
    disagreement,
    distance_from_new,
    favours,
    pass_shares,
    peer_key_numbers,
    peer_rules,
    peer_takeaways,
    rule_labels,
    split_shops,
    with_replication_ranges,
)
from chatsim.presets import PRESETS
from chatsim.rules import LEGACY_24H, NEW_12H, resolve_rule

ETSY = "Etsy Star Seller, as publicly described"
T, F, N = True, False, None
STANDING = {  # shop: (segment, legacy, new, etsy)
    "s1": ("agency_247", T, T, T),
    "s2": ("agency_247", T, F, T),
    "s3": ("solo_weekdays", F, F, T),
    "s4": ("solo_weekdays", T, F, T),
    "s5": ("solo_weekdays", N, F, N),
}
CONFIDENCE = {
    "legacy-24h": {
        "s1": "clear_pass",
        "s2": "too_close_to_call",
        "s3": "clear_fail",
        "s4": "clear_pass",
        "s5": "no_chats",
    },
    "new-12h": {
        "s1": "clear_pass",
        "s2": "too_close_to_call",
        "s3": "clear_fail",
        "s4": "too_close_to_call",
        "s5": "too_few_chats",
    },
    "etsy-star": dict.fromkeys(STANDING, "clear_pass") | {"s5": "no_chats"},
}


def _evaluation(standing=STANDING, confidence=CONFIDENCE) -> Evaluation:
    rules = [LEGACY_24H, NEW_12H, resolve_rule("etsy-star")]
    rows = []
    for i, rule in enumerate(rules):
        for shop, (seg, *meets) in standing.items():
            rows.append((rule.name, shop, seg, meets[i], confidence[rule.name][shop]))
    shops = pl.DataFrame(
        rows,
        schema={
            "rule": pl.String,
            "shop_id": pl.String,
            "archetype": pl.String,
            "meets_target": pl.Boolean,
            "confidence": pl.String,
        },
        orient="row",
    )
    return Evaluation(
        rules=rules,
        as_of=dt.datetime(2025, 9, 1, tzinfo=dt.UTC),
        chats=pl.DataFrame(),
        shops=shops,
        messages_used=0,
        messages_after_cutoff=0,
    )


@pytest.fixture(scope="module")
def ev() -> Evaluation:
    return _evaluation()


def test_pass_shares_with_the_range_the_shop_intervals_allow(ev):
    t = pass_shares(ev, "new-12h")
    assert t["rule"].to_list() == ["legacy-24h", "new-12h", "etsy-star"]
    assert t["label"].to_list() == ["legacy-24h", "new-12h", ETSY]
    assert t["shops"].to_list() == [5, 5, 5]
    assert t["shops_rated"].to_list() == [4, 5, 4]
    assert t["shops_passing"].to_list() == [3, 1, 4]
    assert t["share_passing"].to_list() == pytest.approx([0.75, 0.2, 1.0])
    # legacy: s2 passes but is too close to call -> 2/4 clearly, 3/4 at most
    # new: s1 clearly; s2 and s4 fail but are too close -> 1/5 to 3/5
    assert t["share_low"].to_list() == pytest.approx([0.5, 0.2, 1.0])
    assert t["share_high"].to_list() == pytest.approx([0.75, 0.6, 1.0])
    assert t["change_vs_new"].to_list() == pytest.approx([0.55, 0.0, 0.8])


def test_no_range_for_a_figure_without_shop_intervals():
    conf = {r: dict(c) for r, c in CONFIDENCE.items()}
    conf["etsy-star"] = dict.fromkeys(STANDING, None)  # e.g. a blended rate: no interval
    t = pass_shares(_evaluation(confidence=conf), "new-12h")
    assert t["share_low"].to_list()[2] is None and t["share_high"].to_list()[2] is None
    assert t["share_low"].to_list()[:2] == pytest.approx([0.5, 0.2])


def test_pass_shares_names_a_missing_new_rule(ev):
    with pytest.raises(RuleError, match="no rule named 'new-8h'"):
        pass_shares(ev, "new-8h")


def test_disagreement_of_every_pair(ev):
    d = disagreement(ev)
    assert d.select("rule_a", "rule_b").rows() == [
        ("legacy-24h", "new-12h"),
        ("legacy-24h", "etsy-star"),
        ("new-12h", "etsy-star"),
    ]
    cols = ["shops_both", "pass_both", "only_a", "only_b", "fail_both", "disagree"]
    assert d.select(cols).rows() == [(4, 1, 2, 0, 1, 2), (4, 3, 0, 1, 0, 1), (4, 1, 0, 3, 0, 3)]
    assert d["share_disagree"].to_list() == pytest.approx([0.5, 0.25, 0.75])
    assert d["label_b"].to_list()[1:] == [ETSY, ETSY]


def test_split_shops_pass_some_designs_and_fail_others(ev):
    s = split_shops(ev)
    assert s.select("shop_id", "segment", "rules_rating", "rules_passing").rows() == [
        ("s2", "agency_247", 3, 2),
        ("s3", "solo_weekdays", 3, 1),
        ("s4", "solo_weekdays", 3, 2),
    ]
    assert s.filter(pl.col("shop_id") == "s3").select("passes", "fails").row(0) == (
        ETSY,
        "legacy-24h; new-12h",
    )
    assert s.filter(pl.col("shop_id") == "s2").select("passes", "fails").row(0) == (
        f"legacy-24h; {ETSY}",
        "new-12h",
    )


def test_favours_by_seller_type_against_the_new_rule(ev):
    f = favours(ev, "new-12h")
    got = {(r["segment"], r["rule"]): r for r in f.iter_rows(named=True)}
    assert got[("agency_247", "new-12h")]["share_passing"] == pytest.approx(0.5)
    assert got[("agency_247", "legacy-24h")]["change_vs_new"] == pytest.approx(0.5)
    assert got[("solo_weekdays", "new-12h")]["shops_rated"] == 3
    assert got[("solo_weekdays", "legacy-24h")]["shops_rated"] == 2
    assert got[("solo_weekdays", "legacy-24h")]["change_vs_new"] == pytest.approx(0.5)
    assert got[("solo_weekdays", "etsy-star")]["change_vs_new"] == pytest.approx(1.0)
    assert got[("solo_weekdays", "etsy-star")]["segment_label"] == "Solo weekday sellers"
    assert f.height == 6


def test_distance_from_the_new_rule_closest_first_with_its_sentence(ev):
    d = distance_from_new(ev, "new-12h")
    assert d["rule"].to_list() == ["legacy-24h", "etsy-star"]
    assert d.select("shops_both", "disagree", "only_other", "only_new").rows() == [
        (4, 2, 2, 0),
        (4, 3, 3, 0),
    ]
    assert d["change"].to_list() == pytest.approx([0.55, 0.8])
    assert d["sentence"][0] == (
        "legacy-24h: 75.0 % of rated shops pass, 55.0 pp more than under new-12h; the two "
        "designs classify 50.0 % of the 4 shops rated under both differently (2 pass only "
        "legacy-24h, 0 only new-12h)."
    )
    assert d["sentence"][1].startswith(f"{ETSY}: 100.0 % of rated shops pass, 80.0 pp more")


def test_key_numbers_and_takeaways_quote_the_figures(ev):
    k = {key: (value, detail) for key, _, value, detail in peer_key_numbers(ev, "new-12h").items}
    assert k["new"] == ("20.0 %", "1 of 5 rated shops")
    assert k["others"] == ("75.0 % to 100.0 %", f"lowest legacy-24h; highest {ETSY}")
    assert k["closest"][0] == "legacy-24h" and k["farthest"][0] == ETSY
    assert k["split"] == ("3 shops", "pass some designs and fail others, of 5 rated")
    t = {x.key: x.text for x in peer_takeaways(ev, "new-12h")}
    assert list(t) == ["spread", "distance", "split", "segment", "caution"]
    assert t["spread"] == (
        f"On the same shops, the share passing ranges from 20.0 % under new-12h to 100.0 % "
        f"under {ETSY} (80.0 pp apart)."
    )
    assert t["distance"] == (
        "new-12h sits closest to legacy-24h (50.0 % of shared shops classified differently) "
        f"and farthest from {ETSY} (75.0 %)."
    )
    assert t["split"].startswith("For 3 of the 5 rated shops (60.0 %) the verdict depends")
    assert t["segment"] == (
        f"Against new-12h, the design that favours one seller type most is {ETSY}: 100.0 % of "
        "solo weekday sellers pass it (+100.0 pp, 2 rated)."
    )
    assert t["caution"].startswith("Only 4 shops are rated under every design")


def test_agreeing_designs_say_so():
    same = {s: (seg, m[1], m[1], m[1]) for s, (seg, *m) in STANDING.items()}
    ev = _evaluation(same)
    assert split_shops(ev).height == 0
    t = {x.key: x.text for x in peer_takeaways(ev, "new-12h", few_shops=0)}
    assert t["split"] == "Every design gives each of the 5 rated shops the same verdict."
    assert "segment" not in t and "caution" not in t
    assert distance_from_new(ev, "new-12h")["sentence"][0].endswith(
        "classify none of the 5 shops rated under both differently."
    )


def _units(spec: dict) -> list[dict]:
    for key in ("layer", "vconcat", "hconcat"):
        if key in spec:
            return [unit for part in spec[key] for unit in _units(part)]
    return [spec]


def _check(chart) -> dict:
    """A title, axis titles on every layer's axes, tooltips."""
    spec = chart.to_dict()
    assert spec.get("title"), "chart has no title"
    layers = [u for u in _units(spec) if "encoding" in u]
    for layer in layers:
        for axis in ("x", "y"):
            if axis in layer["encoding"] and "field" in layer["encoding"][axis]:
                assert layer["encoding"][axis].get("title"), f"{axis} axis has no title"
    assert any("tooltip" in layer["encoding"] for layer in layers), "no tooltips"
    return spec


class _Rep:
    """A stand-in for replications: just the summary of the ``rules`` table."""

    def summary(self, table: str) -> pl.DataFrame:
        assert table == "rules"
        return pl.DataFrame(
            {
                "rule": ["new-12h", "new-12h"],
                "measure": ["share_passing", "shops_rated"],
                "mean": [0.25, 5.0],
                "low": [0.1, 4.0],
                "high": [0.4, 6.0],
            }
        )


def test_replication_ranges_join_by_rule(ev):
    t = with_replication_ranges(pass_shares(ev, "new-12h"), _Rep())
    assert t["rule"].to_list() == ["legacy-24h", "new-12h", "etsy-star"]
    assert t["rep_low"].to_list() == [None, 0.1, None]
    assert t["rep_high"].to_list() == [None, 0.4, None]
    none = with_replication_ranges(pass_shares(ev, "new-12h"), None)
    assert none["rep_mean"].null_count() == 3


def test_peer_rules_keep_each_name_once_and_need_two():
    names = [r.name for r in peer_rules(["legacy-24h", "new-12h"], list(PRESETS) + ["new-12h"])]
    assert names == ["legacy-24h", "new-12h", *PRESETS]
    with pytest.raises(RuleError, match="at least two rules"):
        peer_rules(["new-12h"], ["new-12h"])


def test_every_preset_is_labelled_as_publicly_described():
    ev = _evaluation()
    labels = rule_labels(ev)
    assert labels["etsy-star"].endswith(", as publicly described")
    assert labels["new-12h"] == "new-12h"


def test_peer_charts_are_titled_labelled_with_tooltips(ev):
    made = [
        peer_pass_shares(with_replication_ranges(pass_shares(ev, "new-12h"), _Rep())),
        peer_disagreement(disagreement(ev)),
        peer_favours(favours(ev, "new-12h"), "new-12h"),
        peer_distance(distance_from_new(ev, "new-12h"), "new-12h"),
    ]
    for chart in made:
        spec = _check(chart)
        assert "as publicly described" in str(spec)  # the preset's label reaches the chart
    assert charts.peer_pass_shares is peer_pass_shares


def test_a_rule_keeps_its_colour_on_the_peers_page(ev):
    from chatsim.explain.colors import rule_colors

    spec = peer_pass_shares(pass_shares(ev, "new-12h")).to_dict()
    scale = next(
        layer["encoding"]["color"]["scale"]
        for layer in spec["layer"]
        if "color" in layer.get("encoding", {})
    )
    colors = rule_colors(["legacy-24h", "new-12h", "etsy-star"])
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "legacy-24h": colors["legacy-24h"],
        "new-12h": colors["new-12h"],
        ETSY: colors["etsy-star"],
    }


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([T, F, N]), st.sampled_from([T, F, N]), st.sampled_from([T, F, N])
        ),
        min_size=1,
        max_size=12,
    )
)
def test_counts_add_up_for_any_standing(standing):
    """Pairs split into the four outcomes; a split shop is one two designs disagree on."""
    rows = {f"s{i}": ("agency_247", *m) for i, m in enumerate(standing)}
    conf = {r: dict.fromkeys(rows, "clear_pass") for r in CONFIDENCE}
    ev = _evaluation(rows, conf)
    d = disagreement(ev)
    outcome = d["pass_both"] + d["only_a"] + d["only_b"] + d["fail_both"]
    assert (outcome == d["shops_both"]).all()
    split = set(split_shops(ev)["shop_id"])
    disagreeing = {
        s for s, (_, *m) in rows.items() if {x for x in m if x is not None} == {True, False}
    }
    assert split == disagreeing
    shares = pass_shares(ev, "new-12h")
    for r in shares.iter_rows(named=True):
        if r["share_passing"] is not None:
            assert r["share_low"] <= r["share_passing"] <= r["share_high"]
