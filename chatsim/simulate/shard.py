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
    outs: list[GroupOut] = []
    adopts = adoption(sc, shard)
    for ai in np.unique(arch_of):  # a loop over archetypes present in the shard
        local = np.flatnonzero(arch_of == ai)
        outs.append(simulate_group(rng, sc, sc.archetypes[int(ai)], local, adopts[local], parts))
    c = parts.concat()
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
    hol_shop = np.concatenate([o.hol_shop for o in outs])
    hol = pl.DataFrame(
        {
            "shop_id": names.gather(hol_shop),
            "start": _utc(np.concatenate([o.hol_start for o in outs]), origin_us),
            "end": _utc(np.concatenate([o.hol_end for o in outs]), origin_us),
        }
    ).sort("shop_id", "start")
    blk_shop = np.concatenate([o.blk_shop for o in outs])
    blk_buyer = (blk_shop + lo) * CONVERSATION_STRIDE + np.concatenate([o.blk_buyer for o in outs])
    blk = pl.DataFrame(
        {
            "shop_id": names.gather(blk_shop),
            "buyer_id": blk_buyer + BUYER_ID_BASE,
            "blocked_at": _utc(np.concatenate([o.blk_at for o in outs]), origin_us),
        }
    ).sort("shop_id", "buyer_id")
    return arrays, hol, blk


def adoption(sc: Scenario, shard: int) -> np.ndarray:
    """Which shops of a shard have automatic replies (and a chatbot, if enabled) on.

    Drawn from ``SeedSequence(seed, spawn_key=(shard, 1))``, a stream of its own, so the
    shops table can be built without simulating the messages.
    """
    lo, hi = shard_shops(sc, shard)
    rng = np.random.default_rng(np.random.SeedSequence(sc.seed, spawn_key=(shard, 1)))
    rates = np.array([a.auto_reply_adoption for a in sc.archetypes])
    return rng.random(hi - lo) < rates[np.asarray(sc.shop_archetypes()[lo:hi], dtype=int)]


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
        ('shop_00000', 'Europe/London', False, 'cross_border', 'GB')
    """
    arch = [sc.archetypes[i] for i in sc.shop_archetypes()]
    adopts = np.concatenate([adoption(sc, k) for k in range(shard_count(sc))])
    return pl.DataFrame(
        {
            "shop_id": shop_ids(sc.shops),
            "timezone": [a.timezone for a in arch],
            "chatbot_enabled": [
                a.chatbot_enabled and bool(x) for a, x in zip(arch, adopts, strict=True)
            ],
            "archetype": [a.name for a in arch],
            "country": [a.country for a in arch],
        },
        schema={
            "shop_id": pl.String,
            "timezone": pl.String,
            "chatbot_enabled": pl.Boolean,
            "archetype": pl.String,
            "country": pl.String,
        },
    )
