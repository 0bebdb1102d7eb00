"""Windows and the engine strategy: what an engine supplies, and nothing that is rule logic.

A :class:`Window` says how the engine reaches "the latest earlier row of the same
conversation" and how it gathers one row per chat: ordered passes over the globally
sorted frame on polars (:class:`GlobalOrder`), windows partitioned by conversation on
Spark (:class:`PerConversation`), or the compiled loop (:class:`Compiled`, polars'
default). A :class:`Backend` bundles the window with the other engine-specific
primitives (epoch microseconds, shop-local weekday, business clock, collecting); the
default ways to attach a table's columns and to flag rows are joins
(:func:`join_columns`, :func:`join_flag`).

Example:
    >>> lf = nw.from_native(pl.LazyFrame({"k": [1, 2, 3]}))
    >>> hits = nw.from_native(pl.LazyFrame({"k": [2]}))
    >>> join_flag(lf, ["k"], hits, "hit").to_native().collect().sort("k")["hit"].to_list()
    [False, True, False]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import narwhals as nw
import numpy as np
import polars as pl

from chatsim.engine.codes import CONV, ORDER
from chatsim.rules import Rule

__all__ = [
    "Agg",
    "Backend",
    "Compiled",
    "GlobalOrder",
    "PerConversation",
    "Window",
    "join_columns",
    "join_flag",
    "placed",
]


def placed(values: pl.Series, idx: pl.Series, n: int) -> pl.Series:
    """A column of ``n`` rows holding ``values`` at the positions ``idx``, null elsewhere.

    Example:
        >>> placed(pl.Series("v", [7, 9]), pl.Series([1, 3]), 4).to_list()
        [None, 7, None, 9]
    """
    return pl.Series(values.name, [None], values.dtype).new_from_index(0, n).scatter(idx, values)


# --------------------------------------------------------------------------------------
# Windows: "the latest earlier row of the same conversation"
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Agg:
    """One per-chat value, computed over the rows of each chat.

    ``how`` is ``"first"`` / ``"last"`` (``value`` at the chat's first / last row where
    ``where`` holds, null if none; ``value`` must not decrease in row order within a chat,
    such as a time or a position, so an engine may take the minimum / maximum instead),
    ``"count"`` (rows where ``where`` holds) or ``"any"`` (whether one does).
    ``where`` None means every row of the chat.
    """

    name: str
    how: str
    value: nw.Expr | None = None
    where: nw.Expr | None = None

    def expr(self) -> nw.Expr:
        """The aggregation as a group-by expression."""
        where = self.where if self.where is not None else nw.lit(True)
        if self.how == "count":
            return where.cast(nw.Int64).sum().alias(self.name)
        if self.how == "any":
            return where.any().alias(self.name)
        assert self.value is not None and self.how in ("first", "last")
        v = self.value if self.where is None else nw.when(self.where).then(self.value)
        return (v.min() if self.how == "first" else v.max()).alias(self.name)


class Window:
    """How the engine orders rows within a conversation.

    ``row_key`` identifies a message row, ``chat_key`` a chat, ``pos`` is a column
    increasing in the canonical order (``sent_at``, ``message_id``) within a
    conversation. ``chat_order`` are chat table columns that sort the chats of one
    rule in the order of the chat table (conversation, then chat number).
    """

    row_key: list[str]
    chat_key: list[str]
    chat_order: list[str]
    pos = "_r"

    def start(self, lf: nw.LazyFrame) -> nw.LazyFrame:  # pragma: no cover - interface
        raise NotImplementedError

    def prev(self, lf: nw.LazyFrame, name: str, value: nw.Expr, reset: object) -> nw.LazyFrame:
        """Add ``name``: ``value`` of the latest earlier row (strictly before) of the same
        conversation where it is not null; ``reset`` when there is none."""
        raise NotImplementedError  # pragma: no cover

    def number(
        self, lf: nw.LazyFrame, flag: str, chat: str = "_chat", seq: str = "_seq"
    ) -> nw.LazyFrame:
        """Add ``seq``: running count of ``flag`` within the conversation (and ``chat``, the
        chat key where the window needs one)."""
        raise NotImplementedError  # pragma: no cover

    def attach(self, chats: nw.LazyFrame, lookup: nw.LazyFrame) -> nw.LazyFrame:
        """Add the ``lookup`` columns of each chat's opening row (``_open_pos``)."""
        open_key = ["_open_pos" if k == self.pos else k for k in self.row_key]
        return chats.join(lookup, left_on=open_key, right_on=self.row_key, how="left")

    def aggregate(self, lf: nw.LazyFrame, member: nw.Expr, aggs: Sequence[Agg]) -> nw.LazyFrame:
        """One row per chat (``chat_key`` and the ``aggs``) over the rows where ``member``
        holds; a group-by (row order carries no meaning here)."""
        return lf.filter(member).group_by(*self.chat_key).agg(*(a.expr() for a in aggs))

    def combine(self, same: nw.LazyFrame, own: nw.LazyFrame) -> nw.LazyFrame:
        """One definition's chats from two parts (rows of different conversations)."""
        return nw.concat([same, own], how="vertical")


