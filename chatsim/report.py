"""The report runner: a scenario in, executed notebooks and offline HTML pages out.

Parameters flow one way: scenario YAML (validated by :mod:`chatsim.scenario`) ->
papermill parameters (:func:`notebook_parameters`) -> chatsim objects inside the
notebook (:func:`chatsim.notebook.load_context`). :func:`build_reports` runs every
report notebook (:data:`NOTEBOOKS_DIR`) for a scenario (or a real log) and writes
``reports/<scenario>/<notebook>.html`` plus the executed ``.ipynb`` and
``reports/index.html``.

Everything is validated before the first notebook runs (a bad scenario, rule or
log fails at once, naming the key or file). Notebooks execute in a staging folder
(``reports/.staging-*``, holding an ``owner.json`` with the run's process id and start
time); only when all of them succeeded are the results moved into ``reports/``, so a
failure never leaves a half-written report. A failing cell is named in the error.
SIGTERM and SIGHUP clean up like Ctrl-C (the staging folder is removed, the previous
report is left as it was); a run killed outright (SIGKILL, power loss) leaves its
staging folder, which the next run in the same ``reports/`` removes
(:func:`sweep_stale_staging`). The report folder is :func:`chatsim.notebook.safe_name`
of the scenario name, always one folder inside ``reports/``.

Example:
    >>> params = notebook_parameters("scenarios/baseline.yaml", log_path="/tmp/log")  # doctest: +SKIP
    >>> params["rules"]  # doctest: +SKIP
    ['legacy-24h', 'new-12h']
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import psutil

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
    "STAGING_OWNER_FILE",
    "STAGING_PREFIX",
    "build_reports",
    "find_notebooks_dir",
    "notebook_parameters",
    "report_folder",
    "report_notebooks",
    "sweep_stale_staging",
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
    any size. Returns the written HTML paths (``out_dir/<safe name>/<notebook>.html``); also
    writes the executed notebooks beside them and refreshes ``out_dir/index.html``.
    Interrupted (Ctrl-C, SIGTERM, SIGHUP), it removes its staging folder and leaves the
    previous report as it was; stale staging folders of killed runs are removed first.
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
    target = report_folder(out_root, sc.name if log is None else f"{sc.name}-{Path(log).stem}")
    with _termination_as_exit():
        sweep_stale_staging(out_root)
        staging: Path | None = None
        paths: list[Path] = []
        try:
            staging = _make_staging(out_root)
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
            params = notebook_parameters(
                sc, log_path=log_dir, small=small, real_log=log is not None
            )
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
            with _signals_deferred():  # a few renames: not cut in half by a signal
                target.mkdir(parents=True, exist_ok=True)
                for stem in written:
                    for ext in (".ipynb", ".html"):
                        os.replace(staging / f"{stem}{ext}", target / f"{stem}{ext}")
                write_index(out_root)
                paths = [target / f"{stem}.html" for stem in written]
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
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)


# --------------------------------------------------------------------------- output folders

#: Name prefix of the folder a run works in, inside the reports folder.
STAGING_PREFIX = ".staging-"
#: File in a staging folder naming the process that owns it (pid, start time, host).
STAGING_OWNER_FILE = "owner.json"
# A staging folder without an owner file is left alone this long (its run may be starting).
_NO_OWNER_GRACE_S = 60.0
# A staging folder of a run on another host is removed after this long.
_FOREIGN_HOST_STALE_S = 24 * 3600.0


def report_folder(out_root: str | Path, name: str) -> Path:
    """The folder a report named ``name`` goes to: ``out_root/safe_name(name)``.

    Raises :class:`ReportError` if that path resolves outside ``out_root`` (a symbolic
    link, say), so a report never writes anywhere but inside its output folder.

    Example:
        >>> report_folder("reports", "..").name
        '__'
    """
    root = Path(out_root)
    target = root / safe_name(name)
    real_root, real_target = Path(os.path.realpath(root)), Path(os.path.realpath(target))
    if real_target.parent != real_root:
        raise ReportError(
            f"the report folder for scenario {name[:80]!r} would be {real_target}, outside "
            f"the output folder {real_root}; remove {target} or choose another --out."
        )
    return target


def _process_started(pid: int) -> float:
    return psutil.Process(pid).create_time()


def _make_staging(out_root: Path) -> Path:
    """A fresh staging folder in ``out_root`` with an owner file naming this process."""
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_root))
    owner = {
        "pid": os.getpid(),
        "process_started": _process_started(os.getpid()),
        "host": socket.gethostname(),
        "created": time.time(),
    }
    tmp = staging / f".{STAGING_OWNER_FILE}.tmp"
    tmp.write_text(json.dumps(owner), encoding="utf-8")
    os.replace(tmp, staging / STAGING_OWNER_FILE)
    return staging


def _owner_alive(owner: dict[str, Any]) -> bool:
    """Whether the process an owner file names still runs (same pid and start time)."""
    try:
        proc = psutil.Process(int(owner["pid"]))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return abs(proc.create_time() - float(owner["process_started"])) < 1.0
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists; we cannot tell more
    except (KeyError, TypeError, ValueError):
        return False  # an unreadable owner file: no process can be its owner


def _is_stale(staging: Path, now: float) -> bool:
    try:
        owner = json.loads((staging / STAGING_OWNER_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return staging.stat().st_mtime < now - _NO_OWNER_GRACE_S
    except (OSError, ValueError):
        owner = {}
    if not isinstance(owner, dict):
        owner = {}
    if owner.get("host", socket.gethostname()) != socket.gethostname():
        created = owner.get("created")
        return isinstance(created, int | float) and created < now - _FOREIGN_HOST_STALE_S
    return not _owner_alive(owner)


def sweep_stale_staging(out_root: str | Path, *, now: float | None = None) -> list[Path]:
    """Remove the staging folders in ``out_root`` whose run is gone; return them.

    A staging folder (``.staging-*``) is stale when the process named in its owner file
    no longer runs (the pid is gone or now belongs to a process started at another
    time). Folders of live runs are kept; so are folders without an owner file for a
    minute after their last change, and folders of runs on another host for a day.
    ``build_reports`` calls it before each run.

    Example:
        >>> sweep_stale_staging("reports")  # doctest: +SKIP
        [PosixPath('reports/.staging-k2j4x8ab')]
    """
    root = Path(out_root)
    now = time.time() if now is None else now
    removed = []
    for staging in sorted(root.glob(f"{STAGING_PREFIX}*")):
        try:
            if staging.is_symlink() or not staging.is_dir() or not _is_stale(staging, now):
                continue
        except OSError:
            continue
        shutil.rmtree(staging, ignore_errors=True)
        if not staging.exists():
            removed.append(staging)
    return removed


# --------------------------------------------------------------------------- signals

_TERMINATION_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _raise_exit(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _termination_as_exit() -> Iterator[None]:
    """Inside, SIGTERM and SIGHUP raise ``SystemExit(128 + signal)``, so ``finally`` blocks
    clean up as they do on Ctrl-C; the previous handlers are restored afterwards. Signals
    ignored by the caller (``nohup``) stay ignored; outside the main thread nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for sig in _TERMINATION_SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            previous[sig] = signal.signal(sig, _raise_exit)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block is done (POSIX main thread only)."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = mask(signal.SIG_BLOCK, {signal.SIGINT, *_TERMINATION_SIGNALS})
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, old)


def _say(progress: bool, msg: str) -> None:
    if progress:
        print(msg, flush=True)
