"""Each chat's instants, built once at the last cutoff: what the daily counts are made of.

A chat seen at an earlier cutoff ``C`` is the same chat cut at ``C``: the messages are
walked in order, so the chats opened by ``C`` are those of the last cutoff opened by
``C``, with their later messages unseen. :func:`rule_instants` builds the chats once, at
each shop's last cutoff, with the engine (:func:`chatsim.engine.judged_chats`), and
gives, per rule, every chat's instants (:mod:`chatsim.daily.timeline`):

* opening, answer, deadline and response time: the engine's (deadlines on the rule's
  clock, chatbot weekend, holiday-mode pause); none of them moves with the cutoff;
* the fixed exclusion reason: the engine's, judging the rule without the reasons that
  move with the cutoff (``blocked``, ``auto_resolved``) over a period covering every chat;
* ``blocked``: the buyer's first block (``blocked_at``) in the shop;
* resolution by automatic reply: a chat whose buyer messages all precede its first
  automatic reply is resolved from that reply until answered; a chat whose buyer wrote
  again after an automatic reply (resolution undone) changes at each of its buyer
  messages and automatic replies (:func:`_undone_points`);
* rating events: the rated messages from the chat's opening to the next chat of its
  conversation (a rating belongs to the conversation's latest chat), with their times.

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.rules import NEW_12H
    >>> days = [dt.date(2025, 9, 12)]
    >>> [(rule, chats, _)] = rule_instants(sample_log(), [NEW_12H], days, "UTC")
    >>> len(chats["open"]) > 0, chats["shop"].dtype.name
    (True, 'int32')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import narwhals as nw
import numpy as np
import polars as pl

from chatsim.daily.days import cutoff_matrix
from chatsim.daily.timeline import NEVER
from chatsim.engine import (
    compiled_messages,
    encode_shops,
    epoch_us,
    judged_chats,
    kernel,
    polars_backend,
)
from chatsim.rules import Rule
from chatsim.schema import ChatLog

__all__ = ["DayGrid", "day_grid", "rule_instants"]

#: exclusion reasons whose truth changes with the cutoff (read here, not from the engine)
MOVING_REASONS = frozenset({"blocked", "auto_resolved"})
_ALL_TIME = (dt.date(1, 1, 1), dt.date(9999, 12, 31))
_UTC_US = pl.Datetime("us", "UTC")


@dataclass
class DayGrid:
    """The cutoffs: ``zones`` (sorted), ``cut`` (:func:`~chatsim.daily.days.cutoff_matrix`),
    each shop's zone position ``shop_zone`` (shops in the log's order)."""

    days: list[dt.date]
    zones: list[str]
    cut: np.ndarray
    shop_zone: np.ndarray


def day_grid(shops: pl.DataFrame, days: Sequence[dt.date], zone: str | None) -> DayGrid:
    """The cutoffs of ``days`` in each shop's zone, or in ``zone`` for every shop.

    Example:
        >>> g = day_grid(pl.DataFrame({"timezone": ["UTC", "Asia/Jakarta"]}),
        ...              [dt.date(2025, 8, 4)], None)
        >>> g.zones, g.shop_zone.tolist()
        (['Asia/Jakarta', 'UTC'], [1, 0])
    """
    names = [zone] * shops.height if zone is not None else shops["timezone"].to_list()
    zones = sorted(set(names)) or [zone or "UTC"]
    pos = {z: i for i, z in enumerate(zones)}
    shop_zone = np.array([pos[z] for z in names], dtype=np.int32)
    return DayGrid(list(days), zones, cutoff_matrix(days, zones), shop_zone)


def _until_last_cutoff(log: ChatLog, grid: DayGrid) -> pl.DataFrame:
    """The messages at or before their shop's last cutoff."""
    msgs = log.messages
    last = grid.cut[:, -1]
    end = log.data_end
    lo = pl.lit(int(last.min())).cast(_UTC_US)
    if end is None or msgs.height == 0 or epoch_us(end) <= last.min():
        return msgs
    if len(grid.zones) == 1:
        return msgs.filter(pl.col("sent_at") <= lo)
    shop_last = pl.DataFrame(
        {"shop_id": log.shops["shop_id"], "_last": grid.cut[grid.shop_zone, -1]}
    ).with_columns(pl.col("_last").cast(_UTC_US))
    t = pl.col("sent_at")
    late = msgs.filter(t > lo).join(shop_last, on="shop_id", how="left")
    late = late.filter(t <= pl.col("_last")).drop("_last")
    return pl.concat([msgs.filter(t <= lo), late], how="vertical")


