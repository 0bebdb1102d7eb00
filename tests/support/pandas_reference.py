"""A plain pandas implementation of chatsim's definitions: the tests' reference and the
benchmark baseline (``benchmarks/metrics.py``).

This is what a competent analyst would write with pandas: one sort, then
``groupby(...).ffill()`` / ``groupby(...).shift()`` to carry the conversation state,
boolean masks, one ``groupby().agg()`` per chat, ``merge_asof`` for holiday mode, a
merge for blocked buyers, ``tz_convert`` for the chatbot-weekend deadline and
``groupby().size().unstack()`` for the shop table. Everything is vectorised pandas;
there is no Python loop over messages or chats (only over rules and time zones).

It follows exactly the definitions of :mod:`chatsim.chats` (chat grouping with the
three automatic-reply modes, valid replies, seller-opened threads, resolution by
automatic reply) and :mod:`chatsim.metrics` (exclusions in order, evaluation period,
calendar-clock deadline incl. the chatbot-weekend Monday 12:00 local deadline,
pending chats, the shop table). ``tests/test_pandas_reference.py`` checks that its
shop table equals ``chatsim.metrics.compare(log).shops``.

The shop table's rates honour the rule's ``min_chats``/``default_rate``; each rate's
Wilson interval and the ``confidence`` column are written a second time here, with numpy.

The rule's figure (``rule_value``, ``rule_measure``: a blended or late share, a response
time, a satisfaction rate) and ``meets_target``/``tier`` on the rule's side of the target
are written a second time too.

The counted units (``first_chat``, ``message``), the daily cut-off deadline
(``tz_localize`` with ``nonexistent="shift_forward"``), the public-holiday exclusion (the
``holidays`` package on the local date) and the no-response-needed marks are written a
second time too.

Not covered: the business-hours clock (``rule.clock == "business"`` raises
``NotImplementedError``).

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.rules import NEW_12H
    >>> int(pandas_compare(sample_log(), [NEW_12H])["counted"].sum()) > 0
    True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chatsim.rules import EXCLUSIONS, LEGACY_24H, NEW_12H, Rule
from chatsim.schema import TABLES, ChatLog

__all__ = [
    "SHOP_COLUMNS",
    "PandasLog",
    "pandas_chats",
    "pandas_compare",
    "pandas_judge",
    "pandas_shop_table",
    "to_pandas_log",
]

# states of the conversation (what the latest buyer / answering message was)
NONE, BUYER, HUMAN, AUTO = 0, 1, 2, 3

STATUSES = (
    "answered_in_time",
    "answered_late",
    "unanswered",
    "pending",
    "excluded",
    "outside_period",
)
COUNT_COLUMNS = (
    "chats",
    "counted",
    "answered_in_time",
    "answered_late",
    "unanswered",
    "pending",
    "outside_period",
    *(f"excluded_{r}" for r in EXCLUSIONS),
    "rated",
    "satisfied",
)
#: The shop-table columns the baseline computes (compared with chatsim's in tests and benchmarks).
SHOP_COLUMNS: list[str] = [
    "rule",
    "shop_id",
    *COUNT_COLUMNS,
    "response_rate",
    "satisfaction_rate",
    "avg_response_hours",
    "median_response_hours",
    "response_rate_low",
    "response_rate_high",
    "satisfaction_rate_low",
    "satisfaction_rate_high",
    "confidence",
    "rule_value",
    "rule_measure",
    "meets_target",
    "tier",
]


@dataclass
class PandasLog:
    """The four tables of a chat log as pandas DataFrames."""

    messages: pd.DataFrame
    shops: pd.DataFrame
    holiday_mode: pd.DataFrame
    blocked: pd.DataFrame


def to_pandas_log(log: ChatLog) -> PandasLog:
    """Convert a validated :class:`ChatLog` to pandas (enums become categoricals)."""
    return PandasLog(*(getattr(log, name).to_pandas() for name in TABLES))


def _prev(values: pd.Series, conv: pd.Series) -> pd.Series:
    """The latest non-null value strictly before each row in the same conversation."""
    return values.groupby(conv, sort=False).ffill().groupby(conv, sort=False).shift(1)


def pandas_chats(
    messages: pd.DataFrame,
    *,
    auto_reply: str = "exclude_resolved",
    valid_replies_only: bool = False,
    session_hours: float = 24.0,
    units: bool = False,
) -> pd.DataFrame:
    """Group messages into chats (same definitions as :func:`chatsim.chats.build_chats`);
    with ``units`` one row per buyer message (the ``message`` counted unit), taking its
    chat's values with its own time, number in the conversation and mark."""
    session = pd.Timedelta(microseconds=round(session_hours * 3_600_000_000))
    m = messages.sort_values(["conversation_id", "sent_at", "message_id"], ignore_index=True)
    conv = m["conversation_id"]
    t = m["sent_at"]

    not_system = m["kind"] != "system"
    # a rated buyer row is the buyer's rating event, not a buyer message
    buyer = (m["sender"] == "buyer") & not_system & m["rating"].isna()
    seller = (m["sender"] == "seller") & not_system
    auto = (m["sender"] == "auto") & not_system & ~m["is_broadcast"]
    if "no_response_needed" in m.columns:
        no_reply = m["no_response_needed"].fillna(False).astype(bool)
    else:
        no_reply = pd.Series(False, index=m.index)
    # a broadcast, sent by the seller or automatically
    broadcast = m["is_broadcast"] & not_system & (m["sender"] != "buyer")
    human = seller & ~m["is_broadcast"]
    if valid_replies_only:
        human &= m["valid_reply"]
    if auto_reply == "count_as_answer":
        human |= auto

    # is a chat waiting? (state of the latest buyer / answering message)
    bh = pd.Series(np.select([buyer, human], [BUYER, HUMAN], np.nan))
    prev_bh = _prev(bh, conv).fillna(NONE)
    if auto_reply == "exclude_resolved":
        # automatic replies after a buyer message, up to the first one that comes more
        # than a session after the previous automatic message
        pos = pd.Series(np.arange(len(m)), index=m.index, dtype="float64")
        last_bh_pos = _prev(pos.where(buyer | human), conv).fillna(-1)
        prev_auto_pos = _prev(pos.where(auto), conv).fillna(-1)
        prev_auto_t = _prev(t.where(auto), conv)
        gap = auto & (prev_auto_pos > last_bh_pos) & (t - prev_auto_t > session)
        last_gap_pos = _prev(pos.where(gap), conv).fillna(-1)
        auto_to_waiting = auto & (prev_bh == BUYER) & ~gap & (last_gap_pos < last_bh_pos)
    else:
        auto_to_waiting = pd.Series(False, index=m.index)
    state = pd.Series(np.select([buyer, human, auto_to_waiting], [BUYER, HUMAN, AUTO], np.nan))
    prev_state = _prev(state, conv).fillna(NONE)
    prev_t = _prev(t.where(state.notna()), conv)
    last_buyer = _prev(t.where(buyer), conv)

    # a chat waits after a buyer message, and for a session after an automatic reply
    waiting = (prev_state == BUYER) | ((prev_state == AUTO) & (t - prev_t <= session))
    opens = buyer & ~waiting
    opener = (
        (seller | broadcast)
        & ~waiting
        & (broadcast | last_buyer.isna() | (t - last_buyer > session))
    )
    last_opener = _prev(t.where(opener), conv)
    seller_initiated = (
        opens
        & last_opener.notna()
        & (t - last_opener <= session)
        & (last_buyer.isna() | (last_buyer < last_opener))
    )
    answer = human & waiting

    m["chat"] = opens.cumsum()
    m["chat_seq"] = opens.groupby(conv, sort=False).cumsum()
    m["answer_at"] = t.where(answer)
    m["answer_by_auto"] = answer & (m["sender"] == "auto")
    m["auto_at"] = t.where(auto_to_waiting)
    m["buyer_at"] = t.where(buyer)
    m["is_buyer"] = buyer
    m["needs_reply"] = buyer & ~no_reply
    m["seller_initiated"] = seller_initiated

    chats = (
        m[opens | waiting]
        .groupby("chat", sort=False)
        .agg(
            shop_id=("shop_id", "first"),
            conversation_id=("conversation_id", "first"),
            buyer_id=("buyer_id", "first"),
            chat_seq=("chat_seq", "first"),
            open_at=("sent_at", "first"),
            answer_at=("answer_at", "min"),
            answered_by_auto=("answer_by_auto", "any"),
            first_auto_at=("auto_at", "min"),
            last_auto_at=("auto_at", "max"),
            last_buyer_at=("buyer_at", "max"),
            n_buyer_messages=("is_buyer", "sum"),
            n_reply=("needs_reply", "sum"),
            seller_initiated=("seller_initiated", "first"),
        )
    )
    # the latest rating given in the conversation while this chat was the latest one
    rated = m[m["rating"].notna() & (m["chat_seq"] > 0)]
    chats["rating"] = rated.groupby("chat", sort=False)["rating"].last()
    # the stars of that same rating event (none if it had none)
    latest = rated.groupby("chat", sort=False).tail(1).set_index("chat")
    stars = latest["stars"] if "stars" in latest.columns else pd.Series(dtype="float64")
    chats["stars"] = stars.reindex(chats.index)
    chats["_no_reply"] = chats["n_reply"] == 0
    chats["auto_resolved"] = (
        chats["first_auto_at"].notna()
        & chats["answer_at"].isna()
        & (chats["last_buyer_at"] < chats["last_auto_at"])
    )
    if units:
        # every buyer message is a unit of the chat it belongs to
        rows = m.loc[buyer, ["chat", "sent_at"]].assign(
            unit_seq=buyer.groupby(conv, sort=False).cumsum()[buyer],
            unit_no_reply=no_reply[buyer],
        )
        chats = rows.join(chats, on="chat")
        chats["open_at"] = chats["sent_at"]
        chats["chat_seq"] = chats["unit_seq"]
        chats["_no_reply"] = chats["unit_no_reply"]
        chats = chats.drop(columns=["chat", "sent_at", "unit_seq", "unit_no_reply"])
    chats["response_s"] = (chats["answer_at"] - chats["open_at"]).dt.total_seconds()
    return chats.reset_index(drop=True)


