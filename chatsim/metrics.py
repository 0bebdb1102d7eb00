"""Per-chat status and per-shop metrics under one or several rules.

:func:`compare` is the entry point: it groups the messages into chats once per
distinct chat definition (see :mod:`chatsim.chats`), then judges every chat under
every rule:

* **excluded** (first matching reason, in the order of
  :data:`chatsim.rules.EXCLUSIONS`): opened in holiday mode, from a buyer the shop
  blocked (at or before the data cutoff), seller-initiated, resolved by automatic
  reply. Each is counted by reason.
* **outside_period**: opened outside the rule's evaluation period.
* **answered_in_time**: answered at or before the deadline.
* **answered_late** / **unanswered**: the deadline passed before the data cutoff.
* **pending**: unanswered, and the deadline falls after the data cutoff
  (right-censored): left out of the rate's denominator and counted separately.

The shop table gives, per rule and shop, counted chats, exclusions by reason,
pending chats, the N-hour response rate (null over zero counted chats), mean and
median response time of answered counted chats, the satisfaction rate and whether
the shop meets the target (and its tier).

Example:
    >>> from chatsim.sample import sample_log
    >>> ev = compare(sample_log())
    >>> sorted(ev.shops["rule"].unique())
    ['legacy-24h', 'new-12h']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from chatsim.chats import build_chats
from chatsim.errors import RuleError
from chatsim.rules import EXCLUSIONS, LEGACY_24H, NEW_12H, Rule, schedule_minutes
from chatsim.schema import ChatLog

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
_UTC = pl.Datetime("us", "UTC")
_WEEK_S = 7 * 86400
_MONDAY_OFFSET_S = 3 * 86400  # 1970-01-01 was a Thursday


@dataclass
class Evaluation:
    """The result of :func:`compare`: chat and shop tables for every rule.

    Attributes:
        rules: the rules, in the order given.
        as_of: the data cutoff (UTC): deadlines after it make chats pending.
        chats: one row per chat and rule (``rule`` column first).
        shops: one row per shop and rule, with the shop's attribute columns.
        messages_used: messages at or before the cutoff.
        messages_after_cutoff: messages after ``as_of`` (not used, reported).
        dropped: rows a lenient read dropped, by reason.
    """

    rules: list[Rule]
    as_of: dt.datetime
    chats: pl.DataFrame
    shops: pl.DataFrame
    messages_used: int
    messages_after_cutoff: int
    dropped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> pl.DataFrame:
        """One row per rule: shops, chats by status, exclusions by reason, share passing.

        Example:
            >>> from chatsim.sample import sample_log
            >>> compare(sample_log()).summary().columns[:3]
            ['rule', 'window_hours', 'target']
        """
        rows = []
        for rule in self.rules:
            s = self.shops.filter(pl.col("rule") == rule.name)
            rated = s.filter(pl.col("response_rate").is_not_null())
            row = {
                "rule": rule.name,
                "window_hours": rule.window_hours,
                "target": rule.target,
                "shops": s.height,
                "shops_rated": rated.height,
                "shops_meeting_target": int(rated["meets_target"].sum()),
                "share_meeting_target": (rated["meets_target"].mean() if rated.height else None),
                "counted_chats": int(s["counted"].sum()),
                "answered_in_time": int(s["answered_in_time"].sum()),
                "pending": int(s["pending"].sum()),
                "outside_period": int(s["outside_period"].sum()),
            }
            for reason in EXCLUSIONS:
                row[f"excluded_{reason}"] = int(s[f"excluded_{reason}"].sum())
            c = row["counted_chats"]
            row["overall_rate"] = row["answered_in_time"] / c if c else None
            rows.append(row)
        return pl.DataFrame(rows)

    def exclusions(self) -> pl.DataFrame:
        """Chats excluded, by rule and reason (zeros included), plus pending and out-of-period.

        Example:
            >>> from chatsim.sample import sample_log
            >>> compare(sample_log()).exclusions().columns
            ['rule', 'reason', 'chats']
        """
        rows = []
        for rule in self.rules:
            s = self.shops.filter(pl.col("rule") == rule.name)
            for reason in EXCLUSIONS:
                rows.append(
                    {
                        "rule": rule.name,
                        "reason": reason,
                        "chats": int(s[f"excluded_{reason}"].sum()),
                    }
                )
            rows.append({"rule": rule.name, "reason": "pending", "chats": int(s["pending"].sum())})
            rows.append(
                {
                    "rule": rule.name,
                    "reason": "outside_period",
                    "chats": int(s["outside_period"].sum()),
                }
            )
        return pl.DataFrame(rows)

    def rule(self, name: str) -> Rule:
        """The rule called ``name``."""
        for r in self.rules:
            if r.name == name:
                return r
        raise RuleError(
            f"no rule named '{name}' in this evaluation; have {[r.name for r in self.rules]}."
        )


def local_time(ts: pl.Expr, zones: Sequence[str]) -> pl.Expr:
    """UTC timestamps -> naive local wall-clock time in each row's ``timezone`` column.

    ``zones`` lists the zones that occur (one conversion per zone, no per-row Python).

    Example:
        >>> import datetime as dt
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


