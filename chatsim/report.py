"""The report runner: a scenario in, executed notebooks and offline HTML pages out.

Parameters flow one way: scenario YAML (validated by :mod:`chatsim.scenario`) ->
papermill parameters (:func:`notebook_parameters`) -> chatsim objects inside the
notebook (:func:`chatsim.notebook.load_context`). :func:`build_reports` runs every
report notebook (:data:`NOTEBOOKS_DIR`) for a scenario (or a real log) and writes
``reports/<scenario>/<notebook>.html`` plus the executed ``.ipynb`` and
``reports/index.html``. Which pages a run builds is :func:`report_pages`: the rule
comparison, sensitivity and drill-down pages always; ``rollout`` when the scenario sets
``analysis.rollout``; ``calibration`` with ``fit`` (a real log fitted, its twin scenario
passed to every notebook as ``twin_path``); ``peers`` when ``analysis.peers`` lists rules.

A run, in order (stage times: ``benchmarks/report.py``):

1. everything is validated before any work (a bad scenario, rule or log fails at once,
   naming the key or file), and kernels start warming up (:mod:`chatsim.report_kernels`);
2. the scenario is simulated in memory (or ``--log`` read) and evaluated **once**; the
   evaluation and the tables built from it are staged for the notebooks
   (:mod:`chatsim.report_results`, the ``results_path`` parameter), each notebook starting
   on a free kernel as soon as what it reads is staged (:data:`STAGED_TABLES`); with
   ``replications`` over 1 the scenario is also simulated that many times, once for the
   whole run (:func:`chatsim.replications.run_replications`), and the pages that show
   intervals (:data:`REPLICATION_PAGES`) start when those are staged;
3. each executed notebook becomes its HTML page while the others still run;
4. only when every page is done are they moved into ``reports/`` (under
   :func:`~chatsim.report_staging.signals_deferred`) and the index rewritten.

The run works in a staging folder (:mod:`chatsim.report_staging`), so a failure never
leaves a half-written report; a failing cell is named in the error. SIGTERM and SIGHUP
clean up like Ctrl-C (the staging folder and the kernels go, the previous report stays);
a run killed outright leaves its staging folder, which the next run in the same
``reports/`` removes. The report folder is :func:`chatsim.notebook.safe_name` of the
scenario name, always one folder inside ``reports/``.

Example:
    >>> params = notebook_parameters("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> params["rules"], params["drilldown_top"]  # doctest: +SKIP
    (['legacy-24h', 'new-12h'], 5)
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import polars as pl

from chatsim.errors import ReportError
from chatsim.report_pages import (
    ALWAYS_PAGES,
    NOTEBOOKS_DIR,
    PAGE_NEEDS,
    REPORT_NOTEBOOKS,
    find_notebooks_dir,
    report_notebooks,
    report_pages,
)
from chatsim.report_params import SMALL_DAYS, SMALL_SHOPS, notebook_parameters
from chatsim.report_results import TWIN_FILE
from chatsim.report_staging import (
    STAGING_OWNER_FILE,
    STAGING_PREFIX,
    make_staging,
    report_folder,
    signals_deferred,
    sweep_stale_staging,
    termination_as_exit,
)
from chatsim.rules import Rule, resolve_rule
from chatsim.scenario import Scenario, load_scenario
from chatsim.schema import ChatLog, read_log

__all__ = [
    "ALWAYS_PAGES",
    "NOTEBOOKS_DIR",
    "PAGE_NEEDS",
    "REPLICATION_PAGES",
    "REPORT_NOTEBOOKS",
    "SMALL_DAYS",
    "SMALL_SHOPS",
    "STAGED_TABLES",
    "STAGING_OWNER_FILE",
    "STAGING_PREFIX",
    "build_reports",
    "find_notebooks_dir",
    "notebook_parameters",
    "report_folder",
    "report_notebooks",
    "report_pages",
    "sweep_stale_staging",
]


#: Tables a run stages for a page beside the evaluation: (table, the page that reads it).
#: A page is started as soon as what it reads is staged; other notebooks start last.
STAGED_TABLES: tuple[tuple[str, str], ...] = (
    ("bridge", "rule_comparison"),
    ("window_rates", "sensitivity"),
    ("daily", "rollout"),
)
#: The pages that show the replications' intervals: started once the replications are
#: staged (a run with ``replications`` over 1).
REPLICATION_PAGES: tuple[str, ...] = ("rule_comparison", "sensitivity")
# A simulation this small runs in this process (worker processes cost more to start).
_IN_PROCESS_SHOP_DAYS = 20_000


def _run_notebook(nb: Path, params: dict[str, Any], *, km: Any, timeout: int) -> Any:
    """Execute ``nb`` on the kernel ``km``; the executed notebook node. A failing cell is
    named in a :class:`ReportError`."""
    from papermill.exceptions import PapermillExecutionError

    from chatsim.report_kernels import run_notebook

    try:
        return run_notebook(nb, params, km=km, timeout=timeout)
    except PapermillExecutionError as exc:
        lines = [ln for ln in (exc.source or "").splitlines() if ln.strip()]
        first = lines[0][:100] if lines else ""
        cell = f"cell {exc.exec_count}" if exc.exec_count is not None else f"cell #{exc.cell_index}"
        raise ReportError(
            f"notebook {nb.name} failed in {cell} (`{first}`): {exc.ename}: "
            f"{str(exc.evalue).rstrip('.')}. No report was written."
        ) from None


class _Stopwatch:
    """Stage durations in seconds, into ``timings`` when the caller passed a dict."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings if timings is not None else {}
        self.t0 = time.perf_counter()

    def lap(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - since
        return now


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
    kernels: int | None = None,
    timings: dict[str, float] | None = None,
    replications: int | None = None,
    fit: bool = False,
) -> list[Path]:
    """Run the report notebooks for a scenario (or a real ``log``) into ``out_dir``.

    ``small`` scales the scenario down to a quick check; ``shops``/``days`` scale it to
    any size. Returns the written HTML paths (``out_dir/<safe name>/<notebook>.html``); also
    writes the executed notebooks beside them and refreshes ``out_dir/index.html``.

    The log is simulated (or read) and evaluated once, here; the results go into the
    staging folder (:mod:`chatsim.report_results`) and every notebook reads them
    (``results_path``). The notebooks run concurrently on ``kernels`` warm kernels
    (default: one per core, :mod:`chatsim.report_kernels`; ``0``: one at a time, each on a
    fresh kernel), started while the log is simulated; each page is converted to HTML as
    soon as its notebook is done. ``timings`` (a dict) receives each stage's seconds.

    ``replications`` (1 to 1,000; default: the scenario's ``analysis.replications``) over 1
    simulates the scenario that many times, once for the run, and the main report and the
    sensitivity page show every headline figure with its 95 % interval; it needs a
    scenario to simulate, so it is refused with ``log``.

    ``fit`` (with ``log``) fits a scenario to the log (:func:`chatsim.fit.fit_log`, seeded
    by the scenario's seed), stages its YAML, passes its path to every notebook
    (``twin_path``), adds the calibration page and keeps the YAML beside the pages
    (``twin.yaml``). The pages built are :func:`report_pages`.

    Interrupted (Ctrl-C, SIGTERM, SIGHUP), it removes its staging folder and leaves the
    previous report as it was; stale staging folders of killed runs are removed first.
    """
    from chatsim.report_kernels import KernelPool, default_kernels, skip_slow_optional_imports

    skip_slow_optional_imports()
    from chatsim.render import warm_exporter, write_index

    clock = _Stopwatch(timings)
    sc = load_scenario(scenario)  # ScenarioError before anything runs
    if small:
        sc = sc.scaled(shops=min(sc.shops, SMALL_SHOPS), days=min(sc.period.days, SMALL_DAYS))
    if shops or days:
        sc = sc.scaled(shops=shops, days=days)
    pages = report_pages(sc, real_log=log is not None, fit=fit)
    nbs = report_notebooks(notebooks_dir, notebooks, pages)
    if log is not None and replications is not None and replications != 1:
        raise ReportError(
            f"replications={replications!r}: replications simulate the scenario again with "
            f"new seeds, and {log} is a real log; leave replications out (or 1) for a real log."
        )
    params = notebook_parameters(
        sc,
        log_path=log or "",
        small=small,
        real_log=log is not None,
        replications=replications,
    )
    if small or shops or days:
        params["shops"], params["days"] = sc.shops, sc.period.days
    rules = [resolve_rule(r) for r in params["rules"]]
    out_root = Path(out_dir)
    out_root.mkdir(parents=True, exist_ok=True)
    target = report_folder(out_root, sc.name if log is None else f"{sc.name}-{Path(log).stem}")
    with termination_as_exit():
        sweep_stale_staging(out_root)
        staging: Path | None = None
        pool: KernelPool | None = None
        html: ThreadPoolExecutor | None = None
        paths: list[Path] = []
        try:
            staging = make_staging(out_root)
            started = iter(range(1, len(nbs) + 1))
            pool = KernelPool(
                default_kernels(len(nbs)) if kernels is None else kernels,
                cwd=nbs[0].parent,
                on_start=lambda name: _say(
                    progress, f"[{next(started)}/{len(nbs)}] running {name}"
                ),
            )
            the_log = _the_log(sc, log, progress, clock)
            if log is not None and params["drilldown_shop"] not in (
                the_log.shops["shop_id"].cast(pl.String).to_list()
            ):
                # the scenario names a simulated shop: on a real log the drill-down picks its own
                params["drilldown_shop"] = None
            params["results_path"] = str((staging / "results").resolve())
            if fit:
                params["twin_path"] = str(_fit_twin(the_log, sc, params, progress, clock))
            html = ThreadPoolExecutor(1, thread_name_prefix="chatsim-html")
            html.submit(warm_exporter)  # while the log is evaluated
            runs = _stage_and_start(the_log, sc, rules, params, nbs, pool, timeout, clock, progress)
            del the_log  # the notebooks read the staged results
            pages = _finish_pages(
                runs,
                html,
                staging,
                show_code,
                lambda nb: f"{sc.name}: {nb.replace('_', ' ')}",
                clock,
            )
            with signals_deferred():  # a few renames: not cut in half by a signal
                target.mkdir(parents=True, exist_ok=True)
                for nb in nbs:
                    for ext in (".ipynb", ".html"):
                        os.replace(staging / f"{nb.stem}{ext}", target / f"{nb.stem}{ext}")
                if params["twin_path"]:
                    os.replace(params["twin_path"], target / TWIN_FILE)
                write_index(out_root)
                paths = [target / f"{nb.stem}.html" for nb in nbs if nb.stem in pages]
            clock.lap("total", clock.t0)
            return paths
        except (KeyboardInterrupt, SystemExit):
            if not paths:
                print(
                    f"chatsim report: interrupted; no report written, {target} left as it was.",
                    file=sys.stderr,
                    flush=True,
                )
            raise
        finally:
            if pool is not None:
                pool.close(wait=1.0)
            if html is not None:  # a page being written finishes before its folder goes
                html.shutdown(wait=True, cancel_futures=True)
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)


