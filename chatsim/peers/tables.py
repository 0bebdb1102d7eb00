"""The peers page's tables: the same shops under several rules, compared rule by rule.

One :class:`~chatsim.metrics.Evaluation` of the same log under the report's rules and the
peer rules (:func:`compare_peers`) gives small polars tables: who passes each rule
(:func:`pass_shares`, with ranges), where two rules disagree (:func:`disagreement`,
:func:`split_shops`), which seller types each favours (:func:`favours`) and how far the new
rule sits from each (:func:`distance_from_new`). A shop is *rated* under a rule when its
``meets_target`` is not null.

Example:
    >>> from chatsim.sample import sample_log
    >>> ev = compare_peers(sample_log(), ["legacy-24h", "new-12h"], ["etsy-star"])
    >>> disagreement(ev).height
    3
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from chatsim.errors import RuleError
from chatsim.explain.formats import format_count, format_pp, format_share
from chatsim.explain.headline import segment_column
from chatsim.explain.labels import segment_label
from chatsim.metrics import Evaluation, compare
from chatsim.presets import preset_label
from chatsim.rules import Rule, resolve_rule
from chatsim.schema import ChatLog

if TYPE_CHECKING:
    from chatsim.replications import Replications
    from chatsim.scenario import Scenario

__all__ = [
    "RuleRef",
    "compare_peers",
    "disagreement",
    "distance_from_new",
    "favours",
    "pass_shares",
    "peer_rules",
    "rated_counts",
    "replicate_peers",
    "rule_labels",
    "split_shops",
    "with_replication_ranges",
]

#: A rule as the peers page takes it: a name (built-in or preset), a YAML path or a Rule.
RuleRef = str | Path | Rule


def peer_rules(rules: Sequence[RuleRef], peers: Sequence[RuleRef]) -> list[Rule]:
    """The report's rules (old first, new last) followed by the peer rules, each once: a
    peer with the name of an earlier rule is left out (it is that rule).

    Example:
        >>> [r.name for r in peer_rules(["legacy-24h", "new-12h"], ["etsy-star", "new-12h"])]
        ['legacy-24h', 'new-12h', 'etsy-star']
    """
    out: dict[str, Rule] = {}
    for ref in [*rules, *peers]:
        rule = resolve_rule(ref)
        out.setdefault(rule.name, rule)
    if len(out) < 2:
        raise RuleError(
            "the peers page compares at least two rules; give the old and the new rule, "
            "and peer rules (analysis.peers) to set beside them."
        )
    return list(out.values())


def compare_peers(
    log: ChatLog | str | Path,
    rules: Sequence[RuleRef],
    peers: Sequence[RuleRef],
    *,
    as_of: dt.datetime | str | None = None,
) -> Evaluation:
    """The log evaluated under the report's rules and the peer rules (shop tables only).

    Example:
        >>> from chatsim.sample import sample_log
        >>> [r.name for r in compare_peers(sample_log(), ["new-12h"], ["etsy-star"]).rules]
        ['new-12h', 'etsy-star']
    """
    return compare(log, peer_rules(rules, peers), as_of=as_of, chats=False)


def rule_labels(ev: Evaluation) -> dict[str, str]:
    """Each rule's name as pages show it: a preset with "as publicly described"
    (:func:`chatsim.presets.preset_label`), any other rule by its name.

    Example:
        >>> from chatsim.sample import sample_log
        >>> rule_labels(compare_peers(sample_log(), ["new-12h"], ["etsy-star"]))["etsy-star"]
        'Etsy Star Seller, as publicly described'
    """
    return {r.name: preset_label(r.name) for r in ev.rules}


def _standing(ev: Evaluation) -> pl.DataFrame:
    """One row per rated shop and rule: rule order ``ri``, ``meets_target``, ``confidence``
    and the segment column (as ``segment``, or null)."""
    seg = segment_column(ev)
    order = pl.DataFrame(
        {"rule": [r.name for r in ev.rules], "ri": list(range(len(ev.rules)))},
        schema={"rule": pl.String, "ri": pl.Int64},
    )
    s = ev.shops
    conf = pl.col("confidence") if "confidence" in s.columns else pl.lit(None, pl.String)
    segment = pl.col(seg).cast(pl.String) if seg else pl.lit(None, pl.String)
    return (
        s.filter(pl.col("meets_target").is_not_null())
        .select(
            "rule", "shop_id", "meets_target", conf.alias("confidence"), segment.alias("segment")
        )
        .join(order, on="rule", how="inner")
        .sort("ri", "shop_id")
    )


def _check_new(ev: Evaluation, new: str) -> None:
    ev.rule(new)  # RuleError naming the rules when missing


def pass_shares(ev: Evaluation, new: str) -> pl.DataFrame:
    """Per rule (in the evaluation's order): shops, shops rated and passing, the share
    passing, its range from the shops' Wilson intervals, and the difference from ``new``.

    ``share_low`` counts as passing only the shops that pass and are not too close to call;
    ``share_high`` also every shop too close to call (its 95 % interval holds the target):
    the share could lie anywhere between them if each such shop fell the other way. Both
    are null for a rule whose figure has no per-shop interval (a shop rated with a null
    ``confidence``, e.g. a blended rate).
    ``change_vs_new`` is ``share_passing`` minus the new rule's (a fraction).

    Example:
        >>> from chatsim.sample import sample_log
        >>> t = pass_shares(compare_peers(sample_log(), ["legacy-24h", "new-12h"], []), "new-12h")
        >>> t.select("rule", "shops_rated", "shops_passing").rows()
        [('legacy-24h', 3, 1), ('new-12h', 3, 1)]
    """
    _check_new(ev, new)
    st = _standing(ev)
    close = pl.col("confidence") == "too_close_to_call"
    got = st.group_by("rule").agg(
        pl.len().alias("shops_rated"),
        pl.col("meets_target").sum().cast(pl.Int64).alias("shops_passing"),
        (pl.col("meets_target") & ~close.fill_null(False)).sum().cast(pl.Int64).alias("_low"),
        (pl.col("meets_target") | close.fill_null(False)).sum().cast(pl.Int64).alias("_high"),
        pl.col("confidence").is_null().any().alias("_no_interval"),
    )
    shops = ev.shops.group_by("rule").agg(pl.col("shop_id").n_unique().alias("shops"))
    labels = rule_labels(ev)
    base = pl.DataFrame(
        {"rule": list(labels), "label": list(labels.values())},
        schema={"rule": pl.String, "label": pl.String},
    ).with_row_index("ri")
    out = (
        base.join(shops, on="rule", how="left")
        .join(got, on="rule", how="left")
        .with_columns(pl.col("shops", "shops_rated", "shops_passing", "_low", "_high").fill_null(0))
        .with_columns(
            _share("shops_passing").alias("share_passing"),
            _share("_low", "_no_interval").alias("share_low"),
            _share("_high", "_no_interval").alias("share_high"),
        )
        .sort("ri")
    )
    new_share = out.filter(pl.col("rule") == new)["share_passing"][0]
    return out.with_columns(
        (pl.col("share_passing") - pl.lit(new_share, pl.Float64)).alias("change_vs_new")
    ).select(
        "rule",
        "label",
        "shops",
        "shops_rated",
        "shops_passing",
        "share_passing",
        "share_low",
        "share_high",
        "change_vs_new",
    )


def _share(col: str, unknown: str | None = None) -> pl.Expr:
    """``col`` over the shops rated; null with none rated (or when ``unknown`` is true)."""
    rated = pl.col("shops_rated")
    ok = rated > 0 if unknown is None else (rated > 0) & ~pl.col(unknown).fill_null(False)
    return pl.when(ok).then(pl.col(col) / rated).otherwise(None).cast(pl.Float64)


def with_replication_ranges(shares: pl.DataFrame, rep: Replications | None) -> pl.DataFrame:
    """:func:`pass_shares` with each rule's 95 % interval over replications of the scenario
    (``rep_mean``, ``rep_low``, ``rep_high``; null without replications or for a rule the
    replications did not evaluate).

    Example:
        >>> import polars as pl
        >>> with_replication_ranges(pl.DataFrame({"rule": ["a"]}), None).columns
        ['rule', 'rep_mean', 'rep_low', 'rep_high']
    """
    cols = ("rep_mean", "rep_low", "rep_high")
    if rep is None:
        return shares.with_columns(pl.lit(None, pl.Float64).alias(c) for c in cols)
    rows = (
        rep.summary("rules")
        .filter(pl.col("measure") == "share_passing")
        .select(
            pl.col("rule").cast(pl.String),
            pl.col("mean").alias("rep_mean"),
            pl.col("low").alias("rep_low"),
            pl.col("high").alias("rep_high"),
        )
    )
    return shares.join(rows, on="rule", how="left", maintain_order="left")


def _pairs(ev: Evaluation) -> pl.DataFrame:
    """Every shop rated under two rules ``a`` before ``b``: both standings."""
    st = _standing(ev).select("shop_id", "rule", "ri", "meets_target")
    a = st.rename({"rule": "rule_a", "ri": "ri_a", "meets_target": "pass_a"})
    b = st.rename({"rule": "rule_b", "ri": "ri_b", "meets_target": "pass_b"})
    return a.join(b, on="shop_id", how="inner").filter(pl.col("ri_a") < pl.col("ri_b"))


def disagreement(ev: Evaluation) -> pl.DataFrame:
    """For every pair of rules (``rule_a`` before ``rule_b`` in the evaluation's order):
    the shops rated under both, how many pass both, only ``a``, only ``b``, neither, and
    the share the two classify differently.

    Example:
        >>> from chatsim.sample import sample_log
        >>> d = disagreement(compare_peers(sample_log(), ["legacy-24h", "new-12h"], []))
        >>> d.select("rule_a", "rule_b", "shops_both", "disagree").rows()
        [('legacy-24h', 'new-12h', 3, 0)]
    """
    names = [r.name for r in ev.rules]
    grid = pl.DataFrame(
        [(a, b, i, j) for i, a in enumerate(names) for j, b in enumerate(names) if i < j],
        schema={"rule_a": pl.String, "rule_b": pl.String, "ri_a": pl.Int64, "ri_b": pl.Int64},
        orient="row",
    )
    counts = (
        _pairs(ev)
        .group_by("rule_a", "rule_b")
        .agg(
            pl.len().alias("shops_both"),
            (pl.col("pass_a") & pl.col("pass_b")).sum().alias("pass_both"),
            (pl.col("pass_a") & ~pl.col("pass_b")).sum().alias("only_a"),
            (~pl.col("pass_a") & pl.col("pass_b")).sum().alias("only_b"),
            (~pl.col("pass_a") & ~pl.col("pass_b")).sum().alias("fail_both"),
        )
    )
    count_cols = ["shops_both", "pass_both", "only_a", "only_b", "fail_both"]
    labels = rule_labels(ev)
    return (
        grid.join(counts, on=["rule_a", "rule_b"], how="left")
        .with_columns(pl.col(count_cols).fill_null(0).cast(pl.Int64))
        .with_columns(
            (pl.col("only_a") + pl.col("only_b")).alias("disagree"),
            pl.col("rule_a").replace_strict(labels, return_dtype=pl.String).alias("label_a"),
            pl.col("rule_b").replace_strict(labels, return_dtype=pl.String).alias("label_b"),
        )
        .with_columns(
            pl.when(pl.col("shops_both") > 0)
            .then(pl.col("disagree") / pl.col("shops_both"))
            .otherwise(None)
            .cast(pl.Float64)
            .alias("share_disagree")
        )
        .sort("ri_a", "ri_b")
        .select("rule_a", "rule_b", "label_a", "label_b", *count_cols, "disagree", "share_disagree")
    )


def split_shops(ev: Evaluation) -> pl.DataFrame:
    """The shops that pass under some rules and fail under others (among the rules that
    rate them): the seller type, how many rules rate them and pass them, and the rules
    they pass and fail (as pages name them, ``; ``-separated, in the evaluation's order)
    and the seller type as a reader names it (``segment_label``). Most-split first
    (the passes nearest half the rules), then by shop id.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.rules import NEW_12H
        >>> ev = compare_peers(sample_log(), ["new-12h"], [NEW_12H.replace(name="new-96h", window_hours=96)])
        >>> split_shops(ev).select("shop_id", "passes", "fails").rows()
        [('shop_b', 'new-96h', 'new-12h'), ('shop_c', 'new-96h', 'new-12h')]
    """
    labels = rule_labels(ev)
    st = _standing(ev).with_columns(
        pl.col("rule").replace_strict(labels, return_dtype=pl.String).alias("label")
    )
    out = (
        st.group_by("shop_id")
        .agg(
            pl.col("segment").first(),
            pl.len().alias("rules_rating"),
            pl.col("meets_target").sum().cast(pl.Int64).alias("rules_passing"),
            pl.col("label")
            .sort_by("ri")
            .filter(pl.col("meets_target").sort_by(pl.col("ri")))
            .str.join("; ")
            .alias("passes"),
            pl.col("label")
            .sort_by("ri")
            .filter(~pl.col("meets_target").sort_by(pl.col("ri")))
            .str.join("; ")
            .alias("fails"),
        )
        .filter((pl.col("rules_passing") > 0) & (pl.col("rules_passing") < pl.col("rules_rating")))
        .with_columns((pl.col("rules_passing") * 2 - pl.col("rules_rating")).abs().alias("_lean"))
        .sort("_lean", "shop_id")
        .drop("_lean")
    )
    seg_labels = {v: segment_label(v) for v in out["segment"].drop_nulls().unique().to_list()}
    return out.with_columns(
        pl.col("segment")
        .replace_strict(seg_labels, default=None, return_dtype=pl.String)
        .alias("segment_label")
    )


def favours(ev: Evaluation, new: str) -> pl.DataFrame:
    """Per seller type and rule: shops rated and passing, the share passing, and its
    difference from the new rule's share for the same seller type (``change_vs_new``, a
    fraction): a design with positive differences favours that seller type over the new
    rule. Empty when the shops table has no seller-type column.

    Example:
        >>> from chatsim.sample import sample_log
        >>> f = favours(compare_peers(sample_log(), ["legacy-24h", "new-12h"], []), "new-12h")
        >>> f.columns[:4]
        ['segment', 'segment_label', 'rule', 'label']
    """
    _check_new(ev, new)
    cols = {
        "segment": pl.String,
        "segment_label": pl.String,
        "rule": pl.String,
        "label": pl.String,
        "shops_rated": pl.Int64,
        "shops_passing": pl.Int64,
        "share_passing": pl.Float64,
        "change_vs_new": pl.Float64,
    }
    if segment_column(ev) is None:
        return pl.DataFrame(schema=cols)
    st = _standing(ev).filter(pl.col("segment").is_not_null())
    got = (
        st.group_by("segment", "rule", "ri")
        .agg(
            pl.len().alias("shops_rated"),
            pl.col("meets_target").sum().cast(pl.Int64).alias("shops_passing"),
        )
        .with_columns((pl.col("shops_passing") / pl.col("shops_rated")).alias("share_passing"))
    )
    base = got.filter(pl.col("rule") == new).select(
        "segment", pl.col("share_passing").alias("_new")
    )
    labels = rule_labels(ev)
    segs = got["segment"].unique().to_list()
    seg_labels = {s: segment_label(s) for s in segs}
    return (
        got.join(base, on="segment", how="left")
        .with_columns(
            (pl.col("share_passing") - pl.col("_new")).alias("change_vs_new"),
            pl.col("rule").replace_strict(labels, return_dtype=pl.String).alias("label"),
            pl.col("segment")
            .replace_strict(seg_labels, return_dtype=pl.String)
            .alias("segment_label"),
        )
        .sort("segment", "ri")
        .select(list(cols))
        .cast(cols)
    )


def distance_from_new(ev: Evaluation, new: str) -> pl.DataFrame:
    """How far the new rule sits from each other rule of the evaluation: shops rated under
    both, the share they classify differently (``share_disagree``), how many pass only the
    other rule or only the new one, both pass shares and their difference (``change``, the
    other rule's minus the new rule's), and a ``sentence`` saying it. Closest first.

    Example:
        >>> from chatsim.sample import sample_log
        >>> d = distance_from_new(compare_peers(sample_log(), ["legacy-24h", "new-12h"], []), "new-12h")
        >>> print(d["sentence"][0])  # doctest: +NORMALIZE_WHITESPACE
        legacy-24h: 33.3 % of rated shops pass, as under new-12h (0.0 pp); the two designs
        classify none of the 3 shops rated under both differently.
    """
    _check_new(ev, new)
    d = disagreement(ev)
    shares = pass_shares(ev, new).select("rule", "share_passing")
    new_share = shares.filter(pl.col("rule") == new)["share_passing"][0]
    a_is_new = pl.col("rule_a") == new
    rows = (
        d.filter(a_is_new | (pl.col("rule_b") == new))
        .select(
            pl.when(a_is_new).then(pl.col("rule_b")).otherwise(pl.col("rule_a")).alias("rule"),
            pl.when(a_is_new).then(pl.col("label_b")).otherwise(pl.col("label_a")).alias("label"),
            "shops_both",
            "disagree",
            "share_disagree",
            pl.when(a_is_new)
            .then(pl.col("only_b"))
            .otherwise(pl.col("only_a"))
            .alias("only_other"),
            pl.when(a_is_new).then(pl.col("only_a")).otherwise(pl.col("only_b")).alias("only_new"),
        )
        .join(shares, on="rule", how="left")
        .with_columns(
            pl.lit(new_share, pl.Float64).alias("share_passing_new"),
            (pl.col("share_passing") - pl.lit(new_share, pl.Float64)).alias("change"),
        )
    )
    order = {r.name: i for i, r in enumerate(ev.rules)}
    rows = rows.with_columns(
        pl.col("rule").replace_strict(order, return_dtype=pl.Int64).alias("_ri")
    ).sort(pl.col("share_disagree").fill_null(2.0), "_ri")
    sentences = [_distance_sentence(r, new) for r in rows.iter_rows(named=True)]
    return rows.drop("_ri").with_columns(pl.Series("sentence", sentences, dtype=pl.String))


def _distance_sentence(r: dict[str, Any], new: str) -> str:
    name, both = r["label"], r["shops_both"]
    share, change = r["share_passing"], r["change"]
    if share is None or r["share_passing_new"] is None:
        return f"{name}: no shop is rated under both it and {new}."
    if abs(change) < 0.0005:
        vs = f"as under {new} ({format_pp(change)})"
    else:
        vs = f"{format_pp(abs(change)).lstrip('+')} {'more' if change > 0 else 'fewer'} than under {new}"
    head = f"{name}: {format_share(share)} of rated shops pass, {vs}"
    if r["disagree"] == 0:
        return (
            f"{head}; the two designs classify none of the {format_count(both)} shops rated "
            "under both differently."
        )
    return (
        f"{head}; the two designs classify {format_share(r['share_disagree'])} of the "
        f"{format_count(both)} shops rated under both differently ({format_count(r['only_other'])} "
        f"pass only {name}, {format_count(r['only_new'])} only {new})."
    )


def rated_counts(ev: Evaluation) -> tuple[int, int]:
    """Shops rated under at least one rule, and under every rule of the evaluation.

    Example:
        >>> from chatsim.sample import sample_log
        >>> rated_counts(compare_peers(sample_log(), ["legacy-24h", "new-12h"], []))
        (3, 3)
    """
    per_shop = _standing(ev).group_by("shop_id").agg(pl.len().alias("k"))
    return per_shop.height, per_shop.filter(pl.col("k") == len(ev.rules)).height


def replicate_peers(
    scenario: Scenario | None, rules: Sequence[Rule], n: int, *, real_log: bool = False
) -> Replications | None:
    """The scenario simulated ``n`` times under every rule of the page (old first, the peer
    rules, new last; shop tables only, no bridge, sweep or what-if), for the 95 % intervals
    of :func:`with_replication_ranges`; None for a real log, no scenario, or ``n`` of 1.

    Example:
        >>> replicate_peers(None, [], 5) is None
        True
    """
    if scenario is None or real_log or n < 2:
        return None
    from chatsim.replications import run_replications

    ordered = [*rules[:1], *rules[2:], *rules[1:2]] if len(rules) > 2 else list(rules)
    return run_replications(
        scenario, n, rules=ordered, workers=None, bridge=False, sweep=False, what_if=False
    )