def _from_local(naive: pl.Expr, zones: Sequence[str]) -> pl.Expr:
    """Naive local wall-clock time in each row's ``timezone`` -> UTC (earliest on DST overlaps)."""

    def one(z: str) -> pl.Expr:
        return naive.dt.replace_time_zone(
            z, ambiguous="earliest", non_existent="null"
        ).dt.convert_time_zone("UTC")

    if len(zones) == 1:
        return one(zones[0])
    return pl.coalesce(pl.when(pl.col("timezone") == z).then(one(z)) for z in zones)


def _business_seconds(local: pl.Expr, intervals: list[tuple[int, int]]) -> pl.Expr:
    """Working seconds from a fixed Monday 00:00 to a naive local time (monotone)."""
    x = local.dt.epoch("s") + _MONDAY_OFFSET_S
    week, sow = x // _WEEK_S, x % _WEEK_S
    per_week = sum(b - a for a, b in intervals) * 60
    within = pl.sum_horizontal((sow - a * 60).clip(0, (b - a) * 60) for a, b in intervals)
    return week * per_week + within


def _business_deadline(b_target: pl.Expr, intervals: list[tuple[int, int]]) -> pl.Expr:
    """Inverse of :func:`_business_seconds`: the local time at which the working seconds reach ``b_target``."""
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


def _merge_intervals(hol: pl.DataFrame) -> pl.DataFrame:
    """Merge overlapping holiday-mode intervals per shop."""
    if hol.height == 0:
        return hol
    h = hol.sort("shop_id", "start")
    prev_end = pl.col("end").cum_max().shift(1).over("shop_id", order_by="start")
    h = h.with_columns(
        (prev_end.is_null() | (pl.col("start") > prev_end)).cast(pl.Int64).cum_sum().alias("_grp")
    )
    return (
        h.group_by("shop_id", "_grp")
        .agg(pl.col("start").min(), pl.col("end").max())
        .drop("_grp")
        .sort("shop_id", "start")
    )


def _features(chats: pl.DataFrame, log: ChatLog, as_of: dt.datetime) -> pl.DataFrame:
    """Rule-independent facts of each chat: shop time zone, holiday mode, blocked buyer.

    Computed once per chat definition and shared by every rule judged on it; the row
    order of ``chats`` is kept.
    """
    c = chats.join(
        log.shops.select("shop_id", "timezone", "chatbot_enabled"),
        on="shop_id",
        how="left",
        maintain_order="left",
    )
    hol = _merge_intervals(log.holiday_mode)
    if hol.height:
        # only chats of shops with holiday intervals are matched against them
        idx = c.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"), "shop_id", "open_at")
        hits = (
            idx.join(hol, on="shop_id", how="inner")
            .filter((pl.col("open_at") >= pl.col("start")) & (pl.col("open_at") < pl.col("end")))
            .select("_row")
            .unique()
        )
        flag = pl.Series("_hol", [False] * c.height, dtype=pl.Boolean)
        if hits.height:
            flag = flag.scatter(hits["_row"], True)
        c = c.with_columns(flag)
    else:
        c = c.with_columns(pl.lit(False).alias("_hol"))
    blocked = (
        log.blocked.filter(pl.col("blocked_at") <= as_of).select("shop_id", "buyer_id").unique()
    )
    if blocked.height:
        c = c.join(
            blocked.with_columns(pl.lit(True).alias("_blk")),
            on=["shop_id", "buyer_id"],
            how="left",
            maintain_order="left",
        ).with_columns(pl.col("_blk").fill_null(False))
    else:
        c = c.with_columns(pl.lit(False).alias("_blk"))
    return c


