"""The report runner: a scenario in, executed notebooks and offline HTML pages out.

Parameters flow one way: scenario YAML (validated by :mod:`chatsim.scenario`) ->
papermill parameters (:func:`notebook_parameters`) -> chatsim objects inside the
notebook (:func:`chatsim.notebook.load_context`). :func:`build_reports` runs every
report notebook (:data:`NOTEBOOKS_DIR`) for a scenario (or a real log) and writes
``reports/<scenario>/<notebook>.html`` plus the executed ``.ipynb`` and
``reports/index.html``.

Everything is validated before the first notebook runs (a bad scenario, rule or
log fails at once, naming the key or file). Notebooks execute in a staging folder;
only when all of them succeeded are the results moved into ``reports/``, so a
failure never leaves a half-written report. A failing cell is named in the error.

Example:
    >>> params = notebook_parameters("scenarios/baseline.yaml", log_path="/tmp/log")  # doctest: +SKIP
    >>> params["rules"]  # doctest: +SKIP
    ['legacy-24h', 'new-12h']
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from chatsim.errors import ReportError
from chatsim.notebook import safe_name
from chatsim.rules import resolve_rule
from chatsim.scenario import Scenario, load_scenario
from chatsim.schema import read_log

__all__ = [
    "NOTEBOOKS_DIR",
    "REPORT_NOTEBOOKS",
    "SMALL_DAYS",
    "SMALL_SHOPS",
    "build_reports",
    "find_notebooks_dir",
    "notebook_parameters",
    "report_notebooks",
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
#: Report notebooks in the order they appear in the index; any other notebook in
#: ``notebooks/`` is run after them.
REPORT_NOTEBOOKS: tuple[str, ...] = ("rule_comparison", "sensitivity", "shop_drilldown")
#: Sizes used by ``--small`` (and the notebook tests).
SMALL_SHOPS, SMALL_DAYS = 36, 10


def report_notebooks(
    notebooks_dir: Path = NOTEBOOKS_DIR, only: Sequence[str] | None = None
) -> list[Path]:
    """The notebooks a report runs, main report first.

    Example:
        >>> [p.stem for p in report_notebooks()][:1]
        ['rule_comparison']
    """
    found = {p.stem: p for p in sorted(notebooks_dir.glob("*.ipynb"))}
    ordered = [found[n] for n in REPORT_NOTEBOOKS if n in found]
    ordered += [p for n, p in found.items() if n not in REPORT_NOTEBOOKS]
    if only:
        missing = [n for n in only if Path(n).stem not in found]
        if missing:
            raise ReportError(f"no notebook(s) {missing} in {notebooks_dir}; have {sorted(found)}.")
        ordered = [p for p in ordered if p.stem in {Path(n).stem for n in only}]
    if not ordered:
        raise ReportError(f"no notebooks found in {notebooks_dir}.")
    return ordered


def notebook_parameters(
    scenario: Scenario | str | Path,
    *,
    log_path: str | Path,
    small: bool = False,
    real_log: bool = False,
) -> dict[str, Any]:
    """The papermill parameters every report notebook accepts, from a scenario.

    Only plain values (strings, numbers, lists) so they show in the notebook's
    injected-parameters cell.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    an = sc.analysis
    for ref in an.rules:  # fail now, not inside a notebook
        resolve_rule(ref)
    return {
        "scenario_path": str(Path(sc.source).resolve())
        if sc.source and Path(sc.source).exists()
        else "",
        "log_path": str(Path(log_path).resolve()),
        "real_log": real_log,
        "shops": SMALL_SHOPS if small else None,
        "days": SMALL_DAYS if small else None,
        "rules": [str(r) for r in an.rules],
        "targets": [float(t) for t in an.targets],
        "windows_hours": [float(w) for w in an.windows_hours],
        "drilldown_shop": an.drilldown_shop,
        "run_what_if": bool(an.what_if) and not real_log,
        "as_of": None,
    }


