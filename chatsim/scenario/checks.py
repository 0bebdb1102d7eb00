"""Checks of scenario values, each declared beside the dataclass field it guards.

A check turns a raw value (as read from YAML) into the field's value, or raises a
:class:`~chatsim.errors.ScenarioError` that names the file and the key path, e.g.
``scenarios/x.yaml: archetypes.solo.absence_rate: must be <= 1, got 1.2.``. Fields
declare theirs with :func:`param` (``absence_rate: float = param(0.03, probability)``),
and :func:`checked_values` applies them to a mapping of raw values.

Example:
    >>> probability(0.25, Where("x.yaml", "archetypes.solo.absence_rate"))
    0.25
    >>> probability(1.5, Where("x.yaml", "archetypes.solo.absence_rate"))
    Traceback (most recent call last):
    ...
    chatsim.errors.ScenarioError: x.yaml: archetypes.solo.absence_rate: must be <= 1, got 1.5.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from chatsim.errors import RuleError, ScenarioError
from chatsim.presets import PRESET_RULES
from chatsim.rules import BUILTIN_RULES, Rule
from chatsim.schedule import WeeklySchedule
from chatsim.yamlfile import check_number, shown

__all__ = [
    "Check",
    "Where",
    "at_least",
    "between",
    "boolean",
    "check_keys",
    "checked_values",
    "field_checks",
    "finite",
    "free_text",
    "holiday_country_or_none",
    "hours_of_day",
    "integer",
    "iso_date",
    "listing",
    "mapping",
    "non_negative",
    "number",
    "param",
    "positive",
    "probability",
    "peer_rule_refs",
    "rule_refs",
    "target_shares",
    "text",
    "weekly_schedule",
    "window_hours",
    "zone",
    "zone_or_none",
]


@dataclasses.dataclass(frozen=True)
class Where:
    """A place in a scenario: the file (or ``<memory>``) and the key path inside it.

    Example:
        >>> w = Where("x.yaml", "archetypes").key("solo").key("schedule")
        >>> str(w), str(Where("x.yaml").key("campaigns").item(0))
        ('x.yaml: archetypes.solo.schedule', 'x.yaml: campaigns[0]')
    """

    source: str
    path: str = ""

    def __str__(self) -> str:
        return f"{self.source}: {self.path}" if self.path else self.source

    def key(self, key: object) -> Where:
        """The place of ``key`` inside this mapping (a long or odd key is quoted, cut short)."""
        k = key if isinstance(key, str) and len(key) <= 60 and key.isprintable() else shown(key, 60)
        return Where(self.source, f"{self.path}.{k}" if self.path else k)

    def item(self, i: int) -> Where:
        """The place of item ``i`` of this list."""
        return Where(self.source, f"{self.path}[{i}]")

    def error(self, msg: str) -> ScenarioError:
        """A ScenarioError for this place."""
        return ScenarioError(f"{self}: {msg}")


#: A check: ``(raw value, where it is, the field's current value) -> checked value``.
#: Only checks that build on the current value (the schedule) read the third argument.
Check = Callable[..., Any]


def param(default: Any, check: Check) -> Any:
    """A dataclass field with a default and its check (in the field's metadata).

    Example:
        >>> f = param(0.5, probability)
        >>> f.default, f.metadata["check"] is probability
        (0.5, True)
    """
    return dataclasses.field(default=default, metadata={"check": check})


def field_checks(cls: type) -> dict[str, Check]:
    """The checks a dataclass declares, by field name, in field order."""
    return {f.name: f.metadata["check"] for f in dataclasses.fields(cls) if "check" in f.metadata}


def checked_values(
    cls: type, raw: Mapping[str, Any], at: Where, base: Any = None
) -> dict[str, Any]:
    """Check every key of ``raw`` with its field's check; unknown keys are named.

    ``base`` (an instance of ``cls``) supplies the current values checks build on.

    Example:
        >>> from chatsim.scenario.model import Satisfaction
        >>> checked_values(Satisfaction, {"max": 0.9}, Where("x.yaml", "satisfaction"))
        {'max': 0.9}
    """
    checks = field_checks(cls)
    check_keys(raw, list(checks), at)
    return {
        k: checks[k](v, at.key(k), None if base is None else getattr(base, k))
        for k, v in raw.items()
    }


# --------------------------------------------------------------------------------------
# structure
# --------------------------------------------------------------------------------------


def check_keys(d: Mapping[str, Any], allowed: list[str], at: Where) -> None:
    """Name the first key of ``d`` not in ``allowed``, with a close match if there is one."""
    for key in d:
        if key not in allowed:
            close = _close(str(key), allowed, 1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise at.key(key).error(f"unknown key.{hint} Allowed keys: {', '.join(allowed)}.")


def _close(word: str, allowed: list[str], n: int) -> list[str]:
    """Up to ``n`` close matches of ``word`` (none for a word too long to be a typo)."""
    return difflib.get_close_matches(word, allowed, n=n) if len(word) <= 100 else []


def mapping(v: Any, at: Where) -> Mapping[str, Any]:
    """``v`` if it is a mapping."""
    if not isinstance(v, Mapping):
        raise at.error(f"expected a mapping of keys to values, got {type(v).__name__} {shown(v)}.")
    return v


def listing(v: Any, at: Where) -> list[Any]:
    """``v`` as a list (``None`` is empty)."""
    if v is None:
        return []
    if not isinstance(v, list | tuple):
        raise at.error(f"expected a list, got {type(v).__name__} {shown(v)}.")
    return list(v)


# --------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------


def integer(minimum: int | None = None, maximum: int | None = None) -> Check:
    """A check for whole numbers (not booleans), from ``minimum`` to ``maximum``."""

    def check(v: Any, at: Where, current: Any = None) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise at.error(f"expected an integer, got {type(v).__name__} {shown(v)}.")
        if minimum is not None and v < minimum:
            raise at.error(f"must be >= {minimum}, got {shown(v)}.")
        if maximum is not None and v > maximum:
            raise at.error(f"must be <= {maximum:,}, got {shown(v)}.")
        return int(v)

    return check


def number(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False) -> Check:
    """A check for finite numbers in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""

    def check(v: Any, at: Where, current: Any = None) -> float:
        return check_number(v, str(at), ScenarioError, lo=lo, hi=hi, lo_open=lo_open)

    return check


def at_least(lo: float) -> Check:
    """A check for numbers >= ``lo``."""
    return number(lo=lo)


def between(lo: float, hi: float) -> Check:
    """A check for numbers in ``[lo, hi]``."""
    return number(lo=lo, hi=hi)


#: A share or probability: a number in [0, 1].
probability = number(lo=0.0, hi=1.0)
#: A rate, count or spread: a number >= 0.
non_negative = number(lo=0.0)
#: A duration or capacity: a number > 0.
positive = number(lo=0.0, lo_open=True)
#: Any finite number.
finite = number()


def boolean(v: Any, at: Where, current: Any = None) -> bool:
    """``true`` or ``false`` (not 0/1, not "yes")."""
    if not isinstance(v, bool):
        raise at.error(f"expected true or false, got {type(v).__name__} {shown(v)}.")
    return v


def text(v: Any, at: Where, current: Any = None) -> str:
    """A non-empty string."""
    if not isinstance(v, str) or not v.strip():
        raise at.error(f"expected a non-empty string, got {type(v).__name__} {shown(v)}.")
    return v


def free_text(v: Any, at: Where, current: Any = None) -> str:
    """Any string; null is empty."""
    v = v or ""
    if not isinstance(v, str):
        raise at.error(f"expected text, got {shown(v)}.")
    return v


def iso_date(v: Any, at: Where, current: Any = None) -> dt.date:
    """A date written ``YYYY-MM-DD`` (or a YAML date)."""
    if isinstance(v, dt.datetime):
        raise at.error(f"expected a date (YYYY-MM-DD), got a date-time {shown(v)}.")
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            pass
    raise at.error(f"expected a date as YYYY-MM-DD (e.g. 2025-08-15), got {shown(v)}.")


def hours_of_day(v: Any, at: Where, current: Any = None) -> tuple[int, ...] | None:
    """A non-empty list of local hours 0-23 (sorted, without repeats), or null for all day."""
    if v is None:
        return None
    hs = listing(v, at)
    hours = tuple(sorted({integer(minimum=0)(h, at.item(i)) for i, h in enumerate(hs)}))
    if any(h > 23 for h in hours) or not hours:
        raise at.error(f"expected buyer-local hours 0-23, got {shown(hs)}.")
    return hours


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones() | {"UTC"})


