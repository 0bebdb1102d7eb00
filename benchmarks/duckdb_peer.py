"""Time ``chatsim metrics`` end to end against a plain DuckDB SQL sessionization, in one run.

Run from the project root::

    .venv/bin/python benchmarks/duckdb_peer.py                      # 10 M messages
    .venv/bin/python benchmarks/duckdb_peer.py --messages 2000000 --runs 3

What it does:

1. writes the benchmark log (:func:`tests.support.synthetic.synthetic_log`, the log of
   ``benchmarks/metrics.py``) as Parquet into ``--cache`` (default
   ``data/bench-log-<messages>-seed<seed>``, git-ignored), or reuses it when it is there;
2. times, in rounds whose order rotates (best and median of ``--runs`` each, after one
   untimed warm-up of each):

   * **DuckDB**: the SQL below from the Parquet messages to a Parquet shop table, as a fresh
     ``python -c`` process (interpreter start and ``import duckdb`` included) and in this
     process (a new connection per run);
   * **chatsim metrics**: ``chatsim metrics LOG --out shops.parquet`` as a subprocess (both
     built-in rules, every rule feature: exclusions, automatic-reply sessions, the chatbot
     weekend deadline, pending chats, tiers, validation of the log);
   * **chatsim in process**: ``read_log`` + ``compare(log, rules, chats=False)`` (what the
     command runs) + writing the shop table, each step timed, for the split between reading
     and the engine;

3. prints the figures and the ratios DuckDB / chatsim (goal: chatsim end to end at least
   1.5x faster than the DuckDB peer);
4. checks that DuckDB's per-shop figures equal chatsim's where the definitions coincide:
   on the benchmark log without automatic replies, system messages and broadcasts, with no
   holiday-mode or blocked rows (the generator always makes them, so they are removed
   afterwards; cached as ``<cache>-plain``), against chatsim rules with no exclusions,
   ``auto_reply: ignore``, every seller reply valid, no chatbot weekend, and pending chats
   put back into the denominator. It also prints how far the plain SQL is from the
   built-in rules on the benchmark log itself.

The DuckDB query is the version a data engineer writes first (gaps and islands): in each
conversation, ordered by ``sent_at`` then ``message_id``, a *buyer run* (consecutive buyer
messages) opens a chat at its first message and is answered by the next seller message;
response time = answer - open; per shop, the share of chats opened in the trailing 30 days
(``(cutoff - 30 d, cutoff]``, cutoff = the latest message) answered within 12 h and 24 h.
It computes **less than chatsim**: no exclusions (holiday mode, blocked buyers,
seller-initiated chats, chats resolved by automatic replies), no automatic-reply sessions
(automatic messages are simply dropped), broadcasts and seller ``system`` messages answer,
buyer ``system`` messages open chats, ``valid_reply`` is ignored, no chatbot-weekend
deadline, no pending chats (an unanswered chat whose deadline is after the cutoff counts
as a miss: no right-censoring), no business clock, no tiers or target, no chat table, no
response-time or satisfaction columns, and no validation of the log (types, nulls, enums,
duplicate ids, conversations under two shops).

Example (a quick run)::

    .venv/bin/python benchmarks/duckdb_peer.py --messages 200000 --runs 1
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402

from benchmarks.reading import (  # noqa: E402
    bench_log_folder,
    chatsim_command,
    cpu_seconds,
    run_command,
    write_once,
)
from chatsim.metrics import compare  # noqa: E402
from chatsim.rules import LEGACY_24H, NEW_12H, Rule  # noqa: E402
from chatsim.schema import ChatLog, read_log, write_table  # noqa: E402
from tests.support.synthetic import synthetic_log  # noqa: E402

RULES: list[Rule] = [LEGACY_24H, NEW_12H]
#: chatsim rules that define what the DuckDB query computes (on a log with no automatic
#: replies, system messages or broadcasts); pending chats go back into the denominator
PLAIN_RULES: list[Rule] = [
    Rule(
        name=f"plain-{h}h", window_hours=h, target=0.85, auto_reply="ignore", exclusions=frozenset()
    )
    for h in (12, 24)
]
GOAL_RATIO = 1.5

#: The plain sessionization. ``{messages}`` is the Parquet messages file (or glob).
SHOP_RATES_SQL = """
WITH m AS (          -- buyer and seller messages, with the previous sender of the conversation
    SELECT shop_id, conversation_id, message_id, sent_at, sender,
           lag(sender) OVER (PARTITION BY conversation_id ORDER BY sent_at, message_id) AS prev
    FROM read_parquet('{messages}')
    WHERE sender IN ('buyer', 'seller')
),
runs AS (            -- a buyer run starts at a buyer message not preceded by one
    SELECT *, count_if(sender = 'buyer' AND prev IS DISTINCT FROM 'buyer')
                  OVER (PARTITION BY conversation_id ORDER BY sent_at, message_id
                        ROWS UNBOUNDED PRECEDING) AS run
    FROM m
),
chats AS (           -- one chat per run: opened by its first message, answered by the next seller
    SELECT shop_id, conversation_id, run,
           min(sent_at) AS opened_at,
           min(sent_at) FILTER (WHERE sender = 'seller') AS answered_at
    FROM runs
    WHERE run > 0
    GROUP BY shop_id, conversation_id, run
),
cutoff AS (SELECT max(sent_at) AS t FROM read_parquet('{messages}'))
SELECT shop_id,
       count(*) AS chats,
       count(*) FILTER (WHERE answered_at <= opened_at + INTERVAL 12 HOUR) AS answered_12h,
       count(*) FILTER (WHERE answered_at <= opened_at + INTERVAL 24 HOUR) AS answered_24h,
       count(*) FILTER (WHERE answered_at <= opened_at + INTERVAL 12 HOUR) / count(*) AS rate_12h,
       count(*) FILTER (WHERE answered_at <= opened_at + INTERVAL 24 HOUR) / count(*) AS rate_24h
