"""Offline, self-contained HTML reports from executed notebooks.

Three pieces make a report open with no network at all:

1. :func:`enable_offline_charts` (called once at the top of a report notebook)
   makes every Altair chart output a small ``<div>`` plus a ``<script>`` that calls
   the global ``vegaEmbed``. The JavaScript bundle that defines ``vegaEmbed``
   (``vl_convert.javascript_bundle()``, about 0.9 MB) is displayed once per kernel
   session, by the first chart, as its own output.
2. The nbconvert template ``chatsim/templates/chatsim_report`` extends ``lab`` but
   loads nothing from a CDN (no require.js, MathJax or mermaid) and hides code
   cells behind a "Show code" button.
3. :func:`notebook_to_html` converts with that template, makes sure the bundle is
   on the page exactly once, refuses pages that still reference ``http(s)://``
   resources and writes the file atomically.

Example:
    >>> from chatsim.render import count_charts
    >>> count_charts('<div class="chatsim-chart" data-chatsim-chart="1"></div>')
    1
"""

from __future__ import annotations

import copy
import functools
import hashlib
import html
import json
import os
import re
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat

from chatsim.errors import ReportError

__all__ = [
    "BUNDLE_MARKER",
    "CHART_MARKER",
    "RENDERER_NAME",
    "TEMPLATE_DIR",
    "TEMPLATE_NAME",
    "bundle_html",
    "chart_html",
    "count_bundles",
    "count_charts",
    "enable_offline_charts",
    "external_references",
    "notebook_to_html",
    "offline_renderer",
    "write_index",
]

#: Name under which the offline renderer is registered with ``alt.renderers``.
RENDERER_NAME = "chatsim_offline"
#: Folder holding chatsim's nbconvert templates.
TEMPLATE_DIR = Path(__file__).parent / "templates"
#: nbconvert template used for reports (``TEMPLATE_DIR / TEMPLATE_NAME``).
TEMPLATE_NAME = "chatsim_report"
#: Attribute on the ``<script>`` that carries the vega-embed bundle.
BUNDLE_MARKER = "data-chatsim-bundle"
#: Attribute on each chart placeholder ``<div>``.
CHART_MARKER = "data-chatsim-chart"

_EMBED_OPTIONS = {"actions": {"export": True, "source": False, "compiled": False, "editor": False}}

# Set once the bundle has been displayed in this kernel session.
_bundle_displayed = False
# Counts charts rendered in this session; part of each placeholder's id.
_chart_counter = 0


# --------------------------------------------------------------------------- escaping


def _json_for_script(obj: Any) -> str:
    """JSON text that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e`` and ``\\u0026``, so neither
    ``</script>`` nor ``<!--`` can appear; the value is unchanged. It is used as a
    JavaScript literal, so a stray NaN/Infinity stays valid (JS ``NaN``).

    Example:
        >>> _json_for_script({"title": "</script><!--"})
        '{"title": "\\\\u003c/script\\\\u003e\\\\u003c!--"}'
    """
    text = json.dumps(obj, ensure_ascii=False, sort_keys=True)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _js_for_script(code: str) -> str:
    """Make JavaScript source safe to inline in ``<script>`` (``</script`` and ``<!--``).

    Example:
        >>> _js_for_script('s = "</script>"')
        's = "<\\\\/script>"'
    """
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return code.replace("<!--", "<\\!--")


# --------------------------------------------------------------------------- the bundle


@functools.cache
def _bundle_js() -> str:
    """The vega + vega-lite + vega-embed bundle (defines ``window.vegaEmbed``), cached."""
    import vl_convert

    return _js_for_script(vl_convert.javascript_bundle())


def bundle_html() -> str:
    """One ``<script>`` element defining the globals ``vegaEmbed``, ``vega`` and ``vegaLite``.

    The bundle runs inside a function and only if ``vegaEmbed`` is not defined yet,
    so a page that somehow runs it twice does not fail.

    Example:
        >>> bundle_html().startswith('<script type="text/javascript" data-chatsim-bundle')
        True
    """
    return (
        f'<script type="text/javascript" {BUNDLE_MARKER}="vega-embed">\n'
        "(function () {\nif (typeof window.vegaEmbed === 'function') { return; }\n"
        f"{_bundle_js()}\n}})();\n</script>\n"
    )


