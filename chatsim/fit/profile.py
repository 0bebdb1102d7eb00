"""What a chat log shows about each shop: the observations the fit estimates from.

:func:`observe` reads a validated :class:`~chatsim.schema.ChatLog` once and returns
:class:`Observations`: the log's period, one row per shop with counts (chats by class,
automatic replies, follow-ups, small talk, threads, broadcasts, blocked buyers, holiday
mode, ratings), and the long tables the estimators need (the chats, the human seller
activity in shop-local time). Chats are the metric's (:func:`chatsim.chats.build_chats`:
valid replies answer, automatic replies do not), classified as the simulator makes them:

* **primary**: opened by the buyer on their own initiative;
* **follow-up**: opened at most ``FOLLOWUP_GAP_H`` hours after the previous chat of the
  conversation was answered (the buyer writing again after the answer);
* **thread reply**: the metric's seller-initiated chats (a reply to a seller thread or a
  broadcast).

The messages are sorted once (with a small integer shop code in place of the shop id) and
every pass reads that copy; every step is a polars expression, a numpy array operation
over all rows at once, or the compiled walk of :mod:`chatsim.fit.conversations`.

Example:
    >>> from chatsim.sample import sample_log
    >>> obs = observe(sample_log(), min_days=0)
    >>> obs.shops.select("shop_id", "primary").row(0)
    ('shop_a', 13.0)
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from chatsim.chats import build_chats
from chatsim.engine.ordering import canonical_order
from chatsim.errors import FitError
from chatsim.fit.conversations import COUNTS, message_counts
from chatsim.scenario.weights import buyer_kinds
from chatsim.schema import ChatLog

__all__ = [
    "ANSWER_WITHIN_DAYS",
    "FOLLOWUP_GAP_H",
    "MIN_DAYS",
    "SETTLE_DAYS",
    "Observations",
    "observe",
    "shop_codes",
    "to_local",
]

#: Shortest log the fit accepts, in days: every weekday must be seen at least once.
MIN_DAYS = 7
#: A chat opened at most this many hours after the previous chat's answer is a follow-up.
FOLLOWUP_GAP_H = 2.0
#: A chat opened in holiday mode or by a blocked buyer counts as answered when the answer
#: comes within this many days (of the holiday's end): a later "answer" is the answer to
#: the buyer's next chat, which joined the unanswered one.
ANSWER_WITHIN_DAYS = 3.0
#: Chats opened in the log's last ``SETTLE_DAYS`` days are too recent to say whether
#: they get answered; answer shares leave them out.
SETTLE_DAYS = 3.0
_HOUR_US = 3_600_000_000
_COLUMNS = (
    "conversation_id", "shop_id", "buyer_id", "sent_at", "message_id",
    "sender", "kind", "is_broadcast", "valid_reply", "rating",
)  # fmt: skip


@dataclass(frozen=True)
class Observations:
    """Everything the estimators read, computed once from the log.

    Attributes:
        source: the log's name.
        start: the first day of the log (UTC date of its first message).
        days: whole days from ``start`` 00:00 UTC to the last message.
        data_end: the last message's time.
        shops: one row per shop, sorted by ``shop_id``: ``shop`` (a code 0, 1, ...),
            ``shop_id, timezone, chatbot_enabled``, the shops table's other columns and
            the counts listed in :func:`observe`.
        chats: one row per chat: the metric's columns, ``shop`` code, class
            (``primary``, ``followup``), ``in_holiday``, ``holiday_next`` (next
            holiday-mode start), ``blocked_now`` and the shop-local ``date``,
            ``weekday`` (0 = Monday) and ``hour`` of the opening.
        activity: one row per human seller message (answers, small talk, threads,
            broadcasts; no system rows): ``shop, sent_at`` and the shop-local ``date``
            and ``minute`` of the day.
        holiday_mode: the log's holiday-mode intervals with the ``shop`` code.
        segment_columns: the shops table's other columns (what ``by`` may name).
        listed: how many rows the log has of what it may lack: ``blocked``,
            ``holiday_mode`` and ``ratings``.
        kinds: per shop (``shop``, every one), the buyer messages of each kind (``text``,
            ``image``, ...; rating rows and system rows left out), as floats.
    """

    source: str
    start: dt.date
    days: int
    data_end: dt.datetime
    shops: pl.DataFrame
    chats: pl.DataFrame
    activity: pl.DataFrame
    holiday_mode: pl.DataFrame
    segment_columns: tuple[str, ...]
    listed: dict[str, int]
    kinds: pl.DataFrame

    @property
    def start_utc(self) -> dt.datetime:
        """00:00 UTC of the first day."""
        return dt.datetime.combine(self.start, dt.time(), tzinfo=dt.UTC)

    @property
    def settled(self) -> dt.datetime:
        """Chats opened before this time have had ``SETTLE_DAYS`` to be answered."""
        return self.data_end - dt.timedelta(days=SETTLE_DAYS)

    @property
    def zones(self) -> list[str]:
        """The shops' time zones."""
        return self.shops["timezone"].unique().sort().to_list()


