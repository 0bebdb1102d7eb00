"""What a rule measures, and which side of its target passes.

A :class:`~chatsim.rules.Rule` judges one figure per shop, its ``metric``:

* ``response_rate`` (the default): the chats answered within the window, read as a
  ``rate_kind``: ``share`` (answered in time / counted, today's rate), ``blended``
  (``blend_weight`` x the period's share + (1 - ``blend_weight``) x the share of the most
  recent ``recent_fraction`` of the period's counted chats, as Shopee's Chat Response Rate
  is publicly described) or ``late_share`` (answered late or not at all / counted, as
  Amazon's Late Response Rate: lower is better);
* ``average_response_time``: the mean (or median, ``time_statistic``) response time in
  hours of the answered counted chats (lower is better);
* ``satisfaction_rate``: the chats rated 4-5 stars (or ``satisfied``, when the log has
  no ``stars``) over the rated chats or over the chats received (``satisfaction_base``).

A figure where lower is better has a maximum as its target (``target_comparison:
at_most``); its warning and enforcement tiers then read the other way round (a figure
strictly above the boundary is in the tier). This module holds those definitions and
their checks; :mod:`chatsim.rules` declares the fields, :mod:`chatsim.engine.rates`
computes the figures.

Example:
    >>> from chatsim.rules import NEW_12H
    >>> late = NEW_12H.replace(name="late", rate_kind="late_share", target=0.1,
    ...                        target_comparison="at_most")
    >>> lower_is_better(late), late.meets(0.1), late.tier(0.2)
    (True, True, 'below_target')
    >>> measure_of(late)
    'late_share'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from chatsim.errors import RuleError
from chatsim.rulevalues import rate_or_number
from chatsim.yamlfile import check_number, shown

if TYPE_CHECKING:  # pragma: no cover
    from chatsim.rules import Rule

__all__ = [
    "ART_TARGET_HOURS",
    "COMING_RULE_SETTINGS",
    "MEASURES",
    "METRICS",
    "RATE_KINDS",
    "SATISFACTION_BASES",
    "SATISFACTION_TARGET",
    "TIME_STATISTICS",
    "Metric",
    "RateKind",
    "SatisfactionBase",
    "TimeStatistic",
    "check_kind",
    "describe_kind",
    "figure_is_share",
    "lower_is_better",
    "measure_of",
]

Metric = Literal["response_rate", "average_response_time", "satisfaction_rate"]
RateKind = Literal["share", "blended", "late_share"]
TimeStatistic = Literal["mean", "median"]
SatisfactionBase = Literal["rated", "received"]

#: What a rule measures (``Rule.metric``).
METRICS: tuple[str, ...] = ("response_rate", "average_response_time", "satisfaction_rate")
#: How a response-rate rule reads its chats (``Rule.rate_kind``).
RATE_KINDS: tuple[str, ...] = ("share", "blended", "late_share")
#: Which statistic of the response times an average-response-time rule judges.
TIME_STATISTICS: tuple[str, ...] = ("mean", "median")
#: The denominator of a satisfaction rule: the rated chats, or every chat received.
SATISFACTION_BASES: tuple[str, ...] = ("rated", "received")
#: The shop table's ``rule_measure`` values: what ``rule_value`` is.
MEASURES: tuple[str, ...] = (
    "response_rate",
    "blended_response_rate",
    "late_share",
    "mean_response_hours",
    "median_response_hours",
    "satisfaction_stars",
    "satisfaction_coarse",
)


def lower_is_better(rule: Rule) -> bool:
    """Whether the rule's figure passes at or below its target (a late share, a time).

    Example:
        >>> from chatsim.rules import NEW_12H
        >>> lower_is_better(NEW_12H)
        False
    """
    return rule.metric == "average_response_time" or (
        rule.metric == "response_rate" and rule.rate_kind == "late_share"
    )


def figure_is_share(rule: Rule) -> bool:
    """Whether the rule's figure is a share from 0 to 1 (a response rate of any kind, a
    satisfaction rate), not hours: what a chart of rates against targets can draw.

    Example:
        >>> from chatsim.rules import AVG_RESPONSE_TIME, NEW_12H
        >>> figure_is_share(NEW_12H), figure_is_share(AVG_RESPONSE_TIME)
        (True, False)
    """
    return rule.metric != "average_response_time"


def measure_of(rule: Rule, has_stars: bool = True) -> str:
    """The shop table's ``rule_measure`` of ``rule`` (one of :data:`MEASURES`);
    ``has_stars``: whether the log's chats carry 1-5 ``stars`` (else a satisfaction rule
    reads the coarse ``rating``).

    Example:
        >>> from chatsim.rules import NEW_12H
        >>> measure_of(NEW_12H), measure_of(NEW_12H.replace(rate_kind="blended"))
        ('response_rate', 'blended_response_rate')
    """
    if rule.metric == "average_response_time":
        return f"{rule.time_statistic}_response_hours"
    if rule.metric == "satisfaction_rate":
        return "satisfaction_stars" if has_stars else "satisfaction_coarse"
    return {"share": "response_rate", "blended": "blended_response_rate"}.get(
        rule.rate_kind, "late_share"
    )


def _one_of(rule: Rule, key: str, allowed: tuple[str, ...], where: str) -> None:
    v = getattr(rule, key)
    if v not in allowed:
        raise RuleError(f"{where}: {key} {shown(v)} is not one of {list(allowed)}.")


def _fraction(rule: Rule, key: str, where: str, *, lo_open: bool, hi_open: bool) -> None:
    v = check_number(getattr(rule, key), f"{where}: {key}", RuleError, lo=0, hi=1, percent=True)
    if (lo_open and v <= 0) or (hi_open and v >= 1):
        lo, hi = ("(" if lo_open else "[") + "0", "1" + (")" if hi_open else "]")
        raise RuleError(f"{where}: {key} must be in {lo}, {hi}, got {shown(getattr(rule, key))}.")
    object.__setattr__(rule, key, float(v))


def check_kind(rule: Rule, where: str) -> None:
    """Check the metric, its settings, the target, the tiers and the target's side
    (each wrong value a :class:`RuleError` naming ``where`` and the field).

    Example:
        >>> from chatsim.rules import NEW_12H
        >>> NEW_12H.replace(metric="average_response_time", target=2)
        Traceback (most recent call last):
        ...
        chatsim.errors.RuleError: rule 'new-12h': an average_response_time target is a maximum (hours): set target_comparison: at_most.
    """
    _one_of(rule, "metric", METRICS, where)
    _one_of(rule, "rate_kind", RATE_KINDS, where)
    _one_of(rule, "time_statistic", TIME_STATISTICS, where)
    _one_of(rule, "satisfaction_base", SATISFACTION_BASES, where)
    if rule.metric != "response_rate" and rule.rate_kind != "share":
        raise RuleError(
            f"{where}: rate_kind {shown(rule.rate_kind)} applies to the response_rate metric "
            f"only; this rule's metric is {rule.metric} (remove rate_kind)."
        )
    _fraction(rule, "blend_weight", where, lo_open=False, hi_open=False)
    _fraction(rule, "recent_fraction", where, lo_open=True, hi_open=False)
    hours = rule.metric == "average_response_time"
    if hours:
        rate_or_number(rule.target, f"{where}: target (hours)", lo=0, lo_open=True)
    else:
        rate_or_number(rule.target, f"{where}: target", lo=0, hi=1, lo_open=True)
    for tier in ("warning_below", "enforcement_below"):
        v = getattr(rule, tier)
        if v is not None:
            rate_or_number(v, f"{where}: {tier}", lo=0, hi=None if hours else 1)
    low = lower_is_better(rule)
    what = "an average_response_time" if hours else "a late_share"
    if low and rule.target_comparison != "at_most":
        unit = " (hours)" if hours else ""
        raise RuleError(
            f"{where}: {what} target is a maximum{unit}: set target_comparison: at_most."
        )
    if not low and rule.target_comparison == "at_most":
        raise RuleError(
            f"{where}: target_comparison at_most is for a figure where lower is better "
            "(rate_kind: late_share, or metric: average_response_time); use at_least or "
            "more_than."
        )
    warn, enf = rule.warning_below, rule.enforcement_below
    if warn is not None and enf is not None:
        if not low and enf > warn:
            raise RuleError(f"{where}: enforcement_below must not exceed warning_below.")
        if low and enf < warn:
            raise RuleError(
                f"{where}: for a maximum target the tiers read upwards (a figure above the "
                "boundary is in the tier): enforcement_below must not be under warning_below."
            )
    if hours and rule.default_rate is not None:
        raise RuleError(
            f"{where}: default_rate is a rate, and an average_response_time rule has no "
            "default figure; remove default_rate (a shop under min_chats is then not rated)."
        )


def _hours(v: float) -> str:
    return f"{v:g} h"


def _pct(v: float) -> str:
    return f"{v:.0%}"


def describe_kind(rule: Rule, due: str | None = None) -> list[str]:
    """The first parts of :meth:`Rule.describe`: what is measured, the target and its
    tiers (each the right way round). ``due`` says when a chat is due (default:
    ``answered within <window> h``).

    Example:
        >>> from chatsim.rules import NEW_12H
        >>> late = NEW_12H.replace(rate_kind="late_share", target=0.1, target_comparison="at_most")
        >>> describe_kind(late)[0]
        'new-12h: share late or unanswered (due: answered within 12 h), target at most 10%'
    """
    due = due or f"answered within {rule.window_hours:g} h"
    fmt = _hours if rule.metric == "average_response_time" else _pct
    side = {"more_than": "more than", "at_least": "at least", "at_most": "at most"}[
        rule.target_comparison
    ]
    if rule.metric == "average_response_time":
        autos = (
            "automatic replies count"
            if rule.auto_reply == "count_as_answer"
            else ("automatic replies excluded")
        )
        what = f"{rule.time_statistic} response time of answered chats ({autos})"
    elif rule.metric == "satisfaction_rate":
        base = "rated chats" if rule.satisfaction_base == "rated" else "chats received"
        what = f"chats rated 4-5 stars (or satisfied) over {base}"
    elif rule.rate_kind == "late_share":
        what = f"share late or unanswered (due: {due})"
    else:
        what = due
        if rule.rate_kind == "blended":
            w = rule.blend_weight
            what += (
                f", blended {_pct(w)} period + {_pct(1 - w)} most recent "
                f"{_pct(rule.recent_fraction)} of chats"
            )
    parts = [f"{rule.name}: {what}, target {side} {fmt(rule.target)}"]
    word = "above" if lower_is_better(rule) else "below"
    if rule.warning_below is not None:
        parts.append(f"warning {word} {fmt(rule.warning_below)}")
    if rule.enforcement_below is not None:
        parts.append(f"enforcement {word} {fmt(rule.enforcement_below)}")
    return parts


#: Average Response Time target of the built-in ``avg-response-time`` rule, in hours: the
#: public advice ("respond within 2 hours").
ART_TARGET_HOURS = 2.0
#: Chat Satisfaction target of the built-in ``chat-satisfaction`` rule: an assumption (no
#: public figure), at least 80 % of the rated chats rated 4-5 stars.
SATISFACTION_TARGET = 0.80

#: The settings of the coming Shop Health rules (``chatsim.rules.AVG_RESPONSE_TIME`` and
#: ``CHAT_SATISFACTION``): same period, exclusions and pending horizon as ``new-12h``, no
#: dates (coming).
COMING_RULE_SETTINGS: tuple[dict[str, Any], ...] = (
    {
        "name": "avg-response-time",
        "metric": "average_response_time",
        "time_statistic": "mean",
        "target": ART_TARGET_HOURS,
        "target_comparison": "at_most",
        "boosts_store_rating": True,
        "description": "Average Response Time (coming to Shop Health): mean time to the first "
        "human response of the answered chats over the last 30 days, automatic replies "
        "excluded; target within 2 hours (public advice).",
    },
    {
        "name": "chat-satisfaction",
        "metric": "satisfaction_rate",
        "satisfaction_base": "rated",
        "target": SATISFACTION_TARGET,
        "target_comparison": "at_least",
        "boosts_store_rating": True,
        "description": "Chat Satisfaction Rate (coming to Shop Health): share of the rated "
        "chats of the last 30 days rated 4-5 stars (satisfied, when the log has no stars); "
        "target at least 80 % (an assumption: no public figure).",
    },
)