# --------------------------------------------------------------------------- the renderer


def _chart_title(spec: Mapping[str, Any]) -> str:
    title = spec.get("title")
    if isinstance(title, Mapping):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(str(t) for t in title)
    return str(title) if title else ""


def chart_html(spec: Mapping[str, Any], element_id: str) -> str:
    """HTML for one chart: a placeholder ``<div>`` and a ``<script>`` calling ``vegaEmbed``.

    The ``<div>`` text is what shows when scripts do not run (an untrusted
    notebook in JupyterLab); ``vegaEmbed`` replaces it.

    Example:
        >>> snippet = chart_html({"mark": "bar", "title": "</script>"}, "c1")
        >>> snippet.count("</script>")
        1
    """
    title = _chart_title(spec)
    label = f"Chart: {title}" if title else "Chart"
    fallback = html.escape(f"[{label}. It is drawn when the page's scripts run.]")
    return (
        f'<div id="{element_id}" class="chatsim-chart" {CHART_MARKER}="vega-lite">'
        f"{fallback}</div>\n"
        '<script type="text/javascript">\n'
        "(function () {\n"
        f"  var id = {json.dumps(element_id)};\n"
        f"  var spec = {_json_for_script(spec)};\n"
        f"  var opts = {json.dumps(_EMBED_OPTIONS, sort_keys=True)};\n"
        "  function show() {\n"
        "    var el = document.getElementById(id);\n"
        "    if (!el) { return; }\n"
        "    if (typeof window.vegaEmbed !== 'function') {\n"
        "      el.textContent = '[Chart not drawn: the vega-embed bundle is missing from this page.]';\n"
        "      return;\n"
        "    }\n"
        "    window.vegaEmbed(el, spec, opts).catch(function (err) {\n"
        "      el.textContent = '[Chart failed: ' + err + ']';\n"
        "      console.error(err);\n"
        "    });\n"
        "  }\n"
        "  if (typeof window.vegaEmbed === 'function' || document.readyState === 'complete') {\n"
        "    show();\n"
        "  } else {\n"
        "    window.addEventListener('load', show);\n"
        "  }\n"
        "})();\n"
        "</script>\n"
    )


def _display_bundle_once() -> None:
    """Display the bundle as its own output, the first time only in this kernel session."""
    global _bundle_displayed
    if _bundle_displayed:
        return
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return
    if get_ipython() is None:
        return
    display(HTML(bundle_html()), metadata={"chatsim": {"bundle": True}})
    _bundle_displayed = True


def offline_renderer(spec: dict, **metadata: Any) -> dict[str, str]:
    """Altair renderer: a text/html placeholder + script, and a text/plain fallback.

    Example:
        >>> bundle = offline_renderer({"mark": "point", "title": "Rate"})
        >>> sorted(bundle)
        ['text/html', 'text/plain']
    """
    global _chart_counter
    _display_bundle_once()
    _chart_counter += 1
    digest = hashlib.sha1(_json_for_script(spec).encode()).hexdigest()[:12]
    element_id = f"chatsim-chart-{_chart_counter}-{digest}"
    title = _chart_title(spec)
    plain = f"<Altair chart{': ' + title if title else ''} (HTML view needs the vega-embed bundle)>"
    return {"text/html": chart_html(spec, element_id), "text/plain": plain}


def enable_offline_charts() -> None:
    """Register and enable the offline Altair renderer for this session.

    Call it once at the top of a report notebook; charts displayed after it need
    no network. Calling it again is harmless (the bundle is still shown once).

    Example:
        >>> enable_offline_charts()
        >>> import altair as alt
        >>> alt.renderers.active
        'chatsim_offline'
    """
    import altair as alt

    alt.renderers.register(RENDERER_NAME, offline_renderer)
    alt.renderers.enable(RENDERER_NAME)


