"""Shards: fixed blocks of shops, each simulated from its own random stream into tables.

Shard ``k`` holds shops ``k*SHARD_SIZE`` .. ``(k+1)*SHARD_SIZE - 1`` and draws from
``numpy.random.SeedSequence(seed, spawn_key=(k,))``, so its data depend only on the
scenario and the seed, never on how many processes run the shards.

Example:
    >>> from chatsim.scenario import Scenario
    >>> sc = Scenario.from_dict({"name": "d", "shops": 70, "period": {"start": "2025-08-15",
    ...     "days": 1}, "archetypes": {"small_team": {"share": 1.0}}})
    >>> shard_count(sc), shard_shops(sc, 1)
    (2, (64, 70))
"""

from __future__ import annotations

import numpy as np
import polars as pl

from chatsim.scenario import Scenario, shop_ids
from chatsim.schema import KIND_DTYPE, RATING_DTYPE, SENDER_DTYPE, UTC_DATETIME
from chatsim.simulate.adapt import adapt_shard, cached_plan
from chatsim.simulate.calendar import DAY
from chatsim.simulate.group import GroupOut, simulate_group
from chatsim.simulate.messages import (
    BUYER_ID_BASE,
    CONVERSATION_STRIDE,
    MESSAGE_ID_STRIDE,
    Parts,
    first_index,
)

__all__ = [
    "SHARD_SIZE",
    "adoption",
    "adaptation_columns",
    "adoption_draws",
    "messages_frame",
    "shard_arrays",
    "shard_count",
    "shard_shops",
    "shops_table",
    "simulate_shard",
]

#: Shops per shard (fixed: the shard layout, hence the data, never depends on workers).
SHARD_SIZE = 64


def shard_count(sc: Scenario) -> int:
    """How many shards the scenario's shops fill."""
    return (sc.shops + SHARD_SIZE - 1) // SHARD_SIZE


def shard_shops(sc: Scenario, shard: int) -> tuple[int, int]:
    """The shard's shops as a range of shop indices (end exclusive)."""
    return shard * SHARD_SIZE, min((shard + 1) * SHARD_SIZE, sc.shops)


