"""Time reading a log and ``chatsim metrics`` end to end against one in-memory ``compare``.

Run from the project root::

    .venv/bin/python benchmarks/reading.py                      # 10 M messages
    .venv/bin/python benchmarks/reading.py --messages 2000000 --runs 3

What it does:

1. writes the benchmark log (:func:`tests.support.synthetic.synthetic_log`, the log of
   ``benchmarks/metrics.py``) as a Parquet log folder into ``--cache`` (default
   ``data/bench-log-<messages>-seed<seed>``, git-ignored, shared with
   ``benchmarks/duckdb_peer.py``), or reuses it when it is there;
2. times, in rounds whose order rotates (best and median of ``--runs`` each, after one
   untimed warm-up of each), all in one run:

   * **Parquet alone**: ``pl.read_parquet`` of the messages (no check), the floor of reading;
   * **read_log**: :func:`chatsim.schema.read_log` of the folder (read and validate: types,
     nulls, enums, duplicate ids, conversations under two shops, side tables);
   * **compare**: ``compare(log, [legacy-24h, new-12h])`` on the log read, in memory, chat
     tables included: the reference the goals are ratios of;
   * **chatsim metrics**: ``chatsim metrics LOG --out shops.parquet`` as a subprocess
     (interpreter start, imports, reading, the engine, writing, exit);

3. prints wall and CPU seconds (CPU: every thread of the process, or of the subprocess) and
   the ratios to ``compare``, both of the best runs and per round (the three jobs of one
   round run within seconds of each other, so under a changing load the median of the
   per-round ratios is the steadier figure). Goals: ``read_log`` at most 0.5x ``compare``,
   ``chatsim metrics`` at most 1.6x.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from chatsim.metrics import compare  # noqa: E402
from chatsim.rules import LEGACY_24H, NEW_12H, Rule  # noqa: E402
from chatsim.schema import ChatLog, read_log, scan_log, write_log  # noqa: E402
from tests.support.synthetic import synthetic_log  # noqa: E402

RULES: list[Rule] = [LEGACY_24H, NEW_12H]
GOAL_READ = 0.5
GOAL_COMMAND = 1.6

#: One timed job's figures: wall and CPU seconds.
Figures = dict[str, float]


def bench_log_folder(n_messages: int, seed: int) -> Path:
    """Where the benchmark log of ``n_messages`` is cached (git-ignored)."""
    return ROOT / "data" / f"bench-log-{n_messages}-seed{seed}"


def write_once(folder: Path, make: Callable[[], ChatLog]) -> bool:
    """Write ``make()`` as a Parquet log folder unless ``folder`` exists; True if written.

    The folder is written under a temporary name and renamed when complete, so an
    interrupted run leaves no half-written cache.
    """
    if folder.is_dir():
        return False
    folder.parent.mkdir(parents=True, exist_ok=True)
    part = folder.with_name(folder.name + ".part")
    write_log(make(), part, "parquet")
    part.rename(folder)
    return True


def chatsim_command() -> list[str]:
    """The installed ``chatsim`` command (or the CLI through this interpreter)."""
    exe = Path(sys.executable).with_name("chatsim")
    if exe.is_file():
        return [str(exe)]
    return [sys.executable, "-c", "from chatsim.cli import main; raise SystemExit(main())"]


def run_command(cmd: list[str]) -> None:
    """Run ``cmd`` from the project root; exit naming it if it fails."""
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def cpu_seconds() -> float:
    """CPU seconds used so far by this process (every thread) and its finished children."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + r.ru_utime + r.ru_stime


def timed(fn: Callable[[], object]) -> tuple[Figures, object]:
    """Wall and CPU seconds of ``fn()`` (CPU of this process and of its children)."""
    gc.collect()
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - t0
    return {"wall": wall, "cpu": cpu_seconds() - cpu0}, result


