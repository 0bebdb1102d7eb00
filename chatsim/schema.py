"""The chat-log schema: column definitions, readers and validation.

A chat log is a folder (or explicit files) holding four tables:

* ``messages``: one row per chat message (see :data:`MESSAGE_COLUMNS`);
* ``shops``: ``shop_id``, ``timezone``, optional ``chatbot_enabled`` and segment columns;
* ``holiday_mode``: ``shop_id``, ``start``, ``end`` (half-open intervals);
* ``blocked``: ``shop_id``, ``buyer_id``, ``blocked_at``.

Only ``messages`` is required. Timestamps must be timezone-aware and are stored
as UTC. Every check raises :class:`~chatsim.errors.SchemaError` naming the file,
the column, how many rows offend and a few examples. The full reference is
``docs/schema.md``.

Example:
    >>> import polars as pl, datetime as dt
    >>> df = pl.DataFrame({
    ...     "message_id": [1], "shop_id": ["s1"], "conversation_id": ["c1"],
    ...     "buyer_id": ["b1"],
    ...     "sent_at": [dt.datetime(2025, 8, 1, tzinfo=dt.timezone.utc)],
    ...     "sender": ["buyer"], "kind": ["text"], "is_broadcast": [False]})
    >>> validate_messages(df).schema["sender"]
    Enum(categories=['buyer', 'seller', 'auto'])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import available_timezones

import polars as pl

from chatsim.errors import SchemaError

SENDERS: tuple[str, ...] = ("buyer", "seller", "auto")
KINDS: tuple[str, ...] = (
    "text",
    "sticker",
    "emoji",
    "image",
    "video",
    "order_card",
    "product_card",
    "system",
)
RATINGS: tuple[str, ...] = ("satisfied", "unsatisfied")

SENDER_DTYPE = pl.Enum(list(SENDERS))
KIND_DTYPE = pl.Enum(list(KINDS))
RATING_DTYPE = pl.Enum(list(RATINGS))
UTC_DATETIME = pl.Datetime("us", "UTC")

ID = "id"  # marker: string or integer identifier column
TS = "ts"  # marker: timezone-aware timestamp column

#: Messages table: column -> (kind of column, required).
MESSAGE_COLUMNS: dict[str, tuple[object, bool]] = {
    "message_id": (ID, True),
    "shop_id": (ID, True),
    "conversation_id": (ID, True),
    "buyer_id": (ID, True),
    "sent_at": (TS, True),
    "sender": (SENDER_DTYPE, True),
    "kind": (KIND_DTYPE, True),
    "is_broadcast": (pl.Boolean, True),
    "rating": (RATING_DTYPE, False),
    "valid_reply": (pl.Boolean, False),
}
SHOP_COLUMNS: dict[str, tuple[object, bool]] = {
    "shop_id": (ID, True),
    "timezone": (pl.String, True),
    "chatbot_enabled": (pl.Boolean, False),
}
HOLIDAY_COLUMNS: dict[str, tuple[object, bool]] = {
    "shop_id": (ID, True),
    "start": (TS, True),
    "end": (TS, True),
}
BLOCKED_COLUMNS: dict[str, tuple[object, bool]] = {
    "shop_id": (ID, True),
    "buyer_id": (ID, True),
    "blocked_at": (TS, True),
}

TABLES = ("messages", "shops", "holiday_mode", "blocked")
_EXAMPLES = 5


def _examples(df: pl.DataFrame, n: int = _EXAMPLES) -> str:
    rows = df.head(n).to_dicts()
    return "; ".join(str(r) for r in rows)


def _fail(source: str, msg: str) -> SchemaError:
    return SchemaError(f"{source}: {msg}")


def _is_id_dtype(dtype: pl.DataType) -> bool:
    return dtype.is_integer() or dtype in (pl.String, pl.Categorical)


def _check_columns(schema: pl.Schema, spec: dict[str, tuple[object, bool]], source: str) -> None:
    missing = [c for c, (_, req) in spec.items() if req and c not in schema]
    if missing:
        raise _fail(
            source,
            f"missing required column(s) {missing}; found {list(schema.names())}. "
            "See docs/schema.md for the expected columns.",
        )


def _conform(lf: pl.LazyFrame, spec: dict[str, tuple[object, bool]], source: str) -> pl.LazyFrame:
    """Check and cast columns of ``lf`` to ``spec`` (schema-level checks only, lazy)."""
    schema = lf.collect_schema()
    _check_columns(schema, spec, source)
    exprs: list[pl.Expr] = []
    for name, (kind, _req) in spec.items():
        if name not in schema:
            continue
        dtype = schema[name]
        col = pl.col(name)
        if kind == ID:
            if dtype == pl.Categorical:
                exprs.append(col.cast(pl.String))
            elif not _is_id_dtype(dtype):
                raise _fail(
                    source,
                    f"column '{name}' has type {dtype}; identifiers must be strings or integers.",
                )
            else:
                exprs.append(col)
        elif kind == TS:
            if isinstance(dtype, pl.Datetime):
                if dtype.time_zone is None:
                    raise _fail(
                        source,
                        f"column '{name}' holds naive timestamps (no time zone). chatsim cannot "
                        "guess the zone: store them timezone-aware (e.g. '2025-08-01T09:00:00+07:00' "
                        "or UTC with 'Z').",
                    )
                exprs.append(col.dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
            elif dtype == pl.String:
                exprs.append(col)  # parsed and checked in _parse_timestamps (needs data)
            else:
                raise _fail(
                    source,
                    f"column '{name}' has type {dtype}; expected a timezone-aware timestamp.",
                )
        elif isinstance(kind, pl.Enum):
            if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
                exprs.append(col.cast(pl.String))  # cast to Enum after value check
            else:
                raise _fail(
                    source,
                    f"column '{name}' has type {dtype}; expected text with values {list(kind.categories)}.",
                )
        elif kind == pl.Boolean:
            if dtype == pl.Boolean:
                exprs.append(col)
            elif dtype == pl.String:
                exprs.append(col)  # parsed in _parse_booleans
            else:
                raise _fail(source, f"column '{name}' has type {dtype}; expected true/false.")
        elif kind == pl.String:
            if dtype != pl.String:
                raise _fail(source, f"column '{name}' has type {dtype}; expected text.")
            exprs.append(col)
    extra = [pl.col(c) for c in schema.names() if c not in spec]
    return lf.select(exprs + extra)


def _parse_timestamps(
    df: pl.DataFrame, spec: dict[str, tuple[object, bool]], source: str
) -> pl.DataFrame:
    for name, (kind, _) in spec.items():
        if kind != TS or name not in df.columns or df.schema[name] != pl.String:
            continue
        raw = df[name]
        naive = raw.str.contains(r"(Z|[+-]\d{2}:?\d{2})$").not_() & raw.is_not_null()
        n_naive = int(naive.sum())
        if n_naive:
            ex = raw.filter(naive).head(_EXAMPLES).to_list()
            raise _fail(
                source,
                f"column '{name}': {n_naive} row(s) hold timestamps without a time zone "
                f"(e.g. {ex}). Add an offset such as '+07:00' or 'Z'.",
            )
        parsed = raw.str.to_datetime(time_zone="UTC", strict=False, time_unit="us")
        bad = parsed.is_null() & raw.is_not_null()
        n_bad = int(bad.sum())
        if n_bad:
            ex = raw.filter(bad).head(_EXAMPLES).to_list()
            raise _fail(
                source,
                f"column '{name}': {n_bad} row(s) are not ISO-8601 timestamps (e.g. {ex}).",
            )
        df = df.with_columns(parsed.alias(name))
    return df


def _parse_booleans(
    df: pl.DataFrame, spec: dict[str, tuple[object, bool]], source: str
) -> pl.DataFrame:
    for name, (kind, _) in spec.items():
        if kind != pl.Boolean or name not in df.columns or df.schema[name] != pl.String:
            continue
        low = df[name].str.to_lowercase().str.strip_chars()
        mapped = low.replace_strict(
            {"true": True, "false": False, "1": True, "0": False, "t": True, "f": False},
            default=None,
            return_dtype=pl.Boolean,
        )
        bad = mapped.is_null() & df[name].is_not_null()
        if bad.any():
            ex = df[name].filter(bad).unique().head(_EXAMPLES).to_list()
            raise _fail(
                source,
                f"column '{name}': {int(bad.sum())} row(s) are not true/false (e.g. {ex}).",
            )
        df = df.with_columns(mapped.alias(name))
    return df


def _check_enums(
    df: pl.DataFrame, spec: dict[str, tuple[object, bool]], source: str
) -> pl.DataFrame:
    for name, (kind, _) in spec.items():
        if not isinstance(kind, pl.Enum) or name not in df.columns:
            continue
        allowed = list(kind.categories)
        values = df[name].cast(pl.String)
        bad = values.is_not_null() & values.is_in(allowed).not_()
        n_bad = int(bad.sum())
        if n_bad:
            ex = values.filter(bad).value_counts(sort=True).head(_EXAMPLES)
            raise _fail(
                source,
                f"column '{name}': {n_bad} row(s) hold unknown values "
                f"{dict(zip(ex[name].to_list(), ex['count'].to_list(), strict=True))}; "
                f"allowed: {allowed}.",
            )
        df = df.with_columns(values.cast(kind).alias(name))
    return df


def _check_nulls(df: pl.DataFrame, columns: Iterable[str], source: str) -> None:
    counts = df.select(pl.col(c).null_count() for c in columns).row(0, named=True)
    bad = {c: n for c, n in counts.items() if n}
    if bad:
        col = next(iter(bad))
        ex = df.with_row_index("row").filter(pl.col(col).is_null()).head(_EXAMPLES)
        raise _fail(
            source,
            f"null values in required column(s) {bad} (row counts); e.g. rows "
            f"{ex['row'].to_list()}. Every message needs these fields; fix or drop those rows "
            "(or read with lenient=True to drop them with a count).",
        )


def validate_table(
    data: pl.DataFrame | pl.LazyFrame,
    spec: dict[str, tuple[object, bool]],
    source: str,
) -> pl.DataFrame:
    """Validate and normalise one table against ``spec`` (collects it).

    Example:
        >>> validate_table(pl.DataFrame({"shop_id": ["s"], "timezone": ["Asia/Jakarta"]}),
        ...                SHOP_COLUMNS, "shops").height
        1
    """
    lf = data.lazy() if isinstance(data, pl.DataFrame) else data
    df = _conform(lf, spec, source).collect()
    df = _parse_timestamps(df, spec, source)
    df = _parse_booleans(df, spec, source)
    df = _check_enums(df, spec, source)
    _check_nulls(df, [c for c, (_, req) in spec.items() if req], source)
    return df


@dataclass
class Exclusions:
    """Rows a lenient read dropped, by reason (never silent)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str, n: int) -> None:
        if n:
            self.counts[reason] = self.counts.get(reason, 0) + n

    def total(self) -> int:
        return sum(self.counts.values())


