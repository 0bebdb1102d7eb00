"""The bridge (waterfall) from the old rule to the new one: which difference moves the share.

Starting from the share of shops meeting the old rule, the differences between the two
rules are applied one at a time, cumulatively, and the share of rated shops passing is
measured after each: "is it the window or the target?". The steps are derived from the
fields of :class:`~chatsim.rules.Rule` (``dataclasses.fields``), so any two rules work,
custom ones and fields added later included. The order:

1. the fields of :data:`BRIDGE_ORDER`, as written there (for the built-in pair: the
   valid-reply filter, the chatbot-weekend deadline, the window 24 h → 12 h, the target
   90 % → 85 %, the target comparison "Target: at least → more than": a field that
   changes only the boundary side is a real step, even when no shop sits on the boundary);
2. every other field that differs, in the order of the dataclass.

Fields that cannot change who passes (:data:`NO_EFFECT_FIELDS`: the name, description,
what missing or meeting the rule does, the warning and enforcement tiers, the dates from
which the rule is shown and in force: a single evaluation ignores them) make no step, nor
does a setting neither rule reads (:data:`USED_WHEN`: e.g. the blend weight of two plain
rates, the cut-off time of two window deadlines). When the two rules judge figures on
different scales (a rate and a response time in hours, or a rate where higher is better
and a late share where lower is), the fields that say what is measured and its target
(:data:`FIGURE_FIELDS`) cannot be told apart: they make one last step, "What is
measured". A
field whose change alone makes an invalid rule (e.g. ``period_start`` without
``period_end``) is applied together with the next one. The last step lands on the new
rule itself, so the bridge ends exactly at its share; the steps between are evaluated in
one :func:`~chatsim.metrics.compare` call on the log (``chats=False``: one sort of the
messages, the shop tables only).

Example:
    >>> from chatsim.rules import LEGACY_24H, NEW_12H
    >>> [s.label for s in bridge_steps(LEGACY_24H, NEW_12H)]  # doctest: +NORMALIZE_WHITESPACE
    ['Valid-reply filter on → off', 'Chatbot-weekend deadline on → off',
     'Window 24 h → 12 h', 'Target 90 % → 85 %', 'Target: at least → more than']
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> log = sample_log()
    >>> b = bridge_table(compare(log), log)
    >>> b.select("kind", "share").rows()[0], b["share"][-1] == b["share"][-2]
    (('start', 0.3333333333333333), True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from chatsim.analysis import pass_rates
from chatsim.errors import RuleError
from chatsim.explain.labels import describe_change, field_label, format_hours, format_pp
from chatsim.explain.rulefigures import figure_name, target_text
from chatsim.metrics import Evaluation, compare
from chatsim.rulekinds import figure_is_share, lower_is_better
from chatsim.rules import Rule
from chatsim.schema import ChatLog

__all__ = [
    "BRIDGE_ORDER",
    "FIGURE_FIELDS",
    "NO_EFFECT_FIELDS",
    "USED_WHEN",
    "BridgeStep",
    "bridge_table",
    "bridge_steps",
    "largest_step",
]

#: The fields applied first, in this order (the built-in pair's differences).
BRIDGE_ORDER: tuple[str, ...] = (
    "valid_replies_only",
    "chatbot_weekend_deadline",
    "window_hours",
    "target",
    "target_comparison",
)
#: Fields that do not change which shops meet the target: they make no step.
NO_EFFECT_FIELDS: frozenset[str] = frozenset(
    {
        "name",
        "description",
        "violation_points",
        "boosts_store_rating",
        "warning_below",
        "enforcement_below",
        "effective_from",
        "effective_until",
        "visible_from",
    }
)
#: Settings a rule reads only in some configurations: a difference makes no step when
#: neither rule reads it.
USED_WHEN: dict[str, Callable[[Rule], bool]] = {
    "blend_weight": lambda r: r.metric == "response_rate" and r.rate_kind == "blended",
    "recent_fraction": lambda r: r.metric == "response_rate" and r.rate_kind == "blended",
    "time_statistic": lambda r: r.metric == "average_response_time",
    "satisfaction_base": lambda r: r.metric == "satisfaction_rate",
    "cutoff_time": lambda r: r.deadline == "daily_cutoff",
    "due_time": lambda r: r.deadline == "daily_cutoff",
    "due_day_offset": lambda r: r.deadline == "daily_cutoff",
    "business_schedule": lambda r: r.clock == "business",
}
#: What a rule measures and its target: one step when the two figures are on different
#: scales (a share and hours, or opposite directions).
FIGURE_FIELDS: tuple[str, ...] = (
    "metric",
    "rate_kind",
    "blend_weight",
    "recent_fraction",
    "time_statistic",
    "satisfaction_base",
    "target",
    "target_comparison",
    "default_rate",
)


@dataclass(frozen=True)
class BridgeStep:
    """One step of the bridge: the fields it changes, its label and the rule after it
    (the last step's rule is the new rule itself)."""

    fields: tuple[str, ...]
    label: str
    rule: Rule
    title: str = ""

    @property
    def what(self) -> str:
        """The fields it changes, as a reader names them (``"Window"``), or its ``title``."""
        return self.title or " and ".join(field_label(f) for f in self.fields)


def _same_scale(old: Rule, new: Rule) -> bool:
    return (
        old.metric == new.metric
        and figure_is_share(old) == figure_is_share(new)
        and lower_is_better(old) == lower_is_better(new)
    )


def _measured(rule: Rule) -> str:
    """A rule's figure and target in a few words: ``"response rate, more than 85 %"``."""
    return f"{figure_name(rule).split(' (')[0].lower()}, {target_text(rule)}"


def _change(name: str, old: Rule, new: Rule) -> str:
    """One field's change as a step label; a response-time target in hours."""
    if name == "target" and not figure_is_share(new):
        return f"{field_label(name)} {format_hours(old.target)} → {format_hours(new.target)}"
    return describe_change(name, getattr(old, name), getattr(new, name))


def bridge_steps(old: Rule, new: Rule) -> list[BridgeStep]:
    """The steps from ``old`` to ``new``, in the documented order (empty when no field that
    decides who passes differs).

    Example:
        >>> from chatsim.rules import AVG_RESPONSE_TIME, NEW_12H
        >>> custom = NEW_12H.replace(name="x", window_hours=10, session_hours=6)
        >>> [(s.fields, s.rule.name) for s in bridge_steps(NEW_12H, custom)]
        [(('window_hours',), 'new-12h → x (1)'), (('session_hours',), 'x')]
        >>> [s.label for s in bridge_steps(NEW_12H, AVG_RESPONSE_TIME)]
        ['What is measured: response rate, more than 85 % → mean response time, at most 2 h']
    """
    names = [f.name for f in dataclasses.fields(Rule) if f.name not in NO_EFFECT_FIELDS]

    def used(n: str) -> bool:
        return n not in USED_WHEN or USED_WHEN[n](old) or USED_WHEN[n](new)

    differ = [n for n in names if getattr(old, n) != getattr(new, n) and used(n)]
    grouped = () if _same_scale(old, new) else tuple(n for n in differ if n in FIGURE_FIELDS)
    differ = [n for n in differ if n not in grouped]
    ordered = [n for n in BRIDGE_ORDER if n in differ] + [
        n for n in differ if n not in BRIDGE_ORDER
    ]
    steps: list[BridgeStep] = []
    current, pending = old, []
    for i, name in enumerate(ordered):
        pending.append(name)
        if i == len(ordered) - 1 and not grouped:
            rule = new
        else:
            try:
                rule = current.replace(
                    name=f"{old.name} → {new.name} ({len(steps) + 1})",
                    **{n: getattr(new, n) for n in pending},
                )
            except RuleError:
                continue  # not a valid rule on its own: applied with the next field
        label = "; ".join(_change(n, old, new) for n in pending)
        steps.append(BridgeStep(tuple(pending), label, rule))
        current, pending = rule, []
    if grouped:
        label = f"What is measured: {_measured(old)} → {_measured(new)}"
        if pending:  # fields not valid on their own before the figure changed
            label = "; ".join(_change(n, old, new) for n in pending) + "; " + label
        steps.append(BridgeStep((*pending, *grouped), label, new, "What is measured"))
    return steps


def _passing(ev: Evaluation) -> dict[str, tuple[int, int]]:
    """(shops passing, shops rated) per rule name."""
    rates = pass_rates(ev)
    return {
        r: (int(p), int(n))
        for r, p, n in rates.select("rule", "shops_passing", "shops_rated").iter_rows()
    }


def bridge_table(
    ev: Evaluation,
    log: ChatLog | None = None,
    *,
    old: str | None = None,
    new: str | None = None,
) -> pl.DataFrame:
    """The bridge from rule ``old`` to rule ``new`` (default: the evaluation's first and
    last rule) as a table, one row per bar.

    The rules between are evaluated on ``log`` at the evaluation's data cutoff, all in one
    ``compare(..., chats=False)`` call; rules the evaluation already holds (e.g. from
    ``compare(log, [old, *intermediate, new])``) are read from it, so ``log`` is needed
    only when some are missing.

    Columns: ``step`` (0 = the old rule), ``kind`` (``start``, ``step``, ``end``),
    ``label``, ``what`` (the fields, as named to a reader), ``fields`` (their names),
    ``rule`` (the rule measured), ``shops_passing``, ``shops_rated``, ``share_before``,
    ``share`` (after the step), ``change`` (``share - share_before``; for ``end``, new
    minus old) and ``change_label`` (in pp). The steps' changes add up to the end's.
    """
    old_rule = ev.rule(old or ev.rules[0].name)
    new_rule = ev.rule(new or ev.rules[-1].name)
    steps = bridge_steps(old_rule, new_rule)
    counts = _passing(ev)
    have = {r.name: r for r in ev.rules}
    between = [s.rule for s in steps[:-1]]
    missing = [r for r in between if have.get(r.name) != r]
    if missing:
        if log is None:
            raise RuleError(
                f"the bridge from {old_rule.name} to {new_rule.name} evaluates "
                f"{len(missing)} rule(s) between them: pass the log, bridge_table(ev, log)."
            )
        counts.update(_passing(compare(log, missing, as_of=ev.as_of, chats=False)))

    def share(name: str) -> float | None:
        p, n = counts.get(name, (0, 0))
        return p / n if n else None

    def delta(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else b - a

    start = share(old_rule.name)
    rows = [
        (0, "start", old_rule.name, None, None, old_rule.name, start, None, None),
    ]
    before = start
    for i, s in enumerate(steps, 1):
        after = share(s.rule.name)
        rows.append(
            (i, "step", s.label, s.what, ",".join(s.fields), s.rule.name, after, before, None)
        )
        before = after
    end = share(new_rule.name)
    rows.append((len(steps) + 1, "end", new_rule.name, None, None, new_rule.name, end, None, None))
    out = pl.DataFrame(
        rows,
        schema={
            "step": pl.Int32,
            "kind": pl.String,
            "label": pl.String,
            "what": pl.String,
            "fields": pl.String,
            "rule": pl.String,
            "share": pl.Float64,
            "share_before": pl.Float64,
            "change": pl.Float64,
        },
        orient="row",
    )
    changes = [
        delta(b, a) if k == "step" else (delta(start, end) if k == "end" else None)
        for k, a, b in out.select("kind", "share", "share_before").iter_rows()
    ]
    return out.with_columns(
        pl.Series("change", changes, dtype=pl.Float64),
        pl.col("rule")
        .replace_strict({r: counts.get(r, (0, 0))[0] for r in out["rule"]}, return_dtype=pl.Int64)
        .alias("shops_passing"),
        pl.col("rule")
        .replace_strict({r: counts.get(r, (0, 0))[1] for r in out["rule"]}, return_dtype=pl.Int64)
        .alias("shops_rated"),
        pl.Series("change_label", [format_pp(c) if c is not None else None for c in changes]),
    ).select(
        "step",
        "kind",
        "label",
        "what",
        "fields",
        "rule",
        "shops_passing",
        "shops_rated",
        "share_before",
        "share",
        "change",
        "change_label",
    )


def largest_step(frame: pl.DataFrame) -> dict | None:
    """The step of a :func:`bridge_table` table that moves the share most (as a row dict, with
    ``part``: its change over the sum of all steps' absolute changes); None without steps.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.metrics import compare
        >>> log = sample_log()
        >>> step = largest_step(bridge_table(compare(log), log))  # a tie: the first of the two
        >>> step["what"], step["change_label"], step["part"]
        ('Valid-reply filter', '+33.3 pp', 0.5)
    """
    steps = frame.filter((pl.col("kind") == "step") & pl.col("change").is_not_null())
    total = steps["change"].abs().sum()
    if steps.height == 0 or not total:
        return None
    row = steps.sort(pl.col("change").abs(), "step", descending=[True, False]).row(0, named=True)
    return {**row, "part": abs(row["change"]) / total}
