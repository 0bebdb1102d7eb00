"""The drill-down page's shops, anchors and links, and its per-shop tables."""

from __future__ import annotations

import re

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatsim.analysis import flips, top_losers
from chatsim.chart_data import shop_chats_local
from chatsim.drilldown import (
    drilldown_links,
    drilldown_overview,
    drilldown_shops,
    missed_chats,
    shop_anchor,
    shop_lead,
    shop_profile,
    shop_rule_table,
)
from chatsim.errors import RuleError
from chatsim.metrics import compare
from chatsim.notebook import load_context
from chatsim.rules import LEGACY_24H, NEW_12H
from chatsim.sample import sample_log, sample_log_path

ANCHOR = re.compile(r"shop-[A-Za-z0-9_-]+")


@given(st.text(min_size=1, max_size=80))
def test_every_shop_id_gets_a_plain_anchor(shop_id: str) -> None:
    anchor = shop_anchor(shop_id)
    assert ANCHOR.fullmatch(anchor)
    assert len(anchor) <= 5 + 40 + 9


@given(st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True))
def test_a_plain_id_reads_as_itself(shop_id: str) -> None:
    assert shop_anchor(shop_id) == f"shop-{shop_id}"


def test_ids_that_read_alike_get_different_anchors() -> None:
    ids = ["a b", "a/b", "a-b", "a_b", "<b>", '"><script>', "a" * 60, "a" * 61, "é"]
    anchors = [shop_anchor(i) for i in ids]
    assert len(set(anchors)) == len(ids)


@pytest.fixture(scope="module")
def ev():
    return compare(sample_log(), [LEGACY_24H, NEW_12H])


@pytest.fixture(scope="module")
def losing_ev():
    """Three shops lose status (one chat each answered after 15 h: in time for 24 h, late
    for 12 h), with drops s2 > s1 > s3; s4 answers everything within the hour."""
    from tests.logbuilder import at, log_of

    rows: list[dict] = []
    for shop, prompt, late in (("s1", 10, 1), ("s2", 5, 1), ("s3", 15, 1), ("s4", 10, 0)):
        for k in range(prompt + late):
            opened = at(days=k)
            after = 15 if k < late else 1
            for when, sender in ((opened, "buyer"), (at(hours=after, base=opened), "seller")):
                rows.append(
                    {
                        "message_id": len(rows) + 1,
                        "shop_id": shop,
                        "conversation_id": f"{shop}-{k}",
                        "buyer_id": f"b-{shop}-{k}",
                        "sent_at": when,
                        "sender": sender,
                        "kind": "text",
                        "is_broadcast": False,
                        "rating": None,
                        "valid_reply": True,
                    }
                )
    rules = [LEGACY_24H.replace(target=0.9), NEW_12H.replace(target=0.95)]
    return compare(log_of(rows), rules)


def test_drilled_shops_are_the_named_one_then_the_largest_drops(losing_ev) -> None:
    losers = top_losers(losing_ev, 10)
    assert losers == ["s2", "s1", "s3"]
    assert drilldown_shops(losing_ev, top=2) == losers[:2]
    assert drilldown_shops(losing_ev, "s4", top=2) == ["s4", *losers[:2]]
    assert drilldown_shops(losing_ev, losers[1], top=2) == [losers[1], losers[0]]  # no repeat
    assert drilldown_shops(losing_ev, top=0) == [losers[0]]  # never an empty page
    with pytest.raises(RuleError, match="not in the log"):
        drilldown_shops(losing_ev, "nope")


def test_overview_keeps_page_order_and_reads_as_flips(losing_ev) -> None:
    shops = drilldown_shops(losing_ev, "s4", top=3)
    ov = drilldown_overview(losing_ev, shops)
    assert ov["shop_id"].to_list() == shops
    f = flips(losing_ev).filter(pl.col("shop_id").is_in(shops))
    assert sorted(ov["rate_delta"].to_list()) == sorted(f["rate_delta"].to_list())
    lead = shop_lead(ov.row(1, named=True), "legacy-24h", "new-12h")
    assert "under legacy-24h" in lead and "pp" in lead and "Loses status" in lead


def test_links_point_only_at_pages_this_run_builds(tmp_path) -> None:
    from chatsim.report_results import write_results

    ctx = load_context(log_path=str(sample_log_path()), rules=["legacy-24h", "new-12h"])
    shop = drilldown_shops(ctx.evaluation)[0]
    assert drilldown_links(ctx) == {shop: f"shop_drilldown.html#{shop_anchor(shop)}"}
    write_results(tmp_path, ctx.log, ctx.evaluation, pages=["rule_comparison"])
    staged = load_context(results_path=str(tmp_path), rules=["legacy-24h", "new-12h"])
    assert drilldown_links(staged) == {}  # no drill-down page in this run: no dead links


def test_per_shop_tables(ev) -> None:
    ctx = load_context(log_path=str(sample_log_path()), rules=["legacy-24h", "new-12h"])
    profile = shop_profile(ctx, "shop_b")
    assert profile["What"].to_list()[:3] == ["Seller type", "Time zone", "Chatbot"]
    assert any(w.startswith("Deadline, new-12h") for w in profile["What"].to_list())
    assert shop_rule_table(ev, "shop_b")["rule"].to_list() == ["legacy-24h", "new-12h"]
    tl = shop_chats_local(ev, "shop_b")
    missed = missed_chats(tl, "legacy-24h", "new-12h")
    new = tl.filter(pl.col("rule") == "new-12h")
    assert (
        missed.height == new.filter(pl.col("status").is_in(["answered_late", "unanswered"])).height
    )
    assert missed["opened"].is_sorted()