class GlobalOrder(Window):
    """Polars: rows sorted by conversation, time, message id, with a global row index ``_r``.

    The carried values are plain ordered passes over the sorted frame (``shift``,
    ``forward_fill``, ``cum_sum``), reset at conversation starts, in native polars:
    narwhals spells an ordered pass as a window over a constant partition, which polars
    evaluates with a sort. ``value`` itself is still the narwhals expression of the rule
    logic. The per-chat values (:meth:`aggregate`) and the merge of a derived definition's
    parts (:meth:`combine`) are native polars too, working by row position; no rule
    logic lives in them.
    """

    row_key = ["_r"]
    chat_key = ["_chat"]
    # the opening row's global position: one integer key in conversation, chat order
    chat_order = ["_open_pos"]

    def start(self, lf: nw.LazyFrame) -> nw.LazyFrame:
        c = pl.col(CONV)
        return nw.from_native(lf.to_native().with_columns(_cs=c.ne_missing(c.shift(1))))

    def prev(self, lf: nw.LazyFrame, name: str, value: nw.Expr, reset: object) -> nw.LazyFrame:
        native = lf.with_columns(value.alias(name)).to_native()
        carried = (
            pl.when(pl.col("_cs"))
            .then(pl.lit(reset))
            .otherwise(pl.col(name).shift(1))
            .forward_fill()
        )
        return nw.from_native(native.with_columns(carried.alias(name)))

    def number(
        self, lf: nw.LazyFrame, flag: str, chat: str = "_chat", seq: str = "_seq"
    ) -> nw.LazyFrame:
        f = pl.col(flag).cast(pl.UInt32)  # as many chats as rows at most (UInt32 row index)
        total = f.cum_sum()
        base = pl.when(pl.col("_cs")).then(total - f).forward_fill()
        native = lf.to_native().with_columns(total.alias(chat), (total - base).alias(seq))
        return nw.from_native(native)

    def aggregate(self, lf: nw.LazyFrame, member: nw.Expr, aggs: Sequence[Agg]) -> nw.LazyFrame:
        # The member rows of a chat are consecutive and its chat number ``_chat`` runs
        # 1, 2, ... in row order, so no group-by is needed: a first / last value is a
        # row where the chat number changes (among the rows where ``where`` holds), put
        # at its chat's position; counts are a bincount. The chats come out in
        # chat-table order (by the opening row) and every later step keeps the row
        # order, so the chat table needs no sort at the end.
        # One column per distinct expression object (one time column serves five values).
        cols: dict[int, str] = {}  # id of the expression -> its column
        exprs: dict[str, nw.Expr] = {}
        for e in (e for a in aggs for e in (a.value, a.where) if e is not None):
            if id(e) not in cols:
                cols[id(e)] = f"_c{len(cols)}"
                exprs[cols[id(e)]] = e

        def col(e: nw.Expr) -> pl.Expr:
            return pl.col(cols[id(e)])

        rows = lf.filter(member).select(nw.col("_chat"), **exprs).to_native().collect().lazy()
        key = pl.col("_chat")
        # the chat's first row (rows where the chat number changes), then one query per
        # value, all collected in one call (run in parallel)
        at_first_row = [a for a in aggs if a.where is None and a.how == "first"]
        queries = [
            rows.select(key, *(col(a.value).alias(a.name) for a in at_first_row)).filter(
                key.ne_missing(key.shift(1))
            )
        ]
        for a in aggs:
            if a in at_first_row:
                continue
            sel = rows if a.where is None else rows.filter(col(a.where))
            if a.how in ("count", "any"):
                queries.append(sel.select(key))
            else:
                edge = key.ne_missing(key.shift(1 if a.how == "first" else -1))
                queries.append(sel.select(key, col(a.value).alias(a.name)).filter(edge))
        heads, *parts = pl.collect_all(queries)
        n = heads.height
        if n == 0:
            # no chats: the same (empty) columns
            return Window.aggregate(self, lf, member, aggs).drop(*self.chat_key)
        first_chat = heads["_chat"][0]
        assert heads["_chat"][-1] - first_chat + 1 == n, "chat numbers must run 1, 2, ..."
        out = {}
        for a in aggs:
            if a in at_first_row:
                out[a.name] = heads[a.name]
                continue
            part = parts.pop(0)
            idx = part["_chat"] - first_chat  # the chat's position
            if a.how in ("count", "any"):
                counts = np.bincount(idx.to_numpy(), minlength=n)
                out[a.name] = pl.Series(a.name, counts > 0 if a.how == "any" else counts)
            else:
                out[a.name] = placed(part[a.name], idx, n)
        return nw.from_native(pl.DataFrame(out).lazy())

    def combine(self, same: nw.LazyFrame, own: nw.LazyFrame) -> nw.LazyFrame:
        # both parts are in chat order: a merge keeps it
        return nw.from_native(same.to_native().merge_sorted(own.to_native(), key="_open_pos"))

    def attach(self, chats: nw.LazyFrame, lookup: nw.LazyFrame) -> nw.LazyFrame:
        # ``_r`` is the row number of the sorted messages, so a gather does the join
        ids = lookup.to_native().collect()
        assert ids["_r"].is_sorted() and (ids.height == 0 or ids["_r"][-1] == ids.height - 1)
        pos = pl.col("_open_pos")
        native = chats.to_native().with_columns(
            pl.lit(ids[c]).gather(pos).alias(c) for c in ids.columns if c != "_r"
        )
        return nw.from_native(native)