def _judge(c: pl.DataFrame, log: ChatLog, rule: Rule, as_of: dt.datetime) -> pl.DataFrame:
    """Status, deadline and response time of each chat (with :func:`_features`) under one rule."""
    zones = sorted(log.shops["timezone"].unique().to_list())
    flags = {
        "holiday_mode": pl.col("_hol"),
        "blocked": pl.col("_blk"),
        "seller_initiated": pl.col("seller_initiated"),
        "auto_resolved": pl.col("auto_resolved"),
    }
    reason: pl.Expr | None = None
    for name in EXCLUSIONS:
        if name not in rule.exclusions:
            continue
        cond = flags[name]
        reason = (
            pl.when(cond).then(pl.lit(name))
            if reason is None
            else reason.when(cond).then(pl.lit(name))
        )
    reason_expr = (reason.otherwise(None) if reason is not None else pl.lit(None)).cast(
        REASON_DTYPE
    )

    # --- period ---------------------------------------------------------------------
    if rule.period_start is not None:
        p_start = dt.datetime.combine(rule.period_start, dt.time(), tzinfo=dt.UTC)
        p_end = dt.datetime.combine(rule.period_end, dt.time(), tzinfo=dt.UTC)  # type: ignore[arg-type]
        in_period = (pl.col("open_at") >= p_start) & (pl.col("open_at") < p_end)
    else:
        p_start = as_of - dt.timedelta(days=rule.period_days)
        in_period = (pl.col("open_at") > p_start) & (pl.col("open_at") <= as_of)

    # --- deadline and response time ----------------------------------------------------
    open_at = pl.col("open_at")
    if rule.clock == "business":
        iv = schedule_minutes(rule.business_schedule)
        b_open = _business_seconds(local_time(open_at, zones), iv)
        b_ans = _business_seconds(local_time(pl.col("answer_at"), zones), iv)
        deadline = _from_local(_business_deadline(b_open + rule.window_seconds, iv), zones)
        response = (b_ans - b_open).clip(lower_bound=0).cast(pl.Float64)
    else:
        deadline = open_at + pl.duration(seconds=rule.window_seconds)
        response = pl.col("response_s")
        if rule.chatbot_weekend_deadline:
            local_open = local_time(open_at, zones)
            wd = local_open.dt.weekday()  # Monday=1 .. Sunday=7
            monday_noon = local_open.dt.truncate("1d") + pl.duration(days=8 - wd, hours=12)
            weekend = pl.col("chatbot_enabled") & (wd >= 6)
            deadline = (
                pl.when(weekend)
                .then(pl.max_horizontal(deadline, _from_local(monday_noon, zones)))
                .otherwise(deadline)
            )
    c = c.with_columns(
        reason_expr.alias("excluded_reason"),
        in_period.alias("_in_period"),
        deadline.cast(_UTC).alias("deadline"),
        response.alias("response_s"),
    )
    answered = pl.col("answer_at").is_not_null()
    status = (
        pl.when(pl.col("excluded_reason").is_not_null())
        .then(pl.lit("excluded"))
        .when(pl.col("_in_period").not_())
        .then(pl.lit("outside_period"))
        .when(answered & (pl.col("answer_at") <= pl.col("deadline")))
        .then(pl.lit("answered_in_time"))
        .when(answered)
        .then(pl.lit("answered_late"))
        .when(pl.col("deadline") > as_of)
        .then(pl.lit("pending"))
        .otherwise(pl.lit("unanswered"))
        .cast(STATUS_DTYPE)
    )
    return c.with_columns(status.alias("status"), pl.lit(rule.name).alias("rule")).drop(
        "_hol", "_blk", "_in_period", "timezone", "chatbot_enabled"
    )


def _shop_table(judged: pl.DataFrame, log: ChatLog, rule: Rule) -> pl.DataFrame:
    s = pl.col("status")
    counted = s.is_in(["answered_in_time", "answered_late", "unanswered"])
    answered_counted = s.is_in(["answered_in_time", "answered_late"])
    agg = [
        pl.len().alias("chats"),
        counted.sum().alias("counted"),
        (s == "answered_in_time").sum().alias("answered_in_time"),
        (s == "answered_late").sum().alias("answered_late"),
        (s == "unanswered").sum().alias("unanswered"),
        (s == "pending").sum().alias("pending"),
        (s == "outside_period").sum().alias("outside_period"),
        *[
            (pl.col("excluded_reason") == r).fill_null(False).sum().alias(f"excluded_{r}")
            for r in EXCLUSIONS
        ],
        (pl.col("response_s").filter(answered_counted).mean() / 3600).alias("avg_response_hours"),
        (pl.col("response_s").filter(answered_counted).median() / 3600).alias(
            "median_response_hours"
        ),
        (pl.col("rating").is_not_null() & (counted | (s == "pending"))).sum().alias("rated"),
        ((pl.col("rating") == "satisfied") & (counted | (s == "pending"))).sum().alias("satisfied"),
    ]
    per_shop = judged.group_by("shop_id").agg(agg)
    count_cols = [
        c
        for c in per_shop.columns
        if c not in ("shop_id", "avg_response_hours", "median_response_hours")
    ]
    out = (
        log.shops.join(per_shop, on="shop_id", how="left")
        .with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in count_cols)
        .with_columns(
            pl.when(pl.col("counted") > 0)
            .then(pl.col("answered_in_time") / pl.col("counted"))
            .alias("response_rate"),
            pl.when(pl.col("rated") > 0)
            .then(pl.col("satisfied") / pl.col("rated"))
            .alias("satisfaction_rate"),
        )
    )
    rate = pl.col("response_rate")
    tier_expr = pl.when(rate.is_null()).then(None)
    if rule.enforcement_below is not None:
        tier_expr = tier_expr.when(rate < rule.enforcement_below).then(pl.lit("enforcement"))
    if rule.warning_below is not None:
        tier_expr = tier_expr.when(rate < rule.warning_below).then(pl.lit("warning"))
    tier_expr = (
        tier_expr.when(rate >= rule.target).then(pl.lit("meets")).otherwise(pl.lit("below_target"))
    )
    out = out.with_columns(
        (rate >= rule.target).alias("meets_target"),
        tier_expr.alias("tier"),
        pl.lit(rule.name).alias("rule"),
        pl.lit(rule.window_hours).alias("window_hours"),
        pl.lit(rule.target).alias("target"),
    )
    first = ["rule", "shop_id"]
    return out.select(first + [c for c in out.columns if c not in first]).sort("shop_id")


