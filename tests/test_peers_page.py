"""The peers page: its notebook run through papermill with the peers scenario's parameters,
then opened in headless Chromium at 1024 px with the network cut off (``-m browser``).

The notebook runs on ``scenarios/peers.yaml`` scaled down (18 shops, the small report's days);
the page must open with its answer (key numbers, takeaways), draw its four charts, label every
preset "as publicly described" and list each preset's sources.
"""

from __future__ import annotations

import json
from html import escape as html_escape
from pathlib import Path

import papermill as pm
import pytest

from chatsim.notebook import prepare_log
from chatsim.presets import PRESETS
from chatsim.render import count_charts, notebook_to_html
from chatsim.report import NOTEBOOKS_DIR, SMALL_DAYS, notebook_parameters
from chatsim.scenario import load_scenario
from tests.support.notebooks import execute

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = NOTEBOOKS_DIR / "peers.ipynb"
SCENARIO = ROOT / "scenarios" / "peers.yaml"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The peers notebook executed with the peers scenario's report parameters."""
    sc = load_scenario(SCENARIO).scaled(shops=18, days=SMALL_DAYS)
    log = prepare_log(str(SCENARIO), "", shops=sc.shops, days=sc.period.days)
    params = notebook_parameters(sc, log_path=log, small=True)
    params.setdefault("peers", list(sc.analysis.peers))
    params.update(shops=sc.shops, days=sc.period.days, run_what_if=False)
    out = tmp_path_factory.mktemp("peers") / "peers.ipynb"
    execute(NOTEBOOK, out, params)
    return out


def _html(nb: Path) -> str:
    data = json.loads(nb.read_text())
    return "".join(
        "".join(o.get("data", {}).get("text/html", ""))
        for c in data["cells"]
        for o in c.get("outputs", [])
    )


def test_the_scenario_lists_the_five_presets():
    assert load_scenario(SCENARIO).analysis.peers == tuple(PRESETS)


def test_the_notebook_declares_a_peers_parameter():
    declared = pm.inspect_notebook(str(NOTEBOOK))
    assert "peers" in declared
    for name in notebook_parameters(SCENARIO, log_path="x"):
        assert name in declared, f"parameter {name} missing from the peers notebook"


def test_the_page_opens_with_its_answer_and_labels_every_preset(executed):
    html = _html(executed)
    assert count_charts(html) == 4
    first_chart = html.index("data-chatsim-chart") if "data-chatsim-chart" in html else len(html)
    for key in ("new", "others", "closest", "farthest", "split"):
        assert html.index(f'data-key="{key}"') < first_chart  # the answer comes first
    assert html.index("chatsim-takeaways") < first_chart
    for p in PRESETS.values():
        assert p.label in html, f"{p.name} is not labelled as publicly described"
        for s in p.sources:
            assert html_escape(s.url) in html
    assert load_scenario(SCENARIO).name in html
    injected = [
        c
        for c in json.loads(executed.read_text())["cells"]
        if "injected-parameters" in c.get("metadata", {}).get("tags", [])
    ]
    assert "peers = [" in "".join(injected[0]["source"])


@pytest.mark.browser
def test_the_page_draws_offline_at_1024_px(executed, tmp_path):
    from tests.support.browser import check_report_in_browser, require_browser

    require_browser()
    page = notebook_to_html(executed, tmp_path / "peers.html")
    result = check_report_in_browser(
        page, ARTIFACTS / "peers.png", viewport=(1024, 900), hover_charts=True
    )
    assert result["charts_expected"] == 4
    assert result["charts_rendered"] == 4, result["problems"]
    assert result["external_requests"] == []
    assert result["console_errors"] == [] and result["page_errors"] == []
    assert result["ok"], result["problems"]
    text = result["visible_text"]
    assert "Your rule among peers" in text and "Takeaways" in text
    for p in PRESETS.values():
        assert p.label in text
    assert any("as publicly described" in t for t in result["chart_texts"])
    tips = " ".join(str(t) for t in result["tooltips"])
    assert "as publicly described" in tips
