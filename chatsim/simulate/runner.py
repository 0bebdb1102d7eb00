"""Running the shards: in this process or a pool of workers, into memory or a log folder.

The result never depends on the number of workers: shards are fixed blocks of shops
with their own random streams (:mod:`chatsim.simulate.shard`), gathered in shard order.

Example:
    >>> from chatsim.scenario import Scenario
    >>> sc = Scenario.from_dict({"name": "d", "seed": 1, "shops": 2,
    ...     "period": {"start": "2025-08-15", "days": 1},
    ...     "archetypes": {"agency_247": {"share": 1.0}}})
    >>> log_hash(simulate(sc)) == log_hash(simulate(sc))
    True
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, InvalidStateError, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatsim.errors import OutputError
from chatsim.logfolder import staged_folder, write_marker
from chatsim.scenario import Scenario
from chatsim.schema import ChatLog
from chatsim.simulate.shard import (
    messages_frame,
    shard_arrays,
    shard_count,
    shops_table,
    simulate_shard,
)

__all__ = ["log_hash", "shutdown_workers", "simulate", "simulate_to_dir"]


def simulate(scenario: Scenario, *, workers: int = 1, progress: bool = False) -> ChatLog:
    """Simulate a scenario in memory; messages sorted by ``message_id``.

    The result is identical for any ``workers``.

    Example:
        >>> from chatsim.scenario import load_scenario
        >>> log = simulate(load_scenario("scenarios/baseline.yaml").scaled(shops=10, days=3))  # doctest: +SKIP
    """
    fn = _in_memory if workers > 1 else _direct
    got: dict[int, tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]] = {}
    for shard, msgs, hol, blk in _results(scenario, fn, (), workers, progress, "simulating"):
        if not isinstance(msgs, pl.DataFrame):  # built while the workers go on
            msgs = messages_frame(scenario, shard, msgs)
        got[shard] = (msgs, hol, blk)
    parts = [got[k] for k in sorted(got)]
    msgs = pl.concat([p[0] for p in parts], rechunk=False)
    hol = pl.concat([p[1] for p in parts])
    blk = pl.concat([p[2] for p in parts])
    return ChatLog(msgs, shops_table(scenario), hol, blk, source=f"<simulated {scenario.name}>")


def simulate_to_dir(
    scenario: Scenario,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Simulate a scenario into a log folder readable by :func:`chatsim.schema.read_log`.

    Writes ``messages/shard=00000.parquet`` (one file per shard of
    :data:`~chatsim.simulate.SHARD_SIZE` shops), ``shops.parquet``, ``holiday_mode.parquet``,
    ``blocked.parquet``, ``scenario.yaml`` (the resolved scenario) and, last, the completion
    marker ``_SUCCESS`` (:mod:`chatsim.logfolder`). ``workers=None`` uses every core.

    All or nothing: the log is written into a staging folder next to ``out_dir`` and moved
    into place when complete; an existing log in ``out_dir`` is kept until then. Stopped
    by Ctrl-C or SIGTERM, the run removes its staging folder and its worker processes (which
    also exit by themselves if this process is killed).

    Example:
        >>> from chatsim.scenario import load_scenario
        >>> simulate_to_dir(load_scenario("scenarios/baseline.yaml"), "out/baseline")  # doctest: +SKIP
        PosixPath('out/baseline')
    """
    target = Path(out_dir)
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    with _stop_on_sigterm(), staged_folder(target) as out:
        try:
            (out / "messages").mkdir()
            got = sorted(
                _results(scenario, _write_shard, (str(out),), n_workers, progress, "simulating"),
                key=lambda r: r[0],
            )
            pl.concat([r[2] for r in got]).write_parquet(out / "holiday_mode.parquet")
            pl.concat([r[3] for r in got]).write_parquet(out / "blocked.parquet")
            shops_table(scenario).write_parquet(out / "shops.parquet")
            (out / "scenario.yaml").write_text(scenario.to_yaml(), encoding="utf-8")
            write_marker(
                out,
                scenario=scenario.name,
                shops=scenario.shops,
                days=scenario.period.days,
                seed=scenario.seed,
                shards=len(got),
            )
        except OSError as exc:
            raise OutputError(
                f"{target}: cannot write the simulated log ({exc.strerror or exc}); check the "
                "free space and permissions of its folder."
            ) from None
        except BaseException:
            _stop_workers()  # interrupted or failed: no worker goes on writing
            raise
    return target


