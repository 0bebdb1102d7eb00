"""Benchmark what explaining the rule change adds to the baseline report's evaluation.

Simulates ``scenarios/baseline.yaml`` as the report does (300 shops, 30 days, about 1.1 M
messages), then times, best of ``--runs`` each:

1. ``compare(log, [LEGACY_24H, NEW_12H])``: the report's evaluation (chat tables kept);
2. the explanation on top of it: the bridge (:func:`chatsim.explain.bridge_table`: the
   rules between the two evaluated in one ``compare(..., chats=False)`` call), the causes
   of the flips (:func:`chatsim.explain.flip_causes`), late and unanswered chats by hour of
   week with their caption, the key numbers and the takeaways (given the bridge and causes
   already computed).

It prints both times, the seconds the explanation adds and the ratio
(compare + explanation) / compare. Goal: at most 2 s added on 2 cores.

Usage:
    .venv/bin/python benchmarks/explain.py [--scenario scenarios/baseline.yaml] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chatsim.explain import (  # noqa: E402
    bridge_table,
    flip_causes,
    hour_of_week_caption,
    key_numbers,
    missed_by_hour_of_week,
    write_takeaways,
)
from chatsim.metrics import Evaluation, compare  # noqa: E402
from chatsim.rules import LEGACY_24H, NEW_12H  # noqa: E402
from chatsim.scenario import load_scenario  # noqa: E402
from chatsim.schema import ChatLog  # noqa: E402
from chatsim.simulate import simulate  # noqa: E402

GOAL_ADDED_S = 2.0


def best_of(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """The shortest wall time of ``runs`` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def explain_all(ev: Evaluation, log: ChatLog) -> dict[str, Any]:
    """Everything the report's first screen computes beyond the evaluation."""
    steps = bridge_table(ev, log)
    causes = flip_causes(ev)
    week = missed_by_hour_of_week(ev)
    head = key_numbers(ev)
    return {
        "bridge": steps,
        "causes": causes,
        "caption": hour_of_week_caption(week, ev.rules[-1].name),
        "takeaways": write_takeaways(ev, log, head=head, steps=steps, causes=causes),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)

    sc = load_scenario(args.scenario)
    t0 = time.perf_counter()
    log = simulate(sc, workers=min(2, os.cpu_count() or 1))
    print(
        f"log: {sc.name}, {log.shops.height} shops, {log.messages.height:,} messages "
        f"(simulated in {time.perf_counter() - t0:.1f} s); {os.cpu_count()} cores"
    )
    rules = [LEGACY_24H, NEW_12H]
    compare(log, rules)  # warm-up: the compiled chat builder loads on first use
    t_compare, ev = best_of(args.runs, lambda: compare(log, rules))
    t_bridge, _ = best_of(args.runs, lambda: bridge_table(ev, log))
    t_causes, _ = best_of(args.runs, lambda: flip_causes(ev))
    t_explain, out = best_of(args.runs, lambda: explain_all(ev, log))
    print(f"compare (both rules, chat tables):       {t_compare:6.2f} s")
    print(f"  bridge alone (one compare, chats=False): {t_bridge:6.2f} s")
    print(f"  causes alone:                            {t_causes:6.2f} s")
    print(f"explanation (bridge, causes, hour of week, key numbers, takeaways): {t_explain:6.2f} s")
    ratio = (t_compare + t_explain) / t_compare
    verdict = "meets" if t_explain <= GOAL_ADDED_S else "misses"
    print(
        f"compare + explanation = {ratio:.2f}x compare alone; the explanation adds "
        f"{t_explain:.2f} s ({verdict} the goal of at most {GOAL_ADDED_S:g} s)"
    )
    steps = out["bridge"]
    print(
        "bridge:",
        ", ".join(
            f"{lab} {c or ''}".strip() for lab, c in steps.select("label", "change_label").rows()
        ),
    )
    print("takeaways:")
    for t in out["takeaways"]:
        print(" -", t.text)


if __name__ == "__main__":
    main()
