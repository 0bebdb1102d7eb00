"""What a finished report page must pass, and how pages are written.

The markers that find a page's charts and its vega-embed bundle (:func:`count_charts`,
:func:`count_bundles`), the check that nothing is loaded from the network
(:func:`external_references`), and :func:`write_atomic`, the one way pages, the index and
cached files are written. :mod:`chatsim.render` re-exports them.

Example:
    >>> count_charts('<div class="chatsim-chart" data-chatsim-chart="1"></div>')
    1
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

__all__ = [
    "BUNDLE_MARKER",
    "CHART_MARKER",
    "count_bundles",
    "count_charts",
    "external_references",
    "write_atomic",
]

#: Attribute on the ``<script>`` that carries the vega-embed bundle.
BUNDLE_MARKER = "data-chatsim-bundle"
#: Attribute on each chart placeholder ``<div>``.
CHART_MARKER = "data-chatsim-chart"


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
        >>> count_bundles('<script type="text/javascript" data-chatsim-bundle="vega-embed">')
        1
    """
    return len(_BUNDLE_RE.findall(html_text))


# --------------------------------------------------------------------------- writing


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and ``os.replace``, so
    a reader never sees half a file and a failed write keeps the old one.

    Example:
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     write_atomic(Path(tmp) / "page.html", "<p>x</p>")
    """
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
