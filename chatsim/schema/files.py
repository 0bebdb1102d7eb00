"""A chat log's files: where its tables are, how they are scanned, and reading them safely.

* :func:`locate_log` finds the messages and the side tables of a log (folder or file);
* :func:`table_files` lists a table's files and their format;
* :func:`scan_files` scans files of one format as one lazy frame;
* :func:`check_readable` and :func:`read_guard` turn a file polars cannot read (empty,
  truncated, not Parquet, not UTF-8...) into a :class:`~chatsim.errors.SchemaError` naming
  the file, instead of a traceback.

Example:
    >>> msgs, side = locate_log("chatsim/data/sample_log")  # doctest: +SKIP
    >>> msgs.name, sorted(k for k, v in side.items() if v)  # doctest: +SKIP
    ('messages.csv', ['blocked', 'holiday_mode', 'shops'])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import polars as pl
from polars.exceptions import PanicException, PolarsError

from chatsim.errors import SchemaError
from chatsim.schema.columns import TABLES
from chatsim.schema.messages import no_messages_table_error, unreadable_error

__all__ = [
    "DATA_SUFFIXES",
    "Format",
    "check_readable",
    "locate_log",
    "read_guard",
    "scan_files",
    "table_files",
]

Format = Literal["parquet", "csv"]
#: File name endings of the tables a log may hold, by format.
DATA_SUFFIXES: dict[str, Format] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
#: What polars raises on a file it cannot read (PanicException is a BaseException).
READ_ERRORS = (PolarsError, PanicException, OSError, UnicodeDecodeError)


def _find_table(root: Path, name: str) -> Path | None:
    for cand in (root / f"{name}.parquet", root / f"{name}.csv", root / name):
        if cand.exists():
            return cand
    return None


def _holds_data(folder: Path) -> bool:
    return any(p.suffix.lower() in (*DATA_SUFFIXES, ".gz") for p in folder.rglob("*"))


def locate_log(
    path: str | Path,
    *,
    shops: str | Path | None = None,
    holiday_mode: str | Path | None = None,
    blocked: str | Path | None = None,
) -> tuple[Path, dict[str, Path | None]]:
    """The messages path and the side-table paths of a log (the layout ``read_log`` reads).

    Explicit side-table paths win; otherwise a log folder's ``shops``, ``holiday_mode``
    and ``blocked`` tables are used when present. A folder holding side tables but no
    ``messages`` table is refused, listing what it holds.
    """
    root = Path(path)
    if not root.exists():
        raise SchemaError(f"{root}: no such file or folder.")
    msg_path = root
    side: dict[str, Path | None] = {
        "shops": Path(shops) if shops else None,
        "holiday_mode": Path(holiday_mode) if holiday_mode else None,
        "blocked": Path(blocked) if blocked else None,
    }
    if root.is_dir():
        from chatsim.logfolder import check_complete  # a stopped simulation's output is refused

        check_complete(root)
        found = _find_table(root, "messages")
        entries = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
        if found is not None:
            msg_path = found
            for name in side:
                if side[name] is None:
                    side[name] = _find_table(root, name)
        elif any(_find_table(root, name) for name in TABLES[1:]):
            raise no_messages_table_error(str(root), entries)
    for name, p in side.items():
        if p is not None and not p.exists():
            raise SchemaError(f"{p}: no such file for the {name} table.")
        if p is not None and p.is_dir() and not _holds_data(p):
            raise SchemaError(f"{p}: the {name} folder holds no .parquet or .csv files.")
    return msg_path, side


def table_files(path: Path) -> tuple[tuple[Path, ...], Format]:
    """A table's files and their format: a Parquet/CSV file or a folder of them.

    Example:
        >>> table_files(Path("chatsim/data/sample_log/shops.csv"))
        ((PosixPath('chatsim/data/sample_log/shops.csv'),), 'csv')
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file())
        if files:
            return tuple(files), "parquet"
        files = sorted(p for p in path.rglob("*.csv") if p.is_file())
        if files:
            return tuple(files), "csv"
        raise SchemaError(f"{path}: folder holds no .parquet or .csv files.")
    suffix = path.suffix.lower()
    if suffix in DATA_SUFFIXES:
        return (path,), DATA_SUFFIXES[suffix]
    if suffix == ".gz":
        return (path,), "csv"
    raise SchemaError(f"{path}: unsupported file type; use .parquet or .csv (or a folder of them).")


def scan_files(files: Sequence[Path], fmt: Format) -> pl.LazyFrame:
    """Message (or side-table) files of one format as one lazy frame, as stored.

    CSV columns are read as text: the validators parse and check them, so that a bad
    value is reported by column instead of failing inside the CSV parser.
    """
    if fmt == "parquet":
        return pl.scan_parquet(list(files), hive_partitioning=False)
    return pl.scan_csv(list(files), infer_schema=False)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first if len(first) <= 160 else first[:157] + "..."


def check_readable(files: Sequence[Path], fmt: Format) -> None:
    """Refuse, naming it, the first file that is empty or whose header or footer is unreadable.

    Cheap: reads a Parquet file's footer, a CSV file's header line. Damage inside a
    Parquet file's data is found when the data is read (:func:`read_guard`).
    """
    for f in files:
        try:
            if f.stat().st_size == 0:
                raise unreadable_error(str(f), fmt, "the file is empty (0 bytes)")
            scan_files([f], fmt).collect_schema()
        except READ_ERRORS as exc:
            raise unreadable_error(str(f), fmt, _reason(exc)) from None


def _culprit(files: Sequence[Path], fmt: Format) -> tuple[Path, BaseException] | None:
    """The first file whose whole content cannot be read (streaming), with the error."""
    for f in files:
        try:
            scan_files([f], fmt).select(pl.all().null_count()).collect(engine="streaming")
        except READ_ERRORS as exc:
            return f, exc
    return None


@contextmanager
def read_guard(files: Sequence[Path], fmt: Format) -> Iterator[None]:
    """Turn a polars read failure inside the block into a :class:`SchemaError` naming the file.

    On a failure the files are read one by one to find the damaged one; errors chatsim
    raises on purpose pass through unchanged.

    Example:
        >>> with read_guard([Path("chatsim/data/sample_log/shops.csv")], "csv"):
        ...     pl.read_csv("chatsim/data/sample_log/shops.csv").height
        4
    """
    try:
        yield
    except READ_ERRORS as exc:
        found = _culprit(files, fmt) if len(files) > 1 else None
        if found is not None:
            raise unreadable_error(str(found[0]), fmt, _reason(found[1])) from None
        where = str(files[0]) if len(files) == 1 else f"one of {len(files)} files under "
        if len(files) > 1:
            where += str(Path(files[0]).parent)
        raise unreadable_error(where, fmt, _reason(exc)) from None
