"""The identifier columns: how text ids are typed, and the two whole-log id checks.

* :func:`id_dtypes` chooses, for the whole log, whether a text id column reads as integers
  (every value an integer written plainly) or as text, so that a CSV and a Parquet copy of
  a log give the same ids and the same order of ties;
* :func:`check_unique_message_ids` and :func:`check_one_shop_per_conversation` are the
  two whole-log checks, streaming on a lazy frame (also run per hash slice on logs larger
  than memory).

Example:
    >>> import polars as pl
    >>> check_unique_message_ids(pl.LazyFrame({"message_id": [1, 2, 2]}), "log")
    Traceback (most recent call last):
    ...
    chatsim.errors.SchemaError: log: column 'message_id': 2 row(s) share a message id with another row (e.g. ids [2]). Message ids must be unique; deduplicate the export (or read with lenient=True to keep the first copy and count the rest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl

from chatsim.schema.columns import ID, INTEGER_TEXT, MESSAGE_COLUMNS
from chatsim.schema.messages import EXAMPLES, duplicate_ids_error, schema_error, two_shops_error

__all__ = [
    "MESSAGE_IDS",
    "cast_ids",
    "check_one_shop_per_conversation",
    "check_unique_message_ids",
    "conversations_under_two_shops",
    "duplicate_message_ids",
    "id_dtypes",
]

#: The messages' identifier columns.
MESSAGE_IDS = tuple(c for c, (kind, _) in MESSAGE_COLUMNS.items() if kind == ID)


def id_dtypes(
    data: pl.DataFrame | pl.LazyFrame, columns: Iterable[str] = MESSAGE_IDS
) -> dict[str, pl.DataType]:
    """The type each identifier column is read as, whatever the file format.

    Integer columns stay as they are. A text column reads as ``Int64`` when every value is
    an integer written plainly (``"10"``, not ``"010"`` or ``"+10"``), else as text: so a
    CSV and a Parquet copy of a log give the same ids, and ``"9"`` sorts before ``"10"``.
    Streams over a lazy frame (bounded memory).

    Example:
        >>> id_dtypes(pl.DataFrame({"message_id": ["9", "10"], "shop_id": ["s", "007"]}),
        ...           ["message_id", "shop_id"])
        {'message_id': Int64, 'shop_id': String}
    """
    lf = data.lazy()
    schema = lf.collect_schema()
    text = [c for c in columns if c in schema and schema[c] in (pl.String, pl.Categorical)]
    out: dict[str, pl.DataType] = {c: schema[c] for c in columns if c in schema}
    if not text:
        return out

    def plain_int(c: str) -> pl.Expr:
        v = pl.col(c).cast(pl.String)
        ok = v.str.contains(INTEGER_TEXT) & v.cast(pl.Int64, strict=False).is_not_null()
        return (ok | v.is_null()).all() & v.is_not_null().any()

    row = lf.select(plain_int(c).alias(c) for c in text).collect(engine="streaming").row(0)
    for c, is_int in zip(text, row, strict=True):
        out[c] = pl.Int64 if is_int else pl.String
    return out


def cast_ids(df: pl.DataFrame, dtypes: Mapping[str, pl.DataType], source: str) -> pl.DataFrame:
    """Cast text id columns to the types :func:`id_dtypes` chose (for the whole log).

    Example:
        >>> cast_ids(pl.DataFrame({"message_id": ["9", "10"]}), {"message_id": pl.Int64},
        ...          "log").dtypes
        [Int64]
    """
    casts = []
    for c, want in dtypes.items():
        if c not in df.columns or df.schema[c] == want:
            continue
        cast = df[c].cast(want, strict=False)
        bad = cast.is_null() & df[c].is_not_null()
        if bad.any():  # a bucket disagreeing with the whole log's types
            raise schema_error(
                source,
                f"column '{c}': {int(bad.sum())} value(s) are not {want} ids like the rest "
                f"of the log (e.g. {df[c].filter(bad).head(EXAMPLES).to_list()}).",
            )
        casts.append(cast.alias(c))
    return df.with_columns(casts) if casts else df


def duplicate_message_ids(data: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The message ids on more than one row, with their row counts, sorted by id.

    Example:
        >>> duplicate_message_ids(pl.DataFrame({"message_id": [3, 1, 3]})).rows()
        [(3, 2)]
    """
    return (
        data.lazy()
        .group_by("message_id")
        .agg(pl.len().alias("rows"))
        .filter(pl.col("rows") > 1)
        .sort("message_id")
        .collect(engine="streaming")
    )


def check_unique_message_ids(
    data: pl.DataFrame | pl.LazyFrame, source: str, *, lenient_hint: bool | str = True
) -> None:
    """Raise :class:`SchemaError` if a message id occurs on more than one row."""
    dup = duplicate_message_ids(data)
    if dup.height:
        raise duplicate_ids_error(
            source,
            int(dup["rows"].sum()),
            dup["message_id"].head(EXAMPLES).to_list(),
            lenient_hint=lenient_hint,
        )


def conversations_under_two_shops(data: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Conversations whose messages name more than one shop: id, shops, rows; sorted by id.

    Example:
        >>> conversations_under_two_shops(pl.DataFrame(
        ...     {"conversation_id": ["c", "c", "d"], "shop_id": ["s", "t", "s"]})).rows()
        [('c', 2, 2)]
    """
    return (
        data.lazy()
        .group_by("conversation_id")
        .agg(pl.col("shop_id").n_unique().alias("shops"), pl.len().alias("rows"))
        .filter(pl.col("shops") > 1)
        .sort("conversation_id")
        .collect(engine="streaming")
    )


def check_one_shop_per_conversation(data: pl.DataFrame | pl.LazyFrame, source: str) -> None:
    """Raise :class:`SchemaError` if a conversation id occurs under more than one shop."""
    two = conversations_under_two_shops(data)
    if not two.height:
        return
    ids = two["conversation_id"].head(EXAMPLES)
    shops = (
        data.lazy()
        .filter(pl.col("conversation_id").is_in(ids.implode()))
        .group_by("conversation_id")
        .agg(pl.col("shop_id").unique().sort().head(3))
        .sort("conversation_id")
        .collect()
    )
    raise two_shops_error(source, two.height, int(two["rows"].sum()), dict(shops.iter_rows()))