FROM chats, cutoff
WHERE opened_at > t - INTERVAL 30 DAY AND opened_at <= t
GROUP BY shop_id
ORDER BY shop_id
"""
#: hours and days are exact in UTC (in another session zone, "30 days" follows its DST)
SESSION_SQL = "SET TimeZone = 'UTC'"
#: the whole DuckDB job in a fresh interpreter: each argument is one statement
CHILD = "import sys, duckdb\ncon = duckdb.connect()\nfor s in sys.argv[1:]:\n    con.execute(s).fetchall()\n"


def quoted(path: Path) -> str:
    """A path as the body of a SQL string literal."""
    return str(path).replace("'", "''")


def messages_path(folder: Path) -> Path:
    """The Parquet messages of a log folder: one file, or a glob over a folder of shards."""
    single = folder / "messages.parquet"
    return single if single.is_file() else folder / "messages" / "*.parquet"


def shop_rates_sql(folder: Path) -> str:
    """The DuckDB query of a log folder's messages (one row per shop with chats)."""
    return SHOP_RATES_SQL.format(messages=quoted(messages_path(folder)))


def copy_sql(folder: Path, out: Path) -> str:
    """The DuckDB statement writing the shop rates of ``folder`` to the Parquet file ``out``."""
    return f"COPY ({shop_rates_sql(folder)}) TO '{quoted(out)}' (FORMAT parquet)"


def duckdb_threads() -> int:
    """The number of threads a new DuckDB connection uses."""
    con = duckdb.connect()
    try:
        return int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    finally:
        con.close()


def duckdb_rates(folder: Path) -> pl.DataFrame:
    """The DuckDB shop rates of ``folder`` as a polars frame (sorted by shop)."""
    con = duckdb.connect()
    try:
        con.execute(SESSION_SQL).fetchall()
        return con.sql(shop_rates_sql(folder)).pl()
    finally:
        con.close()


# ---- the benchmark logs ---------------------------------------------------------------


def plain_log(log: ChatLog) -> ChatLog:
    """``log`` without automatic replies, system messages, broadcasts and exclusion rows."""
    keep = (pl.col("sender") != "auto") & (pl.col("kind") != "system") & ~pl.col("is_broadcast")
    return ChatLog(
        messages=log.messages.filter(keep),
        shops=log.shops,
        holiday_mode=log.holiday_mode.clear(),
        blocked=log.blocked.clear(),
        source=f"{log.source} (plain)",
    )


def cached_logs(cache: Path, n_messages: int, seed: int) -> tuple[Path, Path, float | None]:
    """The benchmark log and its plain variant as Parquet folders, written unless cached
    (:func:`benchmarks.reading.write_once`: no half-written cache). Returns the folders and
    the seconds spent building the log (None when both were cached)."""
    plain = cache.with_name(cache.name + "-plain")
    if cache.is_dir() and plain.is_dir():
        return cache, plain, None
    t0 = time.perf_counter()
    log = synthetic_log(n_messages, seed=seed)
    built = time.perf_counter() - t0
    write_once(cache, lambda: log)
    write_once(plain, lambda: plain_log(log))
    return cache, plain, built


# ---- the timed jobs -------------------------------------------------------------------


