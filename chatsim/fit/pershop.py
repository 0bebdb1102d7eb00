"""Per-shop estimates (``chatsim fit --per-shop``): each shop's own figures, pulled towards
its segment where the shop has few observations.

The pooling rule: a ratio ``num / den`` of a shop is ``shrink(num, den, segment value,
prior weight)`` (:func:`chatsim.fit.record.shrink`, weights in
:data:`chatsim.fit.record.PRIOR` by unit), so a shop with many chats keeps its own share and
one with few takes nearly its segment's.

Example:
    >>> from chatsim.fit.record import Estimate
    >>> seg = {"followup_prob": Estimate(0.2, 500, "chats", "fitted")}
    >>> shrunk_estimate("followup_prob", 0.0, 0.0, "chats", seg).value
    0.2
"""

from __future__ import annotations

import math

import polars as pl

from chatsim.fit.hours import HoursFit
from chatsim.fit.params import HOURS_PARAMS, RATES, RATIOS, clip_value
from chatsim.fit.record import PRIOR, SHOP, Estimate, shrink

__all__ = ["per_shop_estimates", "shrunk_estimate"]


def per_shop_estimates(
    counts: pl.DataFrame,
    delays: pl.DataFrame,
    hours: HoursFit,
    segs: dict[str, dict[str, Estimate]],
) -> dict[int, dict[str, Estimate]]:
    """Each shop's own estimates (shop index -> parameter -> :class:`Estimate`), pulled
    towards its segment's ``segs[segment]``: volume, time zone, flags and hours are the
    shop's own; delays, ratios and rates are shrunk with :func:`~chatsim.fit.record.shrink`;
    capacity is the segment's scaled by the shop's relative volume."""
    d = {r[0]: (r[1], r[2]) for r in delays.select("shop", "n", "m").iter_rows()}
    seg_rate = counts.group_by("segment").agg(m=pl.col("rate").mean())
    mean_rate = dict(seg_rate.iter_rows())
    out: dict[int, dict[str, Estimate]] = {}
    for row in counts.iter_rows(named=True):  # a loop over shops (not messages)
        shop, seg = int(row["shop"]), row["segment"]
        g = segs[seg]
        e: dict[str, Estimate] = {
            "timezone": Estimate(row["timezone"], 1, "shop", SHOP, "the shop's time zone"),
            "chats_per_day": Estimate(
                round(row["rate"], 3), row["arrivals"], "chats", SHOP, "the shop's own"
            ),
            "volume_sigma": Estimate(0.0, 1, "shop", SHOP, "one shop"),
            "delay_shop_sigma": Estimate(0.0, 1, "shop", SHOP, "one shop"),
            "chatbot_enabled": Estimate(
                bool(row["chatbot_enabled"]), 1, "shop", SHOP, "the shops table's flag"
            ),
            "auto_reply_adoption": Estimate(
                1.0 if row["adopts"] else 0.0, row["primary"], "chats", SHOP
            ),
            "delay_sigma": g["delay_sigma"],
        }
        if "country" in row:
            e["country"] = Estimate(
                str(row["country"]) if row["country"] is not None else g["country"].value,
                1,
                "shop",
                SHOP,
            )
        n, m = d.get(shop, (0, 0.0))
        log_med = math.log(g["delay_median_minutes"].value)
        e["delay_median_minutes"] = Estimate(
            round(math.exp(shrink(n * m, n, log_med, PRIOR["delays"])), 2), n, "delays", SHOP
        )
        size = max(row["rate"] / max(mean_rate[seg], 1e-9), 0.05)
        e["capacity_per_hour"] = Estimate(
            round(g["capacity_per_hour"].value * size, 2),
            row["primary"],
            "chats",
            SHOP,
            "the segment's capacity times the shop's relative volume",
        )
        e["auto_reply_rate"] = shrunk_estimate(
            "auto_reply_rate", row["auto"], row["primary"], "chats", g
        )
        for p, (num, den, unit) in RATIOS.items():
            e[p] = shrunk_estimate(p, row[num], row[den], unit, g)
        recip = g["broadcast_recipients"].value
        lift = 1.0 / (1.0 - math.exp(-recip)) if recip > 0 else 1.0
        for p, (num, den, unit) in RATES.items():
            count = row["broadcasts"] * lift if num == "broadcasts_true" else row[num]
            exposure = row["broadcasts"] * lift if den == "broadcasts_true" else row[den]
            e[p] = shrunk_estimate(p, count, exposure, unit, g)
        e.update(hours.shop.get(shop, {k: g[k] for k in HOURS_PARAMS}))
        out[shop] = e
    return out


def shrunk_estimate(
    param: str, num: float, den: float, unit: str, seg: dict[str, Estimate]
) -> Estimate:
    """The shop's ``num / den`` for ``param`` pulled towards the segment's value."""
    v = shrink(num, den, seg[param].value, PRIOR.get(unit, PRIOR["chats"]))
    return Estimate(round(clip_value(param, v), 4), den, unit, SHOP)
