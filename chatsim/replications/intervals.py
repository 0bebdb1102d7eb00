"""Intervals across replications: the mean of a figure and its t-based 95 % interval.

For a figure measured in ``n`` replications with mean ``m`` and sample standard deviation
``s`` (divisor ``n - 1``), the interval is ``m ± t · s / √n``, where ``t`` is the
Student-t quantile with ``n - 1`` degrees of freedom that leaves 2.5 % in each tail
(:func:`t_quantile`: 12.71 for 2 replications, 2.09 for 20, 1.96 in the limit). Sums are
exactly rounded (``math.fsum``), so a summary does not depend on the order of the
replications. With fewer than two values there is no interval.

Example:
    >>> round(t_quantile(19), 3)
    2.093
    >>> m = mean_interval([0.30, 0.32, 0.34, 0.36])
    >>> round(m.mean, 3), round(m.low, 3), round(m.high, 3)
    (0.33, 0.289, 0.371)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from chatsim.errors import ScenarioError

__all__ = ["LEVEL", "Interval", "mean_interval", "summarise", "t_quantile", "two_sided_t"]

#: Coverage of the replication intervals.
LEVEL = 0.95


def two_sided_t(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with ``df`` degrees of freedom, in closed form
    (Abramowitz and Stegun 26.7.3-4: a finite series in θ = atan(t / √df)).

    Example:
        >>> round(two_sided_t(12.706204736, 1), 6), round(two_sided_t(2.228138852, 10), 6)
        (0.95, 0.95)
    """
    if df < 1:
        raise ScenarioError(f"a t distribution needs at least 1 degree of freedom, got {df}.")
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    total, power = 0.0, 0
    if df % 2:  # odd: (2/π)(θ + sin θ (cos θ + 2/3 cos³θ + ... up to cos^(df-2) θ))
        term, k, power = math.cos(theta), 1, 1
        while power <= df - 2:
            total += term
            term *= 2 * k / (2 * k + 1) * c2
            k, power = k + 1, power + 2
        return 2 / math.pi * (theta + math.sin(theta) * total)
    term, k = 1.0, 1  # even: sin θ (1 + 1/2 cos²θ + 1·3/(2·4) cos⁴θ + ... up to cos^(df-2) θ)
    while power <= df - 2:
        total += term
        term *= (2 * k - 1) / (2 * k) * c2
        k, power = k + 1, power + 2
    return math.sin(theta) * total


@lru_cache(maxsize=256)
def t_quantile(df: int, level: float = LEVEL) -> float:
    """The ``t`` with P(|T| <= t) = ``level`` for ``df`` degrees of freedom (bisection on
    :func:`two_sided_t`, to 1e-12).

    Example:
        >>> [round(t_quantile(d), 3) for d in (1, 2, 4, 9, 29)]
        [12.706, 4.303, 2.776, 2.262, 2.045]
    """
    if not 0 < level < 1:
        raise ScenarioError(f"an interval's level must be between 0 and 1, got {level}.")
    lo, hi = 0.0, 1.0
    while two_sided_t(hi, df) < level:
        hi *= 2
    while hi - lo > 1e-12 * max(1.0, hi):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if two_sided_t(mid, df) < level else (lo, mid)
    return (lo + hi) / 2


@dataclass(frozen=True)
class Interval:
    """A figure across replications: its mean, the interval's bounds and half-width
    ``t · sd / √n`` (None with fewer than two values), the standard deviation and the
    number of values."""

    mean: float | None
    low: float | None
    high: float | None
    half_width: float | None
    sd: float | None
    n: int


def mean_interval(values: Sequence[float | None], level: float = LEVEL) -> Interval:
    """The mean of ``values`` (missing ones left out) and its t-based interval.

    Example:
        >>> mean_interval([0.5]).low is None, mean_interval([]).mean is None
        (True, True)
    """
    xs = [float(v) for v in values if v is not None and not math.isnan(v)]
    n = len(xs)
    if n == 0:
        return Interval(None, None, None, None, None, 0)
    mean = math.fsum(xs) / n
    if n < 2:
        return Interval(mean, None, None, None, None, n)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile(n - 1, level) * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, half, sd, n)


def summarise(
    runs: pl.DataFrame,
    keys: Sequence[str],
    level: float = LEVEL,
    bounds: Mapping[str, tuple[float, float | None]] | None = None,
) -> pl.DataFrame:
    """One row per ``keys`` and ``measure`` of a long table of replications (columns
    ``replication``, ``keys``, ``measure``, ``value``): ``mean``, ``low``, ``high``,
    ``half_width``, ``sd`` and ``replications`` (values present), in the order of
    first appearance. ``bounds`` (by measure: the lowest and highest value it can take,
    None for no highest) clips ``low`` and ``high``: a share's interval stays within
    [0, 1], a count's at or above 0 (``half_width`` is the unclipped one).

    Example:
        >>> runs = pl.DataFrame({"replication": [0, 1, 2], "rule": ["a"] * 3,
        ...     "measure": ["share"] * 3, "value": [0.3, 0.35, 0.4]})
        >>> row = summarise(runs, ["rule"]).row(0, named=True)
        >>> round(row["mean"], 6), round(row["half_width"], 4), row["replications"]
        (0.35, 0.1242, 3)
    """
    group = [*keys, "measure"]
    rows = []
    for key, part in runs.sort("replication").group_by(group, maintain_order=True):
        iv = mean_interval(part["value"].to_list(), level)
        low, high = iv.low, iv.high
        lo, hi = (bounds or {}).get(str(key[-1]), (None, None))
        if low is not None and high is not None:
            low = low if lo is None else max(low, lo)
            high = high if hi is None else min(high, hi)
        rows.append((*key, iv.mean, low, high, iv.half_width, iv.sd, iv.n))
    schema = {c: runs.schema[c] for c in group} | {
        "mean": pl.Float64,
        "low": pl.Float64,
        "high": pl.Float64,
        "half_width": pl.Float64,
        "sd": pl.Float64,
        "replications": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
