"""The data behind the report charts: small polars frames aggregated from an evaluation.

Charts (:mod:`chatsim.charts`) draw these frames and never aggregate themselves, so
each aggregation is tested on its own and no chart gets more rows than it shows
(Altair refuses over 5,000). Nothing here imports Altair.

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> ev = compare(sample_log())
    >>> rate_histogram_data(ev)["rule"].unique().sort().to_list()
    ['legacy-24h', 'new-12h']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from chatsim.explain.formats import MISSING, format_range
from chatsim.explain.labels import (
    WEEKDAYS,
    column_label,
    format_hours,
    format_share,
    label,
    segment_label,
)
from chatsim.explain.rulefigures import target_text
from chatsim.metrics import Evaluation, local_time
from chatsim.rulekinds import figure_is_share
from chatsim.rules import EXCLUSIONS, Rule
from chatsim.schema import ChatLog

if TYPE_CHECKING:
    from chatsim.replications import Replications

__all__ = [
    "WEEKDAYS",
    "bridge_chart_data",
    "hour_of_week_data",
    "hours_histogram_data",
    "interval_data",
    "rule_points_data",
    "rate_histogram_data",
    "response_time_histogram_data",
    "shop_chats_local",
    "shop_timeline_data",
    "target_explorer_data",
    "targets_data",
]


def rate_histogram_data(ev: Evaluation, bin_width: float = 0.025) -> pl.DataFrame:
    """Shops per bin of the rule's figure (``rule_value``) and rule, for the rules whose
    figure is a share (:func:`~chatsim.rulekinds.figure_is_share`; rated shops only)."""
    shares = [r.name for r in ev.rules if figure_is_share(r)]
    return (
        ev.shops.filter(pl.col("rule").is_in(shares) & pl.col("rule_value").is_not_null())
        .with_columns(
            ((pl.col("rule_value") / bin_width).floor().clip(0, 1 / bin_width - 1) * bin_width)
            .round(6)
            .alias("bin_start")
        )
        .group_by("rule", "bin_start")
        .agg(pl.len().alias("shops"))
        .with_columns((pl.col("bin_start") + bin_width).round(6).alias("bin_end"))
        .sort("rule", "bin_start")
    )


def hours_histogram_data(
    ev: Evaluation, bin_hours: float = 0.5, max_hours: float = 24.0
) -> pl.DataFrame:
    """Shops per bin of the rule's figure in hours (a response-time rule's ``rule_value``)
    and rule; the last bin, from ``max_hours``, holds every later figure.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.metrics import compare
        >>> from chatsim.rules import AVG_RESPONSE_TIME
        >>> d = hours_histogram_data(compare(sample_log(), [AVG_RESPONSE_TIME]))
        >>> d["rule"].unique().to_list(), int(d["shops"].sum())
        (['avg-response-time'], 3)
    """
    hours = [r.name for r in ev.rules if not figure_is_share(r)]
    return (
        ev.shops.filter(pl.col("rule").is_in(hours) & pl.col("rule_value").is_not_null())
        .with_columns(
            ((pl.col("rule_value") / bin_hours).floor() * bin_hours)
            .clip(0, max_hours)
            .round(6)
            .alias("bin_start")
        )
        .group_by("rule", "bin_start")
        .agg(pl.len().alias("shops"))
        .with_columns((pl.col("bin_start") + bin_hours).round(6).alias("bin_end"))
        .sort("rule", "bin_start")
    )


def targets_data(ev: Evaluation) -> pl.DataFrame:
    """One row per rule with its target (and tiers) for rule lines on charts: ``label``
    says the side when the target is a maximum, and the unit (``"at most 2 h"``);
    ``share`` whether the figure is drawn on a share axis (else hours)."""

    def text(r: Rule) -> str:
        if figure_is_share(r) and r.target_comparison != "at_most":
            return format_share(r.target, 0)
        return target_text(r)

    return pl.DataFrame(
        {
            "rule": [r.name for r in ev.rules],
            "target": [float(r.target) for r in ev.rules],
            "window_hours": [r.window_hours for r in ev.rules],
            "label": [f"{r.name} target {text(r)}" for r in ev.rules],
            "share": [figure_is_share(r) for r in ev.rules],
        }
    )


def response_time_histogram_data(
    ev: Evaluation, rule: str | None = None, max_hours: float = 72.0, bin_hours: float = 1.0
) -> pl.DataFrame:
    """Answered counted chats per response-time bin (hours; the last bin holds everything later)."""
    rule = rule or ev.rules[-1].name
    return (
        ev.chats.filter(
            (pl.col("rule") == rule) & pl.col("status").is_in(["answered_in_time", "answered_late"])
        )
        .with_columns(
            ((pl.col("response_s") / 3600 / bin_hours).floor() * bin_hours)
            .clip(0, max_hours)
            .alias("bin_start")
        )
        .group_by("bin_start")
        .agg(pl.len().alias("chats"))
        .with_columns(
            (pl.col("bin_start") + bin_hours).alias("bin_end"),
            pl.lit(rule).alias("rule"),
        )
        .sort("bin_start")
    )


def hour_of_week_data(
    ev: Evaluation,
    log: ChatLog,
    rule: str | None = None,
    statuses: tuple[str, ...] = ("unanswered",),
) -> pl.DataFrame:
    """Chats with the given statuses by the shop-local weekday and hour they opened (all 168 cells)."""
    rule = rule or ev.rules[-1].name
    zones = sorted(log.shops["timezone"].unique().to_list())
    c = (
        ev.chats.filter((pl.col("rule") == rule) & pl.col("status").is_in(list(statuses)))
        .join(log.shops.select("shop_id", "timezone"), on="shop_id", how="left")
        .with_columns(local_time(pl.col("open_at"), zones).alias("_local"))
        .group_by(
            pl.col("_local").dt.weekday().alias("weekday_no"),
            pl.col("_local").dt.hour().alias("hour"),
        )
        .agg(pl.len().alias("chats"))
    )
    grid = pl.DataFrame({"weekday_no": list(range(1, 8))}, schema={"weekday_no": pl.Int8}).join(
        pl.DataFrame({"hour": list(range(24))}, schema={"hour": pl.Int8}), how="cross"
    )
    return (
        grid.join(
            c.cast({"weekday_no": pl.Int8, "hour": pl.Int8}), on=["weekday_no", "hour"], how="left"
        )
        .with_columns(
            pl.col("chats").fill_null(0).cast(pl.Int64),
            pl.col("weekday_no")
            .replace_strict(dict(enumerate(WEEKDAYS, 1)), return_dtype=pl.String)
            .alias("weekday"),
        )
        .sort("weekday_no", "hour")
    )


def shop_timeline_data(ev: Evaluation, shop_id: str, rule: str | None = None) -> pl.DataFrame:
    """One shop's chats under a rule: open, answer, deadline and status (for the drill-down)."""
    rule = rule or ev.rules[-1].name
    return (
        ev.chats.filter((pl.col("rule") == rule) & (pl.col("shop_id") == shop_id))
        .select(
            "conversation_id",
            "chat_seq",
            "open_at",
            "answer_at",
            "deadline",
            "status",
            "excluded_reason",
            "n_buyer_messages",
            (pl.col("response_s") / 3600).alias("response_hours"),
        )
        .with_columns(pl.col("status").cast(pl.String), pl.col("excluded_reason").cast(pl.String))
        .sort("open_at")
    )