def _merge_intervals(hol: pd.DataFrame) -> pd.DataFrame:
    """Merge overlapping holiday-mode intervals per shop."""
    h = hol.sort_values(["shop_id", "start"], ignore_index=True)
    prev_end = h.groupby("shop_id")["end"].cummax().groupby(h["shop_id"]).shift(1)
    h["grp"] = (prev_end.isna() | (h["start"] > prev_end)).cumsum()
    return h.groupby(["shop_id", "grp"], as_index=False).agg(
        start=("start", "min"), end=("end", "max")
    )


def _weekend_deadline(c: pd.DataFrame, deadline: pd.Series) -> pd.Series:
    """Chats of chatbot shops opened on a local Saturday/Sunday: due Monday 12:00 local."""
    deadline = deadline.copy()
    bot = c["chatbot_enabled"].astype(bool)
    for zone in c.loc[bot, "timezone"].unique():
        mask = bot & (c["timezone"] == zone)
        local = c.loc[mask, "open_at"].dt.tz_convert(zone).dt.tz_localize(None)
        weekday = local.dt.day_of_week  # Monday = 0
        monday_noon = (
            local.dt.normalize() + pd.to_timedelta(7 - weekday, unit="D") + pd.Timedelta(hours=12)
        )
        # earliest reading of an ambiguous wall-clock time (True = the DST one)
        monday_noon = monday_noon.dt.tz_localize(
            zone, ambiguous=np.ones(len(monday_noon), dtype=bool), nonexistent="NaT"
        ).dt.tz_convert("UTC")
        d = deadline[mask]
        later = (weekday >= 5) & (monday_noon > d)
        deadline.loc[later[later].index] = monday_noon[later]
    return deadline


