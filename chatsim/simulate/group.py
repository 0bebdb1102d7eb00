"""One archetype's shops in one shard: the stages of the traffic model, in order.

:func:`simulate_group` runs the stages of ``chatsim.simulate``'s model for the shops of
one archetype: the shops' own habits, buyer chats and their bursts, automatic replies,
the human-answer queue, ratings, system messages, follow-ups, seller threads and
broadcasts. Every stage draws from the shard's one random generator, so the order of
the calls below is part of the output: moving a stage, or a draw inside one, changes
every simulated log of every scenario and seed.

Example:
    >>> import numpy as np
    >>> from chatsim.scenario import Scenario
    >>> from chatsim.simulate.messages import Parts
    >>> sc = Scenario.from_dict({"name": "d", "shops": 2, "period": {"start": "2025-08-15",
    ...     "days": 2}, "archetypes": {"agency_247": {"share": 1.0}}})
    >>> parts = Parts()
    >>> out = simulate_group(np.random.default_rng(0), sc, sc.archetypes[0], np.arange(2),
    ...     np.array([True, False]), parts)
    >>> sorted(set(parts.concat()["shop"].tolist()))
    [0, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatsim.errors import ScenarioError
from chatsim.scenario import Archetype, Scenario
from chatsim.simulate.answers import answer_messages, followups, human_answers, ratings
from chatsim.simulate.buyers import auto_reply_decisions, auto_reply_times, bursts, buyer_chats
from chatsim.simulate.calendar import (
    DAY,
    Intervals,
    ShopCalendars,
    arrival_profile,
    day_plan,
    holiday_mode,
    shop_calendars,
)
from chatsim.simulate.messages import CONVERSATION_STRIDE, Parts
from chatsim.simulate.sellers import broadcasts, seller_threads, system_messages, working_period

__all__ = ["GroupOut", "ShopHabits", "shop_habits", "simulate_group"]


@dataclass(frozen=True)
class GroupOut:
    """The side tables of a group: holiday-mode periods and blocked buyers (shard-local shops)."""

    hol_shop: np.ndarray
    hol_start: np.ndarray
    hol_end: np.ndarray
    blk_shop: np.ndarray
    blk_buyer: np.ndarray
    blk_at: np.ndarray
    habits: ShopHabits | None = None  # the group's shop habits (dated changes reuse them)


@dataclass(frozen=True)
class ShopHabits:
    """What makes each shop of an archetype its own: size, pace, calendar, holiday mode."""

    size: np.ndarray  # mean-1 factor on the chat volume and the staff capacity
    pace: np.ndarray  # median-1 factor on every response delay
    cal: ShopCalendars
    hol: Intervals


def shop_habits(
    rng: np.random.Generator, sc: Scenario, arch: Archetype, shops: np.ndarray
) -> ShopHabits:
    """Draw each shop's size and pace factors, working calendar and holiday-mode periods."""
    days = sc.period.days
    plan = day_plan(
        arch.schedule,
        arch.staff_tz,
        arch.holiday_country,
        arch.works_holidays,
        sc.period.start,
        days,
    )
    ns = shops.size
    sig = arch.volume_sigma
    size = np.exp(sig * rng.standard_normal(ns) - sig * sig / 2.0)  # mean-1 shop size factor
    pace = np.exp(arch.delay_shop_sigma * rng.standard_normal(ns))
    cal = shop_calendars(rng, arch, plan, ns)
    hol = holiday_mode(rng, arch, shops, days * DAY, days)
    return ShopHabits(size, pace, cal, hol)


def simulate_group(
    rng: np.random.Generator,
    sc: Scenario,
    arch: Archetype,
    shops: np.ndarray,
    adopts: np.ndarray,
    parts: Parts,
    habits: ShopHabits | None = None,
) -> GroupOut:
    """Generate every message of the shops ``shops`` (shard-local indices) of one archetype.

    ``adopts`` says which of them have automatic replies on (see
    :func:`chatsim.simulate.shard.adoption`). Messages go to ``parts``. ``habits``: the
    shops' habits when already drawn (a shop that adapts keeps its own), else drawn first.
    """
    days = sc.period.days
    period_s = days * DAY
    profile = arrival_profile(
        arch.buyer_tz,
        sc.period.start,
        days,
        sc.campaigns,
        arch.arrival_hours,
        arch.arrival_weekdays,
    )
    h = shop_habits(rng, sc, arch, shops) if habits is None else habits

    chats = buyer_chats(rng, arch, shops, arch.chats_per_day * h.size, profile, period_s)
    auto = auto_reply_decisions(rng, arch, adopts, chats)
    t_last = bursts(rng, arch.burst_mean, chats, auto.resolved, parts, arch.kind_mix)
    t_auto = auto_reply_times(rng, chats)
    answers = human_answers(rng, arch, h.cal, h.hol, h.size, h.pace, chats, auto.resolved, t_last)
    rating = ratings(rng, arch, sc.satisfaction, chats, auto.resolved, answers)
    answer_messages(rng, chats, auto, t_auto, answers, rating, parts)
    system_messages(rng, arch, chats, parts)
    followups(rng, arch, h.cal, h.hol, h.pace, chats, answers, parts)

    work = working_period(h.cal, shops.size, period_s)
    n_thr = seller_threads(rng, arch, h.cal, h.hol, shops, work, days, chats.n_buyers, parts)
    followers = broadcasts(
        rng, arch, h.cal, h.hol, shops, work, days, chats.n_buyers + n_thr, parts
    )

    top = int((chats.n_buyers + n_thr).max(initial=0)) + followers
    if top >= CONVERSATION_STRIDE:
        raise ScenarioError(
            f"{sc.source}: archetypes.{arch.name}: a shop would have {top} conversations; "
            f"the simulator supports < {CONVERSATION_STRIDE} per shop. Lower chats_per_day or days."
        )
    hol = h.hol
    return GroupOut(hol.shop, hol.start, hol.end, chats.blk_shop, chats.blk_buyer, chats.blk_at, h)
