"""Scenario files: loading, validation errors naming the key, round trips, what-ifs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chatsim.errors import ScenarioError
from chatsim.rules import resolve_rule
from chatsim.scenario import (
    ARCHETYPE_PARAMS,
    BUILTIN_ARCHETYPES,
    DEFAULT_RULES,
    DEFAULT_TARGETS,
    DEFAULT_WINDOWS,
    Scenario,
    WhatIf,
    builtin_archetype,
    load_scenario,
    shop_ids,
)
from chatsim.schedule import WEEKDAYS

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


def base() -> dict[str, Any]:
    return {
        "name": "t",
        "seed": 1,
        "period": {"start": "2025-08-15", "days": 7},
        "shops": 10,
        "archetypes": {
            "solo_weekdays": {"share": 0.6},
            "agency_247": {"share": 0.4},
        },
        "analysis": {
            "what_if": [{"name": "bots", "set": {"auto_reply_rate": 0.9}}],
        },
    }


def test_shipped_scenarios_load_and_apply_their_what_ifs() -> None:
    names = {p.stem for p in SHIPPED}
    assert {"baseline", "weekend_closers", "cross_border", "flash_sale"} <= names
    for p in SHIPPED:
        sc = load_scenario(p)
        assert sc.source == str(p)
        for w in sc.analysis.what_if:
            changed = sc.with_change(w)
            assert changed.name.endswith(w.name)
            assert [a.share for a in changed.archetypes] == [a.share for a in sc.archetypes]


def test_baseline_mixes_all_builtin_archetypes() -> None:
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    assert {a.name for a in sc.archetypes} == set(BUILTIN_ARCHETYPES)
    assert sc.shops == 300 and sc.period.days == 30
    assert sc.period.start.isoformat() == "2025-08-15"


def test_flash_sale_has_a_3x_campaign() -> None:
    sc = load_scenario(ROOT / "scenarios" / "flash_sale.yaml")
    assert [c.multiplier for c in sc.campaigns] == [3.0]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_round_trip(path: Path, tmp_path: Path) -> None:
    sc = load_scenario(path)
    assert Scenario.from_dict(sc.to_dict()) == sc
    f = tmp_path / "again.yaml"
    f.write_text(sc.to_yaml())
    assert load_scenario(f) == sc


def test_defaults() -> None:
    d = base()
    del d["analysis"]
    sc = Scenario.from_dict(d)
    assert sc.analysis.rules == DEFAULT_RULES == ("legacy-24h", "new-12h")
    assert sc.analysis.targets == DEFAULT_TARGETS
    assert sc.analysis.targets[0] == 0.60 and sc.analysis.targets[-1] == 0.95
    assert sc.analysis.windows_hours == DEFAULT_WINDOWS
    assert sc.analysis.drilldown_shop is None
    assert sc.analysis.replications == 1  # a single run unless the file asks for more
    assert sc.campaigns == ()


def test_replications_round_trip() -> None:
    d = base()
    d["analysis"]["replications"] = 20
    sc = Scenario.from_dict(d)
    assert sc.analysis.replications == 20
    assert Scenario.from_dict(sc.to_dict()) == sc
    assert sc.scaled(shops=5).analysis.replications == 20


def test_builtin_archetypes() -> None:
    solo = builtin_archetype("solo_weekdays")
    assert solo.schedule["sat"] == () and solo.schedule["sun"] == () and solo.schedule["mon"]
    assert builtin_archetype("small_team").schedule == {d: ("09:00-21:00",) for d in WEEKDAYS}
    assert builtin_archetype("agency_247").schedule == {d: ("00:00-24:00",) for d in WEEKDAYS}
    heavy = builtin_archetype("auto_reply_heavy")
    assert heavy.chatbot_enabled and heavy.auto_reply_rate >= 0.8
    cb = builtin_archetype("cross_border")
    assert cb.staff_tz != cb.timezone and cb.buyer_tz == cb.timezone
    assert builtin_archetype("holiday_prone").holiday_mode_per_month >= 1.0
    # shop-to-shop heterogeneity is on by default; 24/7 agencies have no shift edges
    for name in BUILTIN_ARCHETYPES:
        assert builtin_archetype(name).delay_shop_sigma > 0, name
    assert builtin_archetype("agency_247").schedule_jitter_minutes == 0
    assert builtin_archetype("agency_247").absence_rate == 0
    assert 0 < solo.off_day_cover < 0.5 and 0 < solo.auto_reply_adoption < 0.5


def test_use_with_overrides_and_custom_archetype() -> None:
    d = base()
    d["archetypes"] = {
        "night_owls": {"use": "small_team", "share": 0.5, "schedule": {"mon": ["20:00-24:00"]}},
        "plain": {"share": 0.5, "chats_per_day": 3},
    }
    sc = Scenario.from_dict(d)
    owl = sc.archetype("night_owls")
    assert owl.schedule["mon"] == ("20:00-24:00",) and owl.schedule["tue"] == ("09:00-21:00",)
    assert owl.timezone == "Asia/Bangkok"
    assert sc.archetype("plain").chats_per_day == 3.0


def test_schedule_spellings_and_round_trip() -> None:
    d = base()
    d["archetypes"]["solo_weekdays"]["schedule"] = {
        "Monday": ["9:00-12:00", "13:00-18:00"],
        "SAT": "8:30-12:00",
    }
    sc = Scenario.from_dict(d)
    solo = sc.archetype("solo_weekdays")
    assert solo.schedule["mon"] == ("09:00-12:00", "13:00-18:00")
    assert solo.schedule["sat"] == ("08:30-12:00",)
    assert solo.schedule["tue"] == builtin_archetype("solo_weekdays").schedule["tue"]
    assert solo.to_dict()["schedule"]["sat"] == ["08:30-12:00"]
    assert Scenario.from_dict(sc.to_dict()) == sc
    twice = base()
    twice["archetypes"]["solo_weekdays"]["schedule"] = {"mon": [], "monday": ["09:00-10:00"]}
    with pytest.raises(ScenarioError, match=r"schedule\.monday: mon is already given"):
        Scenario.from_dict(twice)


def _mutate(path: str, value: Any) -> dict[str, Any]:
    d = copy.deepcopy(base())
    keys = path.split(".")
    cur: Any = d
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur.setdefault(k, {})
    if value is _DELETE:
        del cur[keys[-1]]
    else:
        cur[keys[-1]] = value
    return d


_DELETE = object()

BAD_CASES = [
    # (key path to set, value, substrings the message must contain)
    ("shop", 3, ["shop:", "unknown key", "Did you mean 'shops'"]),
    ("shops", 0, ["shops:", ">= 1"]),
    ("shops", -4, ["shops:", ">= 1"]),
    ("shops", "many", ["shops:", "integer"]),
    ("shops", 2.5, ["shops:", "integer"]),
    ("seed", "x", ["seed:", "integer"]),
    ("period.start", "2025-13-01", ["period.start:", "YYYY-MM-DD"]),
    ("period.start", "yesterday", ["period.start:", "YYYY-MM-DD"]),
    ("period.days", 0, ["period.days:", ">= 1"]),
    ("period.end", "2025-09-01", ["period.end:", "unknown key", "start, days"]),
    ("archetypes.solo_weekdays.share", 0.7, ["archetypes:", "sum to 1", "solo_weekdays=0.7"]),
    ("archetypes.solo_weekdays.share", -0.2, ["archetypes.solo_weekdays.share:", ">= 0"]),
    ("archetypes.solo_weekdays.share", _DELETE, ["archetypes.solo_weekdays.share:", "missing"]),
    (
        "archetypes.solo_weekdays.chats_per_dya",
        3,
        ["archetypes.solo_weekdays.chats_per_dya:", "'chats_per_day'"],
    ),
    (
        "archetypes.solo_weekdays.chats_per_day",
        "lots",
        ["archetypes.solo_weekdays.chats_per_day:", "number"],
    ),
    (
        "archetypes.solo_weekdays.chats_per_day",
        -1,
        ["archetypes.solo_weekdays.chats_per_day:", ">= 0"],
    ),
    (
        "archetypes.solo_weekdays.auto_reply_rate",
        1.5,
        ["archetypes.solo_weekdays.auto_reply_rate:", "<= 1"],
    ),
    ("archetypes.solo_weekdays.capacity_per_hour", 0, ["capacity_per_hour:", "> 0"]),
    ("archetypes.solo_weekdays.delay_shop_sigma", -0.1, ["delay_shop_sigma:", ">= 0"]),
    (
        "archetypes.solo_weekdays.schedule_jitter_minutes",
        300,
        ["archetypes.solo_weekdays.schedule_jitter_minutes:", "<= 240"],
    ),
    ("archetypes.solo_weekdays.absence_rate", 1.2, ["absence_rate:", "<= 1"]),
    ("archetypes.solo_weekdays.off_day_cover", "some", ["off_day_cover:", "number"]),
    ("archetypes.solo_weekdays.auto_reply_adoption", -1, ["auto_reply_adoption:", ">= 0"]),
    (
        "archetypes.solo_weekdays.absense_rate",
        0.1,
        ["archetypes.solo_weekdays.absense_rate:", "'absence_rate'"],
    ),
    ("archetypes.solo_weekdays.works_holidays", "yes", ["works_holidays:", "true or false"]),
    (
        "archetypes.solo_weekdays.timezone",
        "Asia/Hanoi",
        ["archetypes.solo_weekdays.timezone:", "unknown time zone", "IANA"],
    ),
    (
        "archetypes.solo_weekdays.staff_timezone",
        "Mars/Base",
        ["staff_timezone:", "unknown time zone"],
    ),
    (
        "archetypes.solo_weekdays.holiday_country",
        "XX",
        ["archetypes.solo_weekdays.holiday_country:", "unknown holiday country"],
    ),
    (
        "archetypes.solo_weekdays.use",
        "solo",
        ["archetypes.solo_weekdays.use:", "unknown built-in", "solo_weekdays"],
    ),
    (
        "archetypes.solo_weekdays.schedule",
        {"mond": ["09:00-17:00"]},
        ["archetypes.solo_weekdays.schedule.mond:", "'mon'"],
    ),
    (
        "archetypes.solo_weekdays.schedule",
        {"mon": ["25:00-26:00"]},
        ["archetypes.solo_weekdays.schedule.mon[0]:", "valid time range"],
    ),
    (
        "archetypes.solo_weekdays.schedule",
        {"mon": ["18:00-09:00"]},
        ["archetypes.solo_weekdays.schedule.mon[0]:", "ends before it starts"],
    ),
    (
        "archetypes.solo_weekdays.schedule",
        {"mon": "9 to 5"},
        ["archetypes.solo_weekdays.schedule.mon[0]:", "HH:MM-HH:MM"],
    ),
    (
        "archetypes.solo_weekdays.schedule",
        {"mon": ["09:00-13:00", "12:00-18:00"]},
        ["schedule.mon:", "overlap"],
    ),
    (
        "archetypes.solo_weekdays.schedule",
        ["09:00-17:00"],
        ["archetypes.solo_weekdays.schedule:", "mapping"],
    ),
    ("campaigns", [{"date": "2025-08-20", "multiplier": -3}], ["campaigns[0].multiplier:", ">= 0"]),
    ("campaigns", [{"date": "2025-02-30", "multiplier": 3}], ["campaigns[0].date:", "YYYY-MM-DD"]),
    (
        "campaigns",
        [{"date": "2025-08-20", "multiplier": 3, "hours": [25]}],
        ["campaigns[0].hours:", "0-23"],
    ),
    (
        "campaigns",
        [{"date": "2025-08-20", "multipler": 3}],
        ["campaigns[0].multipler:", "'multiplier'"],
    ),
    ("analysis.targets", [0.8, 1.2], ["analysis.targets:", "outside (0, 1]", "0.85"]),
    ("analysis.targets", [0], ["analysis.targets:", "outside (0, 1]"]),
    ("analysis.targets", 0.85, ["analysis.targets:", "list"]),
    ("analysis.windows_hours", [12, -6], ["analysis.windows_hours[1]:", "> 0"]),
    ("analysis.rules", ["new 12h!"], ["analysis.rules[0]:", "built-in rule name"]),
    ("analysis.rules", ["missing_rule.yaml"], ["analysis.rules[0]:", "not found"]),
    (
        "analysis.drilldown_shop",
        "shop_99999",
        ["analysis.drilldown_shop:", "shop_00000 .. shop_00009"],
    ),
    (
        "analysis.what_if",
        [{"name": "x", "set": {"auto_reply": 0.9}}],
        ["analysis.what_if[0].set.auto_reply:", "'auto_reply_rate'"],
    ),
    (
        "analysis.what_if",
        [{"name": "x", "set": {"auto_reply_rate": 2}}],
        ["analysis.what_if[0].set.auto_reply_rate:", "<= 1"],
    ),
    (
        "analysis.what_if",
        [{"name": "x", "archetype": "solo", "set": {"chats_per_day": 2}}],
        ["analysis.what_if[0].archetype:", "solo_weekdays"],
    ),
    (
        "analysis.what_if",
        [{"name": "x", "set": {"share": 0.5}}],
        ["analysis.what_if[0].set.share:", "cannot change shares"],
    ),
    ("analysis.what_if", [{"name": "x"}], ["analysis.what_if[0]:", "'set'"]),
    ("analysis.sweep", [1], ["analysis.sweep:", "unknown key"]),
    ("analysis.replications", 0, ["analysis.replications:", ">= 1"]),
    ("analysis.replications", 2.5, ["analysis.replications:", "integer"]),
    ("analysis.replications", True, ["analysis.replications:", "integer"]),
    ("analysis.replications", 5_000, ["analysis.replications:", "<= 1,000"]),
    ("satisfaction.max", 2, ["satisfaction.max:", "<= 1"]),
]


@pytest.mark.parametrize(
    ("path", "value", "expect"), BAD_CASES, ids=[c[0] + "=" + repr(c[1])[:20] for c in BAD_CASES]
)
def test_validation_errors_name_file_and_key(
    path: str, value: Any, expect: list[str], tmp_path: Path
) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(_mutate(path, value)))
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    msg = str(err.value)
    assert msg.startswith(f"{f}: "), msg
    for s in expect:
        assert s in msg, f"{s!r} not in {msg!r}"


def test_target_above_one_names_analysis_targets() -> None:
    d = base()
    d["analysis"]["targets"] = [1.2]
    with pytest.raises(ScenarioError, match=r"analysis\.targets"):
        Scenario.from_dict(d, source="scenarios/x.yaml")


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ScenarioError, match="empty"):
        load_scenario(empty)
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(broken)
    missing = tmp_path / "missing.yaml"
    missing.write_text("name: x\nshops: 3\n")
    with pytest.raises(ScenarioError, match="period: missing required key"):
        load_scenario(missing)


def test_rule_file_relative_to_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule file named relative to the scenario is resolved once, at load, to its path."""
    rule_file = tmp_path / "my_rule.yaml"
    rule_file.write_text("name: mine\nwindow_hours: 10\ntarget: 0.8\n")
    d = base()
    d["analysis"]["rules"] = ["new-12h", "my_rule.yaml"]
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(d))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    sc = load_scenario(f)
    assert sc.analysis.rules == ("new-12h", str(rule_file.resolve()))
    # the resolved scenario means the same rules from any folder (report, notebooks, log folder)
    assert [resolve_rule(r).name for r in sc.analysis.rules] == ["new-12h", "mine"]
    again = tmp_path / "elsewhere" / "again.yaml"
    again.write_text(sc.to_yaml())
    assert load_scenario(again).analysis.rules == sc.analysis.rules


