"""Each rule's figure per shop, read against its target: the stage after the shop counts.

:func:`~chatsim.engine.finish.shop_frame` counts every shop's chats by status; a rule's
figure (:mod:`chatsim.rulekinds`) may need a little more, which :func:`rule_counts` adds
(narwhals, every engine): the most recent counted chats of a ``blended`` rate, and the
4-5 star ratings of a satisfaction rule on a log with ``stars``. :func:`figure_columns`
then makes, in polars for every engine (so the figures have the same bits), the shop
table's ``rule_value`` (the figure), ``rule_measure`` (what it is), ``meets_target``,
``tier`` and ``confidence``:

* ``share``: ``answered_in_time / counted`` (the ``response_rate`` column);
* ``blended``: ``w * answered_in_time / counted + (1 - w) * recent_in_time / recent``,
  ``recent`` being the shop's ``k = ceil(f * counted)`` most recently opened counted chats
  (with every chat opened at the same microsecond as the k-th: ties are all in);
* ``late_share``: ``(answered_late + unanswered) / counted``;
* ``average_response_time``: ``avg_response_hours`` or ``median_response_hours``;
* ``satisfaction_rate``: 4-5 star chats over the chats rated with stars, or over the
  chats received (counted and pending); a shop none of whose chats carries ``stars`` is
  read on the coarse ``rating`` (``satisfied`` over rated), and its ``rule_measure``
  says so (``satisfaction_coarse``).

Every figure needs ``max(min_chats, 1)`` chats of its base (counted chats; answered ones
for a response time; rated or received ones for satisfaction); below it the shop gets the
rule's ``default_rate``, or no figure.

Example:
    >>> from chatsim.rules import NEW_12H
    >>> late = NEW_12H.replace(name="late", rate_kind="late_share", target=0.2,
    ...                        target_comparison="at_most")
    >>> t = pl.DataFrame({"counted": [10, 0], "answered_in_time": [9, 0],
    ...     "answered_late": [1, 0], "unanswered": [0, 0], "response_rate": [0.9, None],
    ...     "response_rate_low": [0.6, None], "response_rate_high": [0.98, None]})
    >>> t.select(figure_columns(late, t.columns)).rows()
    [(0.1, 'late_share', True, 'meets', 'too_close_to_call'), (None, 'late_share', None, None, 'no_chats')]
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist

import narwhals as nw
import polars as pl

from chatsim.engine.codes import STATUS_CODE
from chatsim.rulekinds import lower_is_better, measure_of
from chatsim.rules import Rule

__all__ = [
    "CONFIDENCE",
    "INTERVAL_LEVEL",
    "RECENT_TOLERANCE",
    "Z_95",
    "figure_columns",
    "interval_of",
    "judged_figure",
    "rule_counts",
    "standing_confidence",
    "uses_recent",
    "uses_stars",
    "wilson_interval",
]

#: ``k = ceil(f * counted)`` is computed as "rank - 1 < f * counted - tolerance", so a
#: product such as 0.1 * 30 (3.0000000000000004 in floating point) reads as 3.
RECENT_TOLERANCE = 1e-9


def uses_recent(rule: Rule) -> bool:
    """Whether the rule's figure reads the most recent counted chats (a blended rate)."""
    return rule.metric == "response_rate" and rule.rate_kind == "blended"


def uses_stars(rule: Rule, names: Sequence[str]) -> bool:
    """Whether the rule reads 1-5 ``stars`` (a satisfaction rule, on chats that carry them)."""
    return rule.metric == "satisfaction_rate" and "stars" in names


def rule_counts(judged: nw.LazyFrame, rule: Rule) -> nw.LazyFrame | None:
    """Per shop, the counts the rule's figure needs beyond :func:`shop_frame`'s (None: none):
    ``_recent_n`` / ``_recent_in_time`` (blended rate), ``_stars_rated`` / ``_stars_good``
    (satisfaction on a log with ``stars``)."""
    s = nw.col("status")
    if uses_recent(rule):
        counted = judged.filter(s <= STATUS_CODE["unanswered"]).select(
            "shop_id", "_open_us", "status"
        )
        ranked = counted.with_columns(
            _r=nw.col("_open_us").rank("min", descending=True).over("shop_id"),
            _n=nw.col("_open_us").count().over("shop_id"),
        )
        share = nw.col("_n").cast(nw.Float64) * rule.recent_fraction - RECENT_TOLERANCE
        recent = (nw.col("_r") == 1) | ((nw.col("_r") - 1).cast(nw.Float64) < share)
        in_time = recent & (s == STATUS_CODE["answered_in_time"])
        return ranked.group_by("shop_id").agg(
            nw.when(recent).then(1).otherwise(0).sum().cast(nw.Int64).alias("_recent_n"),
            nw.when(in_time).then(1).otherwise(0).sum().cast(nw.Int64).alias("_recent_in_time"),
        )
    if uses_stars(rule, judged.collect_schema().names()):
        stars = nw.col("stars")
        scoped = judged.filter(s <= STATUS_CODE["pending"])
        return scoped.group_by("shop_id").agg(
            stars.count().cast(nw.Int64).alias("_stars_rated"),
            nw.when(stars >= 4).then(1).otherwise(0).sum().cast(nw.Int64).alias("_stars_good"),
        )
    return None