def validate_messages(
    data: pl.DataFrame | pl.LazyFrame,
    source: str = "messages",
    *,
    lenient: bool = False,
    dropped: Exclusions | None = None,
) -> pl.DataFrame:
    """Validate a messages table and return it normalised (UTC timestamps, enum columns).

    Strict (default): any problem raises :class:`SchemaError`. ``lenient=True`` drops
    rows with null keys and duplicate message ids (keeping the first), recording the
    counts in ``dropped``; structural problems (missing columns, naive timestamps,
    unknown values, a conversation under two shops) always raise.

    Example:
        >>> import datetime as dt
        >>> t = dt.datetime(2025, 8, 1, tzinfo=dt.timezone.utc)
        >>> df = pl.DataFrame({"message_id": [1, 1], "shop_id": ["s"] * 2,
        ...     "conversation_id": ["c"] * 2, "buyer_id": ["b"] * 2, "sent_at": [t, t],
        ...     "sender": ["buyer"] * 2, "kind": ["text"] * 2, "is_broadcast": [False] * 2})
        >>> ex = Exclusions()
        >>> validate_messages(df, lenient=True, dropped=ex).height, ex.counts
        (1, {'duplicate message_id': 1})
    """
    dropped = dropped if dropped is not None else Exclusions()
    lf = data.lazy() if isinstance(data, pl.DataFrame) else data
    df = _conform(lf, MESSAGE_COLUMNS, source).collect()
    df = _parse_timestamps(df, MESSAGE_COLUMNS, source)
    df = _parse_booleans(df, MESSAGE_COLUMNS, source)
    df = _check_enums(df, MESSAGE_COLUMNS, source)
    required = [c for c, (_, req) in MESSAGE_COLUMNS.items() if req]
    if lenient:
        keep = pl.all_horizontal(pl.col(c).is_not_null() for c in required)
        n_before = df.height
        df = df.filter(keep)
        dropped.add("null in a required column", n_before - df.height)
    else:
        _check_nulls(df, required, source)

    dup = df["message_id"].is_duplicated()
    n_dup = int(dup.sum())
    if n_dup:
        if lenient:
            n_before = df.height
            df = df.unique(subset="message_id", keep="first", maintain_order=True)
            dropped.add("duplicate message_id", n_before - df.height)
        else:
            ex = df.filter(dup)["message_id"].unique().head(_EXAMPLES).to_list()
            raise _fail(
                source,
                f"column 'message_id': {n_dup} row(s) share a message id with another row "
                f"(e.g. ids {ex}). Message ids must be unique; deduplicate the export "
                "(or read with lenient=True to keep the first copy and count the rest).",
            )

    two_shops = (
        df.group_by("conversation_id")
        .agg(pl.col("shop_id").n_unique().alias("n_shops"), pl.col("shop_id").unique().head(3))
        .filter(pl.col("n_shops") > 1)
        .sort("conversation_id")
    )
    if two_shops.height:
        n_rows = df.join(two_shops.select("conversation_id"), on="conversation_id").height
        raise _fail(
            source,
            f"column 'conversation_id': {two_shops.height} conversation(s) ({n_rows} rows) appear "
            f"under more than one shop_id (e.g. {_examples(two_shops)}). A conversation is one "
            "buyer and one shop; give each shop's threads their own conversation ids.",
        )
    for opt, default in (("valid_reply", True),):
        if opt not in df.columns:
            df = df.with_columns(pl.lit(default).alias(opt))
        else:
            df = df.with_columns(pl.col(opt).fill_null(default))
    if "rating" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=RATING_DTYPE).alias("rating"))
    return df


