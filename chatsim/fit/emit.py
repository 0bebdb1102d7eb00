"""The fitted scenario: a :class:`~chatsim.scenario.Scenario` and its YAML, every value
with a comment saying where it came from.

:func:`scenario_dict` assembles the plain scenario mapping (what ``load_scenario``
reads), :func:`fitted_yaml` writes it with a header and one comment per value (or, per
shop, one comment per shop). The scenario is validated through
:meth:`Scenario.from_dict`, so the YAML loads to the same scenario.

Example:
    >>> yaml_value({"mon": ["09:00-18:00"]})
    '{"mon": ["09:00-18:00"]}'
"""

from __future__ import annotations

import json
from typing import Any

from chatsim.errors import FitError
from chatsim.fit.record import DEFAULT, SHOP, Estimate, default_of
from chatsim.scenario import ARCHETYPE_PARAMS, Analysis, Satisfaction, Scenario
from chatsim.yamlfile import MAX_FILE_BYTES

__all__ = [
    "archetype_dict",
    "complete",
    "fitted_yaml",
    "scenario_dict",
    "scenario_from",
    "yaml_value",
]

_UNFITTED = {
    "buyer_timezone": "buyers write in the shop's zone (the arrival profile is fitted in it)",
    "staff_timezone": "the schedule is fitted in the shop's zone",
}


def yaml_value(v: Any) -> str:
    """A value as one line of YAML (JSON flow style, which YAML reads)."""
    if hasattr(v, "to_dict"):
        v = v.to_dict()
    return json.dumps(v, ensure_ascii=False)


def complete(estimates: dict[str, Estimate]) -> dict[str, Estimate]:
    """``estimates`` with every archetype parameter (missing ones at their default)."""
    out = {}
    for p in ARCHETYPE_PARAMS:
        if p == "share":
            continue
        out[p] = estimates.get(p) or Estimate(
            default_of(p), 0, "", DEFAULT, _UNFITTED.get(p, "not estimated from logs")
        )
    return out


def archetype_dict(estimates: dict[str, Estimate], share: float) -> dict[str, Any]:
    """The archetype's plain mapping: ``share`` and every parameter's value."""
    d: dict[str, Any] = {"share": share}
    for p, e in complete(estimates).items():
        d[p] = e.value.to_dict() if hasattr(e.value, "to_dict") else e.value
    return d


def scenario_dict(
    *,
    name: str,
    description: str,
    seed: int,
    start: str,
    days: int,
    archetypes: list[tuple[str, int, dict[str, Estimate]]],
    campaigns: list[dict[str, Any]],
    satisfaction: Satisfaction,
) -> dict[str, Any]:
    """The plain scenario mapping (``archetypes``: name, shop count, estimates)."""
    total = sum(n for _, n, _ in archetypes)
    a = Analysis()
    return {
        "name": name,
        "description": description,
        "seed": seed,
        "period": {"start": start, "days": days},
        "shops": total,
        "archetypes": {n: archetype_dict(e, k / total) for n, k, e in archetypes},
        "campaigns": campaigns,
        "satisfaction": {
            "max": satisfaction.max,
            "midpoint_hours": satisfaction.midpoint_hours,
            "scale_hours": satisfaction.scale_hours,
            "faq": satisfaction.faq,
        },
        "analysis": {
            "rules": list(a.rules),
            "targets": list(a.targets),
            "windows_hours": list(a.windows_hours),
        },
    }


def _comment(text: str) -> str:
    return " ".join(str(text).split())


def fitted_yaml(
    d: dict[str, Any],
    header: list[str],
    estimates: dict[str, dict[str, Estimate]],
    satisfaction: dict[str, Estimate],
    campaign_notes: list[str],
    archetype_notes: dict[str, str],
) -> str:
    """The scenario YAML with comments: ``header`` lines first, then each value with its
    estimate's provenance (per-shop archetypes: one flow mapping and one comment each).

    Raises :class:`~chatsim.errors.FitError` when the text would exceed what a scenario
    file may hold (``chatsim.yamlfile.MAX_FILE_BYTES``)."""
    lines = [f"# {_comment(h)}" if h else "#" for h in header]
    for key in ("name", "description", "seed"):
        lines.append(f"{key}: {yaml_value(d[key])}")
    lines.append(f"period: {yaml_value(d['period'])}")
    lines.append(f"shops: {d['shops']}")
    lines.append("archetypes:")
    for name, arch in d["archetypes"].items():
        est = complete(estimates[name])
        note = archetype_notes.get(name, "")
        if est["chats_per_day"].source == SHOP:  # per shop: one line each
            lines.append(f"  {yaml_value(name)}: {yaml_value(arch)}  # {_comment(note)}")
            continue
        lines.append(f"  {yaml_value(name)}:" + (f"  # {_comment(note)}" if note else ""))
        lines.append(f"    share: {yaml_value(arch['share'])}")
        for p, e in est.items():
            lines.append(f"    {p}: {yaml_value(arch[p])}  # {_comment(e.describe())}")
    lines.append("campaigns:")
    if not d["campaigns"]:
        lines[-1] = "campaigns: []  # no day with a jump in chats"
    for c, note in zip(d["campaigns"], campaign_notes, strict=True):
        lines.append(f"  - {yaml_value(c)}  # {_comment(note)}")
    lines.append("satisfaction:")
    for k, v in d["satisfaction"].items():
        lines.append(f"  {k}: {yaml_value(v)}  # {_comment(satisfaction[k].describe())}")
    lines.append(f"analysis: {yaml_value(d['analysis'])}")
    text = "\n".join(lines) + "\n"
    size = len(text.encode())
    if size > MAX_FILE_BYTES:
        raise FitError(
            f"the fitted scenario is {size / 2**20:.1f} MiB of YAML, more than the "
            f"{MAX_FILE_BYTES / 2**20:.0f} MiB a scenario file may hold ({len(d['archetypes']):,} "
            "archetypes). Fit per segment (without per_shop), or fit a subset of the shops."
        )
    return text


def scenario_from(d: dict[str, Any], source: str) -> Scenario:
    """Validate the mapping into a :class:`Scenario` (the same checks as a file)."""
    return Scenario.from_dict(d, source=source)