@pytest.mark.parametrize(
    ("rules", "expect"),
    [
        (["legacy-24h", "new_12h"], ["analysis.rules[1]:", "neither a built-in rule name"]),
        (["new-12h", "bad_rule.yaml"], ["analysis.rules[1]:", "bad_rule.yaml: target:", "finite"]),
        (["broken.yaml"], ["analysis.rules[0]:", "not valid YAML"]),
    ],
)
def test_bad_rule_refs_fail_at_load(tmp_path: Path, rules: list[str], expect: list[str]) -> None:
    (tmp_path / "bad_rule.yaml").write_text("name: bad\nwindow_hours: 12\ntarget: .nan\n")
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    d = base()
    d["analysis"]["rules"] = rules
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(d))
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    msg = str(err.value)
    assert msg.startswith(f"{f}: ") and "\n" not in msg, msg
    for s in expect:
        assert s in msg, f"{s!r} not in {msg!r}"


def test_with_change_by_name_and_object() -> None:
    sc = Scenario.from_dict(base())
    bots = sc.with_change("bots")
    assert all(a.auto_reply_rate == 0.9 for a in bots.archetypes)
    assert bots.shops == sc.shops and bots.seed == sc.seed
    cover = sc.with_change(
        WhatIf("weekend cover", {"schedule": {"sat": ["10:00-14:00"]}}, "solo_weekdays")
    )
    solo = cover.archetype("solo_weekdays")
    assert solo.schedule["sat"] == ("10:00-14:00",)
    assert solo.schedule["mon"] == sc.archetype("solo_weekdays").schedule["mon"]
    assert cover.archetype("agency_247") == sc.archetype("agency_247")
    with pytest.raises(ScenarioError, match="no variant named"):
        sc.with_change("nope")
    with pytest.raises(ScenarioError, match=r"what-if 'x'\.set\.chats_per_day"):
        sc.with_change(WhatIf("x", {"chats_per_day": -1}))