def shop_chats_local(ev: Evaluation, shop_id: str) -> pl.DataFrame:
    """One shop's chats under every rule of the evaluation, times in the shop's local time
    (naive datetimes, so charts show the shop's clock) and statuses as labels.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.metrics import compare
        >>> shop_chats_local(compare(sample_log()), "shop_b")["rule"].unique().sort().to_list()
        ['legacy-24h', 'new-12h']
    """
    zone = ev.shops.filter(pl.col("shop_id") == shop_id)["timezone"]
    tz = str(zone[0]) if zone.len() else "UTC"
    order = {r.name: i for i, r in enumerate(ev.rules)}

    def local(col: str) -> pl.Expr:
        return pl.col(col).dt.convert_time_zone(tz).dt.replace_time_zone(None)

    return (
        ev.chats.filter(pl.col("shop_id") == shop_id)
        .select(
            "rule",
            "conversation_id",
            local("open_at").alias("opened"),
            local("answer_at").alias("answered"),
            local("deadline").alias("deadline"),
            pl.col("status").cast(pl.String),
            pl.col("excluded_reason").cast(pl.String),
            "n_buyer_messages",
            (pl.col("response_s") / 3600).alias("response_hours"),
        )
        .with_columns(
            pl.col("status")
            .replace_strict({s: label(s, "status") for s in STATUS_CODES}, default=pl.col("status"))
            .alias("status_label"),
            pl.col("excluded_reason")
            .replace_strict(
                {s: label(s, "reason") for s in REASON_CODES}, default=pl.col("excluded_reason")
            )
            .fill_null("")
            .alias("excluded_because"),
            pl.coalesce("answered", "deadline").alias("until"),
            pl.col("rule").replace_strict(order, return_dtype=pl.Int32).alias("_o"),
        )
        .sort("_o", "opened", "conversation_id")
        .drop("_o")
    )


