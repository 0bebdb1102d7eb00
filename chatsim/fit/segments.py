"""Which shops share an archetype: a column of the shops table, or groups found in the data.

* :func:`by_column`: one segment per value of a shops-table column (``--by country``);
  shops with no value form the segment ``(none)``.
* :func:`by_behaviour`: without a column, shops are grouped by what they do. Each shop
  is described by eight numbers (:data:`FEATURES`): log chats per day, its working
  window's start and end (hours), the shares of Saturdays and of Sundays it writes on,
  the log of its median response time in hours, its share of chats with an automatic
  reply and its share of days in holiday mode. They are standardised (median 0, robust
  spread 1) and grouped with k-means (the best of 5 k-means++ starts, 50 rounds each)
  for every ``k`` from 2 to ``MAX_GROUPS``; the largest ``k`` whose mean silhouette
  (measured on at most 2,000 shops) is within ``SILHOUETTE_SLACK`` of the best wins. Every random draw comes from
  ``numpy.random.default_rng(seed)``, so a seed gives the same groups. Groups are
  named ``group_1``, ``group_2``, ... from the largest.

Example:
    >>> x = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    >>> kmeans(x, 2, np.random.default_rng(0)).tolist() in ([0, 0, 1, 1], [1, 1, 0, 0])
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from chatsim.errors import FitError
from chatsim.fit.profile import Observations

__all__ = [
    "FEATURES",
    "MAX_GROUPS",
    "NO_VALUE",
    "SILHOUETTE_SLACK",
    "Segmentation",
    "by_behaviour",
    "by_column",
    "kmeans",
    "silhouette",
]

#: Most groups :func:`by_behaviour` tries.
MAX_GROUPS = 8
#: The segment of shops whose ``by`` column is empty.
NO_VALUE = "(none)"
#: What describes a shop for the grouping.
FEATURES = (
    "log_chats_per_day", "start_h", "end_h", "saturday_share", "sunday_share",
    "log_response_h", "auto_share", "holiday_mode_share",
)  # fmt: skip
#: A larger k wins when its silhouette is within this of the best one.
SILHOUETTE_SLACK = 0.05


@dataclass(frozen=True)
class Segmentation:
    """Each shop's segment (``shops``: ``shop, segment``), how they were found, and for
    groups found in the data, each group's average features (``profile``)."""

    shops: pl.DataFrame
    method: str
    profile: pl.DataFrame | None = None

    @property
    def names(self) -> list[str]:
        """The segments, largest first (ties by name)."""
        counts = (
            self.shops.group_by("segment").len().sort(["len", "segment"], descending=[True, False])
        )
        return counts["segment"].to_list()


def by_column(obs: Observations, column: str) -> Segmentation:
    """One segment per value of the shops table's ``column``.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.fit.profile import observe
        >>> by_column(observe(sample_log(), min_days=0), "segment").names
        ['solo', 'chatbot', 'small_team']
    """
    if column not in obs.segment_columns:
        have = ", ".join(obs.segment_columns) or "none besides shop_id, timezone, chatbot_enabled"
        raise FitError(
            f"{obs.source}: the shops table has no column {column!r} to segment by; its "
            f"columns are: {have}. Add the column to the shops table, or fit without `by` "
            "to group shops by their behaviour."
        )
    seg = obs.shops.select(
        "shop", segment=pl.col(column).cast(pl.String).fill_null(NO_VALUE)
    ).with_columns(
        pl.when(pl.col("segment") == "")
        .then(pl.lit(NO_VALUE))
        .otherwise("segment")
        .alias("segment")
    )
    return Segmentation(seg, f"the shops table's column {column!r}")


def kmeans(
    x: np.ndarray, k: int, rng: np.random.Generator, rounds: int = 50, starts: int = 5
) -> np.ndarray:
    """k-means labels of the rows of ``x``: the best (least within-group sum of squares)
    of ``starts`` runs from k-means++ starts; vectorised over rows."""
    best, best_ss = np.zeros(x.shape[0], dtype=np.int64), np.inf
    for _ in range(starts):  # a loop over restarts
        labels = _kmeans_once(x, k, rng, rounds)
        ss = sum(
            float(((x[labels == j] - x[labels == j].mean(0)) ** 2).sum()) for j in np.unique(labels)
        )
        if ss < best_ss:
            best, best_ss = labels, ss
    return best