def _the_log(sc: Scenario, log: str | Path | None, progress: bool, clock: _Stopwatch) -> ChatLog:
    """The log to report on: ``log`` read and validated, or the scenario simulated in
    memory (in this process when small; the log is never written: the notebooks read the
    staged results)."""
    from chatsim.simulate import simulate

    t = time.perf_counter()
    if log is not None:
        _say(progress, f"reading {log}")
        the_log = read_log(log)  # SchemaError before any notebook runs
        clock.lap("read log", t)
        return the_log
    _say(progress, f"simulating scenario '{sc.name}' ({sc.shops} shops, {sc.period.days} days)")
    in_process = sc.shops * sc.period.days <= _IN_PROCESS_SHOP_DAYS
    the_log = simulate(sc, workers=1 if in_process else (os.cpu_count() or 1))
    clock.lap("simulate", t)
    return the_log


def _fit_twin(
    the_log: ChatLog, sc: Scenario, params: dict[str, Any], progress: bool, clock: _Stopwatch
) -> Path:
    """Fit a scenario to the real log and stage its YAML in the results folder."""
    from chatsim.report_results import write_twin

    t = time.perf_counter()
    _say(progress, "fitting a twin scenario to the log")
    path = write_twin(params["results_path"], the_log, seed=sc.seed)
    clock.lap("fit", t)
    return path