def observe(log: ChatLog, *, min_days: int = MIN_DAYS) -> Observations:
    """The observations of a validated log; :class:`~chatsim.errors.FitError` when it cannot
    be fitted (no messages, shorter than ``min_days`` days, no seller replies).

    ``shops`` counts per shop: ``primary, followups, thread_replies`` (chats by class);
    ``auto`` (primary chats with an automatic reply); ``burst_chats, burst_messages``
    (primary chats an automatic reply did not resolve, outside holiday mode and not from
    blocked buyers, and their buyer messages);
    ``answerable, answered`` (settled primary chats outside holiday mode, not from a
    blocked buyer, not resolved, and how many were answered); ``followup_base`` (settled
    answered primary chats); ``followups_settled, followups_answered``;
    ``blocked_chats, blocked_answered`` (answered within ``ANSWER_WITHIN_DAYS``);
    ``holiday_chats, holiday_answered`` (answered within ``ANSWER_WITHIN_DAYS`` of the
    holiday's end) -- both of chats without an automatic reply, as an unanswered chat
    with one looks resolved by it;
    ``with_answer`` (primary chats answered); ``ratable, rated`` (primary chats with a
    closing message, and rated ones);
    ``small_talk, system`` (messages); ``threads, thread_answers``; ``bursts`` (buyer
    bursts: a buyer message after a human seller message, or ``BURST_GAP_MIN`` minutes
    after the buyer's previous one) and ``arrivals`` (bursts that are not follow-ups or
    replies to the seller: the buyer chats the simulator draws, counted even when a
    returning buyer's chat joined an unanswered one);
    ``broadcasts, broadcast_messages, broadcast_answers``; ``buyers, buyers_blocked``
    (buyers with a primary chat, and blocked ones); ``holiday_periods, holiday_days``.

    Example:
        >>> from chatsim.sample import sample_log
        >>> observe(sample_log()).days
        32
    """
    msgs = log.messages
    if msgs.height == 0:
        raise FitError(f"{log.source}: the log has no messages; there is nothing to fit.")
    first, last = msgs["sent_at"].min(), msgs["sent_at"].max()
    start = first.date()  # type: ignore[union-attr]
    start_utc = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    days = max(1, math.ceil((last - start_utc).total_seconds() / 86400.0))  # type: ignore[operator]
    covered = (last - first).total_seconds() / 86400.0  # type: ignore[operator]
    if covered < min_days:
        raise FitError(
            f"{log.source}: the log covers {covered:.1f} days ({first:%Y-%m-%d %H:%M} to "
            f"{last:%Y-%m-%d %H:%M} UTC); fitting needs at least {min_days} days so that every "
            "weekday is seen. Export a longer period."
        )
    human = (pl.col("sender") == "seller") & (pl.col("kind") != "system")
    if not msgs.select(human.any()).item():
        raise FitError(
            f"{log.source}: no seller replies among {msgs.height:,} messages (only buyer, "
            "automatic or system messages): working hours and response times cannot be "
            "estimated. Check that the export includes the sellers' own messages."
        )
    shops = _shop_frame(log)
    zones = shops["timezone"].unique().sort().to_list()
    # one sort, shared by every message pass, in the engine's canonical order
    # (conversation, sent_at, message_id): shop codes (the shops' sorted order) in place of
    # the string ids, so the sort moves, and the passes group, small integers
    code = pl.col("shop_id").cast(pl.Enum(shops["shop_id"])).to_physical().cast(pl.UInt32)
    ordered = canonical_order(
        msgs.lazy().select(code.alias("shop"), *(c for c in _COLUMNS if c != "shop_id"))
    )
    settled = last - dt.timedelta(days=SETTLE_DAYS)  # type: ignore[operator]
    hol = shop_codes(log.holiday_mode, shops)
    chats = _classified_chats(ordered, log, shops, hol, zones)
    activity = to_local(ordered.filter(human).select("shop", "sent_at"), "sent_at", shops, zones)
    activity = activity.select(
        "shop",
        "sent_at",
        date=pl.col("local").dt.date(),
        minute=pl.col("local").dt.hour().cast(pl.Int32) * 60 + pl.col("local").dt.minute(),
    )
    walked = message_counts(ordered, shops.height)
    table = shops
    for part in (
        _chat_counts(chats, settled),
        walked.select("shop", *COUNTS, "broadcasts"),
        _blocked_buyers(chats, log.blocked, shops),
        _holiday_periods(hol, start_utc, days),
    ):
        table = table.join(part, on="shop", how="left")
    table = table.with_columns(
        arrivals=(
            pl.col("bursts").fill_null(0)
            - pl.col("followups").fill_null(0)
            - pl.col("thread_replies").fill_null(0)
        ).clip(0)
    )
    counts = [c for c in table.columns if c not in shops.columns]
    table = table.with_columns(pl.col(counts).fill_null(0).cast(pl.Float64)).sort("shop")
    extra = tuple(
        c for c in shops.columns if c not in ("shop", "shop_id", "timezone", "chatbot_enabled")
    )
    return Observations(
        source=log.source,
        start=start,
        days=days,
        data_end=last,  # type: ignore[arg-type]
        shops=table,
        chats=chats,
        activity=activity,
        holiday_mode=hol,
        segment_columns=extra,
        kinds=walked.select("shop", *buyer_kinds()),
        listed={
            "blocked": log.blocked.height,
            "holiday_mode": log.holiday_mode.height,
            "ratings": int(msgs["rating"].is_not_null().sum()),
        },
    )


