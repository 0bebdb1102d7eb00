"""Working schedules, days off, absences and public holidays: per segment and per shop.

From the days and windows of :mod:`chatsim.fit.workdays`:

* a shop **works a weekday** when it wrote on at least half of that weekday's evidence
  dates (outside holiday mode and public holidays); a segment's ``schedule`` has the
  weekdays at least ``WEEKDAY_SHARE`` of its shops work, each with the segment's median
  window minus its breaks (a weekday fewer shops work is a day off that some cover);
* ``schedule_jitter_minutes`` is the robust spread (1.4826 x median absolute deviation)
  of its shops' start and end times (0 for a round-the-clock segment);
* ``absence_rate`` is the share of a shop's working weekdays with evidence on which it
  did not write; ``off_day_cover`` the share of shops that work the segment's days off
  (or, without weekly days off, its public holidays);
* **public holidays**: for each candidate country (:func:`~chatsim.fit.workdays.
  holiday_candidates`) with holidays on the segment's working weekdays in the log, the
  share of shops working them is compared with ordinary working days and with the share
  that covers weekly days off; nearer the latter means the segment keeps that country's
  holidays (``works_holidays: false``; the candidate with the largest drop). Without a drop, the first candidate is kept:
  ``works_holidays: true`` if its holidays fell on working days of the log, else the
  default, marked as not informed.

Example:
    >>> robust_sd([540, 600, 480, 560, 530])
    29.652
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import polars as pl

from chatsim.fit.profile import Observations
from chatsim.fit.record import DEFAULT, FITTED, PRIOR, SHOP, Estimate, default_of, shrink
from chatsim.fit.workdays import holiday_candidates, public_holidays, subtract
from chatsim.scenario import MAX_SCHEDULE_JITTER
from chatsim.schedule import WEEKDAYS, WeeklySchedule

__all__ = ["WEEKDAY_SHARE", "HoursFit", "fit_hours", "robust_sd"]

#: A weekday is in a segment's schedule when at least this share of its shops work it.
WEEKDAY_SHARE = 0.75
_DAY = 1440


def robust_sd(values: list[float] | np.ndarray) -> float:
    """1.4826 x the median absolute deviation (a standard deviation robust to outliers)."""
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        return 0.0
    return round(float(1.4826 * np.median(np.abs(v - np.median(v)))), 3)


@dataclass(frozen=True)
class HoursFit:
    """The fitted hours: per segment (parameter -> :class:`Estimate`), per shop (the
    same parameters, the shop's own), each shop's working ranges (for the work clock) and
    the per-shop day counts."""

    segment: dict[str, dict[str, Estimate]]
    shop: dict[int, dict[str, Estimate]]
    ranges: dict[int, list[tuple[int, int]]]
    shop_days: pl.DataFrame


def _schedule(days: list[int], ranges: list[tuple[int, int]]) -> WeeklySchedule:
    text = [f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in ranges]
    return WeeklySchedule.parse({WEEKDAYS[d]: text for d in days})


def _modal(values: list[str | None]) -> str | None:
    vals = [v for v in values if v]
    return max(sorted(set(vals)), key=vals.count) if vals else None


def fit_hours(
    obs: Observations,
    windows: pl.DataFrame,
    breaks: dict[str, list[tuple[int, int]]],
    days: pl.DataFrame,
    segment: pl.DataFrame,
    *,
    per_shop: bool = True,
) -> HoursFit:
    """Schedules, holidays, absences and cover for every segment and (``per_shop``) shop
    (``segment``: ``shop, segment``; see the module docstring). Each shop's working ranges
    are always given."""
    info = obs.shops.select(
        "shop", "timezone", *(["country"] if "country" in obs.shops.columns else [])
    )
    info = info.join(segment, on="shop")
    seg_names = segment["segment"].unique().sort().to_list()
    d = days.join(segment, on="shop")
    # the candidate countries' holidays of each segment, as (segment, date) rows
    cands: dict[str, list[str]] = {}
    hol_rows = []
    for s in seg_names:  # a loop over segments
        part = info.filter(pl.col("segment") == s)
        country = (
            _modal(part["country"].cast(pl.String).to_list()) if "country" in part.columns else None
        )
        zone = _modal(part["timezone"].to_list()) or "UTC"
        cands[s] = holiday_candidates(country, zone)
        for c in cands[s]:
            hol_rows += [(s, c, x) for x in public_holidays(c, obs.start, obs.days + 1)]
    hol = pl.DataFrame(
        hol_rows, schema={"segment": pl.String, "country": pl.String, "date": pl.Date}, orient="row"
    )
    any_hol = hol.select("segment", "date").unique().with_columns(cand=pl.lit(True))
    d = d.join(any_hol, on=["segment", "date"], how="left").with_columns(
        pl.col("cand").fill_null(False)
    )
    usable = pl.col("evidence") & ~pl.col("holiday_mode")
    works = _weekday_work(d.filter(usable & ~pl.col("cand")))
    template = (
        works.join(segment, on="shop")
        .group_by("segment", "weekday")
        .agg(share=pl.col("works").mean())
    )
    seg_days = {
        s: sorted(
            template.filter((pl.col("segment") == s) & (pl.col("share") >= WEEKDAY_SHARE))[
                "weekday"
            ].to_list()
        )
        for s in seg_names
    }
    covers = _weekly_cover(works.join(segment, on="shop"), seg_days)
    decisions = {
        s: _holiday_decision(
            d.filter(pl.col("segment") == s), hol, s, cands[s], seg_days[s], covers.get(s, 0.0)
        )
        for s in seg_names
    }
    off = pl.DataFrame(
        [
            (s, x)
            for s, (c, keeps, _, _) in decisions.items()
            if c and keeps
            for x in public_holidays(c, obs.start, obs.days + 1)
        ],
        schema={"segment": pl.String, "date": pl.Date},
        orient="row",
    ).with_columns(public=pl.lit(True))
    d = d.join(off, on=["segment", "date"], how="left").with_columns(
        pl.col("public").fill_null(False)
    )
    works = _weekday_work(d.filter(usable & ~pl.col("public")))
    shop_days = _shop_days(d, works, seg_days, usable)
    w = windows.join(segment, on="shop")
    seg_out: dict[str, dict[str, Estimate]] = {}
    for s in seg_names:  # a loop over segments
        seg_out[s] = _segment_hours(
            w.filter(pl.col("segment") == s),
            shop_days.filter(pl.col("segment") == s),
            breaks.get(s, []),
            seg_days[s],
            decisions[s],
        )
    ranges: dict[int, list[tuple[int, int]]] = {}
    shop_out: dict[int, dict[str, Estimate]] = {}
    win = {r[0]: (r[1], r[2]) for r in windows.select("shop", "start_min", "end_min").iter_rows()}
    for row in shop_days.iter_rows(named=True):  # a loop over shops (not messages)
        shop, s = row["shop"], row["segment"]
        a, b = win.get(shop, (None, None))
        if a is None:
            continue
        ranges[shop] = subtract(a, b, breaks.get(s, []))
        if per_shop:
            shop_out[shop] = _shop_hours(row, ranges[shop], seg_out[s])
    return HoursFit(seg_out, shop_out, ranges, shop_days)


def _weekday_work(d: pl.DataFrame) -> pl.DataFrame:
    """Per shop and weekday: whether it wrote on at least half of the evidence dates."""
    return d.group_by("shop", "weekday").agg(
        works=(pl.col("worked").sum() / pl.col("evidence").sum()) >= 0.5
    )


def _weekly_cover(works: pl.DataFrame, seg_days: dict[str, list[int]]) -> dict[str, float]:
    """Per segment: the share of shops working most of the segment's weekly days off."""
    out = {}
    for s, days in seg_days.items():  # a loop over segments
        off = works.filter((pl.col("segment") == s) & ~pl.col("weekday").is_in(days))
        per = off.group_by("shop").agg(pl.col("works").mean())
        out[s] = float((per["works"] >= 0.5).mean()) if per.height else 0.0  # type: ignore[arg-type]
    return out


def _holiday_decision(
    d: pl.DataFrame, hol: pl.DataFrame, seg: str, cands: list[str], working: list[int], cover: float
) -> tuple[str | None, bool, float, str]:
    """(holiday country, keeps its holidays?, evidence days, note) for one segment: the
    shops keep a country's holidays when the share working them is nearer the share that
    covers weekly days off (``cover``) than the share working ordinary days."""
    if not cands:
        return (
            None,
            False,
            0.0,
            "no holiday country known for these shops (no country column, time zone unmapped)",
        )
    usable = d.filter(
        pl.col("evidence") & ~pl.col("holiday_mode") & pl.col("weekday").is_in(working)
    )
    regular = usable.filter(~pl.col("cand"))
    base = float(regular["worked"].mean()) if regular.height else 0.0  # type: ignore[arg-type]
    seen: dict[str, tuple[float, int]] = {}
    for c in cands:  # a loop over a few candidate countries
        dates = hol.filter((pl.col("segment") == seg) & (pl.col("country") == c))["date"]
        on = usable.filter(pl.col("date").is_in(dates.implode()))
        if on.height and base > 0:
            seen[c] = (1.0 - float(on["worked"].mean()) / base, on.height)  # type: ignore[arg-type]
    bar = 1.0 - (1.0 + cover / base) / 2.0 if base > 0 else 0.5  # the drop halfway to ``cover``
    kept = [c for c, (drop, _) in seen.items() if drop > bar]
    if kept:
        c = max(kept, key=lambda k: seen[k][0])
        keeps = True
    elif cands[0] in seen:
        c, keeps = cands[0], False
    else:
        return cands[0], True, 0.0, f"no public holiday of {cands[0]} on a working day in the log"
    drop, n = seen[c]
    note = (
        f"{c} public holidays: shops worked {100 * (1 - drop) * base:.0f} % of them vs "
        f"{100 * base:.0f} % of ordinary working days"
    )
    return c, keeps, float(n), note


def _shop_days(
    d: pl.DataFrame, works: pl.DataFrame, seg_days: dict[str, list[int]], usable: pl.Expr
) -> pl.DataFrame:
    """Per shop: working weekdays, absences, off-day and public-holiday work."""
    seg_work = pl.DataFrame(
        [(s, w) for s, ws in seg_days.items() for w in ws],
        schema={"segment": pl.String, "weekday": pl.Int8},
        orient="row",
    ).with_columns(seg_works=pl.lit(True))
    x = d.join(works, on=["shop", "weekday"], how="left").join(
        seg_work, on=["segment", "weekday"], how="left"
    )
    x = x.with_columns(
        pl.col("seg_works").fill_null(False),
        own=pl.coalesce(pl.col("works"), pl.col("seg_works").fill_null(False)),
    )
    ok = usable & ~pl.col("public")
    return (
        x.group_by("shop", "segment")
        .agg(
            weekdays=pl.col("weekday").filter(pl.col("own")).unique().sort(),
            evidence=(ok & pl.col("own")).sum(),
            absent=(ok & pl.col("own") & ~pl.col("worked")).sum(),
            off_evidence=(ok & ~pl.col("seg_works")).sum(),
            off_worked=(ok & ~pl.col("seg_works") & pl.col("worked")).sum(),
            hol_evidence=(usable & pl.col("public") & pl.col("seg_works")).sum(),
            hol_worked=(usable & pl.col("public") & pl.col("seg_works") & pl.col("worked")).sum(),
        )
        .sort("shop")
    )


def _segment_hours(
    w: pl.DataFrame,
    shops: pl.DataFrame,
    breaks: list[tuple[int, int]],
    working: list[int],
    decision: tuple[str | None, bool, float, str],
) -> dict[str, Estimate]:
    n_shops = w.height
    out: dict[str, Estimate] = {}
    if n_shops == 0:
        for p in ("schedule", "schedule_jitter_minutes", "absence_rate", "off_day_cover"):
            out[p] = Estimate(
                default_of(p), 0, "shops", DEFAULT, "no shop of this segment sent a human message"
            )
    else:
        wraps = w.filter(pl.col("start_min") > pl.col("end_min"))
        if wraps.height * 2 <= n_shops:  # the usual day: the shops that do not wrap
            w = w.filter(pl.col("start_min") <= pl.col("end_min"))
        else:  # most shops work across midnight
            w = wraps
        a, b = int(w["start_min"].median()), int(w["end_min"].median())  # type: ignore[arg-type]
        sched = _schedule(working, subtract(a, b, breaks))
        out["schedule"] = Estimate(
            sched,
            n_shops,
            "shops",
            FITTED,
            "median window of the shops" + (f", breaks {_fmt(breaks)}" if breaks else ""),
        )
        day_long = (a, b) == (0, _DAY) or a > b
        partial = w.filter((pl.col("start_min") > 0) | (pl.col("end_min") < _DAY))
        if day_long:
            out["schedule_jitter_minutes"] = Estimate(
                0.0, n_shops, "shops", FITTED, "round the clock or across midnight"
            )
        else:
            sd = np.sqrt(
                (
                    robust_sd(partial["start_min"].to_numpy()) ** 2
                    + robust_sd(partial["end_min"].to_numpy()) ** 2
                )
                / 2
            )
            out["schedule_jitter_minutes"] = Estimate(
                round(float(min(sd, MAX_SCHEDULE_JITTER)), 1), partial.height, "shops", FITTED
            )
        ev, ab = float(shops["evidence"].sum()), float(shops["absent"].sum())
        out["absence_rate"] = (
            Estimate(round(ab / ev, 4), ev, "working days", FITTED)
            if ev
            else Estimate(default_of("absence_rate"), 0, "days", DEFAULT)
        )
        out["off_day_cover"] = _cover(shops, working, decision)
    country, keeps, n_hol, note = decision
    informed = n_hol > 0
    if informed:
        out["holiday_country"] = Estimate(country, n_hol, "holiday shop-days", FITTED, note)
    else:
        why = f"kept the shops' likely country; {note}" if country else note
        out["holiday_country"] = Estimate(country, 0, "holiday shop-days", DEFAULT, why)
    out["works_holidays"] = Estimate(
        not keeps if informed else default_of("works_holidays"),
        n_hol,
        "holiday shop-days",
        FITTED if informed else DEFAULT,
        "" if informed else note,
    )
    return out


def _cover(
    shops: pl.DataFrame, working: list[int], decision: tuple[str | None, bool, float, str]
) -> Estimate:
    if len(working) < 7:
        s = shops.filter(pl.col("off_evidence") > 0)
        if s.height:
            covers = (s["off_worked"] / s["off_evidence"] >= 0.5).mean()
            return Estimate(
                round(float(covers), 4),
                s.height,
                "shops",
                FITTED,
                "shops working the segment's days off",
            )  # type: ignore[arg-type]
    if decision[1]:
        s = shops.filter(pl.col("hol_evidence") > 0)
        if s.height:
            covers = (s["hol_worked"] / s["hol_evidence"] >= 0.5).mean()
            return Estimate(
                round(float(covers), 4), s.height, "shops", FITTED, "shops working public holidays"
            )  # type: ignore[arg-type]
    return Estimate(default_of("off_day_cover"), 0, "shops", DEFAULT, "no days off in the log")


def _shop_hours(
    row: dict, ranges: list[tuple[int, int]], seg: dict[str, Estimate]
) -> dict[str, Estimate]:
    days = list(row["weekdays"])
    n = float(row["evidence"])
    out = {
        "schedule": Estimate(_schedule(days, ranges), n, "days", SHOP, "its own days and hours"),
        "schedule_jitter_minutes": Estimate(0.0, n, "days", SHOP, "the shop's own hours"),
        "off_day_cover": Estimate(0.0, n, "days", SHOP, "days off are in its own schedule"),
        "absence_rate": Estimate(
            round(shrink(row["absent"], n, seg["absence_rate"].value, PRIOR["days"]), 4),
            n,
            "working days",
            SHOP,
        ),
        "holiday_country": seg["holiday_country"],
    }
    if row["hol_evidence"] > 0:
        out["works_holidays"] = Estimate(
            bool(row["hol_worked"] / row["hol_evidence"] >= 0.5),
            row["hol_evidence"],
            "holidays",
            SHOP,
        )
    else:
        out["works_holidays"] = dataclasses.replace(seg["works_holidays"])
    return out


def _fmt(breaks: list[tuple[int, int]]) -> str:
    return ", ".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in breaks)
