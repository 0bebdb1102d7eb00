"""The rule logic, as narwhals code that polars and PySpark both run.

Everything that decides a number in the chat or shop tables lives here, as narwhals
expressions over a narwhals ``LazyFrame``: the chat state machine
(:func:`chat_frame`), the rule-independent chat features (:func:`with_features`),
the per-rule judging (:func:`judge`) and the shop aggregation (:func:`shop_frame`).
:func:`chatsim.metrics.compare` runs it on a polars ``LazyFrame`` and
:func:`chatsim.spark.compare_spark` on a Spark ``DataFrame``.

The chat state machine has one more form: :mod:`chatsim.kernel`, the same
definitions as one compiled loop over the sorted messages, which polars runs by
default (the :class:`Compiled` window). The tests require identical chat and shop
tables from it and from the expressions.

An :class:`Backend` supplies what is engine-specific, and nothing that is rule logic:

* how to reach "the previous row of the same conversation" (:class:`Window`):
  ordered passes over the globally sorted frame on polars (``GlobalOrder``),
  windows partitioned by conversation on Spark (``PerConversation``, narwhals,
  scales out); both give the same values, and the tests run the rule logic with
  both on polars; or the compiled loop (``Compiled``, polars' default);
* epoch microseconds of ``sent_at`` and back to timestamps;
* the shop-local weekday and "next Monday 12:00 local" of a UTC instant;
* the business-hours clock (polars only);
* collecting the result to polars (:func:`finish_chats`, :func:`finish_shops`
  then give both engines' results the same columns and dtypes).

Timestamps are compared as integer microseconds and averages are computed as an
integer sum divided by a count, so both engines give bit-identical results.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import narwhals as nw
import numpy as np
import polars as pl

from chatsim import kernel
from chatsim.rules import EXCLUSIONS, Rule

# integer codes of the state machine
NONE, BUYER, HUMAN, AUTO = 0, 1, 2, 3
NO_TIME = -(2**62)  # sentinel: "no such earlier message in this conversation"
US_PER_HOUR = 3_600_000_000
ORDER = ["_t", "message_id"]  # sent_at as epoch microseconds, then the message id
CONV = "conversation_id"

STATUSES: tuple[str, ...] = (
    "answered_in_time",
    "answered_late",
    "unanswered",
    "pending",
    "excluded",
    "outside_period",
)
STATUS_DTYPE = pl.Enum(list(STATUSES))
REASON_DTYPE = pl.Enum(list(EXCLUSIONS))
# inside the engine a status is its position in STATUSES and an exclusion reason its
# position in EXCLUSIONS (small integers, compared cheaply); finish_chats maps them to
# the Enum dtypes
STATUS_CODE = {name: i for i, name in enumerate(STATUSES)}
REASON_CODE = {name: i for i, name in enumerate(EXCLUSIONS)}
# the chat table's answered_by and rating travel as codes (positions in these names)
ANSWERED_BY_NAMES = ("seller", "auto")
RATING_NAMES = ("satisfied", "unsatisfied")
ANSWERED_BY = pl.Enum(list(ANSWERED_BY_NAMES))
RATING = pl.Enum(list(RATING_NAMES))
RATING_CODE = {name: i for i, name in enumerate(RATING_NAMES)}
_UTC = pl.Datetime("us", "UTC")
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


def epoch_us(d: dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact)."""
    delta = d.astimezone(dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


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

    def number(self, lf: nw.LazyFrame, flag: str) -> nw.LazyFrame:
        """Add ``_seq``: running count of ``flag`` within the conversation (and the chat key)."""
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

    def number(self, lf: nw.LazyFrame, flag: str) -> nw.LazyFrame:
        f = pl.col(flag).cast(pl.UInt32)  # as many chats as rows at most (UInt32 row index)
        chat = f.cum_sum()
        base = pl.when(pl.col("_cs")).then(chat - f).forward_fill()
        native = lf.to_native().with_columns(_chat=chat, _seq=chat - base)
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

        rows = _native(lf.filter(member).select(nw.col("_chat"), **exprs)).collect().lazy()
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
    """Polars (the default): the chat state machine compiled (:mod:`chatsim.kernel`), one
    loop over the globally sorted messages; the rest as :class:`GlobalOrder`.

    The messages travel through the sort as ``sent_at``, the ids and one flag byte
    (:func:`chatsim.kernel.message_flags`): the kernel reads nothing else.
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

    def number(self, lf: nw.LazyFrame, flag: str) -> nw.LazyFrame:
        return lf.with_columns(_seq=self._o(nw.col(flag).cast(nw.Int64).cum_sum()))


# --------------------------------------------------------------------------------------
# Engine-specific primitives
# --------------------------------------------------------------------------------------


@dataclass
class Backend:
    """Engine-specific primitives (no rule logic).

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


# --------------------------------------------------------------------------------------
# Messages -> chats (the state machine)
# --------------------------------------------------------------------------------------


def message_base(messages: nw.LazyFrame, be: Backend, carry: Sequence[str] = ()) -> nw.LazyFrame:
    """Rule-independent per-message columns, shared by every chat definition.

    ``messages`` must hold the validated message columns; on :class:`GlobalOrder`
    it must be sorted by conversation, ``sent_at``, ``message_id`` with row index ``_r``.
    ``carry`` names further columns to keep (e.g. ``shop_id``, ``buyer_id``).
    """
    w = be.window
    lf = be.add_epoch_us(messages, {"_t": "sent_at"})
    not_system = nw.col("kind") != "system"
    sender = nw.col("sender")
    bcast = nw.col("is_broadcast")
    # the ordered pass needs no message id (rows are already in canonical order)
    order_cols = [] if isinstance(w, GlobalOrder) else ["message_id"]
    lf = lf.select(
        *(["_r"] if "_r" in lf.columns else []),
        CONV,
        *carry,
        *order_cols,
        "_t",
        "valid_reply",
        "rating",
        _buyer=(sender == "buyer") & not_system,
        _seller=(sender == "seller") & not_system,
        _bcast=bcast,
        # broadcasts never answer and are never automatic replies, whatever the sender
        _auto=(sender == "auto") & not_system & ~bcast,
        _sent_by_auto=sender == "auto",
    )
    lf = w.start(lf)
    lf = w.prev(lf, "_last_buyer", nw.when(nw.col("_buyer")).then(nw.col("_t")), NO_TIME)
    return lf


def chat_frame(
    base: nw.LazyFrame,
    lookup: nw.LazyFrame,
    be: Backend,
    *,
    auto_reply: str = "exclude_resolved",
    valid_replies_only: bool = False,
    session_hours: float = 24.0,
) -> nw.LazyFrame:
    """One row per chat (the definitions of :mod:`chatsim.chats`), lazily.

    ``base`` comes from :func:`message_base`; ``lookup`` holds ``row_key`` plus
    ``shop_id``, ``buyer_id`` (and ``conversation_id``) of each message: a chat takes
    them from its opening message.
    """
    w = be.window
    session_us = int(round(session_hours * US_PER_HOUR))
    t = nw.col("_t")
    human = nw.col("_seller") & ~nw.col("_bcast")
    if valid_replies_only:
        human = human & nw.col("valid_reply")
    if auto_reply == "count_as_answer":
        human = human | nw.col("_auto")
    lf = base.with_columns(_human=human)
    buyer, human = nw.col("_buyer"), nw.col("_human")
    BUYER_, HUMAN_, AUTO_ = (nw.lit(code, dtype=nw.Int8) for code in (BUYER, HUMAN, AUTO))

    # 1. state of the latest buyer/answering row: is a chat waiting?
    bh = nw.when(buyer).then(BUYER_).otherwise(nw.when(human).then(HUMAN_))
    lf = w.prev(lf, "_prev_bh", bh, NONE)
    # 2. automatic replies to a waiting chat (only they carry the AUTO state)
    if auto_reply == "exclude_resolved":
        lf = lf.with_columns(_u=nw.col("_auto") & (nw.col("_prev_bh") == BUYER))
    else:
        lf = lf.with_columns(_u=nw.lit(False))
    state = (
        nw.when(buyer)
        .then(BUYER_)
        .otherwise(nw.when(human).then(HUMAN_).otherwise(nw.when(nw.col("_u")).then(AUTO_)))
    )
    lf = lf.with_columns(_state=state)
    lf = w.prev(lf, "_prev", nw.col("_state"), NONE)
    lf = w.prev(lf, "_prev_t", nw.when(~nw.col("_state").is_null()).then(t), NO_TIME)
    prev = nw.col("_prev")
    waiting = prev.is_in([BUYER, AUTO])
    is_open = buyer & (
        prev.is_in([NONE, HUMAN]) | ((prev == AUTO) & (t - nw.col("_prev_t") > session_us))
    )
    last_buyer = nw.col("_last_buyer")
    # a seller message opens a thread only when no chat is waiting; a broadcast does so
    # whenever, other seller messages only if the buyer has been silent for a session
    opener = (
        nw.col("_seller")
        & ~waiting
        & (nw.col("_bcast") | (last_buyer == NO_TIME) | (t - last_buyer > session_us))
    )
    lf = lf.with_columns(
        _open=is_open, _answer=human & waiting, _in_chat=is_open | waiting, _opener=opener
    )
    lf = w.prev(lf, "_last_opener", nw.when(nw.col("_opener")).then(t), NO_TIME)
    lf = w.number(lf, "_open")
    lo = nw.col("_last_opener")
    seller_init = (
        nw.col("_open")
        & (lo != NO_TIME)
        & (t - lo <= session_us)
        & ((last_buyer == NO_TIME) | (last_buyer < lo))
    )

    # One group per chat: the chat's own rows (``_in_chat``: its opening message is the
    # earliest, answers, automatic replies and buyer messages all fall inside it) and
    # the ratings given while it was the conversation's latest chat; the latest of
    # those counts (encoded as position * 2 + satisfied, so the latest is the maximum).
    answer, u = nw.col("_answer"), nw.col("_u")
    rated = ~nw.col("rating").is_null()
    rating_code = nw.col(w.pos).cast(nw.Int64) * 2 + (nw.col("rating") == "satisfied").cast(
        nw.Int64
    )
    aggs = [
        Agg("_open_pos", "first", nw.col(w.pos)),
        Agg("_open_us", "first", t),
        Agg("_answer_us", "first", t, answer),
        Agg("_ans_auto", "any", where=answer & nw.col("_sent_by_auto")),
        Agg("_first_auto_us", "first", t, u),
        Agg("_last_auto_us", "last", t, u),
        Agg("_last_buyer_us", "last", t, buyer),
        Agg("n_buyer_messages", "count", where=buyer),
        Agg("seller_initiated", "any", where=seller_init),  # true on opening rows only
        Agg("_rating_code", "last", rating_code, rated),
    ]
    if "_seq" not in w.chat_key:
        aggs.append(Agg("_seq", "first", nw.col("_seq")))
    in_group = nw.col("_in_chat") | (rated & (nw.col("_seq") > 0))
    chats = w.attach(w.aggregate(lf, in_group, aggs), lookup)
    chats = chats.with_columns(
        _open_ts=nw.col("_open_us"),
        _answer_ts=nw.col("_answer_us"),
        _first_auto_ts=nw.col("_first_auto_us"),
        _last_buyer_ts=nw.col("_last_buyer_us"),
    )
    chats = be.add_timestamps(
        chats,
        {
            "open_at": "_open_ts",
            "answer_at": "_answer_ts",
            "first_auto_at": "_first_auto_ts",
            "last_buyer_at": "_last_buyer_ts",
        },
    )
    code = nw.col("_rating_code")
    return chats.select(
        "shop_id",
        CONV,
        "buyer_id",
        nw.col("_seq").cast(nw.Int32).alias("chat_seq"),
        "open_at",
        "answer_at",
        # answered_by and rating as codes (positions in ANSWERED_BY_NAMES, RATING_NAMES)
        nw.when(~nw.col("_answer_us").is_null())
        .then(nw.col("_ans_auto").cast(nw.Int8))
        .alias("answered_by"),
        "first_auto_at",
        "last_buyer_at",
        nw.col("n_buyer_messages").cast(nw.Int32),
        nw.when(~code.is_null()).then((1 - code % 2).cast(nw.Int8)).alias("rating"),
        "seller_initiated",
        (
            ~nw.col("_first_auto_us").is_null()
            & nw.col("_answer_us").is_null()
            & (nw.col("_last_buyer_us") < nw.col("_last_auto_us"))
        ).alias("auto_resolved"),
        "_open_us",
        "_answer_us",
        (nw.col("_answer_us") - nw.col("_open_us")).alias("_resp_us"),
        *(c for c in w.chat_order if c not in (CONV, "chat_seq")),
    )


# --------------------------------------------------------------------------------------
# Chat features, status, shop table
# --------------------------------------------------------------------------------------


def with_features(
    chats: nw.LazyFrame,
    shops: nw.LazyFrame,
    holiday_mode: nw.LazyFrame,
    blocked: nw.LazyFrame,
    as_of: dt.datetime,
    *,
    has_holidays: bool = True,
    has_blocked: bool = True,
    key: Sequence[str] = (CONV, "chat_seq"),
    be: Backend | None = None,
) -> nw.LazyFrame:
    """Rule-independent facts of each chat: shop time zone and chatbot flag, opened in
    holiday mode (``_hol``), from a buyer blocked at or before the cutoff (``_blk``).

    ``key`` identifies a chat (:attr:`Window.chat_order`: one integer column on polars).
    ``be`` supplies how columns and flags are attached (default: joins).
    """
    key = list(key)
    add_columns = be.add_columns if be is not None else join_columns
    flag_rows = be.flag_rows if be is not None else join_flag
    c = add_columns(chats, shops.select("shop_id", "timezone", "chatbot_enabled"), "shop_id")
    if has_holidays:
        hits = (
            c.select(*key, "shop_id", "open_at")
            .join(holiday_mode.select("shop_id", "start", "end"), on="shop_id", how="inner")
            .filter((nw.col("open_at") >= nw.col("start")) & (nw.col("open_at") < nw.col("end")))
            .select(*key)
        )
        c = flag_rows(c, key, hits, "_hol")
    else:
        c = c.with_columns(_hol=nw.lit(False))
    if has_blocked:
        blk = blocked.filter(nw.col("blocked_at") <= as_of).select("shop_id", "buyer_id")
        c = flag_rows(c, ["shop_id", "buyer_id"], blk, "_blk")
    else:
        c = c.with_columns(_blk=nw.lit(False))
    return c


def join_columns(lf: nw.LazyFrame, table: nw.LazyFrame, on: str) -> nw.LazyFrame:
    """``lf`` with the columns of ``table`` (one row per ``on`` value) of each row's ``on``."""
    return lf.join(table, on=on, how="left")


def join_flag(lf: nw.LazyFrame, key: list[str], hits: nw.LazyFrame, name: str) -> nw.LazyFrame:
    """``lf`` with boolean ``name``: does the row's ``key`` occur in ``hits``."""
    flagged = hits.select(*key).unique().with_columns(nw.lit(True).alias(name))
    return lf.join(flagged, on=key, how="left").with_columns(nw.col(name).fill_null(False))


def judge(c: nw.LazyFrame, be: Backend, rule: Rule, as_of: dt.datetime) -> nw.LazyFrame:
    """Status, deadline and response time of each chat (with :func:`with_features`)."""
    flags = {
        "holiday_mode": nw.col("_hol"),
        "blocked": nw.col("_blk"),
        "seller_initiated": nw.col("seller_initiated"),
        "auto_resolved": nw.col("auto_resolved"),
    }
    reason: nw.Expr = nw.lit(None, dtype=nw.Int8)
    for name in reversed(EXCLUSIONS):  # the first matching reason wins
        if name in rule.exclusions:
            code = nw.lit(REASON_CODE[name], dtype=nw.Int8)
            reason = nw.when(flags[name]).then(code).otherwise(reason)

    open_us = nw.col("_open_us")
    cutoff = epoch_us(as_of)
    if rule.period_start is not None:
        p_start = epoch_us(dt.datetime.combine(rule.period_start, dt.time(), tzinfo=dt.UTC))
        p_end = epoch_us(dt.datetime.combine(rule.period_end, dt.time(), tzinfo=dt.UTC))  # type: ignore[arg-type]
        in_period = (open_us >= p_start) & (open_us < p_end)
    else:
        p_start = cutoff - rule.period_days * 86_400 * 1_000_000
        in_period = (open_us > p_start) & (open_us <= cutoff)

    window_us = rule.window_seconds * 1_000_000
    if rule.clock == "business":
        if be.add_business is None:
            from chatsim.errors import EngineError

            raise EngineError(
                f"rule '{rule.name}': the business-hours clock is not available on the "
                f"{be.name} engine; use the polars engine (chatsim metrics --engine polars)."
            )
        c = be.add_business(c, rule)
    else:
        c = c.with_columns(_deadline_us=open_us + window_us, _resp_us2=nw.col("_resp_us"))
        c = c.drop("_resp_us").rename({"_resp_us2": "_resp_us"})
        if rule.chatbot_weekend_deadline:
            # chatbot shops: chats opened Saturday/Sunday shop-local are due Monday 12:00
            # local, or at the normal deadline if that is later
            c = c.with_columns(_weekend_candidate=nw.col("chatbot_enabled").fill_null(False))
            c = be.add_local_week(c)
            weekend = nw.col("_weekend_candidate") & (nw.col("_lwd") >= 6)
            later = weekend & (nw.col("_mon_noon_us") > nw.col("_deadline_us"))
            c = c.with_columns(
                _deadline_us=nw.when(later)
                .then(nw.col("_mon_noon_us"))
                .otherwise(nw.col("_deadline_us"))
            ).drop("_weekend_candidate", "_lwd", "_mon_noon_us")
    c = c.with_columns(excluded_reason=reason, _in_period=in_period)
    answer_us, deadline = nw.col("_answer_us"), nw.col("_deadline_us")
    answered = ~answer_us.is_null()

    def st(name: str) -> nw.Expr:
        return nw.lit(STATUS_CODE[name], dtype=nw.Int8)

    status = (
        nw.when(~nw.col("excluded_reason").is_null())
        .then(st("excluded"))
        .otherwise(
            nw.when(~nw.col("_in_period"))
            .then(st("outside_period"))
            .otherwise(
                nw.when(answered & (answer_us <= deadline))
                .then(st("answered_in_time"))
                .otherwise(
                    nw.when(answered)
                    .then(st("answered_late"))
                    .otherwise(
                        nw.when(deadline > cutoff).then(st("pending")).otherwise(st("unanswered"))
                    )
                )
            )
        )
    )
    return c.with_columns(status=status, rule=nw.lit(rule.name)).drop(
        "_hol", "_blk", "_in_period", "timezone", "chatbot_enabled"
    )


def with_labels(judged: nw.LazyFrame) -> nw.LazyFrame:
    """``status``, ``excluded_reason``, ``answered_by`` and ``rating`` as their names
    (strings) instead of codes."""

    def label(col: str, names: Sequence[str]) -> nw.Expr:
        out: nw.Expr = nw.lit(None, dtype=nw.String)
        for i, name in reversed(list(enumerate(names))):
            out = nw.when(nw.col(col) == i).then(nw.lit(name)).otherwise(out)
        return out.alias(col)

    return judged.with_columns(
        label("excluded_reason", EXCLUSIONS),
        label("status", STATUSES),
        label("answered_by", ANSWERED_BY_NAMES),
        label("rating", RATING_NAMES),
    )


SHOP_COUNTS: tuple[str, ...] = (
    "chats",
    "counted",
    "answered_in_time",
    "answered_late",
    "unanswered",
    "pending",
    "outside_period",
    *(f"excluded_{r}" for r in EXCLUSIONS),
)


#: the judged chat columns :func:`shop_frame` reads
SHOP_INPUTS = ("shop_id", "status", "excluded_reason", "rating", "_resp_us")


def shop_frame(judged: nw.LazyFrame, shops: nw.LazyFrame, rule: Rule) -> nw.LazyFrame:
    """Per-shop counts and rates of one rule's judged chats (every shop of ``shops``;
    the chats need only the :data:`SHOP_INPUTS` columns)."""
    s = nw.col("status")
    code = STATUS_CODE
    # the counted statuses come first in STATUSES, then pending
    assert STATUSES[:4] == ("answered_in_time", "answered_late", "unanswered", "pending")
    counted = s <= code["unanswered"]
    answered_counted = s <= code["answered_late"]
    rated_scope = s <= code["pending"]

    # two stages: chats -> one row per shop and (status, reason, rating) with the count
    # and response-time sum, then the per-shop figures from those few rows; the median
    # needs the chats themselves (answered counted chats only)
    resp = nw.when(answered_counted).then(nw.col("_resp_us"))
    cells = (
        judged.with_columns(_resp=resp)
        .group_by("shop_id", "status", "excluded_reason", "rating")
        .agg(
            nw.len().cast(nw.Int64).alias("_n"),
            nw.col("_resp").sum().alias("_resp_sum"),
            nw.col("_resp").count().cast(nw.Int64).alias("_resp_n"),
        )
    )

    def n(cond: nw.Expr) -> nw.Expr:
        return nw.when(cond.fill_null(False)).then(nw.col("_n")).otherwise(0).sum()

    per_shop = cells.group_by("shop_id").agg(
        nw.col("_n").sum().alias("chats"),
        n(counted).alias("counted"),
        *(n(s == code[st]).alias(st) for st in STATUSES if st != "excluded"),
        *(
            n(nw.col("excluded_reason") == REASON_CODE[r]).alias(f"excluded_{r}")
            for r in EXCLUSIONS
        ),
        nw.col("_resp_sum").sum(),
        nw.col("_resp_n").sum(),
        n(~nw.col("rating").is_null() & rated_scope).alias("rated"),
        n((nw.col("rating") == RATING_CODE["satisfied"]) & rated_scope).alias("satisfied"),
    )
    medians = (
        judged.filter(answered_counted & ~nw.col("_resp_us").is_null())
        .group_by("shop_id")
        .agg(nw.col("_resp_us").median().alias("_resp_median"))
    )
    per_shop = per_shop.join(medians, on="shop_id", how="left")
    out = shops.join(per_shop, on="shop_id", how="left").with_columns(
        nw.col(c).fill_null(0) for c in (*SHOP_COUNTS, "rated", "satisfied", "_resp_n")
    )
    # average and median response hours are made from _resp_sum, _resp_n and
    # _resp_median by finish_shops (exact division, the same for every engine)
    out = out.with_columns(
        response_rate=nw.when(nw.col("counted") > 0).then(
            nw.col("answered_in_time") / nw.col("counted")
        ),
        satisfaction_rate=nw.when(nw.col("rated") > 0).then(nw.col("satisfied") / nw.col("rated")),
    )
    rate = nw.col("response_rate")
    tier = nw.when(rate >= rule.target).then(nw.lit("meets")).otherwise(nw.lit("below_target"))
    if rule.warning_below is not None:
        tier = nw.when(rate < rule.warning_below).then(nw.lit("warning")).otherwise(tier)
    if rule.enforcement_below is not None:
        tier = nw.when(rate < rule.enforcement_below).then(nw.lit("enforcement")).otherwise(tier)
    tier = nw.when(rate.is_null()).then(nw.lit(None, dtype=nw.String)).otherwise(tier)
    return out.with_columns(meets_target=rate >= rule.target, tier=tier)


# --------------------------------------------------------------------------------------
# Shared driver and polars finishing (same columns and dtypes for every engine)
# --------------------------------------------------------------------------------------

CHAT_COLUMNS = (
    "shop_id",
    CONV,
    "buyer_id",
    "chat_seq",
    "open_at",
    "answer_at",
    "answered_by",
    "first_auto_at",
    "last_buyer_at",
    "n_buyer_messages",
    "rating",
    "seller_initiated",
    "auto_resolved",
    "response_s",
)


def judged_chats(
    messages: nw.LazyFrame,
    lookup: nw.LazyFrame | None,
    shops: nw.LazyFrame,
    holiday_mode: nw.LazyFrame,
    blocked: nw.LazyFrame,
    be: Backend,
    rules: Sequence[Rule],
    as_of: dt.datetime,
    *,
    has_holidays: bool = True,
    has_blocked: bool = True,
) -> Iterator[tuple[Rule, nw.LazyFrame]]:
    """Judged chat frames, one per rule (chats built once per chat definition).

    ``lookup`` gives ``shop_id``/``buyer_id`` per ``row_key`` (None: carry them along).

    Chats come from the backend's compiled builder (``be.chats``: each definition
    whole) or from :func:`chat_frame`'s expressions (:func:`_expression_chats`).

    A generator: every chat definition is built first and the messages dropped; then
    one judged frame per rule, a definition's chats dropped after its last rule (so
    only what is still needed stays in memory when the consumer collects each judged
    frame before asking for the next).
    """
    keys = list(dict.fromkeys(rule.chat_key() for rule in rules))
    uses = Counter(rule.chat_key() for rule in rules)
    by_key: dict[tuple, nw.LazyFrame] = {}

    def featured(chats: nw.LazyFrame) -> nw.LazyFrame:
        return with_features(
            chats,
            shops,
            holiday_mode,
            blocked,
            as_of,
            has_holidays=has_holidays,
            has_blocked=has_blocked,
            key=be.window.chat_order,
            be=be,
        )

    # every chat definition first, so the messages can go before any rule is judged
    if be.chats is not None:
        # compiled: each definition whole (the loop is cheap; merging a derived
        # definition's parts, as below, is not)
        build = be.chats(messages)
        del messages
        for key in keys:
            by_key[key] = be.materialize(featured(build(key)))
        del build
    else:
        by_key = _expression_chats(messages, lookup, be, keys, featured)
        del messages, lookup

    for rule in rules:
        key = rule.chat_key()
        uses[key] -= 1
        # a definition's chats are dropped after its last rule (a derived definition's
        # view may still hold them); no local name keeps the yielded frame or the chats
        # it is built on, so they are freed once the consumer drops the frame
        yield (
            rule,
            be.add_timestamps(
                judge(by_key[key] if uses[key] else by_key.pop(key), be, rule, as_of),
                {"deadline": "_deadline_us"},
            ),
        )


def _expression_chats(
    messages: nw.LazyFrame,
    lookup: nw.LazyFrame | None,
    be: Backend,
    keys: Sequence[tuple],
    featured: Callable[[nw.LazyFrame], nw.LazyFrame],
) -> dict[tuple, nw.LazyFrame]:
    """Each chat definition's featured chats by :func:`chat_frame` (for :func:`judged_chats`).

    Two chat definitions that differ only in ``valid_replies_only`` give the same chats
    in every conversation without a non-valid seller reply (the only rows where "an
    answer" differs): the second one is built on the other conversations alone and
    takes the rest from the first (:func:`differing_conversations`); it holds only its
    differing conversations' chats, the rest is a lazy view of its source's chats.
    """
    carry = () if lookup is not None else ("shop_id", "buyer_id")
    base: nw.LazyFrame | None = be.materialize(message_base(messages, be, carry))
    del messages
    if lookup is None:
        lookup = base.select(*be.window.row_key, "shop_id", "buyer_id")
    by_key: dict[tuple, nw.LazyFrame] = {}
    affected: nw.LazyFrame | None = None  # differing_conversations, when first needed
    for i, key in enumerate(keys):
        auto_reply, valid_only, session = key
        src = _source_definition(key, keys[:i])
        if src is None:
            part = base
        else:
            if affected is None:
                affected = be.materialize(differing_conversations(base))
            part = _rows_of(be, base, affected, inside=True)
        chats = chat_frame(
            part,
            lookup,
            be,
            auto_reply=auto_reply,
            valid_replies_only=valid_only,
            session_hours=session,
        )
        own = be.materialize(featured(chats))
        if src is None:
            by_key[key] = own
        else:
            assert affected is not None
            # the source's chats outside the differing conversations
            same = _rows_of(be, by_key[src], affected, inside=False)
            by_key[key] = be.window.combine(same, own)
        del chats, part, own
    return by_key


def _rows_of(be: Backend, lf: nw.LazyFrame, convs: nw.LazyFrame, *, inside: bool) -> nw.LazyFrame:
    """The rows of ``lf`` in (``inside``) or outside the conversations ``convs``: a flag,
    not a semi- or anti-join, so the rows keep their order (:class:`GlobalOrder`)."""
    flagged = be.flag_rows(lf, [CONV], convs, "_differs")
    keep = nw.col("_differs") if inside else ~nw.col("_differs")
    return flagged.filter(keep).drop("_differs")


def _source_definition(key: tuple, built: Sequence[tuple]) -> tuple | None:
    """An earlier chat definition that ``key`` can be derived from (same automatic-reply
    mode and session bound, other ``valid_replies_only``), or None."""
    for other in built:
        if other[0] == key[0] and other[2] == key[2] and other[1] != key[1]:
            return other
    return None


def differing_conversations(base: nw.LazyFrame) -> nw.LazyFrame:
    """Conversations (``conversation_id``) holding a seller reply not marked valid
    (false or null): the only messages that answer under one setting of ``valid_replies_only``
    and not under the other (:func:`message_base` columns)."""
    differs = nw.col("_seller") & ~nw.col("_bcast") & ~nw.col("valid_reply").fill_null(False)
    return base.filter(differs).select(CONV).unique()


def finish_chats(
    df: pl.DataFrame,
    id_dtypes: dict[str, pl.DataType],
    shop_enum: pl.Enum | None = None,
    rule_name: str | None = None,
) -> pl.DataFrame:
    """A collected judged chat frame -> the documented chat table (columns, dtypes, order).

    Chats are sorted by conversation and chat number: by the opening row's position
    ``_open_pos`` when the frame has it (the polars engine: one integer key giving
    that order), else by the two columns. ``shop_enum`` decodes integer shop codes
    (:func:`encode_shops`). ``rule_name`` fills the ``rule`` column (default: the
    frame's ``rule`` column).
    """
    # sort the codes first; strings (rule name, decoded shop ids) are made in order
    if rule_name is None:
        rule_name = df["rule"][0] if df.height else None
    # lazily: an eager select aligns the chunks of a collected frame (a copy of every
    # column), a lazy one keeps the columns as they are
    out = in_chat_order(
        df.lazy().select(
            pl.col("shop_id"),
            *chat_columns(id_dtypes),
            pl.col("excluded_reason").cat.to(REASON_DTYPE),
            pl.col("deadline").cast(_UTC),
            pl.col("status").cat.to(STATUS_DTYPE),
            *(["_open_pos"] if "_open_pos" in df.columns else []),
        ),
        in_order="_open_pos" in df.columns and df["_open_pos"].is_sorted(),
    )
    return out.select(
        pl.lit(rule_name, dtype=pl.String).alias("rule"),
        decode_shops(pl.col("shop_id"), shop_enum, id_dtypes["shop_id"]),
        pl.exclude("shop_id"),
    ).collect()


def chat_columns(id_dtypes: dict[str, pl.DataType]) -> list[pl.Expr]:
    """The chat table's columns after ``shop_id``, up to ``response_s``, from a chat frame
    (:func:`chat_frame`): documented dtypes, codes turned into their Enums."""
    return [
        *(pl.col(c).cast(id_dtypes[c]) for c in (CONV, "buyer_id")),
        pl.col("chat_seq").cast(pl.Int32),
        *(pl.col(c).cast(_UTC) for c in ("open_at", "answer_at")),
        pl.col("answered_by").cat.to(ANSWERED_BY),
        *(pl.col(c).cast(_UTC) for c in ("first_auto_at", "last_buyer_at")),
        pl.col("n_buyer_messages").cast(pl.Int32),
        pl.col("rating").cat.to(RATING),
        pl.col("seller_initiated").cast(pl.Boolean),
        pl.col("auto_resolved").cast(pl.Boolean),
        divide_exactly(pl.col("_resp_us"), 1e6).alias("response_s"),
    ]


def in_chat_order(frame: FrameT, *, in_order: bool = False) -> FrameT:
    """Chats sorted by conversation and chat number: by the opening row's position
    ``_open_pos`` when the frame has it (the polars engine: one integer key giving that
    order; dropped; ``in_order``: the rows already are, no sort), else by the two
    columns."""
    if "_open_pos" in frame.collect_schema().names():
        if in_order:
            return frame.drop("_open_pos")
        return frame.sort("_open_pos").drop("_open_pos")
    return frame.sort(CONV, "chat_seq")


def divide_exactly(values: pl.Expr, divisor: float) -> pl.Expr:
    """``values / divisor`` as Float64, each value divided (IEEE division).

    polars divides a column by a constant through the constant's reciprocal on all but
    the shortest chunks, so the last bit of a result would depend on how the rows are
    chunked (and differ from Spark's division); numpy divides each value.

    Example:
        >>> pl.select(divide_exactly(pl.lit(pl.Series([16700363098, 1])), 1e6)).to_series().to_list()
        [16700.363098, 1e-06]
    """
    return values.cast(pl.Float64).map_batches(
        lambda s: pl.Series(s.name, s.to_numpy() / divisor, nan_to_null=True),
        return_dtype=pl.Float64,
    )


def finish_shops(
    df: pl.DataFrame, shops: pl.DataFrame, rule: Rule, shop_enum: pl.Enum | None = None
) -> pl.DataFrame:
    """A collected shop frame -> the documented shop table (columns, dtypes, order).

    ``shops`` is the original shops table; ``shop_enum`` decodes integer shop codes.
    """
    aggs = [
        *SHOP_COUNTS,
        "avg_response_hours",
        "median_response_hours",
        "rated",
        "satisfied",
        "response_rate",
        "satisfaction_rate",
        "meets_target",
        "tier",
    ]
    has = pl.col("_resp_n") > 0
    df = df.with_columns(
        decode_shops(pl.col("shop_id"), shop_enum, shops.schema["shop_id"]),
        avg_response_hours=pl.when(has).then(
            divide_exactly(pl.col("_resp_sum").cast(pl.Float64) / pl.col("_resp_n"), US_PER_HOUR)
        ),
        median_response_hours=pl.when(has).then(
            divide_exactly(pl.col("_resp_median"), US_PER_HOUR)
        ),
    )
    out = shops.join(df.select("shop_id", *aggs), on="shop_id", how="left").with_columns(
        *(pl.col(c).cast(pl.Int64) for c in (*SHOP_COUNTS, "rated", "satisfied")),
        *(
            pl.col(c).cast(pl.Float64)
            for c in (
                "avg_response_hours",
                "median_response_hours",
                "response_rate",
                "satisfaction_rate",
            )
        ),
        pl.col("meets_target").cast(pl.Boolean),
        pl.col("tier").cast(pl.String),
        pl.lit(rule.name).alias("rule"),
        pl.lit(rule.window_hours).alias("window_hours"),
        pl.lit(rule.target).alias("target"),
    )
    first = ["rule", "shop_id"]
    return out.select(first + [c for c in out.columns if c not in first]).sort("shop_id")


# --------------------------------------------------------------------------------------
# The polars backend
# --------------------------------------------------------------------------------------

_WEEK_S = 7 * 86400
_US_DAY = 86_400_000_000
_US_NOON = 12 * 3_600_000_000
_MONDAY_OFFSET_S = 3 * 86400  # 1970-01-01 was a Thursday


def local_time(ts: pl.Expr, zones: Sequence[str]) -> pl.Expr:
    """UTC timestamps -> naive local wall-clock time in each row's ``timezone`` column.

    ``zones`` lists the zones that occur (one conversion per zone, no per-row Python).

    Example:
        >>> df = pl.DataFrame({"t": [dt.datetime(2025, 8, 1, tzinfo=dt.UTC)], "timezone": ["Asia/Tokyo"]})
        >>> df.select(local_time(pl.col("t"), ["Asia/Tokyo"]))["t"].dt.hour().to_list()
        [9]
    """
    if len(zones) == 1:
        return ts.dt.convert_time_zone(zones[0]).dt.replace_time_zone(None)
    return pl.coalesce(
        pl.when(pl.col("timezone") == z).then(ts.dt.convert_time_zone(z).dt.replace_time_zone(None))
        for z in zones
    )


def from_local(naive: pl.Expr, zones: Sequence[str]) -> pl.Expr:
    """Naive local wall-clock time in each row's ``timezone`` -> UTC (earliest on DST overlaps)."""

    def one(z: str) -> pl.Expr:
        return naive.dt.replace_time_zone(
            z, ambiguous="earliest", non_existent="null"
        ).dt.convert_time_zone("UTC")

    if len(zones) == 1:
        return one(zones[0])
    return pl.coalesce(pl.when(pl.col("timezone") == z).then(one(z)) for z in zones)


def business_seconds(local: pl.Expr, intervals: list[tuple[int, int]]) -> pl.Expr:
    """Working seconds from a fixed Monday 00:00 to a naive local time (monotone)."""
    x = local.dt.epoch("s") + _MONDAY_OFFSET_S
    week, sow = x // _WEEK_S, x % _WEEK_S
    per_week = sum(b - a for a, b in intervals) * 60
    within = pl.sum_horizontal((sow - a * 60).clip(0, (b - a) * 60) for a, b in intervals)
    return week * per_week + within


def business_deadline(b_target: pl.Expr, intervals: list[tuple[int, int]]) -> pl.Expr:
    """Inverse of :func:`business_seconds`: the local time at which the working seconds reach ``b_target``."""
    per_week = sum(b - a for a, b in intervals) * 60
    week = b_target // per_week
    rem = b_target % per_week
    # rem == 0 is the end of the last interval of the previous week
    week = pl.when(rem == 0).then(week - 1).otherwise(week)
    rem = pl.when(rem == 0).then(per_week).otherwise(rem)
    cum = 0
    expr = None
    for a, b in intervals:
        length = (b - a) * 60
        sow = a * 60 + (rem - cum)
        cond = (rem > cum) & (rem <= cum + length)
        expr = pl.when(cond).then(sow) if expr is None else expr.when(cond).then(sow)
        cum += length
    sow_expr = expr.otherwise(None)  # type: ignore[union-attr]
    epoch = week * _WEEK_S + sow_expr - _MONDAY_OFFSET_S
    return pl.from_epoch(epoch, time_unit="s")


def _native(lf: nw.LazyFrame) -> pl.LazyFrame:
    return lf.to_native()


def polars_backend(zones: Sequence[str], window: Window | None = None) -> Backend:
    """The polars primitives; ``zones`` are the shop time zones that occur."""
    zones = sorted(zones) or ["UTC"]

    def add_epoch_us(lf: nw.LazyFrame, cols: dict[str, str]) -> nw.LazyFrame:
        return nw.from_native(
            _native(lf).with_columns(
                pl.col(src).dt.epoch("us").alias(out) for out, src in cols.items()
            )
        )

    def add_timestamps(lf: nw.LazyFrame, cols: dict[str, str]) -> nw.LazyFrame:
        return nw.from_native(
            _native(lf)
            .with_columns(pl.col(src).cast(_UTC).alias(out) for out, src in cols.items())
            .drop(*{src for src in cols.values()} - set(cols))
        )

    def add_local_week(lf: nw.LazyFrame) -> nw.LazyFrame:
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
        for i, z in enumerate(zones):
            # the local day (days since 1970-01-01 on the local calendar) and weekday
            local_day = local_time(pl.col("_open_us").cast(_UTC), [z]).dt.epoch("us") // _US_DAY
            wd = (local_day + 3) % 7 + 1  # Monday=1 .. Sunday=7; 1970-01-01 was a Thursday
            # with several zones, a zone not listed matches none of these: no weekend
            # columns, row kept (with one zone, every candidate row is in it)
            in_zone = narrow if len(zones) == 1 else narrow.filter(pl.col("timezone") == z)
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
                mondays.filter(pl.col("_z") == i).with_columns(
                    from_local(
                        (pl.col("_monday") * _US_DAY + _US_NOON).cast(pl.Datetime("us")), [z]
                    )
                    .dt.epoch("us")
                    .alias("_mon_noon_us")
                )
                for i, z in enumerate(zones)
            ]
        )
        found = found.join(noon, on=["_z", "_monday"], how="left")
        return nw.from_native(
            df.lazy().with_columns(
                placed(found[c], found["_i"], df.height) for c in ("_lwd", "_mon_noon_us")
            )
        )

    def add_business(lf: nw.LazyFrame, rule: Rule) -> nw.LazyFrame:
        from chatsim.rules import schedule_minutes

        iv = schedule_minutes(rule.business_schedule)
        open_at = pl.col("open_at")
        b_open = business_seconds(local_time(open_at, zones), iv)
        b_ans = business_seconds(local_time(pl.col("answer_at"), zones), iv)
        deadline = from_local(business_deadline(b_open + rule.window_seconds, iv), zones)
        return nw.from_native(
            _native(lf).with_columns(
                deadline.dt.epoch("us").alias("_deadline_us"),
                ((b_ans - b_open).clip(lower_bound=0) * 1_000_000).cast(pl.Int64).alias("_resp_us"),
            )
        )

    def materialize(lf: nw.LazyFrame) -> nw.LazyFrame:
        return nw.from_native(_native(lf).collect().lazy())

    def add_columns(lf: nw.LazyFrame, table: nw.LazyFrame, on: str) -> nw.LazyFrame:
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
            return materialize(nw.from_native(joined))
        return materialize(
            nw.from_native(
                _native(lf).with_columns(
                    pl.lit(t[c]).gather(pl.col(on)).alias(c) for c in t.columns if c != on
                )
            )
        )

    def flag_rows(lf: nw.LazyFrame, key: list[str], hits: nw.LazyFrame, name: str) -> nw.LazyFrame:
        # the hits are few: a hash lookup per row keeps the row order and copies nothing
        h = _native(hits).collect()
        if len(key) == 1:
            expr = pl.col(key[0]).is_in(h[key[0]].implode())
        else:
            expr = pl.struct(key).is_in(h.select(pl.struct(key)).to_series().implode())
        # as a join: a null key matches nothing
        expr = expr.fill_null(False) & pl.all_horizontal(pl.col(k).is_not_null() for k in key)
        return nw.from_native(_native(lf).with_columns(expr.alias(name)))

    def chats(messages: nw.LazyFrame) -> Callable[[tuple], nw.LazyFrame]:
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

    window = window or Compiled()
    return Backend(
        window=window,
        add_epoch_us=add_epoch_us,
        add_timestamps=add_timestamps,
        add_local_week=add_local_week,
        add_business=add_business,
        materialize=materialize,
        name="polars",
        add_columns=add_columns,
        flag_rows=flag_rows,
        chats=chats if isinstance(window, Compiled) else None,
    )