def test_scaled() -> None:
    d = base()
    d["shops"] = 300
    d["analysis"]["drilldown_shop"] = "shop_00150"
    sc = Scenario.from_dict(d)
    small = sc.scaled(shops=12, days=3)
    assert (small.shops, small.period.days) == (12, 3)
    assert small.period.start == sc.period.start
    assert small.analysis.drilldown_shop is None
    assert sc.scaled(days=2).analysis.drilldown_shop == "shop_00150"
    with pytest.raises(ScenarioError):
        sc.scaled(shops=0)


def test_shop_ids_and_assignment() -> None:
    assert shop_ids(3) == ["shop_00000", "shop_00001", "shop_00002"]
    assert shop_ids(123456)[-1] == "shop_123455"
    sc = Scenario.from_dict(base())
    assert sc.shop_archetypes() == [0] * 6 + [1] * 4
    d = base()
    d["archetypes"] = {"solo_weekdays": {"share": 0.98}, "agency_247": {"share": 0.02}}
    d["shops"] = 5
    assert Scenario.from_dict(d).shop_archetypes() == [0, 0, 0, 0, 1]


def test_every_parameter_is_documented() -> None:
    doc = (ROOT / "docs" / "simulator.md").read_text()
    for p in ARCHETYPE_PARAMS:
        assert f"`{p}`" in doc, p


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.floats(0.01, 10.0), min_size=1, max_size=6),
    shops=st.integers(1, 500),
)
def test_share_assignment_property(weights: list[float], shops: int) -> None:
    names = list(BUILTIN_ARCHETYPES)[: len(weights)]
    total = sum(weights)
    d = base()
    d["shops"] = shops
    d["archetypes"] = {n: {"share": w / total} for n, w in zip(names, weights, strict=True)}
    sc = Scenario.from_dict(d)
    assign = sc.shop_archetypes()
    assert len(assign) == shops
    assert assign == sorted(assign)  # contiguous blocks
    for i, a in enumerate(sc.archetypes):
        assert abs(assign.count(i) - a.share * shops) <= len(weights)
    if shops >= len(weights):
        assert set(assign) == set(range(len(weights)))
    assert Scenario.from_dict(sc.to_dict()) == sc


