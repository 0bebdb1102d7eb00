"""Simulated log folders written whole or not at all: staging, completion marker, check.

``chatsim simulate`` writes into a staging folder next to the target
(``.simulating-<name>-<pid>-<random>``), writes the completion marker :data:`MARKER`
last (a JSON manifest: every file of the log with its size) and only then moves the
folder into place. Replacing a complete folder keeps the old one until the new one is
complete. An interrupted run leaves at most its staging folder (removed on Ctrl-C or
SIGTERM; after SIGKILL, by the next run into the same folder).

:func:`check_complete` (called by :func:`chatsim.schema.read_log`) refuses a folder
written by the simulator (it holds the marker or the resolved ``scenario.yaml``, or is a
staging folder) without a matching marker: the output of a run that was stopped (or of
an older version stopped while overwriting), or a folder changed after the run.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> with staged_folder(root / "log") as tmp:
    ...     _ = (tmp / "scenario.yaml").write_text("name: demo\\n")
    ...     _ = write_marker(tmp)
    >>> check_complete(root / "log")
    >>> (root / "log" / MARKER).unlink()
    >>> check_complete(root / "log")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    chatsim.errors.SchemaError: .../log: incomplete simulator output (no _SUCCESS marker)...
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from chatsim.errors import OutputError, SchemaError

__all__ = [
    "MARKER",
    "STAGING_PREFIX",
    "check_complete",
    "is_simulator_output",
    "staged_folder",
    "sweep_stale_staging",
    "write_marker",
]

#: The completion marker, written last into a finished simulated log folder.
MARKER = "_SUCCESS"
#: Name prefix of the staging folders a simulation writes into.
STAGING_PREFIX = ".simulating-"
_RERUN = "Simulate it again: chatsim simulate SCENARIO --out {folder}"


def is_simulator_output(folder: str | Path) -> bool:
    """True if ``folder`` was written by ``chatsim simulate``.

    That is: it holds the completion marker or the resolved ``scenario.yaml`` (which older
    versions wrote last), or it is a staging folder. Message shards alone do not tell: a
    real log may be cut into ``shard=*`` files too.
    """
    f = Path(folder)
    if not f.is_dir():
        return False
    return (
        (f / MARKER).exists()
        or (f / "scenario.yaml").is_file()
        or f.name.startswith(STAGING_PREFIX)
    )


def _manifest(folder: Path) -> dict[str, int]:
    """Every file of the log (path relative to ``folder``) with its size in bytes."""
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MARKER
    }


def write_marker(folder: str | Path, **info: object) -> Path:
    """Write the completion marker (with the manifest and ``info``) into a finished folder."""
    f = Path(folder)
    marker = f / MARKER
    tmp = f / f".{MARKER}.tmp"
    tmp.write_text(json.dumps({**info, "files": _manifest(f)}, indent=1), encoding="utf-8")
    tmp.replace(marker)
    return marker


def check_complete(folder: str | Path) -> None:
    """Refuse simulator output without its completion marker, or missing files it lists.

    A folder that is not simulator output (a real chat log) passes unchecked; the
    ``messages`` folder of simulator output is checked as the whole log. A log written
    before the marker existed passes if it is whole (every table, ``scenario.yaml`` written
    after every data file); files changed or added after the simulation are the user's.
    """
    f = Path(folder)
    if f.name == "messages" and is_simulator_output(f.parent):  # the shards on their own
        f = f.parent
    if not is_simulator_output(f):
        return
    rerun = _RERUN.format(folder=f)
    marker = f / MARKER
    if not marker.is_file():
        if _legacy_complete(f):
            return
        raise SchemaError(
            f"{f}: incomplete simulator output (no {MARKER} marker): the simulation that "
            f"wrote it was stopped before it finished. {rerun}."
        )
    try:
        expected = json.loads(marker.read_text(encoding="utf-8"))["files"]
        if not isinstance(expected, dict):
            raise ValueError
    except (OSError, ValueError, KeyError, TypeError):
        raise SchemaError(f"{f}: the {MARKER} marker is unreadable. {rerun}.") from None
    missing = sorted(k for k in expected if not (f / k).is_file())
    if missing:
        raise SchemaError(
            f"{f}: not the complete simulator output: {len(missing)} file(s) missing "
            f"(e.g. {missing[:3]}). {rerun}."
        )


def _legacy_complete(f: Path) -> bool:
    """A log written before the marker existed: complete if ``scenario.yaml`` (which those
    versions wrote last) is there with every table and no data file is newer than it."""
    scenario = f / "scenario.yaml"
    if f.name.startswith(STAGING_PREFIX) or not scenario.is_file():
        return False
    tables = [f / f"{name}.parquet" for name in ("shops", "holiday_mode", "blocked")]
    shards = list((f / "messages").glob("shard=*.parquet"))
    if not shards or not all(t.is_file() for t in tables):
        return False
    written = scenario.stat().st_mtime
    return all(p.stat().st_mtime <= written for p in [*tables, *shards])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_staging(target: str | Path) -> list[Path]:
    """Remove staging folders of earlier runs into ``target`` whose process is gone."""
    t = Path(target)
    removed = []
    if not t.parent.is_dir():
        return removed
    for p in sorted(t.parent.glob(f"{STAGING_PREFIX}{t.name}-*")):
        pid = p.name[len(STAGING_PREFIX) + len(t.name) + 1 :].split("-", 1)[0]
        if not pid.isdigit() or _pid_alive(int(pid)) or not p.is_dir():
            continue
        if "-old-" in p.name and not t.exists():  # stopped while swapping: restore the old log
            with suppress(OSError):
                p.rename(t)
                continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def _replaceable(t: Path) -> None:
    if t.is_symlink() or (t.exists() and not t.is_dir()):
        raise OutputError(f"{t}: exists and is not a folder; choose another --out.")
    if t.is_dir() and any(t.iterdir()) and not is_simulator_output(t):
        raise OutputError(
            f"{t}: the folder exists and is not a simulated log; choose another --out or "
            "empty it (nothing was written)."
        )


@contextmanager
def staged_folder(target: str | Path) -> Iterator[Path]:
    """A fresh staging folder next to ``target``, moved into place when the block ends.

    If the block raises (or is interrupted), the staging folder is removed and ``target``
    is left as it was. An existing ``target`` must be a simulated log or empty; it is kept
    until the new folder is complete, then replaced.
    """
    t = Path(target)
    _replaceable(t)
    try:
        t.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale_staging(t)
        staging = t.parent / f"{STAGING_PREFIX}{t.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
    except OSError as exc:
        raise OutputError(
            f"{t}: cannot create the output folder ({exc.strerror or exc}); check the path "
            "and its permissions."
        ) from None
    try:
        yield staging
        _swap_in(staging, t)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_in(staging: Path, t: Path) -> None:
    """Move the finished ``staging`` folder to ``t`` (an old ``t`` is removed only after)."""
    old = None
    try:
        if t.exists():
            old = t.parent / f"{STAGING_PREFIX}{t.name}-{os.getpid()}-old-{uuid.uuid4().hex[:8]}"
            t.rename(old)
        staging.rename(t)
    except BaseException as exc:
        # a failed rename, or a signal between the two renames: the old log goes back
        if old is not None and not t.exists():
            with suppress(OSError):
                old.rename(t)
        if not isinstance(exc, OSError):
            raise
        raise OutputError(
            f"{t}: cannot move the finished log into place ({exc.strerror or exc}); check "
            "the folder's permissions."
        ) from None
    if old is not None:
        try:
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:  # a signal mid-removal: finish removing, then stop
            shutil.rmtree(old, ignore_errors=True)
            raise
