"""The HTML parts of a report page: header, readable tables, key numbers, takeaways.

Every string from data or user files goes through :func:`_escape` (HTML) or
:func:`escape_markdown` (Markdown). Tables show every row (long ones scroll), code names
as labels, shares as ``57.7 %``, differences in pp, and can carry an offline CSV download.
The ``show_*`` functions display a part in a notebook; the ``*_html`` ones return it.
:mod:`chatsim.notebook` re-exports all of them.

Example:
    >>> import polars as pl
    >>> "Download this table as CSV" in table_html(pl.DataFrame({"x": [1]}), download="x.csv")
    True
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

import chatsim
from chatsim.explain.labels import label
from chatsim.rules import EXCLUSIONS, Rule

if TYPE_CHECKING:
    from chatsim.notebook import ReportContext

__all__ = [
    "DOCS_HREF",
    "WIDE_TABLE_COLUMNS",
    "escape_markdown",
    "header_html",
    "key_numbers_html",
    "page_summary_html",
    "project_path",
    "rule_sentence",
    "section_html",
    "show_header",
    "show_key_numbers",
    "show_page_summary",
    "show_section",
    "show_table",
    "show_takeaways",
    "table_html",
    "takeaways_html",
]


def _escape(value: Any) -> str:
    """``str(value)`` as HTML text: ``& < > " '`` escaped (every data string on a page)."""
    return html.escape(str(value), quote=True)


#: A code name inside a sentence (``holiday_mode``, ``exclude_resolved``).
_CODE_NAME = re.compile(r"(?<![\w-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-])")


def rule_sentence(rule: Rule) -> str:
    """:meth:`Rule.describe` as a reader reads it: code names labelled, shares as ``90 %``
    (the rule's name is kept as written).

    Example:
        >>> from chatsim.rules import NEW_12H
        >>> [p for p in rule_sentence(NEW_12H).split("; ") if p.startswith("excludes")][0]
        'excludes holiday mode, blocked, started by the seller, resolved by automatic reply'
    """
    name, sep, rest = rule.describe().partition(": ")
    rest = _CODE_NAME.sub(lambda m: label(m.group(0)).lower(), rest)
    rest = re.sub(r"(\d)%", r"\1 %", rest)
    return f"{name}{sep}{rest}"


