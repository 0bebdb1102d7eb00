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
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from chatsim.errors import ChatsimWarning, SchemaError
from chatsim.schema.checks import (
    Exclusions,
    align_id,
    check_messages,
    conform,
    validate_blocked,
    validate_holiday_mode,
    validate_shops,
)
from chatsim.schema.columns import MESSAGE_COLUMNS, TABLES, UTC_DATETIME
from chatsim.schema.files import (
    Format,
    check_readable,
    locate_log,
    read_guard,
    scan_files,
    table_files,
)

# Format, locate_log and scan_files are chatsim.schema.files': imported here for the readers
from chatsim.schema.messages import EXAMPLES

__all__ = [
    "SIDE_TABLES",
    "ChatLog",
    "LazyLog",
    "read_log",
    "scan_log",
    "unmatched_shop_rows",
    "write_log",
    "write_table",
]

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
        sent_at_range: tuple[dt.datetime, dt.datetime] | None = None,
        sources: Mapping[str, str] | None = None,
        ids: Mapping[str, pl.DataType] | None = None,
        check_unmatched: bool = True,
    ) -> ChatLog:
        """Validate in-memory tables into a ChatLog (missing shop tables are empty).

        ``sources`` names each table in messages (default ``"{source}:{table}"``);
        ``sent_at_range``, ``lenient`` and ``ids`` are :func:`validate_messages`'s. Holiday
        and blocked rows of shops without messages are reported as a
        :class:`~chatsim.errors.ChatsimWarning` (``check_unmatched=False``: not here).
        """
        names = {t: f"{source}:{t}" for t in TABLES} | dict(sources or {})
        dropped = Exclusions()
        checked = check_messages(
            messages,
            names["messages"],
            lenient=lenient,
            dropped=dropped,
            sent_at_range=sent_at_range,
            ids=ids,
        )
        msgs = checked.frame
        id_dtype = msgs.schema["shop_id"]
        buyer_dtype = msgs.schema["buyer_id"]
        # the shops that have messages (found by the checks): one row each
        present = checked.shop_ids.cast(id_dtype).to_frame("shop_id")
        if shops is None:
            shop_ids = present["shop_id"].sort()
            shops_df = pl.DataFrame(
                {"shop_id": shop_ids, "timezone": ["UTC"] * len(shop_ids)},
                schema={"shop_id": id_dtype, "timezone": pl.String},
            ).with_columns(pl.lit(False).alias("chatbot_enabled"))
        else:
            shops_df = validate_shops(shops, names["shops"])
            shops_df = align_id(shops_df, "shop_id", id_dtype, names["shops"])
            missing = present.join(shops_df.select("shop_id"), on="shop_id", how="anti").sort(
                "shop_id"
            )
            if missing.height:
                raise SchemaError(
                    f"{names['shops']}: {missing.height} shop(s) that appear in messages have no "
                    f"row in the shops table (e.g. {missing['shop_id'].head(EXAMPLES).to_list()}); "
                    "add them with their time zone."
                )
        if holiday_mode is None:
            hol = pl.DataFrame(
                schema={"shop_id": id_dtype, "start": UTC_DATETIME, "end": UTC_DATETIME}
            )
        else:
            hol = align_id(
                validate_holiday_mode(holiday_mode, names["holiday_mode"]),
                "shop_id",
                id_dtype,
                names["holiday_mode"],
            )
        if blocked is None:
            blk = pl.DataFrame(
                schema={"shop_id": id_dtype, "buyer_id": buyer_dtype, "blocked_at": UTC_DATETIME}
            )
        else:
            blk = validate_blocked(blocked, names["blocked"])
            blk = align_id(blk, "shop_id", id_dtype, names["blocked"])
            blk = align_id(blk, "buyer_id", buyer_dtype, names["blocked"])
        if check_unmatched and msgs.height:  # (an empty log is reported as such)
            for name, table in (("holiday_mode", hol), ("blocked", blk)):
                unmatched_shop_rows(table, present, names[name])
        return cls(msgs, shops_df, hol, blk, source=source, dropped=dropped)