def rule_instants(
    log: ChatLog, rules: Sequence[Rule], days: Sequence[dt.date], zone: str | None
) -> Iterator[tuple[Rule, dict[str, np.ndarray], DayGrid]]:
    """Per rule (in order), the chats' instants for :func:`chatsim.daily.timeline.accumulate`,
    and the day grid (see the module docstring)."""
    grid = day_grid(log.shops, days, zone)
    msgs = _until_last_cutoff(log, grid)
    as_of = dt.datetime.fromtimestamp(0, dt.UTC) + dt.timedelta(
        microseconds=int(grid.cut[:, -1].max())
    )
    # the compiled chats keep each chat's last automatic reply (for _undone_points)
    be = polars_backend(log.shops["timezone"].unique().to_list(), last_auto=True)
    shop_enum, (coded, shops, hol, blk) = encode_shops(
        msgs, log.shops, log.holiday_mode, log.blocked
    )
    compiled = compiled_messages(coded)
    del coded, msgs
    rows = _Rows(
        t=compiled["sent_at"].dt.epoch("us").to_numpy(),
        flags=compiled["_flags"].to_numpy(),
        extra=compiled["_extra"].to_numpy() if "_extra" in compiled.columns else None,
    )
    shop_pos = pl.DataFrame({"shop_id": shops["shop_id"]}).with_row_index("_sx")
    blocked = blk.group_by("shop_id", "buyer_id").agg(pl.col("blocked_at").min().alias("_b"))
    # the engine judges each rule without its moving reasons, over all time
    fixed = [
        r.replace(
            exclusions=r.exclusions - MOVING_REASONS,
            period_start=_ALL_TIME[0],
            period_end=_ALL_TIME[1],
        )
        for r in rules
    ]
    frames = judged_chats(
        nw.from_native(compiled.lazy()),
        None,
        nw.from_native(shops.lazy()),
        nw.from_native(hol.lazy()),
        nw.from_native(blk.head(0).lazy()),
        be,
        fixed,
        as_of,
        has_holidays=hol.height > 0,
        has_blocked=False,
    )
    del compiled  # the engine drops the messages once the chats are built
    history: dict[tuple, dict[str, np.ndarray]] = {}
    for rule, (_, judged) in zip(rules, frames, strict=True):
        df = judged.to_native().collect()
        del judged
        if not df["_open_pos"].is_sorted():
            df = df.sort("_open_pos")
        key = rule.chat_key()
        if key not in history:
            history[key] = _history(df, rows)
        h = history[key]
        coded = shop_enum is not None  # shop codes are positions in the shops table
        yield rule, _instants(df, rule, grid, shop_pos, blocked, h, coded), grid


