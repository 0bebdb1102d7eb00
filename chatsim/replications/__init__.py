"""Replications: how much a simulated figure moves from seed to seed.

A scenario simulated once gives one value of each headline figure (the share of shops
meeting each rule, the shops that lose or gain status, each seller type's share, the
bridge's steps, the sensitivity grid, the what-if effects). :func:`run_replications`
simulates it ``analysis.replications`` times, each with a seed spawned from the scenario's
seed, evaluates each with the shop tables only (``compare(..., chats=False)``), and
reports every figure as its mean over the replications with a t-based 95 % interval:

* :mod:`~chatsim.replications.intervals`: the interval (mean ± t · sd / √n, Student's t
  with n − 1 degrees of freedom, computed in closed form) and the summary of a table;
* :mod:`~chatsim.replications.figures`: one replication's figures, as long tables;
* :mod:`~chatsim.replications.run`: the seeds, the runs (in this process or side by side
  in worker processes, with identical results) and :class:`Replications`.

The sentences and key numbers written from a run are :mod:`chatsim.explain.uncertainty`;
its charts :mod:`chatsim.charts.uncertainty`; the method ``docs/uncertainty.md``.

Example:
    >>> from chatsim.scenario import Scenario
    >>> sc = Scenario.from_dict({"name": "d", "seed": 3, "shops": 6,
    ...     "period": {"start": "2025-08-15", "days": 3},
    ...     "archetypes": {"agency_247": {"share": 1.0}}})
    >>> rep = run_replications(sc, 2, bridge=False, sweep=False, what_if=False)
    >>> sorted(rep.summaries)[:3]
    ['bridge', 'flips', 'rules']
"""

from __future__ import annotations

from chatsim.replications.figures import (
    BOUNDS,
    KEY_DTYPES,
    TABLES,
    ReplicationPlan,
    replication_figures,
)
from chatsim.replications.intervals import (
    LEVEL,
    Interval,
    mean_interval,
    summarise,
    t_quantile,
    two_sided_t,
)
from chatsim.replications.run import Replications, replication_seeds, run_replications

__all__ = [
    "BOUNDS",
    "KEY_DTYPES",
    "LEVEL",
    "TABLES",
    "Interval",
    "ReplicationPlan",
    "Replications",
    "mean_interval",
    "replication_figures",
    "replication_seeds",
    "run_replications",
    "summarise",
    "t_quantile",
    "two_sided_t",
]
