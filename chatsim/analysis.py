"""Rule-comparison analysis: flips, segment pass rates, target/window sweeps, what-ifs.

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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import polars as pl

from chatsim.errors import RuleError
from chatsim.metrics import Evaluation, compare
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from chatsim.schema import ChatLog

if TYPE_CHECKING:
    from chatsim.scenario import Scenario

__all__ = [
    "FLIPS",
    "FLIP_DTYPE",
    "flip_counts",
    "flips",
    "pass_rates",
    "passing_shares",
    "pick_drilldown_shop",
    "sweep",
    "top_losers",
    "what_if",
    "window_rates",
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
        if c not in core and t in (pl.String, pl.Categorical) and c not in ("tier",)
    ]


def flips(ev: Evaluation, old: str | None = None, new: str | None = None) -> pl.DataFrame:
    """Per shop: rates and pass/fail under the old and the new rule, and the flip category.

    ``old``/``new`` default to the first and second rule of the evaluation. Segment
    columns of the shops table (e.g. ``archetype``) are kept.
    """
    if len(ev.rules) < 2 and (old is None or new is None):
        raise RuleError("flips() needs two rules: evaluate at least an old and a new rule.")
    old = old or ev.rules[0].name
    new = new or ev.rules[1].name
    ev.rule(old), ev.rule(new)  # validate names
    seg = _segment_cols(ev)
    base = ev.shops.filter(pl.col("rule") == old).select(
        "shop_id",
        *seg,
        pl.col("response_rate").alias("rate_old"),
        pl.col("meets_target").alias("pass_old"),
        pl.col("counted").alias("counted_old"),
    )
    nxt = ev.shops.filter(pl.col("rule") == new).select(
        "shop_id",
        pl.col("response_rate").alias("rate_new"),
        pl.col("meets_target").alias("pass_new"),
        pl.col("counted").alias("counted_new"),
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
    return f.with_columns(
        flip.alias("flip"),
        (pl.col("rate_new") - pl.col("rate_old")).alias("rate_delta"),
        pl.lit(old).alias("old_rule"),
        pl.lit(new).alias("new_rule"),
    ).sort("shop_id")


def flip_counts(f: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
    """Shops per flip category (and per segment ``by``), with shares; all categories present.

    Example:
        >>> flip_counts(pl.DataFrame({"flip": ["passes_both"]}, schema={"flip": FLIP_DTYPE}))["shops"].to_list()
        [1, 0, 0, 0, 0]
    """
    keys = [by] if by else []
    cats = pl.DataFrame({"flip": list(FLIPS)}, schema={"flip": FLIP_DTYPE})
    if by:
        cats = f.select(by).unique().join(cats, how="cross")
    counts = f.group_by(keys + ["flip"]).agg(pl.len().alias("shops"))
    out = cats.join(counts, on=keys + ["flip"], how="left").with_columns(
        pl.col("shops").fill_null(0).cast(pl.Int64)
    )
    total = pl.col("shops").sum().over(by) if by else pl.col("shops").sum()
    out = out.with_columns((pl.col("shops") / total).fill_nan(None).alias("share"))
    return out.sort(keys + ["flip"])


def pass_rates(ev: Evaluation, by: str | None = None) -> pl.DataFrame:
    """Share of rated shops meeting each rule's target, per rule (and segment ``by``).

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
        ev.shops.filter(pl.col("response_rate").is_not_null())
        .group_by(keys)
        .agg(
            pl.len().alias("shops_rated"),
            pl.col("meets_target").sum().alias("shops_passing"),
            pl.col("response_rate").median().alias("median_rate"),
        )
        .with_columns(
            (pl.col("shops_passing") / pl.col("shops_rated")).alias("share_passing"),
            pl.col("rule").replace_strict(order, return_dtype=pl.Int32).alias("_o"),
        )
        .sort(["_o"] + keys[1:])
        .drop("_o")
    )


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
    if not windows_hours:
        raise RuleError("sweep() needs at least one target and one window.")
    rules = [base.replace(name=f"{base.name}@{w:g}h", window_hours=float(w)) for w in windows_hours]
    ev = compare(log, rules, as_of=as_of, chats=False)
    keep = ["window_hours", "shop_id", *_segment_cols(ev), "response_rate"]
    return (
        ev.shops.filter(pl.col("response_rate").is_not_null())
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


def _segment_totals(shops: pl.DataFrame) -> dict[str, float]:
    """Chat totals of a set of shops (new rule): what a what-if's effect is explained by."""
    cols = ["counted", "answered_in_time", "excluded_auto_resolved", "unanswered"]
    out = {c: float(shops[c].sum()) if c in shops.columns else 0.0 for c in cols}
    out["rate"] = out["answered_in_time"] / out["counted"] if out["counted"] else float("nan")
    return out


def _what_if_explanation(
    net: int, failing: int, before: dict[str, float], after: dict[str, float]
) -> str:
    """Why a variant rescues no shop, or costs shops: computed from the segment's chats."""
    from chatsim.explain.labels import format_count, format_pp, format_share

    if net > 0:
        return ""
    if failing == 0 and net == 0:
        return "No shop of this segment fails the new rule, so there is none to rescue."
    parts = []
    d_counted = after["counted"] - before["counted"]
    d_auto = after["excluded_auto_resolved"] - before["excluded_auto_resolved"]
    if d_auto > 0:
        parts.append(
            f"{format_count(d_auto)} more chats are excluded as resolved by automatic reply, "
            f"so counted chats go from {format_count(before['counted'])} to "
            f"{format_count(after['counted'])}"
        )
    elif d_counted:
        parts.append(
            f"counted chats go from {format_count(before['counted'])} to "
            f"{format_count(after['counted'])}"
        )
    d_rate = after["rate"] - before["rate"]
    parts.append(
        f"the share of counted chats answered in time goes from {format_share(before['rate'])} "
        f"to {format_share(after['rate'])} ({format_pp(d_rate)})"
    )
    lead = "It rescues no shop" if net == 0 else f"It costs {format_count(-net)} shop(s) net"
    return f"{lead}: in the affected shops " + "; ".join(parts) + "."


def _describe_settings(settings: dict) -> str:
    from chatsim.explain.labels import format_field, humanize

    return "; ".join(f"{humanize(k)}: {format_field(k, v)}" for k, v in settings.items())


def what_if(
    scenario: Scenario,
    *,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    simulate_fn: Callable[[Scenario], ChatLog] | None = None,
    baseline: Evaluation | None = None,
) -> pl.DataFrame:
    """Re-run the scenario once per ``analysis.what_if`` variant and count rescued shops.

    A shop is *rescued* by a variant when it fails the last rule (the new one) in the
    baseline and meets it in the variant. The same seed drives every run, so the shops
    and their buyers are the same; only the changed behaviour differs. A variant on one
    archetype is measured against that archetype's shops (its ``segment``), else all shops.

    Returns one row per variant: the settings it ``changes``, the ``segment`` and its
    ``segment_shops``, its shops failing in the baseline (``failing_before``), rescued,
    newly failing, the segment's share passing before and after, and an ``explanation``
    (empty when the variant rescues shops on balance; else why, from the chat counts).
    """
    from chatsim.simulate import simulate

    sim = simulate_fn or (lambda sc: simulate(sc, workers=1))
    rules = list(rules)
    new = rules[-1].name
    if baseline is None:
        baseline = compare(sim(scenario), rules, chats=False)
    base_shops = baseline.shops.filter(pl.col("rule") == new)
    has_arch = "archetype" in base_shops.columns
    rows = []
    for variant in scenario.analysis.what_if:
        ev = compare(sim(scenario.with_change(variant)), rules, chats=False)
        after_shops = ev.shops.filter(pl.col("rule") == new)
        scope = pl.lit(True)
        if variant.archetype is not None and has_arch:
            scope = pl.col("archetype") == variant.archetype
        b = base_shops.filter(scope)
        a = after_shops.filter(pl.col("shop_id").is_in(b["shop_id"].implode()))
        j = b.select("shop_id", pl.col("meets_target").alias("before")).join(
            a.select("shop_id", pl.col("meets_target").alias("after")),
            on="shop_id",
            how="full",
            coalesce=True,
        )
        failing = j.filter(pl.col("before").not_())
        rescued = failing.filter(pl.col("after").fill_null(False)).height
        newly = j.filter(
            pl.col("before").fill_null(False) & pl.col("after").not_().fill_null(False)
        ).height
        rows.append(
            {
                "what_if": variant.name,
                "archetype": variant.archetype or "all",
                "changes": _describe_settings(dict(variant.set)),
                "rule": new,
                "segment_shops": b.height,
                "failing_before": failing.height,
                "rescued": rescued,
                "newly_failing": newly,
                "share_passing_before": j["before"].drop_nulls().mean(),
                "share_passing_after": j["after"].drop_nulls().mean(),
                "explanation": _what_if_explanation(
                    rescued - newly, failing.height, _segment_totals(b), _segment_totals(a)
                ),
            }
        )
    schema = {
        "what_if": pl.String,
        "archetype": pl.String,
        "changes": pl.String,
        "rule": pl.String,
        "segment_shops": pl.Int64,
        "failing_before": pl.Int64,
        "rescued": pl.Int64,
        "newly_failing": pl.Int64,
        "share_passing_before": pl.Float64,
        "share_passing_after": pl.Float64,
        "explanation": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


#: How many of the shops losing status get a drill-down page of their own in a report.
def top_losers(ev: Evaluation, n: int = 3) -> list[str]:
    """The ``n`` shops that lose status under the new rule with the largest rate drop
    (ties by shop id).

    Example:
        >>> from chatsim.sample import sample_log
        >>> top_losers(compare(sample_log()))
        []
    """
    if len(ev.rules) < 2:
        return []
    f = flips(ev, ev.rules[0].name, ev.rules[-1].name)
    losers = f.filter(pl.col("flip") == "loses_under_new").sort("rate_delta", "shop_id")
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