def _cutoff(log: ChatLog, as_of: dt.datetime | str | None) -> dt.datetime:
    if as_of is None:
        end = log.data_end
        if end is None:
            raise RuleError(
                f"{log.source}: the log has no messages, so there is no data cutoff; pass as_of."
            )
        return end
    if isinstance(as_of, str):
        try:
            as_of = dt.datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        except ValueError as exc:
            raise RuleError(f"as_of '{as_of}' is not an ISO-8601 timestamp.") from exc
    if as_of.tzinfo is None:
        raise RuleError(f"as_of {as_of} has no time zone; give e.g. '2025-09-14T00:00:00+00:00'.")
    return as_of.astimezone(dt.UTC)


def compare(
    log: ChatLog,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    *,
    as_of: dt.datetime | str | None = None,
) -> Evaluation:
    """Evaluate several rules on one log in one pass over its messages.

    Messages are sorted once; chats are built once per distinct chat definition
    (automatic-reply mode, valid-replies setting, session bound) and judged under
    each rule. ``as_of`` is the data cutoff (default: the latest message);
    messages after it are ignored and counted.

    Example:
        >>> from chatsim.sample import sample_log
        >>> ev = compare(sample_log(), [NEW_12H, NEW_12H.replace(name="new-24h", window_hours=24)])
        >>> ev.summary()["rule"].to_list()
        ['new-12h', 'new-24h']
    """
    rules = list(rules)
    if not rules:
        raise RuleError("compare() needs at least one rule.")
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise RuleError(f"rule names must be unique; got {names}.")
    cutoff = _cutoff(log, as_of)
    msgs = log.messages
    n_after = int((msgs["sent_at"] > cutoff).sum())
    if n_after:
        msgs = msgs.filter(pl.col("sent_at") <= cutoff)
    ordered = msgs.sort("conversation_id", "sent_at", "message_id")
    chats_by_key: dict[tuple, pl.DataFrame] = {}
    chat_frames, shop_frames = [], []
    for rule in rules:
        key = rule.chat_key()
        if key not in chats_by_key:
            chats_by_key[key] = _features(
                build_chats(
                    ordered,
                    auto_reply=rule.auto_reply,
                    valid_replies_only=rule.valid_replies_only,
                    session_hours=rule.session_hours,
                    presorted=True,
                ),
                log,
                cutoff,
            )
        judged = _judge(chats_by_key[key], log, rule, cutoff)
        chat_frames.append(judged)
        shop_frames.append(_shop_table(judged, log, rule))
    chats = pl.concat(chat_frames, how="vertical")
    chats = chats.select(["rule"] + [c for c in chats.columns if c != "rule"])
    return Evaluation(
        rules=rules,
        as_of=cutoff,
        chats=chats,
        shops=pl.concat(shop_frames, how="vertical_relaxed"),
        messages_used=msgs.height,
        messages_after_cutoff=n_after,
        dropped=dict(log.dropped.counts),
    )


def chat_table(
    log: ChatLog, rule: Rule = NEW_12H, *, as_of: dt.datetime | str | None = None
) -> pl.DataFrame:
    """One row per chat with its status under ``rule`` (see :func:`compare`)."""
    return compare(log, [rule], as_of=as_of).chats


def shop_table(
    log: ChatLog, rule: Rule = NEW_12H, *, as_of: dt.datetime | str | None = None
) -> pl.DataFrame:
    """One row per shop with its metrics under ``rule`` (see :func:`compare`)."""
    return compare(log, [rule], as_of=as_of).shops
