"""The calibration page and the model-based sections, run through papermill as a report run
with ``--fit`` runs them: a real-like log (no archetype column), its twin fitted and written
beside it, ``twin_path`` passed to every notebook; and the calibration page in headless
Chromium."""

from __future__ import annotations

import json
import warnings
from html import escape as html_escape
from pathlib import Path
from types import SimpleNamespace

import pytest

from chatsim.errors import ChatsimWarning
from chatsim.fit import fit_log
from chatsim.render import count_charts, notebook_to_html
from chatsim.report import NOTEBOOKS_DIR, notebook_parameters
from chatsim.scenario import load_scenario
from chatsim.schema import read_log
from chatsim.simulate import simulate
from chatsim.twin import MODEL_BASED, calibration_warnings
from tests.support.notebooks import execute, write_as_export

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> dict[str, object]:
    """A real-like log, its twin YAML, and the parameters a ``--fit`` run passes."""
    root = tmp_path_factory.mktemp("calibration")
    folder = root / "log"
    sim = simulate(load_scenario(BASELINE).scaled(shops=24, days=8))
    write_as_export(sim, folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChatsimWarning)
        fitted = fit_log(read_log(folder), by="country", per_shop=True)
    twin = fitted.write(root / "twin.yaml")
    params = notebook_parameters(BASELINE, log_path=folder, real_log=True)
    params.update(twin_path=str(twin), calibration_runs=2)
    return {"root": root, "params": params, "fit": fitted}


def _run(nb: str, params: dict[str, object], out: Path) -> tuple[dict, str]:
    execute(NOTEBOOKS_DIR / f"{nb}.ipynb", out, params)
    data = json.loads(out.read_text())
    html = "".join(
        "".join(o.get("data", {}).get("text/html", ""))
        for c in data["cells"]
        for o in c.get("outputs", [])
    )
    return data, html


@pytest.fixture(scope="module")
def calibration_page(real_run) -> tuple[Path, str]:
    out = Path(real_run["root"]) / "calibration.ipynb"
    _, html = _run("calibration", dict(real_run["params"]), out)
    return out, html


def test_calibration_page_opens_with_the_goodness_of_fit_figures(calibration_page, real_run):
    _, html = calibration_page
    assert html.index('data-key="goals"') < html.index(
        '<ul class="chatsim-takeaways">'
    )  # the answer first
    for key in ("goals", "share_legacy-24h", "share_new-12h", "segments", "arrivals", "rates"):
        assert f'data-key="{key}"' in html
    assert "Fit goals met, all shops" in html
    assert "It was fitted by the report run." in html  # the twin file, not a fit of its own
    assert count_charts(html) == 4  # pass shares, arrivals, response times, shop rates
    fit = real_run["fit"]
    warned = calibration_warnings(SimpleNamespace(fit=fit))  # in words: "Segment GB: ..."
    assert len(warned) == len(fit.warnings)
    for w in warned:  # pooled segments are named on the page
        assert html_escape(w.text) in html
        assert "_" not in w.text.split(" pooled")[0]  # parameters in words, not codes


def test_model_based_sections_run_on_the_twin(real_run):
    root = Path(real_run["root"])
    params = dict(real_run["params"])
    _, rc = _run("rule_comparison", params, root / "rule_comparison.ipynb")
    assert MODEL_BASED.split(":")[0] in rc and "What-if: failing shops rescued" in rc
    assert "auto replies on" in rc
    assert "weekend cover changes the seller type Solo weekday sellers" in rc  # skipped, why
    _, sens = _run("sensitivity", params, root / "sensitivity.ipynb")
    assert "on a fitted model of your log, not the log itself" in sens
    assert "the twin simulated 5 times" in sens
    # without a twin, a real log's pages say there is no model
    _, plain = _run("rule_comparison", {**params, "twin_path": ""}, root / "plain.ipynb")
    assert "no fitted model of it" in plain and "Model-based" not in plain


@pytest.mark.browser
def test_calibration_page_draws_offline_at_1024_px(calibration_page, tmp_path):
    from tests.support.browser import check_report_in_browser, require_browser

    require_browser()
    out, _ = calibration_page
    page = notebook_to_html(out, tmp_path / "calibration.html", title="Calibration")
    shot = ROOT / "test-artifacts" / "calibration.png"
    shot.parent.mkdir(exist_ok=True)
    r = check_report_in_browser(page, shot, viewport=(1024, 900), hover_charts=True)
    assert r["ok"], r["problems"]
    assert r["charts_rendered"] == r["charts_expected"] == 4
    assert not r["external_requests"]
    text = r["visible_text"]
    assert text.index("Fit goals met, all shops") < text.index(
        "Shops meeting each rule, per segment"
    )
    assert any("Share passing" in t["text"] for t in r["tooltips"])
