"""Trimming a page's CSS to what it uses: hand-worked sheets, the real JupyterLab sheet."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatsim.page_css import CSS_NOTICE, trim_css, trim_page_css


def test_rules_are_kept_only_when_every_class_and_id_is_on_the_page() -> None:
    css = ".a{color:red}.a .b{color:blue}#top{margin:0}.a,.zz{padding:1px}p{line-height:1}"
    page = '<div class="a" id="top"><p>x</p></div>'
    assert trim_css([css], page) == [".a{color:red}#top{margin:0}.a{padding:1px}p{line-height:1}"]


def test_selector_functions_never_make_a_rule_required() -> None:
    css = '.a:not(.gone){x:1}.a:is(.gone,.a){y:2}.a:has(img.gone){z:3}.gone:hover{w:4}[data-x=".q"]{v:5}'
    assert trim_css([css], '<i class="a">') == [
        '.a:not(.gone){x:1}.a:is(.gone,.a){y:2}.a:has(img.gone){z:3}[data-x=".q"]{v:5}'
    ]


def test_at_rules_custom_properties_and_keyframes() -> None:
    css = """
    /* a comment { with braces } */
    :root { --used: var(--base); --base: 4px; --unused: 9px; --icon: url("data:image/svg+xml,a;b{c}"); }
    @media print { .a { margin: var(--used); } .gone { margin: 0; } }
    @media screen { .gone { x: 1; } }
    @keyframes spin { from { t: 0 } to { t: 1 } }
    @keyframes unused { from { t: 0 } }
    .a { animation: spin 1s; content: "}{;"; }
    @import url(x.css);
    """
    (out,) = trim_css([css], '<b class="a">')
    assert out == (
        ":root{--used:var(--base);--base:4px}@media print{.a{margin:var(--used)}}"
        "@keyframes spin{from { t: 0 } to { t: 1 }}"
        '.a{animation:spin 1s;content:"}{;"}@import url(x.css);'
    )


def test_a_property_another_sheet_or_the_page_uses_is_kept() -> None:
    sheets = [":root{--a:1px;--b:2px;--c:3px}", ".x{margin:var(--a)}"]
    page = '<i class="x" style="padding: var(--b)"></i>'
    assert trim_css(sheets, page) == [":root{--a:1px;--b:2px}", ".x{margin:var(--a)}"]


def test_page_blocks_scripts_and_repeats() -> None:
    page = (
        "<style>.x{color:red}.gone{color:red}</style><style>.y{color:blue}</style>"
        '<script>var s = "<style>.keep-me{}</style>"; el.classList.add("y");</script>'
        '<script data-big="1">var z = "zz";</script>'
        "<style>.x { color: red }</style><b class=x>"
    )
    out = trim_page_css(page, skip_script_marker="data-big")
    assert out == (
        "<style>.x{color:red}</style><style>.y{color:blue}</style>"  # "y": named by a script
        '<script>var s = "<style>.keep-me{}</style>"; el.classList.add("y");</script>'
        '<script data-big="1">var z = "zz";</script><b class=x>'  # the repeat is gone
    )
    assert trim_page_css("<p>no styles</p>") == "<p>no styles</p>"


NAMES = st.sampled_from(["a", "b", "c", "jp-X", "jp-Y-z"])


@st.composite
def sheets_and_pages(draw):
    rules = []
    for _ in range(draw(st.integers(0, 8))):
        sel = "".join(f".{n}" for n in draw(st.lists(NAMES, min_size=1, max_size=3)))
        rules.append(f"{sel}{{color:var(--{draw(NAMES)})}}")
    props = ";".join(f"--{n}:{i}px" for i, n in enumerate(draw(st.lists(NAMES, max_size=4))))
    classes = " ".join(draw(st.lists(NAMES, max_size=4)))
    return f":root{{{props}}}" + "".join(rules), f'<div class="{classes}"></div>'


@settings(max_examples=200, deadline=None)
@given(sheets_and_pages())
def test_trimming_is_idempotent_and_keeps_what_the_page_names(case) -> None:
    css, page = case
    (once,) = trim_css([css], page)
    assert trim_css([once], page) == [once]
    present = set(page.split('"')[1].split())
    for rule in css.split("}")[1:]:
        if not rule:
            continue
        needed = [n for n in rule.split("{")[0].split(".") if n]
        if set(needed) <= present:
            assert rule.split("{")[0] in once


def _lab_css() -> str:
    from jupyter_core.paths import jupyter_path

    for base in jupyter_path("nbconvert", "templates", "lab", "static"):
        if (Path(base) / "index.css").is_file():
            return (Path(base) / "index.css").read_text()
    pytest.skip("nbconvert's lab template is not installed")


def test_the_jupyterlab_sheet_shrinks_to_what_a_page_uses() -> None:
    css = _lab_css()
    page = (
        f"<style>{css}</style>"
        '<body class="jp-Notebook"><main><div class="jp-Cell jp-MarkdownCell jp-Notebook-cell">'
        '<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown"><table><tr><td>1</td></tr>'
        "</table></div></div></main></body>"
    )
    out = trim_page_css(page)
    assert len(out) < len(page) / 10
    assert CSS_NOTICE in out
    assert ".jp-RenderedHTMLCommon table" in out
    assert ".jp-Toolbar" not in out and "--jp-icon-" not in out
