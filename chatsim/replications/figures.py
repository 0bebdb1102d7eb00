"""One replication's headline figures, as long tables (``keys``, ``measure``, ``value``).

:func:`replication_figures` simulates the scenario once (with the seed it is given),
evaluates its rules in one shop-tables-only call (``compare(..., chats=False)``: the rules
themselves, the bridge's rules between the old and the new one, and the new rule at each
window of the sweep; chats are built once per chat definition), and measures, in the
tables of :data:`TABLES`:

* ``rules``: per rule, the share of rated shops meeting it, shops passing and rated, the
  overall response rate;
* ``flips``: shops that lose and gain status (old to new rule), how many of them are within
  noise of a target, and the change in the share passing;
* ``segments`` / ``segment_changes``: per segment (the seller type) and rule, the share
  passing; per segment, its change from the old to the new rule;
* ``bridge``: each bar of the bridge (:func:`chatsim.explain.bridge_table`), its share and
  change;
* ``sweep``: the share of shops passing the new rule at each window and target;
* ``what_if``: per what-if variant, shops rescued and newly failing, and the segment's share
  passing before and after (each variant simulated once more with the same seed).

Example:
    >>> from chatsim.scenario import Scenario
    >>> sc = Scenario.from_dict({"name": "d", "seed": 3, "shops": 6,
    ...     "period": {"start": "2025-08-15", "days": 3},
    ...     "archetypes": {"agency_247": {"share": 0.5}, "solo_weekdays": {"share": 0.5}}})
    >>> got = replication_figures(sc, ReplicationPlan.of(sc, sweep=False, what_if=False), 0)
    >>> sorted(got["rules"]["measure"].unique())
    ['overall_rate', 'share_passing', 'shops_passing', 'shops_rated']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from chatsim.analysis import (
    pass_rates,
    passing_shares,
    sweep_base,
    what_if,
    window_rates_of,
    window_rules,
)
from chatsim.explain.bridge import bridge_steps, bridge_table
from chatsim.explain.headline import key_numbers, segment_column
from chatsim.metrics import compare
from chatsim.rules import Rule, resolve_rule
from chatsim.scenario import Scenario

__all__ = ["BOUNDS", "KEY_DTYPES", "TABLES", "ReplicationPlan", "replication_figures"]

#: The tables of one replication's figures and the columns that identify a figure in each.
TABLES: dict[str, tuple[str, ...]] = {
    "rules": ("rule",),
    "flips": (),
    "segments": ("segment", "rule"),
    "segment_changes": ("segment",),
    "bridge": ("step", "kind", "label", "what"),
    "sweep": ("window_hours", "target"),
    "what_if": ("what_if", "archetype"),
}
#: The values each measure can take (lowest, highest or None): intervals are clipped to them.
BOUNDS: dict[str, tuple[float, float | None]] = {
    **dict.fromkeys(
        (
            "share_passing",
            "overall_rate",
            "share",
            "share_passing_before",
            "share_passing_after",
        ),
        (0.0, 1.0),
    ),
    **dict.fromkeys(("share_change", "change"), (-1.0, 1.0)),
    **dict.fromkeys(
        (
            "shops_passing",
            "shops_rated",
            "loses",
            "gains",
            "loses_within_noise",
            "gains_within_noise",
            "rescued",
            "newly_failing",
        ),
        (0.0, None),
    ),
}
#: The dtype of each key column.
KEY_DTYPES: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "segment": pl.String(),
    "step": pl.Int32(),
    "kind": pl.String(),
    "label": pl.String(),
    "what": pl.String(),
    "window_hours": pl.Float64(),
    "target": pl.Float64(),
    "what_if": pl.String(),
    "archetype": pl.String(),
}


@dataclass(frozen=True)
class ReplicationPlan:
    """What each replication measures: the rules (old first, new last), the sweep's
    targets and windows, and whether to measure the bridge, the sweep and the what-ifs."""

    rules: tuple[Rule, ...]
    targets: tuple[float, ...]
    windows_hours: tuple[float, ...]
    bridge: bool = True
    sweep: bool = True
    what_if: bool = True

    @classmethod
    def of(
        cls, scenario: Scenario, rules: Sequence[Rule | str] | None = None, **switches: bool
    ) -> ReplicationPlan:
        """The plan of a scenario's ``analysis`` section (``rules`` overrides its rules;
        ``switches``: ``bridge``, ``sweep``, ``what_if``).

        Example:
            >>> from chatsim.scenario import Scenario
            >>> sc = Scenario.from_dict({"name": "d", "shops": 2,
            ...     "period": {"start": "2025-08-15", "days": 7},
            ...     "archetypes": {"agency_247": {"share": 1.0}}})
            >>> [r.name for r in ReplicationPlan.of(sc).rules]
            ['legacy-24h', 'new-12h']
        """
        a = scenario.analysis
        refs = a.rules if rules is None else rules
        return cls(tuple(resolve_rule(r) for r in refs), a.targets, a.windows_hours, **switches)

    def evaluated_rules(self) -> list[Rule]:
        """Every rule one evaluation needs: the rules, the bridge's rules between the old
        and the new one, the new rule at each window of the sweep."""
        old, new = self.rules[0], self.rules[-1]
        between = [s.rule for s in bridge_steps(old, new)[:-1]] if self.bridge else []
        windows = window_rules(self.windows_hours, new) if self.sweep else []
        return [*self.rules, *between, *windows]


def _long(rows: list[dict[str, Any]], keys: Sequence[str]) -> pl.DataFrame:
    """Rows of keys and measures -> the long table (keys, measure, value)."""
    schema = {k: KEY_DTYPES[k] for k in keys}
    if not rows:
        return pl.DataFrame(schema=schema | {"measure": pl.String, "value": pl.Float64})
    measures = [c for c in rows[0] if c not in keys]
    wide = pl.DataFrame(
        rows, schema=schema | {m: pl.Float64 for m in measures}, orient="row", strict=False
    )
    return wide.unpivot(on=measures, index=list(keys), variable_name="measure").with_columns(
        pl.col("value").cast(pl.Float64)
    )


def replication_figures(
    scenario: Scenario, plan: ReplicationPlan, replication: int
) -> dict[str, pl.DataFrame]:
    """The figures of one simulation of ``scenario`` (its own seed), by table of
    :data:`TABLES`, each a long table with a ``replication`` column first."""
    from chatsim.simulate import simulate

    log = simulate(scenario, workers=1)
    names = [r.name for r in plan.rules]
    old, new = names[0], names[-1]
    ev = compare(log, plan.evaluated_rules(), chats=False)
    head = key_numbers(ev, old, new)
    by = segment_column(ev)
    summary = {r["rule"]: r["overall_rate"] for r in ev.summary().iter_rows(named=True)}
    rates = pass_rates(ev).filter(pl.col("rule").is_in(names))
    tables: dict[str, pl.DataFrame] = {
        "rules": _long(
            [
                {
                    "rule": r["rule"],
                    "share_passing": r["share_passing"],
                    "shops_passing": r["shops_passing"],
                    "shops_rated": r["shops_rated"],
                    "overall_rate": summary[r["rule"]],
                }
                for r in rates.iter_rows(named=True)
            ],
            TABLES["rules"],
        ),
        "flips": _long(
            [
                {
                    "loses": head.loses,
                    "gains": head.gains,
                    "loses_within_noise": head.loses_within_noise,
                    "gains_within_noise": head.gains_within_noise,
                    "share_change": None
                    if head.share_old is None or head.share_new is None
                    else head.share_new - head.share_old,
                }
            ],
            (),
        ),
    }
    seg_rows: list[dict[str, Any]] = []
    if by is not None:
        seg = pass_rates(ev, by=by).filter(pl.col("rule").is_in(names) & pl.col(by).is_not_null())
        seg_rows = [
            {"segment": str(r[by]), "rule": r["rule"], "share_passing": r["share_passing"]}
            for r in seg.iter_rows(named=True)
        ]
    tables["segments"] = _long(seg_rows, TABLES["segments"])
    tables["segment_changes"] = _long(
        [{"segment": s.segment, "change": s.change} for s in head.segments],
        TABLES["segment_changes"],
    )
    bridge_rows: list[dict[str, Any]] = []
    if plan.bridge:
        steps = bridge_table(ev, log, old=old, new=new)
        bridge_rows = [
            {k: r[k] for k in (*TABLES["bridge"], "share", "change")}
            for r in steps.iter_rows(named=True)
        ]
    tables["bridge"] = _long(bridge_rows, TABLES["bridge"])
    sweep_rows: list[dict[str, Any]] = []
    if plan.sweep:
        base = sweep_base(plan.rules)
        wrules = window_rules(plan.windows_hours, base)
        grid = passing_shares(
            window_rates_of(ev, wrules),
            plan.targets,
            comparison=base.target_comparison,
        )
        sweep_rows = grid.select("window_hours", "target", "share_passing").to_dicts()
    tables["sweep"] = _long(sweep_rows, TABLES["sweep"])
    wi_rows: list[dict[str, Any]] = []
    if plan.what_if and scenario.analysis.what_if:
        wi = what_if(scenario, rules=plan.rules, baseline=ev)
        wi_rows = wi.select(
            "what_if",
            "archetype",
            "rescued",
            "newly_failing",
            "share_passing_before",
            "share_passing_after",
        ).to_dicts()
    tables["what_if"] = _long(wi_rows, TABLES["what_if"])
    return {
        name: t.select(pl.lit(replication, dtype=pl.Int32).alias("replication"), pl.all())
        for name, t in tables.items()
    }
