"""What the whole log shows beyond one segment: campaign days, the satisfaction curve, and
the arrival profiles by shop-local hour of week.

* **campaigns** (:func:`campaign_days`): for each shop-local date, the primary chats of
  all shops against what each shop gets on an ordinary day (its mean over the log's full
  days, campaign days left out once found). A date with at least ``CAMPAIGN_RATIO``
  times the usual volume and an excess of at least ``CAMPAIGN_Z`` Poisson standard
  deviations is a campaign day, its multiplier the ratio;
* **satisfaction** (:func:`satisfaction_curve`): the curve ``max / (1 + exp((h -
  midpoint) / scale))`` fitted by maximum likelihood to rated primary chats (response
  hours to the valid answer, satisfied or not; chats in holiday mode or from blocked
  buyers left out), on a grid refined six times; ``faq`` is the satisfied share of rated
  chats an automatic reply resolved;
* **arrival profiles** (:func:`arrival_profiles`): each segment's share of primary chats
  per shop-local hour of the week, beside the simulator's built-in profile
  (``chatsim.simulate.DIURNAL x WEEKLY``; the fitted one is :mod:`chatsim.fit.shape`'s).

Example:
    >>> h = np.array([0.5, 30.0]); n = np.array([100.0, 100.0]); s = np.array([90.0, 5.0])
    >>> round(log_likelihood(h, n, s, 0.9, 16.0, 5.0), 1)
    -53.0
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from chatsim.fit.profile import Observations
from chatsim.fit.record import DEFAULT, FITTED, Estimate
from chatsim.scenario import Campaign, Satisfaction
from chatsim.simulate import DIURNAL, WEEKLY

__all__ = [
    "CAMPAIGN_RATIO",
    "CAMPAIGN_Z",
    "MIN_RATED",
    "arrival_profiles",
    "builtin_profile",
    "campaign_days",
    "log_likelihood",
    "satisfaction_curve",
]

#: A campaign day has at least this many times the usual chats ...
CAMPAIGN_RATIO = 1.3
#: ... and an excess of at least this many Poisson standard deviations.
CAMPAIGN_Z = 6.0
#: Fewer rated chats than this leave the satisfaction curve at its defaults.
MIN_RATED = 200


def campaign_days(obs: Observations, days: pl.DataFrame) -> list[tuple[Campaign, float, float]]:
    """The campaign days: ``(Campaign, ratio, chats that day)``, by date."""
    daily = obs.chats.filter(pl.col("primary")).group_by("shop", "date").agg(n=pl.len())
    full = days.select("shop", "date").join(daily, on=["shop", "date"], how="left")
    full = full.with_columns(pl.col("n").fill_null(0))
    found: list[dt.date] = []
    out: list[tuple[Campaign, float, float]] = []
    for _ in range(2):  # find, then measure against days without campaigns
        usual = full.filter(~pl.col("date").is_in(found)).group_by("shop").agg(m=pl.col("n").mean())
        by_date = (
            full.join(usual, on="shop")
            .group_by("date")
            .agg(n=pl.col("n").sum(), e=pl.col("m").sum())
            .filter(pl.col("e") > 0)
            .with_columns(
                ratio=pl.col("n") / pl.col("e"), z=(pl.col("n") - pl.col("e")) / pl.col("e").sqrt()
            )
            .sort("date")
        )
        hits = by_date.filter((pl.col("ratio") >= CAMPAIGN_RATIO) & (pl.col("z") >= CAMPAIGN_Z))
        found = hits["date"].to_list()
        out = [
            (Campaign(date=d, multiplier=round(float(r), 2)), float(r), float(n))
            for d, r, n in hits.select("date", "ratio", "n").iter_rows()
        ]
    return out


def log_likelihood(
    h: np.ndarray, n: np.ndarray, s: np.ndarray, mx: float, mid: float, scale: float
) -> float:
    """Binomial log-likelihood of ``s`` satisfied of ``n`` rated at response hours ``h``."""
    p = mx / (1.0 + np.exp(np.clip((h - mid) / scale, -50, 50)))
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(np.sum(s * np.log(p) + (n - s) * np.log(1 - p)))


def _grid_fit(h: np.ndarray, n: np.ndarray, s: np.ndarray) -> tuple[float, float, float]:
    lo = np.array([0.3, -24.0, 0.25])
    hi = np.array([1.0, 120.0, 60.0])
    best = (lo + hi) / 2
    for _ in range(6):  # coarse to fine: a loop over refinements
        axes = [np.linspace(a, b, 13) for a, b in zip(lo, hi, strict=True)]
        mx, mid, sc = np.meshgrid(*axes, indexing="ij")
        z = np.clip((h[None, None, None, :] - mid[..., None]) / sc[..., None], -50, 50)
        p = np.clip(mx[..., None] / (1.0 + np.exp(z)), 1e-9, 1 - 1e-9)
        ll = (s * np.log(p) + (n - s) * np.log(1 - p)).sum(-1)
        i = np.unravel_index(np.argmax(ll), ll.shape)
        best = np.array([mx[i], mid[i], sc[i]])
        step = (hi - lo) / 12
        lo = np.maximum(best - 2 * step, [0.05, -48.0, 0.05])
        hi = np.minimum(best + 2 * step, [1.0, 240.0, 120.0])
    return float(best[0]), float(best[1]), float(best[2])


def satisfaction_curve(obs: Observations) -> tuple[Satisfaction, dict[str, Estimate]]:
    """The fitted satisfaction curve and an estimate per field."""
    # chats opened in holiday mode or by blocked buyers are left out: one left unanswered
    # takes the answer to the buyer's next chat, days later, and that chat's rating
    hol_next = pl.col("holiday_next")
    rated = obs.chats.filter(
        pl.col("primary")
        & pl.col("rating").is_not_null()
        & ~pl.col("in_holiday")
        & ~pl.col("blocked_now")
        & (hol_next.is_null() | pl.col("answer_at").is_null() | (hol_next > pl.col("answer_at")))
    )
    sat = pl.col("rating") == "satisfied"
    faq = rated.filter(pl.col("auto_resolved"))
    human = rated.filter(pl.col("response_s").is_not_null())
    out: dict[str, Estimate] = {}
    d = Satisfaction()
    if human.height >= MIN_RATED:
        hours = (pl.col("response_s") / 3600.0).clip(0, 240)
        binned = (
            human.with_columns(b=(hours * 4).floor() / 4)
            .group_by("b")
            .agg(n=pl.len(), s=sat.sum())
            .sort("b")
        )
        h, n, s = (binned[c].to_numpy().astype(float) for c in ("b", "n", "s"))
        mx, mid, scale = _grid_fit(h + 0.125, n, s)
        m = human.height
        out["max"] = Estimate(round(mx, 3), m, "rated chats", FITTED)
        out["midpoint_hours"] = Estimate(round(mid, 2), m, "rated chats", FITTED)
        out["scale_hours"] = Estimate(round(scale, 2), m, "rated chats", FITTED)
    else:
        for k in ("max", "midpoint_hours", "scale_hours"):
            out[k] = Estimate(
                getattr(d, k),
                human.height,
                "rated chats",
                DEFAULT,
                f"fewer than {MIN_RATED} rated answered chats",
            )
    if faq.height >= 20:
        out["faq"] = Estimate(
            round(float(faq.select(sat.mean()).item()), 3), faq.height, "rated chats", FITTED
        )
    else:
        out["faq"] = Estimate(
            d.faq,
            faq.height,
            "rated chats",
            DEFAULT,
            "fewer than 20 rated chats resolved by an automatic reply",
        )
    return Satisfaction(**{k: e.value for k, e in out.items()}), out


def builtin_profile() -> np.ndarray:
    """The simulator's arrival profile by hour of week (Monday 00:00 first), summing to 1."""
    p = (WEEKLY[:, None] * DIURNAL[None, :]).ravel()
    return p / p.sum()


def arrival_profiles(obs: Observations, segment: pl.DataFrame) -> pl.DataFrame:
    """Per segment and shop-local hour of week (``how`` 0 = Monday 00:00): ``chats`` and
    ``share`` of the segment's primary chats, and ``builtin`` (the simulator's profile)."""
    how = (pl.col("weekday").cast(pl.Int32) * 24 + pl.col("hour").cast(pl.Int32)).alias("how")
    per_shop = obs.chats.filter(pl.col("primary")).group_by("shop", how).agg(chats=pl.len())
    counts = per_shop.join(segment, on="shop").group_by("segment", "how").agg(pl.col("chats").sum())
    grid = (
        segment.select("segment")
        .unique()
        .join(pl.DataFrame({"how": np.arange(168, dtype=np.int32)}), how="cross")
    )
    out = grid.join(counts, on=["segment", "how"], how="left").with_columns(
        pl.col("chats").fill_null(0)
    )
    builtin = pl.DataFrame({"how": np.arange(168, dtype=np.int32), "builtin": builtin_profile()})
    return (
        out.with_columns(share=pl.col("chats") / pl.col("chats").sum().over("segment"))
        .join(builtin, on="how")
        .sort("segment", "how")
    )
