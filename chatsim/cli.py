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
from typing import Any, NoReturn

from chatsim.cli_metrics import LARGE_LOG_BYTES, SMALL_LOG_BYTES, cmd_metrics
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
from chatsim.errors import ChatsimError, ChatsimWarning

__all__ = [
    "LARGE_LOG_BYTES",
    "SMALL_LOG_BYTES",
    "TABLE_SUFFIXES",
    "as_of_timestamp",
    "build_parser",
    "cmd_metrics",
    "check_output_file",
    "check_output_folder",
    "main",
    "positive_float",
    "positive_int",
]

# the command line starts light: polars, the engines, the simulator, papermill and Altair
# are imported inside the subcommand that uses them (chatsim --help imports none of them)


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