def _local(c: pd.DataFrame, zone: str) -> pd.Series:
    """The shop-local wall-clock opening times of the chats of one zone (naive)."""
    return c.loc[c["timezone"] == zone, "open_at"].dt.tz_convert(zone).dt.tz_localize(None)


def _on_public_holiday(c: pd.DataFrame) -> pd.Series:
    """Chats opened on a public holiday of their shop's country (local date)."""
    import holidays

    out = pd.Series(False, index=c.index)
    if "country" not in c.columns:  # no country: no public holidays
        return out
    for zone in c["timezone"].unique():
        local = _local(c, zone)
        countries = c.loc[local.index, "country"]
        for country in countries.dropna().unique():
            idx = countries.index[countries == country]
            days = local[idx].dt.date
            years = sorted({d.year for d in days})
            off = set(holidays.country_holidays(country, years=years))
            out[idx] = days.isin(off)
    return out


def _cutoff_deadline(c: pd.DataFrame, rule: Rule) -> pd.Series:
    """The daily cut-off deadline: received before the cut-off on local day d, due at the
    due time of day d + offset; at or after it, a day later (local, then UTC: a time in
    a DST gap moves to the jump, a repeated one takes its first pass)."""
    cut = pd.Timedelta(rule.cutoff_time + ":00")
    due = pd.Timedelta(rule.due_time + ":00")
    deadline = pd.Series(pd.NaT, index=c.index, dtype="datetime64[us, UTC]")
    for zone in c["timezone"].unique():
        local = _local(c, zone)
        day = local.dt.normalize()
        late = (local - day) >= cut
        due_local = day + pd.to_timedelta(late.astype(int) + rule.due_day_offset, unit="D") + due
        utc = due_local.dt.tz_localize(
            zone, ambiguous=np.ones(len(due_local), dtype=bool), nonexistent="shift_forward"
        ).dt.tz_convert("UTC")
        deadline[local.index] = utc
    return deadline