#: Chat statuses and exclusion reasons in the order charts list them.
STATUS_CODES: tuple[str, ...] = (
    "answered_in_time",
    "answered_late",
    "unanswered",
    "pending",
    "excluded",
    "outside_period",
)
REASON_CODES: tuple[str, ...] = EXCLUSIONS


def bridge_chart_data(steps: pl.DataFrame) -> pl.DataFrame:
    """The bars of the bridge (waterfall) chart from a :func:`~chatsim.explain.bridge_table`
    table: ``lo``/``hi`` of each bar (start and end bars from 0), its label and direction.

    Example:
        >>> t = pl.DataFrame({"step": [0, 1, 2], "kind": ["start", "step", "end"],
        ...     "label": ["old", "Target 90 % → 85 %", "new"], "share_before": [None, 0.5, None],
        ...     "share": [0.5, 0.7, 0.7], "change_label": [None, "+20.0 pp", "+20.0 pp"]})
        >>> bridge_chart_data(t).select("lo", "hi", "direction").rows()
        [(0.0, 0.5, 'rule'), (0.5, 0.7, 'up'), (0.0, 0.7, 'rule')]
    """
    full = pl.col("kind") != "step"
    before = pl.col("share_before").fill_null(pl.col("share"))
    return steps.sort("step").select(
        "step",
        "kind",
        "label",
        pl.when(full).then(0.0).otherwise(pl.min_horizontal(before, "share")).alias("lo"),
        pl.when(full)
        .then(pl.col("share"))
        .otherwise(pl.max_horizontal(before, "share"))
        .alias("hi"),
        "share",
        pl.when(full)
        .then(pl.lit("rule"))
        .when(pl.col("share") >= before)
        .then(pl.lit("up"))
        .otherwise(pl.lit("down"))
        .alias("direction"),
        pl.when(full)
        .then(pl.col("share").map_elements(format_share, return_dtype=pl.String))
        .otherwise(pl.col("change_label"))
        .alias("text"),
    )