def log_hash(log: ChatLog) -> str:
    """SHA-256 over the four tables, each sorted, column by column (for reproducibility checks).

    Example:
        >>> log_hash(simulate(sc)) == log_hash(simulate(sc, workers=2))  # doctest: +SKIP
        True
    """
    h = hashlib.sha256()
    sort_keys = {
        "messages": ["message_id"],
        "shops": ["shop_id"],
        "holiday_mode": ["shop_id", "start", "end"],
        "blocked": ["shop_id", "buyer_id", "blocked_at"],
    }
    for name, keys in sort_keys.items():
        df: pl.DataFrame = getattr(log, name)
        df = df.sort(keys, maintain_order=True)
        h.update(f"{name}:{df.height}:".encode())
        for col in sorted(df.columns):
            s = df[col]
            h.update(f"{col}:{s.dtype}:".encode())
            if s.dtype == pl.String:
                s = pl.concat([s.hash(seed=0), s.hash(seed=1)])  # 128 bits per value
            s = s.to_physical()
            h.update(s.is_null().to_numpy().tobytes())
            h.update(s.fill_null(0).to_numpy().tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------------------
# the worker processes
# --------------------------------------------------------------------------------------


def _write_shard(
    sc: Scenario, shard: int, out_dir: str
) -> tuple[int, int, pl.DataFrame, pl.DataFrame]:
    msgs, hol, blk = simulate_shard(sc, shard)
    msgs.write_parquet(Path(out_dir) / "messages" / f"shard={shard:05d}.parquet")
    return shard, msgs.height, hol, blk


def _in_memory(
    sc: Scenario, shard: int
) -> tuple[int, dict[str, np.ndarray], pl.DataFrame, pl.DataFrame]:
    # compact numpy columns travel between processes far cheaper than the finished table
    return (shard, *shard_arrays(sc, shard))


def _direct(sc: Scenario, shard: int) -> tuple[int, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return (shard, *simulate_shard(sc, shard))


_POOLS: dict[int, ProcessPoolExecutor] = {}


#: How often a worker checks that the process that started it is still alive (seconds).
WATCHDOG_SECONDS = 0.2


def _worker_start(parent: int) -> None:
    """Run in each worker as it starts: exit as soon as ``parent`` is gone.

    Ctrl-C is left to the parent (which stops the workers); a parent killed outright
    (SIGKILL) cannot, so each worker watches for it and exits on its own.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCHDOG_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="chatsim-parent-watchdog", daemon=True).start()


def _executor(workers: int) -> ProcessPoolExecutor:
    """A process pool of ``workers`` processes, started on first use and then reused.

    Processes are spawned (not forked): polars' thread pool does not survive fork().
    Each exits by itself if this process dies (:func:`_worker_start`).
    """
    pool = _POOLS.get(workers)
    if pool is None or getattr(pool, "_broken", False):
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
            initargs=(os.getpid(),),
        )
        _POOLS[workers] = pool
    return pool


def shutdown_workers() -> None:
    """Stop the worker processes kept for reuse by :func:`simulate` (they also stop at exit)."""
    while _POOLS:
        _POOLS.popitem()[1].shutdown()


def _stop_workers() -> None:
    """Stop every worker now, mid-shard (after an interruption or a failure)."""
    if _POOLS and threading.excepthook is not _quiet_stopped_pool:
        global _previous_excepthook
        _previous_excepthook = threading.excepthook
        threading.excepthook = _quiet_stopped_pool
    while _POOLS:
        pool = _POOLS.popitem()[1]
        procs = getattr(pool, "_processes", None) or {}
        for proc in list(procs.values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)


_previous_excepthook = threading.excepthook


def _quiet_stopped_pool(args: threading.ExceptHookArgs) -> None:
    """Once the run stops its workers, the pool's manager thread may try to fail a future
    that was already cancelled (``InvalidStateError``, a race in the standard library of
    Python 3.11); the run is already ending cleanly, so that thread's traceback is not
    printed. Every other thread exception goes to the previous hook."""
    if args.exc_type is not None and issubclass(args.exc_type, InvalidStateError):
        return
    _previous_excepthook(args)


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM stops the run as Ctrl-C does (cleanup runs, exit status 143).

    Only in the main thread (where Python runs signal handlers); elsewhere a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _results(
    sc: Scenario,
    fn: Callable[..., Any],
    extra: tuple[Any, ...],
    workers: int,
    progress: bool,
    desc: str,
) -> Iterator[Any]:
    """``fn(sc, shard, *extra)`` for every shard, in completion order."""
    n = shard_count(sc)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc=desc, unit="shard")
    try:
        if workers <= 1 or n == 1:
            for k in range(n):
                yield fn(sc, k, *extra)
                if bar is not None:
                    bar.update(1)
        else:
            ex = _executor(min(workers, n))
            futs: list[Future] = [ex.submit(fn, sc, k, *extra) for k in range(n)]
            try:
                for f in as_completed(futs):
                    yield f.result()
                    if bar is not None:
                        bar.update(1)
            finally:
                for f in futs:
                    f.cancel()
    finally:
        if bar is not None:
            bar.close()