def pandas_judge(
    chats: pd.DataFrame, log: PandasLog, rule: Rule, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Status of every chat under ``rule`` (same definitions as chatsim's ``_judge``)."""
    if rule.clock != "calendar":
        raise NotImplementedError("the pandas baseline implements the calendar clock only")
    if rule.counted_unit == "first_chat":  # later chats are no units
        chats = chats[chats["chat_seq"] == 1]
    shop_cols = ["shop_id", "timezone", "chatbot_enabled"]
    shop_cols += ["country"] if "country" in log.shops.columns else []
    c = chats.merge(log.shops[shop_cols], on="shop_id", how="left")
    # exclusions
    flags: dict[str, pd.Series] = {}
    if "holiday_mode" in rule.exclusions and len(log.holiday_mode):
        c = pd.merge_asof(
            c.sort_values("open_at"),
            _merge_intervals(log.holiday_mode)[["shop_id", "start", "end"]].sort_values("start"),
            left_on="open_at",
            right_on="start",
            by="shop_id",
            direction="backward",
        )
        flags["holiday_mode"] = c["end"].notna() & (c["open_at"] < c["end"])
    else:
        flags["holiday_mode"] = pd.Series(False, index=c.index)
    blocked = log.blocked.loc[log.blocked["blocked_at"] <= as_of, ["shop_id", "buyer_id"]]
    if "blocked" in rule.exclusions and len(blocked):
        hit = c.merge(
            blocked.drop_duplicates(), on=["shop_id", "buyer_id"], how="left", indicator=True
        )
        flags["blocked"] = pd.Series((hit["_merge"] == "both").to_numpy(), index=c.index)
    else:
        flags["blocked"] = pd.Series(False, index=c.index)
    flags["seller_initiated"] = c["seller_initiated"].astype(bool)
    flags["auto_resolved"] = c["auto_resolved"].astype(bool)
    flags["no_response_needed"] = c["_no_reply"].astype(bool)
    on_holiday = "public_holiday" in rule.exclusions
    flags["public_holiday"] = (
        _on_public_holiday(c) if on_holiday else pd.Series(False, index=c.index)
    )
    # the first matching reason, in the order of EXCLUSIONS
    reason = pd.Series(None, index=c.index, dtype=object)
    for name in reversed(EXCLUSIONS):
        if name in rule.exclusions:
            reason = reason.mask(flags[name], name)

    # period
    if rule.period_start is not None:
        p_start = pd.Timestamp(rule.period_start, tz="UTC")
        p_end = pd.Timestamp(rule.period_end, tz="UTC")
        in_period = (c["open_at"] >= p_start) & (c["open_at"] < p_end)
    else:
        p_start = as_of - pd.Timedelta(days=rule.period_days)
        in_period = (c["open_at"] > p_start) & (c["open_at"] <= as_of)
    # exclusions are reasons of the period's chats only
    reason = reason.where(in_period, None)

    # calendar-clock deadline
    deadline = c["open_at"] + pd.Timedelta(seconds=rule.window_seconds)
    if rule.chatbot_weekend_deadline:
        deadline = _weekend_deadline(c, deadline)
    if rule.deadline == "daily_cutoff":
        deadline = _cutoff_deadline(c, rule)

    answered = c["answer_at"].notna()
    status = np.select(
        [
            ~in_period,
            reason.notna(),
            answered & (c["answer_at"] <= deadline),
            answered,
            deadline > as_of,
        ],
        ["outside_period", "excluded", "answered_in_time", "answered_late", "pending"],
        default="unanswered",
    )
    c["excluded_reason"] = reason
    c["deadline"] = deadline
    c["status"] = status
    c["rule"] = rule.name
    return c


def pandas_shop_table(judged: pd.DataFrame, log: PandasLog, rule: Rule) -> pd.DataFrame:
    """Per-shop counts and rates under one rule (the columns chatsim's shop table has)."""
    status = judged["status"]
    counted = status.isin(["answered_in_time", "answered_late", "unanswered"])
    answered_counted = status.isin(["answered_in_time", "answered_late"])
    by_status = (
        judged.groupby(["shop_id", "status"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=STATUSES, fill_value=0)
    )
    by_reason = (
        judged.groupby(["shop_id", "excluded_reason"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=list(EXCLUSIONS), fill_value=0)
        .add_prefix("excluded_")
    )
    judged = judged.assign(
        _rated=judged["rating"].notna() & (counted | (status == "pending")),
        _satisfied=(judged["rating"] == "satisfied") & (counted | (status == "pending")),
    )
    per_shop = judged.groupby("shop_id").agg(
        chats=("status", "size"), rated=("_rated", "sum"), satisfied=("_satisfied", "sum")
    )
    per_shop["_answered"] = judged.loc[answered_counted].groupby("shop_id").size()
    times = (
        judged.loc[answered_counted].groupby("shop_id")["response_s"].agg(["mean", "median"]) / 3600
    )
    times.columns = ["avg_response_hours", "median_response_hours"]
    per_shop = per_shop.join([by_status.drop(columns="excluded"), by_reason, times])
    per_shop["counted"] = per_shop[["answered_in_time", "answered_late", "unanswered"]].sum(axis=1)

    out = log.shops.merge(per_shop, left_on="shop_id", right_index=True, how="left")
    for col in (*COUNT_COLUMNS, "_answered"):
        out[col] = out[col].fillna(0).astype("int64")
    own = out["counted"] >= max(rule.min_chats, 1)
    out["response_rate"] = (out["answered_in_time"] / out["counted"]).where(own)
    plain = rule.metric == "response_rate" and rule.rate_kind == "share"
    if rule.default_rate is not None and plain:
        out["response_rate"] = out["response_rate"].where(own, rule.default_rate)
    out["satisfaction_rate"] = (out["satisfied"] / out["rated"]).where(out["rated"] > 0)
    low, high = _wilson(out["answered_in_time"], out["counted"])
    out["response_rate_low"], out["response_rate_high"] = low.where(own), high.where(own)
    out["satisfaction_rate_low"], out["satisfaction_rate_high"] = _wilson(
        out["satisfied"], out["rated"]
    )
    out["confidence"] = _confidence(out, rule)
    if not plain:
        _rule_figure(out, judged, rule)
    else:
        out["rule_value"], out["rule_measure"] = out["response_rate"], "response_rate"
    out["meets_target"], out["tier"] = _meets_and_tier(out["rule_value"], rule)
    out.insert(0, "rule", rule.name)
    return out.sort_values("shop_id", ignore_index=True)


def _recent_counts(judged: pd.DataFrame, rule: Rule) -> pd.DataFrame:
    """Per shop, the most recent ``ceil(f * counted)`` counted chats of a blended rate
    (every chat opened at the same instant as the last of them included), and how many
    of them were answered in time."""
    c = judged[judged["status"].isin(["answered_in_time", "answered_late", "unanswered"])]
    rank = c.groupby("shop_id")["open_at"].rank(method="min", ascending=False)
    n = c.groupby("shop_id")["open_at"].transform("size").astype(float)
    recent = (rank == 1) | ((rank - 1) < n * rule.recent_fraction - 1e-9)
    return (
        c.assign(_recent=recent, _recent_ok=recent & (c["status"] == "answered_in_time"))
        .groupby("shop_id")
        .agg(recent_n=("_recent", "sum"), recent_in_time=("_recent_ok", "sum"))
    )


def _rule_figure(out: pd.DataFrame, judged: pd.DataFrame, rule: Rule) -> None:
    """``rule_value``, ``rule_measure`` and (for a proportion) ``confidence`` of a rule
    whose figure is not the plain response rate, written a second time."""
    counted = out["counted"]
    good = None
    measure = pd.Series(None, index=out.index, dtype=object)
    if rule.metric == "average_response_time":
        stat = "avg" if rule.time_statistic == "mean" else "median"
        value, base = out[f"{stat}_response_hours"], out["_answered"]
        measure[:] = f"{rule.time_statistic}_response_hours"
    elif rule.metric == "satisfaction_rate":
        scoped = judged[
            judged["status"].isin(["answered_in_time", "answered_late", "unanswered", "pending"])
        ]
        if "stars" in judged.columns:
            stars = scoped.assign(_good=scoped["stars"] >= 4).groupby("shop_id")
            per = stars.agg(s_rated=("stars", "count"), s_good=("_good", "sum"))
            per = out[["shop_id"]].merge(per, left_on="shop_id", right_index=True, how="left")
            s_rated = per["s_rated"].fillna(0).to_numpy()
            s_good = per["s_good"].fillna(0).to_numpy()
        else:
            s_rated = s_good = np.zeros(len(out))
        has = s_rated > 0
        good = pd.Series(np.where(has, s_good, out["satisfied"]), index=out.index)
        rated = pd.Series(np.where(has, s_rated, out["rated"]), index=out.index)
        base = rated if rule.satisfaction_base == "rated" else counted + out["pending"]
        value = good / base
        measure[:] = np.where(has, "satisfaction_stars", "satisfaction_coarse")
    elif rule.rate_kind == "late_share":
        good = out["answered_late"] + out["unanswered"]
        value, base = good / counted, counted
        measure[:] = "late_share"
    else:  # blended
        per = out[["shop_id"]].merge(
            _recent_counts(judged, rule), left_on="shop_id", right_index=True, how="left"
        )
        w = rule.blend_weight
        recent = per["recent_in_time"].to_numpy() / per["recent_n"].to_numpy()
        value = w * (out["answered_in_time"] / counted) + (1.0 - w) * recent
        base = counted
        measure[:] = "blended_response_rate"
    own = base >= max(rule.min_chats, 1)
    value = pd.Series(value, index=out.index).where(own)
    if rule.default_rate is not None:
        value = value.where(own, rule.default_rate)
    out["rule_value"], out["rule_measure"] = value, measure
    if good is None:  # no interval: a blended rate, a response time
        low = high = pd.Series(np.nan, index=out.index)
    else:
        low, high = _wilson(good, base)
        low, high = low.where(own), high.where(own)
    frame = pd.DataFrame({"counted": base, "response_rate_low": low, "response_rate_high": high})
    conf = _confidence(frame, rule)
    if good is None:  # a measured shop's standing has no interval to be read from
        conf = conf.where(~own, np.nan)
    out["confidence"] = conf


def _meets_and_tier(value: pd.Series, rule: Rule) -> tuple[pd.Series, pd.Series]:
    """Whether a figure meets the target, and its tier (both None for no figure)."""
    t, side = rule.target, rule.target_comparison
    low_better = side == "at_most"
    meets = value <= t if low_better else (value > t if side == "more_than" else value >= t)
    tier = pd.Series(np.where(meets, "meets", "below_target"), index=value.index, dtype=object)
    for name, bound in (("warning", rule.warning_below), ("enforcement", rule.enforcement_below)):
        if bound is not None:
            tier = tier.mask(value > bound if low_better else value < bound, name)
    none = value.isna()
    return meets.astype(object).mask(none, None), tier.mask(none, np.nan)


#: the two-sided 95 % standard normal quantile, to 16 digits
Z_95 = 1.959963984540054


def _wilson(x: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The Wilson score interval of x / n (NaN where n is 0), written from its textbook
    form: (p + z²/2n ± z √(p(1 − p)/n + z²/4n²)) / (1 + z²/n)."""
    index = x.index
    x, n = x.to_numpy(dtype=float), n.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        z2 = Z_95 * Z_95
        scale = 1.0 + z2 / n
        centre = (p + z2 / (2.0 * n)) / scale
        half = Z_95 * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / scale
        low = np.where(x <= 0, 0.0, np.clip(np.minimum(centre - half, p), 0.0, 1.0))
        high = np.where(x >= n, 1.0, np.clip(np.maximum(centre + half, p), 0.0, 1.0))
    low, high = np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)
    return pd.Series(low, index=index), pd.Series(high, index=index)


def _confidence(out: pd.DataFrame, rule: Rule) -> pd.Series:
    """clear_pass / clear_fail / too_close_to_call from the interval against the target
    (on the rule's side of it), no_chats and too_few_chats from the counted chats."""
    low, high, t = out["response_rate_low"], out["response_rate_high"], rule.target
    if rule.target_comparison == "at_most":
        clear_pass, clear_fail = high <= t, low > t
    elif rule.target_comparison == "more_than":
        clear_pass, clear_fail = low > t, high <= t
    else:
        clear_pass, clear_fail = low >= t, high < t
    return pd.Series(
        np.select(
            [out["counted"] == 0, out["counted"] < rule.min_chats, clear_pass, clear_fail],
            ["no_chats", "too_few_chats", "clear_pass", "clear_fail"],
            "too_close_to_call",
        ),
        index=out.index,
    )


def pandas_compare(
    log: ChatLog | PandasLog,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    *,
    as_of: dt.datetime | None = None,
) -> pd.DataFrame:
    """The shop table of every rule, like ``chatsim.metrics.compare(log, rules).shops``.

    Columns: ``rule, shop_id``, the shop attributes, ``chats, counted, answered_in_time,
    answered_late, unanswered, pending, outside_period, excluded_<reason>`` for each
    reason, ``rated, satisfied, avg_response_hours, median_response_hours,
    response_rate, satisfaction_rate``, each rate's ``_low``/``_high`` bounds and
    ``confidence``. Chats are built once per chat definition
    (automatic-reply mode, valid replies, session bound), as chatsim does.
    """
    plog = to_pandas_log(log) if isinstance(log, ChatLog) else log
    msgs = plog.messages
    cutoff = msgs["sent_at"].max() if as_of is None else pd.Timestamp(as_of).tz_convert("UTC")
    msgs = msgs[msgs["sent_at"] <= cutoff]
    chats_by_key: dict[tuple, pd.DataFrame] = {}
    tables = []
    for rule in rules:
        key = rule.chat_key()
        if key not in chats_by_key:
            chats_by_key[key] = pandas_chats(
                msgs,
                auto_reply=rule.auto_reply,
                valid_replies_only=rule.valid_replies_only,
                session_hours=rule.session_hours,
                units=rule.counted_unit == "message",
            )
        judged = pandas_judge(chats_by_key[key], plog, rule, cutoff)
        tables.append(pandas_shop_table(judged, plog, rule))
    return pd.concat(tables, ignore_index=True)
