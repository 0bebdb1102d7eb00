"""Rules as data: validation, YAML round trips, built-in defaults from POLICY.md."""

from __future__ import annotations

import datetime as dt

import pytest

from chatsim.errors import RuleError
from chatsim.rules import LEGACY_24H, NEW_12H, Rule, resolve_rule, schedule_minutes


def test_builtin_defaults_match_policy():
    assert (LEGACY_24H.window_hours, LEGACY_24H.target) == (24, 0.90)
    assert (LEGACY_24H.warning_below, LEGACY_24H.enforcement_below) == (0.90, 0.85)
    assert LEGACY_24H.valid_replies_only and LEGACY_24H.chatbot_weekend_deadline
    assert LEGACY_24H.violation_points and not NEW_12H.violation_points
    assert (NEW_12H.window_hours, NEW_12H.target, NEW_12H.period_days) == (12, 0.85, 30)
    assert NEW_12H.clock == "calendar" and NEW_12H.boosts_store_rating
    for r in (LEGACY_24H, NEW_12H):
        assert r.auto_reply == "exclude_resolved"
        assert r.exclusions == {"holiday_mode", "seller_initiated", "auto_resolved", "blocked"}


@pytest.mark.parametrize(
    "rule",
    [
        LEGACY_24H,
        NEW_12H,
        NEW_12H.replace(
            name="biz",
            clock="business",
            period_start=dt.date(2025, 8, 1),
            period_end=dt.date(2025, 9, 1),
        ),
    ],
)
def test_yaml_round_trip(rule, tmp_path):
    p = tmp_path / "r.yaml"
    rule.to_yaml(p)
    assert Rule.from_yaml(p) == rule
    assert resolve_rule(str(p)) == rule


def test_from_dict_with_base_and_percent():
    r = Rule.from_dict({"base": "legacy-24h", "name": "legacy-80", "target": "80%"})
    assert r.target == 0.8 and r.chatbot_weekend_deadline


@pytest.mark.parametrize(
    "data, match",
    [
        ({"name": "x", "window_hours": 12, "target": 1.2}, "target.*<= 1"),
        ({"name": "x", "window_hours": -1, "target": 0.8}, "window_hours.*> 0"),
        (
            {"name": "x", "window_hours": 12, "target": 0.8, "windw": 3},
            "did you mean 'window_hours'",
        ),
        (
            {"name": "x", "window_hours": 12, "target": 0.8, "auto_reply": "maybe"},
            "auto_reply 'maybe'",
        ),
        (
            {"name": "x", "window_hours": 12, "target": 0.8, "exclusions": ["weather"]},
            "unknown exclusion",
        ),
        (
            {
                "name": "x",
                "window_hours": 12,
                "target": 0.8,
                "clock": "business",
                "business_schedule": {},
            },
            "at least one working range",
        ),
        (
            {"name": "x", "window_hours": 12, "target": 0.8, "period_start": "2025-08-01"},
            "both period_start",
        ),
        ({"window_hours": 12, "target": 0.8}, "needs a 'name'"),
        ({"base": "old-48h", "name": "x"}, "unknown built-in rule"),
    ],
)
def test_bad_rules_named(data, match):
    with pytest.raises(RuleError, match=match):
        Rule.from_dict(data, source="my_rule.yaml")


def _with_schedule(schedule):
    return Rule.from_dict(
        {"name": "biz", "window_hours": 12, "target": 0.8, "business_schedule": schedule},
        source="my_rule.yaml",
    )


def test_bad_schedule():
    where = r"my_rule\.yaml: rule 'biz': business_schedule\."
    with pytest.raises(RuleError, match=where + "mon: .*overlap"):
        _with_schedule({"mon": ["09:00-12:00", "11:00-13:00"]})
    with pytest.raises(RuleError, match=where + "funday: unknown weekday"):
        _with_schedule({"funday": ["09:00-12:00"]})
    with pytest.raises(RuleError, match=where + r"mon\[0\]: .*HH:MM-HH:MM"):
        _with_schedule({"mon": ["9-5"]})


def test_business_schedule_spellings():
    r = _with_schedule({"Monday": ["9:00-12:00", "13:00-18:00"], "tue": "8:30-24:00"})
    assert r.business_schedule["mon"] == ("09:00-12:00", "13:00-18:00")
    assert r.business_schedule["tue"] == ("08:30-24:00",)
    assert r.business_schedule["sun"] == ()
    assert schedule_minutes(r.business_schedule)[:3] == [(540, 720), (780, 1080), (1950, 2880)]
    assert Rule.from_yaml(r.to_yaml()) == r
    assert r.to_dict()["business_schedule"]["mon"] == ["09:00-12:00", "13:00-18:00"]
    # the default: office hours, Monday to Friday
    assert NEW_12H.business_schedule["fri"] == ("09:00-18:00",)
    assert NEW_12H.business_schedule["sat"] == ()


def test_missing_rule_file():
    with pytest.raises(RuleError, match="not found"):
        resolve_rule("nope.yaml")
