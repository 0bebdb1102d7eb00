"""The polars engine: the backend as a class, the canonical sort and the run of every rule.

:class:`PolarsBackend` supplies the engine-specific primitives of
:class:`~chatsim.engine.backend.Backend` in polars: epoch microseconds, the shop-local
weekday and the business clock (:mod:`chatsim.engine.clock`), shop columns attached by
position and flags by a hash lookup, and (with the :class:`~chatsim.engine.backend.Compiled`
window, the default) the chats built by the compiled state machine
(:mod:`chatsim.engine.kernel`). :func:`run_polars` sorts the messages once
(:func:`canonical_order`, :func:`compiled_messages`) and returns each rule's chat and shop
tables; :func:`chatsim.metrics.compare` calls it.

Example:
    >>> be = polars_backend(["Asia/Tokyo", "UTC"])
    >>> be.name, be.zones, type(be.window).__name__
    ('polars', ['Asia/Tokyo', 'UTC'], 'Compiled')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import narwhals as nw
import polars as pl

from chatsim.engine import kernel
from chatsim.engine.backend import Backend, Compiled, GlobalOrder, Window, placed
from chatsim.engine.clock import (
    business_deadline_us,
    business_us,
    from_local_exact,
    local_time,
)
from chatsim.engine.codes import (
    CONV,
    TIMESTAMP_DTYPE,
    US_PER_HOUR,
    check_shops_known,
    encode_shops,
)
from chatsim.engine.finish import SHOP_INPUTS, finish_chats, finish_shops, judged_chats, shop_frame
from chatsim.rules import Rule

__all__ = [
    "PolarsBackend",
    "canonical_order",
    "compiled_messages",
    "pack_small_columns",
    "polars_backend",
    "run_polars",
]

_US_DAY = 86_400_000_000
_US_NOON = 12 * 3_600_000_000


def _native(lf: nw.LazyFrame) -> pl.LazyFrame:
    return lf.to_native()


class PolarsBackend(Backend):
    """The polars primitives of :class:`~chatsim.engine.backend.Backend`, as methods.

    ``zones`` are the shop time zones that occur (sorted; ``["UTC"]`` if none);
    ``window`` defaults to :class:`~chatsim.engine.backend.Compiled`, whose chats come
    from the compiled state machine (:meth:`chats`); with another window :attr:`chats`
    is None and the chats come from the expressions.
    """

    name = "polars"

    def __init__(self, zones: Sequence[str], window: Window | None = None) -> None:
        # Backend's callable fields are this class's methods: only the data is set here
        self.zones = sorted(zones) or ["UTC"]
        self.window = window or Compiled()
        if not isinstance(self.window, Compiled):
            self.chats = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PolarsBackend({self.zones!r}, {type(self.window).__name__}())"

    def add_epoch_us(self, lf: nw.LazyFrame, cols: dict[str, str]) -> nw.LazyFrame:
        """``lf`` with each ``out`` of ``cols`` its timestamp column in epoch microseconds."""
        return nw.from_native(
            _native(lf).with_columns(
                pl.col(src).dt.epoch("us").alias(out) for out, src in cols.items()
            )
        )

    def add_timestamps(self, lf: nw.LazyFrame, cols: dict[str, str]) -> nw.LazyFrame:
        """``lf`` with each ``out`` of ``cols`` its microseconds column as a UTC timestamp
        (the microseconds columns dropped)."""
        return nw.from_native(
            _native(lf)
            .with_columns(pl.col(src).cast(TIMESTAMP_DTYPE).alias(out) for out, src in cols.items())
            .drop(*{src for src in cols.values()} - set(cols))
        )

    def add_local_week(self, lf: nw.LazyFrame) -> nw.LazyFrame:
        """``lf`` (collected) with ``_lwd`` and ``_mon_noon_us`` on its ``_weekend_candidate``
        rows (:class:`~chatsim.engine.backend.Backend`), null elsewhere."""
        # candidate rows only (chatbot shops' chats), each zone's rows converted with its
        # own zone (one conversion per row, not one per zone and row); the two columns
        # are computed on a narrow frame and put back at the rows' positions, so the
        # frame keeps its row order
        df = _native(lf).collect()
        cand = pl.col("_weekend_candidate")
        narrow = (
            df.lazy()
            .select("_open_us", "timezone", cand)
            .with_row_index("_i")
            .filter(cand.fill_null(False))
        )
        parts = []
        for i, z in enumerate(self.zones):
            # the local day (days since 1970-01-01 on the local calendar) and weekday
            local_day = (
                local_time(pl.col("_open_us").cast(TIMESTAMP_DTYPE), [z]).dt.epoch("us") // _US_DAY
            )
            wd = (local_day + 3) % 7 + 1  # Monday=1 .. Sunday=7; 1970-01-01 was a Thursday
            # with several zones, a zone not listed matches none of these: no weekend
            # columns, row kept (with one zone, every candidate row is in it)
            in_zone = narrow if len(self.zones) == 1 else narrow.filter(pl.col("timezone") == z)
            parts.append(
                in_zone.select(
                    "_i",
                    pl.lit(i, dtype=pl.UInt16).alias("_z"),
                    wd.cast(pl.Int8).alias("_lwd"),
                    (local_day + 8 - wd).alias("_monday"),  # the next Monday's local day
                )
            )
        found = pl.concat(parts, how="vertical").collect()
        # Monday 12:00 local -> UTC once per zone and Monday (a few dozen), not per chat
        mondays = found.select("_z", "_monday").unique()
        noon = pl.concat(
            [
                part.with_columns(
                    from_local_exact(part, "_noon", [z]).dt.epoch("us").alias("_mon_noon_us")
                ).drop("_noon")
                for i, z in enumerate(self.zones)
                for part in [
                    mondays.filter(pl.col("_z") == i).with_columns(
                        (pl.col("_monday") * _US_DAY + _US_NOON)
                        .cast(pl.Datetime("us"))
                        .alias("_noon")
                    )
                ]
            ]
        )
        found = found.join(noon, on=["_z", "_monday"], how="left")
        return nw.from_native(
            df.lazy().with_columns(
                placed(found[c], found["_i"], df.height) for c in ("_lwd", "_mon_noon_us")
            )
        )

    def add_business(self, lf: nw.LazyFrame, rule: Rule) -> nw.LazyFrame:
        """``lf`` with ``_deadline_us`` and ``_resp_us`` on ``rule``'s business clock."""
        from chatsim.rules import schedule_minutes

        iv = schedule_minutes(rule.business_schedule)
        # exact to the microsecond: working microseconds on the local wall clock
        b_open = business_us(local_time(pl.col("open_at"), self.zones), iv)
        b_ans = business_us(local_time(pl.col("answer_at"), self.zones), iv)
        window_us = rule.window_seconds * 1_000_000  # as the calendar clock
        df = (
            _native(lf)
            .with_columns(
                business_deadline_us(b_open + window_us, iv).alias("_deadline_local"),
                (b_ans - b_open).clip(lower_bound=0).cast(pl.Int64).alias("_resp_us"),
            )
            .collect()
        )
        # a deadline in a DST gap is the moment the clocks jump: never null; in a repeated
        # hour, its first pass, unless that comes before the opening (then the second)
        deadline = from_local_exact(df, "_deadline_local", self.zones)
        early = deadline.dt.epoch("us") < df["_open_us"]
        if early.any():
            second = from_local_exact(df, "_deadline_local", self.zones, ambiguous="latest")
            deadline = pl.select(pl.when(early).then(second).otherwise(deadline)).to_series()
        return nw.from_native(
            df.lazy()
            .with_columns(deadline.dt.epoch("us").alias("_deadline_us"))
            .drop("_deadline_local")
        )

    def materialize(self, lf: nw.LazyFrame) -> nw.LazyFrame:
        """``lf`` collected, so that a frame read twice is computed once."""
        return nw.from_native(_native(lf).collect().lazy())

    def add_columns(self, lf: nw.LazyFrame, table: nw.LazyFrame, on: str) -> nw.LazyFrame:
        """``lf`` (collected, rows in order) with ``table``'s columns of each row's ``on``."""
        # shop codes (encode_shops) are row positions in the shops table: a gather, in
        # row order, instead of a join
        t = _native(table).collect()
        ids = t[on]
        positional = ids.dtype.is_unsigned_integer() and ids.equals(
            pl.int_range(t.height, dtype=ids.dtype, eager=True), check_names=False
        )
        # collected: the flags that follow look the rows up more than once
        if not positional:  # a join that keeps the rows' order
            joined = _native(lf).join(_native(table), on=on, how="left", maintain_order="left")
            return self.materialize(nw.from_native(joined))
        return self.materialize(
            nw.from_native(
                _native(lf).with_columns(
                    pl.lit(t[c]).gather(pl.col(on)).alias(c) for c in t.columns if c != on
                )
            )
        )

    def flag_rows(
        self, lf: nw.LazyFrame, key: list[str], hits: nw.LazyFrame, name: str
    ) -> nw.LazyFrame:
        """``lf`` with boolean ``name``: the row's ``key`` occurs in ``hits`` (rows in order)."""
        # the hits are few: a hash lookup per row keeps the row order and copies nothing
        h = _native(hits).collect()
        if len(key) == 1:
            expr = pl.col(key[0]).is_in(h[key[0]].implode())
        else:
            expr = pl.struct(key).is_in(h.select(pl.struct(key)).to_series().implode())
        # as a join: a null key matches nothing
        expr = expr.fill_null(False) & pl.all_horizontal(pl.col(k).is_not_null() for k in key)
        return nw.from_native(_native(lf).with_columns(expr.alias(name)))

    def chats(self, messages: nw.LazyFrame) -> Callable[[tuple], nw.LazyFrame]:
        """The compiled chat builder: ``messages`` (:func:`compiled_messages`) ->
        ``(definition key)`` -> that definition's chats."""
        df = _native(messages).collect()
        t = df["sent_at"].dt.epoch("us").to_numpy()  # whatever the time unit
        flags = df["_flags"].to_numpy()
        # the columns themselves: an eager select would align their chunks (a copy)
        ids = {c: df[c] for c in ("shop_id", CONV, "buyer_id")}
        del df

        def build(key: tuple) -> nw.LazyFrame:
            auto_reply, valid_only, session_hours = key
            shards = kernel.chat_shards(
                t,
                flags,
                auto_reply=auto_reply,
                valid_replies_only=valid_only,
                session_us=int(round(session_hours * US_PER_HOUR)),
            )
            return nw.from_native(kernel.chats_frame(shards, ids))

        return build


