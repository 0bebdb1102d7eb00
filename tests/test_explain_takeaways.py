"""Takeaways are written from the figures: two simulated scenarios give different sentences,
each quoting the figures of its own evaluation (formatted by chatsim.explain.labels)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import polars as pl
import pytest

from chatsim.explain.bridge import bridge_table, largest_step
from chatsim.explain.causes import flip_causes
from chatsim.explain.headline import key_numbers
from chatsim.explain.labels import format_count, format_pp, format_share
from chatsim.explain.takeaways import Takeaway, write_takeaways
from chatsim.metrics import compare
from chatsim.scenario import load_scenario
from chatsim.simulate import simulate
from tests.test_explain_bridge import rule_change_log
from tests.test_explain_causes import causes_log

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"[+\u2212]?\d[\d,]*(?:\.\d+)?(?: %| pp)?")


def numbers_outside_names(t: Takeaway, names: list[str]) -> list[str]:
    """The numbers a sentence quotes, leaving out those inside rule names and step labels."""
    text = t.text
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, "")
    return NUMBER.findall(text)


def explain(scenario: str, shops: int = 40, days: int = 10):
    sc = load_scenario(ROOT / "scenarios" / f"{scenario}.yaml").scaled(shops=shops, days=days)
    log = simulate(sc, workers=1)
    ev = compare(log)
    head, steps, causes = key_numbers(ev), bridge_table(ev, log), flip_causes(ev)
    return ev, head, steps, causes, write_takeaways(ev, log)


@pytest.fixture(scope="module")
def scenarios():
    return {name: explain(name) for name in ("baseline", "weekend_closers")}


@pytest.mark.parametrize("name", ["baseline", "weekend_closers"])
def test_takeaways_quote_the_figures_of_their_evaluation(scenarios, name):
    ev, head, steps, causes, found = scenarios[name]
    assert 3 <= len(found) <= 5
    by_key = {t.key: t for t in found}
    assert found[0].key == "overall"
    overall = by_key["overall"].text
    assert overall.startswith(
        f"{format_share(head.share_old)} of rated shops meet {head.old} and "
        f"{format_share(head.share_new)} meet {head.new} "
        f"({format_pp(head.share_new - head.share_old)}): {format_count(head.loses)} shops"
    )
    drop = head.segments[0]
    assert drop.change < 0
    assert by_key["segment"].text.startswith(f"{drop.label} drop the most: ")
    assert by_key["segment"].figures == (
        format_share(drop.share_old),
        format_share(drop.share_new),
        format_pp(drop.change),
        format_count(drop.shops_rated),
    )
    top = largest_step(steps)
    total = steps.filter(pl.col("kind") == "end")["change"][0]
    assert f"from the {top['what'].lower()} (" in by_key["bridge"].text
    assert by_key["bridge"].figures[:2] == (format_pp(top["change"]), format_pp(total))
    if "off_hours" in by_key:
        assert by_key["off_hours"].figures == (
            format_share(causes.share_mostly_off_hours),
            format_count(causes.mostly_off_hours),
            format_count(causes.shops_with_chats),
        )
    changes = steps.filter(pl.col("kind") == "step").select("label", "what").iter_rows()
    names = [r.name for r in ev.rules] + [lab[len(what) :].strip() for lab, what in changes]
    for t in found:
        assert all(f in t.text for f in t.figures), t
        # every number a sentence quotes is one of its computed figures
        assert set(numbers_outside_names(t, names)) <= set(t.figures), t
        assert "_" not in t.text  # no code names


def test_two_scenarios_give_different_takeaways(scenarios):
    a = [t.text for t in scenarios["baseline"][-1]]
    b = [t.text for t in scenarios["weekend_closers"][-1]]
    assert not set(a) & set(b)  # not one sentence in common
    heads = [scenarios[n][1] for n in ("baseline", "weekend_closers")]
    assert heads[0].share_old != heads[1].share_old


def test_hand_made_evaluation_with_gains_and_few_shops():
    log = rule_change_log()
    ev = compare(log)
    found = write_takeaways(ev, log)
    # shop tgt gains status on 8 counted chats, too close to call under both rules
    assert [t.key for t in found] == ["overall", "noise", "segment", "bridge", "caution"]
    assert found[0].text == (
        "60.0 % of rated shops meet legacy-24h and 40.0 % meet new-12h (\u221220.0 pp): "
        "3 shops lose status and 2 gain it."
    )
    assert found[1].text.startswith(
        "2 shops gain status; 1 of them is within noise of a target: under both rules"
    )
    assert found[1].figures == ("2", "1")
    assert found[-1].text == (
        "Caution: only 5 shops are rated, so one shop moves a share by 20.0 pp; read these "
        "shares as rough."
    )
    assert "the window (24 h → 12 h): \u221240.0 pp, of a net \u221220.0 pp" in found[3].text
    assert "the valid-reply filter (on → off) works the other way, +20.0 pp" in found[3].text
    # with enough shops for the threshold, the off-hours reading makes the fifth takeaway
    plenty = write_takeaways(ev, log, few_shops=5)
    assert [t.key for t in plenty] == ["overall", "noise", "segment", "bridge", "off_hours"]
    # and, with no shop within noise, the gains
    head = dataclasses.replace(key_numbers(ev), gains_within_noise=0)
    plenty = write_takeaways(ev, log, few_shops=5, head=head)
    assert [t.key for t in plenty][-1] == "gains"
    assert plenty[-1].text == "2 shops gain status: they miss legacy-24h but meet new-12h."


def test_without_log_or_chats_those_takeaways_are_left_out():
    log = causes_log()
    with_all = write_takeaways(compare(log), log, few_shops=1)
    assert [t.key for t in with_all] == ["overall", "bridge", "off_hours"]
    assert with_all[2].text == (
        "For 66.7 % of the shops that lose status (2 of 3), most chats that pass legacy-24h "
        "but miss new-12h opened at night, on weekends or on public holidays."
    )
    assert [t.key for t in write_takeaways(compare(log), few_shops=1)] == ["overall", "off_hours"]
    assert [t.key for t in write_takeaways(compare(log, chats=False), log, few_shops=1)] == [
        "overall",
        "bridge",
    ]