def _instants(
    df: pl.DataFrame,
    rule: Rule,
    grid: DayGrid,
    shop_pos: pl.DataFrame,
    blocked: pl.DataFrame,
    h: dict[str, np.ndarray],
    coded: bool,
) -> dict[str, np.ndarray]:
    """One rule's arrays (one entry per chat, in ``_open_pos`` order)."""
    cols = df.lazy().select(
        "shop_id",
        "buyer_id",
        "_open_us",
        pl.col("_answer_us").fill_null(NEVER),
        pl.col("deadline").dt.epoch("us").alias("_deadline_us"),
        pl.col("excluded_reason").cast(pl.Int8).fill_null(-1),
        pl.col("_resp_us").fill_null(0),
    )
    if coded:
        cols = cols.with_columns(_sx=pl.col("shop_id").cast(pl.UInt32))
    else:
        cols = cols.join(shop_pos.lazy(), on="shop_id", how="left", maintain_order="left")
    if "blocked" in rule.exclusions and blocked.height:
        b = blocked.lazy().with_columns(
            pl.col("buyer_id").cast(df.schema["buyer_id"]),
            pl.col("_b").dt.epoch("us"),
        )
        cols = cols.join(b, on=["shop_id", "buyer_id"], how="left", maintain_order="left")
        cols = cols.with_columns(pl.col("_b").fill_null(NEVER))
    else:
        cols = cols.with_columns(_b=pl.lit(NEVER, dtype=pl.Int64))
    c = cols.collect()
    sx = c["_sx"].cast(pl.Int32).to_numpy()
    open_us = c["_open_us"].to_numpy()
    if rule.period_start is not None:
        lo = epoch_us(dt.datetime.combine(rule.period_start, dt.time(), tzinfo=dt.UTC))
        hi = epoch_us(dt.datetime.combine(rule.period_end, dt.time(), tzinfo=dt.UTC))  # type: ignore[arg-type]
        inside = (open_us >= lo) & (open_us < hi)
        period_end = np.where(inside, NEVER, open_us)
    else:
        period_end = open_us + rule.period_days * 86_400_000_000
    auto = "auto_resolved" in rule.exclusions and rule.auto_reply == "exclude_resolved"
    n = len(open_us)
    none_ptr = np.zeros(n + 1, np.int64)
    return {
        "shop": sx,
        "zone": grid.shop_zone[sx],
        "open": open_us,
        "answer": c["_answer_us"].to_numpy(),
        "deadline": c["_deadline_us"].to_numpy(),
        "period_end": period_end.astype(np.int64),
        "blocked": c["_b"].to_numpy(),
        "fixed": c["excluded_reason"].to_numpy(),
        "resp": c["_resp_us"].to_numpy(),
        "auto_ptr": h["auto_ptr"] if auto else none_ptr,
        "auto_t": h["auto_t"] if auto else np.zeros(0, np.int64),
        "auto_on": h["auto_on"] if auto else np.zeros(0, np.bool_),
        "rating_ptr": h["rating_ptr"],
        "rating_t": h["rating_t"],
        "rating_code": h["rating_code"],
    }


def _csr(chat: np.ndarray, n: int) -> np.ndarray:
    """Row pointers of entries grouped by ``chat`` (sorted), for ``n`` chats."""
    return np.searchsorted(chat, np.arange(n + 1), side="left").astype(np.int64)


@dataclass
class _Rows:
    """The sorted messages as the compiled builder reads them: ``sent_at`` (epoch
    microseconds), the flag byte and the optional columns' byte (or None)."""

    t: np.ndarray
    flags: np.ndarray
    extra: np.ndarray | None

    def __post_init__(self) -> None:
        self.starts = np.flatnonzero(self.flags & kernel.START)  # each conversation's first row


