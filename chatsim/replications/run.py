"""Running replications: seeds spawned from the scenario's seed, in this process or a pool.

Replication ``i`` simulates the scenario with seed :func:`replication_seeds` ``[i]``: the
``i``-th child of ``numpy.random.SeedSequence(scenario.seed).spawn(n)``, made an integer
seed. A replication's seed does not depend on ``n`` (the first 20 of 50 replications are
the 20 of a 20-replication run) nor on the number of workers, and the replications are
gathered in their order, so a run is the same for a given seed and ``n`` whatever runs it.

Example:
    >>> replication_seeds(20250815, 3) == replication_seeds(20250815, 5)[:3]
    True
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from chatsim.errors import ScenarioError
from chatsim.replications.figures import BOUNDS, TABLES, ReplicationPlan, replication_figures
from chatsim.replications.intervals import LEVEL, Interval, summarise
from chatsim.rules import Rule
from chatsim.scenario import MAX_REPLICATIONS, Scenario

__all__ = ["Replications", "replication_seeds", "run_replications"]


def replication_seeds(seed: int, n: int) -> list[int]:
    """The seeds of ``n`` replications of a scenario with seed ``seed`` (63-bit integers
    drawn from ``SeedSequence(seed).spawn(n)``).

    Example:
        >>> len(set(replication_seeds(0, 100)))
        100
    """
    children = np.random.SeedSequence(seed).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


@dataclass(frozen=True)
class Replications:
    """The figures of ``n`` replications of a scenario (see :func:`run_replications`).

    Attributes:
        scenario: the scenario's name; ``seed`` its seed and ``seeds`` the replications'.
        old / new: the old and the new rule's names; ``rules`` every rule's.
        segment_by: the shop-table column segments come from (``archetype``), or None.
        level: the intervals' coverage (0.95).
        runs: by table of :data:`~chatsim.replications.figures.TABLES`, every
            replication's values (``replication``, the table's keys, ``measure``, ``value``).
        summaries: by table, one row per figure: its keys, ``measure``, ``mean``, ``low``,
            ``high``, ``half_width``, ``sd`` and ``replications``.
    """

    scenario: str
    seed: int
    seeds: tuple[int, ...]
    rules: tuple[str, ...]
    segment_by: str | None
    runs: dict[str, pl.DataFrame]
    level: float = LEVEL
    summaries: dict[str, pl.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.summaries:
            sums = {t: summarise(self.runs[t], TABLES[t], self.level, BOUNDS) for t in TABLES}
            object.__setattr__(self, "summaries", sums)

    @property
    def n(self) -> int:
        """The number of replications."""
        return len(self.seeds)

    @property
    def old(self) -> str:
        return self.rules[0]

    @property
    def new(self) -> str:
        return self.rules[-1]

    def summary(self, table: str) -> pl.DataFrame:
        """The summary of one table (see the attributes)."""
        if table not in self.summaries:
            raise ScenarioError(
                f"no replication table {table!r}; the tables are {', '.join(TABLES)}."
            )
        return self.summaries[table]

    def interval(self, table: str, measure: str, **keys: object) -> Interval:
        """One figure's summary (its keys as keyword arguments); an empty
        :class:`~chatsim.replications.intervals.Interval` when no replication has it.

        Example:
            >>> rep.interval("rules", "share_passing", rule="new-12h").n  # doctest: +SKIP
            20
        """
        cond = pl.col("measure") == measure
        for k, v in keys.items():
            cond &= pl.col(k) == v
        rows = self.summary(table).filter(cond)
        if rows.height == 0:
            return Interval(None, None, None, None, None, 0)
        r = rows.row(0, named=True)
        return Interval(r["mean"], r["low"], r["high"], r["half_width"], r["sd"], r["replications"])


#: The environment variable that bounds polars' threads in a process.
_THREADS = "POLARS_MAX_THREADS"


def _replicate(scenario: Scenario, plan: ReplicationPlan, i: int) -> dict[str, pl.DataFrame]:
    return replication_figures(scenario, plan, i)


def _worker_start() -> None:
    """Ctrl-C is the parent's to handle (it stops the pool)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _results(
    jobs: list[Scenario], plan: ReplicationPlan, workers: int
) -> Iterator[dict[str, pl.DataFrame]]:
    """Each replication's figures, in replication order."""
    if workers <= 1 or len(jobs) == 1:
        for i, sc in enumerate(jobs):
            yield _replicate(sc, plan, i)
        return
    # spawned, not forked: polars' thread pool does not survive fork(); each worker gets
    # its share of the cores for polars' threads (unless the environment sets them)
    workers = min(workers, len(jobs))
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_start,
    )
    saved = os.environ.get(_THREADS)
    os.environ.setdefault(_THREADS, threads)
    try:  # the workers start (and read the environment) as the jobs are submitted
        futures = [pool.submit(_replicate, sc, plan, i) for i, sc in enumerate(jobs)]
    finally:
        if saved is None:
            os.environ.pop(_THREADS, None)
    try:
        for f in futures:
            yield f.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_replications(
    scenario: Scenario,
    n: int | None = None,
    *,
    rules: Sequence[Rule | str] | None = None,
    workers: int | None = 1,
    bridge: bool = True,
    sweep: bool = True,
    what_if: bool = True,
    progress: bool = False,
) -> Replications:
    """Simulate ``scenario`` ``n`` times (default: its ``analysis.replications``), each
    with its own spawned seed, and measure every headline figure in each
    (:func:`~chatsim.replications.figures.replication_figures`; ``bridge``, ``sweep`` and
    ``what_if`` switch those tables off). ``workers`` processes run replications side by
    side (``None``: every core); the result is the same for any number. (The workers are
    spawned processes: a script that asks for more than one runs this under
    ``if __name__ == "__main__":``, as for any spawned pool; notebooks need nothing.)

    Example:
        >>> from chatsim.scenario import Scenario
        >>> sc = Scenario.from_dict({"name": "d", "seed": 3, "shops": 6,
        ...     "period": {"start": "2025-08-15", "days": 3},
        ...     "archetypes": {"agency_247": {"share": 1.0}}})
        >>> rep = run_replications(sc, 3, sweep=False, what_if=False, bridge=False)
        >>> rep.n, rep.summary("rules")["replications"].to_list()[:2]
        (3, [3, 3])
    """
    n = scenario.analysis.replications if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_REPLICATIONS:
        raise ScenarioError(
            f"{scenario.source}: analysis.replications: must be a whole number from 1 to "
            f"{MAX_REPLICATIONS:,}, got {n!r}."
        )
    plan = ReplicationPlan.of(scenario, rules, bridge=bridge, sweep=sweep, what_if=what_if)
    seeds = replication_seeds(scenario.seed, n)
    jobs = [dataclasses.replace(scenario, seed=s) for s in seeds]
    workers = (os.cpu_count() or 1) if workers is None else workers
    parts: dict[str, list[pl.DataFrame]] = {t: [] for t in TABLES}
    results = _results(jobs, plan, workers)
    if progress:
        from tqdm.auto import tqdm

        results = tqdm(results, total=n, desc="replications", unit="run")
    for figures in results:
        for t in TABLES:
            parts[t].append(figures[t])
    runs = {t: pl.concat(parts[t], how="vertical") for t in TABLES}
    return Replications(
        scenario=scenario.name,
        seed=scenario.seed,
        seeds=tuple(seeds),
        rules=tuple(r.name for r in plan.rules),
        # a simulated shop's segment is its seller type (the shops table's archetype)
        segment_by="archetype" if runs["segments"].height else None,
        runs=runs,
    )
