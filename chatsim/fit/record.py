"""One estimate with its provenance: value, sample size, and where it came from.

Every parameter of a fitted scenario is an :class:`Estimate`: ``fitted`` from the
segment's own data, ``pooled`` from the parent group (all shops) because the segment had
too little, ``shop`` for a shop's own value in per-shop mode (pulled towards its
segment, :func:`shrink`), ``default`` when the log cannot inform it (the documented
default of ``docs/simulator.md`` is kept). The fitted YAML writes each as a comment and
:func:`provenance_frame` as a table.

Example:
    >>> e = Estimate(0.25, 400, "chats", FITTED)
    >>> e.describe()
    'fitted from 400 chats'
    >>> round(shrink(3, 10, 0.5, 20), 3)  # 3 of 10 chats, segment 0.5, prior worth 20
    0.433
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import polars as pl

from chatsim.scenario import Archetype

__all__ = [
    "DEFAULT",
    "FITTED",
    "POOLED",
    "PRIOR",
    "SHOP",
    "Estimate",
    "default_of",
    "provenance_frame",
    "shrink",
]

FITTED, POOLED, SHOP, DEFAULT = "fitted", "pooled", "shop", "default"

#: Per-shop pooling: a shop's estimate is ``(shop total + K x segment value) / (shop
#: exposure + K)``, the segment's value counting as ``K`` observations of the unit.
PRIOR: dict[str, float] = {
    "chats": 20.0,
    "messages": 20.0,
    "buyers": 20.0,
    "days": 7.0,
    "weeks": 1.0,
    "months": 1.0,
    "periods": 2.0,
    "broadcasts": 2.0,
    "delays": 10.0,
}


@dataclass(frozen=True)
class Estimate:
    """A parameter value, how many observations of ``unit`` it rests on, its ``source``
    (``fitted``, ``pooled``, ``shop``, ``default``) and a note for the reader."""

    value: Any
    n: float
    unit: str
    source: str
    note: str = ""

    def describe(self) -> str:
        """A short phrase for the fitted YAML's comment."""
        if self.source == DEFAULT:
            base = "default (not informed by the log)"
        elif self.source == POOLED:
            base = f"pooled from all shops ({_count(self.n)} {self.unit})"
        elif self.source == SHOP:
            base = f"the shop's own, pooled towards its segment ({_count(self.n)} {self.unit})"
        else:
            base = f"fitted from {_count(self.n)} {self.unit}"
        return f"{base}; {self.note}" if self.note else base

    def with_value(self, value: Any) -> Estimate:
        return dataclasses.replace(self, value=value)


def _count(n: float) -> str:
    return f"{n:,.0f}" if float(n).is_integer() or n >= 100 else f"{n:,.1f}"


def shrink(total: float, exposure: float, parent: float, k: float) -> float:
    """A shop's rate ``total / exposure`` pulled towards its segment's ``parent`` value,
    which counts as ``k`` units of exposure: ``(total + k x parent) / (exposure + k)``."""
    return (total + k * parent) / (exposure + k)


def default_of(param: str) -> Any:
    """The generic default of an archetype parameter (``docs/simulator.md``).

    Example:
        >>> default_of("delay_median_minutes")
        20.0
    """
    return getattr(Archetype(name="_", share=0.0), param)


def provenance_frame(estimates: dict[str, dict[str, Estimate]]) -> pl.DataFrame:
    """One row per archetype and parameter: ``archetype, parameter, value, n, unit,
    source, note`` (values as text)."""
    rows = [
        {
            "archetype": a,
            "parameter": p,
            "value": _text(e.value),
            "n": float(e.n),
            "unit": e.unit,
            "source": e.source,
            "note": e.note,
        }
        for a, params in estimates.items()
        for p, e in params.items()
    ]
    schema = {
        "archetype": pl.String, "parameter": pl.String, "value": pl.String, "n": pl.Float64,
        "unit": pl.String, "source": pl.String, "note": pl.String,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def _text(v: Any) -> str:
    if hasattr(v, "to_dict"):
        return str({d: list(r) for d, r in v.to_dict().items() if r})
    return str(v)