def jobs(folder: Path, out: Path) -> dict[str, Callable[[], dict[str, float]]]:
    """Each timed job: a call returning its wall time (and its steps), in seconds."""

    def duck_process() -> dict[str, float]:
        t0 = time.perf_counter()
        run_command(
            [sys.executable, "-c", CHILD, SESSION_SQL, copy_sql(folder, out / "duckdb.parquet")]
        )
        return {"total": time.perf_counter() - t0}

    def duck_inprocess() -> dict[str, float]:
        t0 = time.perf_counter()
        con = duckdb.connect()
        con.execute(SESSION_SQL).fetchall()
        con.execute(copy_sql(folder, out / "duckdb_inprocess.parquet")).fetchall()
        con.close()
        return {"total": time.perf_counter() - t0}

    def chatsim_process() -> dict[str, float]:
        t0 = time.perf_counter()
        run_command(
            [*chatsim_command(), "metrics", str(folder), "--out", str(out / "chatsim.parquet")]
        )
        return {"total": time.perf_counter() - t0}

    def chatsim_inprocess() -> dict[str, float]:
        t0 = time.perf_counter()
        log = read_log(folder)
        t1 = time.perf_counter()
        ev = compare(log, RULES, chats=False)
        t2 = time.perf_counter()
        write_table(ev.shops, out / "chatsim_inprocess.parquet")
        t3 = time.perf_counter()
        return {"read_log": t1 - t0, "compare": t2 - t1, "write": t3 - t2, "total": t3 - t0}

    return {
        "duckdb, subprocess": duck_process,
        "duckdb, in process": duck_inprocess,
        "chatsim metrics, subprocess": chatsim_process,
        "chatsim, in process": chatsim_inprocess,
    }


def timed_rounds(
    todo: dict[str, Callable[[], dict[str, float]]], runs: int
) -> dict[str, list[dict[str, float]]]:
    """One untimed warm-up of each job, then ``runs`` rounds, each starting one job later."""
    names = list(todo)
    for name in names:
        todo[name]()
    times: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for r in range(runs):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            gc.collect()
            cpu0 = cpu_seconds()
            times[name].append(todo[name]())
            times[name][-1]["cpu"] = cpu_seconds() - cpu0
        print(
            f"  round {r + 1}: "
            + "; ".join(f"{n} {times[n][-1]['total']:.2f} s" for n in names)
            + f" (load average {os.getloadavg()[0]:.1f})"
        )
    return times


# ---- agreement ------------------------------------------------------------------------


def agreement(plain: Path) -> tuple[bool, str]:
    """DuckDB's shop figures against chatsim's :data:`PLAIN_RULES` on the plain log."""
    duck = duckdb_rates(plain)
    ev = compare(read_log(plain), PLAIN_RULES, chats=False)
    ok, lines = True, []
    for rule in PLAIN_RULES:
        h = int(rule.window_hours)
        ours = (
            ev.shops.filter(pl.col("rule") == rule.name)
            .filter(pl.col("counted") + pl.col("pending") > 0)
            .select(
                "shop_id",
                (pl.col("counted") + pl.col("pending")).alias("chats_c"),
                pl.col("answered_in_time").alias("in_time_c"),
                (pl.col("answered_in_time") / (pl.col("counted") + pl.col("pending"))).alias(
                    "rate_c"
                ),
            )
        )
        both = ours.join(duck, on="shop_id", how="full", coalesce=True).sort("shop_id")
        same = both.filter(
            (pl.col("chats_c") == pl.col("chats"))
            & (pl.col("in_time_c") == pl.col(f"answered_{h}h"))
            & ((pl.col("rate_c") - pl.col(f"rate_{h}h")).abs() <= 1e-12)
        ).height
        ok &= same == both.height
        lines.append(
            f"  {h} h: {same:,} of {both.height:,} shops identical (chats in the period, "
            f"answered within {h} h, rate); chatsim {ours.height:,} shops with chats, "
            f"DuckDB {duck.height:,}"
        )
    return ok, "\n".join(lines)


def gap_on_benchmark_log(duck_file: Path, chatsim_file: Path) -> str:
    """How far the plain SQL's rates are from the built-in rules' on the benchmark log."""
    duck = pl.read_parquet(duck_file)
    shops = pl.read_parquet(chatsim_file)
    lines = []
    for rule, h in ((NEW_12H, 12), (LEGACY_24H, 24)):
        ours = shops.filter(pl.col("rule") == rule.name).select("shop_id", "response_rate")
        both = ours.join(duck, on="shop_id", how="inner").drop_nulls("response_rate")
        diff = (both[f"rate_{h}h"] - both["response_rate"]).abs() * 100
        flips = both.filter(
            (pl.col(f"rate_{h}h") >= rule.target) != (pl.col("response_rate") >= rule.target)
        ).height
        lines.append(
            f"  {h} h vs {rule.name}: rates differ in {int((diff > 1e-9).sum()):,} of "
            f"{both.height:,} shops, median {diff.median():.1f} pp, max {diff.max():.1f} pp; "
            f"pass/fail at the {rule.target:.0%} target differs for {flips:,} shops"
        )
    return "\n".join(lines)


