"""Benchmark ``chatsim.metrics.compare`` on a large synthetic log (speed, memory, pandas).

Run from the project root::

    .venv/bin/python benchmarks/metrics.py                  # 10 M messages
    .venv/bin/python benchmarks/metrics.py --messages 2000000 --pandas-messages 500000

What it does:

1. builds a synthetic log (:func:`tests.support.synthetic.synthetic_log`) and reports its
   in-memory size (``DataFrame.estimated_size()`` of the four tables);
2. times ``compare(log, [LEGACY_24H, NEW_12H])`` (best of ``--runs``) -> messages/s;
3. times each stage of one ``compare``, measured inside the real run (every collect
   and engine helper labelled by the engine line that made it: see
   :func:`stage_breakdown`);
4. measures peak memory of one ``compare`` in a fresh subprocess that loads the log
   from Parquet files in a temporary folder: the resident-set high-water mark
   (``VmHWM``, reset just before the compute through ``/proc/self/clear_refs``;
   a 5 ms psutil sampler where that is unavailable) minus the RSS before the compute,
   taken after the allocator has returned the pages freed while loading (so it is the
   live data, not the allocator's cache);
5. times chatsim and then the pandas baseline (:mod:`tests.support.pandas_reference`,
   same definitions) on a subset of whole shops (``--pandas-messages``; best of
   ``--runs`` each), checks that the shop tables are equal, and reports the speed
   ratio at equal size and against the full-size chatsim run (per message); also
   chatsim computing the shop tables alone (``chats=False``), as the baseline does.

Goals reported against: >= 4 M messages/s on 2 cores, >= 10x pandas, peak memory
< 3x the log's in-memory size.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402
import psutil  # noqa: E402

from chatsim.metrics import compare  # noqa: E402
from chatsim.rules import LEGACY_24H, NEW_12H, Rule  # noqa: E402
from chatsim.schema import TABLES, ChatLog, write_log  # noqa: E402
from tests.support.pandas_reference import (  # noqa: E402
    SHOP_COLUMNS,
    pandas_compare,
    to_pandas_log,
)
from tests.support.synthetic import synthetic_log  # noqa: E402

RULES: list[Rule] = [LEGACY_24H, NEW_12H]
GOAL_RATE = 4_000_000
GOAL_PANDAS = 10.0
GOAL_MEMORY = 3.0
ALLOCATOR_SETTLE_S = 3.0  # > the allocator's decay (polars: 0.5 s dirty, 1 s muzzy pages)


def log_size(log: ChatLog) -> int:
    """Estimated in-memory size of the four tables, in bytes."""
    return sum(getattr(log, name).estimated_size() for name in TABLES)


def best_of(fn: Callable[[], object], runs: int) -> tuple[float, list[float], object]:
    """Best wall time of ``runs`` calls, all times, and the last result."""
    times, result = [], None
    for _ in range(runs):
        result = None
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, result


# stage labels: a fragment of the engine source line that starts the work -> label
STAGE_LABELS = [
    ("encode_shops(", "shop ids -> codes"),
    ("def compiled_messages", "sort (canonical order) and flag byte"),
    ("featured(build(", "chat features (shop columns, holiday/blocked flags)"),
    ("def add_local_week", "judge: shop-local weekday (weekend deadline)"),
    ("df = lf", "judge"),
    ("_native(shop).collect()", "shop table"),
    ("def finish_chats", "finish chat table"),
    ("def finish_shops", "finish shop table"),
]
#: the compiled state machine (``kernel.chat_shards``), reported per chat definition
STATE_MACHINE = "chats: compiled state machine"


def stage_breakdown(log: ChatLog, rules: list[Rule]) -> list[tuple[str, float]]:
    """Seconds spent in each stage of one ``compare``, measured inside the real run.

    The engine's work happens where a lazy query is collected (and in a few eager
    helpers): every ``collect`` and helper call made from :mod:`chatsim.engine` is
    timed and labelled by the engine source line that made it (:data:`STAGE_LABELS`),
    so the breakdown follows the code without mirroring it. The stages are timed
    one after another, so their sum is close to the wall time of ``compare``.
    """
    import inspect
    import linecache

    # the helpers run_polars calls are looked up in chatsim.engine.polars: patched there
    from chatsim.engine import kernel as K
    from chatsim.engine import polars as E

    engine_dir = os.path.dirname(E.__file__)

    def in_engine(frame) -> bool:
        return os.path.dirname(frame.f_code.co_filename) == engine_dir

    stages: dict[str, float] = {}
    depth = [0]

    def label_of(frame) -> str:
        # the engine frames on the stack, innermost first; each gives its source line
        # (with the line before, for calls spread over lines) and its def line
        while frame is not None and not in_engine(frame):
            frame = frame.f_back
        first = frame
        while frame is not None and in_engine(frame):
            file = frame.f_code.co_filename
            lines = [linecache.getline(file, n) for n in (frame.f_lineno - 1, frame.f_lineno)]
            lines.append(inspect.getsourcelines(frame.f_code)[0][0])
            for fragment, label in STAGE_LABELS:
                if any(fragment in line for line in lines):
                    return label
            frame = frame.f_back
        if first is None:
            return "other"
        file = os.path.basename(first.f_code.co_filename)
        return f"{first.f_code.co_name} ({file}:{first.f_lineno})"

    def definition_of(frame) -> str:
        while frame is not None and frame.f_code.co_name != "judged_chats":
            frame = frame.f_back
        if frame is None:
            return ""
        keys, key = frame.f_locals.get("keys"), frame.f_locals.get("key")
        if not keys or key not in keys:
            return ""
        return f", definition {keys.index(key) + 1} of {len(keys)}"

    def timing(fn: Callable, label: Callable[[], str]) -> Callable:
        def wrapper(*args, **kwargs):
            if depth[0]:  # nested: counted by the outer call
                return fn(*args, **kwargs)
            name = label()
            depth[0] += 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1
                stages[name] = stages.get(name, 0.0) + time.perf_counter() - t0

        return wrapper

    patched = {
        name: getattr(E, name)
        for name in ("encode_shops", "compiled_messages", "finish_chats", "finish_shops")
    }
    collect = pl.LazyFrame.collect
    chat_shards, chats_frame = K.chat_shards, K.chats_frame
    try:
        for name, fn in patched.items():
            label = next(
                (lab for frag, lab in STAGE_LABELS if frag in (f"def {name}", f"{name}(")), name
            )
            setattr(E, name, timing(fn, lambda label=label: label))
        K.chat_shards = timing(chat_shards, lambda: STATE_MACHINE + definition_of(sys._getframe(2)))
        K.chats_frame = timing(
            chats_frame, lambda: "chats: the chat frame from the kernel's arrays"
        )
        pl.LazyFrame.collect = timing(collect, lambda: label_of(sys._getframe(2)))  # type: ignore[method-assign]

        gc.collect()
        t0 = time.perf_counter()
        compare(log, rules)
        wall = time.perf_counter() - t0
    finally:
        pl.LazyFrame.collect = collect  # type: ignore[method-assign]
        K.chat_shards, K.chats_frame = chat_shards, chats_frame
        for name, fn in patched.items():
            setattr(E, name, fn)
    out = sorted(stages.items(), key=lambda kv: -kv[1])
    out.append(("rest of compare (untimed steps)", max(wall - sum(stages.values()), 0.0)))
    out.append(("total (wall time of this compare)", wall))
    return out


def shop_subset(log: ChatLog, n_messages: int, seed: int = 0) -> ChatLog:
    """Whole shops (random order) until about ``n_messages`` messages: chats stay intact."""
    counts = log.messages.group_by("shop_id").len().sort("shop_id")
    counts = counts.sample(fraction=1.0, shuffle=True, seed=seed)
    cum = counts["len"].cum_sum()
    keep = counts.filter(cum - counts["len"] < n_messages).select("shop_id")
    return ChatLog(
        messages=log.messages.join(keep, on="shop_id", how="semi", maintain_order="left"),
        shops=log.shops.join(keep, on="shop_id", how="semi", maintain_order="left"),
        holiday_mode=log.holiday_mode.join(keep, on="shop_id", how="semi", maintain_order="left"),
        blocked=log.blocked.join(keep, on="shop_id", how="semi", maintain_order="left"),
        source=f"{log.source} (subset)",
    )


def same_shop_tables(chatsim_shops: pl.DataFrame, pandas_shops: pd.DataFrame) -> bool:
    def norm(df: pd.DataFrame) -> pd.DataFrame:
        out = df[SHOP_COLUMNS].copy()
        out["shop_id"] = out["shop_id"].astype(str)
        return out.sort_values(["rule", "shop_id"], ignore_index=True)

    try:
        pd.testing.assert_frame_equal(
            norm(pandas_shops), norm(chatsim_shops.to_pandas()), check_dtype=False, rtol=1e-9
        )
    except AssertionError as exc:
        print(f"  !! pandas and chatsim shop tables differ: {exc}")
        return False
    return True


# ---- peak memory, in a fresh process ----------------------------------------------------


def _read_hwm_kib() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _read_hwm_kib() is not None


class _Sampler(threading.Thread):
    """Fallback: sample RSS every few milliseconds."""

    def __init__(self, interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process()
        self.interval = interval
        self.peak = self.proc.memory_info().rss
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, self.proc.memory_info().rss)


def child_measure(folder: str) -> None:
    """Subprocess entry: load the log from Parquet, measure one ``compare`` (JSON on stdout)."""
    tables = {name: pl.read_parquet(Path(folder) / f"{name}.parquet") for name in TABLES}
    log = ChatLog(**tables, source=folder)
    compare(shop_subset(log, 20_000), RULES)  # warm up (imports, thread pool) on a tiny log
    gc.collect()
    # the allocator keeps freed pages for a moment before returning them: wait
    # until the pages freed while loading are returned, so "before" is the live data
    time.sleep(ALLOCATOR_SETTLE_S)
    proc = psutil.Process()
    baseline = proc.memory_info().rss
    use_hwm = _reset_hwm()
    sampler = None if use_hwm else _Sampler()
    if sampler is not None:
        sampler.start()
    t0 = time.perf_counter()
    ev = compare(log, RULES)
    elapsed = time.perf_counter() - t0
    peak = _read_hwm_kib() * 1024 if use_hwm else sampler.stop()  # type: ignore[union-attr,operator]
    print(
        json.dumps(
            {
                "baseline_rss": baseline,
                "peak_rss": peak,
                "seconds": elapsed,
                "method": "VmHWM" if use_hwm else "psutil sampling (5 ms)",
                "log_size": log_size(log),
                "chats": ev.chats.height,
            }
        )
    )


def measure_memory(log: ChatLog) -> dict:
    with tempfile.TemporaryDirectory(prefix="chatsim-bench-") as tmp:
        write_log(log, tmp, "parquet")
        out = subprocess.run(
            [sys.executable, __file__, "--child", tmp],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- main -----------------------------------------------------------------------------


def fmt_bytes(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=10_000_000)
    ap.add_argument("--pandas-messages", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=5, help="timed runs of compare (best is kept)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-memory", action="store_true", help="skip the subprocess memory run")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child_measure(args.child)
        return 0

    print(
        f"python {sys.version.split()[0]}, polars {pl.__version__} "
        f"({pl.thread_pool_size()} threads), pandas {pd.__version__}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
        "(timings are wall-clock: other processes on the machine slow them down)"
    )
    conf = os.environ.get("_RJEM_MALLOC_CONF") or "polars' default"
    print(f"allocator options (_RJEM_MALLOC_CONF): {conf}")
    t0 = time.perf_counter()
    log = synthetic_log(args.messages, seed=args.seed)
    gen_s = time.perf_counter() - t0
    n = log.n_messages
    size = log_size(log)
    print(
        f"synthetic log: {n:,} messages, {log.shops.height:,} shops, "
        f"{log.messages['conversation_id'].n_unique():,} conversations; built in {gen_s:.1f} s"
    )
    print(
        f"in-memory size: {fmt_bytes(size)} (messages {fmt_bytes(log.messages.estimated_size())})"
    )

    # ---- chatsim speed
    print(f"\nchatsim compare({', '.join(r.name for r in RULES)}), {args.runs} runs ...")
    cpu0 = time.process_time()
    best, times, ev = best_of(lambda: compare(log, RULES), args.runs)
    cpu_per_run = (time.process_time() - cpu0) / args.runs
    rate = n / best
    print(
        f"  runs: {', '.join(f'{t:.2f} s' for t in times)}; best {best:.2f} s = {rate / 1e6:.2f} M messages/s"
    )
    print(
        f"  CPU time {cpu_per_run:.2f} s per run (all threads); load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"  {ev.chats.height // len(RULES):,} chats per rule")

    print("\nstage breakdown (one run):")
    stages = stage_breakdown(log, RULES)
    total = stages[-1][1]
    for name, sec in stages:
        print(f"  {name:<30} {sec:7.2f} s  {100 * sec / total:5.1f} %")

    # ---- memory
    mem = None
    if not args.no_memory:
        print("\npeak memory of one compare in a fresh process (log loaded from Parquet) ...")
        mem = measure_memory(log)
        extra = mem["peak_rss"] - mem["baseline_rss"]
        print(
            f"  RSS before {fmt_bytes(mem['baseline_rss'])}, peak {fmt_bytes(mem['peak_rss'])} "
            f"({mem['method']}); compare took {mem['seconds']:.2f} s"
        )
        print(
            f"  peak - before = {fmt_bytes(extra)} = {extra / size:.2f}x the log; "
            f"whole-process peak = {mem['peak_rss'] / size:.2f}x the log"
        )

    # ---- pandas baseline
    sub = (
        shop_subset(log, args.pandas_messages, seed=args.seed) if args.pandas_messages < n else log
    )
    n_sub = sub.n_messages
    print(f"\npandas baseline on {n_sub:,} messages ({sub.shops.height:,} whole shops) ...")
    psub = to_pandas_log(sub)
    # chatsim first, then pandas, each run back to back (best of each): alternating them
    # put every short chatsim run right after a long pandas run (cold caches, the
    # allocator's pages returned), which the long runs amortize and the short ones do not
    c_best, c_times, c_ev = best_of(lambda: compare(sub, RULES), args.runs)
    lean_best, _, _ = best_of(lambda: compare(sub, RULES, chats=False), args.runs)
    pandas_runs = args.runs if n_sub <= 3_000_000 else 1
    p_best, p_times, p_shops = best_of(lambda: pandas_compare(psub, RULES), pandas_runs)
    p_rate = n_sub / p_best
    c_rate = n_sub / c_best
    agree = same_shop_tables(c_ev.shops, p_shops)
    print(
        f"  pandas: {', '.join(f'{t:.2f} s' for t in p_times)} -> {p_rate / 1e6:.2f} M messages/s; "
        f"chatsim on the same subset ({', '.join(f'{t:.2f} s' for t in c_times)}) "
        f"{c_best:.2f} s -> {c_rate / 1e6:.2f} M messages/s"
    )
    print(f"  shop tables identical: {agree}")
    ratio_same = p_best / c_best
    ratio_full = rate / p_rate
    ratio_lean = p_best / lean_best
    print(
        f"  speed-up at equal size {ratio_same:.1f}x; full-size chatsim vs pandas per message "
        f"{ratio_full:.1f}x"
    )
    print(
        f"  shop tables only, as the baseline computes (compare(..., chats=False)): "
        f"{lean_best:.2f} s -> {ratio_lean:.1f}x"
    )

    # ---- summary
    rows = [
        ("messages", f"{n:,}", ""),
        ("log in memory", fmt_bytes(size), ""),
        ("compare, best", f"{best:.2f} s", ""),
        (
            "throughput",
            f"{rate / 1e6:.2f} M msg/s",
            f">= {GOAL_RATE / 1e6:.0f} M msg/s: {'met' if rate >= GOAL_RATE else 'NOT met'}",
        ),
        (
            "vs pandas (equal size)",
            f"{ratio_same:.1f}x",
            f">= {GOAL_PANDAS:.0f}x: {'met' if ratio_same >= GOAL_PANDAS else 'NOT met'}",
        ),
        ("vs pandas (per message)", f"{ratio_full:.1f}x", f"pandas on {n_sub:,} messages"),
    ]
    if mem is not None:
        extra = mem["peak_rss"] - mem["baseline_rss"]
        rows.append(
            (
                "peak extra memory",
                f"{fmt_bytes(extra)} = {extra / size:.2f}x log",
                f"< {GOAL_MEMORY:.0f}x: {'met' if extra / size < GOAL_MEMORY else 'NOT met'}",
            )
        )
        rows.append(("whole-process peak", f"{mem['peak_rss'] / size:.2f}x log", ""))
    rows.append(
        ("vs pandas, shop tables only", f"{ratio_lean:.1f}x", "both compute shop tables alone")
    )
    rows.append(("pandas == chatsim", str(agree), "shop tables on the subset"))
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    print("\nsummary")
    for a, b, c in rows:
        print(f"  {a:<{w1}}  {b:>{w2}}  {c}")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