def _figure(rule: Rule, names: Sequence[str]) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    """The rule's figure, the count its minimum reads (its base) and, for a proportion,
    the count of successes (its interval's numerator; None: no interval)."""
    col = pl.col
    counted = col("counted")
    if rule.metric == "average_response_time":
        hours = col(f"{'avg' if rule.time_statistic == 'mean' else 'median'}_response_hours")
        return hours, col("_resp_n"), None
    if rule.metric == "satisfaction_rate":
        good, rated = col("satisfied"), col("rated")
        if "_stars_rated" in names:  # shop by shop: stars where its chats carry them
            stars = _has_stars(names)
            good = pl.when(stars).then(col("_stars_good")).otherwise(good)
            rated = pl.when(stars).then(col("_stars_rated")).otherwise(rated)
        base = rated if rule.satisfaction_base == "rated" else counted + col("pending")
        return good / base, base, good
    if rule.rate_kind == "late_share":
        late = col("answered_late") + col("unanswered")
        return late / counted, counted, late
    if rule.rate_kind == "blended":
        w = rule.blend_weight
        period = col("answered_in_time") / counted
        recent = col("_recent_in_time") / col("_recent_n")
        return w * period + (1.0 - w) * recent, counted, None
    return col("answered_in_time") / counted, counted, col("answered_in_time")


def _has_stars(names: Sequence[str]) -> pl.Expr:
    """Whether each shop's satisfaction reads stars: some of its chats carry them (else
    the coarse ``rating``, shop by shop, so buckets of whole shops agree)."""
    if "_stars_rated" not in names:
        return pl.lit(False)
    return pl.col("_stars_rated") > 0


def interval_of(rule: Rule, names: Sequence[str]) -> tuple[pl.Expr, pl.Expr] | None:
    """The 95 % Wilson interval of the rule's figure when it is a proportion of the shop's
    own chats (null under the minimum), else None (a blended rate, a response time)."""
    if rule.metric == "response_rate" and rule.rate_kind == "share":
        return pl.col("response_rate_low"), pl.col("response_rate_high")
    _, base, good = _figure(rule, names)
    if good is None:
        return None
    low, high = wilson_interval(good, base)
    own = base >= max(rule.min_chats, 1)
    return pl.when(own).then(low), pl.when(own).then(high)


