"""The rollout page's key numbers and takeaways, written from the daily table.

Example:
    >>> import datetime as dt
    >>> _day(dt.date(2025, 8, 15))
    '15 Aug'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from chatsim.explain.formats import format_count, format_pp, format_share
from chatsim.explain.takeaways import Takeaway
from chatsim.rollout.adaptation import NO_ADAPTERS, adaptation_recovery
from chatsim.rollout.tables import (
    daily_shares,
    in_force_status,
    switch_days,
    switch_recovery,
)
from chatsim.rules import Rule

__all__ = ["RolloutNumbers", "rollout_numbers"]


def _day(d: dt.date) -> str:
    return f"{d.day} {d:%b}"


@dataclass(frozen=True)
class RolloutNumbers:
    """The rollout page's key numbers (:func:`rollout_numbers`): the days covered, the day
    the rule in force changes (``switch``, None if it does not within the days), the share of
    rated shops meeting the rule in force the day before and on that day, the shops that fall
    below then and how many recover, and the adapting sellers' return above target
    (``adapters`` None: the shops table names none)."""

    first: dt.date
    last: dt.date
    rule_end: str
    share_end: float | None
    rated_end: int
    period_days: int
    switch: dt.date | None = None
    old: str = ""
    new: str = ""
    share_before: float | None = None
    share_after: float | None = None
    new_share_before: float | None = None
    shown_from: dt.date | None = None
    fell: int = 0
    recovered: int = 0
    median_recover: float | None = None
    adapters: int | None = None
    adapters_below: int = 0
    adapters_back: int = 0
    median_back: float | None = None
    longest_back: int | None = None

    def as_frame(self) -> pl.DataFrame:
        """``key``, ``label``, ``value``, ``detail``: the key-number strip."""
        rows = []
        if self.switch is not None:
            before = self.switch - dt.timedelta(days=1)
            rows += [
                (
                    "share_before",
                    f"Meet {self.old} on {_day(before)}",
                    format_share(self.share_before),
                    "the day before the switch",
                ),
                (
                    "share_after",
                    f"Meet {self.new} on {_day(self.switch)}",
                    format_share(self.share_after),
                    f"{format_pp(_diff(self.share_after, self.share_before))} in one day",
                ),
                (
                    "fell",
                    f"Fall below on {_day(self.switch)}",
                    format_count(self.fell),
                    f"{format_count(self.recovered)} back above target by {_day(self.last)}",
                ),
            ]
        rows.append(
            (
                "share_end",
                f"Meet {self.rule_end} on {_day(self.last)}",
                format_share(self.share_end),
                f"of {format_count(self.rated_end)} rated shops",
            )
        )
        if self.adapters is None:
            rows.append(("adapters", "Adapting sellers", "none", "no dated changes in this log"))
        else:
            detail = (
                f"median {self.median_back:.0f} days after their change"
                if self.median_back is not None
                else "none back by the end"
            )
            rows.append(
                (
                    "adapters",
                    "Adapting sellers back above target",
                    f"{format_count(self.adapters_back)} of {format_count(self.adapters_below)}",
                    detail,
                )
            )
        return pl.DataFrame(rows, schema=["key", "label", "value", "detail"], orient="row")

    def takeaways(self) -> list[Takeaway]:
        """Three to five sentences written from the figures."""
        out = [Takeaway("span", self._span(), (_day(self.first), _day(self.last)))]
        if self.switch is not None:
            out.append(self._switch())
            if self.fell:
                out.append(self._recovery())
            if self.shown_from is not None and self.new_share_before is not None:
                out.append(self._preview())
        out.append(Takeaway("adapters", self._adapting(), ()))
        return out

    def _switch(self) -> Takeaway:
        pp = format_pp(_diff(self.share_after, self.share_before))
        before, after = format_share(self.share_before), format_share(self.share_after)
        moves = f"goes from {before} to {after} ({pp})" if before != after else f"stays at {after}"
        falls = f"{_shops(self.fell)} fall" if self.fell != 1 else "1 shop falls"
        text = (
            f"On {_day(self.switch)}, when {self.new} replaces {self.old}, the share of rated "
            f"shops meeting the rule in force {moves}: "
            + (f"{falls} below the target that day." if self.fell else "no shop falls below it.")
        )
        return Takeaway("switch", text, (before, after, pp))

    def _recovery(self) -> Takeaway:
        if self.recovered:
            text = (
                f"Of those {_shops(self.fell)}, {format_count(self.recovered)} meet the target "
                f"again by {_day(self.last)}, after a median of {self.median_recover:.0f} days; "
                f"{format_count(self.fell - self.recovered)} are still below it."
            )
        else:
            text = (
                f"Of those {_shops(self.fell)}, none meets the target again by {_day(self.last)}."
            )
        return Takeaway("recovery", text, (format_count(self.recovered),))

    def _preview(self) -> Takeaway:
        share = format_share(self.new_share_before)
        day_before = _day(self.switch - dt.timedelta(days=1))  # type: ignore[operator]
        text = (
            f"From {_day(self.shown_from)} sellers see {self.new} without consequence: on "
            f"{day_before}, the day before it counts, {share} of rated shops already meet it."
        )
        return Takeaway("preview", text, (share,))

    def _span(self) -> str:
        text = f"The days shown run from {_day(self.first)} to {_day(self.last)} {self.last.year}"
        if self.switch is None:
            text += f"; the rule in force does not change within them ({self.rule_end})"
        warm = self.first + dt.timedelta(days=self.period_days - 1)
        if warm < self.last:
            text += (
                f". Until {_day(warm)} the trailing {self.period_days}-day period reaches back "
                "before the first day, so those rates rest on fewer days"
            )
        else:
            text += (
                f". On every day shown the trailing {self.period_days}-day period reaches back "
                "before the first day, so the rates rest on fewer days than the rule's period"
            )
        return text + "."

    def _adapting(self) -> str:
        if self.adapters is None:
            return NO_ADAPTERS
        if not self.adapters_below:
            return (
                f"{_shops(self.adapters)} change their behaviour; none was below the target "
                "the day before its change."
            )
        text = (
            f"{_shops(self.adapters)} change their behaviour; of the "
            f"{format_count(self.adapters_below)} below the target the day before, "
            f"{format_count(self.adapters_back)} are back above it by {_day(self.last)}"
        )
        if self.median_back is not None:
            text += (
                f", a median of {self.median_back:.0f} days "
                f"(at most {self.longest_back}) after the change"
            )
        return text + (
            f". The rate covers the trailing {self.period_days} days, so a change shows in "
            f"full only once the whole period comes from after it: up to {self.period_days} "
            "days, plus any ramp."
        )


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _shops(n: int) -> str:
    return f"{format_count(n)} shop" + ("" if n == 1 else "s")


def _share_on(shares: pl.DataFrame, day: dt.date, rule: str) -> float | None:
    row = shares.filter(pl.col("day") == day, pl.col("rule") == rule)
    return row["share"][0] if row.height else None


def rollout_numbers(
    daily: pl.DataFrame, shops: pl.DataFrame, rules: Sequence[Rule]
) -> RolloutNumbers:
    """The key numbers of a rollout page (:class:`RolloutNumbers`) from the daily table,
    the shops table (its adaptation columns, if any) and the rules evaluated.

    Example:
        >>> rollout_numbers(daily, log.shops, rules).takeaways()  # doctest: +SKIP
    """
    status = in_force_status(daily)
    shares = daily_shares(daily)
    first, last = daily["day"].min(), daily["day"].max()
    by_name = {r.name: r for r in rules}
    end_rows = status.filter(pl.col("day") == last)
    rule_end = end_rows["rule"][0] if end_rows.height else rules[-1].name
    kw: dict[str, Any] = {
        "first": first,
        "last": last,
        "rule_end": rule_end,
        "share_end": _share_on(shares, last, rule_end),
        "rated_end": int((end_rows["status"] != "not_rated").sum()),
        "period_days": by_name[rule_end].period_days if rule_end in by_name else 30,
    }
    switches = switch_days(status)
    if switches:
        day = switches[0]
        before = day - dt.timedelta(days=1)
        old = status.filter(pl.col("day") == before)["rule"][0]
        new = status.filter(pl.col("day") == day)["rule"][0]
        rec = switch_recovery(status, day)
        shown = by_name[new].visible_from if new in by_name else None
        kw |= {
            "switch": day,
            "old": old,
            "new": new,
            "share_before": _share_on(shares, before, old),
            "share_after": _share_on(shares, day, new),
            "new_share_before": _share_on(shares, before, new),
            "shown_from": shown if shown is not None and shown <= before else None,
            "fell": rec.height,
            "recovered": int(rec["days_to_recover"].is_not_null().sum()),
            "median_recover": rec["days_to_recover"].median(),
        }
    ad = adaptation_recovery(daily, shops, status)
    if ad is not None:
        was_below = ad.filter(pl.col("before") == "below")
        back = was_below["days_to_target"].drop_nulls()
        kw |= {
            "adapters": ad.height,
            "adapters_below": was_below.height,
            "adapters_back": back.len(),
            "median_back": back.median() if back.len() else None,
            "longest_back": int(back.max()) if back.len() else None,
        }
    return RolloutNumbers(**kw)
