"""Benchmark fitting a scenario to a log against one ``compare`` of the same log.

Simulates the baseline scenario scaled to about ``--messages`` messages (in memory, two
workers), then times, on that log, ``compare`` with the built-in rules (the baseline:
one evaluation) and ``chatsim.fit.fit_log`` three ways: segments from the shops table's
``archetype`` column, groups found from behaviour, and per shop. A per-shop YAML holds at
most about 2,500 shops (a scenario file's 4 MiB), so the per-shop fit runs on the log's
first ``PER_SHOP_SHOPS`` shops, beside a ``compare`` of that part. Each is timed
``--repeat`` times (the fastest kept), as wall time and as CPU time (every thread of the
process); the load average is printed beside the figures, as the machine may be shared:
on a busy machine the wall time grows, the CPU time much less.

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

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatsim.errors import ChatsimWarning  # noqa: E402
from chatsim.fit import fit_log  # noqa: E402
from chatsim.metrics import compare  # noqa: E402
from chatsim.scenario import load_scenario  # noqa: E402
from chatsim.schema import ChatLog  # noqa: E402
from chatsim.simulate import shutdown_workers, simulate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: Messages per shop of the baseline scenario (300 shops, 30 days: about 1.06 M messages).
MESSAGES_PER_SHOP = 3535
#: Shops of the per-shop fit: the most whose YAML a scenario file can hold, with room.
PER_SHOP_SHOPS = 2400


def best_of(repeat: int, fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall, CPU) seconds of the fastest of ``repeat`` timed calls of ``fn``."""
    runs = []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - t, time.process_time() - c))
    return min(runs)


def first_shops(log: ChatLog, n: int) -> ChatLog:
    """The part of ``log`` of its first ``n`` shops (by ``shop_id``)."""
    keep = log.shops["shop_id"].sort().head(n).implode()

    def part(df: pl.DataFrame) -> pl.DataFrame:
        return df.filter(pl.col("shop_id").is_in(keep))

    return ChatLog.from_frames(
        messages=part(log.messages),
        shops=part(log.shops),
        holiday_mode=part(log.holiday_mode),
        blocked=part(log.blocked),
        source=f"{log.source} (first {n:,} shops)",
    )


def row(label: str, messages: int, wall: float, cpu: float, base: float) -> str:
    """One line of the table: wall and CPU seconds, M messages/s, x ``compare``'s wall."""
    return f"{label:<48}{wall:>8.2f}{cpu:>8.2f}{messages / wall / 1e6:>9.2f}{wall / base:>11.2f}"


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
    small = first_shops(log, 30)  # compiled kernels loaded before the clock runs
    compare(small)
    fit_log(small, by="archetype")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'run':<48}{'wall s':>8}{'CPU s':>8}{'M msg/s':>9}{'x compare':>11}")
    base, cpu = best_of(args.repeat, lambda: compare(log))
    print(row("compare (legacy-24h, new-12h)", log.n_messages, base, cpu, base))
    for label, kw in (
        ("fit, by='archetype'", {"by": "archetype"}),
        ("fit, groups from behaviour", {}),
    ):
        wall, cpu = best_of(args.repeat, lambda kw=kw: fit_log(log, **kw))
        print(row(label, log.n_messages, wall, cpu, base))
    part = first_shops(log, min(PER_SHOP_SHOPS, shops))
    n = part.shops.height
    part_base, cpu = best_of(args.repeat, lambda: compare(part))
    print(row(f"compare, first {n:,} shops", part.n_messages, part_base, cpu, part_base))
    wall, cpu = best_of(args.repeat, lambda: fit_log(part, by="archetype", per_shop=True))
    print(
        row(
            f"fit per shop, by='archetype', first {n:,} shops",
            part.n_messages,
            wall,
            cpu,
            part_base,
        )
    )
    print(f"  ({part.n_messages:,} messages; x compare of the same shops)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
