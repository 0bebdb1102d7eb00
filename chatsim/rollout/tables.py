"""The rollout page's tables, from the daily table (see :mod:`chatsim.rollout`).

Example:
    >>> STATUSES
    ('meets', 'below', 'not_rated')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from chatsim.rules import Rule
from chatsim.schema import ChatLog

if TYPE_CHECKING:
    from chatsim.scenario import Scenario

__all__ = [
    "STANDING_LABELS",
    "STATUSES",
    "MOVED_TO_ADAPTATION",
    "TIERS",
    "context_daily",
    "daily_shares",
    "first_meeting",
    "in_force_status",
    "policy_dates",
    "rollout_daily",
    "rollout_range",
    "segment_shares",
    "standing",
    "switch_days",
    "switch_recovery",
    "tier_shares",
    "transitions",
    "with_labels",
]

#: A shop's standing on a day under the rule in force.
STATUSES: tuple[str, ...] = ("meets", "below", "not_rated")
#: The tiers of the shop table, best first (:meth:`chatsim.rules.Rule.tier`).
TIERS: tuple[str, ...] = ("meets", "below_target", "warning", "enforcement")
#: A shop's standing (:data:`STATUSES`) as a reader reads it.
STANDING_LABELS: dict[str, str] = {
    "meets": "Meets the target",
    "below": "Below the target",
    "not_rated": "Not rated",
}


def rollout_range(log: ChatLog, scenario: Scenario | None = None) -> tuple[dt.date, dt.date]:
    """The days a rollout page covers: the scenario's simulated period, or (a real log,
    ``scenario`` None) the log's own dates, first to last message (UTC).

    Example:
        >>> from chatsim.sample import sample_log
        >>> rollout_range(sample_log())
        (datetime.date(2025, 8, 1), datetime.date(2025, 9, 1))
    """
    if scenario is not None:
        first = scenario.period.start
        return first, first + dt.timedelta(days=scenario.period.days - 1)
    sent = log.messages["sent_at"]
    first, last = sent.min(), sent.max()
    if first is None or last is None:
        raise ValueError("the log has no messages: there is no day to show.")
    return _utc_date(first), _utc_date(last)


def _utc_date(ts: Any) -> dt.date:
    if ts.tzinfo is not None:
        ts = ts.astimezone(dt.UTC)
    return ts.date()


def _rule_index(daily: pl.DataFrame) -> pl.Expr:
    order = daily["rule"].unique(maintain_order=True).to_list()
    return pl.col("rule").replace_strict({r: i for i, r in enumerate(order)}, return_dtype=pl.Int32)


def standing(meets: pl.Expr) -> pl.Expr:
    """A shop's standing (:data:`STATUSES`) from its ``meets_target``.

    Example:
        >>> pl.select(standing(pl.lit(pl.Series([True, False, None]))))["literal"].to_list()
        ['meets', 'below', 'not_rated']
    """
    return (
        pl.when(meets.is_null())
        .then(pl.lit("not_rated"))
        .when(meets)
        .then(pl.lit("meets"))
        .otherwise(pl.lit("below"))
    )


def in_force_status(daily: pl.DataFrame) -> pl.DataFrame:
    """Each shop's row on each day under the rule in force that day (the last rule, in the
    daily table's order, with ``in_force``), with its ``status`` (:data:`STATUSES`), and
    ``last_status``: the standing of its last rated day up to then. Days on which no rule
    is in force have no rows. Sorted by shop and day.

    Example:
        >>> in_force_status(daily).columns[:4]  # doctest: +SKIP
        ['day', 'shop_id', 'rule', 'status']
    """
    force = daily.filter(pl.col("in_force")).with_columns(_o=_rule_index(daily))
    top = force.group_by("day").agg(pl.col("_o").max())
    keep = [c for c in daily.columns if c not in ("day", "shop_id", "rule")]
    return (
        force.join(top, on=["day", "_o"], how="semi")
        .drop("_o")
        .select("day", "shop_id", "rule", standing(pl.col("meets_target")).alias("status"), *keep)
        .sort("shop_id", "day")
        .with_columns(
            last_status=pl.when(pl.col("status") != "not_rated")
            .then(pl.col("status"))
            .forward_fill()
            .over("shop_id", order_by="day")
        )
    )


def switch_days(status: pl.DataFrame) -> list[dt.date]:
    """The days on which the rule in force differs from the day before's.

    Example:
        >>> switch_days(in_force_status(daily))  # doctest: +SKIP
        [datetime.date(2025, 8, 15)]
    """
    per_day = status.select("day", "rule").unique().sort("day")
    changed = per_day.filter(
        pl.col("rule") != pl.col("rule").shift(1), pl.col("day").shift(1).is_not_null()
    )
    return changed["day"].to_list()


def daily_shares(daily: pl.DataFrame) -> pl.DataFrame:
    """Per day and rule: shops rated, shops meeting the target, its ``share`` of the rated
    shops, whether the rule is in force and shown that day. Sorted by day, then rule in the
    daily table's order.

    Example:
        >>> daily_shares(daily).columns  # doctest: +SKIP
        ['day', 'rule', 'in_force', 'visible', 'shops_rated', 'shops_meeting', 'share']
    """
    return (
        daily.with_columns(_o=_rule_index(daily))
        .group_by("day", "rule", "_o")
        .agg(
            pl.col("in_force").first(),
            pl.col("visible").first(),
            shops_rated=pl.col("meets_target").is_not_null().sum(),
            shops_meeting=pl.col("meets_target").sum(),
        )
        .with_columns(share=pl.col("shops_meeting") / pl.col("shops_rated").replace(0, None))
        .sort("day", "_o")
        .drop("_o")
    )


def tier_shares(status: pl.DataFrame) -> pl.DataFrame:
    """Per day under the rule in force: the share of rated shops in each tier
    (:data:`TIERS`), one row per day and tier (zero when none), with the counts.

    Example:
        >>> tier_shares(in_force_status(daily)).columns  # doctest: +SKIP
        ['day', 'rule', 'tier', 'shops', 'shops_rated', 'share']
    """
    rated = status.filter(pl.col("tier").is_not_null())
    days = status.select("day", "rule").unique()
    grid = days.join(pl.DataFrame({"tier": list(TIERS)}), how="cross")
    counts = rated.group_by("day", "tier").agg(shops=pl.len())
    totals = rated.group_by("day").agg(shops_rated=pl.len())
    out = (
        grid.join(counts, on=["day", "tier"], how="left")
        .join(totals, on="day", how="left")
        .with_columns(pl.col("shops", "shops_rated").fill_null(0))
        .with_columns(share=pl.col("shops") / pl.col("shops_rated").replace(0, None))
        .with_columns(
            _t=pl.col("tier").replace_strict(
                {t: i for i, t in enumerate(TIERS)}, return_dtype=pl.Int32
            )
        )
    )
    return (
        out.sort("day", "_t")
        .drop("_t")
        .select(
            "day",
            "rule",
            "tier",
            pl.col("shops").cast(pl.Int64),
            pl.col("shops_rated").cast(pl.Int64),
            "share",
        )
    )


def segment_shares(daily: pl.DataFrame, segment: str) -> pl.DataFrame:
    """Per day, seller type (``segment``, a column of the shops table) and rule: the share
    of rated shops meeting the target, with the counts and ``in_force``.

    Example:
        >>> segment_shares(daily, "archetype").columns  # doctest: +SKIP
        ['day', 'segment', 'rule', 'in_force', 'shops_rated', 'shops_meeting', 'share']
    """
    return (
        daily.with_columns(_o=_rule_index(daily), segment=pl.col(segment).cast(pl.String))
        .group_by("day", "segment", "rule", "_o")
        .agg(
            pl.col("in_force").first(),
            shops_rated=pl.col("meets_target").is_not_null().sum(),
            shops_meeting=pl.col("meets_target").sum(),
        )
        .with_columns(share=pl.col("shops_meeting") / pl.col("shops_rated").replace(0, None))
        .sort("segment", "day", "_o", nulls_last=True)
        .drop("_o")
    )


def transitions(status: pl.DataFrame) -> pl.DataFrame:
    """Per day under the rule in force: shops that fall below the target (their last rated
    day met it) and shops that recover (their last rated day was below), with the counts
    meeting, below and not rated. The first day has no transitions.

    Example:
        >>> transitions(in_force_status(daily)).columns  # doctest: +SKIP
        ['day', 'rule', 'fell_below', 'recovered', 'meeting', 'below', 'not_rated']
    """
    prev = pl.col("last_status").shift(1).over("shop_id", order_by="day")
    return (
        status.with_columns(
            fell=(pl.col("status") == "below") & (prev == "meets"),
            rose=(pl.col("status") == "meets") & (prev == "below"),
        )
        .group_by("day", "rule")
        .agg(
            fell_below=pl.col("fell").fill_null(False).sum(),
            recovered=pl.col("rose").fill_null(False).sum(),
            meeting=(pl.col("status") == "meets").sum(),
            below=(pl.col("status") == "below").sum(),
            not_rated=(pl.col("status") == "not_rated").sum(),
        )
        .with_columns(
            pl.col("fell_below", "recovered", "meeting", "below", "not_rated").cast(pl.Int64)
        )
        .sort("day")
    )


def first_meeting(status: pl.DataFrame, starts: pl.DataFrame) -> pl.DataFrame:
    """Per ``shop_id`` of ``starts`` (with a ``from_day``): the first day on or after it
    the shop meets the target (``back_on``), null if never.

    Example:
        >>> st = pl.DataFrame({"shop_id": ["a", "a"], "status": ["below", "meets"],
        ...     "day": [dt.date(2025, 8, 1), dt.date(2025, 8, 2)]})
        >>> starts = pl.DataFrame({"shop_id": ["a"], "from_day": [dt.date(2025, 8, 1)]})
        >>> first_meeting(st, starts)["back_on"].to_list()
        [datetime.date(2025, 8, 2)]
    """
    return (
        status.join(starts.select("shop_id", "from_day"), on="shop_id")
        .filter(pl.col("day") >= pl.col("from_day"), pl.col("status") == "meets")
        .group_by("shop_id")
        .agg(back_on=pl.col("day").min())
    )


def switch_recovery(status: pl.DataFrame, switch_day: dt.date) -> pl.DataFrame:
    """The shops that fall below the target on ``switch_day`` (their last rated day before
    it met the rule then in force; on the day, below the new rule in force): their rate the
    day before and on the day, the first day they meet the target again (``back_on``) and
    ``days_to_recover`` (null: still below at the end). Sorted by shop.

    Example:
        >>> switch_recovery(in_force_status(daily), dt.date(2025, 8, 15))  # doctest: +SKIP
    """
    prev = pl.col("last_status").shift(1).over("shop_id", order_by="day")
    prev_rate = pl.col("response_rate").shift(1).over("shop_id", order_by="day")
    fell = status.with_columns(_prev=prev, rate_before=prev_rate).filter(
        pl.col("day") == switch_day, pl.col("status") == "below", pl.col("_prev") == "meets"
    )
    fell = fell.select("shop_id", "rate_before", rate_on_switch="response_rate").with_columns(
        from_day=pl.lit(switch_day + dt.timedelta(days=1), dtype=pl.Date)
    )
    back = first_meeting(status, fell)
    return (
        fell.join(back, on="shop_id", how="left")
        .with_columns(
            days_to_recover=(pl.col("back_on") - pl.lit(switch_day, dtype=pl.Date)).dt.total_days()
        )
        .drop("from_day")
        .sort("shop_id")
    )


def policy_dates(
    rules: Sequence[Rule], first: dt.date | None = None, last: dt.date | None = None
) -> pl.DataFrame:
    """The rules' dates as markers: the day a rule is first shown (``visible_from``), the
    day it comes into force (``effective_from``), and the day after its last one
    (``effective_until``) unless another rule starts then; within ``[first, last]``.

    Example:
        >>> from chatsim.rules import LEGACY_24H, NEW_12H
        >>> policy_dates([LEGACY_24H, NEW_12H])["label"].to_list()
        ['new-12h shown, without consequence', 'new-12h in force']
    """
    starts = {r.effective_from for r in rules if r.effective_from is not None}
    rows: list[tuple[dt.date, str, str]] = []
    for r in rules:
        if r.visible_from is not None and r.visible_from != r.effective_from:
            rows.append((r.visible_from, r.name, f"{r.name} shown, without consequence"))
        if r.effective_from is not None:
            rows.append((r.effective_from, r.name, f"{r.name} in force"))
        if r.effective_until is not None:
            after = r.effective_until + dt.timedelta(days=1)
            if after not in starts:
                rows.append((after, r.name, f"{r.name} no longer in force"))
    df = pl.DataFrame(
        rows, schema={"day": pl.Date, "rule": pl.String, "label": pl.String}, orient="row"
    )
    if first is not None:
        df = df.filter(pl.col("day") >= first)
    if last is not None:
        df = df.filter(pl.col("day") <= last)
    return df.sort("day", "rule")


def rollout_daily(
    log: ChatLog, rules: Sequence[Rule], scenario: Scenario | None = None
) -> pl.DataFrame:
    """The daily table a rollout page shows: :func:`chatsim.daily.compare_daily` over
    :func:`rollout_range` (the scenario's period, or a real log's own dates), each shop's
    days ending in its own time zone. A report run computes it once and stages it
    (``daily``); a notebook run alone computes it here.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.rules import NEW_12H
        >>> rollout_daily(sample_log(), [NEW_12H])["day"].n_unique()
        32
    """
    from chatsim.daily import compare_daily

    first, last = rollout_range(log, scenario)
    return compare_daily(log, list(rules), start=first, end=last)


def with_labels(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with its standing columns (``status``, ``last_status``, ``before``) as a reader
    reads them (:data:`STANDING_LABELS`), for tables on the page.

    Example:
        >>> with_labels(pl.DataFrame({"before": ["below", None]}))["before"].to_list()
        ['Below the target', None]
    """
    cols = [c for c in ("status", "last_status", "before") if c in df.columns]
    return df.with_columns(pl.col(c).replace(STANDING_LABELS) for c in cols)


