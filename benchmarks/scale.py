"""Benchmark ``chatsim.scale.compare_dataset`` on a simulated log larger than memory.

Run from the project root::

    .venv/bin/python benchmarks/scale.py                          # 100 M messages
    .venv/bin/python benchmarks/scale.py --messages 20000000      # a smaller run
    .venv/bin/python benchmarks/scale.py --data data/scale-100M   # reuse a dataset

What it does:

1. simulates ``scenarios/baseline.yaml`` scaled by shops (30 days) to about
   ``--messages`` messages with ``simulate_to_dir`` (every core), into ``--data``
   (default ``data/scale-<messages>``; reused when it already holds that scenario),
   after printing the free disk space and the estimated size;
2. runs ``compare_dataset`` on it in a fresh subprocess (``--workers``, ``--budget-gb``:
   its options): wall time, CPU time, messages/s and peak resident memory (the child's
   ``VmHWM`` from ``/proc``, and the parent's psutil sampling of the child's RSS every
   20 ms), against the goals of >= 2.5 M messages/s and < 6 GiB;
3. as a baseline, on a subset of whole shard files of about ``--baseline-messages``
   (10 M): the in-memory ``compare(read_log(...))`` and ``compare_dataset`` on that
   same subset, each in a fresh subprocess, so that speed and memory are relative;
4. prints a table with the 1-minute load average before and after each run (the machine
   may be shared; a run's own threads count too), and ``--json`` writes the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GIB = 1024**3
GOAL_PEAK_GIB = 6.0
GOAL_MSG_PER_S = 2.5e6
BYTES_ON_DISK = 11  # per simulated message, Parquet zstd (measured ~9.8)
SCENARIO = ROOT / "scenarios" / "baseline.yaml"


# --------------------------------------------------------------------------------------
# the child: one measured run
# --------------------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:  # pragma: no cover - not Linux
        return None
    return None


def child(mode: str, data: str, budget: float | None, workers: int | None) -> None:
    import polars as pl  # noqa: F401  (loaded before the baseline RSS is taken)

    from chatsim.metrics import compare
    from chatsim.scale import compare_dataset
    from chatsim.schema import read_log

    rss0 = _status_kib("VmRSS")
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    if mode == "memory":
        log = read_log(data)
        t_read = time.perf_counter() - t0
        ev = compare(log)
        n = log.n_messages
        extra = {"read_s": t_read, "buckets": 1}
    else:
        ev = compare_dataset(data, progress=False, memory_budget_gb=budget, workers=workers)
        n = ev.messages_used + ev.messages_after_cutoff
        extra = {
            "buckets": ev.buckets,
            "workers": ev.workers,
            "planned_from": ev.planned_from,
            "repartitioned": ev.repartitioned,
            "largest_bucket": max(ev.bucket_messages),
            "id_check": ev.id_check,
        }
    wall = time.perf_counter() - t0
    cpu = os.times()
    out = {
        "mode": mode,
        "messages": n,
        "shops": ev.shops["shop_id"].n_unique(),
        "wall_s": wall,
        "cpu_s": cpu.user + cpu.system,
        "load_before": load0,
        "load_after": os.getloadavg()[0],
        "rss_before_kib": rss0,
        "vmhwm_kib": _status_kib("VmHWM"),
        "summary_counted": int(ev.summary()["counted_chats"].sum()),
        **extra,
    }
    print("RESULT " + json.dumps(out), flush=True)


def run_child(mode: str, data: Path, budget: float | None, workers: int | None = None) -> dict:
    """Run one measurement in a fresh interpreter, sampling its RSS from here."""
    import psutil

    cmd = [sys.executable, __file__, "--child", mode, "--data", str(data)]
    if budget is not None:
        cmd += ["--budget-gb", str(budget)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"child {mode} failed with exit code {proc.returncode}")
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    res = json.loads(line[len("RESULT ") :])
    res["sampled_peak_bytes"] = peak
    hwm = res.get("vmhwm_kib")
    res["peak_bytes"] = max(peak, (hwm or 0) * 1024)
    res["msg_per_s"] = res["messages"] / res["wall_s"]
    return res


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------


def messages_per_shop(days: int, shops: int | None = None) -> float:
    """Mean messages per baseline shop over ``days``, from a few shards (in memory).

    Without ``shops``: a 4-shard pilot. With it: 6 shards spread over the scenario of
    that many shops (the shop mix depends on the shop count; a shard depends only on
    its own shops).
    """
    from chatsim.scenario import load_scenario
    from chatsim.simulate import SHARD_SIZE, simulate_shard

    sc = load_scenario(SCENARIO).scaled(shops=shops or 4 * SHARD_SIZE, days=days)
    n_shards = -(-sc.shops // SHARD_SIZE)
    picks = sorted({round(i * (n_shards - 1) / 5) for i in range(6)})
    n = sum(simulate_shard(sc, k)[0].height for k in picks)
    covered = sum(min(SHARD_SIZE, sc.shops - k * SHARD_SIZE) for k in picks)
    return n / covered


def _same_scenario(path: Path, sc) -> bool:
    from chatsim.errors import ScenarioError
    from chatsim.scenario import load_scenario

    if not path.exists():
        return False
    try:
        return load_scenario(path) == sc
    except ScenarioError:  # written by another version of the simulator
        return False


def ensure_data(data: Path, messages: int, days: int) -> Path:
    from chatsim.scenario import load_scenario
    from chatsim.simulate import simulate_to_dir

    per_shop = messages_per_shop(days)
    per_shop = messages_per_shop(days, max(1, round(messages / per_shop)))
    shops = max(1, round(messages / per_shop))
    sc = load_scenario(SCENARIO).scaled(shops=shops, days=days)
    if _same_scenario(data / "scenario.yaml", sc):
        print(f"reusing {data} ({shops:,} shops x {days} days)")
        return data
    data.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(data).free
    need = messages * BYTES_ON_DISK
    print(
        f"disk: {free / GIB:.1f} GiB free at {data}; the dataset needs about {need / GIB:.2f} GiB"
    )
    if free < 1.5 * need:
        raise SystemExit("not enough disk space for the dataset; pass --data elsewhere.")
    print(f"simulating {shops:,} shops x {days} days (~{per_shop:,.0f} messages a shop) ...")
    t0 = time.perf_counter()
    simulate_to_dir(sc, data, progress=True)
    wall = time.perf_counter() - t0
    print(f"simulated in {wall:.0f} s ({messages / wall / 1e6:.2f} M messages/s, estimated)")
    return data


def subset(data: Path, n_messages: int, into: Path) -> tuple[Path, int]:
    """A log folder of the first whole shard files holding about ``n_messages`` (symlinks)."""
    import polars as pl

    (into / "messages").mkdir(parents=True, exist_ok=True)
    total = 0
    shop_ids = []
    for f in sorted((data / "messages").glob("*.parquet")):
        if total >= n_messages:
            break
        (into / "messages" / f.name).symlink_to(f.resolve())
        ids = pl.scan_parquet(f).select(pl.col("shop_id").unique()).collect()["shop_id"]
        shop_ids.append(ids)
        total += pl.scan_parquet(f).select(pl.len()).collect().item()
    keep = pl.concat(shop_ids).implode()
    for name in ("shops", "holiday_mode", "blocked"):
        pl.read_parquet(data / f"{name}.parquet").filter(
            pl.col("shop_id").is_in(keep)
        ).write_parquet(into / f"{name}.parquet")
    return into, total


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------


def _gib(b: float) -> str:
    return f"{b / GIB:.2f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=100_000_000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--baseline-messages", type=int, default=10_000_000)
    p.add_argument("--budget-gb", type=float, default=None, help="compare_dataset memory budget")
    p.add_argument(
        "--workers", type=int, default=None, help="compare_dataset workers (default: its own)"
    )
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--child", choices=["memory", "dataset"], help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        child(a.child, str(a.data), a.budget_gb, a.workers)
        return 0

    data = a.data or ROOT / "data" / f"scale-{a.messages // 1_000_000}M"
    ensure_data(data, a.messages, a.days)
    size = sum(f.stat().st_size for f in data.rglob("*.parquet"))
    print(f"dataset {data}: {size / GIB:.2f} GiB of Parquet")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="chatsim-scale-bench-") as tmp:
        if not a.skip_baseline:
            sub, n_sub = subset(data, a.baseline_messages, Path(tmp) / "subset")
            print(f"baseline subset: {n_sub:,} messages (whole shard files)")
            for mode in ("memory", "dataset"):
                print(f"running {mode} on the subset ...", flush=True)
                r = run_child(mode, sub, a.budget_gb, a.workers)
                r["label"] = (
                    f"{'compare(read_log)' if mode == 'memory' else 'compare_dataset'} subset"
                )
                rows.append(r)
        print("running compare_dataset on the full dataset ...", flush=True)
        r = run_child("dataset", data, a.budget_gb, a.workers)
        r["label"] = "compare_dataset full"
        rows.append(r)

    print()
    print(f"{'run':<26} {'messages':>12} {'wall s':>8} {'cpu s':>7} {'M msg/s':>8} "
          f"{'peak GiB':>9} {'B/msg':>6} {'buckets':>7} {'load':>9}")  # fmt: skip
    for r in rows:
        print(
            f"{r['label']:<26} {r['messages']:>12,} {r['wall_s']:>8.1f} {r['cpu_s']:>7.1f} "
            f"{r['msg_per_s'] / 1e6:>8.2f} {_gib(r['peak_bytes']):>9} "
            f"{r['peak_bytes'] / r['messages']:>6.0f} {r['buckets']:>7} "
            f"{r['load_before']:>4.1f}-{r['load_after']:<4.1f}"
        )
    print("(load: the 1-minute load average before and after each run; 2 cores)")
    ds = [r for r in rows if r["mode"] == "dataset"]
    if ds:
        print(
            f"compare_dataset: {ds[-1]['workers']} worker(s), planned from {ds[-1]['planned_from']}"
        )
    full = rows[-1]
    print()
    ok = full["peak_bytes"] < GOAL_PEAK_GIB * GIB
    print(
        f"goal: peak < {GOAL_PEAK_GIB:.0f} GiB on {full['messages']:,} messages: "
        f"{_gib(full['peak_bytes'])} GiB -> {'MET' if ok else 'NOT MET'}"
    )
    fast = full["msg_per_s"] >= GOAL_MSG_PER_S
    print(
        f"goal: >= {GOAL_MSG_PER_S / 1e6:.1f} M messages/s: {full['msg_per_s'] / 1e6:.2f} M/s "
        f"-> {'MET' if fast else 'NOT MET'} (load {full['load_before']:.1f}-"
        f"{full['load_after']:.1f} on 2 cores: other jobs slow it)"
    )
    if len(rows) == 3:
        mem, ds_sub = rows[0], rows[1]
        print(
            f"on the subset, compare_dataset vs in-memory compare(read_log): speed "
            f"x{ds_sub['msg_per_s'] / mem['msg_per_s']:.2f}, "
            f"peak x{ds_sub['peak_bytes'] / mem['peak_bytes']:.2f}"
        )
        per_msg = mem["peak_bytes"] / mem["messages"]
        print(
            f"in-memory compare would need ~{per_msg * full['messages'] / GIB:.0f} GiB for the full "
            f"dataset (extrapolated at {per_msg:.0f} B/message); compare_dataset peak "
            f"{_gib(full['peak_bytes'])} GiB; speed full vs in-memory subset "
            f"x{full['msg_per_s'] / mem['msg_per_s']:.2f}"
        )
        if mem["summary_counted"] != ds_sub["summary_counted"]:
            print("WARNING: counted chats differ between the in-memory and bucketed runs")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
