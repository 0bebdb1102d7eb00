"""The bridge from the old rule to the new one, on hand-made logs where each shop is moved by
exactly one difference between the rules."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import polars as pl
import pytest

import chatsim.explain.bridge as bridge_module
from chatsim.analysis import pass_rates
from chatsim.errors import RuleError
from chatsim.explain.bridge import BRIDGE_ORDER, bridge_steps, bridge_table, largest_step
from chatsim.metrics import compare
from chatsim.rules import LEGACY_24H, NEW_12H
from chatsim.schema import ChatLog
from tests.logbuilder import at, log_of, msgs

SATURDAY = at(days=5, hours=1)  # Saturday 9 Aug 2025, 10:00 UTC


def rule_change_log() -> ChatLog:
    """Five shops (UTC), each moved by one difference between the built-in rules:

    * ``win1``, ``win2`` (segment a): answers after 13 h: pass 24 h, fail 12 h (window);
    * ``tgt`` (a): 7 of 8 chats answered in 1 h (87.5 %): fail 90 %, pass 85 % (target);
    * ``val`` (b): a small-talk reply after 1 h, a valid one after 30 h (valid-reply filter);
    * ``wkd`` (b, chatbot on): Saturday chats answered Monday 11:00 (chatbot-weekend
      deadline).
    """
    rows = []
    for shop in ("win1", "win2"):
        for i in range(3):
            rows += [
                (f"{shop}{i}", at(days=i), "buyer", "text", {"shop": shop}),
                (f"{shop}{i}", at(days=i, hours=13), "seller", "text", {"shop": shop}),
            ]
    for i in range(8):
        rows.append((f"tgt{i}", at(days=i), "buyer", "text", {"shop": "tgt"}))
        if i:
            rows.append((f"tgt{i}", at(days=i, hours=1), "seller", "text", {"shop": "tgt"}))
    for i in range(2):
        rows += [
            (f"val{i}", at(days=i), "buyer", "text", {"shop": "val"}),
            (f"val{i}", at(days=i, hours=1), "seller", "text", {"shop": "val", "valid": False}),
            (f"val{i}", at(days=i, hours=30), "seller", "text", {"shop": "val"}),
        ]
    for i in range(2):
        rows += [
            (f"wkd{i}", SATURDAY + dt.timedelta(hours=i), "buyer", "text", {"shop": "wkd"}),
            (f"wkd{i}", at(days=7, hours=2 + i / 10), "seller", "text", {"shop": "wkd"}),
        ]
    rows.append(("end", at(days=20), "seller", "system", {"shop": "tgt"}))
    shops = [
        {"shop_id": s, "timezone": "UTC", "chatbot_enabled": s == "wkd", "segment": seg}
        for s, seg in (("win1", "a"), ("win2", "a"), ("tgt", "a"), ("val", "b"), ("wkd", "b"))
    ]
    return log_of(msgs(*rows), shops)


@pytest.fixture(scope="module")
def log() -> ChatLog:
    return rule_change_log()


def test_builtin_pair_steps_in_the_documented_order(log):
    steps = bridge_steps(LEGACY_24H, NEW_12H)
    assert [s.fields for s in steps] == [(f,) for f in BRIDGE_ORDER]
    assert [s.label for s in steps] == [
        "Valid-reply filter on → off",
        "Chatbot-weekend deadline on → off",
        "Window 24 h → 12 h",
        "Target 90 % → 85 %",
        "Target: at least → more than",
    ]
    assert steps[-1].rule is NEW_12H
    b = bridge_table(compare(log), log)
    assert b["kind"].to_list() == ["start", "step", "step", "step", "step", "step", "end"]
    assert b["shops_passing"].to_list() == [3, 4, 3, 1, 2, 2, 2]
    assert b["shops_rated"].to_list() == [5] * 7
    assert b["share"].to_list() == pytest.approx([0.6, 0.8, 0.6, 0.2, 0.4, 0.4, 0.4])
    assert b["change_label"].to_list() == [
        None,
        "+20.0 pp",
        "\u221220.0 pp",
        "\u221240.0 pp",
        "+20.0 pp",
        "0.0 pp",
        "\u221220.0 pp",
    ]
    assert b["what"].to_list()[1:-1] == [
        "Valid-reply filter",
        "Chatbot-weekend deadline",
        "Window",
        "Target",
        "Target comparison",
    ]


def test_the_bridge_closes_exactly_at_the_new_rule(log):
    ev = compare(log)
    b = bridge_table(ev, log)
    steps = b.filter(pl.col("kind") == "step")
    exact = [Fraction(p, n) for p, n in b.select("shops_passing", "shops_rated").iter_rows()]
    assert sum(exact[i] - exact[i - 1] for i in range(1, len(exact) - 1)) == exact[-1] - exact[0]
    assert steps["share"][-1] == b["share"][-1]  # the last step lands on the new rule
    rates = pass_rates(ev)
    assert (
        b["share"][0] == rates["share_passing"][0] and b["share"][-1] == rates["share_passing"][1]
    )
    assert steps["change"].sum() == pytest.approx(b["change"][-1], abs=1e-15)
    # each bar starts where the previous ended
    assert steps["share_before"].to_list() == b["share"].to_list()[:-2]


def test_only_the_target_differs_so_it_takes_the_whole_change(log):
    old = NEW_12H.replace(name="new-12h-at-90", target=0.9)
    ev = compare(log, [old, NEW_12H])
    b = bridge_table(ev)  # no rule in between: the log is not needed
    step = b.filter(pl.col("kind") == "step")
    assert step["label"].to_list() == ["Target 90 % → 85 %"]
    assert step["change"][0] == b["change"][-1] == pytest.approx(0.2)
    assert largest_step(b)["part"] == 1.0


def test_only_the_boundary_side_differs_so_it_is_a_real_step(log):
    # shop ``tgt`` answers 7 of 8 chats in time: exactly 87.5 %
    old = NEW_12H.replace(name="at-least-87.5", target=0.875, target_comparison="at_least")
    new = old.replace(name="more-than-87.5", target_comparison="more_than")
    assert [s.label for s in bridge_steps(old, new)] == ["Target: at least → more than"]
    b = bridge_table(compare(log, [old, new]))
    step = b.filter(pl.col("kind") == "step")
    assert step["what"].to_list() == ["Target comparison"]
    assert step["change"][0] == b["change"][-1] < 0
    assert largest_step(b)["part"] == 1.0


def test_custom_rules_with_three_differences_in_one_compare_call(log, monkeypatch):
    old = NEW_12H.replace(name="custom-old")
    new = NEW_12H.replace(
        name="custom-new",
        window_hours=24,
        session_hours=6,
        exclusions=frozenset({"holiday_mode"}),
        description="differs, but makes no step",
        violation_points=True,
    )
    steps = bridge_steps(old, new)
    assert [s.fields for s in steps] == [("window_hours",), ("exclusions",), ("session_hours",)]
    assert steps[1].label == "Exclusions " + (
        "holiday mode, blocked buyer, started by the seller, resolved by automatic reply"
        " → holiday mode"
    )
    ev = compare(log, [old, new])
    calls = []
    real = bridge_module.compare

    def spy(log_, rules, **kw):
        calls.append(([r.name for r in rules], kw))
        return real(log_, rules, **kw)

    monkeypatch.setattr(bridge_module, "compare", spy)
    b = bridge_table(ev, log)
    assert calls == [([s.rule.name for s in steps[:-1]], {"as_of": ev.as_of, "chats": False})]
    # each step's share is the share of its rule evaluated on its own
    for s, share in zip(steps[:-1], b["share"].to_list()[1:-2], strict=True):
        alone = pass_rates(real(log, [s.rule], as_of=ev.as_of))["share_passing"][0]
        assert share == alone
    assert b["share"][-2] == b["share"][-1] == pass_rates(ev)["share_passing"][1]


def test_fields_that_decide_nothing_make_no_step(log):
    new = NEW_12H.replace(
        name="renamed",
        description="same rule, other words",
        violation_points=True,
        boosts_store_rating=False,
        warning_below=0.8,
        enforcement_below=0.7,
    )
    assert bridge_steps(NEW_12H, new) == []
    b = bridge_table(compare(log, [NEW_12H, new]))
    assert b["kind"].to_list() == ["start", "end"]
    assert b["change"][-1] == 0


def test_a_field_invalid_on_its_own_goes_with_the_next(log):
    new = NEW_12H.replace(
        name="august", period_start=dt.date(2025, 8, 1), period_end=dt.date(2025, 8, 9)
    )
    steps = bridge_steps(NEW_12H.replace(name="x", window_hours=10), new)
    assert [s.fields for s in steps] == [("window_hours",), ("period_start", "period_end")]
    assert steps[1].label == "Period start none → 2025-08-01; Period end none → 2025-08-09"
    assert bridge_steps(NEW_12H, new)[0].fields == ("period_start", "period_end")


def test_rules_between_are_read_from_the_evaluation_or_need_the_log(log):
    ev = compare(log)
    with pytest.raises(RuleError, match=r"pass the log, bridge_table\(ev, log\)"):
        bridge_table(ev)
    between = [s.rule for s in bridge_steps(LEGACY_24H, NEW_12H)[:-1]]
    together = compare(log, [LEGACY_24H, *between, NEW_12H], chats=False)
    assert bridge_table(together).equals(bridge_table(ev, log))
    with pytest.raises(RuleError, match="no rule named 'nope'"):
        bridge_table(ev, log, new="nope")