# --------------------------------------------------------------------------- checks


_URL_AFTER_ATTR = r"\s*=\s*[\"']?\s*((?:https?:)?//[^\"'\s>]+)"
_EXTERNAL_PATTERNS = {
    f"{tag} {attr}": re.compile(rf"<{tag}\b[^>]*?\b{attr}" + _URL_AFTER_ATTR, re.IGNORECASE)
    for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"))
} | {
    "url(": re.compile(r"url\(\s*[\"']?\s*((?:https?:)?//[^\"')\s]+)", re.IGNORECASE),
    "@import": re.compile(r"@import\s+[\"']((?:https?:)?//[^\"']+)", re.IGNORECASE),
}


def external_references(html_text: str) -> list[str]:
    """External resources a page would load: ``"<kind>: <url>"`` for each, sorted.

    Plain links (``<a href="https://...">``) are allowed and not listed.

    Example:
        >>> external_references('<script src="https://cdn.example/x.js"></script><a href="https://ok">')
        ['script src: https://cdn.example/x.js']
    """
    found = {
        f"{kind}: {match.group(1)}"
        for kind, pattern in _EXTERNAL_PATTERNS.items()
        for match in pattern.finditer(html_text)
    }
    return sorted(found)


_CHART_RE = re.compile(r"<div\b[^>]*\b" + CHART_MARKER + r"=", re.IGNORECASE)
_BUNDLE_RE = re.compile(r"<script\b[^>]*\b" + BUNDLE_MARKER + r"=", re.IGNORECASE)


def count_charts(html_text: str) -> int:
    """Number of chart placeholders (``<div data-chatsim-chart=...>``) in a page.

    Example:
        >>> count_charts('<div id="a" class="chatsim-chart" data-chatsim-chart="vega-lite"></div>')
        1
    """
    return len(_CHART_RE.findall(html_text))


def count_bundles(html_text: str) -> int:
    """Number of vega-embed bundle ``<script>`` elements in a page (should be 1 or 0).

    Example:
        >>> count_bundles(bundle_html())
        1
    """
    return len(_BUNDLE_RE.findall(html_text))


# --------------------------------------------------------------------------- conversion


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _output_html(output: Mapping[str, Any]) -> str:
    data = output.get("data") or {}
    value = data.get("text/html", "")
    return "".join(value) if isinstance(value, list) else str(value)


def _dedupe_bundles(nb: nbformat.NotebookNode) -> tuple[int, int]:
    """Keep the first bundle output, drop the others. Returns (kept, charts) counts."""
    kept = 0
    charts = 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            text = _output_html(output)
            if text and _BUNDLE_RE.search(text):
                if kept:
                    continue
                kept += 1
            charts += count_charts(text)
            outputs.append(output)
        cell["outputs"] = outputs
    return kept, charts


def _load_notebook(nb_path_or_node: str | os.PathLike[str] | nbformat.NotebookNode):
    if isinstance(nb_path_or_node, nbformat.NotebookNode):
        return copy.deepcopy(nb_path_or_node), "report"
    path = Path(nb_path_or_node)
    try:
        nb = nbformat.read(path, as_version=4)
    except FileNotFoundError as exc:
        raise ReportError(f"{path}: notebook not found; run it with papermill first") from exc
    except Exception as exc:  # nbformat raises several types for bad JSON
        raise ReportError(f"{path}: not a readable notebook ({exc})") from exc
    return nb, path.stem


