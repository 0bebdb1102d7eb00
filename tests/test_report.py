"""chatsim report: end to end, validation before any notebook runs, no half-written reports."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import yaml

import chatsim
from chatsim import report
from chatsim.cli import main
from chatsim.errors import ReportError, ScenarioError
from chatsim.render import count_bundles, count_charts, external_references

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def test_report_end_to_end_small(tmp_path):
    out = tmp_path / "reports"
    assert main(["report", str(BASELINE), "--out", str(out), "--small", "--quiet"]) == 0
    pages = sorted(p.name for p in (out / "baseline").glob("*.html"))
    assert pages == ["rule_comparison.html", "sensitivity.html", "shop_drilldown.html"]
    assert sorted(p.name for p in (out / "baseline").glob("*.ipynb")) == [
        "rule_comparison.ipynb",
        "sensitivity.ipynb",
        "shop_drilldown.ipynb",
    ]
    main_page = (out / "baseline" / "rule_comparison.html").read_text()
    assert count_bundles(main_page) == 1 and count_charts(main_page) >= 6
    assert external_references(main_page) == []
    for needle in (
        "Exclusions by reason",
        "holiday_mode",
        "auto_resolved",
        f"chatsim {chatsim.__version__}",
        "legacy-24h: answered within 24 h",
        "seed 20250815",
        "messages",
    ):
        assert needle in main_page, needle
    index = (out / "index.html").read_text()
    assert "baseline/rule_comparison.html" in index
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]


BAD = [
    ({"shopz": 10}, "shopz"),
    ({"shops": -5}, "shops"),
    ({"archetypes": {"solo_weekdays": {"share": 1.0, "timezone": "Mars/Olympus"}}}, "timezone"),
    ({"analysis": {"targets": [0.8, 1.2]}}, "analysis.targets"),
]


@pytest.mark.parametrize("change, key", BAD)
def test_bad_scenario_fails_before_any_notebook_runs(tmp_path, monkeypatch, change, key, capsys):
    data = yaml.safe_load(BASELINE.read_text())
    if "archetypes" in change:
        data["archetypes"] = change["archetypes"]
    else:
        data.update(change) if "analysis" not in change else data["analysis"].update(
            change["analysis"]
        )
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    ran = []
    monkeypatch.setattr(report, "_run_notebook", lambda *a, **k: ran.append(a))
    with pytest.raises(ScenarioError, match=key):
        report.build_reports(bad, out_dir=tmp_path / "r", progress=False)
    assert ran == []
    assert main(["report", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert key in capsys.readouterr().err
    assert not (tmp_path / "r" / "baseline").exists()


def test_failing_notebook_names_the_cell_and_leaves_nothing(tmp_path):
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    for name, src in (
        ("rule_comparison", "x = 1"),
        ("sensitivity", "raise ValueError('broken on purpose')"),
    ):
        nb = nbformat.v4.new_notebook(
            metadata={
                "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}
            }
        )
        params = nbformat.v4.new_code_cell("log_path = ''")
        params.metadata["tags"] = ["parameters"]
        nb.cells = [params, nbformat.v4.new_code_cell(src)]
        nbformat.write(nb, nbdir / f"{name}.ipynb")
    out = tmp_path / "reports"
    with pytest.raises(
        ReportError,
        match=r"sensitivity.ipynb failed in cell \d+ \(`raise ValueError.*broken on purpose",
    ):
        report.build_reports(BASELINE, out_dir=out, small=True, notebooks_dir=nbdir, progress=False)
    assert not (out / "baseline").exists()
    assert [p.name for p in out.iterdir()] == []


def test_parameters_come_from_the_scenario():
    p = report.notebook_parameters(BASELINE, log_path="/tmp/x")
    sc = yaml.safe_load(BASELINE.read_text())
    assert p["rules"] == sc["analysis"]["rules"]
    assert p["targets"] == pytest.approx(sc["analysis"]["targets"])
    assert p["windows_hours"] == pytest.approx(sc["analysis"]["windows_hours"])
    assert p["drilldown_shop"] == sc["analysis"]["drilldown_shop"]
    json.dumps(p)  # plain values only


def test_unknown_notebook_named(tmp_path):
    with pytest.raises(ReportError, match="no notebook"):
        report.build_reports(BASELINE, out_dir=tmp_path, notebooks=["nope"], progress=False)


def test_report_on_a_real_log(tmp_path):
    from chatsim.sample import sample_log_path

    out = tmp_path / "reports"
    paths = report.build_reports(BASELINE, log=sample_log_path(), out_dir=out, progress=False)
    assert [p.name for p in paths] == [
        "rule_comparison.html",
        "sensitivity.html",
        "shop_drilldown.html",
    ]
    page = paths[0].read_text()
    assert "chat log" in page and "sample_log" in page
    assert "No what-if variants for this run" in page
    assert "shop_b" in paths[2].read_text()  # the drill-down picks a shop of the log


def test_bad_real_log_fails_before_notebooks(tmp_path, monkeypatch):
    from chatsim.errors import SchemaError

    bad = tmp_path / "messages.csv"
    bad.write_text("message_id,shop_id\n1,s\n")
    monkeypatch.setattr(report, "_run_notebook", lambda *a, **k: pytest.fail("a notebook ran"))
    with pytest.raises(SchemaError, match="missing required column"):
        report.build_reports(BASELINE, log=bad, out_dir=tmp_path / "r", progress=False)
