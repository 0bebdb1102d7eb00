"""Simulated log folders are all or nothing, and a stopped simulation leaves no process behind.

* in process: an interrupted or failing run leaves the target as it was (absent, or the
  old complete log) and no staging folder; a partial folder is refused by name;
* out of process: ``chatsim simulate`` killed (SIGKILL, SIGTERM, at a random moment) leaves
  no worker process or resource tracker, and never a folder that reads as a complete log.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from chatsim.errors import OutputError, SchemaError
from chatsim.logfolder import MARKER, STAGING_PREFIX, check_complete, sweep_stale_staging
from chatsim.scenario import Scenario
from chatsim.schema import read_log
from chatsim.simulate import log_hash, runner, simulate_to_dir

ROOT = Path(__file__).resolve().parents[1]


def small(shops: int = 70, days: int = 2) -> Scenario:
    return Scenario.from_dict(
        {
            "name": "tiny",
            "seed": 3,
            "shops": shops,
            "period": {"start": "2025-08-15", "days": days},
            "archetypes": {"small_team": {"share": 1.0}},
        }
    )


def staging_left(parent: Path) -> list[Path]:
    return sorted(parent.glob(f"{STAGING_PREFIX}*"))


# --------------------------------------------------------------------------------------
# in process
# --------------------------------------------------------------------------------------


def test_complete_folder_has_marker_and_passes(tmp_path: Path) -> None:
    out = simulate_to_dir(small(), tmp_path / "log", workers=1, progress=False)
    assert (out / MARKER).is_file()
    check_complete(out)
    assert read_log(out).shops.height == 70
    assert staging_left(tmp_path) == []


@pytest.mark.parametrize("damage", ["marker", "shard", "side", "staging"])
def test_partial_folder_is_refused(tmp_path: Path, damage: str) -> None:
    out = simulate_to_dir(small(), tmp_path / "log", workers=1, progress=False)
    if damage == "marker":  # as an older version left a folder it was stopped overwriting
        (out / MARKER).unlink()
        later = (out / "scenario.yaml").stat().st_mtime + 10
        os.utime(out / "messages" / "shard=00001.parquet", (later, later))
    elif damage == "shard":
        (out / "messages" / "shard=00001.parquet").unlink()
    elif damage == "side":
        (out / "shops.parquet").unlink()
    else:  # a staging folder is never a log, even with its marker
        out = out.rename(tmp_path / f"{STAGING_PREFIX}log-1-x")
        (out / MARKER).unlink()
    with pytest.raises(SchemaError) as err:
        check_complete(out)
    msg = str(err.value)
    assert msg.startswith(f"{out}: ") and "\n" not in msg
    assert "chatsim simulate SCENARIO --out" in msg
    with pytest.raises(SchemaError):
        read_log(out)  # chatsim metrics, report --log and the notebooks read through it
    if damage == "marker":  # the messages folder on its own is refused too
        with pytest.raises(SchemaError, match="incomplete simulator output"):
            check_complete(out / "messages")


def test_whole_log_of_an_older_version_and_edited_logs_are_read(tmp_path: Path) -> None:
    out = simulate_to_dir(small(), tmp_path / "log", workers=1, progress=False)
    (out / MARKER).unlink()  # written before the marker existed: scenario.yaml written last
    check_complete(out)
    again = simulate_to_dir(small(), tmp_path / "log2", workers=1, progress=False)
    read_log(again).shops.head(50).write_parquet(again / "shops.parquet")  # the user's edit
    check_complete(again)


def test_real_log_folder_is_not_checked(tmp_path: Path) -> None:
    check_complete(ROOT / "chatsim" / "data" / "sample_log")
    shards = tmp_path / "messages"  # a real log cut into shard files is no simulator output
    shards.mkdir()
    read_log(ROOT / "chatsim" / "data" / "sample_log").messages.write_parquet(
        shards / "shard=00000.parquet"
    )
    check_complete(tmp_path)
    assert read_log(tmp_path).n_messages > 0


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit, RuntimeError])
def test_interrupted_overwrite_keeps_the_old_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: type[BaseException]
) -> None:
    target = tmp_path / "log"
    simulate_to_dir(small(), target, workers=1, progress=False)
    before = log_hash(read_log(target))
    real = runner._write_shard

    def failing(sc: Scenario, shard: int, out_dir: str):  # type: ignore[no-untyped-def]
        if shard == 1:
            raise stop()
        return real(sc, shard, out_dir)

    monkeypatch.setattr(runner, "_write_shard", failing)
    with pytest.raises(stop):
        simulate_to_dir(small(shops=130), target, workers=1, progress=False)
    assert log_hash(read_log(target)) == before  # the old, complete log, untouched
    assert staging_left(tmp_path) == []


@pytest.mark.parametrize("moment", ["between the renames", "removing the old log"])
def test_a_signal_while_swapping_leaves_one_whole_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    """Stopped between moving the old log aside and the new one in: the old log is back.
    Stopped while the old log is being removed: the new log is in place, no staging left."""
    import shutil

    target = tmp_path / "log"
    simulate_to_dir(small(), target, workers=1, progress=False)
    before = log_hash(read_log(target))
    rename, rmtree = Path.rename, shutil.rmtree
    fired = []

    def rename_once(self: Path, to):  # type: ignore[no-untyped-def]
        if moment == "between the renames" and Path(to) == target and not fired:
            fired.append(self)
            raise KeyboardInterrupt  # as the SIGINT handler would
        return rename(self, to)

    def rmtree_once(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if moment == "removing the old log" and "-old-" in str(path) and not fired:
            fired.append(path)
            raise KeyboardInterrupt
        return rmtree(path, *args, **kwargs)

    monkeypatch.setattr(Path, "rename", rename_once)
    monkeypatch.setattr(shutil, "rmtree", rmtree_once)
    with pytest.raises(KeyboardInterrupt):
        simulate_to_dir(small(shops=130), target, workers=1, progress=False)
    monkeypatch.undo()
    assert fired
    check_complete(target)
    log = read_log(target)
    if moment == "between the renames":
        assert log_hash(log) == before
    else:
        assert log.shops.height == 130
    assert staging_left(tmp_path) == []


def test_interrupted_first_run_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(sc: Scenario, shard: int, out_dir: str):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_write_shard", failing)
    with pytest.raises(KeyboardInterrupt):
        simulate_to_dir(small(), tmp_path / "log", workers=1, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_folder_that_is_not_a_log_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not a simulated log"):
        simulate_to_dir(small(), target, workers=1, progress=False)
    assert (target / "notes.txt").read_text() == "keep me"
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        simulate_to_dir(small(), afile, workers=1, progress=False)
    with pytest.raises(OutputError, match="cannot create the output folder"):
        simulate_to_dir(small(), afile / "log", workers=1, progress=False)


def test_stale_staging_of_a_dead_run_is_swept(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **_TEXT)
    pid = int(dead.stdout)
    stale = tmp_path / f"{STAGING_PREFIX}log-{pid}-abcd1234"
    (stale / "messages").mkdir(parents=True)
    mine = tmp_path / f"{STAGING_PREFIX}log-{os.getpid()}-abcd1234"
    mine.mkdir()
    assert sweep_stale_staging(tmp_path / "log") == [stale]
    assert not stale.exists() and mine.exists()


# --------------------------------------------------------------------------------------
# out of process: kill the command
# --------------------------------------------------------------------------------------

_TEXT = {"capture_output": True, "text": True, "check": True}


def _start(out: Path, shops: int = 1000) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "chatsim.cli", "simulate", str(ROOT / "scenarios" / "baseline.yaml")]
        + ["--out", str(out), "--shops", str(shops), "--days", "30", "--workers", "2", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_workers(proc: subprocess.Popen[bytes], n: int = 2, timeout: float = 60) -> list[int]:
    """The pids of the command's children once ``n`` workers run (resource tracker included)."""
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        kids = parent.children(recursive=True)
        workers = [k for k in kids if "spawn_main" in " ".join(_cmdline(k))]
        if len(workers) >= n:
            return [k.pid for k in kids]
        time.sleep(0.1)
    raise AssertionError("the workers did not start")


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