def notebook_to_html(
    nb_path_or_node: str | os.PathLike[str] | nbformat.NotebookNode,
    out_html: str | os.PathLike[str],
    *,
    show_code: bool = False,
    title: str | None = None,
    header_html: str | None = None,
) -> Path:
    """Convert an executed notebook to one self-contained HTML file.

    Uses the ``chatsim_report`` template (no CDN scripts, code hidden unless
    ``show_code``). The vega-embed bundle ends up on the page exactly once if the
    page has charts (extra copies are dropped, a missing one is added to the head).
    ``title`` sets the page title and a default header; ``header_html`` (trusted
    HTML) replaces that header. Raises :class:`ReportError` if the page would load
    anything over ``http(s)://``. The file is written atomically.

    Example:
        >>> out = notebook_to_html("reports/base/run.ipynb", "reports/base/run.html")  # doctest: +SKIP
    """
    from nbconvert import HTMLExporter

    nb, stem = _load_notebook(nb_path_or_node)
    out_path = Path(out_html)
    bundles, charts = _dedupe_bundles(nb)
    page_title = title or nb.metadata.get("title") or stem

    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        sanitize_html=False,
    )
    resources = {
        "metadata": {"name": page_title},
        "chatsim": {
            "show_code": bool(show_code),
            "title": page_title,
            "header_html": header_html,
            "bundle_html": bundle_html() if charts and not bundles else "",
        },
    }
    nb.metadata["title"] = page_title
    try:
        body, _ = exporter.from_notebook_node(nb, resources=resources)
    except Exception as exc:
        raise ReportError(f"{out_path}: nbconvert failed ({type(exc).__name__}: {exc})") from exc

    problems = external_references(body)
    if problems:
        listing = "\n  ".join(problems[:20])
        raise ReportError(
            f"{out_path}: the page would load {len(problems)} external resource(s), "
            f"so it would not work offline:\n  {listing}\n"
            "Remove them from the notebook's outputs/markdown or inline them."
        )
    n_bundles = count_bundles(body)
    if count_charts(body) and n_bundles != 1:
        raise ReportError(
            f"{out_path}: expected the vega-embed bundle once on the page, found {n_bundles}"
        )
    _write_atomic(out_path, body)
    return out_path


# --------------------------------------------------------------------------- index page


def _human_size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n_bytes} B"  # pragma: no cover


_INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 60rem; padding: 0 1rem; color: #1b1b1b; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #666; font-size: .9rem; }
"""


def write_index(reports_dir: str | os.PathLike[str]) -> Path:
    """Write ``<reports_dir>/index.html`` linking every ``<reports_dir>/<scenario>/*.html``.

    Reports are grouped by scenario (sorted), each row with the file's modification
    time (UTC) and size. The page is self-contained; written atomically.

    Example:
        >>> write_index("reports")  # doctest: +SKIP
        PosixPath('reports/index.html')
    """
    root = Path(reports_dir)
    if not root.is_dir():
        raise ReportError(f"{root}: reports folder not found; render some reports first")
    sections: list[str] = []
    n_files = 0
    for scenario in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(f for f in scenario.glob("*.html") if not f.name.startswith("."))
        if not files:
            continue
        rows = []
        for f in files:
            stat = f.stat()
            mtime = datetime.fromtimestamp(stat.st_mtime, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
            href = f"{quote(scenario.name)}/{quote(f.name)}"  # a path, never a scheme
            rows.append(
                f'<tr><td><a href="{html.escape(href)}">{html.escape(f.stem)}</a></td>'
                f"<td>{mtime}</td>"
                f'<td class="num" title="{stat.st_size} bytes">{_human_size(stat.st_size)}</td></tr>'
            )
        n_files += len(files)
        sections.append(
            f'<section id="scenario-{html.escape(scenario.name)}">\n'
            f"<h2>{html.escape(scenario.name)}</h2>\n"
            "<table><thead><tr><th>Report</th><th>Modified</th><th>Size</th></tr></thead>\n"
            "<tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n</section>"
        )
    generated = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(sections) or '<p class="muted">No reports yet.</p>'
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>chatsim reports</title>\n<style>{_INDEX_CSS}</style>\n</head>\n<body>\n"
        "<h1>chatsim reports</h1>\n"
        f'<p class="muted">{n_files} report(s) in {len(sections)} scenario(s); '
        f"index generated {generated}. Every page works offline.</p>\n"
        f"{body}\n</body>\n</html>\n"
    )
    problems = external_references(page)
    if problems:  # pragma: no cover - only file names end up in the page
        raise ReportError(f"{root}/index.html: unexpected external resources: {problems}")
    out = root / "index.html"
    _write_atomic(out, page)
    return out
