"""The finished tables: every rule's judged chats, then the chat and shop tables.

:func:`judged_chats` drives the stages for a list of rules (chats once per chat
definition, their features, then :func:`~chatsim.engine.judge.judge` per rule);
:func:`shop_frame` aggregates one rule's judged chats per shop (narwhals, every engine).
:func:`finish_chats` and :func:`finish_shops` turn a collected frame into the documented
table, so that every engine's results have the same columns, dtypes and order (the shop
table's rate intervals, :func:`wilson_interval`, and ``confidence``,
:func:`standing_confidence`, are made there, in polars, for every engine); timestamps
are compared as integer microseconds and every division by a constant divides each value
(:func:`divide_exactly`), so the engines agree to the bit.

Example:
    >>> judged = nw.from_native(pl.LazyFrame({"status": [0, 3], "excluded_reason": [None, 1],
    ...     "answered_by": [0, None], "rating": [None, 1]}))
    >>> with_labels(judged).to_native().collect().rows()
    [('answered_in_time', None, 'seller', None), ('pending', 'blocked', None, 'unsatisfied')]
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TypeVar

import narwhals as nw
import polars as pl

from chatsim.engine.backend import Backend
from chatsim.engine.codes import (
    ANSWERED_BY,
    ANSWERED_BY_NAMES,
    CONV,
    RATING,
    RATING_CODE,
    RATING_NAMES,
    REASON_CODE,
    REASON_DTYPE,
    STATUS_CODE,
    STATUS_DTYPE,
    STATUSES,
    TIMESTAMP_DTYPE,
    US_PER_HOUR,
    decode_shops,
)
from chatsim.engine.judge import judge, pause_intervals
from chatsim.engine.rates import (
    CONFIDENCE,
    INTERVAL_LEVEL,
    Z_95,
    figure_columns,
    rule_counts,
    standing_confidence,
    wilson_interval,
)
from chatsim.engine.statemachine import expression_chats, with_features
from chatsim.rules import EXCLUSIONS, Rule

__all__ = [
    "CHAT_COLUMNS",
    "CONFIDENCE",
    "INTERVAL_LEVEL",
    "SHOP_COUNTS",
    "SHOP_INPUTS",
    "chat_columns",
    "divide_exactly",
    "finish_chats",
    "finish_shops",
    "in_chat_order",
    "judged_chats",
    "shop_frame",
    "shop_rates",
    "shop_inputs",
    "standing_confidence",
    "wilson_interval",
    "with_labels",
    "Z_95",
]

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


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
    whole) or from :func:`chat_frame`'s expressions
    (:func:`~chatsim.engine.statemachine.expression_chats`).

    A generator: every chat definition is built first and the messages dropped; then
    one judged frame per rule, a definition's chats dropped after its last rule (so
    only what is still needed stays in memory when the consumer collects each judged
    frame before asking for the next).
    """
    keys = list(dict.fromkeys(rule.chat_key() for rule in rules))
    uses = Counter(rule.chat_key() for rule in rules)
    by_key: dict[tuple, nw.LazyFrame] = {}
    # merged holiday-mode intervals, for rules whose clock pauses in holiday mode
    pauses = None
    if has_holidays and any(rule.holiday_mode == "pause_clock" for rule in rules):
        pauses = be.materialize(pause_intervals(holiday_mode, be))

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
        by_key = expression_chats(messages, lookup, be, keys, featured)
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
                judge(by_key[key] if uses[key] else by_key.pop(key), be, rule, as_of, pauses),
                {"deadline": "_deadline_us"},
            ),
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
            *([pl.col("stars").cast(pl.Int8)] if "stars" in df.columns else []),
            pl.col("excluded_reason").cat.to(REASON_DTYPE),
            pl.col("deadline").cast(TIMESTAMP_DTYPE),
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
        *(pl.col(c).cast(TIMESTAMP_DTYPE) for c in ("open_at", "answer_at")),
        pl.col("answered_by").cat.to(ANSWERED_BY),
        *(pl.col(c).cast(TIMESTAMP_DTYPE) for c in ("first_auto_at", "last_buyer_at")),
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
        >>> values = pl.lit(pl.Series([16700363098, 1]))
        >>> pl.select(divide_exactly(values, 1e6)).to_series().to_list()
        [16700.363098, 1e-06]
    """
    return values.cast(pl.Float64).map_batches(
        lambda s: pl.Series(s.name, s.to_numpy() / divisor, nan_to_null=True),
        return_dtype=pl.Float64,
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


#: the judged chat columns :func:`shop_frame` reads (``_open_us``: a blended rate's most
#: recent chats); plus ``stars`` where the chats carry it (:func:`shop_inputs`)
SHOP_INPUTS = ("shop_id", "status", "excluded_reason", "rating", "_resp_us", "_open_us")


def shop_inputs(names: Sequence[str]) -> list[str]:
    """The columns :func:`shop_frame` reads from judged chats with columns ``names``:
    :data:`SHOP_INPUTS`, and ``stars`` when the log has it (a satisfaction rule reads it).

    Example:
        >>> shop_inputs(["shop_id", "stars"])[-1]
        'stars'
    """
    return [*SHOP_INPUTS, *(["stars"] if "stars" in names else [])]


def shop_frame(judged: nw.LazyFrame, shops: nw.LazyFrame, rule: Rule) -> nw.LazyFrame:
    """Per-shop counts and rates of one rule's judged chats (every shop of ``shops``;
    the chats need only the :func:`shop_inputs` columns); with the counts the rule's figure
    needs (:func:`~chatsim.engine.rates.rule_counts`), made by :func:`finish_shops`."""
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
    extra: list[str] = []
    if (figure := rule_counts(judged, rule)) is not None:
        extra = [c for c in figure.collect_schema().names() if c != "shop_id"]
        per_shop = per_shop.join(figure, on="shop_id", how="left")
    out = shops.join(per_shop, on="shop_id", how="left").with_columns(
        nw.col(c).fill_null(0) for c in (*SHOP_COUNTS, "rated", "satisfied", "_resp_n", *extra)
    )
    # average and median response hours are made from _resp_sum, _resp_n and
    # _resp_median by finish_shops (exact division, the same for every engine)
    return shop_rates(out, rule)


def shop_rates(counts: nw.LazyFrame, rule: Rule) -> nw.LazyFrame:
    """Per-shop counts (``counted``, ``answered_in_time``, ``rated``, ``satisfied``) with the
    rule's ``response_rate`` and the ``satisfaction_rate`` added: the rate step of
    :func:`shop_frame`, for counts made elsewhere (the daily tables).

    A shop is rated on its own chats from ``max(min_chats, 1)`` counted chats; with fewer it
    gets the rule's ``default_rate`` (when the rule's figure is this rate), or none.

    Example:
        >>> from chatsim.rules import NEW_12H
        >>> counts = nw.from_native(pl.LazyFrame({"counted": [4, 0], "answered_in_time": [3, 0],
        ...     "rated": [0, 2], "satisfied": [0, 1]}))
        >>> rates = shop_rates(counts, NEW_12H).to_native().collect()
        >>> rates.select("response_rate", "satisfaction_rate").rows()
        [(0.75, None), (None, 0.5)]
    """
    rate = nw.when(nw.col("counted") >= max(rule.min_chats, 1)).then(
        nw.col("answered_in_time") / nw.col("counted")
    )
    plain = rule.metric == "response_rate" and rule.rate_kind == "share"
    if rule.default_rate is not None and plain:
        rate = rate.otherwise(nw.lit(rule.default_rate, dtype=nw.Float64))
    # the rule's figure, meets_target, tier and confidence: finish_shops (engine.rates)
    return counts.with_columns(
        response_rate=rate,
        satisfaction_rate=nw.when(nw.col("rated") > 0).then(nw.col("satisfied") / nw.col("rated")),
    )


def finish_shops(
    df: pl.DataFrame, shops: pl.DataFrame, rule: Rule, shop_enum: pl.Enum | None = None
) -> pl.DataFrame:
    """A collected shop frame -> the documented shop table (columns, dtypes, order).

    Adds each rate's 95 % Wilson interval (``response_rate_low``/``_high``: only for a
    rate of the shop's own chats, not a rule's ``default_rate``; ``satisfaction_rate_low``/
    ``_high``), the rule's figure (``rule_value``, ``rule_measure``), whether it meets the
    target (``meets_target``, ``tier``) and the ``confidence`` of the shop's standing
    (:func:`~chatsim.engine.rates.figure_columns`). ``shops`` is the original shops table;
    ``shop_enum`` decodes integer shop codes.
    """
    aggs = [
        *SHOP_COUNTS,
        "avg_response_hours",
        "median_response_hours",
        "rated",
        "satisfied",
        *_RATES,
        "rule_measure",
        "rule_value",
        "meets_target",
        "tier",
        "confidence",
    ]
    has = pl.col("_resp_n") > 0
    # the intervals of both rates (the response rate's when it is the shop's own)
    measured = pl.col("counted") >= max(rule.min_chats, 1)
    r_low, r_high = wilson_interval(pl.col("answered_in_time"), pl.col("counted"))
    s_low, s_high = wilson_interval(pl.col("satisfied"), pl.col("rated"))
    df = df.with_columns(
        decode_shops(pl.col("shop_id"), shop_enum, shops.schema["shop_id"]),
        avg_response_hours=pl.when(has).then(
            divide_exactly(pl.col("_resp_sum").cast(pl.Float64) / pl.col("_resp_n"), US_PER_HOUR)
        ),
        median_response_hours=pl.when(has).then(
            divide_exactly(pl.col("_resp_median"), US_PER_HOUR)
        ),
        response_rate_low=pl.when(measured).then(r_low),
        response_rate_high=pl.when(measured).then(r_high),
        satisfaction_rate_low=s_low,
        satisfaction_rate_high=s_high,
    )
    df = df.with_columns(figure_columns(rule, df.columns))
    out = shops.join(df.select("shop_id", *aggs), on="shop_id", how="left").with_columns(
        *(pl.col(c).cast(pl.Int64) for c in (*SHOP_COUNTS, "rated", "satisfied")),
        *(
            pl.col(c).cast(pl.Float64)
            for c in ("avg_response_hours", "median_response_hours", *_RATES, "rule_value")
        ),
        pl.col("meets_target").cast(pl.Boolean),
        *(pl.col(c).cast(pl.String) for c in ("rule_measure", "tier", "confidence")),
        pl.lit(rule.name).alias("rule"),
        pl.lit(rule.window_hours).alias("window_hours"),
        pl.lit(rule.target).alias("target"),
    )
    first = ["rule", "shop_id"]
    return out.select(first + [c for c in out.columns if c not in first]).sort("shop_id")


#: each rate of the shop table and its interval's bounds
_RATES = tuple(
    f"{r}{b}" for r in ("response", "satisfaction") for b in ("_rate", "_rate_low", "_rate_high")
)