def judged_figure(rule: Rule, value: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``meets_target`` and ``tier`` of a figure (null for no figure), on the rule's side
    of the target; the lower tiers are strict (strictly below their boundaries, or
    strictly above them when lower is better)."""
    t = rule.target
    side = rule.target_comparison
    meets = value <= t if side == "at_most" else (value > t if side == "more_than" else value >= t)
    low = lower_is_better(rule)

    def past(boundary: float) -> pl.Expr:
        return value > boundary if low else value < boundary

    tier = pl.when(meets).then(pl.lit("meets")).otherwise(pl.lit("below_target"))
    if rule.warning_below is not None:
        tier = pl.when(past(rule.warning_below)).then(pl.lit("warning")).otherwise(tier)
    if rule.enforcement_below is not None:
        tier = pl.when(past(rule.enforcement_below)).then(pl.lit("enforcement")).otherwise(tier)
    tier = pl.when(value.is_null()).then(pl.lit(None, dtype=pl.String)).otherwise(tier)
    return meets.alias("meets_target"), tier.alias("tier")


def figure_columns(rule: Rule, names: Sequence[str]) -> list[pl.Expr]:
    """``rule_value``, ``rule_measure``, ``meets_target``, ``tier`` and ``confidence`` of a
    shop frame with columns ``names`` (the shop counts, :func:`rule_counts`' counts, the
    response times and the response rate with its interval)."""
    value, base, _ = _figure(rule, names)
    if rule.metric == "response_rate" and rule.rate_kind == "share":
        value = pl.col("response_rate")  # the shop table's own column (default rate included)
    else:
        value = pl.when(base >= max(rule.min_chats, 1)).then(value)
        if rule.default_rate is not None:
            value = value.otherwise(pl.lit(rule.default_rate, dtype=pl.Float64))
    value = value.cast(pl.Float64)
    meets, tier = judged_figure(rule, value)
    interval = interval_of(rule, names)
    low, high = interval if interval is not None else (None, None)
    measure = pl.lit(measure_of(rule), dtype=pl.String)
    if rule.metric == "satisfaction_rate":
        stars, coarse = measure_of(rule, has_stars=True), measure_of(rule, has_stars=False)
        measure = pl.when(_has_stars(names)).then(pl.lit(stars)).otherwise(pl.lit(coarse))
    return [
        value.alias("rule_value"),
        measure.alias("rule_measure"),
        meets,
        tier,
        standing_confidence(rule, low=low, high=high, base=base),
    ]


#: How clearly a shop's standing is known (the shop table's ``confidence``): its rate's
#: interval wholly on the passing or the failing side of the target, or across it; or no
#: rate of its own (fewer counted chats than the rule's ``min_chats``, or none).
CONFIDENCE: tuple[str, ...] = (
    "clear_pass",
    "too_close_to_call",
    "clear_fail",
    "too_few_chats",
    "no_chats",
)
#: Coverage of the shop table's intervals.
INTERVAL_LEVEL = 0.95
#: The standard normal quantile of a two-sided :data:`INTERVAL_LEVEL` (1.96).
Z_95 = NormalDist().inv_cdf(0.5 + INTERVAL_LEVEL / 2)


def wilson_interval(
    successes: pl.Expr, trials: pl.Expr, z: float = Z_95
) -> tuple[pl.Expr, pl.Expr]:
    """The Wilson score interval of the proportion ``successes / trials`` (null when
    ``trials`` is 0), as two expressions (low, high).

    With ``p = x / n``: centre ``(p + z²/2n) / (1 + z²/n)``, half-width
    ``z √(p(1 − p)/n + z²/4n²) / (1 + z²/n)``. ``x = 0`` gives low 0 and ``x = n`` high 1
    exactly; the bounds are clipped to [0, 1] and to contain ``p`` (rounding only).
    Each value is computed on its own (no division by a constant), so every engine's
    table gets the same bits.

    Example:
        >>> lo, hi = wilson_interval(pl.col("x"), pl.col("n"))
        >>> t = pl.DataFrame({"x": [81, 0], "n": [263, 20]}).select(lo.alias("lo"), hi.alias("hi"))
        >>> [[round(v, 4) for v in row] for row in t.rows()]
        [[0.2553, 0.3662], [0.0, 0.1611]]
    """
    n = trials.cast(pl.Float64)
    x = successes.cast(pl.Float64)
    p = x / n
    z2 = z * z
    scale = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / scale
    half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / scale
    low = pl.when(x <= 0).then(0.0).otherwise(pl.min_horizontal(centre - half, p).clip(0.0, 1.0))
    high = pl.when(x >= n).then(1.0).otherwise(pl.max_horizontal(centre + half, p).clip(0.0, 1.0))
    has = trials > 0
    return pl.when(has).then(low), pl.when(has).then(high)


#: the response rate's interval and the counted chats: the default standing
_RATE_LOW, _RATE_HIGH, _COUNTED = (
    pl.col(c) for c in ("response_rate_low", "response_rate_high", "counted")
)


def standing_confidence(
    rule: Rule,
    *,
    low: pl.Expr | None = _RATE_LOW,
    high: pl.Expr | None = _RATE_HIGH,
    base: pl.Expr = _COUNTED,
) -> pl.Expr:
    """The ``confidence`` of each shop of a shop table (:data:`CONFIDENCE`): ``no_chats``
    when its figure's ``base`` (by default the ``counted`` chats) is 0, ``too_few_chats``
    under the rule's ``min_chats``, else from the interval ``low``/``high`` (by default
    ``response_rate_low``/``_high``) against the target, on the rule's side of it
    (``target_comparison``; ``at_most``: passing at or below it). With no interval
    (``low`` None: a blended rate, a response time) a measured shop's is null.

    Example:
        >>> from chatsim.rules import NEW_12H
        >>> t = pl.DataFrame({"counted": [0, 11, 400], "response_rate_low": [None, 0.52, 0.9],
        ...     "response_rate_high": [None, 0.95, 0.95]})
        >>> t.select(standing_confidence(NEW_12H))["confidence"].to_list()
        ['no_chats', 'too_close_to_call', 'clear_pass']
    """
    t = rule.target
    if low is None or high is None:
        judged: pl.Expr = pl.lit(None, dtype=pl.String)
    else:
        if rule.target_comparison == "at_most":
            clear_pass, clear_fail = high <= t, low > t
        elif rule.target_comparison == "more_than":
            clear_pass, clear_fail = low > t, high <= t
        else:
            clear_pass, clear_fail = low >= t, high < t
        judged = (
            pl.when(clear_pass)
            .then(pl.lit("clear_pass"))
            .when(clear_fail)
            .then(pl.lit("clear_fail"))
            .otherwise(pl.lit("too_close_to_call"))
        )
    return (
        pl.when(base <= 0)
        .then(pl.lit("no_chats"))
        .when(base < rule.min_chats)
        .then(pl.lit("too_few_chats"))
        .otherwise(judged)
        .alias("confidence")
    )
