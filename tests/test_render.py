"""Offline report rendering: renderer, nbconvert template, post-checks, index page (no browser)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import altair as alt
import nbformat
import polars as pl
import pytest

from chatsim import render
from chatsim.errors import ReportError
from chatsim.render import (
    count_bundles,
    count_charts,
    external_references,
    notebook_to_html,
    write_index,
)
from tests.support.demo_report import DEMO_TITLE, execute_demo


@pytest.fixture(autouse=True)
def _restore_altair_renderer():
    active = alt.renderers.active
    yield
    alt.renderers.enable(active)


@pytest.fixture(scope="module")
def executed_nb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two-chart demo notebook, executed once with papermill."""
    return execute_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def page(executed_nb: Path) -> str:
    html_path = notebook_to_html(executed_nb, executed_nb.with_name("demo.html"), title="Demo")
    return html_path.read_text(encoding="utf-8")


def _bundle_outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if render.BUNDLE_MARKER in "".join(out.get("data", {}).get("text/html", ""))
    ]


def _chart_specs(html_text: str) -> list[dict]:
    return [json.loads(m) for m in re.findall(r"^  var spec = (.*);$", html_text, flags=re.M)]


def test_executed_notebook_carries_bundle_once(executed_nb: Path) -> None:
    nb = nbformat.read(executed_nb, as_version=4)
    assert len(_bundle_outputs(nb)) == 1
    html_outputs = [
        "".join(out["data"]["text/html"])
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if "text/html" in out.get("data", {})
    ]
    assert sum(count_charts(text) for text in html_outputs) == 2
    chart_outputs = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.get("output_type") == "execute_result"
    ]
    assert all("text/plain" in o["data"] for o in chart_outputs)


def test_page_has_bundle_once_and_two_charts(page: str) -> None:
    assert count_bundles(page) == 1
    assert page.count("window.vegaEmbed=") == 1  # the bundle's own code, not just the marker
    assert count_charts(page) == 2


def test_page_loads_nothing_external(page: str) -> None:
    assert external_references(page) == []
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", page, flags=re.I)
    assert not re.search(r"<link\b[^>]*\bhref\s*=\s*[\"']?(https?:)?//", page, flags=re.I)
    for cdn in ("require.js", "mathjax", "mermaid", "cdn.jsdelivr", "unpkg", "cdnjs"):
        assert cdn not in page.lower().replace("html_head_js_mathjax", ""), cdn


def test_code_hidden_by_default_with_toggle(page: str, executed_nb: Path, tmp_path: Path) -> None:
    body = re.search(r"<body\b[^>]*>", page).group(0)
    assert "chatsim-hide-code" in body
    assert "body.chatsim-hide-code .jp-CodeCell .jp-Cell-inputWrapper{display:none}" in page
    assert 'id="chatsim-toggle-code"' in page and ">Show code</button>" in page
    shown = notebook_to_html(executed_nb, tmp_path / "shown.html", show_code=True).read_text()
    assert "chatsim-hide-code" not in re.search(r"<body\b[^>]*>", shown).group(0)
    assert ">Hide code</button>" in shown
    assert "enable_offline_charts" in shown  # the code itself is in both pages, only hidden
    assert "enable_offline_charts" in page


def test_header_slot(executed_nb: Path, tmp_path: Path) -> None:
    page = notebook_to_html(
        executed_nb, tmp_path / "h.html", title="A & B", header_html='<h1 class="x">Custom</h1>'
    ).read_text()
    assert '<h1 class="x">Custom</h1>' in page
    assert "<title>A &amp; B</title>" in page
    default = notebook_to_html(executed_nb, tmp_path / "d.html", title="A & B").read_text()
    assert '<span class="chatsim-report-title">A &amp; B</span>' in default


def test_script_end_tag_in_title_is_escaped(page: str) -> None:
    # every </script> closes a <script> the page opened: none comes from chart data
    assert page.lower().count("</script>") == len(re.findall(r"<script\b", page, flags=re.I))
    specs = _chart_specs(page)
    assert len(specs) == 2
    assert specs[1]["title"] == DEMO_TITLE
    chart_scripts = re.findall(r"^  var spec = .*$", page, flags=re.M)
    assert all("</" not in s and "<!--" not in s for s in chart_scripts)


def test_json_for_script_round_trips() -> None:
    value = {"t": "</script><!-- a & b > c \u2028", "n": [1, 2.5, None]}
    text = render._json_for_script(value)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == value