def _kmeans_once(x: np.ndarray, k: int, rng: np.random.Generator, rounds: int) -> np.ndarray:
    n = x.shape[0]
    centers = [x[int(rng.integers(n))]]
    for _ in range(1, k):  # k-means++: a loop over the k centres
        d2 = np.min(_sq_dist(x, np.array(centers)), axis=1)
        p = d2 / d2.sum() if d2.sum() > 0 else np.full(n, 1.0 / n)
        centers.append(x[int(rng.choice(n, p=p))])
    c = np.array(centers)
    labels = np.zeros(n, dtype=np.int64)
    for _ in range(rounds):  # a loop over rounds
        labels = np.argmin(_sq_dist(x, c), axis=1)
        new = np.array([x[labels == j].mean(0) if np.any(labels == j) else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return labels


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distances between the rows of ``a`` and of ``b`` (no 3-d temporary)."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette width of a labelling (pairwise distances; keep ``x`` small).

    Example:
        >>> x = np.array([[0.0], [0.1], [5.0], [5.1]])
        >>> round(silhouette(x, np.array([0, 0, 1, 1])), 2)
        0.98
    """
    ks = np.unique(labels)
    if ks.size < 2:
        return -1.0
    dist = np.sqrt(_sq_dist(x, x))
    mean_to = np.stack([dist[:, labels == k].mean(1) for k in ks], axis=1)
    own = np.searchsorted(ks, labels)
    size = np.array([(labels == k).sum() for k in ks])[own]
    a = mean_to[np.arange(labels.size), own] * size / np.maximum(size - 1, 1)
    other = mean_to.copy()
    other[np.arange(labels.size), own] = np.inf
    b = other.min(1)
    s = np.where(size > 1, (b - a) / np.maximum(a, b), 0.0)
    return float(s.mean())


def _features(obs: Observations, windows: pl.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    resp = obs.chats.filter(pl.col("primary") & pl.col("response_s").is_not_null())
    resp = resp.group_by("shop").agg(
        log_response_h=(pl.col("response_s").median() / 3600.0 + 0.01).log()
    )
    weekend = (
        days.filter(pl.col("evidence") & ~pl.col("holiday_mode"))
        .group_by("shop")
        .agg(
            saturday_share=pl.col("worked").filter(pl.col("weekday") == 5).mean(),
            sunday_share=pl.col("worked").filter(pl.col("weekday") == 6).mean(),
        )
    )
    f = obs.shops.select(
        "shop",
        log_chats_per_day=((pl.col("primary") + 0.5) / obs.days).log(),
        auto_share=pl.col("auto") / pl.col("primary").clip(1),
        holiday_mode_share=(pl.col("holiday_days") / obs.days).clip(0, 1),
    )
    f = (
        f.join(
            windows.select("shop", start_h=pl.col("start_min") / 60, end_h=pl.col("end_min") / 60),
            on="shop",
            how="left",
        )
        .join(weekend, on="shop", how="left")
        .join(resp, on="shop", how="left")
    )
    # a shop with no human message or answer takes the median of the others
    return f.with_columns(
        pl.col(c).fill_null(pl.col(c).median()).fill_null(0.0) for c in FEATURES
    ).sort("shop")


def by_behaviour(
    obs: Observations, windows: pl.DataFrame, days: pl.DataFrame, seed: int
) -> Segmentation:
    """Groups of shops that behave alike (see the module docstring)."""
    f = _features(obs, windows, days)
    x = f.select(FEATURES).to_numpy().astype(float)
    med = np.median(x, axis=0)
    spread = 1.4826 * np.median(np.abs(x - med), axis=0)
    spread = np.where(spread > 1e-9, spread, np.where(x.std(0) > 1e-9, x.std(0), 1.0))
    z = (x - med) / spread
    rng = np.random.default_rng(seed)
    n = z.shape[0]
    if n < 4:
        labels = np.zeros(n, dtype=np.int64)
        best_k, best_s = 1, float("nan")
    else:
        probe = rng.choice(n, size=min(n, 2000), replace=False)
        tried = {}
        for k in range(2, min(MAX_GROUPS, n - 1) + 1):  # a loop over candidate k
            lab = kmeans(z, k, rng)
            tried[k] = (silhouette(z[probe], lab[probe]), lab)
        top = max(s for s, _ in tried.values())
        best_k = max(k for k, (s, _) in tried.items() if s >= top - SILHOUETTE_SLACK)
        best_s, labels = tried[best_k]
    sizes = np.bincount(labels, minlength=labels.max() + 1)
    rank = np.argsort(-sizes, kind="stable")
    names = np.empty(rank.size, dtype=object)
    names[rank] = [f"group_{i + 1}" for i in range(rank.size)]
    seg = f.select("shop").with_columns(segment=pl.Series(names[labels].tolist(), dtype=pl.String))
    profile = (
        f.with_columns(seg["segment"])
        .group_by("segment")
        .agg([pl.col(c).mean() for c in FEATURES], shops=pl.len())
        .sort("segment")
    )
    method = (
        f"k-means on {len(FEATURES)} behaviour features, seed {seed}: "
        f"{best_k} group(s), mean silhouette {best_s:.2f}"
    )
    return Segmentation(seg, method, profile)
