"""Where a report run works: its staging folder, stale folders of killed runs, signals.

A run works in ``reports/.staging-*`` (:func:`make_staging`), holding an ``owner.json``
with the run's process id, start time and host; only when every page is done are the
results moved into ``reports/<scenario>/`` (under :func:`signals_deferred`). SIGTERM and
SIGHUP clean up like Ctrl-C (:func:`termination_as_exit`); a run killed outright leaves its
staging folder, which the next run in the same ``reports/`` removes
(:func:`sweep_stale_staging`). :func:`report_folder` keeps every report one folder inside
``reports/``.

Example:
    >>> report_folder("reports", "peak season: 9.9").name
    'peak_season__9.9'
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from chatsim.errors import ReportError
from chatsim.notebook import safe_name

__all__ = [
    "STAGING_OWNER_FILE",
    "STAGING_PREFIX",
    "make_staging",
    "report_folder",
    "signals_deferred",
    "sweep_stale_staging",
    "termination_as_exit",
]

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


def make_staging(out_root: Path) -> Path:
    """A fresh staging folder in ``out_root`` with an owner file naming this process.

    Example:
        >>> make_staging(Path("reports")).name.startswith(STAGING_PREFIX)  # doctest: +SKIP
        True
    """
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
def termination_as_exit() -> Iterator[None]:
    """Inside, SIGTERM and SIGHUP raise ``SystemExit(128 + signal)``, so ``finally`` blocks
    clean up as they do on Ctrl-C; the previous handlers are restored afterwards. Signals
    ignored by the caller (``nohup``) stay ignored; outside the main thread nothing changes.

    Example:
        >>> with termination_as_exit():
        ...     pass
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
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block is done (POSIX main thread only).

    Example:
        >>> with signals_deferred():
        ...     pass
    """
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = mask(signal.SIG_BLOCK, {signal.SIGINT, *_TERMINATION_SIGNALS})
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, old)