def test_atomic_write_leaves_no_temp_files(executed_nb: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "r.html"
    notebook_to_html(executed_nb, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]
    before = out.read_bytes()

    def _boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(render.os, "replace", _boom)
    with pytest.raises(OSError, match="disk full"):
        notebook_to_html(executed_nb, out, show_code=True)
    assert out.read_bytes() == before  # old report untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_external_resources_are_rejected(executed_nb: Path, tmp_path: Path) -> None:
    nb = nbformat.read(executed_nb, as_version=4)
    nb.cells.append(
        nbformat.v4.new_markdown_cell(
            '<img src="https://example.com/logo.png"> and a plain <a href="https://example.com">link</a>'
        )
    )
    nb.cells[-2].outputs.append(
        nbformat.v4.new_output(
            "display_data",
            data={"text/html": '<script src="http://cdn.example/x.js"></script>', "text/plain": ""},
        )
    )
    out = tmp_path / "bad.html"
    with pytest.raises(ReportError) as info:
        notebook_to_html(nb, out)
    message = str(info.value)
    assert "img src: https://example.com/logo.png" in message
    assert "script src: http://cdn.example/x.js" in message
    assert "https://example.com\n" not in message  # plain links are fine
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_missing_bundle_is_added_and_duplicates_dropped(executed_nb: Path, tmp_path: Path) -> None:
    nb = nbformat.read(executed_nb, as_version=4)
    bundle_out = _bundle_outputs(nb)[0]
    without = copy.deepcopy(nb)
    for cell in without.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if o not in [bundle_out]]
    assert _bundle_outputs(without) == []
    page = notebook_to_html(without, tmp_path / "a.html").read_text()
    assert count_bundles(page) == 1 and count_charts(page) == 2
    head, _, _ = page.partition("</head>")
    assert count_bundles(head) == 1

    doubled = copy.deepcopy(nb)
    doubled.cells[-1].outputs.insert(0, copy.deepcopy(bundle_out))
    assert len(_bundle_outputs(doubled)) == 2
    page = notebook_to_html(doubled, tmp_path / "b.html").read_text()
    assert count_bundles(page) == 1


def test_page_without_charts_has_no_bundle(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Only text")])
    page = notebook_to_html(nb, tmp_path / "t.html").read_text()
    assert count_bundles(page) == 0 and count_charts(page) == 0


def test_missing_notebook_is_a_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="not found"):
        notebook_to_html(tmp_path / "nope.ipynb", tmp_path / "nope.html")


def test_renderer_outside_a_kernel() -> None:
    render.enable_offline_charts()
    assert alt.renderers.active == render.RENDERER_NAME
    df = pl.DataFrame({"x": [1, 2], "y": [3, 4]})
    bundle = (
        alt.Chart(df, title="t </script>").mark_point().encode(x="x", y="y")._repr_mimebundle_()
    )
    mimebundle = bundle[0] if isinstance(bundle, tuple) else bundle
    assert set(mimebundle) == {"text/html", "text/plain"}
    assert count_charts(mimebundle["text/html"]) == 1
    assert count_bundles(mimebundle["text/html"]) == 0  # the bundle is a separate output
    assert "t </script>" in mimebundle["text/plain"]
    assert mimebundle["text/html"].count("</script>") == 1
    assert '"export": true' in mimebundle["text/html"]
    assert '"editor": false' in mimebundle["text/html"]


def test_bundle_has_no_network_urls_to_load() -> None:
    snippet = render.bundle_html()
    assert external_references(snippet) == []
    assert snippet.lower().count("</script") == 1


def test_write_index(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    (reports / "baseline").mkdir(parents=True)
    (reports / "peak_season").mkdir()
    (reports / "empty").mkdir()
    (reports / "baseline" / "summary.html").write_text("<html>a</html>")
    (reports / "baseline" / "sellers.html").write_text("<html>" + "b" * 5000 + "</html>")
    (reports / "peak_season" / "summary.html").write_text("<html>c</html>")
    (reports / "baseline" / "notes.txt").write_text("not a report")
    (reports / "baseline" / ".summary.html.x.tmp").write_text("half written")

    index = write_index(reports)
    assert index == reports / "index.html"
    text = index.read_text()
    assert 'href="baseline/summary.html"' in text
    assert 'href="baseline/sellers.html"' in text
    assert 'href="peak_season/summary.html"' in text
    assert "notes.txt" not in text and ".tmp" not in text
    assert ">empty<" not in text  # scenarios without reports are left out
    assert text.index(">baseline</h2>") < text.index(">peak_season</h2>")
    assert "4.9 KB" in text  # sellers.html is 5013 bytes
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", text)
    assert external_references(text) == []
    assert "<script" not in text
    assert not [p for p in reports.iterdir() if p.name.endswith(".tmp")]


def test_write_index_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="not found"):
        write_index(tmp_path / "missing")


