"""Benchmark replications: N runs of a scenario, every headline figure with its interval.

Times one replication of the scenario (simulation, the shop-tables-only evaluation of the
rules, the bridge's rules and the sensitivity windows, the what-if variants) in this
process, then ``--replications`` of them on ``--workers`` processes (the goal: 20
replications of ``scenarios/baseline.yaml``, 300 shops x 30 days, in under 60 s on 2
cores), and prints the wall times, the ratio of the run to one replication, the parallel
efficiency and the load average (the machine may be shared: compare ratios, not seconds).
``--no-what-if`` leaves the what-if variants out (each is one more simulation per
replication).

Usage:
    .venv/bin/python benchmarks/replications.py [--scenario scenarios/baseline.yaml]
        [--replications 20] [--workers 2] [--no-what-if]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatsim.replications import run_replications  # noqa: E402
from chatsim.scenario import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: Wall-time goal of 20 replications of the baseline scenario on 2 cores, in seconds.
GOAL_SECONDS = 60.0


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min: {five:.1f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    ap.add_argument("--replications", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-what-if", action="store_true", help="leave the what-if variants out")
    args = ap.parse_args(argv)
    sc = load_scenario(args.scenario)
    what_if = not args.no_what_if
    print(
        f"{sc.name}: {sc.shops} shops x {sc.period.days} days, {len(sc.analysis.what_if)} "
        f"what-if variants {'on' if what_if else 'off'}; {os.cpu_count()} CPUs, {_load()}"
    )
    run_replications(sc, 1, what_if=what_if)  # warm-up: compiled kernels, caches
    t, c = time.perf_counter(), _cpu()
    run_replications(sc, 1, what_if=what_if)
    one, one_cpu = time.perf_counter() - t, _cpu() - c
    print(f"one replication, in this process: {one:.1f} s ({one_cpu:.1f} s of CPU; {_load()})")
    t, c = time.perf_counter(), _cpu()
    rep = run_replications(sc, args.replications, workers=args.workers, what_if=what_if)
    many, many_cpu = time.perf_counter() - t, _cpu() - c
    n = rep.n
    print(
        f"{n} replications on {args.workers} worker processes: {many:.1f} s "
        f"= {many / one:.1f}x one replication ({many / n:.2f} s each; parallel efficiency "
        f"{n * one / many / args.workers:.0%}); {many_cpu:.1f} s of CPU in all "
        f"= {many_cpu / one_cpu:.1f}x one replication's, i.e. {many_cpu / args.workers:.1f} s "
        f"on {args.workers} idle cores ({_load()})"
    )
    share = rep.interval("rules", "share_passing", rule=rep.new)
    print(
        f"share meeting {rep.new}: mean {share.mean:.1%}, 95 % interval "
        f"{share.low:.1%}-{share.high:.1%} over {n} replications"
    )
    if n == 20 and args.workers == 2 and sc.shops == 300 and sc.period.days == 30:
        verdict = "within" if many < GOAL_SECONDS else "over"
        print(f"goal: 20 replications of the baseline in under {GOAL_SECONDS:.0f} s: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
