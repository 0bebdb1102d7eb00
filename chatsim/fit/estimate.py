"""Archetype parameters from the observations: per segment, for the parent group (all
shops), and per shop.

Most parameters are a ratio of two counts of :attr:`Observations.shops` summed over the
segment's shops (:data:`RATIOS`: e.g. ``followup_prob`` = follow-ups / answered primary
chats) or a count over an exposure (:data:`RATES`: threads per active day). A segment
whose denominator is under ``MIN_N`` takes the parent group's value (``pooled``), and
the parent's under ``MIN_N`` leaves the documented default (``default``). A segment with
fewer than ``MIN_SEGMENT_CHATS`` primary chats takes every behaviour parameter from the
parent (its share, time zone, country, volume and hours stay its own).

The rest: ``chats_per_day`` is the mean over shops of buyer arrivals per day (bursts
that are not follow-ups or replies to the seller, see :func:`~chatsim.fit.profile.
observe`) divided by the campaign days' lift; ``volume_sigma`` the spread of log volumes beyond Poisson
noise; ``auto_reply_adoption`` the share of shops with an automatic reply (or the
chatbot flag), ``auto_reply_rate`` the share of their primary chats that got one;
``faq_resolution`` the share of those, opened in working time (so that a human answer
would have come within the metric's 24-hour session), that it resolved; broadcasts with
no recipient cannot be seen, so ``broadcast_recipients`` solves ``R / (1 - exp(-R))`` =
the observed mean and the broadcast count is scaled up by ``1 / (1 - exp(-R))``; delays
and capacity are :mod:`chatsim.fit.response`'s, hours :mod:`chatsim.fit.hours`'.

Per shop (per-shop mode), each ratio is pulled towards the segment with
:func:`~chatsim.fit.record.shrink` (prior weights in :data:`~chatsim.fit.record.PRIOR`);
the shop's volume and hours are its own, and the shop-to-shop spreads are 0.

Example:
    >>> round(zero_truncated_mean(40.0), 3), round(zero_truncated_mean(1.5), 3)
    (40.0, 0.874)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from chatsim.fit.hours import HoursFit, fit_hours
from chatsim.fit.params import HOURS_PARAMS, IDENTITY_PARAMS, RATES, RATIOS, clip_value
from chatsim.fit.pershop import per_shop_estimates
from chatsim.fit.profile import Observations
from chatsim.fit.record import DEFAULT, FITTED, POOLED, SHOP, Estimate, default_of
from chatsim.fit.response import (
    answered_waits,
    backlog_sample,
    delay_sample,
    pooled_spread,
    queue_clearing,
    service_seconds,
)
from chatsim.fit.workdays import WorkClock, day_table, segment_breaks, shop_windows, work_clock

__all__ = [
    "MIN_N",
    "MIN_SEGMENT_CHATS",
    "PARENT",
    "RATES",
    "RATIOS",
    "Estimates",
    "estimate",
    "zero_truncated_mean",
]

#: A segment estimate needs at least this many observations in its denominator.
MIN_N = 20
#: A segment with fewer primary chats takes its behaviour from the parent group.
MIN_SEGMENT_CHATS = 200
#: The parent group's name in the estimates.
PARENT = "(all shops)"


def zero_truncated_mean(observed: float) -> float:
    """The Poisson mean ``R`` whose non-zero draws average ``observed``:
    ``R / (1 - exp(-R)) = observed`` (``observed`` >= 1)."""
    if observed <= 1.0:
        return 0.0
    r = observed  # Newton from above on the convex R - observed x (1 - exp(-R))
    for _ in range(200):  # a loop over Newton steps
        step = (r - observed * (1.0 - math.exp(-r))) / (1.0 - observed * math.exp(-r))
        r -= step
        if abs(step) < 1e-12:
            break
    return r


@dataclass(frozen=True)
class Estimates:
    """The estimates of one fit: per segment and for the parent group (parameter ->
    :class:`~chatsim.fit.record.Estimate`), per shop when asked, the segments too small
    to stand alone, and the intermediate tables (per-shop counts, windows, days)."""

    segments: dict[str, dict[str, Estimate]]
    parent: dict[str, Estimate]
    shops: dict[int, dict[str, Estimate]] | None
    small: list[str]
    counts: pl.DataFrame
    hours: HoursFit
    days: pl.DataFrame


def _counts(
    obs: Observations, clock: WorkClock, campaigns_lift: float, segment: pl.DataFrame
) -> pl.DataFrame:
    """Per-shop counts of :class:`Observations` plus what the ratios need beyond them."""
    # the log's own shop columns may include one named "segment" (the grouping is ``segment``)
    s = obs.shops.drop("segment", strict=False).join(segment, on="shop")
    hol_in = (pl.col("holiday_days").clip(0, obs.days) / obs.days).clip(0, 1)
    worked = obs.activity.group_by("shop").agg(human=pl.len())
    s = s.join(worked, on="shop", how="left").with_columns(pl.col("human").fill_null(0))
    s = s.with_columns(
        rate=pl.col("arrivals") / (obs.days * campaigns_lift),
        active_days=pl.when(pl.col("human") > 0).then(obs.days * (1 - hol_in)).otherwise(0.0),
        months=pl.lit(obs.days / 30.0),
        adopts=(pl.col("auto") > 0) | pl.col("chatbot_enabled"),
    ).with_columns(active_weeks=pl.col("active_days") / 7.0)
    faq = _faq_counts(obs, clock)
    return s.join(faq, on="shop", how="left").with_columns(
        pl.col("faq_auto", "faq_resolved").fill_null(0.0)
    )


def _faq_counts(obs: Observations, clock: WorkClock) -> pl.DataFrame:
    c = obs.chats.filter(
        pl.col("primary")
        & pl.col("first_auto_at").is_not_null()
        & ~pl.col("in_holiday")
        & ~pl.col("blocked_now")
        & (pl.col("open_at") < obs.settled)
    )
    shop = c["shop"].to_numpy().astype(np.int64)
    inside, _, _ = clock.inside(shop, c["open_at"].dt.epoch("us").to_numpy() / 1e6)
    f = pl.DataFrame({"shop": c["shop"], "inside": inside, "res": c["auto_resolved"]})
    return (
        f.filter(pl.col("inside"))
        .group_by("shop")
        .agg(faq_auto=pl.len().cast(pl.Float64), faq_resolved=pl.col("res").sum().cast(pl.Float64))
    )


def estimate(
    obs: Observations,
    segment: pl.DataFrame,
    *,
    per_shop: bool,
    windows: pl.DataFrame | None = None,
    days: pl.DataFrame | None = None,
    campaigns_lift: float = 1.0,
) -> Estimates:
    """Every archetype parameter for each segment of ``segment`` (``shop, segment``), the
    parent group, and (``per_shop``) each shop. ``windows`` and ``days`` are
    :func:`~chatsim.fit.workdays.shop_windows` and :func:`~chatsim.fit.workdays.day_table`
    (computed when not given); ``campaigns_lift`` the period's mean arrival multiplier."""
    windows = shop_windows(obs) if windows is None else windows
    days = day_table(obs, windows) if days is None else days
    breaks = segment_breaks(obs, windows, segment)
    hours = fit_hours(obs, windows, breaks, days, segment, per_shop=per_shop)
    clock = work_clock(obs, days, hours.ranges)
    counts = _counts(obs, clock, campaigns_lift, segment)
    waits = answered_waits(obs, clock)
    backlog = backlog_sample(waits)
    delays = (
        delay_sample(waits, queue_clearing(backlog, _service(counts, backlog)))
        .group_by("shop")
        .agg(n=pl.len(), m=pl.col("log_min").mean(), v=pl.col("log_min").var().fill_null(0.0))
    )
    everyone = segment.with_columns(segment=pl.lit(PARENT))
    parent_hours = fit_hours(obs, windows, {PARENT: []}, days, everyone, per_shop=False)
    parent = _segment(
        counts.with_columns(segment=pl.lit(PARENT)),
        delays,
        backlog,
        parent_hours.segment[PARENT],
        None,
    )
    seg_out: dict[str, dict[str, Estimate]] = {}
    small: list[str] = []
    for name in segment["segment"].unique().sort().to_list():  # a loop over segments
        part = counts.filter(pl.col("segment") == name)
        est = _segment(part, delays, backlog, hours.segment[name], parent)
        if part["primary"].sum() < MIN_SEGMENT_CHATS:
            small.append(name)
            n = int(part["primary"].sum())
            note = f"segment has {n} primary chats (< {MIN_SEGMENT_CHATS}); behaviour pooled from all shops"
            est = {
                k: e
                if k in IDENTITY_PARAMS or k in HOURS_PARAMS
                else dataclasses.replace(
                    parent[k], source=POOLED if parent[k].source != DEFAULT else DEFAULT, note=note
                )
                for k, e in est.items()
            }
        seg_out[name] = est
    shops = per_shop_estimates(counts, delays, hours, seg_out) if per_shop else None
    for group in [parent, *seg_out.values(), *(shops or {}).values()]:
        _mark_unlisted(group, obs.listed)
    return Estimates(seg_out, parent, shops, small, counts, hours, days)


