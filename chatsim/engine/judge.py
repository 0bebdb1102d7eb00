"""Judging: each chat's deadline, response time and status under one rule.

:func:`judge` reads the chats of :func:`~chatsim.engine.statemachine.with_features` and
gives every chat its exclusion reason (the first that applies, as a code), whether it
opened inside the evaluation period, its deadline (calendar clock, the chatbot weekend
deadline, or the backend's business clock) and its status (a position in
:data:`~chatsim.engine.codes.STATUSES`). Narwhals expressions: every engine runs them.

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

__all__ = ["judge"]


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
