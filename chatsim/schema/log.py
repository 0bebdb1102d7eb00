"""Chat logs on disk and in memory: locate, scan lazily, read and validate, write.

* :func:`scan_log` finds a log's files (a messages file, a folder of message files, or a
  log folder with ``messages`` and optional ``shops``, ``holiday_mode``, ``blocked``)
  and returns a :class:`LazyLog`: nothing read yet, every table available as a polars
  ``LazyFrame`` (what the larger-than-memory path builds on);
* :func:`read_log` reads and validates the whole log into a :class:`ChatLog`;
* :func:`write_log` writes a :class:`ChatLog` as a log folder.

Example:
    >>> lazy = scan_log("chatsim/data/sample_log")  # doctest: +SKIP
    >>> lazy.fmt, [p.name for p in lazy.files]  # doctest: +SKIP
    ('csv', ['messages.csv'])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from chatsim.errors import SchemaError
from chatsim.schema.checks import (
    Exclusions,
    align_id,
    conform,
    validate_blocked,
    validate_holiday_mode,
    validate_messages,
    validate_shops,
)
from chatsim.schema.columns import MESSAGE_COLUMNS, TABLES, UTC_DATETIME
from chatsim.schema.messages import EXAMPLES

__all__ = [
    "SIDE_TABLES",
    "ChatLog",
    "Format",
    "LazyLog",
    "locate_log",
    "read_log",
    "scan_files",
    "scan_log",
    "write_log",
    "write_table",
]

Format = Literal["parquet", "csv"]
#: The optional tables beside the messages.
SIDE_TABLES = TABLES[1:]


@dataclass
class ChatLog:
    """A validated chat log: messages plus the optional shop tables.

    Build one with :func:`read_log` (files) or :meth:`ChatLog.from_frames`
    (in-memory frames); both validate.

    Example:
        >>> log = ChatLog.from_frames(pl.DataFrame({
        ...     "message_id": [1], "shop_id": ["s"], "conversation_id": ["c"], "buyer_id": ["b"],
        ...     "sent_at": ["2025-08-01T09:00:00+07:00"], "sender": ["buyer"], "kind": ["text"],
        ...     "is_broadcast": [False]}))
        >>> log.n_messages
        1
    """

    messages: pl.DataFrame
    shops: pl.DataFrame
    holiday_mode: pl.DataFrame
    blocked: pl.DataFrame
    source: str = "<memory>"
    dropped: Exclusions = field(default_factory=Exclusions)

    @property
    def n_messages(self) -> int:
        return self.messages.height

    @property
    def data_end(self) -> dt.datetime | None:
        """The latest message time: the default data cutoff."""
        return self.messages["sent_at"].max()  # type: ignore[return-value]

    @classmethod
    def from_frames(
        cls,
        messages: pl.DataFrame | pl.LazyFrame,
        shops: pl.DataFrame | pl.LazyFrame | None = None,
        holiday_mode: pl.DataFrame | pl.LazyFrame | None = None,
        blocked: pl.DataFrame | pl.LazyFrame | None = None,
        *,
        source: str = "<memory>",
        lenient: bool = False,
    ) -> ChatLog:
        """Validate in-memory tables into a ChatLog (missing shop tables are empty)."""
        dropped = Exclusions()
        msgs = validate_messages(messages, f"{source}:messages", lenient=lenient, dropped=dropped)
        id_dtype = msgs.schema["shop_id"]
        buyer_dtype = msgs.schema["buyer_id"]
        if shops is None:
            shop_ids = msgs["shop_id"].unique().sort()
            shops_df = pl.DataFrame(
                {"shop_id": shop_ids, "timezone": ["UTC"] * len(shop_ids)},
                schema={"shop_id": id_dtype, "timezone": pl.String},
            ).with_columns(pl.lit(False).alias("chatbot_enabled"))
        else:
            shops_df = validate_shops(shops, f"{source}:shops")
            shops_df = align_id(shops_df, "shop_id", id_dtype, f"{source}:shops")
            missing = (
                msgs.select(pl.col("shop_id").unique())
                .join(shops_df.select("shop_id"), on="shop_id", how="anti")
                .sort("shop_id")
            )
            if missing.height:
                raise SchemaError(
                    f"{source}:shops: {missing.height} shop(s) that appear in messages have no "
                    f"row in the shops table (e.g. {missing['shop_id'].head(EXAMPLES).to_list()}); "
                    "add them with their time zone."
                )
        if holiday_mode is None:
            hol = pl.DataFrame(
                schema={"shop_id": id_dtype, "start": UTC_DATETIME, "end": UTC_DATETIME}
            )
        else:
            hol = align_id(
                validate_holiday_mode(holiday_mode, f"{source}:holiday_mode"),
                "shop_id",
                id_dtype,
                f"{source}:holiday_mode",
            )
        if blocked is None:
            blk = pl.DataFrame(
                schema={"shop_id": id_dtype, "buyer_id": buyer_dtype, "blocked_at": UTC_DATETIME}
            )
        else:
            blk = validate_blocked(blocked, f"{source}:blocked")
            blk = align_id(blk, "shop_id", id_dtype, f"{source}:blocked")
            blk = align_id(blk, "buyer_id", buyer_dtype, f"{source}:blocked")
        return cls(msgs, shops_df, hol, blk, source=source, dropped=dropped)


# --------------------------------------------------------------------------------------
# Locating and scanning
# --------------------------------------------------------------------------------------


def _find_table(root: Path, name: str) -> Path | None:
    for cand in (root / f"{name}.parquet", root / f"{name}.csv", root / name):
        if cand.exists():
            return cand
    return None


def locate_log(
    path: str | Path,
    *,
    shops: str | Path | None = None,
    holiday_mode: str | Path | None = None,
    blocked: str | Path | None = None,
) -> tuple[Path, dict[str, Path | None]]:
    """The messages path and the side-table paths of a log (the layout :func:`read_log` reads).

    Explicit side-table paths win; otherwise a log folder's ``shops``, ``holiday_mode``
    and ``blocked`` tables are used when present.

    Example:
        >>> msgs, side = locate_log("chatsim/data/sample_log")  # doctest: +SKIP
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
        found = _find_table(root, "messages")
        if found is not None:
            msg_path = found
            for name in side:
                if side[name] is None:
                    side[name] = _find_table(root, name)
    for name, p in side.items():
        if p is not None and not p.exists():
            raise SchemaError(f"{p}: no such file for the {name} table.")
    return msg_path, side


