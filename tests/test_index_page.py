"""The reports index: each page's question and headline numbers, the scenario's description,
read from the hidden summary every report page carries, escaped."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from chatsim.index_page import read_page_summary, write_index
from chatsim.page_html import page_summary_html
from chatsim.render import external_references

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def _ctx(name: str, description: str, *, real_log: bool = False, log_path: str = "") -> object:
    scenario = SimpleNamespace(name=name, description=description)
    return SimpleNamespace(scenario=scenario, params={"real_log": real_log, "log_path": log_path})


def _page(folder: Path, stem: str, summary: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.html").write_text(f"<html><body><p>page</p>{summary}</body></html>")


def test_summary_round_trip_and_checks() -> None:
    html = page_summary_html(
        "Who passes?", [("Meet new-12h", "32.3 %"), ("Lose", "76")], _ctx("base", "About it")
    )
    assert "<" not in html.split(">", 1)[1].rsplit("<", 1)[0]  # nothing can close the script
    assert read_page_summary(f"<p>x</p>{html}") == {
        "title": "",
        "question": "Who passes?",
        "scenario": "base",
        "description": "About it",
        "log": "",
        "numbers": [["Meet new-12h", "32.3 %"], ["Lose", "76"]],
    }
    assert read_page_summary("<p>none</p>") is None
    bad = '<script type="application/json" class="chatsim-page-summary">{oops</script>'
    assert read_page_summary(bad) is None
    odd = '<script class="chatsim-page-summary" type="application/json">{"numbers": [1, ["a"], ["b", 2], ["c", "d"]], "question": 5}</script>'
    assert read_page_summary(odd)["numbers"] == [["c", "d"]]
    assert read_page_summary(odd)["question"] == ""


def test_a_real_log_is_named_not_the_scenarios_description() -> None:
    html = page_summary_html(
        "Q?", [], _ctx("base", "Simulated traffic", real_log=True, log_path="x/y")
    )
    got = read_page_summary(html)
    assert got["description"] == "" and got["log"] == "x/y"


def test_index_lists_questions_numbers_and_descriptions_escaped(tmp_path: Path) -> None:
    ctx = _ctx(HOSTILE, f"Traffic {HOSTILE}")
    _page(
        tmp_path / "baseline",
        "rule_comparison",
        page_summary_html(
            f"Which shops pass? {HOSTILE}", [(HOSTILE, "57.7 %")], ctx, title="Rule comparison"
        ),
    )
    _page(tmp_path / "baseline", "sensitivity", page_summary_html("How sensitive?", [], ctx))
    _page(tmp_path / "other", "custom_page", "")  # a page with no summary
    page = write_index(tmp_path).read_text()
    assert ">Rule comparison</a>" in page and ">Sensitivity</a>" in page  # stem, humanized
    assert ">Custom page</a>" in page and ">other</h2>" in page  # folder name when unknown
    assert "Which shops pass? &quot;&gt;&lt;script&gt;" in page
    assert "<li>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>57.7 %</b>" in page
    assert '<p class="about">Traffic &quot;&gt;&lt;script&gt;' in page
    assert "<script" not in page and "<img" not in page
    assert external_references(page) == []
