"""The identifier columns: how text ids are typed, and the two whole-log id checks.

* :func:`id_dtypes` chooses, for the whole log, whether a text id column reads as integers
  (every value an integer written plainly) or as text, so that a CSV and a Parquet copy of
  a log give the same ids and the same order of ties;
* :func:`check_unique_message_ids` and :func:`check_one_shop_per_conversation` are the
  two whole-log checks, streaming on a lazy frame (also run per hash slice on logs larger
  than memory);
* :func:`all_distinct` and :func:`one_value_per_key` are their quick proofs on columns in
  memory (a pass or two over the values, no group-by): a validator runs the exact check,
  which names the offending rows, only where the proof fails.

Example:
    >>> import polars as pl
    >>> check_unique_message_ids(pl.LazyFrame({"message_id": [1, 2, 2]}), "log")
    Traceback (most recent call last):
    ...
    chatsim.errors.SchemaError: log: column 'message_id': 2 row(s) share a message id with another row (e.g. ids [2]). Message ids must be unique; deduplicate the export (or read with lenient=True to keep the first copy and count the rest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import polars as pl

from chatsim.schema.columns import ID, INTEGER_TEXT, MESSAGE_COLUMNS
from chatsim.schema.messages import EXAMPLES, duplicate_ids_error, schema_error, two_shops_error

__all__ = [
    "MESSAGE_IDS",
    "all_distinct",
    "cast_ids",
    "check_one_shop_per_conversation",
    "check_unique_message_ids",
    "conversations_under_two_shops",
    "duplicate_message_ids",
    "id_dtypes",
    "one_value_per_key",
    "value_codes",
]

#: The messages' identifier columns.
MESSAGE_IDS = tuple(c for c, (kind, _) in MESSAGE_COLUMNS.items() if kind == ID)
#: Rows :func:`id_dtypes` looks at before reading a whole column.
SAMPLE_ROWS = 1_000
#: The quick proofs index a table by integer id when the ids span at most this many slots
#: per row (else they hash).
SPAN_PER_ROW = 4


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

    def plain(c: str) -> pl.Expr:
        v = pl.col(c).cast(pl.String)
        ok = v.str.contains(INTEGER_TEXT) & v.cast(pl.Int64, strict=False).is_not_null()
        return ok | v.is_null()

    # one value that is not an integer written plainly settles a column as text: the
    # first rows are looked at before every row is read
    head = lf.select(text).head(SAMPLE_ROWS)
    first = head.select(plain(c).all().alias(c) for c in text).collect().row(0, named=True)
    rest = [c for c in text if first[c]]
    out |= {c: pl.String for c in text if not first[c]}
    if not rest:
        return out
    whole = (plain(c).all() & pl.col(c).is_not_null().any() for c in rest)
    row = lf.select(whole).collect(engine="streaming").row(0)
    for c, is_int in zip(rest, row, strict=True):
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


# --------------------------------------------------------------------------------------
# Quick proofs (in memory): the exact checks above run only where these fail
# --------------------------------------------------------------------------------------


def _dense_offsets(s: pl.Series) -> np.ndarray | None:
    """Slot numbers for the values of ``s`` (the values themselves when they are small
    and not negative, else ``s - min(s)``) when ``s`` is integer, null-free and its values
    span few slots per row (:data:`SPAN_PER_ROW`); else None."""
    if not s.dtype.is_integer() or s.null_count() or not len(s):
        return None
    lo, hi = s.min(), s.max()
    room = SPAN_PER_ROW * len(s) + 1024
    if hi - lo >= room:  # type: ignore[operator]
        return None
    values = s.to_numpy()
    if lo >= 0 and hi < room:  # type: ignore[operator]
        return values
    return (values - lo).astype(np.int64, copy=False)


def all_distinct(s: pl.Series) -> bool:
    """True if no value of ``s`` occurs twice (nulls count as a value, as in a group-by).

    Integer ids in increasing order take one comparison per row; dense integer ids one
    scatter and one gather (each row writes its position into its id's slot, and every
    slot must hold the position that reads it); other ids a hash count.

    Example:
        >>> all_distinct(pl.Series([3, 1, 2])), all_distinct(pl.Series(["a", "b", "a"]))
        (True, False)
    """
    n = len(s)
    if s.null_count() > 1:
        return False
    if s.dtype.is_integer() and not s.null_count():
        if n < 2 or bool((s.slice(1) > s.slice(0, n - 1)).all()):
            return True
        offsets = _dense_offsets(s)
        if offsets is not None:
            rows = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
            slot = np.empty(int(offsets.max()) + 1, dtype=rows.dtype)
            slot[offsets] = rows
            return bool((slot[offsets] == rows).all())
    return s.n_unique() == n


def one_value_per_key(keys: pl.Series, values: pl.Series) -> bool:
    """True if every key of ``keys`` comes with one value of ``values`` on all its rows.

    What "one shop per conversation" asks. Both columns null-free (else False: let the
    exact check decide); integer ``values`` are compared as they are, others through
    :func:`value_codes`. Dense integer keys take one scatter and one gather (each row
    writes its value into its key's slot; a key with two values leaves a slot that one of
    its rows disagrees with); other keys a group-by of each key's smallest and largest
    value.

    Example:
        >>> one_value_per_key(pl.Series([5, 5, 6]), pl.Series(["s", "s", "t"]))
        True
        >>> one_value_per_key(pl.Series(["c", "c"]), pl.Series([1, 2]))
        False
    """
    if keys.null_count() or values.null_count():
        return False
    codes = values if values.dtype.is_integer() else value_codes(values)[0]
    offsets = _dense_offsets(keys)
    if offsets is not None:
        v = codes.to_numpy()
        slot = np.empty(int(offsets.max()) + 1, dtype=v.dtype)
        slot[offsets] = v
        return bool((slot[offsets] == v).all())
    per_key = (
        pl.DataFrame({"k": keys, "v": codes})
        .group_by("k")
        .agg(pl.col("v").min().alias("lo"), pl.col("v").max().alias("hi"))
    )
    return bool((per_key["lo"] == per_key["hi"]).all())


def value_codes(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Integer codes for ``values`` (equal values, equal codes) and the distinct values.

    Text takes category codes of its own (nothing is added to polars' global categories),
    which give the distinct values for free; integers are their own codes.

    Example:
        >>> codes, distinct = value_codes(pl.Series("shop_id", ["b", "a", "b"]))
        >>> codes.to_list(), sorted(distinct)
        ([0, 1, 0], ['a', 'b'])
    """
    if values.dtype.is_integer():
        return values, values.unique()
    if values.dtype == pl.String:
        cats = pl.Categories.random()
        coded = values.cast(pl.Categorical(cats))  # (its categories live as long as it does)
        distinct = cats.to_series().drop_nulls().alias(values.name)
        return coded.to_physical(), distinct
    return values.rank("dense"), values.unique()
