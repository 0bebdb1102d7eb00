"""What a reader is told about replications: key numbers as ranges, what the ranges mean,
and when they are too wide to support a conclusion.

Everything here reads a :class:`~chatsim.replications.Replications` run (the scenario
simulated ``n`` times, every headline figure summarised as a mean with a 95 % interval):

* :func:`interval_key_numbers`: the key-number strip with each value an interval,
  ``"30.1–34.6 %"`` (the shape of :class:`~chatsim.explain.headline.Headline`:
  :meth:`IntervalHeadline.as_frame` gives ``key``, ``label``, ``value``, ``detail``);
* :func:`interval_takeaways`: the overall takeaway written with ranges, then a warning per
  interval too wide to support a conclusion (:func:`interval_warnings`);
* :func:`interval_reading`: a short paragraph saying in plain words what the intervals mean.

An interval is **too wide** when its half-width is more than :data:`WIDE_SHARE` (5 pp) for
a share or a change of share, or more than :data:`WIDE_COUNT` (a quarter) of the mean for a
count of shops (and at least one shop); a change whose interval holds zero cannot tell the
direction of the change. With one replication there is no interval at all.

Example:
    >>> from chatsim.scenario import Scenario
    >>> from chatsim.replications import run_replications
    >>> sc = Scenario.from_dict({"name": "d", "seed": 3, "shops": 8,
    ...     "period": {"start": "2025-08-15", "days": 4},
    ...     "archetypes": {"agency_247": {"share": 0.5}, "solo_weekdays": {"share": 0.5}}})
    >>> rep = run_replications(sc, 3, bridge=False, sweep=False, what_if=False)
    >>> interval_key_numbers(rep).as_frame()["key"].to_list()[:3]
    ['passing_old', 'passing_new', 'share_change']
    >>> interval_warnings(rep)[0][:40]
    'The share of shops meeting legacy-24h is'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from chatsim.explain.formats import format_count, format_pp, format_range, format_share
from chatsim.explain.keynumbers import KeyNumberItems
from chatsim.explain.labels import segment_label
from chatsim.explain.takeaways import Takeaway

if TYPE_CHECKING:
    from chatsim.replications import Interval, Replications

__all__ = [
    "WIDE_COUNT",
    "WIDE_SHARE",
    "IntervalHeadline",
    "interval_key_numbers",
    "interval_reading",
    "interval_takeaways",
    "interval_warnings",
    "is_too_wide",
]

#: A share's (or a change of share's) interval is too wide past this half-width (5 pp).
WIDE_SHARE = 0.05
#: A count's interval is too wide past this half-width, relative to its mean (a quarter).
WIDE_COUNT = 0.25


def is_too_wide(iv: Interval, kind: str = "share") -> bool:
    """Whether an interval is too wide to support a conclusion (see the module text); an
    interval that could not be made (fewer than two replications) is.

    Example:
        >>> from chatsim.replications import mean_interval
        >>> is_too_wide(mean_interval([0.30, 0.32, 0.31])), is_too_wide(mean_interval([0.2, 0.5]))
        (False, True)
    """
    if iv.half_width is None:
        return True
    if kind == "count":
        return iv.half_width >= 1 and iv.half_width > WIDE_COUNT * abs(iv.mean or 0.0)
    return iv.half_width > WIDE_SHARE


def _range(iv: Interval, kind: str) -> str:
    if iv.low is None:
        single = {"share": format_share, "pp": format_pp, "count": format_count}[kind]
        return single(iv.mean)
    return format_range(iv.low, iv.high, kind)  # type: ignore[arg-type]


def _mean(iv: Interval, kind: str) -> str:
    if kind == "count":
        return f"{iv.mean:,.1f}" if iv.mean is not None else format_count(None)
    return (format_pp if kind == "pp" else format_share)(iv.mean)


@dataclass(frozen=True)
class IntervalHeadline(KeyNumberItems):
    """The key numbers of a replication run, as ranges: ``items`` holds ``(key, label,
    value, detail)`` rows in the strip's order."""


