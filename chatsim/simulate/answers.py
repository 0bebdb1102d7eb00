"""Stages of the seller's answers: the human-answer queue, ratings, replies, follow-ups.

Sellers pick chats up in working time (the shop's own calendar, after holiday mode),
first come first served at the staff's capacity, and answer a lognormal delay later;
small talk may come first. The buyer rates the closing message and may write again.

Example:
    >>> import numpy as np
    >>> # two chats arriving together at one shop, 60 s of work each: the second waits
    >>> fifo_pickup(np.array([0.0, 0.0]), np.array([0, 0]), np.array([60.0])).tolist()
    [0.0, 60.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatsim.scenario import Archetype, Satisfaction
from chatsim.simulate.buyers import AutoReplies, Chats
from chatsim.simulate.calendar import HOUR, Intervals, ShopCalendars, after_holiday
from chatsim.simulate.messages import (
    AUTO,
    BUYER,
    FOLLOWUP_KIND,
    KIND,
    SELLER,
    SELLER_KIND,
    Parts,
    buyer_mix,
    choice,
    first_index,
    lognormal_minutes,
)

__all__ = ["Answers", "answer_messages", "fifo_pickup", "followups", "human_answers", "ratings"]

_BIG_W = 1e13  # per-shop offset for the queue's running maximum


@dataclass(frozen=True)
class Answers:
    """The human answer of each chat (inf: none in the calendar's reach)."""

    answered: np.ndarray  # the seller means to answer (not resolved, not skipped)
    t_reply: np.ndarray  # the first reply (small talk, or the answer itself)
    small_talk: np.ndarray  # the first reply is small talk, the answer follows
    t_answer: np.ndarray  # the valid answer

    @property
    def has_answer(self) -> np.ndarray:
        return np.isfinite(self.t_answer)


def fifo_pickup(arrival_w: np.ndarray, shop: np.ndarray, service: np.ndarray) -> np.ndarray:
    """Pick-up times (working seconds) of a first-come-first-served single server per shop.

    ``arrival_w`` are the chats' arrivals in the shop's working time, ``shop`` their shop
    and ``service[shop]`` the working seconds one chat takes. The Lindley recursion
    ``S_k = max(A_k, S_{k-1} + s)`` runs for all shops at once as a running maximum.
    """
    order = np.lexsort((arrival_w, shop))
    a_s, sh_s = arrival_w[order], shop[order].astype(float)
    k = np.arange(arrival_w.size) - first_index(sh_s)
    svc = service[sh_s.astype(np.int64)]
    g = np.maximum.accumulate(a_s - k * svc + sh_s * _BIG_W) - sh_s * _BIG_W
    start_w = np.empty(arrival_w.size)
    start_w[order] = g + k * svc
    return start_w


def human_answers(
    rng: np.random.Generator,
    arch: Archetype,
    cal: ShopCalendars,
    hol: Intervals,
    size: np.ndarray,
    pace: np.ndarray,
    chats: Chats,
    resolved: np.ndarray,
    t_last: np.ndarray,
) -> Answers:
    """Which chats a human answers, and when: working time, holiday mode, blocked buyers,
    the FIFO capacity queue, the response delay, small talk first.

    ``size`` and ``pace`` are the shops' size and pace factors (staff capacity scales
    with the size), ``t_last`` the end of each chat's opening burst.
    """
    n, local, shop = chats.n, chats.local, chats.shop
    in_hol, hol_end = hol.lookup(shop, chats.t_open)
    answered = ~resolved
    answered &= np.where(in_hol, rng.random(n) < arch.holiday_mode_answer_rate, True)
    answered &= np.where(chats.blocked_now, rng.random(n) < arch.blocked_answer_rate, True)
    ready = np.where(in_hol, np.fmax(t_last, hol_end), t_last)
    delay = lognormal_minutes(rng, arch.delay_median_minutes, arch.delay_sigma, n) * pace[local]
    idx = np.flatnonzero(answered)
    service = HOUR / (arch.capacity_per_hour * size)  # big shops have more staff
    start_w = fifo_pickup(cal.work(local[idx], ready[idx]), local[idx], service)
    t_reply = np.full(n, np.inf)
    t_reply[idx] = cal.time_at(local[idx], start_w + delay[idx])
    # an answer due while the shop is in holiday mode waits until the shop is back
    t_reply = after_holiday(hol, cal, shop, local, t_reply, delay)

    small_talk = answered & (rng.random(n) < arch.small_talk_share)
    delay2 = lognormal_minutes(rng, arch.delay_median_minutes, arch.delay_sigma, n) * pace[local]
    t_answer = np.where(
        small_talk,
        after_holiday(hol, cal, shop, local, cal.add(local, t_reply, delay2), delay2),
        t_reply,
    )
    return Answers(answered, t_reply, small_talk, t_answer)


def ratings(
    rng: np.random.Generator,
    arch: Archetype,
    satisfaction: Satisfaction,
    chats: Chats,
    resolved: np.ndarray,
    answers: Answers,
) -> np.ndarray:
    """The rating of each chat's closing message: 0 none, 1 satisfied, 2 unsatisfied.

    ``rating_prob`` of the chats are rated; satisfied with the satisfaction curve's
    probability at the response time (``faq`` for chats an automatic reply resolved).
    """
    rated = rng.random(chats.n) < arch.rating_prob
    resp_h = (answers.t_answer - chats.t_open) / HOUR
    p_sat = np.where(resolved, satisfaction.faq, satisfaction.p_satisfied(np.fmin(resp_h, 1e4)))
    return np.where(rated, np.where(rng.random(chats.n) < p_sat, 1, 2), 0)


def answer_messages(
    rng: np.random.Generator,
    chats: Chats,
    auto: AutoReplies,
    t_auto: np.ndarray,
    answers: Answers,
    rating: np.ndarray,
    parts: Parts,
) -> None:
    """Add the automatic replies, small-talk replies and answers; the rating sits on the
    closing message (the answer, or the automatic reply of a resolved chat)."""
    shop, buyer, t0 = chats.shop, chats.buyer, chats.t_open
    sel = np.flatnonzero(auto.auto)
    parts.add(shop[sel], buyer[sel], t_auto[sel], AUTO, KIND["text"],
              rating=np.where(auto.resolved[sel], rating[sel], 0), origin=t0[sel])  # fmt: skip
    sel = np.flatnonzero(answers.small_talk & np.isfinite(answers.t_reply))
    parts.add(shop[sel], buyer[sel], answers.t_reply[sel], SELLER, KIND["text"], valid=False,
              origin=t0[sel])  # fmt: skip
    sel = np.flatnonzero(answers.has_answer)
    parts.add(shop[sel], buyer[sel], answers.t_answer[sel], SELLER,
              choice(rng, SELLER_KIND, sel.size), rating=rating[sel], origin=t0[sel])  # fmt: skip


def followups(
    rng: np.random.Generator,
    arch: Archetype,
    cal: ShopCalendars,
    hol: Intervals,
    pace: np.ndarray,
    chats: Chats,
    answers: Answers,
    parts: Parts,
) -> None:
    """After an answer the buyer writes again with ``followup_prob`` (median 10 min later;
    a new chat in the metric's sense), answered with ``followup_answer_prob``."""
    shop, buyer, local = chats.shop, chats.buyer, chats.local
    fu = np.flatnonzero(answers.has_answer & (rng.random(chats.n) < arch.followup_prob))
    t_fu = answers.t_answer[fu] + lognormal_minutes(rng, 10.0, 1.0, fu.size)
    t0 = chats.t_open
    fu_kind = choice(rng, buyer_mix(arch.kind_mix, FOLLOWUP_KIND), fu.size)
    parts.add(shop[fu], buyer[fu], t_fu, BUYER, fu_kind, origin=t0[fu])
    fa = rng.random(fu.size) < arch.followup_answer_prob
    fa_delay = lognormal_minutes(rng, arch.delay_median_minutes, arch.delay_sigma, fu.size)
    fa_delay *= pace[local[fu]]
    lf = local[fu][fa]
    t_fa = after_holiday(
        hol, cal, shop[fu][fa], lf, cal.add(lf, t_fu[fa], fa_delay[fa]), fa_delay[fa]
    )
    parts.add(shop[fu][fa], buyer[fu][fa], t_fa, SELLER, choice(rng, SELLER_KIND, t_fa.size),
              origin=t0[fu][fa])  # fmt: skip