def test_yaml_bomb_in_a_text_key_is_refused_quickly(tmp_path: Path) -> None:
    import time
    import tracemalloc

    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    f = tmp_path / "bomb.yaml"
    f.write_text("\n".join([*lines, "name: *a9"]))
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ScenarioError, match="aliases expand to more than") as err:
            load_scenario(f)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 5 and peak < 20 * 1024**2
    assert str(err.value).startswith(f"{f}: ") and "\n" not in str(err.value)
    # aliases used sensibly still work
    d = base()
    d.pop("description", None)
    text = yaml.safe_dump(d)
    assert "\nname: t\n" in text
    f.write_text(text.replace("\nname: t\n", "\nname: &n t\ndescription: *n\n"))
    assert load_scenario(f).description == "t"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("archetypes.solo_weekdays.chats_per_day", float("nan")),
        ("archetypes.solo_weekdays.delay_median_minutes", float("inf")),
        ("satisfaction.midpoint_hours", float("-inf")),
        ("analysis.windows_hours", [12, float("inf")]),
        ("archetypes.solo_weekdays.absence_rate", 10**400),
        ("shops", 10**400),
        ("period.days", 10**9),
    ],
)
def test_nan_infinity_and_huge_numbers_refused(tmp_path: Path, path: str, value: Any) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(_mutate(path, value)))
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    msg = str(err.value)
    assert msg.startswith(f"{f}: ") and "\n" not in msg and len(msg) < 300, msg