def context_daily(ctx: Any) -> pl.DataFrame:
    """The daily table of a report notebook's context (:class:`chatsim.notebook.ReportContext`):
    the one the report run staged (``daily``), else :func:`rollout_daily` on its log (the
    scenario's period for a simulated log, the log's own dates for a real one).

    Example:
        >>> context_daily(ctx).columns[:3]  # doctest: +SKIP
        ['day', 'as_of', 'rule']
    """
    staged = ctx.results.table("daily") if ctx.results is not None else None
    if staged is not None:
        return staged
    scenario = None if ctx.params.get("real_log") else ctx.scenario
    return rollout_daily(ctx.log, ctx.rules, scenario)


#: Names that moved to :mod:`chatsim.rollout.adaptation`, still importable from here.
MOVED_TO_ADAPTATION = frozenset(
    {
        "ADAPTATION_COLUMNS",
        "CURVE_DAYS_BEFORE",
        "NO_ADAPTERS",
        "adaptation_curve",
        "adaptation_recovery",
        "adaptation_summary",
    }
)


def __getattr__(name: str) -> Any:
    """The adaptation tables' names, from :mod:`chatsim.rollout.adaptation` (imported on use:
    it builds on this module)."""
    if name in MOVED_TO_ADAPTATION:
        from chatsim.rollout import adaptation

        return getattr(adaptation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
