"""Benchmark fitting a scenario to a log against one ``compare`` of the same log.

Simulates the baseline scenario scaled to about ``--messages`` messages (in memory, two
workers), then times, on that log, ``compare`` with the built-in rules (the baseline:
one evaluation) and ``chatsim.fit.fit_log`` three ways: segments from the shops table's
``archetype`` column, groups found from behaviour, and per shop. Each is timed
``--repeat`` times (best kept); the load average is printed beside the figures, as the
machine may be shared.

Usage:
    .venv/bin/python benchmarks/fit.py [--messages 10000000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatsim.errors import ChatsimWarning  # noqa: E402
from chatsim.fit import fit_log  # noqa: E402
from chatsim.metrics import compare  # noqa: E402
from chatsim.scenario import load_scenario  # noqa: E402
from chatsim.simulate import shutdown_workers, simulate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: Messages per shop of the baseline scenario (300 shops, 30 days: about 1.06 M messages).
MESSAGES_PER_SHOP = 3535


def best_of(repeat: int, fn) -> float:  # type: ignore[no-untyped-def]
    """The fastest of ``repeat`` timed calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    shops = max(1, round(args.messages / MESSAGES_PER_SHOP))
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml").scaled(shops=shops)
    t = time.perf_counter()
    log = simulate(sc, workers=2)
    shutdown_workers()
    print(f"log: {log.n_messages:,} messages, {shops:,} shops, 30 days "
          f"(simulated in {time.perf_counter() - t:.1f} s)")  # fmt: skip
    warnings.simplefilter("ignore", ChatsimWarning)
    base = best_of(args.repeat, lambda: compare(log))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'run':<44}{'seconds':>9}{'M msg/s':>9}{'x compare':>11}")
    print(
        f"{'compare (legacy-24h, new-12h)':<44}{base:>9.2f}{log.n_messages / base / 1e6:>9.2f}{1.0:>11.2f}"
    )
    for label, kw in (
        ("fit, by='archetype'", {"by": "archetype"}),
        ("fit, groups from behaviour", {}),
        ("fit, by='archetype', per_shop=True", {"by": "archetype", "per_shop": True}),
    ):
        s = best_of(args.repeat, lambda kw=kw: fit_log(log, **kw))
        print(f"{label:<44}{s:>9.2f}{log.n_messages / s / 1e6:>9.2f}{s / base:>11.2f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
