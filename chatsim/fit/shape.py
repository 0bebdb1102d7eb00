"""The shape of the traffic: when buyers arrive, what kinds of message they send, and how
absences spread over shops (``arrival_hours``, ``arrival_weekdays``, ``kind_mix``,
``absence_concentration``), per segment, for all shops and per shop.

* **arrival profile**: primary chats by shop-local hour of day and by weekday, on the
  log's full shop-local dates that are not campaign days. ``arrival_hours`` is the count
  per hour, ``arrival_weekdays`` the count per weekday divided by the number of such
  dates of that weekday; each scaled to mean 1, as the simulator reads them
  (``hour weight x weekday weight``). A segment needs ``MIN_PROFILE_CHATS`` chats on those
  dates, and every weekday among them for ``arrival_weekdays``;
* **kind mix**: the shares of buyer messages by kind (rating rows and ``system`` rows left
  out), from ``MIN_KIND_MESSAGES`` messages;
* **absence concentration**: the simulator draws each shop's absence rate from Beta(k m,
  k (1 - m)) around the segment's ``m``, so a shop's absent days are beta-binomial, and
  ``k`` follows from how much the shops' absent shares differ beyond binomial noise (the
  method of moments, :func:`beta_binomial_concentration`), over the shops with at least
  ``MIN_ABSENCE_DAYS`` working days with evidence, if there are ``MIN_ABSENCE_SHOPS``.

A segment short of data takes the value of all shops (``pooled``), and when all shops are
short too, the simulator's built-in profile or mix (``default``, null in the YAML); a
segment too small to fit its behaviour (``estimate``'s small segments) takes the profile and
the mix of all shops, and keeps its own absence concentration, like its hours. Per
shop, the profile and the mix are the segment's; the absence concentration is the shop's
own: its absent days on ``n`` working days pulled towards the segment with a prior worth
``K`` days (``docs/fitting.md``) leave a Beta of concentration ``n + K``.

Example:
    >>> round(beta_binomial_concentration(np.array([0, 0, 0, 10, 10, 10]), np.full(6, 20)), 3)
    1.714
    >>> shares_summing_to_one({"text": 2, "image": 1}, 4)
    {'text': 0.6667, 'image': 0.3333}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from chatsim.fit.estimate import Estimates
from chatsim.fit.profile import Observations
from chatsim.fit.record import DEFAULT, FITTED, POOLED, PRIOR, SHOP, Estimate, default_of
from chatsim.scenario.weights import buyer_kinds
from chatsim.schedule import WEEKDAYS
from chatsim.simulate import DIURNAL, WEEKLY

__all__ = [
    "MAX_CONCENTRATION",
    "MIN_ABSENCE_DAYS",
    "MIN_ABSENCE_SHOPS",
    "MIN_KIND_MESSAGES",
    "MIN_PROFILE_CHATS",
    "SHAPE_PARAMS",
    "add_shape_estimates",
    "beta_binomial_concentration",
    "fitted_profile",
    "shares_summing_to_one",
]

#: The parameters this module estimates.
SHAPE_PARAMS = ("arrival_hours", "arrival_weekdays", "kind_mix", "absence_concentration")
#: A segment's arrival profile needs at least this many primary chats on full dates.
MIN_PROFILE_CHATS = 500
#: A segment's kind mix needs at least this many buyer messages.
MIN_KIND_MESSAGES = 200
#: The absence concentration needs shops with at least this many working days with evidence ...
MIN_ABSENCE_DAYS = 5
#: ... and at least this many such shops.
MIN_ABSENCE_SHOPS = 10
#: The largest absence concentration written (shops whose absent shares differ no more
#: than binomial noise: every shop has about the segment's rate).
MAX_CONCENTRATION = 1000.0


def beta_binomial_concentration(absent: np.ndarray, days: np.ndarray) -> float:
    """The concentration ``k`` of Beta(k m, k (1 - m)) rates behind ``absent`` of ``days``
    per shop (method of moments; ``MAX_CONCENTRATION`` when the shops differ no more than
    chance; ``nan`` without any absence)."""
    a, n = np.asarray(absent, dtype=float), np.asarray(days, dtype=float)
    total = n.sum()
    m = a.sum() / total
    if not 0.0 < m < 1.0 or a.size < 2:
        return float("nan")
    p = a / n
    s = float((n * (p - m) ** 2).sum())
    # E[s] = m (1 - m) [(shops - 1) + rho (sum (n_i - 1) - sum n_i (n_i - 1) / N)]
    scale = float((n - 1).sum() - (n * (n - 1)).sum() / total)
    rho = (s / (m * (1.0 - m)) - (a.size - 1)) / scale if scale > 0 else 0.0
    if rho <= 1.0 / (MAX_CONCENTRATION + 1.0):
        return MAX_CONCENTRATION
    return float(max(1.0 / min(rho, 1.0) - 1.0, 1e-3))


def shares_summing_to_one(counts: dict[str, float], digits: int) -> dict[str, float]:
    """``counts`` as shares rounded to ``digits``, the rounding's remainder on the largest
    (so they sum to 1 as a scenario's ``kind_mix`` must); kinds with no count left out."""
    total = sum(counts.values())
    out = {k: round(v / total, digits) for k, v in counts.items() if v > 0}
    top = max(out, key=lambda k: out[k])
    out[top] = round(out[top] + 1.0 - sum(out.values()), digits + 6)
    return out


def _full_dates(obs: Observations, campaigns: Sequence[dt.date]) -> pl.DataFrame:
    """``timezone, date, weekday``: each zone's full shop-local dates, campaign days out."""
    rows = []
    for tz in obs.zones:  # a loop over time zones
        z = ZoneInfo(tz)
        first = (obs.start_utc.astimezone(z) + dt.timedelta(days=1)).date()
        last = (obs.data_end.astimezone(z) - dt.timedelta(days=1)).date()
        d = first
        while d <= last:  # a loop over the log's dates
            if d not in campaigns:
                rows.append((tz, d, d.weekday()))
            d += dt.timedelta(days=1)
    return pl.DataFrame(
        rows, schema={"timezone": pl.String, "date": pl.Date, "weekday": pl.Int8}, orient="row"
    )


def _arrival_counts(obs: Observations, campaigns: Sequence[dt.date]) -> pl.DataFrame:
    """Per shop: ``h0..h23`` (chats by hour), ``d0..d6`` (chats by weekday) and ``n0..n6``
    (full dates by weekday), on full non-campaign dates."""
    dates = _full_dates(obs, campaigns)
    zone = obs.shops.select("shop", "timezone")
    chats = (
        obs.chats.filter(pl.col("primary"))
        .select("shop", "date", "hour", "weekday")
        .join(zone, on="shop")
        .join(dates.select("timezone", "date"), on=["timezone", "date"], how="semi")
    )
    n = obs.shops.height  # shops are numbered 0, 1, ...: counted by array position
    shop = chats["shop"].to_numpy().astype(np.int64)
    by_hour = np.bincount(shop * 24 + chats["hour"].to_numpy(), minlength=n * 24)
    by_day = np.bincount(shop * 7 + chats["weekday"].to_numpy(), minlength=n * 7)
    hours = pl.DataFrame(
        {"shop": obs.shops["shop"]}
        | {f"h{h}": by_hour.reshape(n, 24)[:, h].astype(np.float64) for h in range(24)}
        | {f"d{d}": by_day.reshape(n, 7)[:, d].astype(np.float64) for d in range(7)}
    )
    exposure = dates.group_by("timezone").agg(
        [(pl.col("weekday") == d).sum().cast(pl.Float64).alias(f"n{d}") for d in range(7)]
    )
    out = zone.join(exposure, on="timezone", how="left").join(hours, on="shop", how="left")
    return out.drop("timezone").with_columns(pl.exclude("shop").fill_null(0.0)).sort("shop")


def _profile(tot: dict[str, float], parent: dict[str, Estimate] | None) -> dict[str, Estimate]:
    """``arrival_hours`` and ``arrival_weekdays`` from summed counts (``parent``: fallback)."""
    hours = np.array([tot[f"h{h}"] for h in range(24)])
    days = np.array([tot[f"d{d}"] for d in range(7)])
    exposure = np.array([tot[f"n{d}"] for d in range(7)])
    n = float(hours.sum())
    out: dict[str, Estimate] = {}
    if n >= MIN_PROFILE_CHATS:
        w = hours / hours.mean()
        out["arrival_hours"] = Estimate(
            [round(float(x), 3) for x in w], n, "chats", FITTED, "by shop-local hour, mean 1"
        )
    else:
        out["arrival_hours"] = _fallback("arrival_hours", parent, n, "chats")
    missing = [WEEKDAYS[d] for d in range(7) if exposure[d] == 0]
    if n >= MIN_PROFILE_CHATS and not missing:
        per_day = days / exposure
        v = per_day / per_day.mean()
        out["arrival_weekdays"] = Estimate(
            [round(float(x), 3) for x in v],
            n,
            "chats",
            FITTED,
            "per full date of each weekday, Monday first, mean 1",
        )
    elif missing and parent is None:
        out["arrival_weekdays"] = Estimate(
            None, n, "chats", DEFAULT, f"the log has no full {', '.join(missing)}"
        )
    else:
        out["arrival_weekdays"] = _fallback("arrival_weekdays", parent, n, "chats")
    return out


def _kind_mix(tot: dict[str, float], parent: dict[str, Estimate] | None) -> Estimate:
    counts = {k: tot[k] for k in buyer_kinds()}
    n = sum(counts.values())
    if n >= MIN_KIND_MESSAGES:
        return Estimate(shares_summing_to_one(counts, 4), n, "messages", FITTED, "buyer messages")
    return _fallback("kind_mix", parent, n, "messages")


def _concentration(days: pl.DataFrame, parent: dict[str, Estimate] | None) -> Estimate:
    d = days.filter(pl.col("evidence") >= MIN_ABSENCE_DAYS)
    if d.height < MIN_ABSENCE_SHOPS:
        return _fallback("absence_concentration", parent, d.height, "shops")
    k = beta_binomial_concentration(d["absent"].to_numpy(), d["evidence"].to_numpy())
    if np.isnan(k):
        return Estimate(
            default_of("absence_concentration"),
            d.height,
            "shops",
            DEFAULT,
            "no absent day in the log: how absences spread over shops does not matter",
        )
    return Estimate(
        round(k, 3), d.height, "shops", FITTED, "spread of the shops' absent days beyond chance"
    )


def _fallback(param: str, parent: dict[str, Estimate] | None, n: float, unit: str) -> Estimate:
    if parent is not None and parent[param].source != DEFAULT:
        return dataclasses.replace(
            parent[param], source=POOLED, note=f"segment has only {n:g} {unit}"
        )
    why = "the built-in profile" if param.startswith("arrival") else "the built-in value"
    return Estimate(default_of(param), n, unit, DEFAULT, f"the log has only {n:g} {unit}; {why}")


def _group(part: pl.DataFrame, days: pl.DataFrame, parent: dict[str, Estimate] | None) -> dict:
    tot = part.drop("shop", "segment").sum().row(0, named=True)
    return _profile(tot, parent) | {
        "kind_mix": _kind_mix(tot, parent),
        "absence_concentration": _concentration(days, parent),
    }


def add_shape_estimates(
    est: Estimates,
    obs: Observations,
    segment: pl.DataFrame,
    campaigns: Sequence[dt.date] = (),
) -> Estimates:
    """``est`` with :data:`SHAPE_PARAMS` added to every segment, the parent group and (per
    shop) every shop (``segment``: ``shop, segment``; ``campaigns``: shop-local campaign
    dates, left out of the arrival profile)."""
    counts = _arrival_counts(obs, campaigns).join(obs.kinds, on="shop").join(segment, on="shop")
    days = est.hours.shop_days.select("shop", "segment", "evidence", "absent")
    est.parent.update(_group(counts, days, None))
    for name, values in est.segments.items():  # a loop over segments
        part = counts.filter(pl.col("segment") == name)
        shape = _group(part, days.filter(pl.col("segment") == name), est.parent)
        if name in est.small:  # too few chats: the traffic's shape from all shops
            note = "segment has too few primary chats; pooled from all shops"
            for k in ("arrival_hours", "arrival_weekdays", "kind_mix"):
                p = est.parent[k]
                shape[k] = (
                    p if p.source == DEFAULT else dataclasses.replace(p, source=POOLED, note=note)
                )
        values.update(shape)
    if est.shops is not None:
        seg_of = dict(segment.select("shop", "segment").iter_rows())
        own = {r[0]: (r[1], r[2]) for r in days.select("shop", "evidence", "absent").iter_rows()}
        for shop, values in est.shops.items():  # a loop over shops (not messages)
            g = est.segments[seg_of[shop]]
            values.update({k: g[k] for k in SHAPE_PARAMS})
            n = float(own.get(shop, (0, 0))[0])
            if values["absence_rate"].value > 0 and n > 0:
                values["absence_concentration"] = Estimate(
                    round(n + PRIOR["days"], 1),
                    n,
                    "working days",
                    SHOP,
                    "the shop's own rate, known from its working days",
                )
    return est


def fitted_profile(
    profiles: pl.DataFrame, estimates: dict[str, dict[str, Estimate]]
) -> pl.DataFrame:
    """``profiles`` (:func:`~chatsim.fit.market.arrival_profiles`: ``segment, how, share``)
    plus ``fitted``: each segment's fitted ``hour x weekday`` share of the week (the
    built-in profile's where a weight is not fitted)."""
    rows = []
    for seg in profiles["segment"].unique().sort().to_list():  # a loop over segments
        e = estimates.get(seg, {})
        hw = e.get("arrival_hours")
        dw = e.get("arrival_weekdays")
        h = np.asarray(hw.value if hw is not None and hw.value is not None else DIURNAL, float)
        d = np.asarray(dw.value if dw is not None and dw.value is not None else WEEKLY, float)
        p = (d[:, None] * h[None, :]).ravel()
        rows.append(pl.DataFrame({"segment": seg, "how": np.arange(168), "fitted": p / p.sum()}))
    fitted = pl.concat(rows).with_columns(pl.col("how").cast(profiles.schema["how"]))
    return profiles.join(fitted, on=["segment", "how"], how="left").sort("segment", "how")
