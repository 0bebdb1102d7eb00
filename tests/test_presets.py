"""Peer presets: named, sourced, labelled "as publicly described", exported, and equal to the
plain rule where their new features are switched off."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatsim import cli
from chatsim.errors import RuleError, ScenarioError
from chatsim.metrics import compare
from chatsim.presets import AS_DESCRIBED, PRESET_RULES, PRESETS, preset, preset_label
from chatsim.rules import DEFAULT_EXCLUSIONS, Rule, resolve_rule
from chatsim.scenario import Scenario
from tests.logbuilder import log_of, random_logs

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["shopee-crr", "lazada-rr", "amazon-lrr", "etsy-star", "walmart-48h"]
#: The rule fields a preset may use that the plain 24/12-hour rules do not.
NEW_FEATURES = {
    "counted_unit": "chat",
    "deadline": "window",
    "cutoff_time": None,
    "due_time": None,
    "due_day_offset": 1,
    "rate_kind": "share",
    "blend_weight": 0.5,
    "recent_fraction": 0.25,
    "exclusions": DEFAULT_EXCLUSIONS,
}


def test_the_five_presets_in_order():
    assert list(PRESETS) == NAMES and list(PRESET_RULES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_a_preset_resolves_by_name_and_round_trips_through_yaml(name):
    rule = resolve_rule(name)
    assert rule is PRESET_RULES[name]
    assert Rule.from_yaml(rule.to_yaml()) == rule


@pytest.mark.parametrize("name", NAMES)
def test_a_preset_says_what_it_is_and_where_it_comes_from(name):
    p = preset(name)
    assert p.label == f"{p.short}, {AS_DESCRIBED}" == preset_label(name)
    assert p.rule.description.startswith(f"{p.design}, as publicly described (secondary sources")
    assert p.sources and p.readings
    for s in p.sources:
        assert s.title and re.match(r"https?://", s.url) and "Nov 2026" in s.date


def test_the_described_figures_are_rule_settings():
    shopee, lazada, amazon, etsy, walmart = (PRESET_RULES[n] for n in NAMES)
    assert (shopee.window_hours, shopee.period_days, shopee.rate_kind) == (12, 90, "blended")
    assert (shopee.blend_weight, shopee.recent_fraction) == (0.5, 0.25)
    assert (shopee.min_chats, shopee.default_rate, shopee.auto_reply) == (2, 0.57, "ignore")
    assert (lazada.deadline, lazada.cutoff_time, lazada.due_time) == (
        "daily_cutoff",
        "18:00",
        "19:00",
    )
    assert (lazada.due_day_offset, lazada.period_days) == (0, 7)
    assert {"public_holiday", "holiday_mode"} <= lazada.exclusions
    assert (amazon.counted_unit, amazon.rate_kind, amazon.target) == ("message", "late_share", 0.1)
    assert amazon.target_comparison == "at_most" and "no_response_needed" in amazon.exclusions
    assert (etsy.counted_unit, etsy.window_hours, etsy.target) == ("first_chat", 24, 0.95)
    assert (walmart.counted_unit, walmart.window_hours, walmart.target) == ("message", 48, 0.95)
    assert walmart.target_comparison == "more_than"


def test_an_unknown_name_lists_the_presets():
    with pytest.raises(RuleError, match="Peer presets: shopee-crr, lazada-rr"):
        resolve_rule("shopee-xyz")
    with pytest.raises(RuleError, match="unknown preset 'x'; the peer presets are shopee-crr"):
        preset("x")


def _scenario(**analysis) -> Scenario:
    return Scenario.from_dict(
        {
            "name": "p",
            "shops": 4,
            "period": {"start": "2025-08-15", "days": 2},
            "archetypes": {"agency_247": {"share": 1.0}},
            "analysis": analysis,
        }
    )


def test_a_scenario_lists_presets_as_rules_and_peers():
    sc = _scenario(rules=["legacy-24h", "etsy-star"], peers=NAMES)
    assert sc.analysis.rules == ("legacy-24h", "etsy-star")
    assert sc.analysis.peers == tuple(NAMES)
    with pytest.raises(ScenarioError, match=r"analysis.peers\[0\].*peer preset \(shopee-crr"):
        _scenario(peers=["shopee"])


def test_rules_export_writes_the_presets_beside_the_builtin_pair(tmp_path, capsys):
    assert cli.main(["rules", "--export", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        assert Rule.from_yaml(tmp_path / f"{name}.yaml") == PRESET_RULES[name]
        line = next(line for line in out.splitlines() if line.startswith(f"{name}:"))
        assert preset(name).label in line
    assert {"legacy-24h.yaml", "new-12h.yaml"} <= {p.name for p in tmp_path.iterdir()}


def test_the_policy_doc_lists_every_preset_with_its_sources():
    text = (ROOT / "docs" / "policy.md").read_text()
    section = text[text.index("## Peer designs") :]
    for p in PRESETS.values():
        assert f"`{p.name}`" in section
        for s in p.sources:
            assert s.url in section, f"{p.name}: {s.url} missing from docs/policy.md"


# -- switched off, a preset is the plain rule ------------------------------------------


def _switched_off(rule: Rule) -> Rule:
    """The preset with every new feature at its plain setting (a late share read as the
    share answered in time, its maximum turned into the matching minimum)."""
    late = rule.rate_kind == "late_share"
    return rule.replace(
        **NEW_FEATURES,
        target=round(1 - rule.target, 12) if late else rule.target,
        target_comparison="at_least" if late else rule.target_comparison,
    )


def _plain(rule: Rule) -> Rule:
    """The same design written with the plain rule's fields only."""
    keep = {
        f.name: getattr(rule, f.name)
        for f in dataclasses.fields(Rule)
        if f.name not in NEW_FEATURES and f.name not in ("rate_kind", "target", "target_comparison")
    }
    late = rule.rate_kind == "late_share"
    return Rule(
        **keep,
        target=round(1 - rule.target, 12) if late else rule.target,
        target_comparison="at_least" if late else rule.target_comparison,
    )


