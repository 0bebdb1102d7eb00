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


# --------------------------------------------------------------------------------------
# loading rule files: NaN and infinity, YAML bombs, bounded messages
# --------------------------------------------------------------------------------------

NUMERIC_FIELDS = [
    "window_hours",
    "target",
    "warning_below",
    "enforcement_below",
    "default_rate",
    "session_hours",
]


@pytest.mark.parametrize("field", NUMERIC_FIELDS)
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "1" + "0" * 400])
def test_nan_and_infinity_refused_in_rule_yaml(tmp_path, field, value):
    p = tmp_path / "r.yaml"
    p.write_text(f"base: new-12h\nname: x\n{field}: {value}\n")
    with pytest.raises(RuleError) as err:
        Rule.from_yaml(p)
    msg = str(err.value)
    assert msg.startswith(f"{p}: ") and field in msg and "\n" not in msg, msg
    assert "finite" in msg or "too large" in msg, msg


def yaml_bomb(key: str = "name") -> str:
    """Nested anchors 9 deep and 9 wide: 9**9 values once the aliases are expanded."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join([*lines, f"{key}: *a9"])


def test_yaml_bomb_is_refused_quickly_in_bounded_memory(tmp_path):
    import time
    import tracemalloc

    p = tmp_path / "bomb.yaml"
    p.write_text(yaml_bomb())
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(RuleError, match="aliases expand to more than") as err:
            Rule.from_yaml(p)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 5
    assert peak < 20 * 1024**2
    assert str(err.value).startswith(f"{p}: not valid YAML at line ")


def test_rule_values_in_messages_are_cut_short(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("base: new-12h\nname: x\ntarget: [" + ", ".join(["0.5"] * 5000) + "]\n")
    with pytest.raises(RuleError) as err:
        Rule.from_yaml(p)
    assert len(str(err.value)) < 300 and "target" in str(err.value)
    p.write_text("name: " + "x" * 100_000 + "\nwindow_hours: -1\ntarget: 0.8\n")
    with pytest.raises(RuleError) as err:
        Rule.from_yaml(p)
    assert len(str(err.value)) < 400 and "window_hours" in str(err.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "needs a 'name'"),
        ("- a\n- b\n", "must be a mapping"),
        ("name: x\nperiod_start: 2025-02-30\n", "invalid date"),
        ("name: [unclosed\n", "not valid YAML at line"),
        ("base: new-12h\nname: x\nvalid_replies_only: 'yes'\n", "expected true or false"),
        ("base: new-12h\nname: x\nexclusions: [[1]]\n", "list of names"),
        ("base: new-12h\nname: x\nperiod_start: 5\nperiod_end: 6\n", "YYYY-MM-DD"),
        ("base: [1]\nname: x\n", "unknown built-in rule"),
        ("base: new-12h\nname: x\n7: 1\n", "unknown key"),
        ("base: new-12h\nname: x\nperiod_days: 100000000\n", "period_days"),
    ],
)
def test_bad_rule_files_named_in_one_line(tmp_path, text, match):
    p = tmp_path / "r.yaml"
    p.write_text(text)
    with pytest.raises(RuleError, match=match) as err:
        Rule.from_yaml(p)
    assert str(err.value).startswith(f"{p}: ") and "\n" not in str(err.value)


def test_binary_and_folder_rule_paths(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RuleError, match="not a text file"):
        Rule.from_yaml(p)
    d = tmp_path / "d.yaml"
    d.mkdir()
    with pytest.raises(RuleError, match="is a folder"):
        Rule.from_yaml(d)


def test_target_comparison_and_holiday_mode_defaults_and_round_trip():
    assert NEW_12H.target_comparison == "more_than" and LEGACY_24H.target_comparison == "at_least"
    assert NEW_12H.holiday_mode == LEGACY_24H.holiday_mode == "exclude_received"
    assert Rule(name="x", window_hours=1, target=0.5).target_comparison == "at_least"
    assert (NEW_12H.meets(0.85), NEW_12H.meets(0.8500001), LEGACY_24H.meets(0.9)) == (
        False,
        True,
        True,
    )
    # tiers: "below" is strict, the target's side follows target_comparison
    assert [LEGACY_24H.tier(r) for r in (0.9, 0.85, 0.849)] == ["meets", "warning", "enforcement"]
    assert [NEW_12H.tier(r) for r in (0.85, 0.86)] == ["below_target", "meets"]
    r = NEW_12H.replace(name="paused", holiday_mode="pause_clock", target_comparison="at_least")
    assert Rule.from_yaml(r.to_yaml()) == r
    assert "target at least 85%" in r.describe() and "paused in holiday mode" in r.describe()
    assert "target more than 85%" in NEW_12H.describe()


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("target_comparison", "above", "target_comparison 'above' is not one of"),
        ("holiday_mode", "pause", "holiday_mode 'pause' is not one of"),
    ],
)
def test_bad_target_comparison_or_holiday_mode_is_named(field, value, match):
    with pytest.raises(RuleError, match=match):
        Rule.from_dict({"base": "new-12h", "name": "x", field: value})
    with pytest.raises(RuleError, match="calendar clock only|works with the calendar"):
        NEW_12H.replace(holiday_mode="pause_clock", clock="business")


def test_min_chats_is_off_for_the_builtin_rules_and_round_trips(tmp_path):
    for r in (LEGACY_24H, NEW_12H):
        assert (r.min_chats, r.default_rate) == (0, None)
        assert "rated on at least" not in r.describe()
    rule = NEW_12H.replace(name="min2", min_chats=2, default_rate=0.57)
    assert Rule.from_yaml(rule.to_yaml(tmp_path / "r.yaml")) == rule
    assert Rule.from_yaml(tmp_path / "r.yaml") == rule
    assert "rated on at least 2 counted chats (fewer: rate 57%)" in rule.describe()
    unrated = NEW_12H.replace(name="min5", min_chats=5)
    assert "rated on at least 5 counted chats (fewer: no rating)" in unrated.describe()
    # a rule file may write the default rate as a percentage
    got = Rule.from_dict({"base": "new-12h", "name": "x", "min_chats": 2, "default_rate": "57%"})
    assert (got.min_chats, got.default_rate) == (2, 0.57)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"min_chats": -1}, "min_chats must be a whole number of counted chats from 0"),
        ({"min_chats": 2.5}, "min_chats must be a whole number.*got 2.5"),
        ({"min_chats": True}, "min_chats must be a whole number.*got True"),
        ({"min_chats": 10**7}, "min_chats must be a whole number.*1,000,000"),
        ({"default_rate": 0.5}, "default_rate is the rate of a shop with fewer than min_chats"),
        ({"min_chats": 2, "default_rate": 1.5}, "default_rate: must be <= 1"),
        ({"min_chats": 2, "default_rate": -0.1}, "default_rate: must be >= 0"),
    ],
)
def test_bad_min_chats_or_default_rate_is_named(changes, match):
    with pytest.raises(RuleError, match=rf"rule 'new-12h': {match}"):
        NEW_12H.replace(**changes)


def test_bad_min_chats_in_a_rule_file_names_the_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("base: new-12h\nname: x\nmin_chats: '3'\n")
    with pytest.raises(RuleError, match=r"bad.yaml: rule 'x': min_chats must be a whole number"):
        Rule.from_yaml(p)


def test_effective_dates_round_trip_and_describe():
    r = NEW_12H.replace(
        name="dated",
        visible_from=dt.date(2025, 7, 15),
        effective_from=dt.date(2025, 8, 15),
        effective_until=dt.date(2025, 12, 31),
    )
    text = r.to_yaml()
    assert "effective_from: '2025-08-15'" in text and "visible_from: '2025-07-15'" in text
    assert Rule.from_yaml(text) == r
    assert "shown from 2025-07-15; in force from 2025-08-15 until 2025-12-31" in r.describe()
    assert "in force until 2025-08-14" in LEGACY_24H.describe()
    # default: always in force, nothing said
    plain = NEW_12H.replace(visible_from=None, effective_from=None)
    assert plain.in_force(dt.date(1999, 1, 1)) and "in force" not in plain.describe()


def test_builtin_rules_carry_the_policy_dates():
    days = [dt.date(2025, 7, 14), dt.date(2025, 7, 15), dt.date(2025, 8, 14), dt.date(2025, 8, 15)]
    assert [LEGACY_24H.in_force(d) for d in days] == [True, True, True, False]
    assert [NEW_12H.in_force(d) for d in days] == [False, False, False, True]
    assert [NEW_12H.visible(d) for d in days] == [False, True, True, True]
    assert [LEGACY_24H.visible(d) for d in days] == [True, True, True, False]


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        (
            {"effective_from": dt.date(2025, 8, 15), "effective_until": dt.date(2025, 8, 1)},
            "effective_until 2025-08-01 is before effective_from 2025-08-15",
        ),
        (
            {"effective_from": None, "visible_from": dt.date(2025, 7, 15)},
            "visible_from 2025-07-15 needs effective_from",
        ),
        ({"visible_from": dt.date(2025, 9, 1)}, "visible_from 2025-09-01 is after effective_from"),
        ({"effective_from": "2025-08-15"}, "effective_from must be a date"),
    ],
)
def test_bad_effective_dates_are_named(changes, match):
    with pytest.raises(RuleError, match=match) as info:
        NEW_12H.replace(**changes)
    assert "new-12h" in str(info.value)


def test_effective_dates_from_yaml_name_the_key():
    with pytest.raises(RuleError, match="effective_until: expected a date as YYYY-MM-DD"):
        Rule.from_yaml("base: new-12h\nname: x\neffective_until: soon\n")
    with pytest.raises(RuleError, match="is before effective_from"):
        Rule.from_yaml(
            "name: x\nwindow_hours: 12\ntarget: 0.8\n"
            "effective_from: 2025-08-15\neffective_until: 2025-08-14\n"
        )
