"""The papermill parameters of the report notebooks, from a scenario (:func:`notebook_parameters`).

Parameters flow one way: scenario YAML (validated by :mod:`chatsim.scenario`) -> these
parameters -> chatsim objects inside the notebook (:func:`chatsim.notebook.load_context`).
Rules and peers are resolved here, so a bad one fails before any notebook runs.

Example:
    >>> params = notebook_parameters("scenarios/baseline.yaml", small=True)
    >>> params["rules"], params["shops"], params["drilldown_top"]
    (['legacy-24h', 'new-12h'], 36, 5)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatsim.drilldown import DRILLDOWN_TOP
from chatsim.errors import ReportError
from chatsim.rules import resolve_rule
from chatsim.scenario import MAX_REPLICATIONS, Scenario, load_scenario

__all__ = ["SMALL_DAYS", "SMALL_SHOPS", "check_replications", "notebook_parameters"]


#: Sizes used by ``--small`` (and the notebook tests).
SMALL_SHOPS, SMALL_DAYS = 36, 10


def notebook_parameters(
    scenario: Scenario | str | Path,
    *,
    log_path: str | Path = "",
    small: bool = False,
    real_log: bool = False,
    results_path: str | Path = "",
    replications: int | None = None,
    twin_path: str | Path = "",
) -> dict[str, Any]:
    """The papermill parameters every report notebook accepts, from a scenario.

    Only plain values (strings, numbers, lists) so they show in the notebook's
    injected-parameters cell. An empty ``log_path`` means "simulate the scenario"; an
    empty ``results_path`` means "evaluate in the notebook"; ``twin_path`` is the scenario
    fitted to the real log (``--fit``; empty: no twin). ``replications`` (default:
    the scenario's ``analysis.replications``; always 1 for a real log) is how many
    simulations give the pages their 95 % intervals.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    an = sc.analysis
    for ref in (*an.rules, *an.peers):  # fail now, not inside a notebook
        resolve_rule(ref)
    return {
        "scenario_path": str(Path(sc.source).resolve())
        if sc.source and Path(sc.source).exists()
        else "",
        "log_path": str(Path(log_path).resolve()) if str(log_path) else "",
        "real_log": real_log,
        "results_path": str(Path(results_path).resolve()) if str(results_path) else "",
        "twin_path": str(Path(twin_path).resolve()) if str(twin_path) else "",
        "shops": SMALL_SHOPS if small else None,
        "days": SMALL_DAYS if small else None,
        "rules": [str(r) for r in an.rules],
        "targets": [float(t) for t in an.targets],
        "windows_hours": [float(w) for w in an.windows_hours],
        "drilldown_shop": an.drilldown_shop,
        "drilldown_top": DRILLDOWN_TOP,
        "run_what_if": bool(an.what_if) and not real_log,
        "as_of": None,
        "replications": 1 if real_log else check_replications(sc, replications),
        "peers": [str(r) for r in an.peers],
    }


def check_replications(sc: Scenario, n: int | None) -> int:
    """``n`` checked (1 to :data:`~chatsim.scenario.MAX_REPLICATIONS`), or the scenario's.

    Example:
        >>> check_replications(load_scenario("scenarios/baseline.yaml"), 20)
        20
    """
    if n is None:
        return int(sc.analysis.replications)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_REPLICATIONS:
        raise ReportError(
            f"replications must be a whole number from 1 to {MAX_REPLICATIONS:,}, got {n!r}; "
            "1 runs a single simulation (no intervals)."
        )
    return n