@pytest.mark.parametrize("name", NAMES)
def test_switched_off_a_preset_is_the_plain_rule(name):
    assert _switched_off(PRESET_RULES[name]) == _plain(PRESET_RULES[name])


#: The judged figure is ``rule_value`` (for a plain share, the response rate).
COLUMNS = ["shop_id", "counted", "answered_in_time", "pending", "rule_value", "meets_target"]


def _shops(log, rules: list[Rule]) -> dict[str, pl.DataFrame]:
    ev = compare(log, rules, chats=False)
    return {
        r.name: ev.shops.filter(pl.col("rule") == r.name).select(COLUMNS).sort("shop_id")
        for r in rules
    }


PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(random_logs(grid=True))
def test_a_blend_whose_recent_part_is_every_chat_is_the_plain_share(rows):
    shopee = PRESET_RULES["shopee-crr"]
    blend = shopee.replace(name="blend-all", recent_fraction=1.0)
    plain = _switched_off(shopee).replace(name="plain")
    got = _shops(log_of(rows), [blend, plain])
    assert got["blend-all"].equals(got["plain"])


@PROPERTY
@given(random_logs(grid=True))
def test_the_late_share_is_the_complement_of_the_share_in_time(rows):
    amazon = PRESET_RULES["amazon-lrr"]
    plain = amazon.replace(
        name="plain", rate_kind="share", target=0.9, target_comparison="at_least"
    )
    ev = compare(log_of(rows), [amazon, plain], chats=False)
    late = ev.shops.filter(pl.col("rule") == amazon.name).sort("shop_id")
    share = ev.shops.filter(pl.col("rule") == "plain").sort("shop_id")
    assert late["counted"].to_list() == share["counted"].to_list()
    for v, r, m_late, m_share in zip(
        late["rule_value"],
        share["response_rate"],
        late["meets_target"],
        share["meets_target"],
        strict=True,
    ):
        assert (v is None) == (r is None)
        if v is not None:
            assert v == pytest.approx(1 - r)
            if abs(r - 0.9) > 1e-9:
                assert m_late == m_share


@PROPERTY
@given(random_logs(grid=True), st.booleans())
def test_exclusions_with_nothing_to_exclude_change_nothing(rows, flag_column):
    """No shop has a country with public holidays and no message is marked 'no response
    needed': the presets' extra exclusions leave the plain rule's table."""
    shops = [{"shop_id": s, "timezone": "UTC", "country": None} for s in ("s0", "s1")]
    if flag_column:
        rows = [dict(r, no_response_needed=False) for r in rows]
    log = log_of(rows, shops=shops)
    lazada, amazon = PRESET_RULES["lazada-rr"], PRESET_RULES["amazon-lrr"]
    rules = [
        lazada,
        lazada.replace(name="lazada-plain", exclusions=DEFAULT_EXCLUSIONS),
        amazon,
        amazon.replace(name="amazon-plain", exclusions=DEFAULT_EXCLUSIONS),
    ]
    got = _shops(log, rules)
    assert got["lazada-rr"].equals(got["lazada-plain"])
    assert got["amazon-lrr"].equals(got["amazon-plain"])


@PROPERTY
@given(random_logs(grid=True))
def test_the_first_chat_of_a_conversation_is_one_of_its_chats(rows):
    etsy = PRESET_RULES["etsy-star"]
    every = etsy.replace(name="every-chat", counted_unit="chat")
    got = _shops(log_of(rows), [etsy, every])
    first, all_ = got["etsy-star"], got["every-chat"]
    assert (first["counted"] + first["pending"] <= all_["counted"] + all_["pending"]).all()
