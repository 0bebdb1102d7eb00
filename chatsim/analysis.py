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

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    "WhatIfPlan",
    "flip_counts",
    "flips",
    "pass_rates",
    "passing_shares",
    "pick_drilldown_shop",
    "sweep",
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
        if c not in core and t in (pl.String, pl.Categorical) and c not in ("tier", "confidence")
    ]


def flips(ev: Evaluation, old: str | None = None, new: str | None = None) -> pl.DataFrame:
    """Per shop: rates and pass/fail under the old and the new rule, and the flip category.

    ``old``/``new`` default to the first and second rule of the evaluation. Segment
    columns of the shops table (e.g. ``archetype``) are kept. ``confidence_old`` and
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
    ev.rule(old), ev.rule(new)  # validate names
    seg = _segment_cols(ev)
    base = ev.shops.filter(pl.col("rule") == old).select(
        "shop_id",
        *seg,
        pl.col("response_rate").alias("rate_old"),
        pl.col("meets_target").alias("pass_old"),
        pl.col("counted").alias("counted_old"),
        pl.col("confidence").alias("confidence_old"),
    )
    nxt = ev.shops.filter(pl.col("rule") == new).select(
        "shop_id",
        pl.col("response_rate").alias("rate_new"),
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
        (pl.col("rate_new") - pl.col("rate_old")).alias("rate_delta"),
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


def _segment_totals(shops: pl.DataFrame) -> dict[str, float]:
    """Chat totals of a set of shops (new rule): what a what-if's effect is explained by."""
    cols = ["counted", "answered_in_time", "excluded_auto_resolved", "unanswered"]
    out = {c: float(shops[c].sum()) if c in shops.columns else 0.0 for c in cols}
    out["rate"] = out["answered_in_time"] / out["counted"] if out["counted"] else float("nan")
    return out


def _shops_of(log: ChatLog, shop_ids: pl.Series) -> ChatLog:
    """The part of a (validated) log that concerns the shops ``shop_ids``."""
    keep = pl.col("shop_id").is_in(shop_ids.implode())
    return ChatLog(
        log.messages.filter(keep),
        log.shops.filter(keep),
        log.holiday_mode.filter(keep),
        log.blocked.filter(keep),
        source=log.source,
        dropped=log.dropped,
    )