def _shop_frame(log: ChatLog) -> pl.DataFrame:
    """The shops with messages (sorted, with a ``shop`` code), zone, chatbot flag, columns."""
    have = log.messages.select(pl.col("shop_id").unique()).sort("shop_id")
    shops = log.shops
    if "chatbot_enabled" not in shops.columns:
        shops = shops.with_columns(pl.lit(False).alias("chatbot_enabled"))
    out = have.join(shops, on="shop_id", how="left", maintain_order="left")
    return out.with_columns(pl.col("chatbot_enabled").fill_null(False)).with_row_index("shop")


def shop_codes(frame: pl.DataFrame, shops: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the shop code ``shop`` in place of ``shop_id`` (rows of shops not in
    ``shops`` dropped).

    Example:
        >>> s = pl.DataFrame({"shop": [0, 1], "shop_id": ["a", "b"]})
        >>> shop_codes(pl.DataFrame({"shop_id": ["b", "x"], "v": [1, 2]}), s).rows()
        [(1, 1)]
    """
    code = pl.col("shop_id").replace_strict(
        shops["shop_id"], shops["shop"], default=None, return_dtype=pl.UInt32
    )
    out = frame.with_columns(code.alias("shop")).filter(pl.col("shop").is_not_null())
    return out.select("shop", pl.exclude("shop", "shop_id"))


def to_local(frame: pl.DataFrame, col: str, shops: pl.DataFrame, zones: list[str]) -> pl.DataFrame:
    """``frame`` (with a ``shop`` code) plus ``local``: ``col`` as naive shop-local time.

    One conversion per time zone, on that zone's rows only; the row order is kept (a shop
    with no time zone gives null).

    Example:
        >>> s = pl.DataFrame({"shop": [0], "shop_id": ["a"], "timezone": ["Asia/Tokyo"]})
        >>> t = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
        >>> to_local(pl.DataFrame({"shop": [0], "t": [t]}), "t", s, ["Asia/Tokyo"])["local"].dt.hour().to_list()
        [9]
    """
    if len(zones) == 1:
        return frame.with_columns(
            pl.col(col).dt.convert_time_zone(zones[0]).dt.replace_time_zone(None).alias("local")
        )
    # each row's zone by its shop code (shops are numbered 0, 1, ... in order)
    code = shops["timezone"].cast(pl.Enum(zones)).to_physical().cast(pl.Int64).fill_null(-1)
    zone = code.to_numpy()[frame["shop"].to_numpy().astype(np.int64)]
    unit = frame.schema[col].time_unit  # type: ignore[attr-defined]
    t = frame[col]
    local = np.zeros(frame.height, dtype=np.int64)
    for k, z in enumerate(zones):  # a loop over time zones
        rows = np.flatnonzero(zone == k)
        moved = t.gather(rows).dt.convert_time_zone(z).dt.replace_time_zone(None)
        local[rows] = moved.dt.epoch(unit).to_numpy()
    out = pl.Series("local", local).cast(pl.Datetime(unit))
    return frame.with_columns(pl.when(pl.Series(zone >= 0)).then(out).alias("local"))


def _classified_chats(
    ordered: pl.DataFrame,
    log: ChatLog,
    shops: pl.DataFrame,
    hol: pl.DataFrame,
    zones: list[str],
) -> pl.DataFrame:
    """The metric's chats (valid replies answer) with class, holiday and blocked flags."""
    # the engine's chats, with the shop code standing in for the shop id
    chats = build_chats(
        ordered.rename({"shop": "shop_id"}), valid_replies_only=True, presorted=True
    ).select(pl.col("shop_id").cast(pl.UInt32).alias("shop"), pl.exclude("shop_id"))
    same = pl.col("conversation_id") == pl.col("conversation_id").shift(1)
    gap_h = (
        pl.col("open_at") - pl.when(same).then(pl.col("answer_at").shift(1))
    ).dt.total_microseconds() / _HOUR_US
    chats = chats.with_columns(
        followup=~pl.col("seller_initiated") & gap_h.is_not_null() & (gap_h <= FOLLOWUP_GAP_H)
    ).with_columns(primary=~pl.col("seller_initiated") & ~pl.col("followup"))
    chats = _human_after(chats, ordered)
    chats = _in_holiday(chats, hol)
    chats = _blocked_now(chats, shop_codes(log.blocked, shops))
    chats = to_local(chats, "open_at", shops, zones)
    loc = pl.col("local")
    return chats.with_columns(
        date=loc.dt.date(), weekday=(loc.dt.weekday() - 1).cast(pl.Int8), hour=loc.dt.hour()
    ).drop("local")


