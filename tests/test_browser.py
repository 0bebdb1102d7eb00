"""Reports opened in headless Chromium with all network blocked (run with ``pytest -m browser``).

Needs ``/usr/bin/chromium`` (``bash .ci/install-browser.sh``). Without it these tests
are skipped, unless ``CHATSIM_REQUIRE_BROWSER=1``, which turns the skip into a failure
(set it in CI). Full-page screenshots go to ``test-artifacts/`` at the repo root.

To check more reports, add a builder to ``REPORT_BUILDERS``: a function that takes a
scratch folder and returns the path of a rendered HTML report.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from chatsim import render
from tests.support.browser import (
    CHROMIUM_ARGS,
    check_report_in_browser,
    require_browser,
)
from tests.support.demo_report import (
    DEMO_REPLICATIONS,
    DEMO_TITLE,
    build_demo_report,
    build_rollout_report,
    build_small_report,
)
from tests.support.metrics_report import build_metrics_page

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "test-artifacts"

#: name -> builder(workdir) -> rendered HTML path. Extend with the real reports.
_BUILT: dict[str, Path] = {}


def _real_report(notebook: str) -> Callable[[Path], Path]:
    """Builder of one page of the baseline scenario's report (small, with
    ``DEMO_REPLICATIONS`` replications), built once per session."""

    def build(workdir: Path) -> Path:
        if "dir" not in _BUILT:
            _BUILT["dir"] = build_small_report(workdir)
        return _BUILT["dir"] / f"{notebook}.html"

    return build


REPORT_BUILDERS: dict[str, Callable[[Path], Path]] = {
    "demo": build_demo_report,
    "rule_comparison": _real_report("rule_comparison"),
    "sensitivity": _real_report("sensitivity"),
    "shop_drilldown": _real_report("shop_drilldown"),
    "rollout": build_rollout_report,
    # the rule-comparison page with a response-time and with a late-share rule
    "rule_comparison_hours": lambda w: build_metrics_page(w, "response_time"),
    "rule_comparison_late": lambda w: build_metrics_page(w, "late_share"),
}


@pytest.fixture(scope="module")
def chromium() -> Path:
    return require_browser()


class _LazyReports(dict):
    """name -> HTML path; each report is built on first use, once per module."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        super().__init__()
        self._factory = factory

    def __missing__(self, name: str) -> Path:
        self[name] = REPORT_BUILDERS[name](self._factory.mktemp(name))
        return self[name]


@pytest.fixture(scope="module")
def built_reports(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Built lazily, so one broken builder fails only its own test."""
    return _LazyReports(tmp_path_factory)


@pytest.mark.parametrize("name", sorted(REPORT_BUILDERS))
def test_report_renders_offline(name: str, built_reports: dict[str, Path]) -> None:
    html_path = built_reports[name]
    result = check_report_in_browser(html_path, ARTIFACTS / f"{name}.png")
    assert result["charts_expected"] == render.count_charts(html_path.read_text(encoding="utf-8"))
    assert result["charts_expected"] > 0
    assert result["charts_rendered"] == result["charts_expected"], result["problems"]
    assert result["external_requests"] == []
    assert result["console_errors"] == []
    assert result["page_errors"] == []
    assert result["dialogs"] == []
    assert result["ok"], result["problems"]
    shot = Path(result["screenshot"])
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_title_with_script_tag_is_drawn_as_text(built_reports: dict[str, Path]) -> None:
    result = check_report_in_browser(built_reports["demo"], None)
    assert result["ok"], result["problems"]
    assert any(DEMO_TITLE in text for text in result["chart_texts"])


def test_code_toggle_and_no_network(built_reports: dict[str, Path], chromium: Path) -> None:
    from playwright.sync_api import sync_playwright

    html_path = built_reports["demo"]
    blocked: list[str] = []

    def _route(route) -> None:
        if route.request.url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page()
            page.route("**/*", _route)
            page.goto(html_path.as_uri(), wait_until="load")
            code = page.locator(".jp-CodeCell .jp-Cell-inputWrapper").first
            button = page.locator("#chatsim-toggle-code")
            markdown = page.locator(".jp-MarkdownCell").first
            assert markdown.is_visible()  # prose stays visible with code hidden
            assert not code.is_visible()
            assert button.inner_text() == "Show code"
            button.click()
            assert code.is_visible()
            assert button.inner_text() == "Hide code"
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "demo-code-shown.png"), full_page=True)
            button.click()
            assert not code.is_visible()
        finally:
            browser.close()
    assert blocked == []


def test_index_page_offline(built_reports: dict[str, Path], tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    (reports / "demo").mkdir(parents=True)
    (reports / "demo" / "demo.html").write_bytes(built_reports["demo"].read_bytes())
    index = render.write_index(reports)
    result = check_report_in_browser(index, ARTIFACTS / "index.png")
    assert result["ok"], result["problems"]
    assert result["charts_expected"] == 0
    # the linked report, opened from the index folder, still draws its charts offline
    linked = check_report_in_browser(reports / "demo" / "demo.html", None)
    assert linked["ok"], linked["problems"]


def test_harness_catches_network_and_missing_charts(chromium: Path, tmp_path: Path) -> None:
    """The check itself: a page that wants the network, and a chart with no bundle, both fail."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head>"
        '<link rel="stylesheet" href="https://cdn.example.invalid/style.css">'
        '<script src="https://cdn.example.invalid/vega-embed.js"></script></head><body>'
        + render.chart_html({"mark": "bar", "data": {"values": [{"a": 1}]}}, "c1")
        + "</body></html>"
    )
    result = check_report_in_browser(page, None, timeout_ms=1500)
    assert not result["ok"]
    assert result["charts_expected"] == 1 and result["charts_rendered"] == 0
    assert "https://cdn.example.invalid/vega-embed.js" in result["external_requests"]
    assert "https://cdn.example.invalid/style.css" in result["external_requests"]
    assert "bundle is missing" in result["chart_texts"][0]


