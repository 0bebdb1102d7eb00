"""Judging: each chat's deadline, response time and status under one rule.

:func:`judge` reads the chats of :func:`~chatsim.engine.statemachine.with_features` and
gives every chat its exclusion reason (the first that applies, as a code, for chats of
the evaluation period only: a chat outside it is ``outside_period`` whatever else
applies; ``public_holiday`` from the shop-local date and a small table of the shops'
countries' holidays), its deadline (calendar clock, the chatbot weekend deadline, the
daily cut-off cycle on the shop's wall clock, or the backend's business clock; with
``holiday_mode: pause_clock`` moved later by the holiday-mode time before it,
:func:`pause_intervals`) and its status (a position in
:data:`~chatsim.engine.codes.STATUSES`). With ``counted_unit: first_chat`` only each
conversation's first chat is judged. Narwhals expressions: every engine runs them.

Example:
    >>> import polars as pl
    >>> from chatsim.engine.polars import polars_backend
    >>> from chatsim.rules import NEW_12H
    >>> chat = nw.from_native(pl.LazyFrame({"_open_us": [0], "_answer_us": [3_600_000_000],
    ...     "_resp_us": [3_600_000_000], "_hol": False, "_blk": False, "seller_initiated": False,
    ...     "auto_resolved": False, "timezone": "UTC", "chatbot_enabled": False}))
    >>> as_of = dt.datetime(1970, 1, 2, tzinfo=dt.UTC)
    >>> judged = judge(chat, polars_backend(["UTC"]), NEW_12H, as_of).to_native().collect()
    >>> judged["status"].to_list(), judged["_deadline_us"].to_list()  # 0: answered_in_time
    ([0], [43200000000])
"""

from __future__ import annotations

import datetime as dt

import narwhals as nw

from chatsim.engine.backend import Backend
from chatsim.engine.codes import REASON_CODE, STATUS_CODE, epoch_us
from chatsim.rules import EXCLUSIONS, Rule

__all__ = ["judge", "pause_intervals"]


def pause_intervals(holiday_mode: nw.LazyFrame, be: Backend) -> nw.LazyFrame:
    """Each shop's holiday-mode intervals merged (overlapping or adjacent ones become one),
    as the paused clock reads them: ``shop_id``, ``_hs`` / ``_he`` (start, end; epoch
    microseconds), ``_hk`` (the running clock at the start: the start minus all earlier
    holiday time) and ``_hc`` (all holiday time up to the end)."""
    h = be.add_epoch_us(holiday_mode.select("shop_id", "start", "end"), {"_hs": "start"})
    h = be.add_epoch_us(h, {"_he": "end"}).select("shop_id", "_hs", "_he")
    order = ["_hs", "_he"]
    h = h.with_columns(_cm=nw.col("_he").cum_max().over("shop_id", order_by=order))
    h = h.with_columns(_pm=nw.col("_cm").shift(1).over("shop_id", order_by=order))
    new = nw.col("_pm").is_null() | (nw.col("_hs") > nw.col("_pm"))
    h = h.with_columns(_new=new.cast(nw.Int64))
    h = h.with_columns(_g=nw.col("_new").cum_sum().over("shop_id", order_by=order))
    merged = h.group_by("shop_id", "_g").agg(nw.col("_hs").min(), nw.col("_he").max())
    merged = merged.with_columns(_hl=nw.col("_he") - nw.col("_hs"))
    merged = merged.with_columns(_hc=nw.col("_hl").cum_sum().over("shop_id", order_by="_hs"))
    return merged.select(
        "shop_id", "_hs", "_he", (nw.col("_hs") - nw.col("_hc") + nw.col("_hl")).alias("_hk"), "_hc"
    )