def zone(v: Any, at: Where, current: Any = None) -> str:
    """An IANA time zone name."""
    name = text(v, at)
    zones = _zones()
    if name not in zones:
        close = _close(name, sorted(zones), 3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise at.error(
            f"unknown time zone {shown(name)}.{hint} Use an IANA name such as 'Asia/Ho_Chi_Minh'."
        )
    return name


def zone_or_none(v: Any, at: Where, current: Any = None) -> str | None:
    """An IANA time zone name, or null."""
    return None if v is None else zone(v, at)


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    import holidays

    return frozenset(holidays.list_supported_countries())


def holiday_country_or_none(v: Any, at: Where, current: Any = None) -> str | None:
    """A country code the ``holidays`` package knows, or null for no public holidays."""
    if v is None:
        return None
    code = text(v, at)
    if code not in _countries():
        close = _close(code.upper(), sorted(_countries()), 3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise at.error(
            f"unknown holiday country {shown(code)} (not supported by the 'holidays' package).{hint} "
            "Use an ISO 3166 code such as 'VN', 'TH', 'ID', 'CN', or null for no public holidays."
        )
    return code


def weekly_schedule(v: Any, at: Where, current: WeeklySchedule | None = None) -> WeeklySchedule:
    """Working ranges per weekday; days not given keep the ``current`` schedule's."""
    return WeeklySchedule.parse(v, where=str(at), error=ScenarioError, base=current)


# --------------------------------------------------------------------------------------
# the analysis section
# --------------------------------------------------------------------------------------


def rule_refs(v: Any, at: Where, current: Any = None) -> tuple[str, ...]:
    """Built-in rule names, or rule YAML files read and checked now.

    A file's path is taken relative to the scenario file's folder (then to the current
    folder) and kept as an absolute path, so the scenario means the same rules wherever
    it is used from.
    """
    rules = listing(v, at)
    if not rules:
        raise at.error("needs at least one rule.")
    return _rule_list(rules, at)


def peer_rule_refs(v: Any, at: Where, current: Any = None) -> tuple[str, ...]:
    """Like :func:`rule_refs`, but an empty list is allowed (no peer rules)."""
    return _rule_list(listing(v, at), at)


def _rule_list(rules: list[Any], at: Where) -> tuple[str, ...]:
    out = []
    for i, r in enumerate(rules):
        r = text(r, at.item(i))
        if r.endswith((".yaml", ".yml")):
            base = Path(at.source).parent if Path(at.source).is_file() else Path.cwd()
            found = [p for p in (base / r, Path(r)) if p.is_file()]
            if not found:
                raise at.item(i).error(
                    f"rule file {shown(r)} not found (relative to {base}); give a path "
                    "relative to the scenario file."
                )
            path = found[0].resolve()
            try:
                Rule.from_yaml(path)
            except RuleError as exc:
                raise at.item(i).error(str(exc)) from None
            out.append(str(path))
        elif r in BUILTIN_RULES or r in PRESET_RULES:
            out.append(r)
        else:
            raise at.item(i).error(
                f"{shown(r)} is neither a built-in rule name ({', '.join(BUILTIN_RULES)}), "
                f"a peer preset ({', '.join(PRESET_RULES)}) nor a path to a rule YAML file "
                "(.yaml or .yml)."
            )
    return tuple(out)


def target_shares(v: Any, at: Where, current: Any = None) -> tuple[float, ...]:
    """A non-empty list of targets, shares in (0, 1]."""
    ts = listing(v, at)
    if not ts:
        raise at.error("needs at least one target.")
    out = []
    for i, t in enumerate(ts):
        x = finite(t, at.item(i))
        if not 0.0 < x <= 1.0:
            raise at.error(
                f"target {shown(t)} (item {i}) is outside (0, 1]; targets are shares, "
                "write 0.85 for 85 %."
            )
        out.append(x)
    return tuple(out)


def window_hours(v: Any, at: Where, current: Any = None) -> tuple[float, ...]:
    """A non-empty list of response windows in hours, each > 0."""
    ws = listing(v, at)
    if not ws:
        raise at.error("needs at least one window.")
    return tuple(positive(w, at.item(i)) for i, w in enumerate(ws))