# ----------------------------------------------------------------------------- reader checks

#: Code names a reader must never meet in a page's visible text (labels stand in for them).
CODE_NAMES = (
    "passes_both",
    "loses_under_new",
    "gains_under_new",
    "fails_both",
    "answered_in_time",
    "answered_late",
    "below_target",
    "auto_resolved",
    "exclude_resolved",
    "count_as_answer",
    "holiday_mode",
    "seller_initiated",
    "agency_247",
    "solo_weekday",
    "None",
    "null",
)
PAGES = ("rule_comparison", "sensitivity", "shop_drilldown", "rollout")
#: The narrowest screen the pages are checked on (px).
NARROW = 1024


def _page_facts(html_path: Path, chromium: Path) -> dict[str, object]:
    """The first key-number strip (key -> shown value), the second (the replications'
    ranges, if any) and the document's scroll width, with the page opened offline in a
    ``NARROW`` px wide window."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": NARROW, "height": 800})
            page.route(
                "**/*",
                lambda r: (
                    r.continue_()
                    if r.request.url.startswith(("file:", "data:", "blob:"))
                    else r.abort()
                ),
            )
            page.goto(html_path.as_uri(), wait_until="load")
            page.wait_for_timeout(500)  # charts drawn: their width counts
            return page.evaluate(
                """() => {
                    const strip = (box) => Object.fromEntries(
                        Array.from(box ? box.querySelectorAll('.chatsim-kpi[data-key]') : []).map(
                            (el) => [el.dataset.key,
                                     el.querySelector('.chatsim-kpi-value').innerText.trim()]));
                    const strips = document.querySelectorAll('.chatsim-kpis');
                    return {
                        width: document.documentElement.scrollWidth,
                        kpis: strip(strips[0]),
                        interval_kpis: strip(strips[1]),
                    };
                }"""
            )
        finally:
            browser.close()


def _expected_key_numbers() -> dict[str, str]:
    """The key numbers of the evaluation the small baseline report shows, computed here."""
    from chatsim.explain import key_numbers
    from chatsim.metrics import compare
    from chatsim.report import SMALL_DAYS, SMALL_SHOPS, notebook_parameters
    from chatsim.rules import resolve_rule
    from chatsim.scenario import load_scenario
    from chatsim.simulate import simulate

    sc = load_scenario(REPO_ROOT / "scenarios" / "baseline.yaml")
    sc = sc.scaled(shops=min(sc.shops, SMALL_SHOPS), days=min(sc.period.days, SMALL_DAYS))
    params = notebook_parameters(sc, log_path="x", small=True)
    rules = [resolve_rule(r) for r in params["rules"]]
    ev = compare(simulate(sc, workers=1), rules, as_of=params.get("as_of"))
    return {k: v for k, _label, v, _detail in key_numbers(ev).as_frame().iter_rows()}


@pytest.mark.parametrize("name", PAGES)
def test_a_reader_meets_no_code_names_long_decimals_or_overflow(
    name: str, built_reports: dict[str, Path], chromium: Path
) -> None:
    import re

    html_path = built_reports[name]
    result = check_report_in_browser(
        html_path, ARTIFACTS / f"{name}-{NARROW}.png", viewport=(NARROW, 800)
    )
    assert result["console_errors"] == [] and result["page_errors"] == []
    assert result["charts_expected"] > 0
    assert result["charts_rendered"] == result["charts_expected"], result["problems"]
    text = result["visible_text"] + "\n" + "\n".join(result["chart_texts"])
    shown = [c for c in CODE_NAMES if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)]
    assert shown == [], [
        m.group(0)
        for c in shown
        for m in re.finditer(rf".{{0,40}}(?<![\w-]){re.escape(c)}(?![\w-]).{{0,40}}", text)
    ][:10]
    long_decimals = re.findall(r".{0,30}\d\.\d{5,}.{0,10}", text)
    assert long_decimals == []
    facts = _page_facts(html_path, chromium)
    assert facts["width"] <= NARROW, f"{name}: the page is {facts['width']} px wide"


def test_the_key_number_strip_shows_the_evaluations_numbers(
    built_reports: dict[str, Path], chromium: Path
) -> None:
    facts = _page_facts(built_reports["rule_comparison"], chromium)
    expected = _expected_key_numbers()
    assert facts["kpis"] == expected


#: The charts of the "How sure are we?" sections, by page (their titles end so).
INTERVAL_CHARTS = {"rule_comparison": 5, "sensitivity": 1}


@pytest.mark.parametrize("name", sorted(INTERVAL_CHARTS))
def test_how_sure_are_we_draws_every_interval_chart_with_ranges(
    name: str, built_reports: dict[str, Path], chromium: Path
) -> None:
    import re

    html_path = built_reports[name]
    result = check_report_in_browser(
        html_path, ARTIFACTS / f"{name}-intervals.png", viewport=(NARROW, 800)
    )
    assert result["ok"], result["problems"]
    over = f"95 % interval over {DEMO_REPLICATIONS} replications"
    drawn = [t for t in result["chart_texts"] if over in t]
    assert len(drawn) == INTERVAL_CHARTS[name], [t[:80] for t in result["chart_texts"]]
    text = result["visible_text"]
    assert "How sure are we?" in text
    assert f"These figures come from {DEMO_REPLICATIONS} simulations" in text
    if name == "rule_comparison":
        ranges = _page_facts(html_path, chromium)["interval_kpis"]
        assert re.fullmatch(r"\d+\.\d–\d+\.\d %", ranges["passing_new"]), ranges
        assert re.fullmatch(r"\d+–\d+|\d+", ranges["loses"]), ranges
        assert "Within noise of both targets" in text
        assert "Too close to call" in text or "Clearly misses the target" in text


# ----------------------------------------------------------------------------- page weight

#: Per element (outside the charts' SVG): tag, box, and the computed style a reader sees.
_LAYOUT_JS = """
() => Array.from(document.querySelectorAll('body *'))
  .filter((e) => !e.closest('svg') && !['STYLE', 'SCRIPT'].includes(e.tagName))
  .map((e) => {
    const r = e.getBoundingClientRect();
    const s = getComputedStyle(e);
    return [e.tagName, r.x, r.y, r.width, r.height, s.color, s.backgroundColor, s.fontFamily,
            s.fontSize, s.fontWeight, s.fontStyle, s.lineHeight, s.display, s.visibility,
            s.borderTopWidth, s.borderTopColor, s.borderBottomWidth, s.paddingLeft,
            s.marginTop, s.textAlign, s.whiteSpace, s.overflowX].join('|');
  })