# ---- main -----------------------------------------------------------------------------


def summary(values: list[float]) -> tuple[float, float]:
    return min(values), statistics.median(values)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=5, help="timed rounds (best and median kept)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, help="log folder to write or reuse")
    args = ap.parse_args(argv)
    cache = args.cache or bench_log_folder(args.messages, args.seed)

    print(
        f"python {sys.version.split()[0]}, polars {pl.__version__} "
        f"({pl.thread_pool_size()} threads), duckdb {duckdb.__version__} "
        f"({duckdb_threads()} threads), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
        "(timings are wall-clock: other processes on the machine slow them down)"
    )
    folder, plain, built = cached_logs(cache, args.messages, args.seed)
    size = sum(p.stat().st_size for p in folder.rglob("*.parquet"))
    how = "reused" if built is None else f"log built in {built:.1f} s and written"
    print(f"benchmark log: {folder} ({size / 2**20:,.0f} MiB of Parquet; {how})")
    n = pl.scan_parquet(messages_path(folder)).select(pl.len()).collect().item()
    print(f"  {n:,} messages")

    print(f"\ntiming {args.runs} rounds (one warm-up of each first) ...")
    with tempfile.TemporaryDirectory(prefix="chatsim-duckdb-") as tmp:
        out = Path(tmp)
        times = timed_rounds(jobs(folder, out), args.runs)
        gap = gap_on_benchmark_log(out / "duckdb.parquet", out / "chatsim.parquet")

    def figures(name: str, step: str = "total") -> tuple[float, float]:
        return summary([t[step] for t in times[name]])

    rows = [(name, *figures(name)) for name in times]
    rows += [
        (f"  chatsim in process: {step}", *figures("chatsim, in process", step))
        for step in ("read_log", "compare", "write")
    ]
    print(f"\n{'step':<44} {'best':>8} {'median':>8}  M messages/s (best)")
    for name, best, med in rows:
        rate = "" if name.startswith(" ") else f"{n / best / 1e6:6.2f}"
        print(f"{name:<44} {best:7.2f}s {med:7.2f}s  {rate}")

    def ratio(a: tuple[str, str], b: tuple[str, str]) -> tuple[float, float]:
        (ab, am), (bb, bm) = figures(*a), figures(*b)
        return ab / bb, am / bm

    ratios = [
        (
            "end to end: DuckDB subprocess / chatsim metrics",
            ratio(("duckdb, subprocess", "total"), ("chatsim metrics, subprocess", "total")),
            f"goal >= {GOAL_RATIO}x",
        ),
        (
            "in process: DuckDB / read_log + compare + write",
            ratio(("duckdb, in process", "total"), ("chatsim, in process", "total")),
            "",
        ),
        (
            "DuckDB in process / compare alone",
            ratio(("duckdb, in process", "total"), ("chatsim, in process", "compare")),
            "reading and validation left out",
        ),
        (
            "chatsim metrics / in-memory compare",
            ratio(("chatsim metrics, subprocess", "total"), ("chatsim, in process", "compare")),
            "chatsim's own overhead, not a ratio to DuckDB",
        ),
    ]
    print(f"\n{'ratio (x)':<52} {'best':>6} {'median':>7}")
    for name, (best, med), note in ratios:
        print(f"{name:<52} {best:5.2f}x {med:6.2f}x  {note}")
    e2e_best, e2e_med = ratios[0][1]
    pairs = list(
        zip(times["duckdb, subprocess"], times["chatsim metrics, subprocess"], strict=True)
    )
    per_round = statistics.median(d["total"] / c["total"] for d, c in pairs)
    cpu = statistics.median(d["cpu"] / c["cpu"] for d, c in pairs)
    print(
        f"end to end, DuckDB subprocess / chatsim metrics: median of the per-round ratios "
        f"{per_round:.2f}x; CPU seconds (all threads) {cpu:.2f}x"
    )
    print(
        f"goal: chatsim end to end at least {GOAL_RATIO}x faster than the DuckDB peer: "
        f"best {e2e_best:.2f}x ({'met' if e2e_best >= GOAL_RATIO else 'NOT met'}), "
        f"median {e2e_med:.2f}x ({'met' if e2e_med >= GOAL_RATIO else 'NOT met'}); "
        f"load average now {os.getloadavg()[0]:.1f}"
    )

    print("\nthe plain SQL against the built-in rules on the benchmark log (it computes less):")
    print(gap)
    ok, text = agreement(plain)
    print(
        "\nagreement where the definitions coincide (plain log: no automatic replies, system "
        "messages, broadcasts or exclusions; chatsim rules with no exclusions, "
        "auto_reply ignore, pending counted):"
    )
    print(text)
    print(f"  DuckDB == chatsim: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