def unmatched_shop_rows(table: pl.DataFrame, shop_ids: pl.DataFrame, source: str) -> int:
    """Warn (:class:`~chatsim.errors.ChatsimWarning`) about side-table rows naming shops
    that have no messages (``shop_ids``: one ``shop_id`` column); returns their count.

    Such rows change no result, but usually mean the side table and the messages do not
    match (another export, other ids).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as w:
        ...     warnings.simplefilter("always")
        ...     unmatched_shop_rows(pl.DataFrame({"shop_id": ["s", "x"]}),
        ...                         pl.DataFrame({"shop_id": ["s"]}), "blocked.csv")
        1
        >>> print(w[0].message)
        blocked.csv: 1 row(s) name shops with no messages (e.g. ['x']); they change no result. Check that the table belongs to this log.
    """
    rows = table.join(shop_ids, on="shop_id", how="anti")
    if rows.height:
        ex = rows["shop_id"].unique().sort().head(EXAMPLES).to_list()
        warnings.warn(
            f"{source}: {rows.height} row(s) name shops with no messages (e.g. {ex}); they "
            "change no result. Check that the table belongs to this log.",
            ChatsimWarning,
            stacklevel=3,
        )
    return rows.height


# --------------------------------------------------------------------------------------
# Locating and scanning
# --------------------------------------------------------------------------------------


def _scan_table(path: Path) -> pl.LazyFrame:
    return scan_files(*table_files(path))


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

    def read_side_table(self, name: str) -> pl.DataFrame | None:
        """A side table read whole, as stored (an unreadable file is a SchemaError naming it)."""
        path = self.side[name]
        if path is None:
            return None
        files, fmt = table_files(path)
        with read_guard(files, fmt):
            return scan_files(files, fmt).collect()

    def sources(self) -> dict[str, str]:
        """How messages name each table: its file (or folder) path."""
        out = {name: str(p) for name, p in self.side.items() if p is not None}
        out["messages"] = str(self.messages_path)
        return out

    def read(
        self,
        *,
        lenient: bool = False,
        sent_at_range: tuple[dt.datetime, dt.datetime] | None = None,
    ) -> ChatLog:
        """Read and validate the whole log (:func:`read_log`)."""
        frames = {name: self.read_side_table(name) for name in SIDE_TABLES}
        with read_guard(self.files, self.fmt):
            messages = self.scan().collect()
        log = ChatLog.from_frames(
            messages,
            frames["shops"],
            frames["holiday_mode"],
            frames["blocked"],
            source=self.source,
            sources=self.sources(),
            lenient=lenient,
            sent_at_range=sent_at_range,
        )
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
    files, fmt = table_files(msg_path)
    check_readable(files, fmt)
    for p in side.values():
        if p is not None:
            check_readable(*table_files(p))
    return LazyLog(str(Path(path)), msg_path, files, fmt, side)


def read_log(
    path: str | Path,
    *,
    shops: str | Path | None = None,
    holiday_mode: str | Path | None = None,
    blocked: str | Path | None = None,
    lenient: bool = False,
    sent_at_range: tuple[dt.datetime, dt.datetime] | None = None,
) -> ChatLog:
    """Read and validate a chat log.

    ``path`` is a messages file (Parquet or CSV), a folder of message files, or a
    log folder holding ``messages`` (file or folder) and optionally ``shops``,
    ``holiday_mode`` and ``blocked`` tables (``.parquet`` or ``.csv``), the layout
    ``chatsim simulate`` writes. Side tables may also be given explicitly.

    A message time outside ``sent_at_range`` (default
    :func:`~chatsim.schema.plausible_sent_at_range`: 2000-01-01 to a year from now) is
    refused, or dropped and counted with ``lenient=True``.

    Example:
        >>> log = read_log("chatsim/data/sample_log")  # doctest: +SKIP
    """
    lazy = scan_log(path, shops=shops, holiday_mode=holiday_mode, blocked=blocked)
    return lazy.read(lenient=lenient, sent_at_range=sent_at_range)


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