"""


def _look(html_path: Path, chromium: Path, shot: Path) -> tuple[str, list[str], bytes]:
    """Visible text, layout signature and full-page screenshot of a page opened offline."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route(
                "**/*",
                lambda r: (
                    r.continue_()
                    if r.request.url.startswith(("file:", "data:", "blob:"))
                    else r.abort()
                ),
            )
            page.goto(html_path.as_uri(), wait_until="load")
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('[data-chatsim-chart]'))"
                ".every((el) => el.querySelector('svg.marks, canvas.marks'))",
                timeout=30_000,
            )
            page.wait_for_timeout(300)
            text = page.evaluate("() => document.body.innerText")
            layout = page.evaluate(_LAYOUT_JS)
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True, animations="disabled")
            return text, layout, shot.read_bytes()
        finally:
            browser.close()


#: Pages whose trimmed CSS is compared in the default suite: the main page, the drill-down
#: (the most element kinds) and the demo (code cells shown); the rest in the slow run.
TRIM_QUICK = ("rule_comparison", "shop_drilldown", "demo")


@pytest.mark.parametrize(
    "name",
    [n if n in TRIM_QUICK else pytest.param(n, marks=pytest.mark.slow) for n in (*PAGES, "demo")],
)
def test_trimmed_css_looks_the_same(
    name: str, built_reports: dict[str, Path], chromium: Path, tmp_path: Path
) -> None:
    """The page with only the CSS it uses and with nbconvert's whole stylesheet: the same
    text, the same boxes and styles for every element, the same pixels (code shown for the
    demo, so the code cells' styles are compared too)."""
    trimmed_page = built_reports[name]
    show = name == "demo"
    executed = trimmed_page.with_name("demo.executed.ipynb" if show else f"{name}.ipynb")
    trimmed = render.notebook_to_html(executed, tmp_path / "trimmed.html", show_code=show)
    full = render.notebook_to_html(executed, tmp_path / "full.html", show_code=show, trim_css=False)
    saved = len(full.read_bytes()) - len(trimmed.read_bytes())
    assert saved > 200_000, f"{name}: only {saved:,} bytes trimmed"
    a = _look(trimmed, chromium, ARTIFACTS / f"css-{name}-trimmed.png")
    b = _look(full, chromium, ARTIFACTS / f"css-{name}-full.png")
    assert a[0] == b[0]
    diffs = [(x, y) for x, y in zip(a[1], b[1], strict=True) if x != y]
    assert len(a[1]) == len(b[1]) and diffs == [], diffs[:5]
    assert a[2] == b[2], "the screenshots differ"