def rule_points_data(rules: list[Rule], sweep_df: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per rule: its window and target (and, from a sweep, the share passing at that
    point if the grid has it) for marking the rules on sensitivity charts. Only plain
    response-rate rules: a sweep varies the share of chats answered in time, so a blended
    or late share, a response time or a satisfaction rate has no point on it.

    Example:
        >>> from chatsim.rules import LEGACY_24H, NEW_12H
        >>> rule_points_data([LEGACY_24H, NEW_12H])["label"].to_list()
        ['legacy-24h: 24 h, 90 %', 'new-12h: 12 h, 85 %']
    """
    rules = [r for r in rules if r.metric == "response_rate" and r.rate_kind == "share"]
    df = pl.DataFrame(
        {
            "rule": [r.name for r in rules],
            "window_hours": [float(r.window_hours) for r in rules],
            "target": [float(r.target) for r in rules],
            "label": [
                f"{r.name}: {format_hours(r.window_hours)}, {format_share(r.target, 0)}"
                for r in rules
            ],
            "window": [format_hours(r.window_hours) for r in rules],
            "target_label": [format_share(r.target, 0) for r in rules],
        },
        schema={
            "rule": pl.String,
            "window_hours": pl.Float64,
            "target": pl.Float64,
            "label": pl.String,
            "window": pl.String,
            "target_label": pl.String,
        },
    )
    if sweep_df is None:
        return df
    grid = sweep_df.select("window_hours", pl.col("target").round(6).alias("_t"), "share_passing")
    return (
        df.with_columns(pl.col("target").round(6).alias("_t"))
        .join(grid, on=["window_hours", "_t"], how="left", maintain_order="left")
        .drop("_t")
    )


def target_explorer_data(
    ev: Evaluation, window_rates: pl.DataFrame | None = None, by: str | None = None
) -> pl.DataFrame:
    """Shops per whole-percent response rate, per rule (and per window of the new rule from
    :func:`chatsim.analysis.window_rates`) and segment: the small table behind the target
    slider, where the share passing at any whole-percent target is a sum in the browser.

    ``pct`` is the rate floored to a whole percent, so ``pct >= k`` exactly when the rate
    meets a ``k`` % target. Columns: ``kind`` (``rule`` or ``window``), ``source`` (the rule
    name or the window as ``"12 h"``), ``segment`` (a label), ``pct``, ``shops``.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.metrics import compare
        >>> d = target_explorer_data(compare(sample_log()), by="segment")
        >>> d["shops"].sum(), d["kind"].unique().to_list()
        (6, ['rule'])
    """
    pct = (pl.col("response_rate") * 100 + 1e-9).floor().cast(pl.Int32).alias("pct")
    seg = (pl.col(by).cast(pl.String).fill_null("—") if by else pl.lit("All shops")).alias(
        "segment"
    )
    parts = [
        ev.shops.filter(pl.col("response_rate").is_not_null()).select(
            pl.lit("rule").alias("kind"), pl.col("rule").alias("source"), seg, pct
        )
    ]
    if window_rates is not None:
        parts.append(
            window_rates.select(
                pl.lit("window").alias("kind"),
                pl.col("window_hours")
                .map_elements(format_hours, return_dtype=pl.String)
                .alias("source"),
                seg,
                pct,
            )
        )
    out = (
        pl.concat(parts)
        .group_by("kind", "source", "segment", "pct")
        .agg(pl.len().cast(pl.Int64).alias("shops"))
        .sort("kind", "source", "segment", "pct")
    )
    if by:
        codes = out["segment"].unique().to_list()
        out = out.with_columns(
            pl.col("segment").replace_strict({c: segment_label(c) for c in codes})
        )
    return out


def interval_data(rep: Replications, table: str, measure: str | Sequence[str]) -> pl.DataFrame:
    """Figures of a replication run (:class:`chatsim.replications.Replications`), one per
    row, to draw as a point with an error bar or a band: the table's keys, ``measure``,
    ``mean``, ``low``, ``high``, ``replications``, plus ``name`` (what the row is, as a
    reader names it: the rule, the seller type, the bridge step, the window as ``"12 h"``,
    the what-if variant, or the measure), ``measure_label`` and ``range`` (the interval as
    text: ``"30.1–34.6 %"``, ``"−4.2 to −1.0 pp"``, ``"68–84"``).

    Example:
        >>> from chatsim.scenario import Scenario
        >>> from chatsim.replications import run_replications
        >>> sc = Scenario.from_dict({"name": "d", "seed": 3, "shops": 6,
        ...     "period": {"start": "2025-08-15", "days": 3},
        ...     "archetypes": {"agency_247": {"share": 1.0}}})
        >>> rep = run_replications(sc, 2, bridge=False, sweep=False, what_if=False)
        >>> interval_data(rep, "rules", "share_passing")["name"].to_list()
        ['legacy-24h', 'new-12h']
    """
    measures = [measure] if isinstance(measure, str) else list(measure)
    s = rep.summary(table).filter(pl.col("measure").is_in(measures))
    rows = s.to_dicts()

    from chatsim.replications.figures import BOUNDS

    def kind(m: str) -> str:
        """From the values the measure can take (a share by default): counts have no top,
        changes go below 0."""
        low, high = BOUNDS.get(m, (0.0, 1.0))
        return "count" if high is None else "pp" if low < 0 else "share"

    def name(r: dict) -> str:
        if "segment" in r:
            return segment_label(r["segment"])
        if "window_hours" in r:
            return format_hours(r["window_hours"])
        for key in ("what_if", "label", "rule"):
            if key in r:
                return str(r[key])
        return column_label(r["measure"])

    return s.with_columns(
        pl.Series("name", [name(r) for r in rows], dtype=pl.String),
        pl.Series("measure_label", [column_label(r["measure"]) for r in rows], dtype=pl.String),
        pl.Series(
            "range",
            [
                MISSING
                if r["low"] is None
                else format_range(r["low"], r["high"], kind(r["measure"]))
                for r in rows
            ],
            dtype=pl.String,
        ),
    )
