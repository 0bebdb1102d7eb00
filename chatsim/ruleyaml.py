"""Rules to and from plain mappings and YAML (what ``Rule.to_dict``/``from_dict``/``to_yaml``/
``from_yaml`` run), and a rule from a reference: a built-in name, a peer preset, a file.

Keys follow the fields of :class:`chatsim.rules.Rule`; a mapping may name a ``base`` (a built-in
rule or a peer preset) whose settings fill the keys it leaves out. Bad keys and values raise
:class:`~chatsim.errors.RuleError` naming the file (or ``rule``) and the key.

Example:
    >>> from chatsim.rules import NEW_12H, Rule
    >>> rule_from_dict(Rule, rule_to_dict(NEW_12H)) == NEW_12H
    True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from chatsim.errors import RuleError
from chatsim.ruleunits import EXCLUSIONS
from chatsim.rulevalues import (
    DATE_FIELDS,
    FLOAT_FIELDS,
    check_known_keys,
    to_date,
    to_exclusions,
    to_float,
)
from chatsim.yamlfile import parse_yaml, read_yaml_file, shown

if TYPE_CHECKING:
    from chatsim.rules import Rule

__all__ = [
    "builtin",
    "resolve_rule",
    "rule_from_dict",
    "rule_from_yaml",
    "rule_to_dict",
    "rule_to_yaml",
]


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """A plain dict (YAML-ready) of a rule's fields; inverse of :func:`rule_from_dict`.

    Example:
        >>> from chatsim.rules import NEW_12H
        >>> rule_to_dict(NEW_12H)["effective_from"]
        '2025-08-15'
    """
    d: dict[str, Any] = {}
    for f in dataclasses.fields(rule):
        v = getattr(rule, f.name)
        if f.name == "exclusions":
            v = [e for e in EXCLUSIONS if e in v]
        elif f.name == "business_schedule":
            v = {k: list(r) for k, r in v.items()}
        elif isinstance(v, dt.date):
            v = v.isoformat()
        d[f.name] = v
    return d


def rule_from_dict(cls: type[Rule], data: Mapping[str, Any], source: str = "rule") -> Rule:
    """Build a rule of class ``cls`` from a mapping, naming unknown keys and bad values.

    Unset keys take the defaults of ``base`` (a built-in rule or peer preset name) if given,
    else the dataclass defaults.

    Example:
        >>> from chatsim.rules import Rule
        >>> rule_from_dict(Rule, {"base": "new-12h", "name": "new-8h", "window_hours": 8}).name
        'new-8h'
    """
    if not isinstance(data, Mapping):
        raise RuleError(f"{source}: a rule must be a mapping of settings.")
    data = dict(data)
    fields = {f.name for f in dataclasses.fields(cls)}
    base_name = data.pop("base", None)
    check_known_keys(data, fields, source)
    kwargs: dict[str, Any] = {}
    if base_name is not None:
        from chatsim.presets import PRESET_RULES  # a peer preset is a base too
        from chatsim.rules import BUILTIN_RULES  # built from Rule, so imported on use

        bases = {**BUILTIN_RULES, **PRESET_RULES}
        if not isinstance(base_name, str) or base_name not in bases:
            raise RuleError(
                f"{source}: base: unknown built-in rule {shown(base_name)}; use one of "
                f"{sorted(BUILTIN_RULES)} or a peer preset ({', '.join(PRESET_RULES)})."
            )
        kwargs = dataclasses.asdict(bases[base_name])
        kwargs["exclusions"] = bases[base_name].exclusions
    kwargs.update(data)
    for key in FLOAT_FIELDS:
        if kwargs.get(key) is not None:
            kwargs[key] = to_float(kwargs[key], f"{source}: {key}")
    for key in DATE_FIELDS:
        kwargs[key] = to_date(kwargs.get(key), f"{source}: {key}")
    if "exclusions" in kwargs:
        kwargs["exclusions"] = to_exclusions(kwargs["exclusions"], source, EXCLUSIONS)
    for f in dataclasses.fields(cls):  # true/false settings and text read from files
        v = kwargs.get(f.name)
        if f.type == "bool" and f.name in data and not isinstance(v, bool):
            raise RuleError(f"{source}: {f.name}: expected true or false, got {shown(v)}.")
        if f.type == "str" and f.name in data and not isinstance(v, str):
            raise RuleError(f"{source}: {f.name}: expected text, got {shown(v)}.")
    if "name" not in kwargs:
        raise RuleError(f"{source}: a rule needs a 'name'.")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise RuleError(f"{source}: {exc}") from exc
    except RuleError as exc:
        raise RuleError(f"{source}: {exc}") from exc


def rule_to_yaml(rule: Rule, path: str | Path | None = None) -> str:
    """A rule as YAML text (written to ``path`` if given).

    Example:
        >>> from chatsim.rules import LEGACY_24H
        >>> rule_to_yaml(LEGACY_24H).splitlines()[0]
        'name: legacy-24h'
    """
    text = yaml.safe_dump(rule_to_dict(rule), sort_keys=False)
    if path is not None:
        Path(path).write_text(text)
    return text


def rule_from_yaml(cls: type[Rule], text_or_path: str | Path) -> Rule:
    """A rule of class ``cls`` from YAML text or a ``.yaml``/``.yml`` file.

    Example:
        >>> from chatsim.rules import Rule
        >>> rule_from_yaml(Rule, "base: new-12h\\nname: r\\nwindow_hours: 6").window_hours
        6.0
    """
    source = "rule"
    text = str(text_or_path)
    p = Path(text)
    path = isinstance(text_or_path, Path) or ("\n" not in text and text.endswith((".yaml", ".yml")))
    if path:
        source = str(p)
    data = read_yaml_file(p, RuleError, "rule") if path else parse_yaml(text, source, RuleError)
    return rule_from_dict(cls, {} if data is None else data, source=source)


def builtin(name: str) -> Rule:
    """A built-in rule by name (``legacy-24h``, ``new-12h``, or a coming Shop Health rule:
    ``avg-response-time``, ``chat-satisfaction``)."""
    from chatsim.rules import BUILTIN_RULES  # built from Rule, so imported on use

    try:
        return BUILTIN_RULES[name]
    except KeyError:
        raise RuleError(
            f"unknown built-in rule '{name}'; use one of {sorted(BUILTIN_RULES)} or a rule YAML file."
        ) from None


def resolve_rule(ref: str | Path | Rule | Mapping[str, Any]) -> Rule:
    """Turn a built-in name, a peer preset's name (:mod:`chatsim.presets`), a YAML path, a
    mapping or a Rule into a Rule.

    Example:
        >>> from chatsim.rules import LEGACY_24H
        >>> resolve_rule("legacy-24h") is LEGACY_24H
        True
        >>> resolve_rule("etsy-star").counted_unit
        'first_chat'
    """
    from chatsim.rules import BUILTIN_RULES, Rule  # built from Rule, so imported on use

    if isinstance(ref, Rule):
        return ref
    if isinstance(ref, Mapping):
        return Rule.from_dict(ref)
    s = str(ref)
    if s in BUILTIN_RULES:
        return BUILTIN_RULES[s]
    from chatsim.presets import PRESET_RULES  # built from Rule, so imported on use

    if s in PRESET_RULES:
        return PRESET_RULES[s]
    if s.endswith((".yaml", ".yml")) or Path(s).exists():
        return Rule.from_yaml(Path(s))
    try:
        return builtin(s)
    except RuleError as exc:
        raise RuleError(f"{exc} Peer presets: {', '.join(PRESET_RULES)}.") from None
