"""Benchmark the whole report, ``chatsim report scenarios/baseline.yaml``, end to end and by stage.

In one run, on the same machine:

1. **End to end**: the command a user types (``python -m chatsim.cli report SCENARIO --out
   TMP --quiet``, a fresh process: imports included), ``--runs`` times; best and median
   wall time.
2. **Stages**: :func:`chatsim.report.build_reports` in this process with ``timings``: the
   simulation, the evaluation (``compare``, once per report), staging the results, the
   bridge and the window rates staged for their pages, each notebook on its kernel, each
   page's HTML (executed notebook written and converted), and the total; each with its
   share of the total. The stages overlap (notebooks run concurrently, pages convert while
   other notebooks run), so the shares add up to more than 100 %.
3. **Baseline**: the same report with ``kernels=0``: one notebook at a time, each on a fresh
   kernel (no warm-up, no concurrency; still one evaluation). The ratio baseline / default
   is what warm, concurrent kernels buy.

The load average (1 min) is printed beside each figure: the machine may be shared, and a
wall time means little without it. Goal (issue: the whole job fast): end to end under
12 s on 2 cores.

Usage:
    .venv/bin/python benchmarks/report.py [--scenario scenarios/baseline.yaml] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chatsim.report import build_reports  # noqa: E402

GOAL_S = 12.0


def load() -> str:
    """The 1-minute load average and the core count, as printed beside every figure."""
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def cpu_children() -> float:
    """CPU seconds (user + system) of this process's finished children and theirs."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def end_to_end(scenario: str, runs: int) -> list[float]:
    """Wall seconds of ``chatsim report`` run as a command, ``runs`` times (and the CPU
    seconds it and its kernels used, which the machine's load changes far less)."""
    times = []
    for i in range(runs):
        with tempfile.TemporaryDirectory() as out:
            cmd = [sys.executable, "-m", "chatsim.cli", "report", scenario, "--out", out]
            t0, c0 = time.perf_counter(), cpu_children()
            subprocess.run([*cmd, "--quiet"], check=True, cwd=ROOT, capture_output=True)
            times.append(time.perf_counter() - t0)
            cpu = cpu_children() - c0
        print(f"  run {i + 1}: {times[-1]:6.2f} s wall, {cpu:5.2f} s CPU  ({load()})", flush=True)
    return times


def stages(scenario: str, kernels: int | None) -> dict[str, float]:
    """Stage seconds of one in-process report (``kernels`` as in ``build_reports``), with
    the CPU seconds of this process and of its kernels."""
    timings: dict[str, float] = {}
    s0, c0 = cpu_self(), cpu_children()
    with tempfile.TemporaryDirectory() as out:
        build_reports(scenario, out_dir=out, progress=False, kernels=kernels, timings=timings)
    timings["CPU, this process"] = cpu_self() - s0
    timings["CPU, kernels"] = cpu_children() - c0
    return timings


def show(timings: dict[str, float]) -> None:
    total = timings["total"]
    for stage, secs in timings.items():
        print(f"  {stage:32s} {secs:6.2f} s  {100 * secs / total:5.1f} % of the total")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)

    print(f"chatsim report {Path(args.scenario).name}, end to end ({load()}):")
    e2e = end_to_end(args.scenario, args.runs)
    best, median = min(e2e), statistics.median(e2e)
    verdict = "meets" if best < GOAL_S else "misses"
    print(f"  best {best:.2f} s, median {median:.2f} s ({verdict} the goal of {GOAL_S:g} s)")

    stages(args.scenario, None)  # warm-up: caches (the vega-embed bundle), imports
    print(f"\nstages, default (warm kernels, one per core; {load()}):")
    default = stages(args.scenario, None)
    show(default)
    print(f"\nbaseline: one notebook at a time, each on a fresh kernel ({load()}):")
    cold = stages(args.scenario, 0)
    show(cold)

    notebooks = sum(s for k, s in default.items() if k.startswith("notebook "))
    print(
        f"\nnotebooks: {notebooks:.2f} s on their kernels, summed, in a report of "
        f"{default['total']:.2f} s"
    )
    print(
        f"baseline / default: {cold['total']:.2f} s / {default['total']:.2f} s = "
        f"{cold['total'] / default['total']:.2f}x  ({load()})"
    )


if __name__ == "__main__":
    main()
