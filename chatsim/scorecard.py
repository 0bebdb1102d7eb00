"""The Shop Health scorecard: per shop, the 12-hour response rate, the Average Response Time
and the Chat Satisfaction Rate side by side at one cutoff, each against its target, and
whether the shop would get the Store Rating boost.

The policy says Average Response Time and Chat Satisfaction Rate are coming to Shop Health
and will also boost the Store Rating; which combination earns the boost is not public, so
it is a setting (:data:`BOOSTS`):

* ``"meets_all"`` (default): every metric has a figure and meets its target;
* ``"lowest_decides"``: the metric the shop does worst on decides (its relative distance
  to the target, ``(figure - target) / target``, or ``(target - figure) / target`` for a
  maximum, is the lowest; metrics without a figure are left out; ties: the first rule);
  one market describes the Store Rating as weighing the lowest sub-metric most;
* a whole number ``n``: at least ``n`` metrics meet their targets.

A shop with no figure under any rule is not rated (``boost`` null). The built-in rules
(:data:`DEFAULT_RULES`) are ``new-12h``, ``avg-response-time`` (mean time to the first
human response, target within 2 hours: public advice) and ``chat-satisfaction`` (4-5 stars
over rated chats, target at least 80 %: an assumption); see docs/policy.md.

Example:
    >>> from chatsim.sample import sample_log
    >>> card = scorecard(sample_log())
    >>> card.select("shop_id", "metrics_met", "boost").rows()
    [('shop_a', 2, False), ('shop_b', 0, False), ('shop_c', 0, False), ('shop_d', 0, None)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from chatsim.errors import RuleError
from chatsim.metrics import Evaluation, check_rule_list, compare
from chatsim.rules import AVG_RESPONSE_TIME, CHAT_SATISFACTION, NEW_12H, Rule, resolve_rule

if TYPE_CHECKING:  # pragma: no cover
    from chatsim.explain.takeaways import Takeaway
    from chatsim.notebook import ReportContext
    from chatsim.schema import ChatLog

__all__ = [
    "BOOSTS",
    "DEFAULT_RULES",
    "SCORECARD_HEADERS",
    "SCORECARD_NAME",
    "boost_by_seller_type",
    "check_boost",
    "scorecard",
    "scorecard_takeaways",
    "show_scorecard",
]

#: The named Store Rating boost rules (a whole number is the third kind: a minimum count).
BOOSTS: tuple[str, ...] = ("meets_all", "lowest_decides")
#: The three Shop Health metrics the scorecard shows by default.
DEFAULT_RULES: tuple[Rule, ...] = (NEW_12H, AVG_RESPONSE_TIME, CHAT_SATISFACTION)
#: The name the scorecard's boost goes by in charts (its colour, like a rule's).
SCORECARD_NAME = "shop-health-scorecard"
_SEGMENTS = ("archetype", "segment", "country")


def check_boost(boost: str | int, n_rules: int) -> None:
    """A boost rule must be one of :data:`BOOSTS` or a whole number from 1 to ``n_rules``.

    Example:
        >>> check_boost(4, 3)
        Traceback (most recent call last):
        ...
        chatsim.errors.RuleError: scorecard boost: a minimum count of metrics must be a whole number from 1 to 3 (the metrics on the scorecard), got 4.
    """
    if isinstance(boost, bool) or not isinstance(boost, str | int):
        raise RuleError(
            f"scorecard boost: expected one of {list(BOOSTS)} or a count, got {boost!r}."
        )
    if isinstance(boost, int):
        if not 1 <= boost <= n_rules:
            raise RuleError(
                "scorecard boost: a minimum count of metrics must be a whole number from 1 to "
                f"{n_rules} (the metrics on the scorecard), got {boost}."
            )
    elif boost not in BOOSTS:
        raise RuleError(
            f"scorecard boost: {boost!r} is not one of {list(BOOSTS)} (or a minimum count of "
            "metrics, e.g. 2)."
        )


def _evaluation(
    source: Evaluation | ChatLog | str | Path,
    rules: list[Rule],
    as_of: dt.datetime | str | None,
    options: dict[str, Any],
) -> Evaluation:
    if not isinstance(source, Evaluation):
        if options.get("engine", "polars") == "polars":
            options = {"chats": False, **options}
        return compare(source, rules, as_of=as_of, **options)
    have = {r.name: r for r in source.rules}
    missing = [r.name for r in rules if have.get(r.name) != r]
    if missing:
        raise RuleError(
            f"scorecard: the evaluation has no rule {missing} as asked (it has "
            f"{list(have)}); evaluate them with compare(log, rules) or pass the log instead."
        )
    return source


def scorecard(
    log_or_evaluation: Evaluation | ChatLog | str | Path,
    rules: Sequence[Rule | str] = DEFAULT_RULES,
    boost: str | int = "meets_all",
    *,
    as_of: dt.datetime | str | None = None,
    **options: Any,
) -> pl.DataFrame:
    """Per shop, each rule's figure and whether it meets the target, side by side at one
    cutoff, and the Store Rating boost (see the module text for ``boost``).

    ``log_or_evaluation`` is a log (a :class:`ChatLog` or a path: evaluated here with
    :func:`~chatsim.metrics.compare`, ``as_of`` and ``options`` passed on) or an
    :class:`Evaluation` holding the rules. Columns: ``shop_id``, the seller-type columns
    the shops table has, then per rule ``<name>_value`` (its ``rule_value``: a rate, or
    hours for a response time) and ``<name>_meets``, then ``metrics_rated`` and
    ``metrics_met`` (counts), ``deciding_rule`` (the metric the shop does worst on, relative
    to its target) and ``boost``. Sorted by shop.

    Example:
        >>> from chatsim.sample import sample_log
        >>> scorecard(sample_log(), boost=1)["boost"].to_list()
        [True, False, False, None]
    """
    rules = check_rule_list([resolve_rule(r) for r in rules], "scorecard()")
    check_boost(boost, len(rules))
    ev = _evaluation(log_or_evaluation, rules, as_of, dict(options))
    shops = ev.shops
    keep = ["shop_id", *(c for c in _SEGMENTS if c in shops.columns)]
    card = shops.filter(pl.col("rule") == rules[0].name).select(keep).sort("shop_id")
    margins = []
    for rule in rules:
        one = shops.filter(pl.col("rule") == rule.name)
        value, t = pl.col("rule_value"), rule.target
        margin = (t - value) / t if rule.target_comparison == "at_most" else (value - t) / t
        one = one.select(
            "shop_id",
            value.alias(f"{rule.name}_value"),
            pl.col("meets_target").alias(f"{rule.name}_meets"),
            margin.alias(f"_margin_{len(margins)}"),
        )
        card = card.join(one, on="shop_id", how="left")
        margins.append(f"_margin_{len(margins)}")
    meets = [pl.col(f"{r.name}_meets") for r in rules]
    rated = pl.sum_horizontal(m.is_not_null().cast(pl.Int64) for m in meets)
    met = pl.sum_horizontal(m.fill_null(False).cast(pl.Int64) for m in meets)
    lowest = pl.min_horizontal(margins)
    deciding: pl.Expr = pl.lit(None, dtype=pl.String)
    decides: pl.Expr = pl.lit(None, dtype=pl.Boolean)
    for rule, m in reversed(list(zip(rules, margins, strict=True))):  # first rule wins ties
        hit = pl.col(m) == lowest
        deciding = pl.when(hit).then(pl.lit(rule.name)).otherwise(deciding)
        decides = pl.when(hit).then(pl.col(f"{rule.name}_meets")).otherwise(decides)
    card = card.with_columns(metrics_rated=rated, metrics_met=met, deciding_rule=deciding)
    if boost == "meets_all":
        verdict = pl.col("metrics_met") == len(rules)
    elif boost == "lowest_decides":
        verdict = decides
    else:
        verdict = pl.col("metrics_met") >= int(boost)
    verdict = pl.when(pl.col("metrics_rated") > 0).then(verdict)
    return card.with_columns(boost=verdict.cast(pl.Boolean)).drop(margins)


def boost_by_seller_type(
    card: pl.DataFrame, today: str = NEW_12H.name, by: str | None = None
) -> pl.DataFrame:
    """Who would gain (or lose) the Store Rating boost under the scorecard, by seller type.

    ``today`` is the rule that gives the boost today (``new-12h``): a shop has it today
    when it meets that rule. ``by`` is the seller-type column (default: the first of
    ``archetype``, ``segment``, ``country`` the card has; none: every shop as ``all``).
    One row per seller type: ``shops``, ``boosted_today``, ``boosted``, ``gain`` (boost
    under the scorecard, not today), ``lose`` (today, not under the scorecard), and the
    shares of the seller type's shops boosted today and under the scorecard. Sorted by
    seller type.

    Example:
        >>> from chatsim.sample import sample_log
        >>> boost_by_seller_type(scorecard(sample_log()))["gain"].to_list()
        [0, 0, 0]
    """
    col = f"{today}_meets"
    if col not in card.columns:
        raise RuleError(
            f"scorecard: no rule {today!r} on the card; its rules are "
            f"{[c.removesuffix('_meets') for c in card.columns if c.endswith('_meets')]}."
        )
    by = by or next((c for c in _SEGMENTS if c in card.columns), None)
    seg = pl.col(by).cast(pl.String).fill_null("—") if by else pl.lit("all")
    now, new = pl.col(col).fill_null(False), pl.col("boost").fill_null(False)
    out = (
        card.with_columns(seg.alias("seller_type"))
        .group_by("seller_type")
        .agg(
            pl.len().cast(pl.Int64).alias("shops"),
            now.sum().cast(pl.Int64).alias("boosted_today"),
            new.sum().cast(pl.Int64).alias("boosted"),
            (new & ~now).sum().cast(pl.Int64).alias("gain"),
            (now & ~new).sum().cast(pl.Int64).alias("lose"),
        )
        .sort("seller_type")
    )
    return out.with_columns(
        share_today=pl.col("boosted_today") / pl.col("shops"),
        share_boosted=pl.col("boosted") / pl.col("shops"),
    )


def scorecard_takeaways(frame: pl.DataFrame, boost: str | int = "meets_all") -> list[Takeaway]:
    """What a reader takes from :func:`boost_by_seller_type`'s frame (for
    :func:`~chatsim.notebook.show_takeaways`).

    Example:
        >>> f = pl.DataFrame({"seller_type": ["solo"], "shops": [10], "boosted_today": [6],
        ...     "boosted": [3], "gain": [1], "lose": [4]})
        >>> scorecard_takeaways(f)[0].text
        'With the coming metrics, 3 of 10 shops (30.0 %) would get the Store Rating boost (every metric meeting its target), against 6 (60.0 %) on the 12-hour response rate alone: 1 would gain it and 4 lose it.'
    """
    from chatsim.explain.labels import format_share, segment_label
    from chatsim.explain.takeaways import Takeaway

    how = {
        "meets_all": "every metric meeting its target",
        "lowest_decides": "the weakest metric deciding",
    }.get(str(boost), f"at least {boost} metrics meeting their targets")
    shops, today, new = (int(frame[c].sum()) for c in ("shops", "boosted_today", "boosted"))
    if shops == 0:
        return [Takeaway("scorecard_empty", "No shop to score.", ())]
    gain, lose = int(frame["gain"].sum()), int(frame["lose"].sum())
    now, later = format_share(today / shops), format_share(new / shops)
    out = [
        Takeaway(
            "scorecard_boost",
            f"With the coming metrics, {new:,} of {shops:,} shops ({later}) would get the "
            f"Store Rating boost ({how}), against {today:,} ({now}) on the 12-hour response "
            f"rate alone: {gain:,} would gain it and {lose:,} lose it.",
            (later, now),
        )
    ]
    if frame.height > 1:
        worst = frame.sort("lose", "seller_type", descending=[True, False]).row(0, named=True)
        if worst["lose"]:
            out.append(
                Takeaway(
                    "scorecard_losers",
                    f"{segment_label(worst['seller_type'])} lose the boost most often: "
                    f"{worst['lose']:,} of {worst['shops']:,} shops.",
                    (f"{worst['lose']:,}",),
                )
            )
    return out


#: The scorecard table's headers where the generic column label is ambiguous ("Boosted":
#: today or with the coming metrics?).
SCORECARD_HEADERS: dict[str, str] = {
    "Boosted today": "Boost today (12-hour rate alone)",
    "Boosted": "Boost with the coming metrics",
    "Gain": "Would gain it",
    "Lose": "Would lose it",
    "Share today": "Share with the boost today",
    "Share boosted": "Share with the boost, coming metrics",
}


def show_scorecard(ctx: ReportContext, boost: str | int = "meets_all") -> pl.DataFrame:
    """The report section: the scorecard at the run's cutoff on the report's log, with the
    rule that gives the boost today (the report's new rule when it is a response rate,
    else ``new-12h``) beside Average Response Time and Chat Satisfaction Rate; the takeaways,
    the chart of who would gain the boost by seller type, and the table. Returns the frame.

    Example:
        >>> from chatsim.notebook import load_context
        >>> from chatsim.sample import sample_log_path
        >>> ctx = load_context(log_path=str(sample_log_path()), rules=["legacy-24h", "new-12h"])
        >>> show_scorecard(ctx).height  # doctest: +SKIP
        1
    """
    from IPython.display import display

    from chatsim.charts.scorecard import boost_chart
    from chatsim.explain.labels import labelled
    from chatsim.notebook import show_table, show_takeaways

    new = ctx.evaluation.rule(ctx.new)
    today = new if new.metric == "response_rate" and new.rate_kind == "share" else NEW_12H
    rules = [today, AVG_RESPONSE_TIME, CHAT_SATISFACTION]
    card = scorecard(ctx.log, rules, boost, as_of=ctx.evaluation.as_of)
    frame = boost_by_seller_type(card, today=today.name, by=ctx.segment)
    show_takeaways(scorecard_takeaways(frame, boost))
    display(boost_chart(frame, today=today.name))
    show_table(
        labelled(frame, {"seller_type": "archetype"}, headers=True).rename(SCORECARD_HEADERS)
    )
    return frame
