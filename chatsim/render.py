"""Offline, self-contained HTML reports from executed notebooks.

Three pieces make a report open with no network at all:

1. :func:`enable_offline_charts` (called once at the top of a report notebook)
   makes every Altair chart output a small ``<div>`` plus a ``<script>`` that calls
   the global ``vegaEmbed``. The JavaScript bundle that defines ``vegaEmbed``
   (``vl_convert.javascript_bundle()``, about 0.9 MB; built once per vl-convert version
   and kept in this user's cache folder) is displayed once per page, by the first chart,
   as its own output.
2. The nbconvert template ``chatsim/templates/chatsim_report`` extends ``lab`` but
   loads nothing from a CDN (no require.js, MathJax or mermaid) and hides code
   cells behind a "Show code" button.
3. :func:`notebook_to_html` converts with that template, makes sure the bundle is
   on the page exactly once, keeps only the CSS the page uses (:mod:`chatsim.page_css`),
   refuses pages that still reference ``http(s)://`` resources and writes the file
   atomically.

The reports index (:func:`write_index`) is :mod:`chatsim.index_page`.

Example:
    >>> from chatsim.render import count_charts
    >>> count_charts('<div class="chatsim-chart" data-chatsim-chart="1"></div>')
    1
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import html
import json
import os
import re
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat

from chatsim.errors import ReportError
from chatsim.index_page import write_index
from chatsim.page_css import trim_page_css
from chatsim.page_files import (
    BUNDLE_MARKER,
    CHART_MARKER,
    count_bundles,
    count_charts,
    external_references,
    write_atomic,
)

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
    "warm_exporter",
    "write_atomic",
    "write_index",
]

#: Name under which the offline renderer is registered with ``alt.renderers``.
RENDERER_NAME = "chatsim_offline"
#: Folder holding chatsim's nbconvert templates.
TEMPLATE_DIR = Path(__file__).parent / "templates"
#: nbconvert template used for reports (``TEMPLATE_DIR / TEMPLATE_NAME``).
TEMPLATE_NAME = "chatsim_report"

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


def _private_cache_dir() -> Path | None:
    """This user's chatsim cache folder (``$XDG_CACHE_HOME/chatsim``, else
    ``~/.cache/chatsim``), created private; ``None`` when it cannot be, or when it is not
    this user's alone (nothing written by someone else reaches a page)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "chatsim"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        return None
    return folder


@functools.cache
def _bundle_js() -> str:
    """The vega + vega-lite + vega-embed bundle (defines ``window.vegaEmbed``), made safe
    for a ``<script>``. Building it takes seconds, so it is kept in memory and in this
    user's cache folder, one file per vl-convert version."""
    import vl_convert

    folder = _private_cache_dir()
    cached = folder / f"vega-embed-{vl_convert.__version__}.js" if folder else None
    if cached is not None and cached.is_file():
        st = cached.stat()
        if st.st_uid == os.getuid() and not st.st_mode & 0o022:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                return _js_for_script(cached.read_text(encoding="utf-8"))
    js = vl_convert.javascript_bundle()
    if cached is not None:
        with contextlib.suppress(OSError):
            write_atomic(cached, js)
    return _js_for_script(js)


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
    """Register and enable the offline Altair renderer, and start a page.

    Call it once at the top of a report notebook; charts displayed after it need no
    network, and the first of them also displays the vega-embed bundle, so every
    notebook carries it even when several run one after another in the same kernel (as a
    report run does). Calling it again is harmless: a page showing the bundle twice
    still works, and :func:`notebook_to_html` keeps one copy.

    Example:
        >>> enable_offline_charts()
        >>> import altair as alt
        >>> alt.renderers.active
        'chatsim_offline'
    """
    import altair as alt

    global _bundle_displayed
    _bundle_displayed = False
    alt.renderers.register(RENDERER_NAME, offline_renderer)
    alt.renderers.enable(RENDERER_NAME)


# --------------------------------------------------------------------------- conversion


def _output_html(output: Mapping[str, Any]) -> str:
    data = output.get("data") or {}
    value = data.get("text/html", "")
    return "".join(value) if isinstance(value, list) else str(value)


def _dedupe_bundles(nb: nbformat.NotebookNode, slot: str) -> tuple[str, int]:
    """Keep the first bundle output, drop the others; the kept one's HTML is swapped for
    ``slot`` (a comment nbconvert passes through untouched). Returns (that HTML, or ``""``
    when there is no bundle, and the number of charts)."""
    kept = ""
    charts = 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            text = _output_html(output)
            if text and count_bundles(text):
                if kept:
                    continue
                kept = text
                output["data"]["text/html"] = slot
            charts += count_charts(text)
            outputs.append(output)
        cell["outputs"] = outputs
    return kept, charts


@functools.cache
def _exporter() -> Any:
    """The HTML exporter with chatsim's template, made once (compiling the template takes
    a few tenths of a second); :data:`_EXPORT_LOCK` serialises its use."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        sanitize_html=False,
    )


_EXPORT_LOCK = threading.Lock()


def warm_exporter() -> None:
    """Import nbconvert, build the exporter and compile its template now (about a second
    the first time in a process), so the first page converts at full speed; a report run
    does it while the log is evaluated.

    Example:
        >>> warm_exporter()
    """
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("warm")])
    with _EXPORT_LOCK:
        _exporter().from_notebook_node(nb, resources={"chatsim": {}})


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
    trim_css: bool = True,
) -> Path:
    """Convert an executed notebook to one self-contained HTML file.

    Uses the ``chatsim_report`` template (no CDN scripts, code hidden unless
    ``show_code``). The vega-embed bundle ends up on the page exactly once if the
    page has charts (extra copies are dropped, a missing one is added to the head).
    The notebook CSS is trimmed to what the page uses (:mod:`chatsim.page_css`; about
    255 KB less a page), unless ``trim_css=False``.
    ``title`` sets the page title and a default header; ``header_html`` (trusted
    HTML) replaces that header. Raises :class:`ReportError` if the page would load
    anything over ``http(s)://``. The file is written atomically.

    Example:
        >>> out = notebook_to_html("reports/base/run.ipynb", "reports/base/run.html")  # doctest: +SKIP
    """
    nb, stem = _load_notebook(nb_path_or_node)
    out_path = Path(out_html)
    # the bundle (0.9 MB of JavaScript) skips nbconvert's passes over the page: a comment
    # holds its place and it is put back afterwards
    slot = f"<!--chatsim-bundle-{secrets.token_hex(8)}-->"
    bundle, charts = _dedupe_bundles(nb, slot)
    in_head = bool(charts) and not bundle  # no bundle output (an old kernel session, say)
    if in_head:
        bundle = bundle_html()
    page_title = title or nb.metadata.get("title") or stem
    resources = {
        "metadata": {"name": page_title},
        "chatsim": {
            "show_code": bool(show_code),
            "title": page_title,
            "header_html": header_html,
            "bundle_html": slot if in_head else "",
        },
    }
    nb.metadata["title"] = page_title
    try:
        with _EXPORT_LOCK:
            body, _ = _exporter().from_notebook_node(nb, resources=resources)
    except Exception as exc:
        raise ReportError(f"{out_path}: nbconvert failed ({type(exc).__name__}: {exc})") from exc

    if trim_css:
        body = trim_page_css(body, skip_script_marker=BUNDLE_MARKER)
    body = body.replace(slot, bundle, 1) if bundle else body
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
    write_atomic(out_path, body)
    return out_path