def _history(df: pl.DataFrame, rows: _Rows) -> dict[str, np.ndarray]:
    """A chat definition's rating events and automatic-resolution change points."""
    n = df.height
    open_pos = df["_open_pos"].cast(pl.Int64).to_numpy()
    t, flags, starts = rows.t, rows.flags, rows.starts
    # ratings: the rated rows of each conversation belong to its latest chat
    rated = np.flatnonzero(flags & kernel.RATED)
    chat = np.searchsorted(open_pos, rated, side="right") - 1
    conv_start = starts[np.searchsorted(starts, rated, side="right") - 1]
    if n == 0:
        chat = np.full(len(rated), -1)
    own = (chat >= 0) & (open_pos[np.maximum(chat, 0)] >= conv_start if n else False)
    rated, chat = rated[own], chat[own]
    out = {
        "rating_ptr": _csr(chat, n),
        "rating_t": t[rated],
        "rating_code": np.where(flags[rated] & kernel.SATISFIED, 0, 1).astype(np.int8),
    }
    # automatic resolution
    first_auto = df["first_auto_at"].dt.epoch("us")
    last_buyer = df["last_buyer_at"].dt.epoch("us")
    has_auto = first_auto.is_not_null().to_numpy()
    fa = first_auto.fill_null(0).to_numpy()
    lb = last_buyer.fill_null(0).to_numpy()
    simple = has_auto & (lb < fa)
    undone = np.flatnonzero(has_auto & ~simple)
    chat_ids = np.flatnonzero(simple)
    times = fa[chat_ids]
    on = np.ones(len(chat_ids), np.bool_)
    if len(undone):
        answer = df["_answer_us"].fill_null(NEVER).to_numpy()
        last_auto = df["last_auto_at"].dt.epoch("us").fill_null(0).to_numpy()
        more = _undone_points(rows, open_pos, answer, undone, fa[undone], last_auto[undone])
        chat_ids = np.concatenate([chat_ids, more[0]])
        times = np.concatenate([times, more[1]])
        on = np.concatenate([on, more[2]])
        order = np.lexsort((times, chat_ids))
        chat_ids, times, on = chat_ids[order], times[order], on[order]
    out.update(auto_ptr=_csr(chat_ids, n), auto_t=times.astype(np.int64), auto_on=on)
    return out


def _undone_points(
    rows: _Rows,
    open_pos: np.ndarray,
    answer: np.ndarray,
    undone: np.ndarray,
    first_auto: np.ndarray,
    last_auto: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Change points of the chats ``undone`` (positions in chat order) whose resolution a
    buyer message undid.

    Their automatic replies to a waiting chat are the automatic messages of the chat from
    its first such reply to its last (``first_auto``, ``last_auto``: the compiled chats'
    ``first_auto_at`` and ``last_auto_at`` of these chats, epoch microseconds); at each
    instant of a buyer message or of such a reply the chat is resolved if only replies
    were sent then, and stays so until the next; before its answer only.
    """
    n_rows, starts = len(rows.t), rows.starts
    # each chat's rows: from its opening to the next chat or the end of its conversation
    nxt_start = np.append(starts, n_rows)[np.searchsorted(starts, open_pos, side="right")]
    nxt_open = np.append(open_pos[1:], n_rows)
    lo = open_pos[undone]
    hi = np.minimum(nxt_open, nxt_start)[undone]
    length = hi - lo
    span = _ranges(lo, hi)
    k = np.repeat(np.arange(len(undone)), length)
    tt, f = rows.t[span], rows.flags[span]
    buyer = (f & kernel.BUYER) != 0
    reply = ((f & kernel.AUTO) != 0) & (tt >= first_auto[k]) & (tt <= last_auto[k])
    keep = (buyer | reply) & (tt < answer[undone][k])
    chat, tt, buyer = undone[k][keep], tt[keep], buyer[keep]
    # one group per chat and instant: resolved there if no buyer message was sent then
    new = np.ones(len(chat), np.bool_)
    new[1:] = (chat[1:] != chat[:-1]) | (tt[1:] != tt[:-1])
    first = np.flatnonzero(new)
    any_buyer = np.add.reduceat(buyer.astype(np.int64), first) > 0 if len(first) else buyer
    g_chat, g_t, g_on = chat[first], tt[first], ~any_buyer
    before = np.zeros(len(g_on), np.bool_)
    before[1:] = np.where(g_chat[1:] == g_chat[:-1], g_on[:-1], False)
    change = g_on != before
    return g_chat[change], g_t[change], g_on[change]


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The positions ``lo[i]:hi[i]`` of every range, concatenated (int64).

    Example:
        >>> _ranges(np.array([2, 7]), np.array([4, 8])).tolist()
        [2, 3, 7]
    """
    length = hi - lo
    out = np.arange(int(length.sum()), dtype=np.int64)
    return out - np.repeat(np.cumsum(length) - length, length) + np.repeat(lo, length)