class Compiled(GlobalOrder):
    """Polars (the default): the chat state machine compiled (:mod:`chatsim.engine.kernel`),
    one loop over the globally sorted messages; the rest as :class:`GlobalOrder`.

    The messages travel through the sort as ``sent_at``, the ids and one flag byte
    (:func:`chatsim.engine.kernel.message_flags`): the kernel reads nothing else.
    """


class PerConversation(Window):
    """Windows partitioned by conversation, ordered by time then message id (any engine)."""

    row_key = [CONV, "_r"]
    chat_key = [CONV, "_seq"]
    chat_order = [CONV, "chat_seq"]

    def _o(self, e: nw.Expr) -> nw.Expr:
        return e.over(CONV, order_by=ORDER)

    def start(self, lf: nw.LazyFrame) -> nw.LazyFrame:
        lf = lf.with_columns(_r=self._o(nw.col("message_id").cum_count()))
        return lf.with_columns(_cs=nw.col("_r") == 1)

    def prev(self, lf: nw.LazyFrame, name: str, value: nw.Expr, reset: object) -> nw.LazyFrame:
        lf = lf.with_columns(self._o(value.shift(1)).alias(name))
        return lf.with_columns(
            self._o(nw.col(name).fill_null(strategy="forward")).fill_null(reset).alias(name)
        )

    def number(
        self, lf: nw.LazyFrame, flag: str, chat: str = "_chat", seq: str = "_seq"
    ) -> nw.LazyFrame:
        return lf.with_columns(self._o(nw.col(flag).cast(nw.Int64).cum_sum()).alias(seq))


# --------------------------------------------------------------------------------------
# Engine-specific primitives
# --------------------------------------------------------------------------------------


