"""Benchmark ``chatsim.daily.compare_daily`` against one ``compare`` on the same log.

Run from the project root::

    .venv/bin/python benchmarks/daily.py                       # 10 M messages, 60 days
    .venv/bin/python benchmarks/daily.py --messages 1000000 --days 10

It builds the benchmark log of ``benchmarks/metrics.py``
(:func:`tests.support.synthetic.synthetic_log`), times one ``compare(log, [LEGACY_24H,
NEW_12H])`` (the baseline) and ``compare_daily`` over the last ``--days`` days of the
log (day ends in each shop's zone, and with ``--zone`` in one stated zone), interleaved,
the best of ``--runs`` each, and reports the ratio of the times and the peak resident
memory of the daily runs (a 5 ms psutil sampler, minus the RSS before it) against the
log's in-memory size, with the machine's load average.

Goals reported against (issue 17): at most 3x the time of one ``compare``, peak memory
under 3x the log.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from chatsim.daily import compare_daily  # noqa: E402
from chatsim.metrics import compare  # noqa: E402
from chatsim.rules import LEGACY_24H, NEW_12H  # noqa: E402
from chatsim.schema import ChatLog  # noqa: E402
from tests.support.synthetic import synthetic_log  # noqa: E402

RULES = [LEGACY_24H, NEW_12H]


def log_size(log: ChatLog) -> int:
    """In-memory size of the four tables, in bytes."""
    return sum(t.estimated_size() for t in (log.messages, log.shops, log.holiday_mode, log.blocked))


class PeakRss(threading.Thread):
    """The highest resident set size seen every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.proc, self.interval, self.done = psutil.Process(), interval, threading.Event()
        self.peak = self.proc.memory_info().rss

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def stop(self) -> int:
        self.done.set()
        self.join()
        return max(self.peak, self.proc.memory_info().rss)


def timed(fn, runs: int = 1) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=10_000_000)
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", type=int, default=3, help="interleaved runs; the best of each counts")
    p.add_argument("--zone", default="UTC", help="also run with day ends in this zone ('' for no)")
    args = p.parse_args(argv)

    print(f"{os.cpu_count()} CPUs, {load()}")
    log = synthetic_log(args.messages, seed=args.seed)
    size = log_size(log)
    last = log.messages["sent_at"].max().date()  # type: ignore[union-attr]
    start = last - dt.timedelta(days=args.days - 1)
    print(
        f"log: {log.n_messages:,} messages, {log.shops.height:,} shops, "
        f"{log.shops['timezone'].n_unique()} time zones, {size / 2**30:.2f} GiB in memory; "
        f"days {start} to {last}"
    )
    # interleaved, best of --runs each: on a machine shared with other jobs the load moves
    # between runs, and each ratio compares runs taken side by side
    zones = [None, *([args.zone] if args.zone else [])]
    one = shops_only = float("inf")
    took = {z: float("inf") for z in zones}
    peak: dict[str | None, int] = {}
    rows = 0
    for run in range(args.runs):
        one = min(one, timed(lambda: compare(log, RULES))[0])
        shops_only = min(shops_only, timed(lambda: compare(log, RULES, chats=False))[0])
        for zone in zones:
            gc.collect()
            before = psutil.Process().memory_info().rss
            sampler = PeakRss()
            sampler.start()
            t, daily = timed(
                lambda zone=zone: compare_daily(log, RULES, start=start, end=last, zone=zone)
            )
            peak[zone] = max(peak.get(zone, 0), sampler.stop() - before)
            took[zone] = min(took[zone], t)
            rows = daily.height  # type: ignore[union-attr]
            del daily
        print(f"run {run + 1} of {args.runs} done  [{load()}]")
    print(f"one compare (both rules, chat table too): {one:.2f} s  [{load()}]")
    print(f"one compare, shop table only (chats=False): {shops_only:.2f} s")
    for zone in zones:
        where = zone or "each shop's zone"
        print(
            f"compare_daily, {args.days} days, day ends in {where}: {took[zone]:.1f} s "
            f"({took[zone] / args.days:.2f} s a day), {rows:,} rows; "
            f"{took[zone] / one:.1f}x one compare (goal <= 3x), "
            f"{took[zone] / shops_only:.1f}x the shop-only compare; peak memory "
            f"{peak[zone] / 2**30:.2f} GiB = {peak[zone] / size:.2f}x the log (goal < 3x)"
        )
    print(f"[{load()}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