# ---------------------------------------------------------------- arrival profile, kind mix
HOURS = [1.0] * 12 + [3.0] * 12
KNOB_CASES = [
    # (archetype key, value, substrings the message must contain)
    ("arrival_hours", [1.0] * 23, ["archetypes.solo_weekdays.arrival_hours:", "24 weights", "23"]),
    ("arrival_hours", [0.0] * 24, ["archetypes.solo_weekdays.arrival_hours:", "all 0"]),
    ("arrival_hours", [1.0] * 5 + [-1.0] + [1.0] * 18, ["arrival_hours[5]:", ">= 0"]),
    ("arrival_hours", [1.0] * 23 + ["x"], ["arrival_hours[23]:", "number"]),
    ("arrival_hours", 3, ["archetypes.solo_weekdays.arrival_hours:", "list"]),
    ("arrival_weekdays", [1.0] * 8, ["arrival_weekdays:", "7 weights", "Monday first"]),
    ("arrival_weekdays", [0, 0, 0, 0, 0, 0, 0], ["arrival_weekdays:", "all 0"]),
    ("arrival_weekdays", [1, 1, 1, 1, 1, 1, float("nan")], ["arrival_weekdays[6]:"]),
    ("kind_mix", {"text": 0.5, "photo": 0.5}, ["kind_mix.photo:", "unknown buyer message kind"]),
    ("kind_mix", {"text": 0.5, "system": 0.5}, ["kind_mix.system:", "unknown", "product_card"]),
    ("kind_mix", {"text": 0.5, "image": 0.4}, ["kind_mix:", "sum to 1", "0.9"]),
    ("kind_mix", {"text": 1.2, "image": -0.2}, ["kind_mix.text:", "<= 1"]),
    ("kind_mix", {}, ["kind_mix:", "sum to 1"]),
    ("kind_mix", ["text"], ["kind_mix:", "mapping"]),
    ("absence_concentration", 0, ["archetypes.solo_weekdays.absence_concentration:", "> 0"]),
    ("absence_concentration", -2, ["absence_concentration:", "> 0"]),
]


