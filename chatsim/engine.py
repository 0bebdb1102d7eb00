"""The rule logic, written once as narwhals code that polars and PySpark both run.

Everything that decides a number in the chat or shop tables lives here, as narwhals
expressions over a narwhals ``LazyFrame``: the chat state machine
(:func:`chat_frame`), the rule-independent chat features (:func:`with_features`),
the per-rule judging (:func:`judge`) and the shop aggregation (:func:`shop_frame`).
:func:`chatsim.metrics.compare` runs it on a polars ``LazyFrame`` and
:func:`chatsim.spark.compare_spark` on a Spark ``DataFrame``.

An :class:`Backend` supplies what is engine-specific, and nothing that is rule logic:

* how to reach "the previous row of the same conversation" (:class:`Window`):
  ordered passes over the globally sorted frame on polars (``GlobalOrder``),
  windows partitioned by conversation on Spark (``PerConversation``, narwhals,
  scales out); both give the same values, and the tests run the rule logic with
  both on polars;
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import narwhals as nw
import polars as pl

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
ANSWERED_BY = pl.Enum(["seller", "auto"])
_UTC = pl.Datetime("us", "UTC")


def epoch_us(d: dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact)."""
    delta = d.astimezone(dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# --------------------------------------------------------------------------------------
# Windows: "the latest earlier row of the same conversation"
# --------------------------------------------------------------------------------------


class Window:
    """How the engine orders rows within a conversation.

    ``row_key`` identifies a message row, ``chat_key`` a chat, ``pos`` is a column
    increasing in the canonical order (``sent_at``, ``message_id``) within a
    conversation.
    """

    row_key: list[str]
    chat_key: list[str]
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


class GlobalOrder(Window):
    """Polars: rows sorted by conversation, time, message id, with a global row index ``_r``.

    The carried values are plain ordered passes over the sorted frame (``shift``,
    ``forward_fill``, ``cum_sum``), reset at conversation starts: the one place where
    the polars engine uses native expressions, because narwhals spells an ordered pass
    as a window over a constant partition, which polars evaluates with a sort.
    ``value`` itself is still the narwhals expression of the rule logic.
    """

    row_key = ["_r"]
    chat_key = ["_chat"]

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
        f = pl.col(flag).cast(pl.Int64)
        chat = f.cum_sum()
        base = pl.when(pl.col("_cs")).then(chat - f).forward_fill()
        native = lf.to_native().with_columns(_chat=chat.set_sorted(), _seq=chat - base)
        return nw.from_native(native)


class PerConversation(Window):
    """Windows partitioned by conversation, ordered by time then message id (any engine)."""

    row_key = [CONV, "_r"]
    chat_key = [CONV, "_seq"]

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
    """

    window: Window
    add_epoch_us: Callable[[nw.LazyFrame, dict[str, str]], nw.LazyFrame]
    add_timestamps: Callable[[nw.LazyFrame, dict[str, str]], nw.LazyFrame]
    add_local_week: Callable[[nw.LazyFrame], nw.LazyFrame]
    add_business: Callable[[nw.LazyFrame, Rule], nw.LazyFrame] | None
    materialize: Callable[[nw.LazyFrame], nw.LazyFrame]
    name: str


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

    # 1. state of the latest buyer/answering row: is a chat waiting?
    bh = nw.when(buyer).then(nw.lit(BUYER)).otherwise(nw.when(human).then(nw.lit(HUMAN)))
    lf = w.prev(lf, "_prev_bh", bh, NONE)
    # 2. automatic replies to a waiting chat (only they carry the AUTO state)
    if auto_reply == "exclude_resolved":
        lf = lf.with_columns(_u=nw.col("_auto") & (nw.col("_prev_bh") == BUYER))
    else:
        lf = lf.with_columns(_u=nw.lit(False))
    state = (
        nw.when(buyer)
        .then(nw.lit(BUYER))
        .otherwise(
            nw.when(human).then(nw.lit(HUMAN)).otherwise(nw.when(nw.col("_u")).then(nw.lit(AUTO)))
        )
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
        _open=is_open,
        _answer=human & waiting,
        _in_chat=is_open | waiting,
        _opener=opener,
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
    lf = lf.with_columns(_sinit=seller_init)

    answer, u = nw.col("_answer"), nw.col("_u")
    aggs = [
        nw.col(w.pos).min().alias("_open_pos"),
        t.min().alias("_open_us"),
        nw.when(answer).then(t).min().alias("_answer_us"),
        (answer & nw.col("_sent_by_auto")).any().alias("_ans_auto"),
        nw.when(u).then(t).min().alias("_first_auto_us"),
        nw.when(u).then(t).max().alias("_last_auto_us"),
        nw.when(buyer).then(t).max().alias("_last_buyer_us"),
        buyer.cast(nw.Int64).sum().alias("n_buyer_messages"),
        nw.col("_sinit").any().alias("seller_initiated"),
    ]
    if "_seq" not in w.chat_key:
        aggs.append(nw.col("_seq").min())
    chats = lf.filter(nw.col("_in_chat")).group_by(*w.chat_key).agg(*aggs)
    # ratings: the latest rating given in the conversation while this chat was the latest
    # (encoded as position * 2 + satisfied, so the latest is the maximum)
    ratings = (
        lf.filter(~nw.col("rating").is_null() & (nw.col("_seq") > 0))
        .group_by(*w.chat_key)
        .agg(
            (nw.col(w.pos).cast(nw.Int64) * 2 + (nw.col("rating") == "satisfied").cast(nw.Int64))
            .max()
            .alias("_rating_code")
        )
    )
    open_key = ["_open_pos" if k == "_r" else k for k in w.row_key]
    chats = chats.join(ratings, on=w.chat_key, how="left").join(
        lookup, left_on=open_key, right_on=w.row_key, how="left"
    )
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
        nw.when(~nw.col("_answer_us").is_null())
        .then(nw.when(nw.col("_ans_auto")).then(nw.lit("auto")).otherwise(nw.lit("seller")))
        .alias("answered_by"),
        "first_auto_at",
        "last_buyer_at",
        nw.col("n_buyer_messages").cast(nw.Int32),
        nw.when(~code.is_null())
        .then(nw.when(code % 2 == 1).then(nw.lit("satisfied")).otherwise(nw.lit("unsatisfied")))
        .alias("rating"),
        "seller_initiated",
        (
            ~nw.col("_first_auto_us").is_null()
            & nw.col("_answer_us").is_null()
            & (nw.col("_last_buyer_us") < nw.col("_last_auto_us"))
        ).alias("auto_resolved"),
        "_open_us",
        "_answer_us",
        (nw.col("_answer_us") - nw.col("_open_us")).alias("_resp_us"),
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
) -> nw.LazyFrame:
    """Rule-independent facts of each chat: shop time zone and chatbot flag, opened in
    holiday mode (``_hol``), from a buyer blocked at or before the cutoff (``_blk``)."""
    key = [CONV, "chat_seq"]
    c = chats.join(shops.select("shop_id", "timezone", "chatbot_enabled"), on="shop_id", how="left")
    if has_holidays:
        hits = (
            c.select(*key, "shop_id", "open_at")
            .join(holiday_mode.select("shop_id", "start", "end"), on="shop_id", how="inner")
            .filter((nw.col("open_at") >= nw.col("start")) & (nw.col("open_at") < nw.col("end")))
            .select(*key)
            .unique()
            .with_columns(_hol=nw.lit(True))
        )
        c = c.join(hits, on=key, how="left").with_columns(nw.col("_hol").fill_null(False))
    else:
        c = c.with_columns(_hol=nw.lit(False))
    if has_blocked:
        blk = (
            blocked.filter(nw.col("blocked_at") <= as_of)
            .select("shop_id", "buyer_id")
            .unique()
            .with_columns(_blk=nw.lit(True))
        )
        c = c.join(blk, on=["shop_id", "buyer_id"], how="left").with_columns(
            nw.col("_blk").fill_null(False)
        )
    else:
        c = c.with_columns(_blk=nw.lit(False))
    return c


def judge(c: nw.LazyFrame, be: Backend, rule: Rule, as_of: dt.datetime) -> nw.LazyFrame:
    """Status, deadline and response time of each chat (with :func:`with_features`)."""
    flags = {
        "holiday_mode": nw.col("_hol"),
        "blocked": nw.col("_blk"),
        "seller_initiated": nw.col("seller_initiated"),
        "auto_resolved": nw.col("auto_resolved"),
    }
    reason: nw.Expr = nw.lit(None, dtype=nw.String)
    for name in reversed(EXCLUSIONS):  # the first matching reason wins
        if name in rule.exclusions:
            reason = nw.when(flags[name]).then(nw.lit(name)).otherwise(reason)

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
    status = (
        nw.when(~nw.col("excluded_reason").is_null())
        .then(nw.lit("excluded"))
        .otherwise(
            nw.when(~nw.col("_in_period"))
            .then(nw.lit("outside_period"))
            .otherwise(
                nw.when(answered & (answer_us <= deadline))
                .then(nw.lit("answered_in_time"))
                .otherwise(
                    nw.when(answered)
                    .then(nw.lit("answered_late"))
                    .otherwise(
                        nw.when(deadline > cutoff)
                        .then(nw.lit("pending"))
                        .otherwise(nw.lit("unanswered"))
                    )
                )
            )
        )
    )
    return c.with_columns(status=status, rule=nw.lit(rule.name)).drop(
        "_hol", "_blk", "_in_period", "timezone", "chatbot_enabled"
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


def shop_frame(judged: nw.LazyFrame, shops: nw.LazyFrame, rule: Rule) -> nw.LazyFrame:
    """Per-shop counts and rates of one rule's judged chats (every shop of ``shops``)."""
    s = nw.col("status")
    counted = s.is_in(["answered_in_time", "answered_late", "unanswered"])
    answered_counted = s.is_in(["answered_in_time", "answered_late"])
    rated_scope = counted | (s == "pending")

    def n(cond: nw.Expr) -> nw.Expr:
        return cond.fill_null(False).cast(nw.Int64).sum()

    resp = nw.when(answered_counted).then(nw.col("_resp_us"))
    per_shop = judged.group_by("shop_id").agg(
        nw.len().cast(nw.Int64).alias("chats"),
        n(counted).alias("counted"),
        *(n(s == st).alias(st) for st in STATUSES if st != "excluded"),
        *(n(nw.col("excluded_reason") == r).alias(f"excluded_{r}") for r in EXCLUSIONS),
        resp.sum().alias("_resp_sum"),
        n(answered_counted & ~resp.is_null()).alias("_resp_n"),
        resp.median().alias("_resp_median"),
        n(~nw.col("rating").is_null() & rated_scope).alias("rated"),
        n((nw.col("rating") == "satisfied") & rated_scope).alias("satisfied"),
    )
    out = shops.join(per_shop, on="shop_id", how="left").with_columns(
        nw.col(c).fill_null(0) for c in (*SHOP_COUNTS, "rated", "satisfied", "_resp_n")
    )
    has = nw.col("_resp_n") > 0
    out = out.with_columns(
        avg_response_hours=nw.when(has).then(nw.col("_resp_sum") / nw.col("_resp_n") / US_PER_HOUR),
        median_response_hours=nw.when(has).then(nw.col("_resp_median") / US_PER_HOUR),
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
    return out.with_columns(meets_target=rate >= rule.target, tier=tier).drop(
        "_resp_sum", "_resp_n", "_resp_median"
    )


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
) -> list[tuple[Rule, nw.LazyFrame]]:
    """Judged chat frames, one per rule (chats built once per chat definition).

    ``lookup`` gives ``shop_id``/``buyer_id`` per ``row_key`` (None: carry them along).
    """
    carry = () if lookup is not None else ("shop_id", "buyer_id")
    base = be.materialize(message_base(messages, be, carry))
    if lookup is None:
        lookup = base.select(*be.window.row_key, "shop_id", "buyer_id")
    by_key: dict[tuple, nw.LazyFrame] = {}
    out = []
    for rule in rules:
        key = rule.chat_key()
        if key not in by_key:
            chats = chat_frame(
                base,
                lookup,
                be,
                auto_reply=rule.auto_reply,
                valid_replies_only=rule.valid_replies_only,
                session_hours=rule.session_hours,
            )
            by_key[key] = be.materialize(
                with_features(
                    chats,
                    shops,
                    holiday_mode,
                    blocked,
                    as_of,
                    has_holidays=has_holidays,
                    has_blocked=has_blocked,
                )
            )
        judged = judge(by_key[key], be, rule, as_of)
        judged = be.add_timestamps(judged, {"deadline": "_deadline_us"})
        out.append((rule, judged))
    return out


def finish_chats(df: pl.DataFrame, id_dtypes: dict[str, pl.DataType]) -> pl.DataFrame:
    """A collected judged chat frame -> the documented chat table (columns, dtypes)."""
    return df.select(
        "rule",
        *(pl.col(c).cast(id_dtypes[c]) for c in ("shop_id", CONV, "buyer_id")),
        pl.col("chat_seq").cast(pl.Int32),
        *(pl.col(c).cast(_UTC) for c in ("open_at", "answer_at")),
        pl.col("answered_by").cast(pl.String).cast(ANSWERED_BY),
        *(pl.col(c).cast(_UTC) for c in ("first_auto_at", "last_buyer_at")),
        pl.col("n_buyer_messages").cast(pl.Int32),
        pl.col("rating").cast(pl.String).cast(pl.Enum(["satisfied", "unsatisfied"])),
        pl.col("seller_initiated").cast(pl.Boolean),
        pl.col("auto_resolved").cast(pl.Boolean),
        (pl.col("_resp_us").cast(pl.Float64) / 1e6).alias("response_s"),
        pl.col("excluded_reason").cast(pl.String).cast(REASON_DTYPE),
        pl.col("deadline").cast(_UTC),
        pl.col("status").cast(pl.String).cast(STATUS_DTYPE),
    ).sort(CONV, "chat_seq")


def finish_shops(df: pl.DataFrame, shops: pl.DataFrame, rule: Rule) -> pl.DataFrame:
    """A collected shop frame -> the documented shop table (columns, dtypes, order)."""
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
    df = df.with_columns(pl.col("shop_id").cast(shops.schema["shop_id"]))
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
        # the per-zone conversion runs on candidate rows only (chatbot shops' chats)
        native = _native(lf)
        cand = pl.col("_weekend_candidate")
        local_open = local_time(pl.col("_open_us").cast(_UTC), zones)
        wd = local_open.dt.weekday()  # Monday=1 .. Sunday=7
        monday_noon = local_open.dt.truncate("1d") + pl.duration(days=8 - wd, hours=12)
        computed = native.filter(cand).with_columns(
            wd.cast(pl.Int8).alias("_lwd"),
            from_local(monday_noon, zones).dt.epoch("us").alias("_mon_noon_us"),
        )
        rest = native.filter(cand.not_()).with_columns(
            pl.lit(None, dtype=pl.Int8).alias("_lwd"),
            pl.lit(None, dtype=pl.Int64).alias("_mon_noon_us"),
        )
        return nw.from_native(pl.concat([computed, rest], how="vertical"))

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

    return Backend(
        window=window or GlobalOrder(),
        add_epoch_us=add_epoch_us,
        add_timestamps=add_timestamps,
        add_local_week=add_local_week,
        add_business=add_business,
        materialize=materialize,
        name="polars",
    )


def canonical_order(messages: pl.DataFrame) -> pl.DataFrame:
    """Messages sorted by conversation, ``sent_at``, ``message_id``.

    Exports and simulated logs are usually already in time order within each
    conversation: then a stable sort on the conversation alone gives the canonical
    order at half the cost of the three-key sort (checked in one vectorised pass,
    falling back to the full sort otherwise).

    Example:
        >>> df = pl.DataFrame({CONV: [2, 1, 2], "sent_at": [1, 2, 3], "message_id": [1, 2, 3]})
        >>> canonical_order(df)["message_id"].to_list()
        [2, 1, 3]
    """
    by_conv = messages.sort(CONV, maintain_order=True)
    t, mid, conv = by_conv["sent_at"], by_conv["message_id"], by_conv[CONV]
    same = conv == conv.shift(1)
    in_order = same.not_() | (t > t.shift(1)) | ((t == t.shift(1)) & (mid > mid.shift(1)))
    if in_order.fill_null(True).all():
        return by_conv
    return messages.sort(CONV, "sent_at", "message_id")


def run_polars(
    messages: pl.DataFrame,
    shops: pl.DataFrame,
    holiday_mode: pl.DataFrame,
    blocked: pl.DataFrame,
    rules: Sequence[Rule],
    as_of: dt.datetime,
    *,
    window: Window | None = None,
) -> list[tuple[Rule, pl.DataFrame, pl.DataFrame]]:
    """Run the rule logic on polars: ``(rule, chat table, shop table)`` per rule."""
    be = polars_backend(shops["timezone"].unique().to_list(), window)
    if isinstance(be.window, GlobalOrder):
        ordered = canonical_order(messages).with_row_index("_r")
        # only the ids are looked up later: keep them, not the whole sorted copy
        lookup = nw.from_native(ordered.select("_r", CONV, "shop_id", "buyer_id").lazy())
    else:
        ordered, lookup = messages, None
    blk = blocked.filter(pl.col("blocked_at") <= as_of)
    frames = judged_chats(
        nw.from_native(ordered.lazy()),
        lookup,
        nw.from_native(shops.lazy()),
        nw.from_native(holiday_mode.lazy()),
        nw.from_native(blk.lazy()),
        be,
        rules,
        as_of,
        has_holidays=holiday_mode.height > 0,
        has_blocked=blk.height > 0,
    )
    ids = {c: messages.schema[c] for c in ("shop_id", CONV, "buyer_id")}
    out = []
    for rule, judged in frames:
        df = _native(judged).collect()
        shop = _native(shop_frame(nw.from_native(df.lazy()), nw.from_native(shops.lazy()), rule))
        out.append((rule, finish_chats(df, ids), finish_shops(shop.collect(), shops, rule)))
    return out
