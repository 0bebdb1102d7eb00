"""The pages the rendering and browser tests open: a tiny report notebook with two Altair
charts, and the baseline scenario's report at a small size with a few replications.

The demo's second chart's title holds ``</script>`` and ``<!--`` on purpose: the page must
show it as text, not let it end the chart's script. The small report
(:func:`build_small_report`) runs :data:`DEMO_REPLICATIONS` replications, so its pages
carry the "How sure are we?" section with every interval chart. The rollout page
(:func:`build_rollout_report`) is built from the rollout scenario, scaled down to
:data:`ROLLOUT_SHOPS` shops over the first :data:`ROLLOUT_DAYS` days: past both policy
dates and the sellers' changes.

Example:
    >>> len(demo_notebook().cells)
    4
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from chatsim.render import notebook_to_html
from tests.support.notebooks import execute

__all__ = [
    "DEMO_REPLICATIONS",
    "DEMO_TITLE",
    "ROLLOUT_DAYS",
    "ROLLOUT_SHOPS",
    "build_demo_report",
    "build_rollout_report",
    "build_small_report",
    "demo_notebook",
    "execute_demo",
]

#: Replications behind the small report's intervals (few: the browser test stays quick).
DEMO_REPLICATIONS = 3
#: Size of the rollout page's report: from 1 Jun, past 15 Jul and 15 Aug (the policy dates).
ROLLOUT_SHOPS, ROLLOUT_DAYS = 30, 84
#: Title of the demo's second chart (it must reach the page as plain text).
DEMO_TITLE = "Replies </script><!-- by rule & hour"


def demo_notebook() -> nbformat.NotebookNode:
    """The demo notebook, not yet executed: a markdown cell, a setup cell, two charts.

    Example:
        >>> demo_notebook().metadata["kernelspec"]["name"]
        'python3'
    """
    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell("# Demo report\n\nTwo small charts, drawn with no network."),
        v4.new_code_cell(
            "import altair as alt\nimport polars as pl\n\n"
            "from chatsim.render import enable_offline_charts\n\nenable_offline_charts()"
        ),
        v4.new_code_cell(
            "rates = pl.DataFrame({'rule': ['24h', '12h'], 'response_rate': [0.91, 0.78]})\n"
            "alt.Chart(rates, title='Response rate by rule').mark_bar().encode(\n"
            "    x='rule:N', y=alt.Y('response_rate:Q', scale=alt.Scale(domain=[0, 1]))\n"
            ")"
        ),
        v4.new_code_cell(
            "hours = pl.DataFrame({'hour': list(range(24)),\n"
            "                      'replies': [(h * 7) % 13 + 2 for h in range(24)]})\n"
            f"alt.Chart(hours, title={DEMO_TITLE!r}).mark_line(point=True).encode(\n"
            "    x='hour:Q', y='replies:Q'\n"
            ")"
        ),
    ]
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def execute_demo(workdir: str | os.PathLike[str]) -> Path:
    """Write the demo notebook into ``workdir`` and execute it with papermill.

    Returns the executed notebook's path (``workdir/demo.executed.ipynb``).

    Example:
        >>> executed = execute_demo(tmp_path)  # doctest: +SKIP
    """

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    src = work / "demo.ipynb"
    executed = work / "demo.executed.ipynb"
    nbformat.write(demo_notebook(), src)
    execute(src, executed)
    return executed


def build_demo_report(workdir: str | os.PathLike[str], *, show_code: bool = False) -> Path:
    """Write, execute (papermill) and convert the demo notebook; return the HTML path.

    Example:
        >>> html_path = build_demo_report(tmp_path)  # doctest: +SKIP
    """
    executed = execute_demo(workdir)
    return notebook_to_html(
        executed, Path(workdir) / "demo.html", show_code=show_code, title="Demo report"
    )


def build_small_report(
    workdir: str | os.PathLike[str], *, replications: int = DEMO_REPLICATIONS
) -> Path:
    """Build the baseline scenario's report at the ``--small`` size with ``replications``
    simulations behind its intervals; return the report's folder (one HTML page per
    notebook).

    Example:
        >>> folder = build_small_report(tmp_path)  # doctest: +SKIP
        >>> (folder / "rule_comparison.html").is_file()  # doctest: +SKIP
        True
    """
    from chatsim.report import build_reports

    root = Path(__file__).resolve().parents[2]
    build_reports(
        root / "scenarios" / "baseline.yaml",
        out_dir=workdir,
        small=True,
        progress=False,
        replications=replications,
    )
    return Path(workdir) / "baseline"


def build_rollout_report(workdir: str | os.PathLike[str]) -> Path:
    """Build the rollout page of ``scenarios/rollout.yaml`` at :data:`ROLLOUT_SHOPS` shops
    and :data:`ROLLOUT_DAYS` days; return the page's HTML path.

    Example:
        >>> build_rollout_report(tmp_path).name  # doctest: +SKIP
        'rollout.html'
    """
    from chatsim.report import build_reports

    root = Path(__file__).resolve().parents[2]
    (page,) = build_reports(
        root / "scenarios" / "rollout.yaml",
        out_dir=workdir,
        shops=ROLLOUT_SHOPS,
        days=ROLLOUT_DAYS,
        notebooks=["rollout"],
        progress=False,
    )
    return page