@pytest.mark.parametrize(
    ("key", "value", "expect"), KNOB_CASES, ids=[f"{c[0]}={c[1]!r}"[:40] for c in KNOB_CASES]
)
def test_profile_and_kind_knobs_name_bad_values(
    key: str, value: Any, expect: list[str], tmp_path: Path
) -> None:
    d = base()
    d["archetypes"]["solo_weekdays"][key] = value
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(d))
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    msg = str(err.value)
    assert msg.startswith(f"{f}: "), msg
    for s in expect:
        assert s in msg, f"{s!r} not in {msg!r}"


def test_profile_and_kind_knobs_default_to_the_builtin_model() -> None:
    a = Scenario.from_dict(base()).archetype("solo_weekdays")
    assert (a.arrival_hours, a.arrival_weekdays, a.kind_mix) == (None, None, None)
    assert a.absence_concentration == 4.0


def test_profile_and_kind_knobs_round_trip(tmp_path: Path) -> None:
    d = base()
    d["archetypes"]["solo_weekdays"] |= {
        "arrival_hours": HOURS,
        "arrival_weekdays": [1, 1, 1, 1, 1, 2, 2],
        "kind_mix": {"image": 0.3, "text": 0.6, "sticker": 0.1 + 1e-7},
        "absence_concentration": 0.5,
    }
    sc = Scenario.from_dict(d)
    a = sc.archetype("solo_weekdays")
    assert a.arrival_hours == tuple(HOURS)
    assert a.arrival_weekdays == (1.0,) * 5 + (2.0, 2.0)
    assert [k for k, _ in a.kind_mix or ()] == ["text", "sticker", "image"]  # schema order
    assert a.to_dict()["kind_mix"] == {"text": 0.6, "sticker": 0.1 + 1e-7, "image": 0.3}
    f = tmp_path / "knobs.yaml"
    f.write_text(sc.to_yaml())
    back = load_scenario(f)
    assert back == sc
    assert back.archetype("agency_247").kind_mix is None


def test_profile_and_kind_knobs_in_what_ifs_and_changes() -> None:
    d = base()
    d["analysis"]["what_if"].append(
        {"name": "evenings", "archetype": "solo_weekdays", "set": {"arrival_hours": HOURS}}
    )
    d["changes"] = [
        {
            "name": "stickers",
            "from": "2025-08-18",
            "set": {"kind_mix": {"sticker": 1.0}, "absence_concentration": 1.0},
        }
    ]
    sc = Scenario.from_dict(d)
    assert sc.with_change("evenings").archetype("solo_weekdays").arrival_hours == tuple(HOURS)
    assert sc.changes[0].set["kind_mix"] == {"sticker": 1.0}
    bad = copy.deepcopy(d)
    bad["changes"][0]["set"]["kind_mix"] = {"sticker": 0.5}
    with pytest.raises(ScenarioError, match=r"changes\[0\]\.set\.kind_mix: shares must sum to 1"):
        Scenario.from_dict(bad)
    bad = copy.deepcopy(d)
    bad["analysis"]["what_if"][1]["set"]["arrival_weekdays"] = [1, 2]
    with pytest.raises(ScenarioError, match=r"what_if\[1\]\.set\.arrival_weekdays: expected 7"):
        Scenario.from_dict(bad)