def polars_backend(zones: Sequence[str], window: Window | None = None) -> PolarsBackend:
    """The polars primitives; ``zones`` are the shop time zones that occur."""
    return PolarsBackend(zones, window)


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


def run_polars(
    messages: pl.DataFrame,
    shops: pl.DataFrame,
    holiday_mode: pl.DataFrame,
    blocked: pl.DataFrame,
    rules: Sequence[Rule],
    as_of: dt.datetime,
    *,
    window: Window | None = None,
    chats: bool = True,
) -> list[tuple[Rule, pl.DataFrame, pl.DataFrame]]:
    """Run the rule logic on polars: ``(rule, chat table, shop table)`` per rule
    (``chats`` false: each chat table empty, with its columns)."""
    be = polars_backend(shops["timezone"].unique().to_list(), window)
    blk = blocked.filter(pl.col("blocked_at") <= as_of)
    original_shops = shops
    ids = {c: messages.schema[c] for c in ("shop_id", CONV, "buyer_id")}
    # string shop ids become small integer codes for the engine (joins and group-bys on
    # integers); finish_chats / finish_shops turn them back
    shop_enum, (coded, shops, holiday_mode, blk) = encode_shops(messages, shops, holiday_mode, blk)
    try:
        frames = judged_chats(
            *_ordered(coded, be.window),
            nw.from_native(shops.lazy()),
            nw.from_native(holiday_mode.lazy()),
            nw.from_native(blk.lazy()),
            be,
            rules,
            as_of,
            has_holidays=holiday_mode.height > 0,
            has_blocked=blk.height > 0,
        )
        del coded  # judged_chats drops the sorted copy once it is used
        out = []
        for rule, judged in frames:
            # the rule name is filled in by finish_chats: no column of it to collect
            lf = _native(judged).drop("rule")
            del judged  # before the next rule's chats are built
            if chats:
                df = lf.collect()
                table = finish_chats(df, ids, shop_enum, rule.name)
            else:  # what the shop table reads; the chat table's columns, no rows
                df = lf.select(SHOP_INPUTS).collect()
                table = finish_chats(lf.head(0).collect(), ids, shop_enum, rule.name)
            del lf
            shop = shop_frame(nw.from_native(df.lazy()), nw.from_native(shops.lazy()), rule)
            out.append(
                (
                    rule,
                    table,
                    finish_shops(_native(shop).collect(), original_shops, rule, shop_enum),
                )
            )
            del df, shop, table
        return out
    except pl.exceptions.InvalidOperationError:
        # a shop code failed: name the messages of unknown shops (else re-raise)
        check_shops_known(messages, original_shops)
        raise


