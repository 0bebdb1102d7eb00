"""The ``chatsim`` command line.

Subcommands:

* ``chatsim metrics LOG [--rule legacy-24h|new-12h|FILE ...] [--as-of TS] [--out FILE]
  [--chats-out FILE] [--engine polars|buckets|spark]``: :func:`chatsim.metrics.compare` with
  the engine chosen (each flag is an option of the engine that takes it; another engine
  refuses it by name); with ``--daily START..END [--zone Z]`` the shop table at the end of
  every day of the range (:func:`chatsim.daily.compare_daily`), one row per day, rule and shop
  (in memory, or bucket by bucket with ``--buckets``; Spark refuses it by name)
* ``chatsim simulate SCENARIO --out DIR [--workers N] [--shops N] [--days N]``
* ``chatsim report SCENARIO [--log LOG [--fit]] [--out reports/] [--small] [--show-code]
  [--replications N]``: the pages of :func:`chatsim.report.report_pages`
* ``chatsim fit LOG --out SCENARIO.yaml [--by COLUMN] [--per-shop] [--seed N]``: a scenario
  fitted to a chat log (:func:`chatsim.fit.fit_log`), every value commented with its source
* ``chatsim rules [--export DIR]``: show (and export as YAML) the built-in rules and the
  peer presets (:mod:`chatsim.presets`, as publicly described).

Errors of the package (bad file, bad rule, bad scenario, a bad flag value, an output path
that cannot be written) print one clear line and exit with status 2; no traceback. Output
paths are checked before any work. Warnings (:class:`~chatsim.errors.ChatsimWarning`) print
as one line each. The command starts light: each subcommand imports what
it uses when it runs (``chatsim --help`` imports neither polars nor any engine).

Example:
    >>> main(["rules"])  # doctest: +ELLIPSIS
    legacy-24h: answered within 24 h...
    0
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from chatsim.cliargs import (
    TABLE_SUFFIXES,
    as_of_timestamp,
    buckets_arg,
    check_output_file,
    check_output_folder,
    check_parent,
    check_scenario_file,
    daily_range,
    positive_float,
    positive_int,
    replications_arg,
)
from chatsim.errors import ChatsimError, ChatsimWarning, EngineError

__all__ = [
    "LARGE_LOG_BYTES",
    "SMALL_LOG_BYTES",
    "TABLE_SUFFIXES",
    "as_of_timestamp",
    "build_parser",
    "check_output_file",
    "check_output_folder",
    "main",
    "positive_float",
    "positive_int",
]

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

# the command line starts light: polars, the engines, the simulator, papermill and Altair
# are imported inside the subcommand that uses them (chatsim --help imports none of them)


def _format_summary(summary: pl.DataFrame, rules: Sequence[Any] = ()) -> str:
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
    engine, options = _engine_options(args)
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
    print(_format_summary(ev.summary(), ev.rules))
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


def _engine_options(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
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


def cmd_simulate(args: argparse.Namespace) -> int:
    from chatsim.scenario import load_scenario
    from chatsim.simulate import simulate_to_dir

    check_scenario_file(args.scenario)
    check_output_folder(args.out, "--out")
    sc = load_scenario(args.scenario)
    if args.shops is not None or args.days is not None:
        sc = sc.scaled(shops=args.shops, days=args.days)
    t0 = time.perf_counter()
    out = simulate_to_dir(sc, args.out, workers=args.workers, progress=not args.quiet)
    print(f"simulated scenario '{sc.name}' into {out} in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from chatsim.report import build_reports

    check_scenario_file(args.scenario)
    check_output_folder(args.out, "--out")
    paths = build_reports(
        args.scenario,
        log=args.log,
        out_dir=args.out,
        small=args.small,
        show_code=args.show_code,
        notebooks=args.notebook,
        progress=not args.quiet,
        shops=args.shops,
        days=args.days,
        replications=args.replications,
        fit=args.fit,
    )
    for p in paths:
        print(f"report: {p}")
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    from chatsim.errors import OutputError
    from chatsim.fit import fit_log
    from chatsim.schema import lenient_wording, read_log

    out = Path(args.out)
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise OutputError(f"--out {out}: name a .yaml file for the fitted scenario.")
    check_parent(out, "--out")
    t0 = time.perf_counter()
    with lenient_wording("rerun with --lenient"):
        log = read_log(args.log, lenient=args.lenient)
    fitted = fit_log(log, by=args.by, per_shop=args.per_shop, seed=args.seed)
    fitted.write(out)
    print(
        f"fitted {len(fitted.scenario.archetypes)} archetype(s) to {log.n_messages:,} messages "
        f"of {fitted.scenario.shops:,} shops in {time.perf_counter() - t0:.1f} s: {out}"
    )
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from chatsim.presets import PRESETS
    from chatsim.rules import BUILTIN_RULES

    if args.export:
        check_output_folder(args.export, "--export")
    listed = [(rule, "") for rule in BUILTIN_RULES.values()]
    listed += [(p.rule, f"  ({p.label}; sources: docs/policy.md)") for p in PRESETS.values()]
    for rule, note in listed:
        print(rule.describe() + note)
        if args.export:
            out = Path(args.export)
            out.mkdir(parents=True, exist_ok=True)
            rule.to_yaml(out / f"{rule.name}.yaml")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    p = _Parser(prog="chatsim", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    m = sub.add_parser("metrics", help="compute shop metrics of a chat log under one or more rules")
    m.add_argument("log", help="messages file (.parquet/.csv) or log folder")
    m.add_argument(
        "--rule",
        action="append",
        help="legacy-24h, new-12h or a rule YAML file; repeat for several (default: both built-ins)",
    )
    m.add_argument(
        "--as-of",
        type=as_of_timestamp,
        help="data cutoff, ISO-8601 with zone, Z or an offset (default: latest message)",
    )
    m.add_argument("--out", help="shop table output (.parquet or .csv); optional")
    m.add_argument(
        "--chats-out",
        help="write the chat table (.parquet or .csv; with --out or alone); in "
        "larger-than-memory mode a folder of Parquet files, one per bucket",
    )
    m.add_argument(
        "--lenient",
        action="store_true",
        help="drop rows with null keys, duplicate ids or implausible times (counted and "
        "reported) instead of failing",
    )
    m.add_argument(
        "--engine",
        help="polars (in memory), buckets (larger than memory, docs/scaling.md) or spark "
        "(docs/spark.md); default: polars, buckets with --buckets or over 2 GiB of Parquet",
    )
    m.add_argument(
        "--buckets",
        type=buckets_arg,
        help="larger-than-memory mode: 'auto' or a number of shop buckets "
        "(automatic for logs over 2 GiB of Parquet; docs/scaling.md)",
    )
    m.add_argument(
        "--memory-budget", type=positive_float, help="GiB per bucket in larger-than-memory mode"
    )
    m.add_argument(
        "--work-dir", help="scratch folder for repartitioning in larger-than-memory mode"
    )
    m.add_argument(
        "--progress",
        action="store_true",
        help="show progress: a bar per bucket (buckets engine, also when not a terminal) or "
        "Spark's progress bars (--engine spark); the polars engine shows none",
    )
    m.add_argument(
        "--daily",
        type=daily_range,
        metavar="START..END",
        help="the shop table at the end of every day from START to END (YYYY-MM-DD, both "
        "included), with each rule's trailing period and whether it is in force",
    )
    m.add_argument(
        "--zone",
        help="with --daily: the time zone whose day ends are the cutoffs (e.g. UTC); "
        "default: each shop's own zone",
    )
    m.set_defaults(func=cmd_metrics)

    s = sub.add_parser("simulate", help="generate a synthetic chat log from a scenario file")
    s.add_argument("scenario", help="scenario YAML (see scenarios/)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument(
        "--workers", type=positive_int, default=None, help="worker processes (default: all cores)"
    )
    s.add_argument("--shops", type=positive_int, help="override the number of shops")
    s.add_argument("--days", type=positive_int, help="override the number of days")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_simulate)

    r = sub.add_parser("report", help="run the report notebooks for a scenario into HTML")
    r.add_argument("scenario", help="scenario YAML")
    r.add_argument("--log", help="use this real chat log instead of simulating")
    r.add_argument("--out", default="reports", help="reports folder (default: reports/)")
    r.add_argument("--small", action="store_true", help="scale the scenario down (quick check)")
    r.add_argument("--shops", type=positive_int, help="scale the scenario to this many shops")
    r.add_argument("--days", type=positive_int, help="scale the scenario to this many days")
    r.add_argument("--show-code", action="store_true", help="show notebook code cells in the HTML")
    r.add_argument("--notebook", action="append", help="only this notebook (repeatable)")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.add_argument(
        "--replications",
        type=replications_arg,
        help="simulate the scenario N times (1-1000) for 95 %% intervals "
        "(default: the scenario's analysis.replications)",
    )
    r.add_argument(
        "--fit",
        action="store_true",
        help="fit a twin scenario to --log (kept as twin.yaml) and add the calibration page",
    )
    r.set_defaults(func=cmd_report)

    fi = sub.add_parser("fit", help="fit a scenario to a chat log")
    fi.add_argument("log", help="log folder or messages file (.parquet/.csv)")
    fi.add_argument("--out", required=True, help="the fitted scenario (.yaml)")
    fi.add_argument(
        "--by",
        help="shops-table column whose values become archetypes "
        "(default: groups found from the shops' behaviour)",
    )
    fi.add_argument(
        "--per-shop", action="store_true", help="one archetype per shop, pooled towards its group"
    )
    fi.add_argument("--seed", type=int, default=0, help="seed of the grouping and the scenario")
    fi.add_argument("--lenient", action="store_true", help="drop bad rows instead of failing")
    fi.set_defaults(func=cmd_fit)

    ru = sub.add_parser("rules", help="show the built-in rules and the peer presets")
    ru.add_argument(
        "--export", help="write each built-in rule and peer preset as YAML into this folder"
    )
    ru.set_defaults(func=cmd_rules)
    return p


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``chatsim metrics: error: ...``), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _show_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    print(f"chatsim: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chatsim`` command (returns the exit status: 2 on any error).

    Run as the command (``argv`` None: the arguments of the process), the process ends
    right after: the garbage collector's objects are frozen first, so that the interpreter's
    shutdown does not walk them again (after a ``metrics`` run with the compiled state
    machine loaded, that walk takes 0.3-0.8 s).
    """
    try:
        return _run(argv)
    finally:
        if argv is None:
            gc.freeze()


def _run(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a bad flag (2, one line printed)
        return exc.code if isinstance(exc.code, int) else 2
    with warnings.catch_warnings():
        warnings.simplefilter("always", ChatsimWarning)
        warnings.showwarning = _show_warning
        try:
            return args.func(args)
        except ChatsimError as exc:
            print(f"chatsim: error: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:  # the file system refused: name the path, no traceback
            where = exc.filename or "a file"
            what = exc.strerror or str(exc)
            print(
                f"chatsim: error: {where}: {what}; check the path and its permissions.",
                file=sys.stderr,
            )
            return 2
        except KeyboardInterrupt:  # Ctrl-C: outputs were cleaned up by the command itself
            print("chatsim: interrupted; nothing was left half-written.", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