#: What a log may not list at all, and the parameter that then rests on nothing.
_UNLISTED = {
    "blocked": ("blocked_share", "the log lists no blocked buyers"),
    "holiday_mode": ("holiday_mode_per_month", "the log has no holiday-mode periods"),
    "ratings": ("rating_prob", "the log has no ratings"),
}


def _mark_unlisted(est: dict[str, Estimate], listed: dict[str, int]) -> None:
    """A log with no such rows at all gives 0 (the twin then has none either), and the
    note says why, whatever the sample size."""
    for table, (param, why) in _UNLISTED.items():
        if listed.get(table, 0) == 0 and param in est:
            e = est[param]
            src = e.source if e.source == SHOP else FITTED
            est[param] = dataclasses.replace(e, value=0.0, source=src, note=why)


def _ratio(
    param: str, num: float, den: float, unit: str, parent: dict[str, Estimate] | None
) -> Estimate:
    if den >= MIN_N or (
        parent is None and den > 0 and param in RATES and unit in ("days", "weeks", "months")
    ):
        return Estimate(round(clip_value(param, num / den), 4), den, unit, FITTED)
    if parent is not None and parent[param].source != DEFAULT:
        return dataclasses.replace(
            parent[param], source=POOLED, note=f"segment has only {den:g} {unit}"
        )
    return Estimate(default_of(param), den, unit, DEFAULT, f"the log has only {den:g} {unit}")


