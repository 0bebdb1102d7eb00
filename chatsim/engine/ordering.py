"""The messages in canonical order (conversation, ``sent_at``, ``message_id``) for the polars
engine: :func:`canonical_order` (one stable sort where the log allows it) and
:func:`pack_small_columns` (the small columns through the sort as one integer).

Example:
    >>> df = pl.DataFrame({CONV: [2, 1, 2], "sent_at": [1, 2, 3], "message_id": [1, 2, 3]})
    >>> canonical_order(df)["message_id"].to_list()
    [2, 1, 3]
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from chatsim.engine import kernel
from chatsim.engine.codes import CONV

__all__ = ["canonical_order", "pack_small_columns"]


def canonical_order(
    messages: pl.DataFrame | pl.LazyFrame, *, keep_message_id: bool = True, compiled: bool = False
) -> pl.DataFrame:
    """Messages sorted by conversation, ``sent_at``, ``message_id``.

    Exports and simulated logs are usually already in time order within each
    conversation: then a stable sort on the conversation alone gives the canonical
    order at half the cost of the three-key sort. A log in time order overall is
    recognised before sorting (and ``message_id`` need not travel through the sort
    when ``keep_message_id`` is false); otherwise the order within conversations is
    checked after the stable sort, falling back to the full sort. Integer conversation
    ids whose range spans less than 2**32 sort by a 32-bit key (their offset from the
    smallest). The small columns (Boolean, Enum) travel through the sort packed into one
    integer (:func:`pack_small_columns`).

    ``compiled`` (the compiled chat builder's input, :func:`compiled_messages`): where it
    applies, :func:`chatsim.engine.kernel.radix_order` (a compiled radix sort); the same
    rows in the same order.

    Example:
        >>> df = pl.DataFrame({CONV: [2, 1, 2], "sent_at": [1, 2, 3], "message_id": [1, 2, 3]})
        >>> canonical_order(df)["message_id"].to_list()
        [2, 1, 3]
    """
    lf = messages.lazy()
    if compiled:
        df = lf.collect()
        ordered = kernel.radix_order(df, CONV, keep_message_id=keep_message_id)
        if ordered is not None:
            return ordered
        lf = df.lazy()  # collected once: the general sort below reads it
    conv = pl.col(CONV)
    conv_dtype = lf.collect_schema()[CONV]
    int_ids = conv_dtype.is_integer()
    checks = [_in_time_order().alias("ordered")]
    if int_ids:
        checks += [conv.min().alias("lo"), conv.max().alias("hi")]
    facts = lf.select(checks).collect().row(0, named=True)
    globally = bool(facts["ordered"])
    key = conv
    if int_ids and facts["lo"] is not None and facts["hi"] - facts["lo"] < 2**32:
        wide = conv if conv_dtype == pl.UInt64 else conv.cast(pl.Int64)  # no overflow below
        key = (wide - facts["lo"]).cast(pl.UInt32)
    packed, unpack = pack_small_columns(lf)
    if globally and not keep_message_id:
        packed = packed.drop("message_id")
    # the streaming engine sorts in parallel: about twice as fast as the eager sort;
    # no rechunk (a copy of every column, for no gain in what follows)
    by_conv = packed.sort(key, maintain_order=True).collect()
    if not globally:
        if not by_conv.select(_in_time_order(within_conversations=True)).item():
            by_conv = packed.sort(key, "sent_at", "message_id").collect()
        if not keep_message_id:
            by_conv = by_conv.drop("message_id")
    return unpack(by_conv)


def _in_time_order(*, within_conversations: bool = False) -> pl.Expr:
    """True when every row follows the previous one by (``sent_at``, ``message_id``), or
    (``within_conversations``) starts a new conversation."""
    t, mid, conv = pl.col("sent_at"), pl.col("message_id"), pl.col(CONV)
    ordered = (t > t.shift(1)) | ((t == t.shift(1)) & (mid > mid.shift(1)))
    if within_conversations:
        ordered = ordered | conv.ne(conv.shift(1))
    return ordered.fill_null(True).all()


def pack_small_columns(
    lf: pl.LazyFrame,
) -> tuple[pl.LazyFrame, Callable[[pl.DataFrame], pl.DataFrame]]:
    """Boolean and small Enum columns packed into one unsigned integer ``_packed``.

    A sort moves every column: one 16- or 32-bit column moves cheaper than several
    bitmaps and bytes. Each column takes the bits for its codes plus null (0 = null).
    Returns the packed frame and the function that restores the original columns
    (names, dtypes, nulls, column order) on a frame holding ``_packed``.

    Example:
        >>> df = pl.DataFrame({"a": [True, None, False], "n": [1, 2, 3]})
        >>> packed, unpack = pack_small_columns(df.lazy())
        >>> unpack(packed.collect()).equals(df)
        True
    """
    schema = lf.collect_schema()
    fields: list[tuple[str, pl.DataType, int, int]] = []  # name, dtype, shift, bits
    offset = 0
    for name, dtype in schema.items():
        if dtype == pl.Boolean:
            n_codes = 2
        elif isinstance(dtype, pl.Enum) and len(dtype.categories) < 255:
            n_codes = len(dtype.categories)
        else:
            continue
        bits = n_codes.bit_length()  # codes 1..n_codes, 0 = null
        if offset + bits > 32:
            break
        fields.append((name, dtype, offset, bits))
        offset += bits
    if len(fields) < 2:
        return lf, lambda df: df
    word = pl.UInt16 if offset <= 16 else pl.UInt32

    def code(name: str, dtype: pl.DataType) -> pl.Expr:
        c = pl.col(name)
        v = c.cast(word) if dtype == pl.Boolean else c.to_physical().cast(word)
        return (v + 1).fill_null(0)

    packed_expr = pl.sum_horizontal(
        code(name, dtype) * (1 << shift) for name, dtype, shift, _ in fields
    ).cast(word)
    names = list(schema.names())
    small = {f[0] for f in fields}
    packed = lf.select(*(n for n in names if n not in small), packed_expr.alias("_packed"))

    def unpack(df: pl.DataFrame) -> pl.DataFrame:
        p = pl.col("_packed")
        restored = []
        for name, dtype, shift, bits in fields:
            v = (p // (1 << shift)) % (1 << bits)
            if dtype == pl.Boolean:
                e = pl.when(v == 0).then(None).otherwise(v == 2)
            else:
                e = pl.when(v == 0).then(None).otherwise(v - 1).cat.to(dtype)
            restored.append(e.alias(name))
        out = df.with_columns(restored).drop("_packed")
        return out.select(n for n in names if n in out.columns)

    return packed, unpack