def canonical_order(
    messages: pl.DataFrame | pl.LazyFrame, *, keep_message_id: bool = True
) -> pl.DataFrame:
    """Messages sorted by conversation, ``sent_at``, ``message_id``.

    Exports and simulated logs are usually already in time order within each
    conversation: then a stable sort on the conversation alone gives the canonical
    order at half the cost of the three-key sort. A log in time order overall is
    recognised before sorting (and ``message_id`` need not travel through the sort
    when ``keep_message_id`` is false); otherwise the order within conversations is
    checked after the stable sort, falling back to the full sort. The small columns
    (Boolean, Enum) travel through the sort packed into one integer
    (:func:`pack_small_columns`).

    Example:
        >>> df = pl.DataFrame({CONV: [2, 1, 2], "sent_at": [1, 2, 3], "message_id": [1, 2, 3]})
        >>> canonical_order(df)["message_id"].to_list()
        [2, 1, 3]
    """
    lf = messages.lazy()
    conv = pl.col(CONV)
    wide_ints = lf.collect_schema()[CONV] in (pl.Int64, pl.UInt64)
    checks = [_in_time_order().alias("ordered")]
    if wide_ints:
        checks += [conv.min().alias("lo"), conv.max().alias("hi")]
    facts = lf.select(checks).collect().row(0, named=True)
    globally = bool(facts["ordered"])
    # 64-bit conversation ids that fit in 32 bits sort by a 32-bit key (same order)
    key = conv
    if wide_ints and facts["lo"] is not None and facts["lo"] >= 0 and facts["hi"] < 2**32:
        key = conv.cast(pl.UInt32)
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


