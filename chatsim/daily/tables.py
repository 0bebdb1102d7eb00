"""Daily counts -> the shop table of every day, through the engine's own finishing stage.

:func:`daily_shop_table` lays the counts of :func:`chatsim.daily.timeline.accumulate` out
as one row per day and shop, then runs the engine's stages after the counting: the rates
of :func:`chatsim.engine.shop_rates` (the rate step of :func:`chatsim.engine.shop_frame`)
and :func:`chatsim.engine.finish_shops` (intervals, the rule's figure, target, tier,
confidence, column order and dtypes). Day and shop travel
as one integer key through both, so each runs once for all days.

Example:
    >>> COUNTED_STATUSES[:2], "rated" in STANDING_INPUTS
    (('answered_in_time', 'answered_late'), True)
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import polars as pl

from chatsim.daily.instants import DayGrid
from chatsim.daily.timeline import COUNT_SLOTS, middle_values
from chatsim.engine import REASON_CODE, SHOP_COUNTS, finish_shops, shop_rates
from chatsim.rules import Rule

__all__ = ["COUNTED_STATUSES", "STANDING_INPUTS", "daily_shop_table"]

#: the statuses the counts hold first, in the engine's order
COUNTED_STATUSES = ("answered_in_time", "answered_late", "unanswered", "pending")
#: what the counts give :func:`~chatsim.engine.shop_rates` and ``finish_shops``
STANDING_INPUTS = frozenset(
    {*SHOP_COUNTS, "shop_id", "rated", "satisfied", "_resp_sum", "_resp_n", "_resp_median"}
)


def daily_shop_table(
    rule: Rule,
    counts: np.ndarray,
    resp_sum: np.ndarray,
    med: dict[str, np.ndarray],
    grid: DayGrid,
    shops: pl.DataFrame,
) -> pl.DataFrame:
    """One rule's shop table at every cutoff: ``day``, ``as_of``, then the columns of
    ``compare(...).shops`` (rows by day, then shop)."""
    n_shops, n_days = counts.shape[0], counts.shape[1]
    lo, hi = middle_values(med, n_shops, n_days)

    def flat(a: np.ndarray) -> np.ndarray:  # (shop, day) -> rows by day, then shop
        return np.ascontiguousarray(a.T).reshape(-1)

    cols: dict[str, np.ndarray] = {}
    for i, name in enumerate(COUNTED_STATUSES):
        cols[name] = flat(counts[:, :, i])
    for reason, code in REASON_CODE.items():
        cols[f"excluded_{reason}"] = flat(counts[:, :, 4 + code])
    base = 4 + len(REASON_CODE)
    for j, name in enumerate(COUNT_SLOTS):
        cols[name] = flat(counts[:, :, base + j])
    cols["counted"] = cols["answered_in_time"] + cols["answered_late"] + cols["unanswered"]
    key = np.arange(n_days * n_shops, dtype=np.int64)
    frame = pl.DataFrame({"shop_id": key, **cols, "_resp_sum": flat(resp_sum)})
    has = pl.col("_resp_n") > 0
    frame = frame.with_columns(
        _resp_median=pl.when(has).then(
            (pl.Series(flat(lo)).cast(pl.Float64) + pl.Series(flat(hi)).cast(pl.Float64)) / 2.0
        ),
        _resp_sum=pl.when(has).then(pl.col("_resp_sum")),
    )
    standing = shop_rates(nw.from_native(frame.lazy()), rule).to_native().collect()
    day = np.repeat(np.arange(n_days), n_shops)
    shop = np.tile(np.arange(n_shops), n_days)
    keyed = (
        shops.rename({"shop_id": "_sid"})
        .select(pl.all().gather(pl.Series(shop)))
        .with_columns(shop_id=pl.Series(key), _d=pl.Series(day))
    )
    out = finish_shops(standing, keyed, rule)
    as_of = grid.cut[grid.shop_zone[shop], day]
    return out.with_columns(
        shop_id=pl.col("_sid"),
        day=pl.lit(pl.Series(grid.days, dtype=pl.Date)).gather(pl.col("_d")),
        as_of=pl.lit(pl.Series(as_of).cast(pl.Datetime("us", "UTC"))).gather(pl.col("shop_id")),
    ).drop("_sid", "_d")