def validate_shops(data: pl.DataFrame | pl.LazyFrame, source: str = "shops") -> pl.DataFrame:
    """Validate the shop attributes table (time zones must be IANA names).

    Example:
        >>> validate_shops(pl.DataFrame({"shop_id": ["s"], "timezone": ["Europe/Paris"]}))["chatbot_enabled"].to_list()
        [False]
    """
    df = validate_table(data, SHOP_COLUMNS, source)
    zones = available_timezones() | {"UTC"}
    bad = df.filter(pl.col("timezone").is_in(sorted(zones)).not_())
    if bad.height:
        raise _fail(
            source,
            f"column 'timezone': {bad.height} shop(s) have unknown time zones "
            f"{bad['timezone'].unique().head(_EXAMPLES).to_list()}; use IANA names such as "
            "'Asia/Ho_Chi_Minh'.",
        )
    dup = df["shop_id"].is_duplicated()
    if dup.any():
        raise _fail(
            source,
            f"column 'shop_id': {int(dup.sum())} row(s) repeat a shop "
            f"(e.g. {df.filter(dup)['shop_id'].unique().head(_EXAMPLES).to_list()}); one row per shop.",
        )
    if "chatbot_enabled" not in df.columns:
        df = df.with_columns(pl.lit(False).alias("chatbot_enabled"))
    else:
        df = df.with_columns(pl.col("chatbot_enabled").fill_null(False))
    return df


