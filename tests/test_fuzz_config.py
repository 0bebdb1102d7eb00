"""Fuzzing rule and scenario files: every bad file is a named error in one line, never a crash.

Hypothesis generates bad files (wrong types, unknown keys, NaN and infinity, negatives,
out-of-range probabilities, bad schedules and zones, huge values, anchors and aliases,
documents that are not mappings, binary garbage, empty files) and feeds them to
``Rule.from_yaml``, ``load_scenario``, ``chatsim metrics --rule`` and ``chatsim simulate``.
Each either loads or raises the package's error: one line, naming the file, of bounded
length; the command exits with status 2.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatsim.cli import main
from chatsim.errors import RuleError, ScenarioError
from chatsim.rules import Rule
from chatsim.scenario import ARCHETYPE_PARAMS, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_LOG = ROOT / "chatsim" / "data" / "sample_log"
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

RULE = {"name": "fuzz", "window_hours": 12, "target": 0.85, "period_days": 30}
RULE_KEYS = [
    "name",
    "base",
    "window_hours",
    "target",
    "warning_below",
    "enforcement_below",
    "period_days",
    "period_start",
    "period_end",
    "auto_reply",
    "exclusions",
    "valid_replies_only",
    "chatbot_weekend_deadline",
    "clock",
    "business_schedule",
    "session_hours",
    "description",
    "windw_hours",
]
SCENARIO: dict[str, Any] = {
    "name": "fuzz",
    "seed": 1,
    "shops": 3,
    "period": {"start": "2025-08-15", "days": 2},
    "archetypes": {
        "solo_weekdays": {"share": 0.5, "schedule": {"mon": ["09:00-17:00"]}},
        "agency_247": {"share": 0.5},
    },
    "campaigns": [{"date": "2025-08-16", "multiplier": 2.0, "hours": [10, 11]}],
    "satisfaction": {"max": 0.9},
    "analysis": {"rules": ["legacy-24h", "new-12h"], "targets": [0.8], "windows_hours": [12]},
}
SCENARIO_PATHS = [
    "name",
    "seed",
    "shops",
    "period",
    "period.start",
    "period.days",
    "archetypes",
    "archetypes.solo_weekdays",
    "archetypes.solo_weekdays.use",
    "archetypes.solo_weekdays.schedule",
    "archetypes.solo_weekdays.schedule.mon",
    "archetypes.agency_247.timezone",
    "archetypes.agency_247.holiday_country",
    *(f"archetypes.agency_247.{p}" for p in ARCHETYPE_PARAMS),
    "campaigns",
    "campaigns.0.date",
    "campaigns.0.multiplier",
    "campaigns.0.hours",
    "satisfaction.max",
    "satisfaction.scale_hours",
    "analysis.rules",
    "analysis.targets",
    "analysis.windows_hours",
    "analysis.drilldown_shop",
    "analysis.what_if",
    "unknown_key",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.sampled_from([10**30, -(10**30), 10**400, 2**63, -1, 0, 1.5, 2.0, 24, 25]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", " ", "85%", "abc%", "nan", "2025-02-30", "25:00-26:00", "09:00-18:00"]),
    st.sampled_from(["Mars/Olympus", "UTC", "XX", "legacy-24h", "no_such_rule", "x.yaml"]),
    st.text(max_size=30),
    st.sampled_from(["x" * 5000, "🙂" * 50, "<svg onload=alert(1)>", "\t\n"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)

#: Raw texts that are not YAML mappings, or that attack the loader.
RAW_TEXTS = [
    "",
    "\n\n# only a comment\n",
    "- a\n- b\n",
    "42",
    "just text",
    "name: [unclosed\n",
    "a: &a [*a]\n",
    "a: 1\n---\nb: 2\n",
    "? [a, b]\n: 1\n",
    "name: !!python/object/apply:os.system ['true']\n",
    "[" * 3000 + "]" * 3000,
    "name: 2025-13-45\n",
    "shops: " + "9" * 5000 + "\n",
    "\x00\x01\x02 binary",
]


def _bomb(key: str) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join([*lines, f"{key}: *a9"])


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    d = copy.deepcopy(data)
    *parents, last = path.split(".")
    node: Any = d
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        if not isinstance(node, dict | list):
            return d
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return d


def _dump(data: Any) -> str:
    try:
        return yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:  # a value YAML cannot hold: write its text instead
        return yaml.safe_dump(str(data))


def _one_line(msg: str, path: Path) -> None:
    assert msg.startswith(f"{path}: "), msg
    assert "\n" not in msg and "Traceback" not in msg, msg
    assert len(msg) < 1000, f"{len(msg)} characters: {msg[:200]}"


def _check_rule(path: Path) -> None:
    try:
        rule = Rule.from_yaml(path)
    except RuleError as exc:
        _one_line(str(exc), path)
    else:  # a loaded rule holds only finite numbers in range
        assert math.isfinite(rule.window_hours) and 0 < rule.target <= 1
        assert math.isfinite(rule.session_hours)


def _check_scenario(path: Path) -> bool:
    """True if the scenario loaded; otherwise its error was one line naming the file."""
    try:
        load_scenario(path)
    except ScenarioError as exc:
        _one_line(str(exc), path)
        return False
    return True


def _cli(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    return code, err.getvalue()


# --------------------------------------------------------------------------------------
# rules
# --------------------------------------------------------------------------------------


@FUZZ
@given(key=st.sampled_from(RULE_KEYS), value=values, drop=st.booleans())
def test_fuzz_rule_values(tmp_path: Path, key: str, value: Any, drop: bool) -> None:
    data = dict(RULE)
    if drop and key in data:
        del data[key]
    else:
        data[key] = value
    path = tmp_path / "rule.yaml"
    path.write_text(_dump(data), encoding="utf-8")
    _check_rule(path)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=200))
def test_fuzz_rule_binary_garbage(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("bin") / "rule.yaml"
    path.write_bytes(data)
    _check_rule(path)


@pytest.mark.parametrize("text", [*RAW_TEXTS, _bomb("name"), _bomb("target")])
def test_raw_rule_texts(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rule.yaml"
    path.write_text(text, encoding="utf-8")
    _check_rule(path)
    code, err = _cli(["metrics", str(SAMPLE_LOG), "--rule", str(path)])
    assert code == 2 and err.startswith("chatsim: error: ") and err.count("\n") == 1, err


# --------------------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------------------


@FUZZ
@given(path=st.sampled_from(SCENARIO_PATHS), value=values)
def test_fuzz_scenario_values(tmp_path: Path, path: str, value: Any) -> None:
    f = tmp_path / "scenario.yaml"
    f.write_text(_dump(_set(SCENARIO, path, value)), encoding="utf-8")
    _check_scenario(f)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=200))
def test_fuzz_scenario_binary_garbage(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("bin") / "scenario.yaml"
    path.write_bytes(data)
    _check_scenario(path)


@pytest.mark.parametrize("text", [*RAW_TEXTS, _bomb("name"), _bomb("description")])
def test_raw_scenario_texts_through_simulate(tmp_path: Path, text: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    assert not _check_scenario(path)
    code, err = _cli(["simulate", str(path), "--out", str(tmp_path / "log"), "--quiet"])
    assert code == 2 and err.startswith("chatsim: error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "log").exists()


@settings(max_examples=25, deadline=None)
@given(path=st.sampled_from(SCENARIO_PATHS), value=values)
def test_fuzz_simulate_command(tmp_path_factory: pytest.TempPathFactory, path: str, value: Any):
    """A scenario that does not load is refused by ``chatsim simulate`` before anything runs."""
    d = tmp_path_factory.mktemp("sim")
    f = d / "scenario.yaml"
    f.write_text(_dump(_set(SCENARIO, path, value)), encoding="utf-8")
    if _check_scenario(f):
        return  # a valid scenario: simulating it is the simulator tests' business
    code, err = _cli(["simulate", str(f), "--out", str(d / "log"), "--quiet"])
    assert code == 2 and err.startswith(f"chatsim: error: {f}: ") and err.count("\n") == 1, err
    assert not (d / "log").exists()


def test_scenario_path_that_is_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "s.yaml"
    folder.mkdir()
    with pytest.raises(ScenarioError, match="is a folder"):
        load_scenario(folder)