def _segment(
    part: pl.DataFrame,
    delays: pl.DataFrame,
    backlog: pl.DataFrame,
    hours: dict[str, Estimate],
    parent: dict[str, Estimate] | None,
) -> dict[str, Estimate]:
    """The estimates of one group of shops (``parent``: the fallback, None for the parent)."""
    n_shops = part.height
    tot = part.select(
        pl.exclude("shop", "shop_id", "timezone", "segment").cast(pl.Float64, strict=False).sum()
    ).row(0, named=True)
    out: dict[str, Estimate] = {}
    out["share"] = Estimate(n_shops, n_shops, "shops", FITTED)
    out["timezone"] = Estimate(
        _mode(part["timezone"].to_list()),
        n_shops,
        "shops",
        FITTED,
        "the most common shop time zone",
    )
    if "country" in part.columns:
        out["country"] = Estimate(
            str(_mode(part["country"].cast(pl.String).to_list()) or default_of("country")),
            n_shops,
            "shops",
            FITTED,
            "the most common country",
        )
    else:
        out["country"] = Estimate(
            default_of("country"), 0, "shops", DEFAULT, "the shops table has no country column"
        )
    rate = part["rate"].to_numpy()
    out["chats_per_day"] = Estimate(
        round(float(rate.mean()), 3), float(tot["primary"]), "chats", FITTED
    )
    n_i = part["primary"].to_numpy() + 0.5
    if n_shops >= 3:
        var = float(np.var(np.log(n_i), ddof=1)) - float(np.mean(1.0 / n_i))
        out["volume_sigma"] = Estimate(round(math.sqrt(max(var, 0.0)), 3), n_shops, "shops", FITTED)
    else:
        out["volume_sigma"] = _fallback("volume_sigma", parent, n_shops, "shops")
    out.update(hours)
    adopt = (
        part.filter(pl.col("primary") >= 10)
        if part.filter(pl.col("primary") >= 10).height
        else part
    )
    out["auto_reply_adoption"] = Estimate(
        round(float(adopt["adopts"].mean()), 4), adopt.height, "shops", FITTED
    )  # type: ignore[arg-type]
    adopters = part.filter(pl.col("adopts"))
    out["chatbot_enabled"] = Estimate(
        bool(adopters["chatbot_enabled"].mean() >= 0.5) if adopters.height else default_of("chatbot_enabled"),  # type: ignore[operator]
        adopters.height, "shops", FITTED if adopters.height else DEFAULT, "the flag most adopting shops have",
    )  # fmt: skip
    out["auto_reply_rate"] = (
        _ratio(
            "auto_reply_rate",
            float(adopters["auto"].sum()),
            float(adopters["primary"].sum()),
            "chats",
            parent,
        )
        if adopters.height
        else Estimate(
            0.0, float(tot["primary"]), "chats", FITTED, "no shop sends automatic replies"
        )
    )
    trunc = _recipients(tot)
    for p, (num, den, unit) in RATIOS.items():
        out[p] = _ratio(p, float(tot[num]), float(tot[den]), unit, parent)
    for p, (num, den, unit) in RATES.items():
        if p == "broadcast_recipients":
            n_b = float(tot["broadcasts"])
            out[p] = (
                Estimate(round(trunc, 3), n_b, "broadcasts", FITTED)
                if n_b >= 3
                else _fallback(p, parent, n_b, "broadcasts")
            )
            continue
        scale = 1.0 / (1.0 - math.exp(-trunc)) if p == "broadcasts_per_week" and trunc > 0 else 1.0
        count = float(tot["broadcasts"]) * scale if num == "broadcasts_true" else float(tot[num])
        out[p] = _ratio(p, count, float(tot[den]), unit, parent)
    out.update(_delays(part, delays, parent))
    out["capacity_per_hour"] = _capacity(part, backlog, parent)
    return out