def simulate_shard(sc: Scenario, shard: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Generate one shard: (messages sorted by message_id, holiday_mode, blocked).

    Shard ``k`` holds shops ``k*SHARD_SIZE`` .. ``(k+1)*SHARD_SIZE - 1`` and draws from
    ``SeedSequence(sc.seed, spawn_key=(k,))``.

    Example:
        >>> from chatsim.scenario import Scenario
        >>> sc = Scenario.from_dict({"name": "d", "shops": 2, "period": {"start": "2025-08-15",
        ...     "days": 2}, "archetypes": {"small_team": {"share": 1.0}}})
        >>> simulate_shard(sc, 0)[0]["shop_id"].unique().sort().to_list()
        ['shop_00000', 'shop_00001']
    """
    arrays, hol, blk = shard_arrays(sc, shard)
    return messages_frame(sc, shard, arrays), hol, blk


def shard_arrays(
    sc: Scenario, shard: int
) -> tuple[dict[str, np.ndarray], pl.DataFrame, pl.DataFrame]:
    """One shard as compact numpy columns sorted by (shop, time), plus its side tables."""
    n_shards = shard_count(sc)
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} out of range 0..{n_shards - 1}")
    rng = np.random.default_rng(np.random.SeedSequence(sc.seed, spawn_key=(shard,)))
    lo, hi = shard_shops(sc, shard)
    arch_of = np.asarray(sc.shop_archetypes()[lo:hi])
    parts = Parts()
    groups: dict[int, tuple[np.ndarray, GroupOut]] = {}
    u = adoption_draws(sc, shard)
    adopts = u < _adoption_rates(sc)[arch_of]
    for ai in np.unique(arch_of):  # a loop over archetypes present in the shard
        local = np.flatnonzero(arch_of == ai)
        out = simulate_group(rng, sc, sc.archetypes[int(ai)], local, adopts[local], parts)
        groups[int(ai)] = (local, out)
    outs = [o for _, o in groups.values()]
    c = parts.concat()
    adapted = adapt_shard(sc, shard, lo, arch_of, u, c, groups) if sc.changes else None
    if adapted is not None:
        c = adapted.cols
    period_s = sc.period.days * DAY
    keep = np.flatnonzero((c["t"] >= 0.0) & (c["t"] < period_s))
    t_us = np.round(c["t"][keep] * 1e6).astype(np.int64)
    # one stable sort by (shop, time); ties keep the generation order
    order = np.argsort(c["shop"][keep] * (1 << 46) + t_us, kind="stable")
    take = keep[order]
    arrays = {
        "shop": c["shop"][take].astype(np.int16),
        "buyer": c["buyer"][take].astype(np.int32),
        "t_us": t_us[order],
        "sender": c["sender"][take],
        "kind": c["kind"][take],
        "rating": c["rating"][take],
        "bcast": c["bcast"][take],
        "valid": c["valid"][take],
    }
    origin_us = _origin_us(sc)
    names = _names(sc, shard)
    if adapted is None:
        hol_shop, hol_start, hol_end = (
            np.concatenate([getattr(o, k) for o in outs])
            for k in ("hol_shop", "hol_start", "hol_end")
        )
        blk_shop, blk_local, blk_at = (
            np.concatenate([getattr(o, k) for o in outs])
            for k in ("blk_shop", "blk_buyer", "blk_at")
        )
    else:
        hol_shop, hol_start, hol_end = adapted.hol
        blk_shop, blk_local, blk_at = adapted.blk
    hol = pl.DataFrame(
        {
            "shop_id": names.gather(hol_shop),
            "start": _utc(hol_start, origin_us),
            "end": _utc(hol_end, origin_us),
        }
    ).sort("shop_id", "start")
    blk_buyer = (blk_shop + lo) * CONVERSATION_STRIDE + blk_local
    blk = pl.DataFrame(
        {
            "shop_id": names.gather(blk_shop),
            "buyer_id": blk_buyer + BUYER_ID_BASE,
            "blocked_at": _utc(blk_at, origin_us),
        }
    ).sort("shop_id", "buyer_id")
    return arrays, hol, blk


def adoption_draws(sc: Scenario, shard: int) -> np.ndarray:
    """Each shop's uniform draw behind automatic-reply adoption (:func:`adoption`).

    Drawn from ``SeedSequence(seed, spawn_key=(shard, 1))``, a stream of its own, so the
    shops table can be built without simulating the messages.
    """
    lo, hi = shard_shops(sc, shard)
    rng = np.random.default_rng(np.random.SeedSequence(sc.seed, spawn_key=(shard, 1)))
    return rng.random(hi - lo)


def _adoption_rates(sc: Scenario) -> np.ndarray:
    return np.array([a.auto_reply_adoption for a in sc.archetypes])


def adoption(sc: Scenario, shard: int) -> np.ndarray:
    """Which shops of a shard have automatic replies (and a chatbot, if enabled) on: those
    whose draw (:func:`adoption_draws`) is below their archetype's ``auto_reply_adoption``.
    """
    lo, hi = shard_shops(sc, shard)
    arch = np.asarray(sc.shop_archetypes()[lo:hi], dtype=int)
    return adoption_draws(sc, shard) < _adoption_rates(sc)[arch]


def _utc(seconds: np.ndarray, origin_us: int) -> pl.Series:
    us = np.round(seconds * 1e6).astype(np.int64) + origin_us
    return pl.Series(us, dtype=pl.Int64).cast(UTC_DATETIME)


def _origin_us(sc: Scenario) -> int:
    return int(sc.period.start_utc.timestamp()) * 1_000_000


def _names(sc: Scenario, shard: int) -> pl.Series:
    lo, hi = shard_shops(sc, shard)
    return pl.Series("shop_id", shop_ids(sc.shops)[lo:hi], dtype=pl.String)


def messages_frame(sc: Scenario, shard: int, c: dict[str, np.ndarray]) -> pl.DataFrame:
    """The messages table of a shard from its compact columns (:func:`shard_arrays`)."""
    shop_g = c["shop"].astype(np.int64) + shard * SHARD_SIZE
    rank = np.arange(shop_g.size) - first_index(shop_g)
    conv = shop_g * CONVERSATION_STRIDE + c["buyer"]
    return pl.DataFrame(
        {
            "message_id": shop_g * MESSAGE_ID_STRIDE + rank,
            "shop_id": _names(sc, shard).gather(c["shop"]),
            "conversation_id": conv,
            "buyer_id": conv + BUYER_ID_BASE,
            "sent_at": pl.Series(c["t_us"] + _origin_us(sc), dtype=pl.Int64).cast(UTC_DATETIME),
            "sender": _enum(c["sender"], SENDER_DTYPE),
            "kind": _enum(c["kind"], KIND_DTYPE),
            "is_broadcast": c["bcast"],
            "rating": _enum(c["rating"], RATING_DTYPE, offset=1),
            "valid_reply": c["valid"],
        }
    )


def _enum(codes: np.ndarray, dtype: pl.Enum, offset: int = 0) -> pl.Series:
    """Integer codes -> Enum (codes below ``offset`` become null)."""
    phys = codes.astype(np.int64) - offset
    s = pl.Series(np.maximum(phys, 0).astype(np.uint32), dtype=pl.UInt32)
    if offset:
        s = s.scatter(np.flatnonzero(phys < 0), None)
    return s.cat.to(dtype)


def shops_table(sc: Scenario) -> pl.DataFrame:
    """The shops table of a scenario: ids, time zones, segments, and ``chatbot_enabled``
    for the shops of a chatbot archetype that adopted automatic replies.

    Example:
        >>> from chatsim.scenario import Scenario
        >>> sc = Scenario.from_dict({"name": "d", "shops": 1, "period": {"start": "2025-08-15",
        ...     "days": 1}, "archetypes": {"cross_border": {"share": 1.0, "auto_reply_adoption": 0.0}}})
        >>> shops_table(sc).row(0)
        ('shop_00000', 'Europe/London', False, 'GB', 'cross_border')
    """
    arch = [sc.archetypes[i] for i in sc.shop_archetypes()]
    adopts = np.concatenate([adoption(sc, k) for k in range(shard_count(sc))])
    shops = pl.DataFrame(
        {
            "shop_id": shop_ids(sc.shops),
            "timezone": [a.timezone for a in arch],
            "chatbot_enabled": [
                a.chatbot_enabled and bool(x) for a, x in zip(arch, adopts, strict=True)
            ],
            "country": [a.country for a in arch],
            "archetype": [a.name for a in arch],
        },
        schema={  # the schema's columns first, in its order (chatsim.schema.SHOP_COLUMNS)
            "shop_id": pl.String,
            "timezone": pl.String,
            "chatbot_enabled": pl.Boolean,
            "country": pl.String,
            "archetype": pl.String,
        },
    )
    return shops.with_columns(**adaptation_columns(sc)) if sc.changes else shops


def adaptation_columns(sc: Scenario) -> dict[str, pl.Series]:
    """For a scenario with dated changes, each shop's ``adapted_from`` (the date of the first
    change that selects it, null if none) and ``adaptation`` (the names of the changes that
    select it, joined by ``" + "`` in file order; null if none).

    Example:
        >>> from chatsim.scenario import Scenario
        >>> sc = Scenario.from_dict({"name": "d", "shops": 2, "period": {"start": "2025-08-01",
        ...     "days": 30}, "archetypes": {"small_team": {"share": 1.0}}, "changes": [
        ...     {"name": "bots", "from": "2025-08-20", "share": 0.5, "set": {"auto_reply_rate": 0.9}}]})
        >>> cols = adaptation_columns(sc)
        >>> cols["adaptation"].drop_nulls().to_list(), cols["adapted_from"].drop_nulls().to_list()
        (['bots'], [datetime.date(2025, 8, 20)])
    """
    plan = cached_plan(sc)
    start = np.full(sc.shops, np.iinfo(np.int64).max)
    names: list[list[str]] = [[] for _ in range(sc.shops)]
    for p in plan:
        sel = np.flatnonzero(p.selected)
        start[sel] = np.minimum(start[sel], p.start_day)
        for i in sel.tolist():
            names[i].append(p.change.name)
    none = start == np.iinfo(np.int64).max
    first = pl.Series(np.where(none, 0, start)).cast(pl.Int32)
    origin = pl.lit(sc.period.start)
    dates = pl.select(origin + pl.duration(days=first)).to_series()
    return {
        "adapted_from": dates.scatter(np.flatnonzero(none), None).alias("adapted_from"),
        "adaptation": pl.Series(
            "adaptation", [" + ".join(n) if n else None for n in names], dtype=pl.String
        ),
    }
