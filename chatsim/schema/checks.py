"""Validation of a chat log's tables: column types and values.

Every check raises :class:`~chatsim.errors.SchemaError` naming the file (``source``), the
column, how many rows offend and a few examples, and what to do; the messages are those of
:mod:`chatsim.schema.messages`, which the Spark reader raises too. The id typing and the
whole-log id checks are :mod:`chatsim.schema.ids`.

* :func:`conform` checks and casts a lazy table's columns (types only: no data read);
* :func:`validate_table`, :func:`validate_messages`, :func:`validate_shops`,
  :func:`validate_holiday_mode`, :func:`validate_blocked` check the values too (collect);
* :func:`align_id` casts a side table's id column to the messages' id type.

Example:
    >>> import polars as pl
    >>> validate_table(pl.DataFrame({"shop_id": ["s"]}), SHOP_COLUMNS, "shops.csv")
    Traceback (most recent call last):
    ...
    chatsim.errors.SchemaError: shops.csv: missing required column(s) ['timezone']; found ['shop_id']. See docs/schema.md for the expected columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import available_timezones

import polars as pl

from chatsim.schema.columns import (
    BLOCKED_COLUMNS,
    BOOL_TEXT,
    HOLIDAY_COLUMNS,
    ID,
    MESSAGE_COLUMNS,
    RATING_DTYPE,
    SHOP_COLUMNS,
    STARS_DTYPE,
    TS,
    TS_WITH_ZONE,
    plausible_sent_at_range,
    required_columns,
)
from chatsim.schema.extras import STARS_TYPE, check_stars, fill_no_response_needed
from chatsim.schema.ids import (
    all_distinct,
    cast_ids,
    check_one_shop_per_conversation,
    duplicate_message_ids,
    id_dtypes,
    one_value_per_key,
    value_codes,
)
from chatsim.schema.messages import (
    EXAMPLES,
    column_type_error,
    duplicate_ids_error,
    missing_columns_error,
    naive_column_error,
    not_boolean_error,
    not_timestamp_error,
    nulls_error,
    out_of_range_error,
    schema_error,
    unknown_values_error,
    zone_missing_error,
)

__all__ = [
    "CheckedMessages",
    "Exclusions",
    "align_id",
    "check_messages",
    "conform",
    "validate_blocked",
    "validate_holiday_mode",
    "validate_messages",
    "validate_shops",
    "validate_table",
]

# --------------------------------------------------------------------------------------
# Column checks and casts
# --------------------------------------------------------------------------------------


def _is_id_dtype(dtype: pl.DataType) -> bool:
    return dtype.is_integer() or dtype in (pl.String, pl.Categorical)


def _conform_column(
    col: pl.Expr, name: str, kind: object, dtype: Any, source: str, keep_enums: bool = False
) -> pl.Expr:
    """One column cast to its kind (text to parse later is kept as text)."""
    if kind == ID:
        if dtype == pl.Categorical:
            return col.cast(pl.String)
        if not _is_id_dtype(dtype):
            raise column_type_error(source, name, dtype, "identifiers must be strings or integers")
        return col
    if kind == TS:
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                raise naive_column_error(source, name)
            return col.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        if dtype == pl.String:
            return col  # parsed and checked in _parse_timestamps (needs data)
        raise column_type_error(source, name, dtype, "expected a timezone-aware timestamp")
    if isinstance(kind, pl.Enum):
        if keep_enums and dtype == kind:
            return col  # already of its type: every value is allowed
        if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            return col.cast(pl.String)  # cast to Enum after value check
        raise column_type_error(
            source, name, dtype, f"expected text with values {list(kind.categories)}"
        )
    if kind == STARS_DTYPE:
        if dtype.is_integer() or dtype in (pl.String, pl.Null):
            return col  # range checked (text parsed) in check_stars
        raise column_type_error(source, name, dtype, STARS_TYPE)
    if kind == pl.Boolean:
        if dtype in (pl.Boolean, pl.String):
            return col  # text parsed in _parse_booleans
        raise column_type_error(source, name, dtype, "expected true/false")
    if dtype == pl.Null:  # an optional text column with no value at all
        return col.cast(pl.String)
    if dtype != pl.String:
        raise column_type_error(source, name, dtype, "expected text")
    return col


def conform(
    lf: pl.LazyFrame,
    spec: dict[str, tuple[object, bool]],
    source: str,
    *,
    keep_enums: bool = False,
) -> pl.LazyFrame:
    """Check and cast the columns of ``lf`` to ``spec`` (types only, lazy: reads no data).

    Identifiers stay strings or integers, typed timestamps become UTC microseconds, text
    columns still to parse (timestamps, booleans, enum values) stay text; other columns
    are kept as they are. The value checks are :func:`validate_table`'s. Enum columns
    become text to check, except, with ``keep_enums``, those already of their Enum type
    (as a Parquet file chatsim wrote stores them): no value of theirs can be unknown.

    Example:
        >>> conform(pl.LazyFrame({"shop_id": [1], "timezone": ["UTC"]}), SHOP_COLUMNS,
        ...         "shops").collect_schema().names()
        ['shop_id', 'timezone']
    """
    schema = lf.collect_schema()
    missing = [c for c in required_columns(spec) if c not in schema]
    if missing:
        raise missing_columns_error(source, missing, schema.names())
    exprs = [
        _conform_column(pl.col(name), name, kind, schema[name], source, keep_enums)
        for name, (kind, _) in spec.items()
        if name in schema
    ]
    extra = [pl.col(c) for c in schema.names() if c not in spec]
    return lf.select(exprs + extra)


def _text_columns(df: pl.DataFrame, spec: dict[str, tuple[object, bool]], kind: object) -> list:
    return [
        name
        for name, (k, _) in spec.items()
        if k == kind and name in df.columns and df.schema[name] == pl.String
    ]


def _parse_timestamps(
    df: pl.DataFrame, spec: dict[str, tuple[object, bool]], source: str
) -> pl.DataFrame:
    for name in _text_columns(df, spec, TS):
        raw = df[name]
        naive = raw.str.contains(TS_WITH_ZONE).not_() & raw.is_not_null()
        if naive.any():
            ex = raw.filter(naive).head(EXAMPLES).to_list()
            raise zone_missing_error(source, name, int(naive.sum()), ex)
        parsed = raw.str.to_datetime(time_zone="UTC", strict=False, time_unit="us")
        bad = parsed.is_null() & raw.is_not_null()
        if bad.any():
            ex = raw.filter(bad).head(EXAMPLES).to_list()
            raise not_timestamp_error(source, name, int(bad.sum()), ex)
        df = df.with_columns(parsed.alias(name))
    return df


def _parse_booleans(
    df: pl.DataFrame, spec: dict[str, tuple[object, bool]], source: str
) -> pl.DataFrame:
    for name in _text_columns(df, spec, pl.Boolean):
        low = df[name].str.to_lowercase().str.strip_chars()
        mapped = low.replace_strict(BOOL_TEXT, default=None, return_dtype=pl.Boolean)
        bad = mapped.is_null() & df[name].is_not_null()
        if bad.any():
            ex = df[name].filter(bad).unique().head(EXAMPLES).to_list()
            raise not_boolean_error(source, name, int(bad.sum()), ex)
        df = df.with_columns(mapped.alias(name))
    return df


def _check_enums(
    df: pl.DataFrame, spec: dict[str, tuple[object, bool]], source: str
) -> pl.DataFrame:
    for name, (kind, _) in spec.items():
        if not isinstance(kind, pl.Enum) or name not in df.columns or df.schema[name] == kind:
            continue
        values = df[name].cast(pl.String)
        # an unknown value casts to null: one cast checks and converts
        cast = values.cast(kind, strict=False)
        if cast.null_count() != values.null_count():
            allowed = list(kind.categories)
            bad = values.is_not_null() & values.is_in(allowed).not_()
            ex = values.filter(bad).value_counts(sort=True).head(EXAMPLES)
            counts = dict(zip(ex[name].to_list(), ex["count"].to_list(), strict=True))
            raise unknown_values_error(source, name, int(bad.sum()), counts, allowed)
        df = df.with_columns(cast.alias(name))
    return df


def _check_nulls(df: pl.DataFrame, columns: Iterable[str], source: str) -> None:
    counts = df.select(pl.col(c).null_count() for c in columns).row(0, named=True)
    bad = {c: n for c, n in counts.items() if n}
    if bad:
        col = next(iter(bad))
        ex = df.with_row_index("row").filter(pl.col(col).is_null()).head(EXAMPLES)
        raise nulls_error(source, bad, ex["row"].to_list())


def align_id(df: pl.DataFrame, col: str, dtype: pl.DataType, source: str) -> pl.DataFrame:
    """Cast a side table's id column to the messages' id type, refusing lossy casts.

    Example:
        >>> align_id(pl.DataFrame({"shop_id": ["7"]}), "shop_id", pl.Int64, "shops").dtypes
        [Int64]
    """
    if df.schema[col] == dtype:
        return df
    cast = df[col].cast(dtype, strict=False)
    bad = cast.is_null() & df[col].is_not_null()
    if bad.any():
        raise schema_error(
            source,
            f"column '{col}': {int(bad.sum())} value(s) cannot be matched to the messages' "
            f"{dtype} ids (e.g. {df[col].filter(bad).head(EXAMPLES).to_list()}).",
        )
    return df.with_columns(cast.alias(col))


def _out_of_range(
    df: pl.DataFrame, sent_at_range: tuple[dt.datetime, dt.datetime] | None
) -> tuple[pl.Series | None, dt.datetime, dt.datetime]:
    """The rows whose ``sent_at`` falls outside the range (None: no row does), and the range."""
    lo, hi = sent_at_range if sent_at_range is not None else plausible_sent_at_range()
    t = df["sent_at"]
    first, last = t.min(), t.max()
    if first is None or (first >= lo and last <= hi):  # type: ignore[operator]
        return None, lo, hi
    return t.is_not_null() & ((t < lo) | (t > hi)), lo, hi


# --------------------------------------------------------------------------------------
# The validators (collect)
# --------------------------------------------------------------------------------------


def _values(
    data: pl.DataFrame | pl.LazyFrame, spec: dict[str, tuple[object, bool]], source: str
) -> pl.DataFrame:
    """Conform, collect, then parse text and check allowed values (no null check)."""
    df = conform(data.lazy(), spec, source, keep_enums=True).collect()
    df = _parse_timestamps(df, spec, source)
    df = _parse_booleans(df, spec, source)
    return _check_enums(df, spec, source)


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
    df = _values(data, spec, source)
    _check_nulls(df, required_columns(spec), source)
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
    sent_at_range: tuple[dt.datetime, dt.datetime] | None = None,
    ids: Mapping[str, pl.DataType] | None = None,
) -> pl.DataFrame:
    """Validate a messages table and return it normalised (UTC timestamps, enum columns).

    Strict (default): any problem raises :class:`SchemaError`. ``lenient=True`` drops
    rows with a ``sent_at`` outside ``sent_at_range`` (default
    :func:`~chatsim.schema.plausible_sent_at_range`), with null keys and with duplicate
    message ids (keeping the first), recording the counts in ``dropped``; structural
    problems (missing columns, naive timestamps, unknown values, a conversation under two
    shops) always raise. Text id columns are typed by :func:`id_dtypes` (or ``ids``, the
    types chosen for a whole log read in parts). :func:`check_messages` also gives the
    distinct shop ids.

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
    return check_messages(
        data, source, lenient=lenient, dropped=dropped, sent_at_range=sent_at_range, ids=ids
    ).frame