def _recipients(tot: dict[str, Any]) -> float:
    b = float(tot["broadcasts"])
    return zero_truncated_mean(float(tot["broadcast_messages"]) / b) if b > 0 else 0.0


def _mode(values: list[Any]) -> Any:
    vals = [v for v in values if v is not None]
    return max(sorted(set(vals)), key=vals.count) if vals else None


def _fallback(param: str, parent: dict[str, Estimate] | None, n: float, unit: str) -> Estimate:
    if parent is not None and parent[param].source != DEFAULT:
        return dataclasses.replace(
            parent[param], source=POOLED, note=f"segment has only {n:g} {unit}"
        )
    return Estimate(default_of(param), n, unit, DEFAULT, f"the log has only {n:g} {unit}")


def _delays(
    part: pl.DataFrame, delays: pl.DataFrame, parent: dict[str, Estimate] | None
) -> dict[str, Estimate]:
    d = delays.join(part.select("shop"), on="shop").filter(pl.col("n") >= 3)
    n = float(d["n"].sum()) if d.height else 0.0
    names = ("delay_median_minutes", "delay_sigma", "delay_shop_sigma")
    if n < MIN_N or d.height == 0:
        return {p: _fallback(p, parent, n, "delays") for p in names}
    between, within = pooled_spread(d["m"].to_numpy(), d["v"].to_numpy(), d["n"].to_numpy())
    med = math.exp(float(d["m"].mean()))  # type: ignore[arg-type]
    note = "answers to chats arriving in working time, in working minutes"
    out = {
        "delay_median_minutes": Estimate(round(med, 2), n, "delays", FITTED, note),
        "delay_sigma": Estimate(round(within, 3), n, "delays", FITTED),
        "delay_shop_sigma": Estimate(round(between, 3), d.height, "shops", FITTED)
        if d.height >= 3
        else _fallback("delay_shop_sigma", parent, d.height, "shops"),
    }
    return out


def _sizes(part: pl.DataFrame) -> pl.DataFrame:
    """Each shop's volume relative to its group's mean (floored at 0.05)."""
    mean = max(float(part["rate"].mean() or 0.0), 1e-9)  # type: ignore[arg-type]
    return part.select("shop", size=(pl.col("rate") / mean).clip(0.05))


def _service(counts: pl.DataFrame, backlog: pl.DataFrame) -> pl.DataFrame:
    """Per shop: working seconds per chat (its segment's service time / its size; the
    whole log's when the segment shows no queue; none when neither does)."""
    every, _ = service_seconds(backlog, _sizes(counts))
    frames = []
    for _, part in counts.group_by("segment"):  # a loop over segments
        size = _sizes(part)
        s, _ = service_seconds(backlog.join(size.select("shop"), on="shop"), size)
        s = s if s is not None else every
        if s is not None:
            frames.append(size.select("shop", service_s=s / pl.col("size")))
    return (
        pl.concat(frames)
        if frames
        else pl.DataFrame(schema={"shop": pl.UInt32, "service_s": pl.Float64})
    )


def _capacity(
    part: pl.DataFrame, backlog: pl.DataFrame, parent: dict[str, Estimate] | None
) -> Estimate:
    size = _sizes(part)
    s, n = service_seconds(backlog.join(size.select("shop"), on="shop"), size)
    if s is None:
        return _fallback("capacity_per_hour", parent, n, "queued chats")
    return Estimate(
        round(3600.0 / s, 2),
        n,
        "queued chats",
        FITTED,
        "from the answer order of chats waiting for a shift",
    )