def _run_notebook(
    nb: Path, out_nb: Path, params: dict[str, Any], progress: bool, timeout: int
) -> None:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    try:
        pm.execute_notebook(
            str(nb),
            str(out_nb),
            parameters=params,
            kernel_name="python3",
            language="python",
            progress_bar=progress,
            cwd=str(nb.parent),
            execution_timeout=timeout,
        )
    except PapermillExecutionError as exc:
        lines = [ln for ln in (exc.source or "").splitlines() if ln.strip()]
        first = lines[0][:100] if lines else ""
        cell = f"cell {exc.exec_count}" if exc.exec_count is not None else f"cell #{exc.cell_index}"
        raise ReportError(
            f"notebook {nb.name} failed in {cell} (`{first}`): {exc.ename}: "
            f"{str(exc.evalue).rstrip('.')}. No report was written."
        ) from None


def build_reports(
    scenario: str | Path,
    *,
    log: str | Path | None = None,
    out_dir: str | Path = "reports",
    small: bool = False,
    show_code: bool = False,
    notebooks: Sequence[str] | None = None,
    notebooks_dir: Path = NOTEBOOKS_DIR,
    progress: bool = True,
    timeout: int = 1800,
    shops: int | None = None,
    days: int | None = None,
) -> list[Path]:
    """Run the report notebooks for a scenario (or a real ``log``) into ``out_dir``.

    ``small`` scales the scenario down to a quick check; ``shops``/``days`` scale it to
    any size. Returns the written HTML paths (``out_dir/<scenario>/<notebook>.html``); also
    writes the executed notebooks beside them and refreshes ``out_dir/index.html``.
    """
    from chatsim.render import notebook_to_html, write_index
    from chatsim.simulate import simulate_to_dir

    sc = load_scenario(scenario)  # ScenarioError before anything runs
    if small:
        sc = sc.scaled(shops=min(sc.shops, SMALL_SHOPS), days=min(sc.period.days, SMALL_DAYS))
    if shops or days:
        sc = sc.scaled(shops=shops, days=days)
    nbs = report_notebooks(notebooks_dir, notebooks)
    out_root = Path(out_dir)
    out_root.mkdir(parents=True, exist_ok=True)
    target = out_root / safe_name(sc.name if log is None else f"{sc.name}-{Path(log).stem}")
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_root))
    try:
        if log is None:
            log_dir = staging / "log"
            _say(
                progress,
                f"simulating scenario '{sc.name}' ({sc.shops} shops, {sc.period.days} days)",
            )
            simulate_to_dir(sc, log_dir, progress=progress)
        else:
            log_dir = Path(log)
            real = read_log(log_dir)  # SchemaError before any notebook runs
        params = notebook_parameters(sc, log_path=log_dir, small=small, real_log=log is not None)
        if (
            log is not None
            and params["drilldown_shop"] not in real.shops["shop_id"].cast(pl.String).to_list()
        ):
            # the scenario names a simulated shop: on a real log the drill-down picks its own
            params["drilldown_shop"] = None
        if small or shops or days:
            params["shops"], params["days"] = sc.shops, sc.period.days
        written = []
        for i, nb in enumerate(nbs, 1):
            _say(progress, f"[{i}/{len(nbs)}] running {nb.name}")
            out_nb = staging / nb.name
            _run_notebook(nb, out_nb, params, progress, timeout)
            html_path = staging / f"{nb.stem}.html"
            notebook_to_html(
                out_nb,
                html_path,
                show_code=show_code,
                title=f"{sc.name}: {nb.stem.replace('_', ' ')}",
            )
            written.append(nb.stem)
        target.mkdir(parents=True, exist_ok=True)
        paths = []
        for stem in written:
            for ext in (".ipynb", ".html"):
                os.replace(staging / f"{stem}{ext}", target / f"{stem}{ext}")
            paths.append(target / f"{stem}.html")
        write_index(out_root)
        return paths
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _say(progress: bool, msg: str) -> None:
    if progress:
        print(msg, flush=True)