def encode_shops(
    messages: pl.DataFrame,
    shops: pl.DataFrame,
    holiday_mode: pl.DataFrame,
    blocked: pl.DataFrame,
) -> tuple[
    pl.Enum | None, tuple[pl.LazyFrame | pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]
]:
    """String ``shop_id`` columns as integer codes (positions in the shops table).

    Returns the Enum that decodes them (None, and the tables unchanged, when the ids are
    not strings) and the tables; the messages lazily (the codes are computed within the
    sort, in parallel). Side-table rows of shops absent from the shops table are dropped:
    no chat can match them. A message of a shop absent from the shops table makes the
    collect fail (:func:`check_shops_known` names them).
    """
    if shops.schema["shop_id"] != pl.String or messages.schema["shop_id"] != pl.String:
        return None, (messages, shops, holiday_mode, blocked)
    enum = pl.Enum(shops["shop_id"].unique(maintain_order=True))
    known = pl.col("shop_id").is_in(enum.categories.implode())
    code = pl.col("shop_id").cast(enum).to_physical()
    # the time zone travels with every chat: as a code, not a string
    zones = pl.Enum(sorted(shops["timezone"].unique().to_list()))
    return enum, (
        messages.lazy().with_columns(code),
        shops.with_columns(code, pl.col("timezone").cast(zones)),
        holiday_mode.filter(known).with_columns(code),
        blocked.filter(known).with_columns(code),
    )


