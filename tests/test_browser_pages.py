"""What an analyst reads on the calibration and main pages, opened in headless Chromium at
1024 px (the fit's segments named as the tables name them, the "About this run" box
aligned for reading, gaps in percentage points, the scorecard's headers), plus the text
and chart functions behind them, checked without a browser.

The browser tests need ``/usr/bin/chromium`` (skipped without it, unless
``CHATSIM_REQUIRE_BROWSER=1``).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from chatsim.charts.calibration import arrivals_chart, pass_share_chart
from chatsim.errors import ChatsimWarning
from chatsim.explain.labels import column_label
from chatsim.fit import ALL_SHOPS
from chatsim.page_html import table_html
from chatsim.scorecard import SCORECARD_HEADERS
from chatsim.twin import calibration_takeaways
from tests.support.notebooks import write_as_export

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def _shares() -> pl.DataFrame:
    """Pass shares as ``Calibration.pass_shares`` holds them: the twin misses new-12h only."""
    return pl.DataFrame(
        {
            "rule": ["legacy-24h", "legacy-24h", "new-12h", "new-12h"],
            "segment": [ALL_SHOPS, "group_2", ALL_SHOPS, "group_2"],
            "shops_observed": [60, 12, 60, 12],
            "observed": [0.65, 0.833, 0.333, 0.583],
            "simulated": [0.667, 0.806, 0.283, 0.472],
            "difference_points": [1.7, -2.8, -5.0, -11.1],
            "noise_points": [1.8, 3.9, 1.4, 3.9],
        }
    )


def _calibration() -> SimpleNamespace:
    figures = pl.DataFrame(
        {
            "figure": ["pass share difference, all shops (points)"] * 2
            + ["hour-of-week arrival correlation"],
            "rule": ["legacy-24h", "new-12h", None],
            "segment": [ALL_SHOPS] * 3,
            "value": [1.7, 5.0, 0.99],
            "goal": [3.0, 3.0, 0.95],
            "ok": [True, False, True],
        }
    )
    return SimpleNamespace(figures=figures, pass_shares=_shares())


def test_the_verdict_names_only_the_rule_the_twin_misses():
    text = {t.key: t.text for t in calibration_takeaways(_calibration())}
    assert text["verdict"].startswith(
        "Over all shops the twin misses the share of shops meeting new-12h (within 3 points)"
    )
    assert "legacy-24h" not in text["verdict"]
    assert "each rule" not in text["verdict"]


def test_a_segment_takeaway_names_the_segment_as_the_tables_do():
    texts = [t.text for t in calibration_takeaways(_calibration())]
    seg = [t for t in texts if t.startswith("Segment ")]
    assert seg and seg[0].startswith("Segment Group 2 under new-12h: 58.3 %")
    assert not any("group_2" in t for t in texts)


def test_the_pass_share_chart_names_segments_as_the_table_and_keeps_its_order():
    spec = pass_share_chart(_shares()).to_dict()
    values = next(iter(spec["datasets"].values()))
    assert {v["segment"] for v in values} == {ALL_SHOPS, "Group 2"}
    assert spec["spec"]["encoding"]["y"]["sort"] == [ALL_SHOPS, "Group 2"]
    # one short axis title per panel, so the two panels' titles do not run into each other
    assert len(spec["spec"]["encoding"]["x"]["title"]) <= 35


def test_hour_of_week_shares_are_labelled_with_a_decimal():
    """Shares of one hour of the week are around 0.6 %: whole percents would label
    several ticks "1 %"."""
    df = pl.DataFrame(
        {"segment": [ALL_SHOPS] * 2, "how": [0, 1], "observed": [0.004, 0.006]}
    ).with_columns(simulated=pl.col("observed"))
    expr = arrivals_chart(df).to_dict()["encoding"]["y"]["axis"]["labelExpr"]
    assert "'.1f'" in expr


def test_gaps_in_points_read_as_signed_percentage_points():
    html = table_html(pl.DataFrame({"gap_points": [-5.0, 1.67], "chance_points": [1.36, 3.93]}))
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells == ["−5.0 pp", "1.4 pp", "+1.7 pp", "3.9 pp"]


def test_the_scorecard_headers_rename_every_ambiguous_column():
    columns = ["boosted_today", "boosted", "gain", "lose", "share_today", "share_boosted"]
    assert set(SCORECARD_HEADERS) == {column_label(c) for c in columns}
    # the renamed share columns still read as shares (formatted "50.0 %")
    shares = [v for k, v in SCORECARD_HEADERS.items() if k.startswith("Share")]
    assert all("share" in v.lower() for v in shares)


# --- in the browser --------------------------------------------------------------------


@pytest.fixture(scope="module")
def calibration_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The calibration and main pages of a ``--log LOG --fit`` run on a small log."""
    from tests.support.browser import require_browser

    require_browser()
    from chatsim.report import build_reports
    from chatsim.scenario import load_scenario
    from chatsim.simulate import simulate

    root = tmp_path_factory.mktemp("pages")
    folder = root / "log"
    sim = simulate(load_scenario(BASELINE).scaled(shops=30, days=9))
    write_as_export(sim, folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChatsimWarning)
        pages = build_reports(
            BASELINE,
            log=folder,
            out_dir=root / "reports",
            fit=True,
            notebooks=["calibration"],
            progress=False,
        )
    return {p.stem: p for p in pages}


