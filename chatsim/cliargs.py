"""Flag values and output paths of the command line, checked before any work.

Argparse ``type`` functions (each refuses 0, negatives and non-numbers with one line) and
the output-path checks that raise :class:`~chatsim.errors.OutputError` naming the flag and
the path.

Example:
    >>> positive_int("3")
    3
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
from pathlib import Path

from chatsim.errors import OutputError

__all__ = [
    "TABLE_SUFFIXES",
    "as_of_timestamp",
    "buckets_arg",
    "check_output_file",
    "check_output_folder",
    "check_parent",
    "check_scenario_file",
    "daily_range",
    "nearest_existing",
    "parse_iso_time",
    "positive_float",
    "positive_int",
    "replications_arg",
]

#: The file name endings a table output takes.
TABLE_SUFFIXES = (".parquet", ".pq", ".csv")


def positive_int(value: str) -> int:
    """A flag's whole number >= 1 (argparse ``type``).

    Example:
        >>> positive_int("3")
        3
        >>> positive_int("0")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: takes a whole number >= 1, not '0'
    """
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"takes a whole number >= 1, not {value!r}")
    return n


def replications_arg(value: str) -> int:
    """A ``--replications`` value: a whole number from 1 to 1,000 (argparse ``type``).

    Example:
        >>> replications_arg("20")
        20
        >>> replications_arg("5000")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: takes a whole number from 1 to 1000, not '5000'
    """
    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= 1000:
        raise argparse.ArgumentTypeError(f"takes a whole number from 1 to 1000, not {value!r}")
    return n


def positive_float(value: str) -> float:
    """A flag's finite number > 0 (argparse ``type``).

    Example:
        >>> positive_float("0.5")
        0.5
    """
    try:
        x = float(value)
    except ValueError:
        x = float("nan")
    if not (x > 0 and x != float("inf")):
        raise argparse.ArgumentTypeError(f"takes a number > 0, not {value!r}")
    return x


def buckets_arg(value: str) -> int | str:
    """``--buckets``: ``auto`` or a whole number >= 1 (argparse ``type``)."""
    if value == "auto":
        return value
    try:
        return positive_int(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"takes 'auto' or a whole number >= 1, not {value!r}"
        ) from None


def parse_iso_time(value: str) -> dt.datetime:
    """An ISO-8601 time as written, aware or naive: ``Z`` and ``z`` mean UTC, ``t`` may
    separate date and time (ISO 8601 allows both cases). ValueError if it does not parse.

    The one reading of a cutoff time, for ``--as-of`` and for
    :func:`chatsim.metrics.data_cutoff`.

    Example:
        >>> parse_iso_time("2025-08-20t07:00:00z")
        datetime.datetime(2025, 8, 20, 7, 0, tzinfo=datetime.timezone.utc)
    """
    text = re.sub(r"[zZ]$", "+00:00", value.strip())
    text = re.sub(r"^(\d{4}-\d{2}-\d{2})t", r"\1T", text)
    return dt.datetime.fromisoformat(text)


def as_of_timestamp(value: str) -> dt.datetime:
    """``--as-of``: an ISO-8601 time with its zone (``Z``, ``z`` or an offset), as UTC.

    Example:
        >>> as_of_timestamp("2025-08-20t00:00:00z")
        datetime.datetime(2025, 8, 20, 0, 0, tzinfo=datetime.timezone.utc)
    """
    try:
        ts = parse_iso_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO-8601 time; give e.g. 2025-09-14T00:00:00Z"
        ) from None
    if ts.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} has no time zone; add Z or an offset, e.g. 2025-09-14T00:00:00+07:00"
        )
    return ts.astimezone(dt.UTC)


def daily_range(value: str) -> tuple[dt.date, dt.date]:
    """``--daily START..END``: two dates (``YYYY-MM-DD``), both included, START first.

    Example:
        >>> daily_range("2025-07-15..2025-08-31")
        (datetime.date(2025, 7, 15), datetime.date(2025, 8, 31))
        >>> daily_range("2025-08-31..2025-07-15")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: '2025-08-31..2025-07-15': the end is before the start; give START..END, e.g. 2025-07-15..2025-08-31
    """
    example = "e.g. 2025-07-15..2025-08-31"
    start, sep, end = value.partition("..")
    try:
        if not sep:
            raise ValueError
        first, last = dt.date.fromisoformat(start.strip()), dt.date.fromisoformat(end.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date range; give START..END as YYYY-MM-DD..YYYY-MM-DD, {example}"
        ) from None
    if last < first:
        raise argparse.ArgumentTypeError(
            f"{value!r}: the end is before the start; give START..END, {example}"
        )
    return first, last


def nearest_existing(path: Path) -> Path:
    """The path itself or the nearest folder above it that exists."""
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_parent(path: Path, flag: str) -> None:
    """The folder an output goes into must be a folder we can write (or create)."""
    base = nearest_existing(path.parent)
    if not base.is_dir():
        raise OutputError(f"{flag} {path}: {base} is a file, not a folder; choose another path.")
    if not os.access(base, os.W_OK | os.X_OK):
        raise OutputError(
            f"{flag} {path}: cannot write into {base} (read-only or no permission); "
            "choose a folder you can write to."
        )


def check_output_file(path: str | Path, flag: str = "--out") -> Path:
    """An output table path, checked before any work (:class:`OutputError` naming it).

    Its name must end in ``.parquet``, ``.pq`` or ``.csv``; it must not be a folder; its
    folder must be creatable and writable.

    Example:
        >>> check_output_file("shops.xlsx")
        Traceback (most recent call last):
        ...
        chatsim.errors.OutputError: --out shops.xlsx: unsupported file type '.xlsx'; name a .parquet or .csv file.
    """
    out = Path(path)
    if out.suffix.lower() not in TABLE_SUFFIXES:
        kind = f"file type '{out.suffix}'" if out.suffix else "file name (no .parquet or .csv)"
        raise OutputError(f"{flag} {out}: unsupported {kind}; name a .parquet or .csv file.")
    if out.is_dir():
        raise OutputError(
            f"{flag} {out}: is a folder; name a file such as {out / 'shops.parquet'}."
        )
    if out.exists() and not os.access(out, os.W_OK):
        raise OutputError(f"{flag} {out}: the file is read-only; choose another path.")
    check_parent(out, flag)
    return out


def check_output_folder(path: str | Path, flag: str = "--out") -> Path:
    """An output folder, checked before any work (:class:`OutputError` naming it).

    It must not be a file; it (or the nearest folder above it that exists) must be
    writable.

    Example:
        >>> check_output_folder("chatsim/__init__.py")
        Traceback (most recent call last):
        ...
        chatsim.errors.OutputError: --out chatsim/__init__.py: is a file, not a folder; choose a folder path.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{flag} {out}: is a file, not a folder; choose a folder path.")
    if out.is_dir():
        if not os.access(out, os.W_OK | os.X_OK):
            raise OutputError(
                f"{flag} {out}: cannot write into it (read-only or no permission); "
                "choose a folder you can write to."
            )
        return out
    check_parent(out, flag)
    return out


def check_scenario_file(path: str) -> None:
    """A scenario path must be a file (:class:`OutputError` naming a folder)."""
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"{p}: is a folder; give a scenario YAML file (see scenarios/).")
