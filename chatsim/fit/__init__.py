"""Fit a scenario to a real chat log: the simulator's parameters estimated from the log.

``fit(log, by=None, per_shop=False, seed=0) -> Scenario``; :func:`fit_log` gives the
:class:`Fit` (the scenario, its YAML with a comment per value, where each value came
from); :func:`calibration_tables` compares the log with a simulation of the fitted
scenario (pass shares per rule and segment, arrivals by hour of week, shop rate and
response-time distributions) with the goodness-of-fit figures. ``docs/fitting.md``
documents every estimator.

Example:
    >>> from chatsim.sample import sample_log
    >>> f = fit_log(sample_log(), by="segment", min_days=0)
    >>> f.scenario.shops
    4
"""

from __future__ import annotations

from chatsim.fit.fitting import Fit, fit, fit_log, fit_settings
from chatsim.fit.goodness import ALL as ALL_SHOPS
from chatsim.fit.goodness import GOALS, Calibration, calibration_tables

__all__ = [
    "ALL_SHOPS",
    "GOALS",
    "Calibration",
    "Fit",
    "calibration_tables",
    "fit",
    "fit_log",
    "fit_settings",
]