def _assert_gone(pids: list[int], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    alive = pids
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and _running(p)]
        if not alive:
            return
        time.sleep(0.1)
    raise AssertionError(f"processes still alive after {timeout} s: {alive}")


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _old_log_or_nothing(target: Path, before: str | None, shops: int | None = None) -> None:
    """After an interrupted run: the old log as it was (or no log if there was none), or,
    when the signal came after the new log was moved into place, the new log, complete."""
    if before is None:
        assert not target.exists() or check_complete(target) is None
        return
    check_complete(target)
    log = read_log(target)
    if log_hash(log) != before:  # the swap had finished: the whole new log, not a mix
        assert shops is not None and log.shops.height == shops


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_simulate_leaves_no_process(tmp_path: Path, sig: signal.Signals) -> None:
    target = tmp_path / "log"
    proc = _start(target)
    pids = _wait_for_workers(proc)
    time.sleep(0.5)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    _assert_gone(pids)
    assert not target.exists()  # never a folder that reads as a log
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM
        assert "Traceback" not in proc.stderr.read().decode()  # type: ignore[union-attr]
        assert staging_left(tmp_path) == []


def _kill_at_random(tmp_path: Path, rng: random.Random, before: str | None) -> None:
    target = tmp_path / "log"
    shops = rng.choice([200, 600, 1000])
    proc = _start(target, shops=shops)
    pids = [proc.pid]
    try:
        pids = _wait_for_workers(proc, n=1)
    except AssertionError:
        if proc.poll() is None:
            raise
    time.sleep(rng.uniform(0.0, 4.0))
    sig = rng.choice([signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
    if proc.poll() is None:
        proc.send_signal(sig)
    proc.wait(timeout=60)
    _assert_gone(pids)
    if proc.returncode == 0:  # finished before the signal: a complete log
        check_complete(target)
        read_log(target)
        return
    _old_log_or_nothing(target, before, shops)
    if sig != signal.SIGKILL:
        assert staging_left(tmp_path) == []


def test_kill_at_a_random_moment_over_an_old_log(tmp_path: Path) -> None:
    target = tmp_path / "log"
    simulate_to_dir(small(), target, workers=1, progress=False)
    before = log_hash(read_log(target))
    _kill_at_random(tmp_path, random.Random(14), before)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_kill_at_random_moments(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    before = None
    if rng.random() < 0.5:
        simulate_to_dir(small(), tmp_path / "log", workers=1, progress=False)
        before = log_hash(read_log(tmp_path / "log"))
    _kill_at_random(tmp_path, rng, before)
    # the next run sweeps what a killed run left and writes a complete log
    simulate_to_dir(small(), tmp_path / "log", workers=1, progress=False)
    check_complete(tmp_path / "log")
    assert staging_left(tmp_path) == []