def interval_key_numbers(rep: Replications) -> IntervalHeadline:
    """Shops meeting each rule, the change, shops losing and gaining status, each rule's
    overall rate and the most affected segment, each as its 95 % interval over the
    replications (the detail line gives the mean and the number of replications).

    Example:
        >>> interval_key_numbers(rep).rows()[0]  # doctest: +SKIP
        ('Meet legacy-24h', '63.2–64.7 %', 'mean 64.0 % over 20 replications')
    """
    n = f"over {format_count(rep.n)} replication{'s' if rep.n != 1 else ''}"

    def row(key: str, lab: str, iv: Interval, kind: str, extra: str = "") -> tuple:
        return (key, lab, _range(iv, kind), f"mean {_mean(iv, kind)} {n}{extra}")

    old, new = rep.old, rep.new
    flips = {m: rep.interval("flips", m) for m in ("loses", "gains")}
    near = {m: rep.interval("flips", f"{m}_within_noise") for m in ("loses", "gains")}

    def noise(m: str) -> str:
        iv = near[m]
        if round(iv.high if iv.high is not None else iv.mean or 0.0) == 0:
            return ""
        return f"; {_range(iv, 'count')} within noise of a target"

    items = [
        row(
            "passing_old", f"Meet {old}", rep.interval("rules", "share_passing", rule=old), "share"
        ),
        row(
            "passing_new", f"Meet {new}", rep.interval("rules", "share_passing", rule=new), "share"
        ),
        row(
            "share_change",
            "Change in the share passing",
            rep.interval("flips", "share_change"),
            "pp",
        ),
        row("loses", "Lose status", flips["loses"], "count", noise("loses")),
        row("gains", "Gain status", flips["gains"], "count", noise("gains")),
        row(
            "rate_old",
            f"Overall rate, {old}",
            rep.interval("rules", "overall_rate", rule=old),
            "share",
        ),
        row(
            "rate_new",
            f"Overall rate, {new}",
            rep.interval("rules", "overall_rate", rule=new),
            "share",
        ),
    ]
    changes = rep.summary("segment_changes")
    if changes.height:
        top = changes.sort(pl.col("mean").abs(), "segment", descending=[True, False]).row(
            0, named=True
        )
        iv = rep.interval("segment_changes", "change", segment=top["segment"])
        noun = "seller type" if rep.segment_by == "archetype" else "segment"
        items.append(
            (
                "most_affected",
                f"Most affected {noun}",
                _range(iv, "pp"),
                f"{segment_label(top['segment'])}: mean {_mean(iv, 'pp')} {n}",
            )
        )
    return IntervalHeadline(tuple(items))


def interval_reading(rep: Replications | int) -> str:
    """What the ranges mean, in plain words: one paragraph for a run (or a number) of
    replications.

    Example:
        >>> interval_reading(20)[:47]
        'These figures come from 20 simulations of the s'
    """
    n = rep if isinstance(rep, int) else rep.n
    runs = format_count(n)
    text = (
        f"These figures come from {runs} simulations of the scenario, each with its own random "
        "seed: the shops, their buyers and their chats differ from run to run, the rules do "
        "not. Each range is a 95 % interval for the figure's average over such runs: repeat "
        f"the whole exercise many times, and about 95 in 100 such ranges hold that average. "
        "A narrow range means chance moves the figure little; when the ranges of two figures "
        "do not overlap, chance alone does not explain the difference between them (when they "
        "overlap, it may or may not). The ranges measure the simulation's randomness only: "
        "they say nothing about whether the scenario describes the marketplace well."
    )
    if n < 2:
        text += " With a single simulation there is no range: each figure is that run's value."
    return text


