"""Which pages a report builds, and where their notebooks are.

A report always builds :data:`ALWAYS_PAGES` (the rule comparison, sensitivity and shop
drill-down); the other pages of :data:`REPORT_NOTEBOOKS` only when the run calls for them
(:func:`report_pages`, the one place that decides it): ``rollout`` when the scenario sets
``analysis.rollout``, ``calibration`` with ``--fit`` (a real log fitted), ``peers`` when
``analysis.peers`` lists rules. Any other notebook in the folder (one of your own) runs in
every report. :func:`report_notebooks` turns the pages into notebook paths, and names what to
set when ``--notebook`` asks for a page the run does not build (:data:`PAGE_NEEDS`).

Example:
    >>> ALWAYS_PAGES[0], sorted(PAGE_NEEDS)
    ('rule_comparison', ['calibration', 'peers', 'rollout'])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chatsim.errors import ReportError
from chatsim.scenario import Scenario

__all__ = [
    "ALWAYS_PAGES",
    "NOTEBOOKS_DIR",
    "PAGE_NEEDS",
    "REPORT_NOTEBOOKS",
    "find_notebooks_dir",
    "report_notebooks",
    "report_pages",
]


def find_notebooks_dir() -> Path:
    """Where the report notebooks are: shipped inside the installed package
    (``chatsim/notebooks/``, copied from the repository's ``notebooks/`` when a wheel is
    built), else the checkout's ``notebooks/`` (an editable install or a plain checkout).

    Example:
        >>> (find_notebooks_dir() / "rule_comparison.ipynb").is_file()
        True
    """
    here = Path(__file__).resolve().parent
    packaged = here / "notebooks"
    if any(packaged.glob("*.ipynb")):
        return packaged
    return here.parent / "notebooks"


#: The folder holding the report notebooks (see :func:`find_notebooks_dir`).
NOTEBOOKS_DIR = find_notebooks_dir()
#: Report pages in the order they appear in the index; any other notebook in
#: ``notebooks/`` (one of your own) is run after them, in every report.
REPORT_NOTEBOOKS: tuple[str, ...] = (
    "rule_comparison",
    "sensitivity",
    "shop_drilldown",
    "rollout",
    "calibration",
    "peers",
)
#: The pages every report builds.
ALWAYS_PAGES: tuple[str, ...] = ("rule_comparison", "sensitivity", "shop_drilldown")
#: The other report pages, and what a run needs to build each (:func:`report_pages`).
PAGE_NEEDS: dict[str, str] = {
    "rollout": "set 'analysis: rollout: true' in the scenario",
    "calibration": "give --fit with --log LOG (a real log to fit a twin scenario to)",
    "peers": "list peer rules under 'analysis: peers:' in the scenario",
}


def report_pages(sc: Scenario, *, real_log: bool = False, fit: bool = False) -> tuple[str, ...]:
    """The report pages a run builds, in index order: :data:`ALWAYS_PAGES`, then
    ``rollout`` if the scenario sets ``analysis.rollout``, ``calibration`` with ``fit``
    (which needs a real log: ``real_log``), ``peers`` if ``analysis.peers`` lists rules.
    The one place that decides it: the runner, the CLI and the docs follow it.

    Example:
        >>> from chatsim.scenario import load_scenario
        >>> report_pages(load_scenario("scenarios/rollout.yaml"))
        ('rule_comparison', 'sensitivity', 'shop_drilldown', 'rollout')
        >>> report_pages(load_scenario("scenarios/baseline.yaml"), fit=True)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        chatsim.errors.ReportError: --fit fits a scenario to a real log: give the log with...
    """
    if fit and not real_log:
        raise ReportError(
            "--fit fits a scenario to a real log: give the log with --log LOG (or leave --fit out)."
        )
    an = sc.analysis
    wanted = {"rollout": bool(an.rollout), "calibration": fit, "peers": bool(an.peers)}
    return ALWAYS_PAGES + tuple(p for p in REPORT_NOTEBOOKS if wanted.get(p))


def report_notebooks(
    notebooks_dir: Path = NOTEBOOKS_DIR,
    only: Sequence[str] | None = None,
    pages: Sequence[str] | None = None,
) -> list[Path]:
    """The notebooks a report runs, main report first: of the report pages, those in
    ``pages`` (:func:`report_pages`; None: every one found), then any other notebook of the
    folder. ``only`` keeps the named ones; naming a page the run does not build is a
    :class:`ReportError` saying what to set.

    Example:
        >>> [p.stem for p in report_notebooks()][:1]
        ['rule_comparison']
    """
    found = {p.stem: p for p in sorted(notebooks_dir.glob("*.ipynb"))}
    builds = set(REPORT_NOTEBOOKS if pages is None else pages)
    ordered = [found[n] for n in REPORT_NOTEBOOKS if n in found and n in builds]
    ordered += [p for n, p in found.items() if n not in REPORT_NOTEBOOKS]
    if only:
        missing = [n for n in only if Path(n).stem not in found]
        if missing:
            raise ReportError(f"no notebook(s) {missing} in {notebooks_dir}; have {sorted(found)}.")
        skipped = [Path(n).stem for n in only if Path(n).stem not in {p.stem for p in ordered}]
        if skipped:
            needs = "; ".join(
                f"for {n}, {PAGE_NEEDS.get(n, 'check the scenario')}" for n in skipped
            )
            raise ReportError(
                f"--notebook {', '.join(skipped)}: this run does not build it ({needs})."
            )
        ordered = [p for p in ordered if p.stem in {Path(n).stem for n in only}]
    if not ordered:
        raise ReportError(f"no notebooks found in {notebooks_dir}.")
    return ordered