def test_loser_links_open_their_drilldown_sections(
    built_reports: dict[str, Path], chromium: Path
) -> None:
    from playwright.sync_api import sync_playwright

    main = built_reports["rule_comparison"]
    built_reports["shop_drilldown"]  # built together
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(main.as_uri(), wait_until="load")
            links = page.locator('a[href^="shop_drilldown.html#"]')
            assert links.count() >= 1
            for i in range(links.count()):
                href = links.nth(i).get_attribute("href")
                other = browser.new_page(viewport={"width": 1280, "height": 900})
                other.goto((main.parent / href.split("#")[0]).as_uri() + "#" + href.split("#")[1])
                box = other.evaluate(
                    "(id) => { const el = document.getElementById(id); if (!el) { return null; }"
                    " const bar = document.querySelector('.chatsim-report-header');"
                    " return [el.getBoundingClientRect().top, bar.getBoundingClientRect().bottom,"
                    " window.innerHeight]; }",
                    href.split("#")[1],
                )
                assert box is not None, f"{href}: no such section"
                top, under_bar, height = box
                assert under_bar <= top < height, f"{href}: the section heading is not in view"
                other.close()
        finally:
            browser.close()


def test_the_rollout_page_marks_the_policy_dates_and_the_switch(
    built_reports: dict[str, Path],
) -> None:
    result = check_report_in_browser(
        built_reports["rollout"], ARTIFACTS / "rollout-reader.png", viewport=(NARROW, 800)
    )
    assert result["ok"], result["problems"]
    charts = "\n".join(result["chart_texts"])
    assert "new-12h shown, without consequence" in charts and "new-12h in force" in charts
    assert "thick line: the rule in force" in charts
    text = result["visible_text"]
    assert "Fall below on 15 Aug" in text and "Meet new-12h on 15 Aug" in text
    assert "Adapting sellers back above target" in text


@pytest.mark.parametrize("name", ["rule_comparison_hours", "rule_comparison_late"])
def test_rules_of_other_metrics_read_in_their_unit_at_1024_px(
    name: str, built_reports: dict[str, Path], chromium: Path
) -> None:
    """A response-time rule on its own hours axis, a late share marked lower-is-better, the
    scorecard section drawn; no code names, nothing wider than the screen."""
    import re

    html_path = built_reports[name]
    result = check_report_in_browser(
        html_path, ARTIFACTS / f"{name}-{NARROW}.png", viewport=(NARROW, 800)
    )
    assert result["ok"], result["problems"]
    assert result["charts_rendered"] == result["charts_expected"] > 0
    charts = "\n".join(result["chart_texts"])
    text = result["visible_text"] + "\n" + charts
    shown = [c for c in CODE_NAMES if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)]
    assert shown == []
    assert "Shops with the Store Rating boost" in text  # chart texts: also the visible text
    assert "Shop Health scorecard" in result["visible_text"]
    if name == "rule_comparison_hours":
        assert "avg-response-time target at most 2 h" in text
        assert "(hours; lower is better)" in text and "\n2 h\n" in text
    else:
        assert "amazon-lrr: target at most 10 % (lower is better)" in text
    assert _page_facts(html_path, chromium)["width"] <= NARROW
