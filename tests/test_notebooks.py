"""The notebooks: committed clean, parameterized, and runnable with every scenario's parameters."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import papermill as pm
import pytest

from chatsim.notebook import prepare_log
from chatsim.render import count_charts
from chatsim.report import NOTEBOOKS_DIR, SMALL_DAYS, notebook_parameters
from chatsim.scenario import load_scenario
from tests.support.notebooks import execute

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def test_there_are_notebooks_and_scenarios():
    assert {p.stem for p in NOTEBOOKS} >= {
        "rule_comparison",
        "sensitivity",
        "shop_drilldown",
        "rollout",
    }
    assert "baseline.yaml" in {p.name for p in SCENARIOS}


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(nb):
    data = json.loads(nb.read_text())
    for i, cell in enumerate(data["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell.get("outputs") == [], (
            f"{nb.name} cell {i} has outputs: run `make strip-notebooks`"
        )
        assert cell.get("execution_count") is None, f"{nb.name} cell {i} has an execution count"
    assert "papermill" not in data["metadata"], f"{nb.name} carries papermill metadata"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_has_one_parameters_cell_with_every_report_parameter(nb):
    data = json.loads(nb.read_text())
    tagged = [c for c in data["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    declared = pm.inspect_notebook(str(nb))  # what papermill itself reads from that cell
    for name in notebook_parameters(ROOT / "scenarios" / "baseline.yaml", log_path="x"):
        assert name in declared, f"{nb.name}: parameter {name} missing from the parameters cell"
        ast.literal_eval(declared[name]["default"])  # a plain value: runs on its own defaults


def _pairs() -> list[Any]:
    """Every notebook with every scenario. The default suite runs the main report on every
    scenario and the calibration page on the baseline; the rest of the cross product is
    marked slow. By default the other pages still run with injected parameters in the
    browser tests (their reports are built by ``build_reports``), and nbval runs every
    notebook on its own defaults."""
    out = []
    for nb in NOTEBOOKS:
        for sc in SCENARIOS:
            quick = nb.stem == "rule_comparison" or (
                nb.stem == "calibration" and sc.name == "baseline.yaml"
            )
            marks = () if quick else (pytest.mark.slow,)
            out.append(pytest.param(nb, sc, id=f"{nb.stem}-{sc.stem}", marks=marks))
    return out


@pytest.mark.parametrize(("nb", "scenario"), _pairs())
def test_runs_with_each_scenarios_parameters(nb, scenario, tmp_path):
    sc = load_scenario(scenario).scaled(shops=18, days=SMALL_DAYS)
    log = prepare_log(str(scenario), "", shops=sc.shops, days=sc.period.days)
    params = notebook_parameters(sc, log_path=log, small=True)
    params.update(shops=sc.shops, days=sc.period.days, run_what_if=False)
    out = tmp_path / nb.name
    execute(nb, out, params)
    data = json.loads(out.read_text())
    injected = [
        c for c in data["cells"] if "injected-parameters" in c.get("metadata", {}).get("tags", [])
    ]
    assert injected and f'log_path = "{log}"' in "".join(injected[0]["source"])
    html = "".join(
        "".join(o.get("data", {}).get("text/html", ""))
        for c in data["cells"]
        for o in c.get("outputs", [])
    )
    assert count_charts(html) >= 2
    assert load_scenario(scenario).name in html


def test_prepare_log_simulates_again_over_an_incomplete_cache(tmp_path, monkeypatch):
    from chatsim.logfolder import MARKER
    from chatsim.schema import read_log

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    scenario = str(ROOT / "scenarios" / "baseline.yaml")
    first = Path(prepare_log(scenario, "", shops=4, days=2))
    assert first.is_relative_to(tmp_path) and (first / MARKER).is_file()
    (first / MARKER).unlink()  # as written before the marker existed, or stopped half-way
    (first / "stale.txt").write_text("left by an older run")
    again = Path(prepare_log(scenario, "", shops=4, days=2))
    assert again == first and (again / MARKER).is_file()
    assert not (again / "stale.txt").exists()  # replaced whole, not patched
    assert read_log(again).shops.height == 4
    assert not [p for p in again.parent.iterdir() if p.name.startswith(".")]  # no staging left
