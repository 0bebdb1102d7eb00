"""Reading scenario files: YAML in, a validated :class:`~chatsim.scenario.model.Scenario` out.

Each section is checked in turn (keys, required keys, then every value with the check
its field declares in :mod:`chatsim.scenario.model`), plus what only the whole file can
tell: archetype shares summing to 1, a drill-down shop that exists, what-if variants
and dated changes naming real archetypes and valid parameters (changes also dated
inside the period: :mod:`chatsim.scenario.changes`). Every problem raises
:class:`~chatsim.errors.ScenarioError` naming the file and the key path.

Example:
    >>> scenario_from_dict({"name": "d", "shops": 1, "period": {"start": "2025-08-15", "days": 1},
    ...     "archetypes": {"solo": {"use": "solo_weekdays", "share": 2}}}, "x.yaml")
    Traceback (most recent call last):
    ...
    chatsim.errors.ScenarioError: x.yaml: archetypes.solo.share: must be <= 1, got 2.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from chatsim.errors import ScenarioError
from chatsim.scenario.builtins import BUILTIN_ARCHETYPES, builtin_archetype
from chatsim.scenario.changes import parse_changes
from chatsim.scenario.checks import (
    Where,
    check_keys,
    checked_values,
    field_checks,
    listing,
    mapping,
    text,
)
from chatsim.scenario.model import (
    ARCHETYPE_PARAMS,
    Analysis,
    Archetype,
    Campaign,
    Period,
    Satisfaction,
    Scenario,
    WhatIf,
    plain_data,
    shop_ids,
)
from chatsim.yamlfile import read_yaml_file, shown

__all__ = ["load_scenario", "scenario_from_dict"]

_TOP_KEYS = [
    "name",
    "description",
    "seed",
    "period",
    "shops",
    "archetypes",
    "campaigns",
    "satisfaction",
    "analysis",
    "changes",
]


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file.

    Example:
        >>> sc = load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
        >>> sc.shops  # doctest: +SKIP
        300
    """
    p = Path(path)
    if not p.exists():
        raise ScenarioError(f"{p}: no such scenario file.")
    data = read_yaml_file(p, ScenarioError, "scenario")
    if data is None:
        raise ScenarioError(f"{p}: the file is empty.")
    return scenario_from_dict(data, source=str(p))


def scenario_from_dict(d: Any, source: str = "<memory>") -> Scenario:
    """Validate a plain mapping (as read from YAML) into a Scenario (``Scenario.from_dict``)."""
    top = Where(source)
    d = mapping(d, top)
    check_keys(d, _TOP_KEYS, top)
    for req in ("name", "period", "shops", "archetypes"):
        if req not in d:
            raise top.key(req).error("missing required key.")
    scalar = field_checks(Scenario)
    name = scalar["name"](d["name"], top.key("name"))
    description = scalar["description"](d.get("description", ""), top.key("description"))
    seed = scalar["seed"](d.get("seed", 0), top.key("seed"))
    period = _period(d["period"], top.key("period"))
    shops = scalar["shops"](d["shops"], top.key("shops"))

    at = top.key("archetypes")
    ad = mapping(d["archetypes"], at)
    if not ad:
        raise at.error("needs at least one archetype.")
    archetypes = tuple(_archetype(str(n), raw, at.key(n)) for n, raw in ad.items())
    total = sum(a.share for a in archetypes)
    if abs(total - 1.0) > 1e-6:
        shares = ", ".join(f"{a.name}={a.share:g}" for a in archetypes)
        raise at.error(f"shares must sum to 1, got {total:g} ({shares}).")

    at = top.key("campaigns")
    campaigns = tuple(
        _campaign(c, at.item(i)) for i, c in enumerate(listing(d.get("campaigns", []), at))
    )
    at = top.key("satisfaction")
    satisfaction = Satisfaction(
        **checked_values(Satisfaction, mapping(d.get("satisfaction", {}) or {}, at), at)
    )
    analysis = _analysis(d.get("analysis", {}) or {}, top.key("analysis"), archetypes, shops)
    changes = parse_changes(d.get("changes", []), top.key("changes"), archetypes, period)
    return Scenario(
        name=name,
        period=period,
        shops=shops,
        archetypes=archetypes,
        seed=seed,
        description=description,
        campaigns=campaigns,
        satisfaction=satisfaction,
        analysis=analysis,
        changes=changes,
        source=source,
    )


