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
from chatsim.engine.finish import (
    finish_chats,
    finish_shops,
    judged_chats,
    shop_frame,
    shop_inputs,
)

# the canonical order lives beside the run (chatsim.engine.ordering); reached from here too
from chatsim.engine.ordering import canonical_order, pack_small_columns
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
    ``stars``: the messages have a ``stars`` column (the chats then carry it);
    ``last_auto``: the compiled chats keep ``last_auto_at``, each chat's last automatic
    reply (:func:`chatsim.engine.kernel.chats_frame`); ``window``
    defaults to :class:`~chatsim.engine.backend.Compiled`, whose chats come
    from the compiled state machine (:meth:`chats`); with another window :attr:`chats`
    is None and the chats come from the expressions.
    """

    name = "polars"

    def __init__(
        self,
        zones: Sequence[str],
        window: Window | None = None,
        stars: bool = False,
        last_auto: bool = False,
    ) -> None:
        # Backend's callable fields are this class's methods: only the data is set here
        self.zones = sorted(zones) or ["UTC"]
        self.stars = stars
        self.last_auto = last_auto
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

    def add_local_day(self, lf: nw.LazyFrame) -> nw.LazyFrame:
        """``lf`` with ``_lday`` and ``_ltod``: the shop-local date (days since 1970-01-01)
        and time of day (microseconds) of ``_open_us`` in each row's ``timezone``."""
        local = local_time(pl.col("_open_us").cast(TIMESTAMP_DTYPE), self.zones).dt.epoch("us")
        return nw.from_native(
            _native(lf).with_columns(_lday=local // _US_DAY, _ltod=local % _US_DAY)
        )

    def add_utc_of_local(self, lf: nw.LazyFrame, cols: dict[str, str]) -> nw.LazyFrame:
        """``lf`` (collected) with each ``out`` of ``cols`` the UTC microseconds of the
        shop-local wall-clock microseconds ``src`` (:func:`from_local_exact`: a time in a
        DST gap is the moment the clocks jump, a repeated time its first pass)."""
        df = _native(lf).collect()
        for out, src in cols.items():
            naive = df.select(pl.col(src).cast(pl.Datetime("us")).alias("_naive"), "timezone")
            utc = from_local_exact(naive, "_naive", self.zones).dt.epoch("us")
            df = df.with_columns(utc.alias(out))
        return nw.from_native(df.lazy())

    def from_polars(self, df: pl.DataFrame) -> nw.LazyFrame:
        """A small polars table as a frame to join or flag with."""
        return nw.from_native(df.lazy())

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
        extra = df["_extra"].to_numpy() if "_extra" in df.columns else None
        # the columns themselves: an eager select would align their chunks (a copy)
        ids = {c: df[c] for c in ("shop_id", CONV, "buyer_id")}
        del df

        def build(key: tuple) -> nw.LazyFrame:
            # (auto_reply, valid_replies_only, session_hours[, units]): Rule.chat_key()
            auto_reply, valid_only, session_hours, *rest = key
            units = bool(rest and rest[0])
            shards = kernel.chat_shards(
                t,
                flags,
                auto_reply=auto_reply,
                valid_replies_only=valid_only,
                session_us=int(round(session_hours * US_PER_HOUR)),
                extra=extra,
                units=units,
            )
            chats = kernel.chats_frame(shards, ids, t if units else None, last_auto=self.last_auto)
            return nw.from_native(chats if self.stars else chats.drop("stars"))

        return build


def polars_backend(
    zones: Sequence[str],
    window: Window | None = None,
    stars: bool = False,
    last_auto: bool = False,
) -> PolarsBackend:
    """The polars primitives; ``zones`` are the shop time zones that occur, ``stars``
    whether the messages have a ``stars`` column, ``last_auto`` whether the compiled chats
    keep ``last_auto_at``."""
    return PolarsBackend(zones, window, stars, last_auto)


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
    be = polars_backend(shops["timezone"].unique().to_list(), window, "stars" in messages.columns)
    holiday_rules = [r.name for r in rules if "public_holiday" in r.exclusions]
    if holiday_rules:
        from chatsim.schema.extras import check_countries

        check_countries(shops, "shops", holiday_rules)
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
                df = lf.select(shop_inputs(lf.collect_schema().names())).collect()
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
    names = messages.lazy().collect_schema().names()
    # the optional columns' byte only where the messages have one of them
    extra = [kernel.extra_flags(names)] if {"stars", "no_response_needed"} & set(names) else []
    narrow = messages.lazy().select(
        CONV, "shop_id", "buyer_id", "sent_at", "message_id", kernel.message_flags(), *extra
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