def check_shops_known(messages: pl.DataFrame, shops: pl.DataFrame) -> None:
    """Raise :class:`~chatsim.errors.SchemaError` naming messages whose shop has no row
    in the shops table (validated logs never have them)."""
    unknown = messages.filter(~pl.col("shop_id").is_in(shops["shop_id"].implode()))
    if unknown.height:
        from chatsim.errors import SchemaError

        examples = unknown["shop_id"].unique().sort().head(3).to_list()
        raise SchemaError(
            f"{unknown.height} message(s) belong to shops with no row in the shops table "
            f"(e.g. {examples}); add the shops (shop_id, timezone) to the shops table."
        )


def decode_shops(shop_id: pl.Expr, enum: pl.Enum | None, dtype: pl.DataType) -> pl.Expr:
    """Shop codes of :func:`encode_shops` back to the ids (``dtype``); as is without codes."""
    if enum is None:
        return shop_id.cast(dtype)
    # a gather from the ids (string views) is ~8x faster than Enum -> String
    return (
        pl.lit(pl.Series(enum.categories))
        .gather(shop_id)
        .cast(dtype)
        .alias(shop_id.meta.output_name())
    )


def compiled_messages(
    messages: pl.DataFrame | pl.LazyFrame, *, presorted: bool = False
) -> pl.DataFrame:
    """What the compiled chat builder reads (:class:`Compiled`): the ids, ``sent_at`` and
    the flag byte (:func:`chatsim.kernel.message_flags`) of the messages in canonical
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
        ordered = canonical_order(narrow, keep_message_id=False)
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