def _human_after(chats: pl.DataFrame, ordered: pl.DataFrame) -> pl.DataFrame:
    """``human_after``: for a chat an automatic reply closed (``auto_resolved``), the first
    valid human seller message of the conversation after its last buyer message and
    before the buyer's next chat, if any (null otherwise).

    The metric reads an automatic reply followed by buyer silence as resolving the chat,
    also when a human answer comes later than the seller session: a chat left waiting
    over a weekend behind an automatic reply is then "resolved", though it held a place
    in the seller's queue. The queue estimators (:mod:`chatsim.fit.response`) read that
    later human message as its answer."""
    human = ordered.filter(
        (pl.col("sender") == "seller")
        & (pl.col("kind") != "system")
        & pl.col("valid_reply").fill_null(True)
        & ~pl.col("is_broadcast").fill_null(False)
    ).select("conversation_id", human_at="sent_at")
    same = pl.col("conversation_id") == pl.col("conversation_id").shift(-1)
    c = chats.with_row_index("_row").with_columns(
        _next_open=pl.when(same).then(pl.col("open_at").shift(-1))
    )
    res = c.filter(pl.col("auto_resolved")).select(
        "_row", "conversation_id", "_next_open", _t=pl.col("last_buyer_at")
    )
    if res.height == 0 or human.height == 0:
        return chats.with_columns(human_after=pl.lit(None, dtype=chats.schema["open_at"]))
    hit = res.sort("conversation_id", "_t").join_asof(
        human.sort("conversation_id", "human_at"),
        left_on="_t",
        right_on="human_at",
        by="conversation_id",
        strategy="forward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    hit = hit.filter(
        pl.col("human_at").is_not_null()
        & (pl.col("_next_open").is_null() | (pl.col("human_at") < pl.col("_next_open")))
    ).select("_row", human_after=pl.col("human_at"))
    return c.join(hit, on="_row", how="left", maintain_order="left").drop("_row", "_next_open")