def compiled_messages(
    messages: pl.DataFrame | pl.LazyFrame, *, presorted: bool = False
) -> pl.DataFrame:
    """What the compiled chat builder reads (:class:`Compiled`): the ids, ``sent_at`` and
    the flag byte (:func:`chatsim.engine.kernel.message_flags`) of the messages in canonical
    order (``presorted``: they already are).

    The flag byte has no nulls: a null in a column it reads that validation never lets
    through (``sender``, ``kind``, ``is_broadcast``) raises
    :class:`~chatsim.errors.SchemaError` (null ``valid_reply`` and ``rating`` are
    allowed: not valid, not rated).
    """
    required = ["sender", "kind", "is_broadcast", "sent_at"]
    nulls = messages.lazy().select(pl.col(required).null_count()).collect().row(0, named=True)
    if any(nulls.values()):
        from chatsim.errors import SchemaError

        found = {c: n for c, n in nulls.items() if n}
        raise SchemaError(
            f"messages: null values in {found}; these columns must be filled. Read the log "
            "with chatsim.schema.read_log or ChatLog.from_frames, which validate it."
        )
    narrow = messages.lazy().select(
        CONV, "shop_id", "buyer_id", "sent_at", "message_id", kernel.message_flags()
    )
    if presorted:
        ordered = narrow.drop("message_id").collect()
    else:
        ordered = canonical_order(narrow, keep_message_id=False, compiled=True)
    return ordered.with_columns(kernel.start_bit(CONV))


def _ordered(
    messages: pl.DataFrame | pl.LazyFrame, window: Window
) -> tuple[nw.LazyFrame, nw.LazyFrame | None]:
    """The messages for :func:`judged_chats` and the id lookup of the sorted rows."""
    if not isinstance(window, GlobalOrder):
        return nw.from_native(messages.lazy()), None
    if isinstance(window, Compiled):
        return nw.from_native(compiled_messages(messages).lazy()), None
    # the ordered pass needs no message id once the rows are in canonical order
    ordered = canonical_order(messages, keep_message_id=False).with_row_index("_r")
    # only the ids are looked up later: keep them, not the whole sorted copy
    lookup = ordered.select("_r", CONV, "shop_id", "buyer_id")
    return nw.from_native(ordered.lazy()), nw.from_native(lookup.lazy())
