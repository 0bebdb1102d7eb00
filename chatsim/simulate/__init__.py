"""The traffic simulator: synthetic chat logs in the chatsim schema, from a scenario.

The model (documented in ``docs/simulator.md``) is generated with numpy array
operations only: buyer arrivals are a non-homogeneous Poisson process on hourly
bins, sellers answer in their own working time (per-shop calendars with shifted
shift times, covered days off and absent days; per-shop pace and auto-reply
adoption) through a vectorised FIFO queue, and the
auto replies, follow-ups, ratings, seller-initiated threads, broadcasts, blocked
buyers and holiday-mode periods are drawn per chat or per shop. Shops are cut
into fixed shards of :data:`SHARD_SIZE`; shard ``k`` draws from
``numpy.random.SeedSequence(seed, spawn_key=(k,))``, so the data depend only on
the scenario and its seed, never on the number of worker processes.

Where things live: :mod:`~chatsim.simulate.group` runs the model's stages for one
archetype's shops, in order; the stages are in :mod:`~chatsim.simulate.buyers` (chats,
bursts, automatic replies), :mod:`~chatsim.simulate.answers` (the human-answer queue,
ratings, follow-ups) and :mod:`~chatsim.simulate.sellers` (system messages, threads,
broadcasts), on the calendars of :mod:`~chatsim.simulate.calendar`;
:mod:`~chatsim.simulate.adapt` simulates the shops a dated change selects again from
their change on; :mod:`~chatsim.simulate.shard` turns a shard into tables and
:mod:`~chatsim.simulate.runner` runs the shards (workers, log folders, :func:`log_hash`).

Example:
    >>> from chatsim.scenario import Scenario
    >>> sc = Scenario.from_dict({"name": "demo", "seed": 1, "shops": 3,
    ...     "period": {"start": "2025-08-15", "days": 3},
    ...     "archetypes": {"agency_247": {"share": 1.0}}})
    >>> log = simulate(sc)
    >>> log.shops["shop_id"].to_list()
    ['shop_00000', 'shop_00001', 'shop_00002']
    >>> log_hash(log) == log_hash(simulate(sc))
    True
"""

from __future__ import annotations

from chatsim.simulate.calendar import DIURNAL, WEEKLY
from chatsim.simulate.runner import log_hash, shutdown_workers, simulate, simulate_to_dir
from chatsim.simulate.shard import SHARD_SIZE, shops_table, simulate_shard

__all__ = [
    "SHARD_SIZE",
    "DIURNAL",
    "WEEKLY",
    "simulate",
    "simulate_shard",
    "simulate_to_dir",
    "shops_table",
    "log_hash",
    "shutdown_workers",
]
