"""What-if variants: the scenario re-run with one change each, and the failing shops each
rescues under the new rule (:func:`what_if`); which variants a report runs, on the scenario
or on a real log's fitted twin (:func:`what_if_plan`). Re-exported by
:mod:`chatsim.analysis`.

Example:
    >>> what_if_plan(None).reason
    'No what-if variants for this run (none in the scenario).'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from chatsim.metrics import Evaluation, compare
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from chatsim.schema import ChatLog

if TYPE_CHECKING:
    from chatsim.scenario import Scenario

__all__ = ["WhatIfPlan", "what_if", "what_if_plan"]


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
    from chatsim.explain import segment_label  # (explain reads this module's results)

    names = {a.name for a in twin.archetypes}
    keep = tuple(v for v in variants if v.archetype is None or v.archetype in names)
    skipped = tuple(
        f"{v.name} changes the seller type {segment_label(v.archetype)}, which the fitted model "
        "of your log "
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