@dataclass(frozen=True)
class CheckedMessages:
    """A validated messages table (:func:`check_messages`) and its distinct shop ids."""

    frame: pl.DataFrame
    shop_ids: pl.Series


def check_messages(
    data: pl.DataFrame | pl.LazyFrame,
    source: str = "messages",
    *,
    lenient: bool = False,
    dropped: Exclusions | None = None,
    sent_at_range: tuple[dt.datetime, dt.datetime] | None = None,
    ids: Mapping[str, pl.DataType] | None = None,
) -> CheckedMessages:
    """:func:`validate_messages`, also giving the distinct shop ids (which the
    one-shop-per-conversation check finds anyway; :class:`~chatsim.schema.ChatLog` needs
    them to match the shops table).

    Each whole-log check first tries a quick proof (:func:`~chatsim.schema.ids.all_distinct`,
    :func:`~chatsim.schema.ids.one_value_per_key`); the exact check, which names the
    offending rows, runs only where the proof fails, so every error reads as before.

    Example:
        >>> t = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
        >>> checked = check_messages(pl.DataFrame({"message_id": [1, 2], "shop_id": ["s", "t"],
        ...     "conversation_id": [1, 2], "buyer_id": [1, 1], "sent_at": [t, t],
        ...     "sender": ["buyer"] * 2, "kind": ["text"] * 2, "is_broadcast": [False] * 2}))
        >>> sorted(checked.shop_ids), checked.frame.height
        (['s', 't'], 2)
    """
    dropped = dropped if dropped is not None else Exclusions()
    df = _values(data, MESSAGE_COLUMNS, source)
    df = cast_ids(df, ids if ids is not None else id_dtypes(df), source)
    outside, lo, hi = _out_of_range(df, sent_at_range)
    if outside is None:
        pass
    elif lenient:
        df = df.filter(outside.not_())
        dropped.add("sent_at outside the plausible range", int(outside.sum()))
    else:
        ex = [str(t) for t in df["sent_at"].filter(outside).head(EXAMPLES).to_list()]
        raise out_of_range_error(source, "sent_at", int(outside.sum()), ex, lo.date(), hi.date())
    required = required_columns(MESSAGE_COLUMNS)
    if lenient:
        keep = pl.all_horizontal(pl.col(c).is_not_null() for c in required)
        n_before = df.height
        df = df.filter(keep)
        dropped.add("null in a required column", n_before - df.height)
    else:
        _check_nulls(df, required, source)

    # the exact checks (which name the rows) run only where the quick proofs fail
    dup = None if all_distinct(df["message_id"]) else duplicate_message_ids(df)
    if dup is not None and dup.height and lenient:
        n_before = df.height
        df = df.unique(subset="message_id", keep="first", maintain_order=True)
        dropped.add("duplicate message_id", n_before - df.height)
    elif dup is not None and dup.height:
        ex = dup["message_id"].head(EXAMPLES).to_list()
        raise duplicate_ids_error(source, int(dup["rows"].sum()), ex)
    shop_codes, shop_ids = value_codes(df["shop_id"])
    if not one_value_per_key(df["conversation_id"], shop_codes):
        check_one_shop_per_conversation(df, source)

    if "valid_reply" not in df.columns:
        df = df.with_columns(pl.lit(True).alias("valid_reply"))
    elif df["valid_reply"].null_count():
        df = df.with_columns(pl.col("valid_reply").fill_null(True))
    if "rating" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=RATING_DTYPE).alias("rating"))
    df = fill_no_response_needed(check_stars(df, source))
    return CheckedMessages(df, shop_ids)


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
        raise schema_error(
            source,
            f"column 'timezone': {bad.height} shop(s) have unknown time zones "
            f"{bad['timezone'].unique().head(EXAMPLES).to_list()}; use IANA names such as "
            "'Asia/Ho_Chi_Minh'.",
        )
    dup = df["shop_id"].is_duplicated()
    if dup.any():
        raise schema_error(
            source,
            f"column 'shop_id': {int(dup.sum())} row(s) repeat a shop "
            f"(e.g. {df.filter(dup)['shop_id'].unique().head(EXAMPLES).to_list()}); one row per shop.",
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
        ex = "; ".join(str(r) for r in bad.head(EXAMPLES).to_dicts())
        raise schema_error(
            source, f"{bad.height} interval(s) end at or before they start (e.g. {ex})."
        )
    return df


def validate_blocked(data: pl.DataFrame | pl.LazyFrame, source: str = "blocked") -> pl.DataFrame:
    """Validate the blocked-buyers table."""
    return validate_table(data, BLOCKED_COLUMNS, source)