def _period(v: Any, at: Where) -> Period:
    pd = mapping(v, at)
    check_keys(pd, ["start", "days"], at)
    if "start" not in pd or "days" not in pd:
        raise at.error("needs both 'start' (YYYY-MM-DD) and 'days'.")
    period = Period(**checked_values(Period, pd, at))
    try:
        period.end_utc  # noqa: B018 (the end must be a date Python can hold)
    except OverflowError:
        raise at.error("the period ends after the year 9999; use an earlier start.") from None
    return period


def _archetype(name: str, raw: Any, at: Where) -> Archetype:
    """An archetype entry: ``use`` (or the entry's own name) picks the base, then overrides."""
    d = dict(mapping(raw, at))
    use = d.pop("use", None)
    if use is not None:
        use = text(use, at.key("use"))
        if use not in BUILTIN_ARCHETYPES:
            close = difflib.get_close_matches(use[:100], list(BUILTIN_ARCHETYPES), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise at.key("use").error(
                f"unknown built-in archetype {shown(use)}.{hint} "
                f"Allowed: {', '.join(BUILTIN_ARCHETYPES)}."
            )
        base = builtin_archetype(use)
    elif name in BUILTIN_ARCHETYPES:
        base = builtin_archetype(name)
    else:
        base = Archetype(name=name, share=0.0)
    if "share" not in d:
        raise at.key("share").error("missing: every archetype needs a share in [0, 1].")
    check_keys(d, ["use", *ARCHETYPE_PARAMS], at)
    return dataclasses.replace(base.updated(d, at), name=name)


def _campaign(v: Any, at: Where) -> Campaign:
    c = mapping(v, at)
    check_keys(c, [f.name for f in fields(Campaign)], at)
    if "date" not in c or "multiplier" not in c:
        raise at.error("a campaign needs 'date' and 'multiplier'.")
    return Campaign(**checked_values(Campaign, c, at))


def _analysis(v: Any, at: Where, archetypes: tuple[Archetype, ...], shops: int) -> Analysis:
    d = mapping(v, at)
    check_keys(d, [f.name for f in fields(Analysis)], at)
    checks = field_checks(Analysis)  # rules, targets, windows_hours, replications
    out: dict[str, Any] = {k: checks[k](d[k], at.key(k)) for k in checks if k in d}
    if d.get("drilldown_shop") is not None:
        s = text(d["drilldown_shop"], at.key("drilldown_shop"))
        ids = shop_ids(shops)
        if s not in set(ids):
            raise at.key("drilldown_shop").error(
                f"no shop {shown(s)} in this scenario; shop ids run {ids[0]} .. {ids[-1]}."
            )
        out["drilldown_shop"] = s
    if "what_if" in d:
        out["what_if"] = _what_ifs(d["what_if"], at.key("what_if"), archetypes)
    return Analysis(**out)


def _what_ifs(v: Any, at: Where, archetypes: tuple[Archetype, ...]) -> tuple[WhatIf, ...]:
    names = [a.name for a in archetypes]
    items = []
    seen: set[str] = set()
    for i, w in enumerate(listing(v, at)):
        p = at.item(i)
        wd: Mapping[str, Any] = mapping(w, p)
        check_keys(wd, ["name", "archetype", "set"], p)
        if "name" not in wd or "set" not in wd:
            raise p.error("a what-if needs 'name' and 'set'.")
        wname = text(wd["name"], p.key("name"))
        if wname in seen:
            raise p.key("name").error(f"duplicate what-if name {shown(wname)}.")
        seen.add(wname)
        arch = wd.get("archetype")
        if arch is not None and arch not in names:
            close = difflib.get_close_matches(str(arch)[:100], names, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise p.key("archetype").error(
                f"no archetype {shown(arch)} in this scenario.{hint} Allowed: {', '.join(names)}."
            )
        sets = mapping(wd["set"], p.key("set"))
        if not sets:
            raise p.key("set").error("needs at least one parameter to change.")
        if "share" in sets:
            raise p.key("set").key("share").error("a what-if cannot change shares.")
        for a in archetypes:  # validate keys and values against each affected archetype
            if arch in (None, a.name):
                a.updated(sets, p.key("set"))
        items.append(WhatIf(wname, plain_data(sets), arch))
    return tuple(items)