@dataclass
class Backend:
    """Engine-specific primitives (no rule logic).

    An engine passes its functions (Spark) or subclasses and defines them as methods
    (:class:`~chatsim.engine.polars.PolarsBackend`).

    Attributes:
        window: the :class:`Window` strategy.
        add_epoch_us: ``(lf, {out: timestamp column})`` -> lf with Int64 microseconds.
        add_timestamps: ``(lf, {out: microseconds column})`` -> lf with UTC timestamps.
        add_local_week: ``(lf)`` -> lf with ``_lwd`` (shop-local weekday of ``_open_us``,
            Monday=1) and ``_mon_noon_us`` (next Monday 12:00 local after that local
            day, UTC microseconds), using the row's ``timezone``; only rows where
            ``_weekend_candidate`` is true need values.
        add_business: ``(lf, rule)`` -> lf with ``_deadline_us`` and ``_resp_us`` on the
            business clock, or None when the engine has no business clock.
        materialize: cache a frame used twice (identity if not worthwhile).
        name: engine name for messages.
        add_columns: ``(lf, table, on)`` -> lf with ``table``'s columns for each row's
            ``on`` value (default :func:`join_columns`).
        flag_rows: ``(lf, key, hits, name)`` -> lf with boolean ``name``: the row's
            ``key`` occurs in ``hits`` (default :func:`join_flag`).
        chats: compiled chat building, or None (:func:`chat_frame`'s expressions):
            ``(messages)`` -> ``(definition key)`` -> the chats of :func:`chat_frame`.
        add_local_day: ``(lf)`` -> lf with ``_lday`` (the shop-local date of ``_open_us``,
            days since 1970-01-01) and ``_ltod`` (microseconds since that local midnight),
            using the row's ``timezone``; None when the engine has no such conversion
            (then the daily cut-off deadline and the public-holiday exclusion are not
            available on it).
        add_utc_of_local: ``(lf, {out: src})`` -> lf with ``out`` the UTC microseconds of
            the shop-local wall-clock time ``src`` (microseconds since 1970-01-01 on the
            local calendar; a time in a DST gap is the moment the clocks jump, a repeated
            one its first pass); None as ``add_local_day``.
        from_polars: a small polars table as a frame of this engine (to join or flag).
    """

    window: Window
    add_epoch_us: Callable[[nw.LazyFrame, dict[str, str]], nw.LazyFrame]
    add_timestamps: Callable[[nw.LazyFrame, dict[str, str]], nw.LazyFrame]
    add_local_week: Callable[[nw.LazyFrame], nw.LazyFrame]
    add_business: Callable[[nw.LazyFrame, Rule], nw.LazyFrame] | None
    materialize: Callable[[nw.LazyFrame], nw.LazyFrame]
    name: str
    add_columns: Callable[[nw.LazyFrame, nw.LazyFrame, str], nw.LazyFrame] = field(
        default=lambda lf, table, on: join_columns(lf, table, on)
    )
    flag_rows: Callable[[nw.LazyFrame, list[str], nw.LazyFrame, str], nw.LazyFrame] = field(
        default=lambda lf, key, hits, name: join_flag(lf, key, hits, name)
    )
    chats: Callable[[nw.LazyFrame], Callable[[tuple], nw.LazyFrame]] | None = None
    add_local_day: Callable[[nw.LazyFrame], nw.LazyFrame] | None = None
    add_utc_of_local: Callable[[nw.LazyFrame, dict[str, str]], nw.LazyFrame] | None = None
    from_polars: Callable[[pl.DataFrame], nw.LazyFrame] = field(
        default=lambda df: nw.from_native(df.lazy())
    )


def join_columns(lf: nw.LazyFrame, table: nw.LazyFrame, on: str) -> nw.LazyFrame:
    """``lf`` with the columns of ``table`` (one row per ``on`` value) of each row's ``on``."""
    return lf.join(table, on=on, how="left")


def join_flag(lf: nw.LazyFrame, key: list[str], hits: nw.LazyFrame, name: str) -> nw.LazyFrame:
    """``lf`` with boolean ``name``: does the row's ``key`` occur in ``hits``."""
    flagged = hits.select(*key).unique().with_columns(nw.lit(True).alias(name))
    return lf.join(flagged, on=key, how="left").with_columns(nw.col(name).fill_null(False))