def test_template_files_ship_with_the_package() -> None:
    folder = render.TEMPLATE_DIR / render.TEMPLATE_NAME
    assert (folder / "conf.json").is_file()
    assert (folder / "index.html.j2").is_file()
    assert json.loads((folder / "conf.json").read_text())["base_template"] == "lab"


def test_count_charts_ignores_spec_text() -> None:
    snippet = render.chart_html({"title": '<div data-chatsim-chart="x">'}, "c1")
    assert count_charts(snippet) == 1


# --------------------------------------------------------------------------- escaping

HOSTILE = ("<svg onload=alert(5)>", '"><script>alert(1)</script>', "{{7*7}}", "</script>")


def test_header_escapes_every_data_string(tmp_path: Path) -> None:
    from chatsim.notebook import header_html, load_context
    from chatsim.sample import sample_log_path

    rule = tmp_path / "rule.yaml"
    rule.write_text(
        f"name: '{HOSTILE[0]}'\ndescription: '{HOSTILE[1]} {HOSTILE[2]}'\nwindow_hours: 12\ntarget: 0.85\n"
    )
    ctx = load_context(
        log_path=str(sample_log_path()), rules=["legacy-24h", str(rule)], note=HOSTILE[3]
    )
    page = header_html(ctx, f"Shop drill-down: {HOSTILE[1]}")
    for raw in ("<svg", "<script>", "</script>"):
        assert raw not in page, raw
    assert "&lt;svg onload=alert(5)&gt; definition" in page  # the "Size" row
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}}" in page  # the description


def test_tables_and_texts_escape_values_and_column_names() -> None:
    from types import SimpleNamespace

    from chatsim.notebook import escape_markdown, table_html, takeaways_html

    df = pl.DataFrame({HOSTILE[0]: [HOSTILE[1]], "shop_id": [HOSTILE[3]]})
    takeaways = [SimpleNamespace(text=h) for h in HOSTILE]
    snippets = [table_html(df), takeaways_html(takeaways, reading=HOSTILE[1])]
    for snippet in snippets:
        assert "<svg" not in snippet and "<script>" not in snippet and "</script>" not in snippet
    md = escape_markdown("[x](javascript:alert(1)) <b>")
    assert "](" not in md and "<b>" not in md


def test_page_title_from_data_is_escaped(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("text")])
    out = notebook_to_html(nb, tmp_path / "p.html", title=f"{HOSTILE[1]}: {HOSTILE[0]}")
    body = out.read_text()
    assert "<svg" not in body and "<script>alert" not in body
    assert "&lt;svg onload=alert(5)&gt;" in body


def test_index_links_are_quoted_paths(tmp_path: Path) -> None:
    for name in ("javascript:alert(1)", "a b#c?d", '"><svg onload=alert(2)>'):
        (tmp_path / name).mkdir()
        (tmp_path / name / "rule_comparison.html").write_text("<p>x</p>")
    page = write_index(tmp_path).read_text()
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert sorted(hrefs) == sorted(
        [
            "javascript%3Aalert%281%29/rule_comparison.html",
            "a%20b%23c%3Fd/rule_comparison.html",
            "%22%3E%3Csvg%20onload%3Dalert%282%29%3E/rule_comparison.html",
        ]
    )
    assert "<svg" not in page


def test_wide_tables_say_they_scroll_sideways() -> None:
    """A table with many columns may be wider than the page: its note says so, so no column
    is cut off without the reader knowing; a narrow table has no such note."""
    import polars as pl

    from chatsim.page_html import WIDE_TABLE_COLUMNS, table_html

    wide = pl.DataFrame({f"c{i}": [i] for i in range(WIDE_TABLE_COLUMNS + 1)})
    assert f"{WIDE_TABLE_COLUMNS + 1} columns: scroll sideways" in table_html(wide)
    narrow = pl.DataFrame({f"c{i}": [i] for i in range(3)})
    assert "scroll sideways" not in table_html(narrow)