def _stage_and_start(
    the_log: ChatLog,
    sc: Scenario,
    rules: list[Rule],
    params: dict[str, Any],
    nbs: list[Path],
    pool: Any,
    timeout: int,
    clock: _Stopwatch,
    progress: bool = False,
) -> dict[Future, Path]:
    """Evaluate once, stage the results, and start each notebook as soon as what it reads
    is staged (the evaluation, then each table of :data:`STAGED_TABLES`, then the
    replications for :data:`REPLICATION_PAGES`)."""
    from chatsim.analysis import sweep_base, window_rates
    from chatsim.explain import bridge_table
    from chatsim.metrics import compare
    from chatsim.report_results import write_replications, write_results, write_table
    from chatsim.rollout import rollout_daily

    folder = Path(params["results_path"])
    stems = [nb.stem for nb in nbs]
    runs: dict[Future, Path] = {}

    def start(ready: Callable[[str], bool]) -> None:
        for nb in nbs:
            if nb not in runs.values() and ready(nb.stem):
                job = _notebook_job(nb, params, timeout, clock)
                runs[pool.submit(nb.name, job)] = nb

    t = time.perf_counter()
    ev = compare(the_log, rules, as_of=params["as_of"])
    t = clock.lap("evaluate", t)
    write_results(folder, the_log, ev, pages=stems, windows_hours=params["windows_hours"])
    clock.lap("stage results", t)
    n = int(params["replications"])
    replicate = n > 1 and not params["real_log"] and any(p in stems for p in REPLICATION_PAGES)
    waits = {page for _, page in STAGED_TABLES} | (set(REPLICATION_PAGES) if replicate else set())
    start(lambda stem: stem in REPORT_NOTEBOOKS and stem not in waits)
    compute = {
        "bridge": lambda: bridge_table(ev, the_log, old=rules[0].name, new=rules[-1].name),
        "window_rates": lambda: window_rates(
            the_log, params["windows_hours"], base=sweep_base(rules), as_of=params["as_of"]
        ),
        "daily": lambda: rollout_daily(the_log, rules, None if params["real_log"] else sc),
    }
    for table, page in STAGED_TABLES:
        if page in stems:
            t = time.perf_counter()
            write_table(folder, table, compute[table]())
            clock.lap(table, t)
            if not (replicate and page in REPLICATION_PAGES):
                start(lambda stem, page=page: stem == page)
    if replicate:
        from chatsim.replications import run_replications

        t = time.perf_counter()
        _say(progress, f"simulating scenario '{sc.name}' {n} times (the intervals)")
        small = sc.shops * sc.period.days * n <= _IN_PROCESS_SHOP_DAYS
        rep = run_replications(
            sc,
            n,
            rules=rules,
            workers=1 if small else None,
            bridge="rule_comparison" in stems,
            sweep="sensitivity" in stems,
            what_if=bool(params["run_what_if"]),
        )
        write_replications(folder, rep)
        clock.lap("replications", t)
    start(lambda stem: True)
    return runs