def _paused(c: nw.LazyFrame, pauses: nw.LazyFrame, key: list[str]) -> nw.LazyFrame:
    """``c`` with ``_deadline_us`` and ``_resp_us`` on the clock that stops in holiday mode.

    The running clock at ``t`` is ``N(t) = t - (holiday time before t)``; the deadline is the
    latest instant at which the clock has run the rule's time from the opening (so a
    deadline reached as holiday mode starts moves to its end), and the response time is
    the clock's run from opening to answer.
    """
    open_us, ans_us = nw.col("_open_us"), nw.col("_answer_us")
    hs, he = nw.col("_hs"), nw.col("_he")
    chats = c.select(*key, "shop_id", "_open_us", "_answer_us", "_deadline_us")
    rows = chats.join(pauses, on="shop_id", how="inner")
    before_open = nw.min_horizontal(nw.max_horizontal(open_us - hs, nw.lit(0)), he - hs)
    in_answer = nw.max_horizontal(
        nw.min_horizontal(he, ans_us) - nw.max_horizontal(hs, open_us), nw.lit(0)
    )
    first = (
        rows.with_columns(_h_open=before_open, _h_answer=in_answer)
        .group_by(*key)
        .agg(nw.col("_h_open").sum(), nw.col("_h_answer").sum())
    )
    # the clock value the deadline must reach: N(open) + (deadline - open)
    target = chats.join(first, on=key, how="inner").select(
        *key, "shop_id", (nw.col("_deadline_us") - nw.col("_h_open")).alias("_y"), "_h_answer"
    )
    passed = (
        target.join(pauses, on="shop_id", how="inner")
        .filter(nw.col("_hk") <= nw.col("_y"))
        .group_by(*key)
        .agg(nw.col("_hc").max().alias("_h_deadline"))
    )
    moved = target.join(passed, on=key, how="left").select(
        *key,
        (nw.col("_y") + nw.col("_h_deadline").fill_null(0)).alias("_deadline_p"),
        "_h_answer",
    )
    out = c.join(moved, on=key, how="left")
    return (
        out.with_columns(
            _deadline_us=nw.when(nw.col("_deadline_p").is_null())
            .then(nw.col("_deadline_us"))
            .otherwise(nw.col("_deadline_p")),
            _resp_p=nw.col("_resp_us") - nw.col("_h_answer").fill_null(0),
        )
        .drop("_deadline_p", "_h_answer", "_resp_us")
        .rename({"_resp_p": "_resp_us"})
    )