def _table(rows: list[tuple[str, str]]) -> str:
    """A two-column table; the labels are escaped here, the values are HTML already."""
    body = "".join(f"<tr><th>{_escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="chatsim-meta">{body}</table>'


_HEADER_STYLE = (
    "<style>.chatsim-header{font-family:system-ui,sans-serif;border:1px solid #ddd;padding:12px 16px;"
    "border-radius:6px;background:#fafafa;margin-bottom:12px}.chatsim-header h2{margin:0 0 8px;font-size:1.2em}"
    # ".chatsim-header table...": more specific than the notebook CSS, which right-aligns
    # every cell of a notebook output
    ".chatsim-header table.chatsim-meta th,.chatsim-header table.chatsim-ex th"
    "{text-align:left;padding:2px 12px 2px 0;vertical-align:top}"
    ".chatsim-header table.chatsim-meta td,.chatsim-header table.chatsim-ex td"
    "{padding:2px 12px 2px 0;text-align:left}"
    ".chatsim-header table.chatsim-ex td,.chatsim-header table.chatsim-ex th{text-align:right}"
    ".chatsim-header table.chatsim-ex td:first-child,.chatsim-header table.chatsim-ex th:first-child"
    "{text-align:left}.chatsim-note{color:#555;font-size:.92em}</style>"
)


def header_html(ctx: ReportContext, title: str) -> str:
    """The report header: scenario and parameters, rules, data size, exclusions, version, time.

    Example:
        >>> "Exclusions by reason" in header_html(ctx, "Rule comparison")  # doctest: +SKIP
        True
    """
    ev = ctx.evaluation
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sc = ctx.scenario
    e = _escape
    simulated = sc is not None and not ctx.params.get("real_log")
    source = (
        f"scenario <b>{e(sc.name)}</b> ({e(project_path(sc.source))}), seed {sc.seed}, "
        f"{sc.shops:,} shops, {sc.period.days} days from {sc.period.start}"
        if simulated
        else f"chat log <code>{e(project_path(str(ctx.params.get('log_path'))))}</code>"
    )
    n_chats = ev.chats.filter(pl.col("rule") == ctx.new).height
    params = dict(ctx.params)
    rows = [
        ("Data", source),
        (
            "Size",
            f"{ctx.n_messages:,} messages, {n_chats:,} chats ({e(ctx.new)} definition), "
            f"{ctx.shops.height:,} shops; cutoff {ev.as_of:%Y-%m-%d %H:%M} UTC"
            + (
                f"; {ev.messages_after_cutoff:,} messages after the cutoff ignored"
                if ev.messages_after_cutoff
                else ""
            ),
        ),
        (
            "Rules",
            "<br>".join(
                e(rule_sentence(r))
                + (
                    f'<br><span class="chatsim-note">{e(r.description)}</span>'
                    if r.description
                    else ""
                )
                for r in ctx.rules
            ),
        ),
        ("Parameters", e(_describe_params(params))),
        ("Documentation", _docs_links()),
        ("Made", f"{now} with chatsim {e(chatsim.__version__)}"),
    ]
    if simulated and sc.description.strip():
        rows.insert(1, ("About", e(sc.description.strip())))
    if ev.dropped:
        rows.insert(2, ("Dropped rows", _escape(ev.dropped)))
    ex = ev.exclusions().pivot(on="rule", index="reason", values="chats")
    ex_rows = "".join(
        f'<tr><td data-code="{_escape(r["reason"])}">'
        + _escape(label(r["reason"], "reason"))
        + "</td>"
        + "".join(f"<td>{(r[name] or 0):,}</td>" for name in (x.name for x in ctx.rules))
        + "</tr>"
        for r in ex.iter_rows(named=True)
    )
    ex_head = (
        "<tr><th>Chats left out</th>"
        + "".join(f"<th>{_escape(r.name)}</th>" for r in ctx.rules)
        + "</tr>"
    )
    return (
        f'{_HEADER_STYLE}<div class="chatsim-header"><h2>{_escape(title)}</h2>{_table(rows)}'
        f"<p><b>Exclusions by reason</b> (each chat gets the first reason in the order "
        f"{_escape(', '.join(label(x, 'reason').lower() for x in EXCLUSIONS))}; pending chats, "
        "whose deadline falls after the data end, are left out, not failed)</p>"
        f'<table class="chatsim-ex">{ex_head}{ex_rows}</table></div>'
    )


def show_header(ctx: ReportContext, title: str) -> Any:
    """Display the report header in a notebook (see :func:`header_html`)."""
    from IPython.display import HTML, display

    return display(HTML(header_html(ctx, title)))


_TABLE_STYLE = (
    "<style>.chatsim-table{border-collapse:collapse;font-size:13px;margin:6px 0}"
    ".chatsim-table th{border-bottom:2px solid #888;padding:3px 10px;text-align:right;"
    "position:sticky;top:0;background:#fff}"
    ".chatsim-table td{border-bottom:1px solid #ddd;padding:3px 10px;text-align:right;"
    "font-variant-numeric:tabular-nums}"
    ".chatsim-table th:first-child,.chatsim-table td:first-child,.chatsim-table td.txt,"
    ".chatsim-table th.txt"
    "{text-align:left}.chatsim-tablewrap{max-width:100%;overflow-x:auto}"
    ".chatsim-tablewrap.long{max-height:420px;overflow-y:auto;border:1px solid #ddd}"
    ".chatsim-tablenote{font-size:12px;color:#555;margin:2px 0 10px}</style>"
)
#: Where the project's documentation is, seen from a report page (reports/<scenario>/).
DOCS_HREF = "../../docs"


def project_path(path: str) -> str:
    """A file's path as the reader knows it: relative to the project when inside it, its name
    alone when in a temporary folder, else as given.

    Example:
        >>> project_path(str(Path(chatsim.__file__).parent / "data" / "sample_log"))
        'chatsim/data/sample_log'
    """
    if not path:
        return ""
    p = Path(path)
    root = Path(chatsim.__file__).resolve().parent.parent
    with contextlib.suppress(ValueError, OSError):
        return str(p.resolve().relative_to(root))
    with contextlib.suppress(ValueError, OSError):
        p.resolve().relative_to(Path(tempfile.gettempdir()).resolve())
        return p.name
    return str(path)


def _describe_params(params: dict[str, Any]) -> str:
    """The run's parameters as a sentence (no Python literals)."""
    from chatsim.explain.labels import format_hours, format_share

    parts = []
    rules = list(params.get("rules") or [])
    if rules:
        parts.append(f"rules {rules[0]} (old) and {rules[-1]} (new)")
    scaled = [f"{params[k]:,} {k}" for k in ("shops", "days") if params.get(k) is not None]
    if scaled:
        parts.append("scaled to " + ", ".join(scaled))
    targets, windows = params.get("targets") or [], params.get("windows_hours") or []
    if targets:
        lo, hi = format_share(min(targets), 0), format_share(max(targets), 0)
        parts.append(f"sensitivity targets {lo}–{hi} ({len(targets)})")
    if windows:
        lo, hi = format_hours(min(windows)), format_hours(max(windows))
        parts.append(f"windows {lo}–{hi} ({len(windows)})")
    shop, top = params.get("drilldown_shop"), params.get("drilldown_top")
    largest = f"the {top} largest drops" if top else "the largest drop"
    parts.append(f"drill-down: shop {shop} and {largest}" if shop else f"drill-down: {largest}")
    if "run_what_if" in params:
        parts.append(
            "what-if variants re-simulated" if params["run_what_if"] else "no what-if runs"
        )
    as_of = params.get("as_of")
    parts.append(f"data cutoff {as_of}" if as_of else "data cutoff: the latest message")
    return "; ".join(parts)


def _docs_links() -> str:
    docs = (
        ("metrics", "metric definitions"),
        ("policy", "policy reading"),
        ("reports", "these pages"),
    )
    return " · ".join(
        f'<a href="{_escape(DOCS_HREF)}/{doc}.md">{_escape(text)}</a>' for doc, text in docs
    )


def _fmt_cell(col: str, v: Any) -> tuple[str, bool]:
    """A cell's text (escaped) and whether it is text rather than a number."""
    from chatsim.explain.labels import MISSING, format_pp, format_share

    if v is None or (isinstance(v, float) and v != v):
        return MISSING, False
    if isinstance(v, bool):
        return ("yes" if v else "no"), True
    col = col.lower()
    if isinstance(v, float):
        if any(k in col for k in ("delta", "change")):
            return format_pp(v), False
        if col.endswith("_points"):  # already in percentage points: a gap is signed
            return (format_pp(v / 100) if "gap" in col else f"{v:.1f} pp"), False
        if any(k in col for k in ("rate", "share", "target")) and "hours" not in col:
            return format_share(v), False
        return f"{v:,.2f}".rstrip("0").rstrip("."), False
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M") + (" UTC" if v.tzinfo is not None else ""), False
    if isinstance(v, int):
        return f"{v:,}", False
    return _escape(v), True


#: Tables with more columns than this may be wider than a 1024-px page: their note says
#: they scroll sideways (nothing is cut off silently).
WIDE_TABLE_COLUMNS = 9


def table_html(
    df: pl.DataFrame,
    *,
    max_rows: int = 50,
    download: str | None = None,
    links: dict[str, dict[str, str]] | None = None,
    note: str = "",
) -> str:
    """A readable HTML table: every row (over ``max_rows`` rows it scrolls), code names as
    labels, headers as a reader names them, shares as ``50.0 %``, differences in pp, counts
    with separators. ``download`` (a file name) adds an offline CSV download of the table
    (the data embedded in the page); ``links`` maps a column's values to hrefs.

    Example:
        >>> "50.0 %" in table_html(pl.DataFrame({"share_passing": [0.5]}))
        True
    """
    from chatsim.explain.labels import column_label, labelled

    shown = labelled(df)
    links = links or {}
    # a header sits over its cells: left over text, right over numbers
    text_cols = {
        c for c in df.columns if not (df[c].dtype.is_numeric() or df[c].dtype.is_temporal())
    }
    head = "".join(
        f"<th{' class=txt' if c in text_cols else ''}>{_escape(column_label(c))}</th>"
        for c in df.columns
    )
    rows = []
    for raw, r in zip(df.iter_rows(named=True), shown.iter_rows(named=True), strict=True):
        cells = []
        for c in df.columns:
            text, is_text = _fmt_cell(c, r[c])
            href = links.get(c, {}).get(str(raw[c]))
            if href:
                text = f'<a href="{_escape(href)}">{text}</a>'
            cells.append(f"<td{' class=txt' if is_text else ''}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    long = df.height > max_rows
    notes = [f"{df.height:,} rows: scroll to see them all"] if long else []
    if len(df.columns) > WIDE_TABLE_COLUMNS:  # may be wider than the page: say it scrolls
        notes.append(f"{len(df.columns)} columns: scroll sideways to see them all")
    if note:
        notes.append(_escape(note))
    if download:
        csv = shown.rename({c: column_label(c) for c in shown.columns}).write_csv()
        data = base64.b64encode(csv.encode("utf-8")).decode("ascii")
        notes.append(
            f'<a download="{_escape(download)}" href="data:text/csv;base64,{data}">'
            "Download this table as CSV</a>"
        )
    foot = f'<p class="chatsim-tablenote">{" · ".join(notes)}</p>' if notes else ""
    wrap = "chatsim-tablewrap long" if long else "chatsim-tablewrap"
    return (
        f'{_TABLE_STYLE}<div class="{wrap}"><table class="chatsim-table"><thead><tr>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{foot}"
    )


def show_table(df: pl.DataFrame, *, max_rows: int = 50, **kw: Any) -> Any:
    """Display a DataFrame as a formatted table (see :func:`table_html`)."""
    from IPython.display import HTML, display

    return display(HTML(table_html(df, max_rows=max_rows, **kw)))


_KPI_STYLE = (
    "<style>.chatsim-kpis{display:flex;flex-wrap:wrap;gap:8px;margin:4px 0 14px;"
    "font-family:system-ui,sans-serif}.chatsim-kpi{flex:1 1 150px;max-width:230px;"
    "border:1px solid #ddd;border-radius:6px;padding:8px 10px;background:#fff}"
    ".chatsim-kpi-value{font-size:1.45em;font-weight:600;font-variant-numeric:tabular-nums}"
    ".chatsim-kpi-label{font-size:.85em;color:#333}.chatsim-kpi-detail{font-size:.78em;"
    "color:#666}.chatsim-takeaways{font-size:1.02em;line-height:1.45;margin:6px 0 14px}"
    ".chatsim-takeaways li{margin:4px 0}.chatsim-reading{font-style:italic;margin:4px 0 12px}"
    "</style>"
)


def key_numbers_html(head: Any) -> str:
    """The key-number strip of a :class:`chatsim.explain.Headline`: one card per number
    (``data-key`` names it) with its value, label and detail.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.explain import key_numbers
        >>> from chatsim.metrics import compare
        >>> 'data-key="loses"' in key_numbers_html(key_numbers(compare(sample_log())))
        True
    """
    cards = "".join(
        f'<div class="chatsim-kpi" data-key="{_escape(k)}">'
        f'<div class="chatsim-kpi-value">{_escape(v)}</div>'
        f'<div class="chatsim-kpi-label">{_escape(lab)}</div>'
        f'<div class="chatsim-kpi-detail">{_escape(d)}</div></div>'
        for k, lab, v, d in head.as_frame().iter_rows()
    )
    return f'{_KPI_STYLE}<div class="chatsim-kpis">{cards}</div>'


def show_key_numbers(head: Any) -> Any:
    """Display the key-number strip (see :func:`key_numbers_html`)."""
    from IPython.display import HTML, display

    return display(HTML(key_numbers_html(head)))


def takeaways_html(takeaways: Sequence[Any], reading: str = "") -> str:
    """Takeaways (:func:`chatsim.explain.write_takeaways`) as a list, and a one-line
    ``reading`` of a chart.

    Example:
        >>> takeaways_html([], reading="a < b").endswith('<p class="chatsim-reading">a &lt; b</p>')
        True
    """
    items = "".join(f"<li>{_escape(t.text)}</li>" for t in takeaways)
    body = f'<ul class="chatsim-takeaways">{items}</ul>' if items else ""
    if reading:
        body += f'<p class="chatsim-reading">{_escape(reading)}</p>'
    return _KPI_STYLE + body


def show_takeaways(takeaways: Sequence[Any], reading: str = "") -> Any:
    """Display takeaways and a chart's reading (see :func:`takeaways_html`)."""
    from IPython.display import HTML, display

    return display(HTML(takeaways_html(takeaways, reading)))


def page_summary_html(
    question: str, numbers: Sequence[tuple[str, str]], ctx: Any = None, *, title: str = ""
) -> str:
    """What the index page says about this page, embedded as JSON (nothing visible): its
    ``title``, the ``question`` it answers, its headline ``numbers`` (label, value), and the
    scenario's name and description (a simulated run's; for a real log, the log's name).
    :func:`chatsim.index_page.read_page_summary` reads it back.

    Example:
        >>> "chatsim-page-summary" in page_summary_html("Who passes?", [("Meet new-12h", "32 %")])
        True
    """
    sc = getattr(ctx, "scenario", None)
    params = getattr(ctx, "params", None) or {}
    real = bool(params.get("real_log")) or sc is None
    data = {
        "title": title,
        "question": question,
        "numbers": [[str(a), str(b)] for a, b in numbers],
        "scenario": sc.name if sc is not None else "",
        "description": sc.description.strip() if sc is not None and not real else "",
        "log": project_path(str(params.get("log_path") or "")) if real and ctx is not None else "",
    }
    text = json.dumps(data)
    for ch, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, code)
    return f'<script type="application/json" class="chatsim-page-summary">{text}</script>'


def show_page_summary(
    question: str, numbers: Sequence[tuple[str, str]], ctx: Any = None, *, title: str = ""
) -> Any:
    """Display the page summary the index reads (see :func:`page_summary_html`)."""
    from IPython.display import HTML, display

    return display(HTML(page_summary_html(question, numbers, ctx, title=title)))


def section_html(title: str, anchor: str = "", lead: str = "", *, level: int = 2) -> str:
    """A section heading generated from data: ``<h2>`` (``level``) with the fragment id
    ``anchor`` when given (links elsewhere point at it), and a one-line ``lead`` under it;
    all escaped.

    Example:
        >>> section_html("Shop <b>", "shop-b-1")
        '<h2 id="shop-b-1" class="chatsim-section">Shop &lt;b&gt;</h2>'
    """
    tag = f"h{min(max(int(level), 1), 6)}"
    ident = f' id="{_escape(anchor)}"' if anchor else ""
    head = f'<{tag}{ident} class="chatsim-section">{_escape(title)}</{tag}>'
    return head + (f"<p>{_escape(lead)}</p>" if lead else "")


def show_section(title: str, anchor: str = "", lead: str = "", *, level: int = 2) -> Any:
    """Display a section heading (see :func:`section_html`)."""
    from IPython.display import HTML, display

    return display(HTML(section_html(title, anchor, lead, level=level)))


_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~>")


def escape_markdown(text: Any) -> str:
    """``str(text)`` made literal inside a Markdown string: HTML escaped, and Markdown
    punctuation backslash-escaped (no emphasis, links or headings come from data).

    Use it for every data value put into ``IPython.display.Markdown``; plain text needs no
    Markdown (:func:`show_takeaways`, :func:`show_table` escape it).

    Example:
        >>> print(escape_markdown("<b>*x*</b> [go](javascript:alert(1))"))
        &lt;b&gt;\\*x\\*&lt;/b&gt; \\[go\\]\\(javascript:alert\\(1\\)\\)
    """
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in _escape(text))
