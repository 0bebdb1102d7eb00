"""Rule-comparison analysis: flips, segment pass rates, target/window sweeps, what-ifs
(:mod:`chatsim.whatif`, re-exported here).

Everything here takes an :class:`~chatsim.metrics.Evaluation` (or a log) and returns
small polars DataFrames that notebooks chart directly (:mod:`chatsim.charts`). The
rule evaluation itself is :func:`chatsim.metrics.compare`.

Flip categories, for a shop rated under both rules:

* ``passes_both``; ``loses_under_new`` (met the old rule, misses the new one);
  ``gains_under_new``; ``fails_both``; ``not_rated`` (no counted chats under a rule).

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> f = flips(compare(sample_log()))
    >>> sorted(f["flip"].unique().to_list())
    ['fails_both', 'not_rated', 'passes_both']
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from chatsim.errors import RuleError
from chatsim.metrics import Evaluation, compare
from chatsim.rulekinds import figure_is_share, lower_is_better
from chatsim.rules import NEW_12H, Rule
from chatsim.schema import ChatLog
from chatsim.whatif import WhatIfPlan, what_if, what_if_plan

__all__ = [
    "FLIPS",
    "FLIP_DTYPE",
    "WhatIfPlan",
    "flip_counts",
    "flips",
    "losers_table",
    "pass_rates",
    "passing_shares",
    "pick_drilldown_shop",
    "summary_table",
    "sweep",
    "sweep_base",
    "timed_rule",
    "top_losers",
    "what_if",
    "what_if_plan",
    "window_rates",
    "window_rates_of",
    "window_rules",
]

FLIPS: tuple[str, ...] = (
    "passes_both",
    "loses_under_new",
    "gains_under_new",
    "fails_both",
    "not_rated",
)
FLIP_DTYPE = pl.Enum(list(FLIPS))


def _segment_cols(ev: Evaluation) -> list[str]:
    core = {"rule", "shop_id", "timezone", "chatbot_enabled", "window_hours", "target"}
    first_rule = ev.shops.filter(pl.col("rule") == ev.rules[0].name)
    return [
        c
        for c, t in first_rule.schema.items()
        if c not in core
        and t in (pl.String, pl.Categorical)
        and c not in ("tier", "confidence", "rule_measure")
    ]


def _same_scale(a: Rule, b: Rule) -> bool:
    """Whether two rules' figures can be subtracted: both shares or both hours, and
    higher better under both (a response rate and a late share read opposite ways)."""
    return figure_is_share(a) == figure_is_share(b) and lower_is_better(a) == lower_is_better(b)


def flips(ev: Evaluation, old: str | None = None, new: str | None = None) -> pl.DataFrame:
    """Per shop: each rule's figure and pass/fail under the old and the new rule, and the
    flip category.

    ``old``/``new`` default to the first and second rule of the evaluation. ``rate_old``
    and ``rate_new`` are the shop table's ``rule_value`` under each rule: the figure the
    rule judges (the response rate for a plain rate rule; a late share, a satisfaction
    rate, or hours for a response-time rule). ``rate_delta`` is ``rate_new - rate_old``
    when both figures are on the same scale (both shares or both hours, higher better
    under both), else null. Segment columns of the shops table (e.g. ``archetype``) are
    kept. ``confidence_old`` and
    ``confidence_new`` are the shop table's ``confidence`` under each rule;
    ``within_noise`` is true when both are ``too_close_to_call`` (each rate's 95 % interval
    holds its rule's target: with so few counted chats, the flip may be noise).

    Example:
        >>> from chatsim.sample import sample_log
        >>> f = flips(compare(sample_log()))
        >>> f.select("shop_id", "flip", "within_noise").rows()[0]
        ('shop_a', 'passes_both', True)
    """
    if len(ev.rules) < 2 and (old is None or new is None):
        raise RuleError("flips() needs two rules: evaluate at least an old and a new rule.")
    old = old or ev.rules[0].name
    new = new or ev.rules[1].name
    same_scale = _same_scale(ev.rule(old), ev.rule(new))  # validates the names too
    seg = _segment_cols(ev)
    base = ev.shops.filter(pl.col("rule") == old).select(
        "shop_id",
        *seg,
        pl.col("rule_value").alias("rate_old"),
        pl.col("meets_target").alias("pass_old"),
        pl.col("counted").alias("counted_old"),
        pl.col("confidence").alias("confidence_old"),
    )
    nxt = ev.shops.filter(pl.col("rule") == new).select(
        "shop_id",
        pl.col("rule_value").alias("rate_new"),
        pl.col("meets_target").alias("pass_new"),
        pl.col("counted").alias("counted_new"),
        pl.col("confidence").alias("confidence_new"),
    )
    f = base.join(nxt, on="shop_id", how="full", coalesce=True)
    po, pn = pl.col("pass_old"), pl.col("pass_new")
    flip = (
        pl.when(po.is_null() | pn.is_null())
        .then(pl.lit("not_rated"))
        .when(po & pn)
        .then(pl.lit("passes_both"))
        .when(po & pn.not_())
        .then(pl.lit("loses_under_new"))
        .when(po.not_() & pn)
        .then(pl.lit("gains_under_new"))
        .otherwise(pl.lit("fails_both"))
        .cast(FLIP_DTYPE)
    )
    close = "too_close_to_call"
    return f.with_columns(
        flip.alias("flip"),
        ((pl.col("confidence_old") == close) & (pl.col("confidence_new") == close))
        .fill_null(False)
        .alias("within_noise"),
        (pl.col("rate_new") - pl.col("rate_old") if same_scale else pl.lit(None, pl.Float64)).alias(
            "rate_delta"
        ),
        pl.lit(old).alias("old_rule"),
        pl.lit(new).alias("new_rule"),
    ).sort("shop_id")


def flip_counts(f: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
    """Shops per flip category (and per segment ``by``), with shares; all categories present
    (and, from :func:`flips`, how many of them are ``within_noise``).

    Example:
        >>> flip_counts(pl.DataFrame({"flip": ["passes_both"]}, schema={"flip": FLIP_DTYPE}))["shops"].to_list()
        [1, 0, 0, 0, 0]
    """
    keys = [by] if by else []
    cats = pl.DataFrame({"flip": list(FLIPS)}, schema={"flip": FLIP_DTYPE})
    if by:
        cats = f.select(by).unique().join(cats, how="cross")
    noise = [pl.col("within_noise").sum().alias("within_noise")] if "within_noise" in f else []
    counts = f.group_by(keys + ["flip"]).agg(pl.len().alias("shops"), *noise)
    out = cats.join(counts, on=keys + ["flip"], how="left").with_columns(
        pl.col(c).fill_null(0).cast(pl.Int64)
        for c in ("shops", *(["within_noise"] if noise else []))
    )
    total = pl.col("shops").sum().over(by) if by else pl.col("shops").sum()
    out = out.with_columns((pl.col("shops") / total).fill_nan(None).alias("share"))
    return out.sort(keys + ["flip"])


def pass_rates(ev: Evaluation, by: str | None = None) -> pl.DataFrame:
    """Share of rated shops meeting each rule's target, per rule (and segment ``by``).

    A shop is rated under a rule when it has the rule's figure (``rule_value``: for a plain
    response rate, a shop with counted chats); ``median_rate`` is the median figure (a
    share, or hours for a response-time rule).

    Example:
        >>> from chatsim.sample import sample_log
        >>> pass_rates(compare(sample_log()))["shops_rated"].to_list()
        [3, 3]
    """
    keys = ["rule"] + ([by] if by else [])
    if by and by not in ev.shops.columns:
        raise RuleError(f"no segment column '{by}' in the shops table; have {ev.shops.columns}.")
    order = {r.name: i for i, r in enumerate(ev.rules)}
    return (
        ev.shops.filter(pl.col("rule_value").is_not_null())
        .group_by(keys)
        .agg(
            pl.len().alias("shops_rated"),
            pl.col("meets_target").sum().alias("shops_passing"),
            pl.col("rule_value").median().alias("median_rate"),
        )
        .with_columns(
            (pl.col("shops_passing") / pl.col("shops_rated")).alias("share_passing"),
            pl.col("rule").replace_strict(order, return_dtype=pl.Int32).alias("_o"),
        )
        .sort(["_o"] + keys[1:])
        .drop("_o")
    )


def summary_table(ev: Evaluation) -> pl.DataFrame:
    """:meth:`Evaluation.summary` as a report shows it: ``target`` as text with its side
    and unit (``"more than 85 %"``, ``"at most 2 h"``), so a response-time target in hours
    never reads as a share.

    Example:
        >>> from chatsim.sample import sample_log
        >>> summary_table(compare(sample_log()))["target"].to_list()
        ['at least 90 %', 'more than 85 %']
    """
    from chatsim.explain.rulefigures import target_text

    texts = {r.name: target_text(r) for r in ev.rules}
    return ev.summary().with_columns(
        pl.col("rule").replace_strict(texts, return_dtype=pl.String).alias("target")
    )


def losers_table(f: pl.DataFrame, ev: Evaluation, segment: str | None = None) -> pl.DataFrame:
    """The shops of :func:`flips` that lose status under the new rule, largest drop first:
    each rule's figure (``rate_old``/``rate_new``, or ``hours_old``/``hours_new`` for a
    response-time rule, so a table shows hours as hours), the change, the confidences.

    Example:
        >>> from chatsim.sample import sample_log
        >>> ev = compare(sample_log())
        >>> losers_table(flips(ev), ev).columns[:3]
        ['shop_id', 'rate_old', 'rate_new']
    """
    old, new = ev.rules[0], ev.rules[-1]
    if f.height:
        old, new = ev.rule(str(f["old_rule"][0])), ev.rule(str(f["new_rule"][0]))
    names = {
        "rate_old": "rate_old" if figure_is_share(old) else "hours_old",
        "rate_new": "rate_new" if figure_is_share(new) else "hours_new",
    }
    return (
        f.filter(pl.col("flip") == "loses_under_new")
        .sort("rate_delta", "shop_id", nulls_last=True)
        .select(
            "shop_id",
            *([segment] if segment else []),
            "rate_old",
            "rate_new",
            "rate_delta",
            "confidence_old",
            "confidence_new",
            "within_noise",
        )
        .rename(names)
    )


def sweep_base(rules: Sequence[Rule]) -> Rule:
    """The rule a target and window sweep varies: the last plain response-rate rule of
    ``rules`` (a sweep's targets are shares of chats answered in time), else ``new-12h``.

    Example:
        >>> from chatsim.rules import AVG_RESPONSE_TIME, LEGACY_24H
        >>> sweep_base([LEGACY_24H, AVG_RESPONSE_TIME]).name
        'legacy-24h'
    """
    plain = [r for r in rules if r.metric == "response_rate" and r.rate_kind == "share"]
    return plain[-1] if plain else NEW_12H


def timed_rule(ev: Evaluation) -> str:
    """The last rule that judges chats against a deadline (a response rate of any kind),
    else the last rule: whose late and unanswered chats a report charts.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.rules import AVG_RESPONSE_TIME, NEW_12H
        >>> timed_rule(compare(sample_log(), [NEW_12H, AVG_RESPONSE_TIME]))
        'new-12h'
    """
    timed = [r.name for r in ev.rules if r.metric == "response_rate"]
    return timed[-1] if timed else ev.rules[-1].name


def window_rates(
    log: ChatLog,
    windows_hours: Sequence[float],
    *,
    base: Rule = NEW_12H,
    as_of: str | None = None,
) -> pl.DataFrame:
    """Each rated shop's response rate under ``base`` with each window (one
    :func:`~chatsim.metrics.compare` call, ``chats=False``), segment columns kept.

    Example:
        >>> from chatsim.sample import sample_log
        >>> window_rates(sample_log(), [12, 24])["window_hours"].unique().sort().to_list()
        [12.0, 24.0]
    """
    rules = window_rules(windows_hours, base)
    return window_rates_of(compare(log, rules, as_of=as_of, chats=False), rules)


def window_rules(windows_hours: Sequence[float], base: Rule = NEW_12H) -> list[Rule]:
    """``base`` with each window, named ``<base>@<window>h``: the rules of a sweep.

    Example:
        >>> [r.name for r in window_rules([6, 12.5])]
        ['new-12h@6h', 'new-12h@12.5h']
    """
    if not windows_hours:
        raise RuleError("sweep() needs at least one target and one window.")
    return [base.replace(name=f"{base.name}@{w:g}h", window_hours=float(w)) for w in windows_hours]


def window_rates_of(ev: Evaluation, rules: Sequence[Rule]) -> pl.DataFrame:
    """:func:`window_rates` from an evaluation that holds the :func:`window_rules`
    ``rules`` (among others).

    Example:
        >>> from chatsim.sample import sample_log
        >>> rules = window_rules([12, 24])
        >>> window_rates_of(compare(sample_log(), rules), rules).height
        6
    """
    names = [r.name for r in rules]
    keep = ["window_hours", "shop_id", *_segment_cols(ev), "response_rate"]
    return (
        ev.shops.filter(pl.col("rule").is_in(names) & pl.col("response_rate").is_not_null())
        .select(keep)
        .sort("window_hours", "shop_id")
    )


def passing_shares(
    rates: pl.DataFrame,
    targets: Sequence[float],
    *,
    by: str | None = None,
    comparison: str = "at_least",
) -> pl.DataFrame:
    """Share of shops passing each target per window (and segment ``by``), from
    :func:`window_rates`: targets are applied to the shop rates without recomputing.
    ``comparison`` is the rule's ``target_comparison`` (``at_least``: rate >= target;
    ``more_than``: rate > target).

    Example:
        >>> r = pl.DataFrame({"window_hours": [12.0, 12.0], "response_rate": [0.8, 0.95]})
        >>> passing_shares(r, [0.9])["share_passing"].to_list()
        [0.5]
    """
    if not targets:
        raise RuleError("sweep() needs at least one target and one window.")
    for t in targets:
        if not 0 < t <= 1:
            raise RuleError(f"sweep target {t!r} must be in (0, 1] (write 85 % as 0.85).")
    keys = [by] if by else []
    grid = pl.DataFrame({"target": [float(t) for t in targets]})
    rate, target = pl.col("response_rate"), pl.col("target")
    passes = rate > target if comparison == "more_than" else rate >= target
    return (
        rates.select("window_hours", *keys, "response_rate")
        .join(grid, how="cross")
        .group_by(["window_hours", *keys, "target"])
        .agg(
            pl.len().alias("shops_rated"),
            passes.sum().alias("shops_passing"),
        )
        .with_columns((pl.col("shops_passing") / pl.col("shops_rated")).alias("share_passing"))
        .sort(["window_hours", *keys, "target"])
    )


def sweep(
    log: ChatLog,
    targets: Sequence[float],
    windows_hours: Sequence[float],
    *,
    base: Rule = NEW_12H,
    as_of: str | None = None,
    by: str | None = None,
) -> pl.DataFrame:
    """Share of shops passing for every (window, target) pair, derived from ``base``.

    All windows are evaluated in one :func:`~chatsim.metrics.compare` call (the chats are
    built once, :func:`window_rates`); targets are then applied to the shop rates without
    recomputing (:func:`passing_shares`).

    Example:
        >>> from chatsim.sample import sample_log
        >>> s = sweep(sample_log(), [0.8, 0.9], [12, 24])
        >>> s.select("window_hours", "target").rows()
        [(12.0, 0.8), (12.0, 0.9), (24.0, 0.8), (24.0, 0.9)]
    """
    if not targets or not windows_hours:
        raise RuleError("sweep() needs at least one target and one window.")
    for t in targets:
        if not 0 < t <= 1:
            raise RuleError(f"sweep target {t!r} must be in (0, 1] (write 85 % as 0.85).")
    rates = window_rates(log, windows_hours, base=base, as_of=as_of)
    return passing_shares(rates, targets, by=by, comparison=base.target_comparison)


def top_losers(ev: Evaluation, n: int = 3) -> list[str]:
    """The ``n`` shops that lose status under the new rule with the largest rate drop
    (ties by shop id; when the two figures are not on one scale, by shop id).

    Example:
        >>> from chatsim.sample import sample_log
        >>> top_losers(compare(sample_log()))
        []
    """
    if len(ev.rules) < 2:
        return []
    f = flips(ev, ev.rules[0].name, ev.rules[-1].name)
    losers = f.filter(pl.col("flip") == "loses_under_new").sort(
        "rate_delta", "shop_id", nulls_last=True
    )
    return [str(x) for x in losers["shop_id"].head(n).to_list()]


def pick_drilldown_shop(ev: Evaluation, shop_id: str | None = None) -> str:
    """The shop to drill into: ``shop_id`` if given (validated), else the shop that loses
    status under the new rule with the largest rate drop, else the lowest-rated shop.

    Example:
        >>> from chatsim.sample import sample_log
        >>> pick_drilldown_shop(compare(sample_log()))
        'shop_b'
    """
    shops = ev.shops["shop_id"].unique()
    if shop_id is not None:
        if shop_id not in shops.to_list():
            raise RuleError(
                f"drilldown shop '{shop_id}' is not in the log; e.g. {shops.sort().head(5).to_list()}."
            )
        return shop_id
    losers = top_losers(ev, 1)
    if losers:
        return losers[0]
    new = ev.shops.filter(
        (pl.col("rule") == ev.rules[-1].name) & pl.col("response_rate").is_not_null()
    )
    if new.height == 0:
        return str(shops.sort()[0])
    return str(new.sort("response_rate", "shop_id")["shop_id"][0])