def _too_wide(what: str, iv: Interval, kind: str, runs: str) -> str:
    if kind == "count":
        width, limit = f"±{iv.half_width:,.1f} shops", "a quarter of the mean"
    else:
        width, limit = format_pp(iv.half_width).replace("+", "±"), format_pp(WIDE_SHARE)
        limit = limit.replace("+", "±")
    return (
        f"{what} is only known to within {width} ({_range(iv, kind)}) after {runs}: too wide "
        f"to support a conclusion (more than {limit}); run more replications or simulate "
        "more shops."
    )


def interval_warnings(rep: Replications) -> list[str]:
    """One sentence per headline interval too wide to support a conclusion (see the module
    text), plus one per table of many figures (segments, the sensitivity grid, the bridge,
    the what-ifs) saying how many of its intervals are too wide; empty when all are narrow.
    """
    runs = f"{format_count(rep.n)} replication{'s' if rep.n != 1 else ''}"
    if rep.n < 2:
        return [
            f"Only {runs}: no figure has an interval, so none can be told apart from chance; "
            "set analysis.replications to 20 or more."
        ]
    out = []
    for rule in rep.rules:
        iv = rep.interval("rules", "share_passing", rule=rule)
        if is_too_wide(iv):
            out.append(_too_wide(f"The share of shops meeting {rule}", iv, "share", runs))
    change = rep.interval("flips", "share_change")
    if is_too_wide(change, "pp"):
        out.append(_too_wide("The change in the share passing", change, "pp", runs))
    elif change.low is not None and change.low < 0 < change.high:  # type: ignore[operator]
        out.append(
            f"The change in the share passing ({_range(change, 'pp')}) may be zero: these "
            f"{runs} cannot tell whether {rep.new} passes more shops than {rep.old} or fewer."
        )
    for m, what in (("loses", "shops that lose status"), ("gains", "shops that gain status")):
        iv = rep.interval("flips", m)
        if is_too_wide(iv, "count"):
            out.append(_too_wide(f"The number of {what}", iv, "count", runs))
    many = {
        "segments": ("share_passing", "share", "shares of a seller type passing a rule"),
        "sweep": ("share_passing", "share", "cells of the sensitivity grid"),
        "bridge": ("change", "pp", "steps of the bridge"),
        "what_if": ("rescued", "count", "what-if variants' rescued shops"),
    }
    for table, (measure, kind, what) in many.items():
        s = rep.summary(table).filter(pl.col("measure") == measure)
        if table == "bridge":
            s = s.filter(pl.col("kind") == "step")
        if s.height == 0:
            continue
        wide = sum(is_too_wide(_as_interval(r), kind) for r in s.iter_rows(named=True))
        if wide:
            have = "has an interval" if wide == 1 else "have intervals"
            out.append(
                f"{format_count(wide)} of the {format_count(s.height)} {what} {have} too wide "
                f"to support a conclusion after {runs}."
            )
    return out


def _as_interval(row: dict) -> Interval:
    from chatsim.replications import Interval

    return Interval(
        row["mean"], row["low"], row["high"], row["half_width"], row["sd"], row["replications"]
    )


def interval_takeaways(rep: Replications) -> list[Takeaway]:
    """The overall takeaway with ranges (``intervals``), then one ``too_wide`` takeaway per
    warning of :func:`interval_warnings`.

    Example:
        >>> [t.key for t in interval_takeaways(rep)][0]  # doctest: +SKIP
        'intervals'
    """
    a = _range(rep.interval("rules", "share_passing", rule=rep.old), "share")
    b = _range(rep.interval("rules", "share_passing", rule=rep.new), "share")
    d = _range(rep.interval("flips", "share_change"), "pp")
    lose = _range(rep.interval("flips", "loses"), "count")
    gain = _range(rep.interval("flips", "gains"), "count")
    runs = format_count(rep.n)
    text = (
        f"Over {runs} replications, {a} of rated shops meet {rep.old} and {b} meet {rep.new} "
        f"({d}); {lose} shops lose status and {gain} gain it (95 % intervals)."
    )
    found = [Takeaway("intervals", text, (runs, a, b, d, lose, gain))]
    found += [Takeaway("too_wide", w, ()) for w in interval_warnings(rep)]
    return found