def judge(
    c: nw.LazyFrame,
    be: Backend,
    rule: Rule,
    as_of: dt.datetime,
    pauses: nw.LazyFrame | None = None,
) -> nw.LazyFrame:
    """Status, deadline and response time of each chat (with :func:`with_features`).

    ``pauses`` (:func:`pause_intervals`) are the holiday-mode intervals a rule with
    ``holiday_mode: pause_clock`` reads (None: no shop was in holiday mode).
    """
    if rule.counted_unit == "first_chat":  # the later chats are no units
        c = c.filter(nw.col("chat_seq") == 1)
    helpers = ["_hol", "_blk", "_in_period", "timezone", "chatbot_enabled"]
    helpers += [h for h in ("country", "_no_reply") if h in c.columns]
    flags = {
        "holiday_mode": nw.col("_hol"),
        "blocked": nw.col("_blk"),
        "seller_initiated": nw.col("seller_initiated"),
        "auto_resolved": nw.col("auto_resolved"),
        "public_holiday": nw.col("_phol"),
        "no_response_needed": nw.col("_no_reply"),
    }
    if "public_holiday" in rule.exclusions:
        c = _public_holidays(_local_day(c, be, rule, "the public_holiday exclusion"), be, rule)
        helpers += ["_phol"]
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
    if rule.deadline == "daily_cutoff":
        c = _cutoff_deadline(c, be, rule)
        if rule.holiday_mode == "pause_clock" and pauses is not None:
            c = _paused(c, pauses, be.window.chat_order)
    elif rule.clock == "business":
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
        if rule.holiday_mode == "pause_clock" and pauses is not None:
            c = _paused(c, pauses, be.window.chat_order)
    # the period first: exclusions are reasons of the period's chats only
    c = c.with_columns(_in_period=in_period)
    c = c.with_columns(excluded_reason=nw.when(nw.col("_in_period")).then(reason))
    answer_us, deadline = nw.col("_answer_us"), nw.col("_deadline_us")
    answered = ~answer_us.is_null()

    def st(name: str) -> nw.Expr:
        return nw.lit(STATUS_CODE[name], dtype=nw.Int8)

    status = (
        nw.when(~nw.col("_in_period"))
        .then(st("outside_period"))
        .otherwise(
            nw.when(~nw.col("excluded_reason").is_null())
            .then(st("excluded"))
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
    helpers += [h for h in ("_lday", "_ltod") if h in c.columns]
    return c.with_columns(status=status, rule=nw.lit(rule.name)).drop(*helpers)


_US_DAY = 86_400_000_000
_US_MINUTE = 60_000_000


def _local_day(
    c: nw.LazyFrame, be: Backend, rule: Rule, feature: str, *, back: bool = False
) -> nw.LazyFrame:
    """``c`` with the shop-local date and time of day of each unit (``_lday``, ``_ltod``);
    ``back``: the feature also turns a local time back into UTC."""
    if be.add_local_day is None or (back and be.add_utc_of_local is None):
        from chatsim.errors import EngineError

        raise EngineError(
            f"rule '{rule.name}': {feature} is not supported on the {be.name} engine; use the "
            "polars engine (chatsim metrics --engine polars, or the buckets engine)."
        )
    return c if "_lday" in c.columns else be.add_local_day(c)


def _public_holidays(c: nw.LazyFrame, be: Backend, rule: Rule) -> nw.LazyFrame:
    """``c`` with ``_phol``: the unit was received on a public holiday of its shop's
    ``country`` (shop-local date; the ``holidays`` package; no country: none)."""
    if "country" not in c.columns:  # (the engine's run warned about it)
        return c.with_columns(_phol=nw.lit(False))
    from chatsim.schema.extras import holiday_dates

    facts = (
        c.select(nw.col("_lday").min().alias("lo"), nw.col("_lday").max().alias("hi"))
        .collect("polars")
        .to_native()
    )
    countries = c.select("country").unique().collect("polars").to_native()["country"].drop_nulls()
    lo, hi = facts["lo"][0], facts["hi"][0]
    epoch = dt.date(1970, 1, 1)
    if lo is None or countries.is_empty():
        return c.with_columns(_phol=nw.lit(False))
    days = holiday_dates(
        countries.cast(str).to_list(), epoch + dt.timedelta(lo), epoch + dt.timedelta(hi)
    )
    if days.is_empty():
        return c.with_columns(_phol=nw.lit(False))
    return be.flag_rows(c, ["country", "_lday"], be.from_polars(days), "_phol")


def _cutoff_deadline(c: nw.LazyFrame, be: Backend, rule: Rule) -> nw.LazyFrame:
    """``c`` with ``_deadline_us`` of the daily cut-off cycle: a unit received before the
    cut-off on local day d is due at the due time of day d + ``due_day_offset``; at or
    after the cut-off, one day later (shop-local wall clock, then UTC)."""
    from chatsim.ruleunits import clock_minutes

    c = _local_day(c, be, rule, "the daily_cutoff deadline", back=True)
    cut = clock_minutes(rule.cutoff_time, "cutoff_time") * _US_MINUTE
    due = clock_minutes(rule.due_time, "due_time") * _US_MINUTE
    late = (nw.col("_ltod") >= cut).cast(nw.Int64)
    day = nw.col("_lday") + late + rule.due_day_offset
    c = c.with_columns(_due_local=day * _US_DAY + due)
    assert be.add_utc_of_local is not None  # checked by _local_day
    return be.add_utc_of_local(c, {"_deadline_us": "_due_local"}).drop("_due_local")