def _simulate_shops(scenario: Scenario, ids: pl.Series) -> ChatLog:
    """The scenario's simulated log for the shops ``ids`` only: the shards that hold them
    (identical to those shards of the whole simulation), then those shops."""
    from chatsim.scenario import shop_ids
    from chatsim.simulate import SHARD_SIZE, shops_table, simulate, simulate_shard

    index = {s: i for i, s in enumerate(shop_ids(scenario.shops))}
    shards = sorted({index[s] // SHARD_SIZE for s in ids.cast(pl.String).to_list() if s in index})
    parts = [simulate_shard(scenario, k) for k in shards]
    if not parts:  # shops the scenario does not name: the whole simulation
        return _shops_of(simulate(scenario, workers=1), ids)
    log = ChatLog(
        pl.concat([p[0] for p in parts], rechunk=False),
        shops_table(scenario),
        pl.concat([p[1] for p in parts]),
        pl.concat([p[2] for p in parts]),
        source=f"<simulated {scenario.name}>",
    )
    return _shops_of(log, ids)


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
    archetype is measured against that archetype's shops (its ``segment``), else all shops:
    only the simulation shards that hold them are simulated (a shard's traffic does not
    depend on the others), and they are evaluated under the new rule at the baseline's
    data cutoff.

    Returns one row per variant: the settings it ``changes``, the ``segment`` and its
    ``segment_shops``, its shops failing in the baseline (``failing_before``), rescued,
    newly failing, the segment's share passing before and after, and an ``explanation``
    (empty when the variant rescues shops on balance; else why, from the chat counts).
    """
    from chatsim.explain.variants import describe_settings, what_if_explanation
    from chatsim.simulate import simulate

    sim = simulate_fn or (lambda sc: simulate(sc, workers=1))
    part = simulate_fn is None  # the built-in simulator: only the shards needed
    rules = list(rules)
    new = rules[-1].name
    if baseline is None:
        baseline = compare(sim(scenario), rules, chats=False)
    base_shops = baseline.shops.filter(pl.col("rule") == new)
    has_arch = "archetype" in base_shops.columns
    rows = []
    for variant in scenario.analysis.what_if:
        scope = pl.lit(True)
        if variant.archetype is not None and has_arch:
            scope = pl.col("archetype") == variant.archetype
        b = base_shops.filter(scope)
        # only the new rule on the segment's shops is read: simulate and evaluate just
        # those (each shop's figures depend on its own chats alone)
        changed = scenario.with_change(variant)
        if variant.archetype is None or not has_arch:
            log = sim(changed)
        elif part:
            log = _simulate_shops(changed, b["shop_id"])
        else:
            log = _shops_of(sim(changed), b["shop_id"])
        ev = compare(log, rules[-1:], as_of=baseline.as_of, chats=False)
        after_shops = ev.shops.filter(pl.col("rule") == new)
        a = after_shops.filter(pl.col("shop_id").is_in(b["shop_id"].implode()))
        j = b.select("shop_id", pl.col("meets_target").alias("before")).join(
            a.select("shop_id", pl.col("meets_target").alias("after")),
            on="shop_id",
            how="full",
            coalesce=True,
        )
        failing = j.filter(pl.col("before").not_())
        rescued = failing.filter(pl.col("after").fill_null(False)).height
        before, after = pl.col("before").fill_null(False), pl.col("after").fill_null(True)
        newly = j.filter(before & after.not_()).height
        rows.append(
            {
                "what_if": variant.name,
                "archetype": variant.archetype or "all",
                "changes": describe_settings(dict(variant.set)),
                "rule": new,
                "segment_shops": b.height,
                "failing_before": failing.height,
                "rescued": rescued,
                "newly_failing": newly,
                "share_passing_before": j["before"].drop_nulls().mean(),
                "share_passing_after": j["after"].drop_nulls().mean(),
                "explanation": what_if_explanation(
                    rescued - newly, failing.height, _segment_totals(b), _segment_totals(a)
                ),
            }
        )
    texts, counts = ("what_if", "archetype", "changes", "rule"), ("segment_shops", "failing_before")
    schema = {
        **dict.fromkeys(texts, pl.String),
        **dict.fromkeys((*counts, "rescued", "newly_failing"), pl.Int64),
        **dict.fromkeys(("share_passing_before", "share_passing_after"), pl.Float64),
        "explanation": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


@dataclass(frozen=True)
class WhatIfPlan:
    """What a report's what-if section runs: ``scenario`` (its ``analysis.what_if`` holds
    the variants; ``None``: nothing runs, ``reason`` says why), whether it is a twin of a
    real log (``model_based``), and the variants ``skipped`` on the twin, each with why."""

    scenario: Scenario | None
    model_based: bool = False
    skipped: tuple[str, ...] = ()
    reason: str = ""


def what_if_plan(
    scenario: Scenario | None,
    *,
    twin: Scenario | None = None,
    real_log: bool = False,
    run: bool = True,
) -> WhatIfPlan:
    """The what-ifs of a report: ``scenario``'s variants on ``scenario`` for a simulated
    log (when ``run``); for a real log, those that apply to its ``twin`` (a variant on all
    shops, or on an archetype the twin has), on the twin; else none, with the reason.

    Example:
        >>> what_if_plan(None, real_log=True).reason
        'No what-if variants for this run: a real log, and no fitted model of it (chatsim report --fit).'
    """
    variants = scenario.analysis.what_if if scenario is not None else ()
    if not real_log:
        if run and variants:
            return WhatIfPlan(scenario)
        return WhatIfPlan(None, reason="No what-if variants for this run (none in the scenario).")
    if twin is None:
        return WhatIfPlan(
            None,
            reason="No what-if variants for this run: a real log, and no fitted model of it "
            "(chatsim report --fit).",
        )
    names = {a.name for a in twin.archetypes}
    keep = tuple(v for v in variants if v.archetype is None or v.archetype in names)
    skipped = tuple(
        f"{v.name} changes the seller type {v.archetype}, which the fitted model of your log "
        "does not have, so it is left out"
        for v in variants
        if v not in keep
    )
    if not keep:
        return WhatIfPlan(
            None,
            True,
            skipped,
            "No what-if variant of the scenario applies to the fitted model of your log"
            + (f" ({'; '.join(skipped)})." if skipped else " (the scenario has none)."),
        )
    a = dataclasses.replace(twin.analysis, what_if=keep)
    return WhatIfPlan(dataclasses.replace(twin, analysis=a), True, skipped)


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