def jobs(folder: Path, out: Path) -> dict[str, Callable[[], Figures]]:
    """Each timed job: a call returning its figures. ``compare`` runs on the log that the
    last ``read_log`` gave (the warm-up reads it first)."""
    state: dict[str, ChatLog] = {}
    messages = list(scan_log(folder).files)

    def parquet() -> Figures:
        return timed(lambda: pl.read_parquet(messages))[0]

    def read() -> Figures:
        state.pop("log", None)  # the earlier log is freed before this one is read
        figures, state["log"] = timed(lambda: read_log(folder))
        return figures

    def engine() -> Figures:
        return timed(lambda: compare(state["log"], RULES))[0]

    def command() -> Figures:
        cmd = [*chatsim_command(), "metrics", str(folder), "--out", str(out / "shops.parquet")]
        return timed(lambda: run_command(cmd))[0]

    return {
        "Parquet alone": parquet,
        "read_log": read,
        "compare": engine,
        "chatsim metrics": command,
    }


def timed_rounds(todo: dict[str, Callable[[], Figures]], runs: int) -> dict[str, list[Figures]]:
    """One untimed warm-up of each job, then ``runs`` rounds, each starting one job later
    (``read_log`` always before ``compare``, which evaluates what it read)."""
    names = list(todo)
    for name in names:
        todo[name]()
    times: dict[str, list[Figures]] = {name: [] for name in names}
    for r in range(runs):
        order = names[r % len(names) :] + names[: r % len(names)]
        if order.index("compare") < order.index("read_log"):
            order.remove("compare")
            order.insert(order.index("read_log") + 1, "compare")
        for name in order:
            times[name].append(todo[name]())
        print(
            f"  round {r + 1}: "
            + "; ".join(f"{n} {times[n][-1]['wall']:.2f} s" for n in names)
            + f" (load average {os.getloadavg()[0]:.1f})"
        )
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=5, help="timed rounds (best and median kept)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, help="log folder to write or reuse")
    args = ap.parse_args(argv)
    folder = args.cache or bench_log_folder(args.messages, args.seed)

    print(
        f"python {sys.version.split()[0]}, polars {pl.__version__} "
        f"({pl.thread_pool_size()} threads), {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} (timings are wall-clock: other processes on the machine "
        "slow them down)"
    )
    t0 = time.perf_counter()
    built = write_once(folder, lambda: synthetic_log(args.messages, seed=args.seed))
    size = sum(p.stat().st_size for p in folder.rglob("*.parquet"))
    how = f"built and written in {time.perf_counter() - t0:.1f} s" if built else "reused"
    print(f"benchmark log: {folder} ({size / 2**20:,.0f} MiB of Parquet; {how})")

    print(f"\ntiming {args.runs} rounds (one warm-up of each first) ...")
    with tempfile.TemporaryDirectory(prefix="chatsim-reading-") as tmp:
        times = timed_rounds(jobs(folder, Path(tmp)), args.runs)
    n = read_log(folder).n_messages

    print(f"\n{'job':<18} {'wall best':>9} {'median':>8} {'CPU best':>9} {'median':>8}  M msg/s")
    for name, runs in times.items():
        wall = [t["wall"] for t in runs]
        cpu = [t["cpu"] for t in runs]
        print(
            f"{name:<18} {min(wall):8.2f}s {statistics.median(wall):7.2f}s "
            f"{min(cpu):8.2f}s {statistics.median(cpu):7.2f}s  {n / min(wall) / 1e6:6.2f}"
        )

    print(f"\n{'ratio to compare (x)':<34} {'best':>6} {'per round':>10} {'CPU':>6}  goal")
    met = True
    goals = {"Parquet alone": None, "read_log": GOAL_READ, "chatsim metrics": GOAL_COMMAND}
    for name, goal in goals.items():
        best = min(t["wall"] for t in times[name]) / min(t["wall"] for t in times["compare"])
        rounds = statistics.median(
            a["wall"] / b["wall"] for a, b in zip(times[name], times["compare"], strict=True)
        )
        cpu = statistics.median(
            a["cpu"] / b["cpu"] for a, b in zip(times[name], times["compare"], strict=True)
        )
        verdict = ""
        if goal is not None:
            ok = best <= goal and rounds <= goal
            met &= ok
            verdict = f"<= {goal}x: {'met' if ok else 'NOT met'}"
        print(f"{name + ' / compare':<34} {best:5.2f}x {rounds:9.2f}x {cpu:5.2f}x  {verdict}")
    print(
        f"goals {'met' if met else 'NOT met'} (best and per-round median); load average now "
        f"{os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
