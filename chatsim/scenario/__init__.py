"""Scenario files: what the traffic simulator generates, validated into frozen dataclasses.

A scenario names a seed, a period, a number of shops and a mix of shop
*archetypes* (solo sellers working weekdays, 24/7 agencies, cross-border teams...),
plus campaign days and the settings of the policy analysis that runs on the
simulated log. Every problem raises :class:`~chatsim.errors.ScenarioError` naming
the file and the key path, e.g. ``scenarios/x.yaml: archetypes.solo.schedule.mon: ...``.
The file reference is ``docs/simulator.md``.

The package: :mod:`~chatsim.scenario.model` (the dataclasses, each field with its
check), :mod:`~chatsim.scenario.checks` (the checks), :mod:`~chatsim.scenario.builtins`
(the built-in archetypes), :mod:`~chatsim.scenario.weights` (checks of the arrival
profile and kind-mix knobs), :mod:`~chatsim.scenario.changes` (dated changes: sellers
who adapt) and :mod:`~chatsim.scenario.parse` (reading a file).

Example:
    >>> sc = Scenario.from_dict({"name": "demo", "shops": 10,
    ...     "period": {"start": "2025-08-15", "days": 7},
    ...     "archetypes": {"solo_weekdays": {"share": 0.5}, "agency_247": {"share": 0.5}}})
    >>> sc.archetype("agency_247").schedule["sat"]
    ('00:00-24:00',)
    >>> sc.scaled(shops=4).shops
    4
"""

from __future__ import annotations

from chatsim.scenario.builtins import BUILTIN_ARCHETYPES, builtin_archetype
from chatsim.scenario.changes import Change, ShopChanges, archetype_on, change_plan
from chatsim.scenario.model import (
    ABSENCE_CONCENTRATION,
    ARCHETYPE_PARAMS,
    DEFAULT_RULES,
    DEFAULT_TARGETS,
    DEFAULT_WINDOWS,
    MAX_DAYS,
    MAX_REPLICATIONS,
    MAX_SCHEDULE_JITTER,
    MAX_SHOPS,
    Analysis,
    Archetype,
    Campaign,
    Period,
    Satisfaction,
    Scenario,
    WhatIf,
    shop_ids,
)
from chatsim.scenario.parse import load_scenario

__all__ = [
    "ABSENCE_CONCENTRATION",
    "ARCHETYPE_PARAMS",
    "BUILTIN_ARCHETYPES",
    "DEFAULT_RULES",
    "DEFAULT_TARGETS",
    "DEFAULT_WINDOWS",
    "MAX_DAYS",
    "MAX_REPLICATIONS",
    "MAX_SCHEDULE_JITTER",
    "MAX_SHOPS",
    "Analysis",
    "Archetype",
    "Campaign",
    "Change",
    "Period",
    "Satisfaction",
    "Scenario",
    "ShopChanges",
    "WhatIf",
    "archetype_on",
    "builtin_archetype",
    "change_plan",
    "load_scenario",
    "shop_ids",
]
