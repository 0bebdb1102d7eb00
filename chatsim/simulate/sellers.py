"""Stages on the seller's own initiative: system messages, seller threads, broadcasts.

None of these answer a buyer: system messages are order updates inside a chat,
threads and broadcasts open new conversations (the buyer may reply within 23 h).

Example:
    >>> import numpy as np
    >>> from chatsim.simulate.calendar import ShopCalendars
    >>> cal = ShopCalendars(np.array([0]), np.array([3600.0]), np.array([7200.0]), 1, 30 * 86400.0)
    >>> w = working_period(cal, 1, 86400.0)
    >>> w.w1 - w.w0, w.works  # one working hour in the period
    (array([3600.]), array([ True]))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from chatsim.scenario import Archetype
from chatsim.simulate.buyers import Chats
from chatsim.simulate.calendar import HOUR, Intervals, ShopCalendars
from chatsim.simulate.messages import (
    BROADCAST_KIND,
    BUYER,
    KIND,
    REPLY_KIND,
    SELLER,
    THREAD_KIND,
    Parts,
    buyer_mix,
    choice,
    first_index,
)

__all__ = [
    "WorkingPeriod",
    "broadcasts",
    "seller_threads",
    "system_messages",
    "working_period",
]


def system_messages(rng: np.random.Generator, arch: Archetype, chats: Chats, parts: Parts) -> None:
    """With ``system_message_share`` an order update (``kind = system``, not a reply)
    lands in the chat 30 s-30 min after it opens."""
    sel = np.flatnonzero(rng.random(chats.n) < arch.system_message_share)
    t = chats.t_open[sel] + rng.uniform(30.0, 1800.0, sel.size)
    parts.add(
        chats.shop[sel], chats.buyer[sel], t, SELLER, KIND["system"], origin=chats.t_open[sel]
    )


@dataclass(frozen=True)
class WorkingPeriod:
    """Each shop's working seconds at the period's start and end (calendar origin)."""

    w0: np.ndarray
    w1: np.ndarray

    @property
    def works(self) -> np.ndarray:
        """Shops with working time in the period."""
        return self.w1 > self.w0


def working_period(cal: ShopCalendars, ns: int, period_s: float) -> WorkingPeriod:
    """The working seconds the ``ns`` shops of ``cal`` have at 0 and at ``period_s``."""
    every = np.arange(ns)
    return WorkingPeriod(cal.work(every, np.zeros(ns)), cal.work(every, np.full(ns, period_s)))


def seller_threads(
    rng: np.random.Generator,
    arch: Archetype,
    cal: ShopCalendars,
    hol: Intervals,
    shops: np.ndarray,
    work: WorkingPeriod,
    days: int,
    n_buyers: np.ndarray,
    parts: Parts,
) -> np.ndarray:
    """``seller_threads_per_day`` new conversations per shop at uniform working times (none
    in holiday mode), replied to within 23 h with ``seller_thread_reply_rate``.

    Thread buyers are numbered after each shop's buyer pool (``n_buyers``); returns the
    number of threads drawn per shop (the next block of buyer numbers starts after them).
    """
    n_thr = rng.poisson(arch.seller_threads_per_day * days * work.works)
    th_local = np.repeat(np.arange(shops.size), n_thr)
    th_t = cal.time_at(th_local, rng.uniform(work.w0[th_local], work.w1[th_local]))
    th_buyer = n_buyers[th_local] + (np.arange(th_local.size) - first_index(th_local))
    off = ~hol.lookup(shops[th_local], th_t)[0]  # no new threads while on holiday
    th_local, th_t, th_buyer = th_local[off], th_t[off], th_buyer[off]
    parts.add(shops[th_local], th_buyer, th_t, SELLER, choice(rng, THREAD_KIND, th_t.size))
    rep = rng.random(th_t.size) < arch.seller_thread_reply_rate
    t_rep = th_t[rep] + np.minimum(rng.exponential(2 * HOUR, int(rep.sum())), 23 * HOUR)
    parts.add(
        shops[th_local[rep]],
        th_buyer[rep],
        t_rep,
        BUYER,
        choice(rng, buyer_mix(arch.kind_mix, REPLY_KIND), t_rep.size),
        origin=th_t[rep],
    )
    return n_thr


def broadcasts(
    rng: np.random.Generator,
    arch: Archetype,
    cal: ShopCalendars,
    hol: Intervals,
    shops: np.ndarray,
    work: WorkingPeriod,
    days: int,
    first_follower: np.ndarray,
    parts: Parts,
) -> int:
    """``broadcasts_per_week`` per shop at uniform working times (none in holiday mode), to
    ``Poisson(broadcast_recipients)`` of a follower pool 4x that size; recipients reply
    within 23 h with ``broadcast_reply_rate``.

    Follower buyers are numbered from ``first_follower`` per shop; returns the pool size.
    """
    n_bc = rng.poisson(arch.broadcasts_per_week * days / 7.0 * work.works)
    bc_local = np.repeat(np.arange(shops.size), n_bc)
    bc_t = cal.time_at(bc_local, rng.uniform(work.w0[bc_local], work.w1[bc_local]))
    off = ~hol.lookup(shops[bc_local], bc_t)[0]  # no broadcasts while on holiday
    bc_local, bc_t = bc_local[off], bc_t[off]
    followers = max(1, int(math.ceil(4 * arch.broadcast_recipients)))
    n_rec = np.minimum(rng.poisson(arch.broadcast_recipients, bc_local.size), followers)
    bc_kind = choice(rng, BROADCAST_KIND, bc_local.size)
    base = rng.integers(0, followers, bc_local.size)
    bc_of = np.repeat(np.arange(bc_local.size), n_rec)
    j = np.arange(bc_of.size) - (np.cumsum(n_rec) - n_rec)[bc_of]
    rec_local = bc_local[bc_of]
    rec_buyer = first_follower[rec_local] + (base[bc_of] + j) % followers
    rec_t = bc_t[bc_of] + j * 0.001  # a broadcast is delivered in one sweep
    rec_t0 = bc_t[bc_of]
    parts.add(shops[rec_local], rec_buyer, rec_t, SELLER, bc_kind[bc_of], bcast=True, origin=rec_t0)
    rep = rng.random(rec_t.size) < arch.broadcast_reply_rate
    t_rep = rec_t[rep] + np.minimum(rng.exponential(HOUR, int(rep.sum())), 23 * HOUR)
    parts.add(
        shops[rec_local[rep]],
        rec_buyer[rep],
        t_rep,
        BUYER,
        choice(rng, buyer_mix(arch.kind_mix, REPLY_KIND), t_rep.size),
        origin=rec_t0[rep],
    )
    return followers