def _table_files(path: Path) -> tuple[tuple[Path, ...], Format]:
    """A table's files and their format: a Parquet/CSV file or a folder of them."""
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if files:
            return tuple(files), "parquet"
        files = sorted(path.rglob("*.csv"))
        if files:
            return tuple(files), "csv"
        raise SchemaError(f"{path}: folder holds no .parquet or .csv files.")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return (path,), "parquet"
    if suffix in (".csv", ".gz"):
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


def _scan_table(path: Path) -> pl.LazyFrame:
    return scan_files(*_table_files(path))


@dataclass(frozen=True)
class LazyLog:
    """A chat log located on disk and not read yet (see :func:`scan_log`).

    Attributes:
        source: the path given (named in error messages).
        messages_path: the messages file or folder.
        files: the message files (one, or a folder's ``*.parquet`` / ``*.csv``, sorted).
        fmt: their format, ``"parquet"`` or ``"csv"``.
        side: the side tables' paths (``shops``, ``holiday_mode``, ``blocked``; None
            where the log has none).
    """

    source: str
    messages_path: Path
    files: tuple[Path, ...]
    fmt: Format
    side: dict[str, Path | None]

    def scan(self, files: Sequence[Path] | None = None) -> pl.LazyFrame:
        """The messages of all files (or of ``files``) as stored (CSV columns as text)."""
        return scan_files(self.files if files is None else files, self.fmt)

    def messages(self, files: Sequence[Path] | None = None) -> pl.LazyFrame:
        """The messages with their column types checked and cast (:func:`conform`); lazy.

        Values are not checked (that needs the data): text timestamps and booleans stay
        text; :meth:`read` and :func:`chatsim.schema.validate_messages` check them.
        """
        return conform(self.scan(files), MESSAGE_COLUMNS, self.source)

    def side_table(self, name: str) -> pl.LazyFrame | None:
        """A side table (``shops``, ``holiday_mode`` or ``blocked``) as stored, or None."""
        path = self.side[name]
        return _scan_table(path) if path is not None else None

    def read(self, *, lenient: bool = False) -> ChatLog:
        """Read and validate the whole log (:func:`read_log`)."""
        frames = {name: self.side_table(name) for name in SIDE_TABLES}
        log = ChatLog.from_frames(
            self.scan(),
            frames["shops"],
            frames["holiday_mode"],
            frames["blocked"],
            source=str(self.messages_path)
            if self.messages_path != Path(self.source)
            else self.source,
            lenient=lenient,
        )
        log.source = self.source
        return log


def scan_log(
    path: str | Path,
    *,
    shops: str | Path | None = None,
    holiday_mode: str | Path | None = None,
    blocked: str | Path | None = None,
) -> LazyLog:
    """Locate a log's files without reading them (the layout :func:`read_log` reads).

    Example:
        >>> lazy = scan_log("chatsim/data/sample_log")  # doctest: +SKIP
        >>> lazy.messages().collect_schema()["sender"]  # doctest: +SKIP
        String
    """
    msg_path, side = locate_log(path, shops=shops, holiday_mode=holiday_mode, blocked=blocked)
    files, fmt = _table_files(msg_path)
    return LazyLog(str(Path(path)), msg_path, files, fmt, side)


def read_log(
    path: str | Path,
    *,
    shops: str | Path | None = None,
    holiday_mode: str | Path | None = None,
    blocked: str | Path | None = None,
    lenient: bool = False,
) -> ChatLog:
    """Read and validate a chat log.

    ``path`` is a messages file (Parquet or CSV), a folder of message files, or a
    log folder holding ``messages`` (file or folder) and optionally ``shops``,
    ``holiday_mode`` and ``blocked`` tables (``.parquet`` or ``.csv``), the layout
    ``chatsim simulate`` writes. Side tables may also be given explicitly.

    Example:
        >>> log = read_log("chatsim/data/sample_log")  # doctest: +SKIP
    """
    lazy = scan_log(path, shops=shops, holiday_mode=holiday_mode, blocked=blocked)
    return lazy.read(lenient=lenient)


def write_table(df: pl.DataFrame, path: str | Path) -> Path:
    """Write one table as Parquet or CSV, by the file's suffix (its folder is created).

    CSV timestamps are written as ISO-8601 with a ``Z`` suffix, so they read back unchanged.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise SchemaError(f"{out}: use a .parquet or .csv file name.")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        df.with_columns(
            pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
            for c, t in df.schema.items()
            if isinstance(t, pl.Datetime)
        ).write_csv(out)
    else:
        df.write_parquet(out)
    return out


def write_log(log: ChatLog, out_dir: str | Path, fmt: Format = "parquet") -> Path:
    """Write a ChatLog as a log folder (``messages``, ``shops``, ``holiday_mode``, ``blocked``).

    CSV output writes timestamps as ISO-8601 with a ``Z`` suffix so it reads back unchanged.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        write_table(getattr(log, name), out / f"{name}.{fmt}")
    return out
