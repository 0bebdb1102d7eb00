"""The Shop Health scorecard (chatsim/scorecard.py) and its chart: hand-worked shops under
each Store Rating boost rule, who gains the boost by seller type, the report section."""

from __future__ import annotations

import pytest

from chatsim.charts.scorecard import boost_chart
from chatsim.errors import RuleError
from chatsim.explain.labels import segment_label
from chatsim.metrics import compare
from chatsim.rules import AVG_RESPONSE_TIME, NEW_12H
from chatsim.scorecard import (
    DEFAULT_RULES,
    boost_by_seller_type,
    check_boost,
    scorecard,
    scorecard_takeaways,
)
from tests.logbuilder import at, log_of, msgs

AS_OF = at(30)


def four_shops():
    """s1: answered after 1 h, rated satisfied (meets all three); s2: after 5 h, satisfied
    (too slow on average); s3: after 1 h, never rated (no satisfaction figure); s4: only a
    pending chat (no figure at all). s1 and s2 are solo sellers, s3 and s4 agencies."""
    rows = []
    for shop, hours, rated in (("s1", 1, True), ("s2", 5, True), ("s3", 1, False)):
        part = [(f"{shop}-c", at(0), "buyer"), (f"{shop}-c", at(hours), "seller")]
        if rated:
            part.append((f"{shop}-c", at(hours + 1), "buyer", "text", {"rating": "satisfied"}))
        rows += msgs(*part, shop=shop)
    rows += msgs(("s4-c", at(29), "buyer"), shop="s4")
    for i, r in enumerate(rows):
        r["message_id"] = i + 1
    shops = [
        {"shop_id": s, "timezone": "UTC", "archetype": a}
        for s, a in (("s1", "solo"), ("s2", "solo"), ("s3", "agency"), ("s4", "agency"))
    ]
    return log_of(rows, shops=shops)


def card(boost="meets_all"):
    return scorecard(four_shops(), boost=boost, as_of=AS_OF)


def test_figures_side_by_side():
    c = card()
    assert c["shop_id"].to_list() == ["s1", "s2", "s3", "s4"]
    assert c["new-12h_value"].to_list() == [1.0, 1.0, 1.0, None]
    assert c["avg-response-time_value"].to_list() == [1.0, 5.0, 1.0, None]
    assert c["chat-satisfaction_value"].to_list() == [1.0, 1.0, None, None]
    assert c["avg-response-time_meets"].to_list() == [True, False, True, None]
    assert c["metrics_rated"].to_list() == [3, 3, 2, 0]
    assert c["metrics_met"].to_list() == [3, 2, 2, 0]
    assert "archetype" in c.columns


@pytest.mark.parametrize(
    ("boost", "want"),
    [
        # every metric rated and met: s1 only (s3 has no satisfaction figure)
        ("meets_all", [True, False, False, None]),
        # the weakest metric relative to its target decides: s2's 5 h against 2 h (-150 %);
        # s3's response rate (1.0 against 0.85: +17.6 %) beats its 1 h against 2 h (+50 %)
        ("lowest_decides", [True, False, True, None]),
        (2, [True, True, True, None]),
        (3, [True, False, False, None]),
    ],
)
def test_each_boost_rule(boost, want):
    assert card(boost)["boost"].to_list() == want


def test_the_weakest_metric_is_named():
    # s1: rate +17.6 %, time +50 %, satisfaction +25 %; s2: time -150 %; s3: no satisfaction
    assert card("lowest_decides")["deciding_rule"].to_list() == [
        "new-12h",
        "avg-response-time",
        "new-12h",
        None,
    ]


def test_from_an_evaluation_equals_from_the_log():
    ev = compare(four_shops(), list(DEFAULT_RULES), as_of=AS_OF)
    assert scorecard(ev).equals(card())
    with pytest.raises(RuleError, match="the evaluation has no rule"):
        scorecard(compare(four_shops(), [NEW_12H], as_of=AS_OF))


def test_rules_by_name_and_a_changed_target():
    slower = AVG_RESPONSE_TIME.replace(target=6.0)
    c = scorecard(four_shops(), ["new-12h", slower, "chat-satisfaction"], as_of=AS_OF)
    assert c["boost"].to_list() == [True, True, False, None]


@pytest.mark.parametrize(
    ("boost", "match"),
    [
        ("all", "'all' is not one of"),
        (0, "from 1 to 3"),
        (4, "from 1 to 3"),
        (True, "expected one of"),
        (2.5, "expected one of"),
    ],
)
def test_bad_boost_rules_are_named(boost, match):
    with pytest.raises(RuleError, match=match):
        check_boost(boost, 3)
    with pytest.raises(RuleError, match=match):
        card(boost)


def test_who_gains_the_boost_by_seller_type():
    f = boost_by_seller_type(card())
    rows = {r["seller_type"]: r for r in f.to_dicts()}
    # today: the 12-hour rate alone; s1, s2, s3 meet it; with every metric: s1 only
    assert rows["solo"] == {
        "seller_type": "solo",
        "shops": 2,
        "boosted_today": 2,
        "boosted": 1,
        "gain": 0,
        "lose": 1,
        "share_today": 1.0,
        "share_boosted": 0.5,
    }
    assert (rows["agency"]["boosted_today"], rows["agency"]["lose"]) == (1, 1)
    assert f["shops"].sum() == 4 and f["seller_type"].to_list() == ["agency", "solo"]
    # a lenient boost rule lets s3 gain nothing and lose nothing
    lenient = boost_by_seller_type(card(2))
    assert lenient["lose"].sum() == 0 and lenient["gain"].sum() == 0
    everyone = boost_by_seller_type(card().drop("archetype"))
    assert everyone["seller_type"].to_list() == ["all"]
    with pytest.raises(RuleError, match="no rule 'legacy-24h' on the card"):
        boost_by_seller_type(card(), today="legacy-24h")


def test_takeaways_read_the_figures():
    text = [t.text for t in scorecard_takeaways(boost_by_seller_type(card()))]
    assert text[0].startswith("With the coming metrics, 1 of 4 shops (25.0 %)")
    assert "against 3 (75.0 %)" in text[0] and "0 would gain it and 2 lose it" in text[0]


def test_chart_is_titled_labelled_with_tooltips():
    spec = boost_chart(boost_by_seller_type(card())).to_dict()
    assert spec["title"].startswith("Shops with the Store Rating boost")
    enc = spec["encoding"]
    assert enc["x"]["title"].startswith("Shops with the Store Rating boost (share")
    assert enc["y"]["title"] == "Seller type" and len(enc["tooltip"]) >= 5
    values = spec["datasets"][next(iter(spec["datasets"]))]
    assert {v["seller_type_label"] for v in values} == {
        segment_label("solo"),
        segment_label("agency"),
    }
    assert "solo" not in {v["seller_type_label"] for v in values}
    assert len(values) == 4  # two seller types, today and with the coming metrics


def test_report_section_runs_on_a_context():
    pytest.importorskip("IPython")
    from chatsim.notebook import load_context
    from chatsim.sample import sample_log_path
    from chatsim.scorecard import show_scorecard

    ctx = load_context(log_path=str(sample_log_path()), rules=["legacy-24h", "new-12h"])
    frame = show_scorecard(ctx)
    assert frame["shops"].sum() == ctx.shops.height
    assert set(frame.columns) >= {"seller_type", "gain", "lose"}
