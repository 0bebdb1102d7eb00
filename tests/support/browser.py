"""Open a rendered report in headless Chromium with the network cut off, and check it.

Uses the Python ``playwright`` package to drive the system browser
(``/usr/bin/chromium``, installed by ``.ci/install-browser.sh``); it never runs
``playwright install``. Every request that is not a ``file:``/``data:``/``blob:``
URL is aborted and recorded, so a report that would need the network shows up as
``external_requests`` and as charts that never draw.

Example:
    >>> from pathlib import Path
    >>> result = check_report_in_browser(Path("reports/base/summary.html"), None)  # doctest: +SKIP
    >>> result["ok"], result["charts_rendered"] == result["charts_expected"]  # doctest: +SKIP
    (True, True)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from chatsim.errors import ReportError
from chatsim.render import count_charts

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "check_report_in_browser",
    "chromium_path",
    "require_browser",
]

#: The system Chromium the checks drive (override with env var CHATSIM_CHROMIUM).
CHROMIUM = "/usr/bin/chromium"
#: Flags that keep Chromium headless, quiet and off the network on its own.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
)

_LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


_COLLECT_JS = """
() => {
  const charts = Array.from(document.querySelectorAll('[data-chatsim-chart]'));
  return charts.map((el) => ({
    id: el.id,
    drawn: el.querySelectorAll('svg.marks, canvas.marks').length,
    text: (el.querySelector('svg.marks') ? el.querySelector('svg.marks').textContent
                                         : el.textContent).slice(0, 500),
  }));
}
"""


def chromium_path() -> Path | None:
    """The Chromium binary to use, or ``None`` if it is not installed.

    Example:
        >>> chromium_path() in (None, Path("/usr/bin/chromium")) or "CHATSIM_CHROMIUM" in os.environ
        True
    """
    candidate = os.environ.get("CHATSIM_CHROMIUM", CHROMIUM)
    path = Path(candidate) if os.path.isabs(candidate) else None
    if path is None:
        found = shutil.which(candidate)
        path = Path(found) if found else None
    return path if path is not None and path.is_file() and os.access(path, os.X_OK) else None


def require_browser() -> Path:
    """The Chromium path, or skip the calling test (fail if ``CHATSIM_REQUIRE_BROWSER=1``)
    when Chromium or playwright is missing.

    Example:
        >>> require_browser()  # doctest: +SKIP
        PosixPath('/usr/bin/chromium')
    """
    import pytest

    exe = chromium_path()
    problem = None
    if exe is None:
        problem = (
            f"{os.environ.get('CHATSIM_CHROMIUM', CHROMIUM)} not found "
            "(install it with: bash .ci/install-browser.sh)"
        )
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install -e '.[dev]')"
    if problem:
        if os.environ.get("CHATSIM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CHATSIM_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(problem)
    return exe


_TOOLTIP_JS = """
() => {
  const el = document.getElementById('vg-tooltip-element');
  if (!el || !el.classList.contains('visible')) { return null; }
  return {text: el.textContent, tags: Array.from(el.querySelectorAll('*'), (e) => e.tagName)};
}
"""


def _hover_charts(page: Any, grid: tuple[int, int] = (10, 6)) -> list[dict[str, Any]]:
    """Move the mouse over a grid of points on every drawn chart; the distinct tooltips."""
    seen: dict[str, dict[str, Any]] = {}
    marks = page.locator("[data-chatsim-chart] svg.marks")
    for i in range(marks.count()):
        mark = marks.nth(i)
        mark.scroll_into_view_if_needed()
        box = mark.bounding_box()
        if not box:
            continue
        for gx in range(grid[0]):
            for gy in range(grid[1]):
                x = box["x"] + box["width"] * (gx + 0.5) / grid[0]
                y = box["y"] + box["height"] * (gy + 0.5) / grid[1]
                page.mouse.move(x, y)
                tip = page.evaluate(_TOOLTIP_JS)
                if tip and tip["text"] not in seen:
                    seen[tip["text"]] = tip
    page.mouse.move(0, 0)
    return list(seen.values())


def check_report_in_browser(
    html_path: Path,
    screenshot: Path | None = None,
    *,
    timeout_ms: int = 30_000,
    viewport: tuple[int, int] = (1280, 900),
    hover_charts: bool = False,
) -> dict[str, Any]:
    """Load ``html_path`` from a ``file://`` URL with all network blocked; report what happened.

    Waits until every chart placeholder holds a drawn vega ``svg``/``canvas`` (or
    ``timeout_ms`` passes), then returns a dict:

    - ``charts_expected``: :func:`chatsim.render.count_charts` of the file;
    - ``charts_rendered``: placeholders that hold a drawn ``svg``/``canvas``;
    - ``chart_texts``: text of each drawn chart (titles, axis labels), in page order;
    - ``external_requests``: every non-local URL the page tried to load (all aborted);
    - ``console_errors``, ``console_warnings``, ``page_errors``, ``dialogs`` (every
      ``alert``/``confirm``/``prompt`` the page opened, dismissed);
    - ``visible_text``: the page's rendered text (``document.body.innerText``);
    - ``tooltips``: with ``hover_charts``, each distinct chart tooltip met while moving the
      mouse over every chart (``text`` and the ``tags`` of the elements inside it);
    - ``screenshot``: path of the full-page PNG written, or ``None``;
    - ``problems``: human-readable list of what is wrong; ``ok``: ``not problems``.

    Raises :class:`ReportError` if Chromium or playwright is missing.

    Example:
        >>> r = check_report_in_browser(Path("demo.html"), Path("test-artifacts/demo.png"))  # doctest: +SKIP
        >>> r["problems"]  # doctest: +SKIP
        []
    """
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - dev extra
        raise ReportError("playwright is not installed: pip install -e '.[dev]'") from exc
    exe = chromium_path()
    if exe is None:
        raise ReportError(
            f"{CHROMIUM} not found: run `bash .ci/install-browser.sh` (apt-get install chromium)"
        )
    html_path = Path(html_path).resolve()
    if not html_path.is_file():
        raise ReportError(f"{html_path}: report not found")
    expected = count_charts(html_path.read_text(encoding="utf-8"))

    external: list[str] = []
    console_errors: list[str] = []
    console_warnings: list[str] = []
    page_errors: list[str] = []
    dialogs: list[str] = []

    def _route(route: Any) -> None:
        url = route.request.url
        if url.startswith(_LOCAL_SCHEMES):
            route.continue_()
        else:
            external.append(url)
            route.abort("blockedbyclient")

    def _on_request(request: Any) -> None:
        url = request.url
        if not url.startswith(_LOCAL_SCHEMES) and url not in external:
            external.append(url)

    def _on_console(msg: Any) -> None:
        if msg.type == "error":
            console_errors.append(msg.text)
        elif msg.type == "warning":
            console_warnings.append(msg.text)

    def _on_dialog(dialog: Any) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    charts: list[dict[str, Any]] = []
    tooltips: list[dict[str, Any]] = []
    visible_text = ""
    shot: Path | None = None
    timed_out = False
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(exe), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]},
                service_workers="block",
            )
            context.route("**/*", _route)
            page = context.new_page()
            page.on("request", _on_request)
            page.on("console", _on_console)
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.on("dialog", _on_dialog)
            page.goto(html_path.as_uri(), wait_until="load", timeout=timeout_ms)
            if expected:
                try:
                    page.wait_for_function(
                        "(n) => Array.from(document.querySelectorAll('[data-chatsim-chart]'))"
                        ".filter((el) => el.querySelector('svg.marks, canvas.marks')).length >= n",
                        arg=expected,
                        timeout=timeout_ms,
                    )
                except PlaywrightError:
                    timed_out = True
            page.wait_for_timeout(200)  # let late console messages arrive
            charts = page.evaluate(_COLLECT_JS)
            visible_text = page.evaluate("() => document.body.innerText")
            if hover_charts:
                tooltips = _hover_charts(page)
            if screenshot is not None:
                shot = Path(screenshot)
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot), full_page=True)
            context.close()
        finally:
            browser.close()

    rendered = sum(1 for c in charts if c["drawn"])
    problems: list[str] = []
    if rendered != expected:
        problems.append(
            f"{rendered} of {expected} chart(s) drawn"
            + (f" after {timeout_ms} ms" if timed_out else "")
            + "; not drawn: "
            + ", ".join(f"{c['id']} ({c['text'][:80]!r})" for c in charts if not c["drawn"])
        )
    if external:
        problems.append(f"{len(external)} external request(s) attempted: {external[:10]}")
    if console_errors:
        problems.append(f"console errors: {console_errors[:10]}")
    if page_errors:
        problems.append(f"page errors: {page_errors[:10]}")
    if dialogs:
        problems.append(f"unexpected dialogs: {dialogs[:10]}")
    return {
        "html": str(html_path),
        "charts_expected": expected,
        "charts_rendered": rendered,
        "chart_texts": [c["text"] for c in charts],
        "external_requests": external,
        "console_errors": console_errors,
        "console_warnings": console_warnings,
        "page_errors": page_errors,
        "dialogs": dialogs,
        "visible_text": visible_text,
        "tooltips": tooltips,
        "screenshot": str(shot) if shot else None,
        "problems": problems,
        "ok": not problems,
    }