def _notebook_job(
    nb: Path, params: dict[str, Any], timeout: int, clock: _Stopwatch
) -> Callable[[Any], Any]:
    def job(km: Any) -> Any:
        t = time.perf_counter()
        node = _run_notebook(nb, params, km=km, timeout=timeout)
        clock.lap(f"notebook {nb.stem}", t)
        return node

    return job


def _finish_pages(
    runs: dict[Future, Path],
    html: ThreadPoolExecutor,
    staging: Path,
    show_code: bool,
    title: Callable[[str], str],
    clock: _Stopwatch,
) -> set[str]:
    """Wait for the notebooks; write each executed notebook and its HTML page into
    ``staging`` as soon as it is done (one page at a time, beside the running notebooks).
    A failure stops the wait at once (the caller removes the staging folder)."""
    import nbformat

    from chatsim.render import notebook_to_html

    def write(node: Any, stem: str) -> str:
        t = time.perf_counter()
        nbformat.write(node, staging / f"{stem}.ipynb")
        notebook_to_html(node, staging / f"{stem}.html", show_code=show_code, title=title(stem))
        clock.lap(f"html {stem}", t)
        return stem

    waiting: set[Future] = set(runs)
    pages: set[Future] = set()
    while waiting or pages:
        done, _ = wait(waiting | pages, timeout=0.2, return_when=FIRST_COMPLETED)
        for fut in done:
            if fut in waiting:
                waiting.discard(fut)
                pages.add(html.submit(write, fut.result(), runs[fut].stem))
            else:
                pages.discard(fut)
                fut.result()
    return {nb.stem for nb in runs.values()}


def _say(progress: bool, msg: str) -> None:
    if progress:
        print(msg, flush=True)