def validate_holiday_mode(
    data: pl.DataFrame | pl.LazyFrame, source: str = "holiday_mode"
) -> pl.DataFrame:
    """Validate holiday-mode intervals (``start`` < ``end``)."""
    df = validate_table(data, HOLIDAY_COLUMNS, source)
    bad = df.filter(pl.col("end") <= pl.col("start"))
    if bad.height:
        raise _fail(
            source,
            f"{bad.height} interval(s) end at or before they start (e.g. {_examples(bad)}).",
        )
    return df


def validate_blocked(data: pl.DataFrame | pl.LazyFrame, source: str = "blocked") -> pl.DataFrame:
    """Validate the blocked-buyers table."""
    return validate_table(data, BLOCKED_COLUMNS, source)


# --------------------------------------------------------------------------------------
# The ChatLog container and readers
# --------------------------------------------------------------------------------------


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
            shops_df = _align_id(shops_df, "shop_id", id_dtype, f"{source}:shops")
            missing = (
                msgs.select(pl.col("shop_id").unique())
                .join(shops_df.select("shop_id"), on="shop_id", how="anti")
                .sort("shop_id")
            )
            if missing.height:
                raise _fail(
                    f"{source}:shops",
                    f"{missing.height} shop(s) that appear in messages have no row in the shops "
                    f"table (e.g. {missing['shop_id'].head(_EXAMPLES).to_list()}); add them "
                    "with their time zone.",
                )
        if holiday_mode is None:
            hol = pl.DataFrame(
                schema={"shop_id": id_dtype, "start": UTC_DATETIME, "end": UTC_DATETIME}
            )
        else:
            hol = _align_id(
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
            blk = _align_id(blk, "shop_id", id_dtype, f"{source}:blocked")
            blk = _align_id(blk, "buyer_id", buyer_dtype, f"{source}:blocked")
        return cls(msgs, shops_df, hol, blk, source=source, dropped=dropped)


def _align_id(df: pl.DataFrame, col: str, dtype: pl.DataType, source: str) -> pl.DataFrame:
    """Cast an id column of a side table to the messages' id type, refusing lossy casts."""
    if df.schema[col] == dtype:
        return df
    cast = df[col].cast(dtype, strict=False)
    bad = cast.is_null() & df[col].is_not_null()
    if bad.any():
        raise _fail(
            source,
            f"column '{col}': {int(bad.sum())} value(s) cannot be matched to the messages' "
            f"{dtype} ids (e.g. {df[col].filter(bad).head(_EXAMPLES).to_list()}).",
        )
    return df.with_columns(cast.alias(col))


Format = Literal["parquet", "csv"]


def _scan(path: Path) -> pl.LazyFrame:
    """Lazily scan a Parquet file/dataset folder or a CSV file."""
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if files:
            return pl.scan_parquet(files, hive_partitioning=False)
        files = sorted(path.rglob("*.csv"))
        if files:
            return pl.scan_csv(files, infer_schema=False)
        raise _fail(str(path), "folder holds no .parquet or .csv files.")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pl.scan_parquet(path)
    if suffix in (".csv", ".gz"):
        # read every column as text: types are checked and parsed by the validators,
        # so a bad value is reported by column instead of failing inside the parser
        return pl.scan_csv(path, infer_schema=False)
    raise _fail(str(path), "unsupported file type; use .parquet or .csv (or a folder of them).")


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
    root = Path(path)
    msg_path, side = locate_log(root, shops=shops, holiday_mode=holiday_mode, blocked=blocked)
    frames = {name: (_scan(p) if p is not None else None) for name, p in side.items()}
    log = ChatLog.from_frames(
        _scan(msg_path),
        frames["shops"],
        frames["holiday_mode"],
        frames["blocked"],
        source=str(msg_path if msg_path != root else root),
        lenient=lenient,
    )
    log.source = str(root)
    return log


def write_log(log: ChatLog, out_dir: str | Path, fmt: Format = "parquet") -> Path:
    """Write a ChatLog as a log folder (``messages``, ``shops``, ``holiday_mode``, ``blocked``).

    CSV output writes timestamps as ISO-8601 with a ``Z`` suffix so it reads back unchanged.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        df: pl.DataFrame = getattr(log, name)
        if fmt == "parquet":
            df.write_parquet(out / f"{name}.parquet")
        else:
            df.with_columns(
                pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
                for c, t in df.schema.items()
                if isinstance(t, pl.Datetime)
            ).write_csv(out / f"{name}.csv")
    return out