_READ_JS = """
() => ({
  text: document.body.innerText,
  charts: Array.from(document.querySelectorAll('[data-chatsim-chart] svg.marks'),
                     (s) => s.textContent),
  meta: Array.from(document.querySelectorAll('.chatsim-meta td, .chatsim-meta th'),
                   (e) => getComputedStyle(e).textAlign),
  counts: Array.from(document.querySelectorAll('.chatsim-ex td:not(:first-child)'),
                     (e) => getComputedStyle(e).textAlign),
  textHeads: Array.from(document.querySelectorAll('.chatsim-table th.txt'),
                        (e) => getComputedStyle(e).textAlign),
})
"""


def _read(html: Path) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM_ARGS, chromium_path

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path()), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        page.route(
            "**/*",
            lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
        )
        page.goto(html.resolve().as_uri())
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('[data-chatsim-chart]'))"
            ".every((e) => e.querySelector('svg.marks, canvas.marks'))",
            timeout=60_000,
        )
        facts = page.evaluate(_READ_JS)
        browser.close()
    return facts


@pytest.mark.browser
@pytest.mark.slow
def test_the_calibration_page_reads_without_codes_and_aligns_its_about_box(
    calibration_report: dict[str, Path],
):
    facts = _read(calibration_report["calibration"])
    text = str(facts["text"])
    charts = " ".join(facts["charts"])
    # segments and values read as the tables name them: no fit codes, no raw nulls
    assert not re.search(r"\bgroup_\d", text + charts), "a fit segment code reaches the reader"
    for raw in (" None", " nan", " null"):
        assert raw not in text
    # gaps between the log and the twin read in percentage points
    assert re.search(r"[−+]\d+\.\d pp", text)
    # the About box reads left to right; the exclusion counts stay right-aligned
    assert facts["meta"] and set(facts["meta"]) == {"left"}
    assert facts["counts"] and set(facts["counts"]) == {"right"}
    # a table's header over a text column sits left, over its cells
    assert facts["textHeads"] and set(facts["textHeads"]) == {"left"}


def test_a_header_sits_left_over_text_and_right_over_numbers():
    df = pl.DataFrame({"seller_type": ["solo_weekdays"], "flip": ["fails_both"], "shops": [3]})
    heads = re.findall(r"<th( class=txt)?>([^<]*)</th>", table_html(df))
    assert heads == [
        (" class=txt", "Seller type"),
        (" class=txt", "Change of status"),
        ("", "Shops"),
    ]


def test_pooled_segment_warnings_name_the_segment_and_parameters_in_words():
    from chatsim.twin import calibration_warnings

    twin = SimpleNamespace(
        fit=SimpleNamespace(
            warnings=(
                "segment 'group_2': holiday_mode_answer_rate, holiday_mode_per_month pooled "
                "from all shops (too few observations).",
                "segment 'VN' has 12 primary chats: too few to fit on its own, its behaviour "
                "is pooled from all shops.",
            )
        )
    )
    assert [w.text for w in calibration_warnings(twin)] == [
        "Segment Group 2: holiday mode answer rate, holiday mode per month pooled from all "
        "shops (too few observations).",
        "Segment VN has 12 primary chats: too few to fit on its own, its behaviour is pooled "
        "from all shops.",
    ]


def test_the_favours_heatmap_writes_no_difference_as_0_and_signs_the_others():
    from chatsim.charts.peers import peer_favours

    fav = pl.DataFrame(
        {
            "rule": ["legacy-24h", "legacy-24h", "etsy-star", "new-12h"],
            "label": ["legacy-24h", "legacy-24h", "Etsy Star Seller", "new-12h"],
            "segment": ["small_team", "solo_weekdays", "small_team", "small_team"],
            "segment_label": ["Small teams", "Solo weekday sellers", "Small teams", "Small teams"],
            "share_passing": [0.5, 0.4, 0.2, 0.5],
            "shops_rated": [4, 5, 4, 4],
            "change_vs_new": [0.001, 0.25, -0.3, 0.0],
        }
    )
    spec = peer_favours(fav, "new-12h").to_dict()
    values = next(iter(spec["datasets"].values()))
    assert sorted(v["pp_text"] for v in values) == ["+25", "0", "−30"]
    assert spec["layer"][1]["encoding"]["text"]["field"] == "pp_text"
