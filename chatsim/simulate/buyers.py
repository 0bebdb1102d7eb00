"""Stages on the buyer's side: chats arriving, automatic replies deciding, opening bursts.

Each stage draws from the shard's random generator in turn; :func:`chatsim.simulate.group.
simulate_group` calls them in a fixed order, which is part of the output (see there).

Example:
    >>> import numpy as np
    >>> from chatsim.simulate.messages import Parts
    >>> chats = Chats(local=np.array([0, 0]), shop=np.array([4, 4]), buyer=np.array([0, 1]),
    ...     t_open=np.array([10.0, 20.0]), n_buyers=np.array([2]), blocked_now=np.array([False, False]),
    ...     blk_shop=np.array([], dtype=int), blk_buyer=np.array([], dtype=int), blk_at=np.array([]))
    >>> rng = np.random.default_rng(0)
    >>> t_last = bursts(rng, 1.0, chats, np.array([False, True]), Parts())
    >>> t_last.tolist()  # bursts of one message: the opening message itself
    [10.0, 20.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatsim.scenario import Archetype
from chatsim.simulate.calendar import DAY, HOUR
from chatsim.simulate.messages import BUYER, FIRST_KIND, NEXT_KIND, Parts, buyer_mix, choice

__all__ = [
    "AutoReplies",
    "Chats",
    "auto_reply_decisions",
    "auto_reply_times",
    "buyer_chats",
    "bursts",
]


@dataclass(frozen=True)
class Chats:
    """Buyer-initiated chats of one archetype group, one row per chat (plus blocked buyers)."""

    local: np.ndarray  # the shop's index within the group (calendars, habits)
    shop: np.ndarray  # the shop's index within the shard
    buyer: np.ndarray  # shop-local buyer number
    t_open: np.ndarray  # seconds since the period start
    n_buyers: np.ndarray  # per shop: the size of its buyer pool
    blocked_now: np.ndarray  # the buyer was blocked when the chat opened
    blk_shop: np.ndarray  # the blocked table: shard-local shop, buyer number, time
    blk_buyer: np.ndarray
    blk_at: np.ndarray

    @property
    def n(self) -> int:
        return int(self.t_open.size)


def buyer_chats(
    rng: np.random.Generator,
    arch: Archetype,
    shops: np.ndarray,
    lam: np.ndarray,
    profile: np.ndarray,
    period_s: float,
) -> Chats:
    """Chat openings: Poisson counts per (shop, UTC hour), buyers from a shop-local pool,
    and the pool's blocked buyers (a share, each blocked at a random time).

    ``shops`` are the group's shard-local shop indices, ``lam`` their mean chats per day.
    """
    ns = shops.size
    counts = rng.poisson(lam[:, None] / 24.0 * profile[None, :])
    per_shop = counts.sum(axis=1)
    hours = profile.size
    cell = np.repeat(np.arange(ns * hours), counts.ravel())
    n = cell.size
    local = cell // hours
    t_open = (cell % hours) * HOUR + rng.random(n) * HOUR

    # buyers: a shop-local pool of ~0.75 buyers per chat, so some buyers come back
    n_buyers = np.maximum(1, np.ceil(per_shop * 0.75)).astype(np.int64)
    buyer = (rng.random(n) * n_buyers[local]).astype(np.int64)

    # blocked buyers: a share of each shop's pool, blocked at a random time
    pool_off = np.concatenate([[0], np.cumsum(n_buyers)])
    blocked = rng.random(pool_off[-1]) < arch.blocked_share
    blocked_at = np.where(
        blocked, rng.uniform(-15 * DAY, max(period_s - DAY, 0.0), pool_off[-1]), np.inf
    )
    blocked_at = np.round(blocked_at)
    b_idx = np.flatnonzero(blocked)
    b_local = np.searchsorted(pool_off, b_idx, side="right") - 1
    return Chats(
        local=local,
        shop=shops[local],
        buyer=buyer,
        t_open=t_open,
        n_buyers=n_buyers,
        blocked_now=t_open >= blocked_at[pool_off[local] + buyer],
        blk_shop=shops[b_local],
        blk_buyer=b_idx - pool_off[b_local],
        blk_at=blocked_at[b_idx],
    )


@dataclass(frozen=True)
class AutoReplies:
    """Which chats get an automatic reply, and which of those it resolves (FAQ)."""

    auto: np.ndarray
    resolved: np.ndarray


def auto_reply_decisions(
    rng: np.random.Generator, arch: Archetype, adopts: np.ndarray, chats: Chats
) -> AutoReplies:
    """At shops that adopted automatic replies, ``auto_reply_rate`` of the chats get one;
    ``faq_resolution`` of those are resolved by it (the buyer writes no more)."""
    auto = adopts[chats.local] & (rng.random(chats.n) < arch.auto_reply_rate)
    resolved = auto & (rng.random(chats.n) < arch.faq_resolution)
    return AutoReplies(auto, resolved)


def bursts(
    rng: np.random.Generator,
    burst_mean: float,
    chats: Chats,
    resolved: np.ndarray,
    parts: Parts,
    kind_mix: tuple[tuple[str, float], ...] | None = None,
) -> np.ndarray:
    """The buyer's opening burst: ``1 + Poisson(burst_mean - 1)`` messages 1 s + Exp(40 s)
    apart (just the opening message when an automatic reply resolves the chat), their
    kinds from ``kind_mix`` (the archetype's; ``None``: the built-in mixes of a chat's
    first and later messages).

    Adds the messages and returns the time of each chat's last burst message.
    """
    n = chats.n
    nb = 1 + rng.poisson(burst_mean - 1.0, n)
    nb[resolved] = 1
    first = np.cumsum(nb) - nb
    chat = np.repeat(np.arange(n), nb)
    pos = np.arange(chat.size) - first[chat]
    gap = np.where(pos == 0, 0.0, 1.0 + rng.exponential(40.0, chat.size))
    cum = np.cumsum(gap)
    tb = chats.t_open[chat] + cum - cum[first][chat]
    kind = choice(rng, buyer_mix(kind_mix, NEXT_KIND), chat.size)
    kind[first] = choice(rng, buyer_mix(kind_mix, FIRST_KIND), n)
    parts.add(chats.shop[chat], chats.buyer[chat], tb, BUYER, kind, origin=chats.t_open[chat])
    return tb[first + nb - 1]


def auto_reply_times(rng: np.random.Generator, chats: Chats) -> np.ndarray:
    """When each chat's automatic reply would arrive: 1-4 s after the opening message."""
    return chats.t_open + rng.uniform(1.0, 4.0, chats.n)