def _interval_keys(shop: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Sortable (shop, second) keys: shops apart by 2**36 seconds (about 2,000 years)."""
    return shop.astype(np.int64) * (1 << 36) + t_s


def _epoch_s(s: pl.Series) -> np.ndarray:
    return s.dt.epoch("s").to_numpy().astype(np.int64)


def _in_holiday(chats: pl.DataFrame, hol: pl.DataFrame) -> pl.DataFrame:
    """``in_holiday`` (opened in holiday mode), ``holiday_end`` (when that holiday-mode
    period ends) and ``holiday_next`` (the next holiday-mode start after the opening: an
    answer after it waited across a holiday)."""
    dtype = chats.schema["open_at"]
    if hol.height == 0:
        return chats.with_columns(
            in_holiday=pl.lit(False),
            holiday_end=pl.lit(None, dtype=dtype),
            holiday_next=pl.lit(None, dtype=dtype),
        )
    h = hol.sort("shop", "start")
    h_shop = h["shop"].to_numpy()
    h_start = _interval_keys(h_shop, _epoch_s(h["start"]))
    h_end = _interval_keys(h_shop, _epoch_s(h["end"]))
    c_shop = chats["shop"].to_numpy()
    key = _interval_keys(c_shop, _epoch_s(chats["open_at"]))
    j = np.searchsorted(h_start, key, side="right")  # intervals starting at or before
    before = np.maximum(j - 1, 0)
    inside = (j > 0) & (h_shop[before] == c_shop) & (key < h_end[before])
    nxt = np.minimum(j, h_start.size - 1)
    has_next = (j < h_start.size) & (h_shop[nxt] == c_shop)
    next_us = (h_start[nxt] - _interval_keys(c_shop, 0)) * 1_000_000
    end_us = (h_end[before] - _interval_keys(c_shop, 0)) * 1_000_000
    return chats.with_columns(
        in_holiday=pl.Series(inside),
        holiday_end=pl.when(pl.Series(inside)).then(pl.Series(end_us, dtype=pl.Int64).cast(dtype)),
        holiday_next=pl.when(pl.Series(has_next)).then(
            pl.Series(next_us, dtype=pl.Int64).cast(dtype)
        ),
    )


def _blocked_now(chats: pl.DataFrame, blocked: pl.DataFrame) -> pl.DataFrame:
    """``blocked_now``: the buyer had been blocked by the shop when the chat opened."""
    if blocked.height == 0:
        return chats.with_columns(blocked_now=pl.lit(False))
    b = blocked.group_by("shop", "buyer_id").agg(pl.col("blocked_at").min())
    out = chats.join(b, on=["shop", "buyer_id"], how="left", maintain_order="left")
    return out.with_columns(
        blocked_now=pl.col("blocked_at").is_not_null() & (pl.col("blocked_at") <= pl.col("open_at"))
    ).drop("blocked_at")


def _chat_counts(chats: pl.DataFrame, settled: dt.datetime) -> pl.DataFrame:
    """Per shop: chats by class and what happened to them (see :func:`observe`)."""
    p = pl.col("primary")
    auto = pl.col("first_auto_at").is_not_null()
    res = pl.col("auto_resolved")
    ok = pl.col("open_at") < settled
    hol, blk = pl.col("in_holiday"), pl.col("blocked_now")
    answered = pl.col("answer_at").is_not_null()
    plain = p & ~hol & ~blk & ok & ~res
    fu = pl.col("followup") & ok
    within = pl.duration(hours=int(ANSWER_WITHIN_DAYS * 24))
    hol_answered = answered & (pl.col("answer_at") <= pl.col("holiday_end") + within)
    blk_answered = answered & (pl.col("answer_at") <= pl.col("open_at") + within)
    return chats.group_by("shop").agg(
        primary=p.sum(),
        followups=pl.col("followup").sum(),
        thread_replies=pl.col("seller_initiated").sum(),
        auto=(p & auto).sum(),
        # (a chat left waiting, in holiday mode or by a blocked buyer, gathers the buyer's
        # next chats' messages)
        burst_chats=(p & ~res & ~hol & ~blk).sum(),
        burst_messages=pl.col("n_buyer_messages").filter(p & ~res & ~hol & ~blk).sum(),
        answerable=plain.sum(),
        answered=(plain & answered).sum(),
        followup_base=(p & answered & (pl.col("answer_at") < settled)).sum(),
        followups_settled=fu.sum(),
        # one message, answered: an unanswered follow-up a returning buyer's later chat
        # joins gets that chat's answer, and more than one buyer message
        followups_answered=(fu & answered & (pl.col("n_buyer_messages") == 1)).sum(),
        blocked_chats=(p & blk & ~hol & ok & ~auto).sum(),
        blocked_answered=(p & blk & ~hol & ok & ~auto & blk_answered).sum(),
        holiday_chats=(p & hol & ok & ~auto).sum(),
        holiday_answered=(p & hol & ok & ~auto & hol_answered).sum(),
        with_answer=(p & answered).sum(),
        ratable=(p & (answered | res)).sum(),
        rated=(p & (answered | res) & pl.col("rating").is_not_null()).sum(),
    )


def _blocked_buyers(
    chats: pl.DataFrame, blocked: pl.DataFrame, shops: pl.DataFrame
) -> pl.DataFrame:
    """Per shop: buyers who opened a primary chat, and how many of them the shop blocked."""
    primary = chats.filter(pl.col("primary")).select("shop", "buyer_id")
    buyers = primary.group_by("shop").agg(buyers=pl.col("buyer_id").n_unique())
    b = shop_codes(blocked, shops).select("shop", "buyer_id").unique()
    hit = primary.join(b, on=["shop", "buyer_id"], how="semi")
    hit = hit.group_by("shop").agg(buyers_blocked=pl.col("buyer_id").n_unique())
    return buyers.join(hit, on="shop", how="left").with_columns(
        pl.col("buyers_blocked").fill_null(0)
    )


def _holiday_periods(hol: pl.DataFrame, start: dt.datetime, days: int) -> pl.DataFrame:
    """Per shop: holiday-mode periods overlapping the log and their total length (days)."""
    end = start + dt.timedelta(days=days)
    h = hol.filter((pl.col("end") > start) & (pl.col("start") < end))
    return h.group_by("shop").agg(
        holiday_periods=pl.len(),
        holiday_days=((pl.col("end") - pl.col("start")).dt.total_seconds() / 86400.0).sum(),
    )
