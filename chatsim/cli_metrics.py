"""``chatsim metrics``: shop metrics of a chat log under one or more rules (part of
:mod:`chatsim.cli`).

The engine is chosen from the flags and the log's size (:func:`engine_options`); ``--daily``
gives the shop table at the end of every day (:func:`chatsim.daily.compare_daily`). Like the
rest of the command line it imports polars and the engines only when it runs.

Example:
    >>> from chatsim.cli import build_parser
    >>> engine_options(build_parser().parse_args(["metrics", "no-such-log", "--lenient"]))
    ('polars', {'lenient': True, 'chats': False})
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatsim.cliargs import check_output_file, check_output_folder
from chatsim.errors import EngineError

__all__ = [
    "LARGE_LOG_BYTES",
    "SMALL_LOG_BYTES",
    "cmd_metrics",
    "engine_options",
    "format_summary",
]

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl


def format_summary(summary: pl.DataFrame, rules: Sequence[Any] = ()) -> str:
    """A compact plain-text table of :meth:`Evaluation.summary`: a response-time target in
    hours (``at most 2 h``), a maximum as ``at most`` (from ``rules``, the evaluation's
    rules, when given; else from the summary's ``metric``), exclusions by reason."""
    from chatsim.explain.rulefigures import target_text

    texts = {r.name: target_text(r) for r in rules if r.target_comparison == "at_most"}

    def target(r: dict[str, Any]) -> str:
        if r["rule"] in texts:
            return texts[r["rule"]]
        if r.get("metric") == "average_response_time":
            return f"at most {r['target']:g} h"
        return f"{r['target']:.0%}"

    cols = [
        ("rule", "rule", "{}"),
        ("window_hours", "window h", "{:g}"),
        ("target", "target", None),
        ("shops_rated", "shops rated", "{}"),
        ("share_meeting_target", "meet target", "{:.1%}"),
        ("counted_chats", "counted", "{:,}"),
        ("overall_rate", "in time", "{:.1%}"),
        ("pending", "pending", "{:,}"),
        ("excluded_holiday_mode", "ex:holiday", "{:,}"),
        ("excluded_blocked", "ex:blocked", "{:,}"),
        ("excluded_seller_initiated", "ex:seller", "{:,}"),
        ("excluded_auto_resolved", "ex:auto", "{:,}"),
        ("excluded_public_holiday", "ex:public hol.", "{:,}"),
        ("excluded_no_response_needed", "ex:no resp.", "{:,}"),
    ]
    cols = [c for c in cols if c[0] in summary.columns]
    rows = [[h for _, h, _ in cols]]
    for r in summary.iter_rows(named=True):
        rows.append(
            [
                "-" if r[c] is None else (target(r) if f is None else f.format(r[c]))
                for c, _, f in cols
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
    lines = [
        "  ".join(
            v.rjust(w) if i else v.ljust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_metrics(args: argparse.Namespace) -> int:
    from chatsim.metrics import compare
    from chatsim.rules import resolve_rule
    from chatsim.schema import lenient_wording, write_table

    if args.out:
        check_output_file(args.out, "--out")
    engine, options = engine_options(args)
    if args.chats_out and engine == "buckets":
        from chatsim.scale.evaluate import check_chats_out

        check_chats_out(args.chats_out)
        check_output_folder(args.chats_out, "--chats-out")
    elif args.chats_out:
        check_output_file(args.chats_out, "--chats-out")
    rules = [resolve_rule(r) for r in (args.rule or ["legacy-24h", "new-12h"])]
    if args.daily is not None:
        return _daily_metrics(args, rules, engine, options)
    if args.zone is not None:
        raise EngineError("--zone applies with --daily (whose day ends it sets); add --daily.")
    t0 = time.perf_counter()
    with lenient_wording("rerun with --lenient"):
        ev = compare(args.log, rules, as_of=args.as_of, engine=engine, **options)
    elapsed = time.perf_counter() - t0
    if ev.dropped:
        print(
            f"lenient read dropped {sum(ev.dropped.values()):,} row(s): {ev.dropped}",
            file=sys.stderr,
        )
    print(
        f"{ev.messages_used:,} messages up to {ev.as_of:%Y-%m-%d %H:%M} UTC"
        + (
            f" ({ev.messages_after_cutoff:,} after the cutoff ignored)"
            if ev.messages_after_cutoff
            else ""
        )
        + f", {elapsed:.1f} s"
    )
    print(format_summary(ev.summary(), ev.rules))
    if args.out:
        write_table(ev.shops, Path(args.out))
        print(f"shop table: {args.out}")
    chats_written = getattr(ev, "chats_path", None)  # the buckets engine, bucket by bucket
    if chats_written is not None:
        n = len(list(Path(chats_written).glob("bucket=*.parquet")))
        print(
            f"chat tables: {chats_written}/bucket=*.parquet ({n} Parquet file(s), one per bucket)"
        )
    elif args.chats_out:
        write_table(ev.chats, Path(args.chats_out))
        print(f"chat table: {args.chats_out}")
    return 0


def _daily_metrics(
    args: argparse.Namespace, rules: list[Any], engine: str, options: dict[str, Any]
) -> int:
    """``chatsim metrics LOG --daily START..END``: :func:`chatsim.daily.compare_daily`, in
    memory or (``--buckets``, ``--engine buckets``) bucket by bucket."""
    from chatsim.daily import compare_daily, daily_summary
    from chatsim.schema import lenient_wording, write_table

    refused = [
        flag
        for flag, given in (
            ("--as-of", args.as_of is not None),
            ("--chats-out", bool(args.chats_out)),
        )
        if given
    ]
    if refused:
        raise EngineError(
            f"--daily takes each day's end as the cutoff and writes the shop tables only; "
            f"drop {', '.join(refused)}."
        )
    start, end = args.daily
    taken = ("lenient", "buckets", "memory_budget_gb", "work_dir") if engine == "buckets" else ()
    t0 = time.perf_counter()
    with lenient_wording("rerun with --lenient"):
        daily = compare_daily(
            args.log,
            rules,
            start=start,
            end=end,
            zone=args.zone,
            engine=engine,
            lenient=bool(options.get("lenient")),
            **{k: v for k, v in options.items() if k in taken and k != "lenient"},
        )
    elapsed = time.perf_counter() - t0
    where = f"in {args.zone}" if args.zone else "in each shop's time zone"
    print(
        f"{(end - start).days + 1} day(s) from {start} to {end}, day ends {where}, {elapsed:.1f} s"
    )
    print(daily_summary(daily))
    if args.out:
        write_table(daily, Path(args.out))
        print(f"daily shop table: {args.out}")
    return 0


def engine_options(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The engine ``chatsim metrics`` runs and the options its flags give.

    The engine is ``--engine``, else ``buckets`` with ``--buckets`` or for a log over
    :data:`LARGE_LOG_BYTES`, else ``polars``. A flag the engine does not take is passed
    on all the same, so that :func:`chatsim.metrics.compare` names it in its error.
    """
    engine = args.engine
    if engine is None:
        engine = "polars"
        if args.buckets is not None:
            engine = "buckets"
        elif _large_log(Path(args.log)):
            engine = "buckets"
            print(
                "large log: computing bucket by bucket in bounded memory (see docs/scaling.md)",
                file=sys.stderr,
            )
    options: dict[str, Any] = {}
    if args.lenient:
        options["lenient"] = True
    if args.buckets is not None:
        options["buckets"] = None if args.buckets == "auto" else args.buckets
    if args.memory_budget is not None:
        options["memory_budget_gb"] = args.memory_budget
    if args.work_dir is not None:
        options["work_dir"] = args.work_dir
    if engine == "buckets":
        # a progress bar for a person watching, or when asked
        options["progress"] = args.progress or sys.stderr.isatty()
        if args.chats_out:
            options["chats_out"] = args.chats_out
    elif engine == "polars":
        # the chat table only when it is written
        options["chats"] = bool(args.chats_out)
        if _small_log(Path(args.log)):
            from chatsim.engine import GlobalOrder

            options["window"] = GlobalOrder()
    elif engine == "spark" and args.progress:
        options["progress"] = True
    if args.progress and engine not in ("buckets", "spark"):
        print(
            f"chatsim: note: --progress applies to the buckets and spark engines; the {engine} "
            "engine shows no progress.",
            file=sys.stderr,
        )
    return engine, options


#: Parquet message data above this size is evaluated bucket by bucket (bounded memory).
LARGE_LOG_BYTES = 2 * 1024**3
#: Logs under this size run the rule logic's expression form (identical results): it takes
#: less time on them than the compiled state machine's one-time load (numba, ~0.4 s).
SMALL_LOG_BYTES = 1024**2


def _large_log(path: Path) -> bool:
    """True for a log folder whose Parquet message files exceed :data:`LARGE_LOG_BYTES`."""
    if not path.is_dir():
        return False
    msgs = path / "messages" if (path / "messages").is_dir() else path
    return sum(p.stat().st_size for p in msgs.rglob("*.parquet")) > LARGE_LOG_BYTES


def _small_log(path: Path) -> bool:
    """True for a log (file or folder) of less than :data:`SMALL_LOG_BYTES` of data files."""
    if not path.is_dir():
        return path.is_file() and path.stat().st_size < SMALL_LOG_BYTES
    total = 0
    for p in path.rglob("*"):
        if p.suffix.lower() in (".parquet", ".pq", ".csv", ".gz"):
            total += p.stat().st_size
            if total >= SMALL_LOG_BYTES:
                return False
    return True
