"""The reports index, ``reports/index.html``: every report page, what it answers, its numbers.

Each report page carries a hidden summary (:func:`chatsim.page_html.page_summary_html`:
a ``<script type="application/json" class="chatsim-page-summary">``) with its title, the
question it answers, its headline numbers and the scenario's name and description (or
the chat log's name). :func:`write_index` reads it from every ``<reports>/<scenario>/*.html``
and lists, per scenario, its description and, per page, the question and the numbers;
a page without a summary is listed by its file name. Everything read from pages is
escaped; links are percent-encoded paths. The index has no script and loads nothing.

Example:
    >>> read_page_summary('<p>no summary</p>') is None
    True
"""

from __future__ import annotations

import html
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from chatsim.errors import ReportError
from chatsim.page_files import external_references, write_atomic

__all__ = ["read_page_summary", "write_index"]

#: The summary element, its attributes in any order (nbconvert reorders them).
_SUMMARY = re.compile(
    r"<script\b(?=[^>]*\bclass=\"chatsim-page-summary\")"
    r"(?=[^>]*\btype=\"application/json\")[^>]*>(.*?)</script>",
    re.DOTALL,
)


def read_page_summary(html_text: str) -> dict[str, Any] | None:
    """The summary a report page embeds, checked: ``title``, ``question``, ``scenario``,
    ``description`` and ``log`` as strings, ``numbers`` as ``[label, value]`` string pairs.
    ``None`` when the page has none or it is not readable.

    Example:
        >>> from chatsim.page_html import page_summary_html
        >>> read_page_summary(page_summary_html("Who passes?", [("Shops", "12")]))["numbers"]
        [['Shops', '12']]
    """
    m = _SUMMARY.search(html_text)
    if m is None:
        return None
    try:
        data = json.loads(m.group(1))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    out: dict[str, Any] = {
        k: data[k] if isinstance(data.get(k), str) else ""
        for k in ("title", "question", "scenario", "description", "log")
    }
    numbers = data.get("numbers")
    out["numbers"] = [
        [pair[0], pair[1]]
        for pair in (numbers if isinstance(numbers, list) else [])
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
    ]
    return out


def _human_size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n_bytes} B"  # pragma: no cover


_INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 64rem; padding: 0 1rem; color: #1b1b1b; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #eee; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
ul.numbers { list-style: none; margin: 0; padding: 0; }
ul.numbers li { margin: 0 0 .15rem; } ul.numbers b { font-variant-numeric: tabular-nums; }
.about { margin: .4rem 0 .8rem; max-width: 48rem; line-height: 1.4; }
.muted { color: #666; font-size: .9rem; }
"""


def _page_row(folder: Path, page: Path, summary: dict[str, Any] | None) -> str:
    e = html.escape
    stat = page.stat()
    made = datetime.fromtimestamp(stat.st_mtime, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    href = f"{quote(folder.name)}/{quote(page.name)}"  # a path, never a scheme
    summary = summary or {}
    title = summary.get("title") or page.stem.replace("_", " ").capitalize()
    numbers = "".join(
        f"<li>{e(label)}: <b>{e(value)}</b></li>" for label, value in summary.get("numbers", [])
    )
    return (
        f'<tr><td><a href="{e(href)}">{e(title)}</a></td>'
        f"<td>{e(summary.get('question', ''))}</td>"
        f"<td>{f'<ul class=numbers>{numbers}</ul>' if numbers else ''}</td>"
        f'<td class="num">{made}</td>'
        f'<td class="num" title="{stat.st_size} bytes">{_human_size(stat.st_size)}</td></tr>'
    )


def _section(folder: Path, pages: list[Path]) -> str:
    e = html.escape
    summaries = {
        p: read_page_summary(p.read_text(encoding="utf-8", errors="replace")) for p in pages
    }
    known = [s for s in summaries.values() if s]
    scenario = next((s["scenario"] for s in known if s["scenario"]), "")
    log = next((s["log"] for s in known if s["log"]), "")
    description = next((s["description"] for s in known if s["description"]), "")
    heading = scenario or folder.name
    if log:
        heading = f"{heading}, on the chat log {log}" if scenario else f"Chat log {log}"
    about = f'<p class="about">{e(description)}</p>\n' if description else ""
    rows = "\n".join(_page_row(folder, p, summaries[p]) for p in pages)
    return (
        f'<section id="scenario-{e(folder.name)}">\n<h2>{e(heading)}</h2>\n{about}'
        "<table><thead><tr><th>Page</th><th>Answers</th><th>Headline numbers</th>"
        "<th>Made</th><th>Size</th></tr></thead>\n"
        f"<tbody>\n{rows}\n</tbody></table>\n</section>"
    )


def write_index(reports_dir: str | os.PathLike[str]) -> Path:
    """Write ``<reports_dir>/index.html`` listing every ``<reports_dir>/<scenario>/*.html``.

    Scenarios (folders) sorted by name; per scenario its description, and per page its
    title, the question it answers, its headline numbers, when it was made (UTC) and its
    size. Self-contained, no script; written atomically.

    Example:
        >>> write_index("reports")  # doctest: +SKIP
        PosixPath('reports/index.html')
    """
    root = Path(reports_dir)
    if not root.is_dir():
        raise ReportError(f"{root}: reports folder not found; render some reports first")
    sections: list[str] = []
    n_files = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        pages = sorted(f for f in folder.glob("*.html") if not f.name.startswith("."))
        if pages:
            n_files += len(pages)
            sections.append(_section(folder, pages))
    generated = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(sections) or '<p class="muted">No reports yet.</p>'
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>chatsim reports</title>\n<style>{_INDEX_CSS}</style>\n</head>\n<body>\n"
        "<h1>chatsim reports</h1>\n"
        f'<p class="muted">{n_files} report page(s) in {len(sections)} scenario(s); '
        f"index made {generated}. Every page works offline.</p>\n"
        f"{body}\n</body>\n</html>\n"
    )
    problems = external_references(page)
    if problems:  # pragma: no cover - only escaped text and quoted paths end up in the page
        raise ReportError(f"{root}/index.html: unexpected external resources: {problems}")
    out = root / "index.html"
    write_atomic(out, page)
    return out
