"""Hostile strings on every report page: shown as text, never run (``pytest -m browser``).

A scenario whose name, description, archetype (segment) names and what-if name are
hostile, a rule file whose name and description are hostile, and a real chat log (in a
folder with a hostile name) whose shop ids and segments are hostile are rendered into
reports; each page is opened in headless Chromium. No dialog may open (not on loading,
not while the mouse moves over the charts' tooltips), every hostile string shows
literally in the page's text, and none appears unescaped in the HTML.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from chatsim.report import build_reports
from chatsim.sample import sample_log_path
from tests.support.browser import check_report_in_browser, require_browser

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]

RULE_NAME = "<svg onload=alert(5)>"
RULE_DESCRIPTION = '"><script>alert(1)</script> {{7*7}} </script> javascript:alert(3)'
SCENARIO_NAME = '"><script>alert(11)</script>'
SCENARIO_DESCRIPTION = "<img src=x onerror=alert(12)> {{7*7}} [click](javascript:alert(13))"
ARCHETYPES = ("<svg onload=alert(21)>", "</script><script>alert(22)</script>")
WHAT_IF = "<b onmouseover=alert(31)>javascript:alert(32)</b>"
SHOP_IDS = (
    "<svg onload=alert(41)>",
    '"><script>alert(42)</script>',
    "{{7*7}}",
    "javascript:alert(43)",
)
SEGMENT = "<img src=x onerror=alert(44)>"
LOG_FOLDER = "<img src=x onerror=alert(51)>"

#: Fragments that may appear in a page only escaped (or inside a script as \\u003c).
RAW_MARKUP = ("<svg onload", "<img src=x", "<script>alert", "<b onmouseover")


def _hostile_inputs(tmp: Path) -> tuple[Path, Path]:
    rule = tmp / "hostile_rule.yaml"
    rule.write_text(
        yaml.safe_dump(
            {
                "name": RULE_NAME,
                "description": RULE_DESCRIPTION,
                "window_hours": 12,
                "target": 0.85,
            }
        )
    )
    data = yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text())
    data["name"] = SCENARIO_NAME
    data["description"] = SCENARIO_DESCRIPTION
    data["archetypes"] = {
        ARCHETYPES[0]: {"use": "solo_weekdays", "share": 0.5},
        ARCHETYPES[1]: {"use": "small_team", "share": 0.5},
    }
    data["analysis"]["rules"] = ["legacy-24h", str(rule)]
    data["analysis"]["what_if"] = [{"name": WHAT_IF, "set": {"auto_reply_adoption": 1.0}}]
    scenario = tmp / "hostile.yaml"
    scenario.write_text(yaml.safe_dump(data))

    log = tmp / LOG_FOLDER
    shutil.copytree(sample_log_path(), log)
    ids = sorted(pl.read_csv(log / "shops.csv")["shop_id"].to_list())
    mapping = dict(zip(ids, SHOP_IDS, strict=True))
    for table in log.glob("*.csv"):
        df = pl.read_csv(table, infer_schema=False)
        df = df.with_columns(pl.col("shop_id").replace_strict(mapping))
        if "segment" in df.columns:
            df = df.with_columns(pl.lit(SEGMENT).alias("segment"))
        df.write_csv(table)
    return scenario, log


@pytest.fixture(scope="module")
def hostile_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    require_browser()
    tmp = tmp_path_factory.mktemp("hostile")
    scenario, log = _hostile_inputs(tmp)
    out = tmp / "reports"
    simulated = build_reports(scenario, out_dir=out, small=True, progress=False)
    real = build_reports(scenario, log=log, out_dir=out, progress=False)
    pages = {f"simulated/{p.stem}": p for p in simulated}
    pages |= {f"real/{p.stem}": p for p in real}
    pages["index"] = out / "index.html"
    return pages


def _expected(name: str) -> list[str]:
    """The hostile strings that page ``name`` must show as text."""
    if name == "index":
        return []
    rule = [RULE_NAME, RULE_DESCRIPTION]
    if name.startswith("simulated/"):
        common = [*rule, SCENARIO_NAME, SCENARIO_DESCRIPTION]
        if name.endswith("rule_comparison"):
            return [*common, *ARCHETYPES, WHAT_IF]
        return common
    common = [*rule, LOG_FOLDER]
    if name.endswith("rule_comparison"):
        return [*common, SEGMENT]
    return common


#: Every page of both reports; the real log's sensitivity page (the same rule and folder
#: strings as its main page, the same page as the simulated one) runs in the slow suite.
PAGES = [
    f"{kind}/{nb}"
    if (kind, nb) != ("real", "sensitivity")
    else pytest.param(f"{kind}/{nb}", marks=pytest.mark.slow)
    for kind in ("simulated", "real")
    for nb in ("rule_comparison", "sensitivity", "shop_drilldown")
] + ["index"]


@pytest.mark.parametrize("name", PAGES)
def test_hostile_strings_are_shown_never_run(name: str, hostile_reports: dict[str, Path]):
    page = hostile_reports[name]
    source = page.read_text(encoding="utf-8")
    for raw in RAW_MARKUP:
        assert raw not in source, f"{name}: unescaped {raw!r} in the HTML"
    result = check_report_in_browser(page, None, hover_charts=name != "index")
    assert result["dialogs"] == [], f"{name}: a hostile string ran: {result['dialogs']}"
    assert result["page_errors"] == []
    assert result["charts_rendered"] == result["charts_expected"], result["problems"]
    text = result["visible_text"]
    missing = [s for s in _expected(name) if s not in text]
    assert missing == [], f"{name}: not shown literally: {missing}"
    if name.startswith("real/"):
        assert any(shop in text for shop in SHOP_IDS)
    for tip in result["tooltips"]:
        tags = {t.lower() for t in tip["tags"]}
        assert tags <= {"h2", "table", "tbody", "tr", "td"}, f"{name}: markup in a tooltip {tip}"
    if name == "simulated/rule_comparison":
        tips = " ".join(t["text"] for t in result["tooltips"])
        assert RULE_NAME in tips or any(a in tips for a in ARCHETYPES), (
            "the hover found no tooltip quoting a hostile name"
        )
