"""The scenario model: frozen dataclasses, each field with its check declared beside it.

Reading and validating a file (required keys, shares summing to 1, the analysis
section's cross-checks) is :mod:`chatsim.scenario.parse`; the built-in archetypes are
:mod:`chatsim.scenario.builtins`. A new archetype parameter is one field here:
``name: float = param(default, check)``, with the check from
:mod:`chatsim.scenario.checks`.

Example:
    >>> a = Archetype("night_owls", 0.5).updated({"chats_per_day": 3}, Where("x.yaml", "archetypes.night_owls"))
    >>> a.chats_per_day, a.schedule["sat"]
    (3.0, ('09:00-18:00',))
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import yaml

from chatsim.errors import ScenarioError
from chatsim.scenario.changes import Change
from chatsim.scenario.checks import (
    Where,
    at_least,
    between,
    boolean,
    checked_values,
    finite,
    free_text,
    holiday_country_or_none,
    hours_of_day,
    integer,
    iso_date,
    non_negative,
    param,
    peer_rule_refs,
    positive,
    probability,
    rule_refs,
    target_shares,
    text,
    weekly_schedule,
    window_hours,
    zone,
    zone_or_none,
)
from chatsim.scenario.weights import hour_weights, kind_shares, weekday_weights
from chatsim.schedule import WEEKDAYS, WeeklySchedule
from chatsim.yamlfile import shown

__all__ = [
    "ABSENCE_CONCENTRATION",
    "ARCHETYPE_PARAMS",
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
    "WhatIf",
    "plain_data",
    "shop_ids",
]

DEFAULT_RULES: tuple[str, ...] = ("legacy-24h", "new-12h")
DEFAULT_TARGETS: tuple[float, ...] = (0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95)
DEFAULT_WINDOWS: tuple[float, ...] = (6.0, 8.0, 12.0, 18.0, 24.0, 36.0, 48.0)
#: Most shops a scenario may simulate.
MAX_SHOPS = 10_000_000
#: Longest simulated period, in days (ten years).
MAX_DAYS = 3_653
#: Most replications a scenario's analysis may ask for.
MAX_REPLICATIONS = 1_000
#: Upper bound of ``schedule_jitter_minutes`` (shifts are clipped to 3 standard deviations).
MAX_SCHEDULE_JITTER = 240.0
#: Default ``absence_concentration``: each shop's absence rate is Beta(4m, 4(1 - m)).
ABSENCE_CONCENTRATION = 4.0


@dataclass(frozen=True)
class Archetype:
    """One kind of shop: time zones, working schedule, volume, behaviour.

    All rates are per shop. Times of day in ``schedule`` are in ``staff_timezone``.
    ``arrival_hours`` (24 weights), ``arrival_weekdays`` (7, Monday first) and
    ``kind_mix`` (kind -> share of buyer messages) are null for the simulator's built-in
    profile and mixes. ``docs/simulator.md`` describes every parameter.

    Example:
        >>> from chatsim.scenario.builtins import builtin_archetype
        >>> a = builtin_archetype("solo_weekdays")
        >>> a.schedule["sat"], a.works_holidays
        ((), False)
    """

    name: str
    share: float = field(metadata={"check": probability})
    timezone: str = param("Asia/Ho_Chi_Minh", zone)
    buyer_timezone: str | None = param(None, zone_or_none)  # None: same as timezone
    staff_timezone: str | None = param(None, zone_or_none)  # None: same as timezone
    country: str = param("VN", text)
    schedule: WeeklySchedule = param(WeeklySchedule.on(WEEKDAYS, "09:00-18:00"), weekly_schedule)
    holiday_country: str | None = param("VN", holiday_country_or_none)
    works_holidays: bool = param(False, boolean)
    chats_per_day: float = param(30.0, non_negative)
    volume_sigma: float = param(0.7, non_negative)
    arrival_hours: tuple[float, ...] | None = param(None, hour_weights)
    arrival_weekdays: tuple[float, ...] | None = param(None, weekday_weights)
    burst_mean: float = param(1.8, at_least(1.0))
    kind_mix: tuple[tuple[str, float], ...] | None = param(None, kind_shares)
    followup_prob: float = param(0.2, probability)
    followup_answer_prob: float = param(0.7, probability)
    delay_median_minutes: float = param(20.0, positive)
    delay_sigma: float = param(1.0, non_negative)
    delay_shop_sigma: float = param(0.7, non_negative)
    capacity_per_hour: float = param(20.0, positive)
    schedule_jitter_minutes: float = param(30.0, between(0.0, MAX_SCHEDULE_JITTER))
    absence_rate: float = param(0.03, probability)
    absence_concentration: float = param(ABSENCE_CONCENTRATION, positive)
    off_day_cover: float = param(0.1, probability)
    auto_reply_adoption: float = param(1.0, probability)
    auto_reply_rate: float = param(0.0, probability)
    faq_resolution: float = param(0.3, probability)
    chatbot_enabled: bool = param(False, boolean)
    seller_threads_per_day: float = param(1.0, non_negative)
    seller_thread_reply_rate: float = param(0.4, probability)
    broadcasts_per_week: float = param(1.0, non_negative)
    broadcast_recipients: float = param(40.0, non_negative)
    broadcast_reply_rate: float = param(0.05, probability)
    blocked_share: float = param(0.01, probability)
    blocked_answer_rate: float = param(0.1, probability)
    holiday_mode_per_month: float = param(0.1, non_negative)
    holiday_mode_days: float = param(3.0, positive)
    holiday_mode_answer_rate: float = param(0.15, probability)
    small_talk_share: float = param(0.03, probability)
    system_message_share: float = param(0.02, probability)
    rating_prob: float = param(0.3, probability)

    @property
    def buyer_tz(self) -> str:
        """The buyers' time zone (arrival profile)."""
        return self.buyer_timezone or self.timezone

    @property
    def staff_tz(self) -> str:
        """The staff's time zone (working schedule, public holidays)."""
        return self.staff_timezone or self.timezone

    def updated(self, raw: Mapping[str, Any], at: Where) -> Archetype:
        """This archetype with the parameters in ``raw`` set, each checked (errors name ``at``)."""
        return dataclasses.replace(self, **checked_values(Archetype, raw, at, base=self))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (every parameter, schedule as weekday -> ranges)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}
        d["schedule"] = self.schedule.to_dict()
        for k in ("arrival_hours", "arrival_weekdays"):
            d[k] = None if d[k] is None else list(d[k])
        d["kind_mix"] = None if self.kind_mix is None else dict(self.kind_mix)
        return d


#: Archetype parameters a scenario may set (everything but ``name``).
ARCHETYPE_PARAMS: tuple[str, ...] = tuple(f.name for f in fields(Archetype) if f.name != "name")


@dataclass(frozen=True)
class Period:
    """The simulated period: ``days`` days from ``start`` 00:00 UTC (end exclusive)."""

    start: dt.date = field(metadata={"check": iso_date})
    days: int = field(metadata={"check": integer(minimum=1, maximum=MAX_DAYS)})

    @property
    def start_utc(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=dt.UTC)

    @property
    def end_utc(self) -> dt.datetime:
        return self.start_utc + dt.timedelta(days=self.days)


@dataclass(frozen=True)
class Campaign:
    """A campaign day: buyer arrivals multiplied by ``multiplier`` on ``date``
    (buyer local date), restricted to ``hours`` (buyer local hours 0-23) if given."""

    date: dt.date = field(metadata={"check": iso_date})
    multiplier: float = field(metadata={"check": non_negative})
    hours: tuple[int, ...] | None = param(None, hours_of_day)


@dataclass(frozen=True)
class Satisfaction:
    """Probability that a rating is ``satisfied`` given the response time ``h`` (hours):
    ``max / (1 + exp((h - midpoint_hours) / scale_hours))``; ``faq`` for chats resolved
    by an automatic reply."""

    max: float = param(0.95, probability)
    midpoint_hours: float = param(16.0, finite)
    scale_hours: float = param(5.0, positive)
    faq: float = param(0.8, probability)

    def p_satisfied(self, hours: Any) -> Any:
        """Vectorised curve (numpy arrays or floats).

        Example:
            >>> round(float(Satisfaction().p_satisfied(0.0)), 3)
            0.913
        """
        import numpy as np

        z = np.clip(
            (np.asarray(hours, dtype=float) - self.midpoint_hours) / self.scale_hours, -50, 50
        )
        return self.max / (1.0 + np.exp(z))


@dataclass(frozen=True)
class WhatIf:
    """A named one-change variant: ``set`` archetype parameters, on ``archetype`` or on all."""

    name: str
    set: Mapping[str, Any]
    archetype: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name}
        if self.archetype is not None:
            d["archetype"] = self.archetype
        d["set"] = plain_data(self.set)
        return d


@dataclass(frozen=True)
class Analysis:
    """Settings of the policy analysis run on the simulated log.

    ``drilldown_shop`` must be a shop of the scenario and ``what_if`` variants must name
    its archetypes: :mod:`chatsim.scenario.parse` checks those against the rest.
    ``replications``: how many times the scenario is simulated, each time with a seed
    spawned from ``seed`` (:mod:`chatsim.replications`), to give every headline figure
    a 95 % interval; 1 (the default) is the single run. ``rollout``: the report also
    builds the day-by-day rollout page. ``peers``: further rules (peer marketplaces'
    designs) the report's peers page compares with ``rules``; empty means no peers page.
    """

    rules: tuple[str, ...] = param(DEFAULT_RULES, rule_refs)
    targets: tuple[float, ...] = param(DEFAULT_TARGETS, target_shares)
    windows_hours: tuple[float, ...] = param(DEFAULT_WINDOWS, window_hours)
    drilldown_shop: str | None = None
    what_if: tuple[WhatIf, ...] = ()
    replications: int = param(1, integer(minimum=1, maximum=MAX_REPLICATIONS))
    rollout: bool = param(False, boolean)
    peers: tuple[str, ...] = param((), peer_rule_refs)


def plain_data(v: Any) -> Any:
    """Mappings as dicts and sequences as lists, recursively (YAML-ready)."""
    if isinstance(v, Mapping):
        return {k: plain_data(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [plain_data(x) for x in v]
    return v


def shop_ids(n: int) -> list[str]:
    """The shop ids a scenario with ``n`` shops generates.

    Example:
        >>> shop_ids(2)
        ['shop_00000', 'shop_00001']
    """
    width = max(5, len(str(max(n - 1, 0))))
    return [f"shop_{i:0{width}d}" for i in range(n)]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario (see :mod:`chatsim.scenario` and ``docs/simulator.md``).

    Example:
        >>> from chatsim.scenario import load_scenario
        >>> sc = load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
        >>> small = sc.scaled(shops=20, days=7)  # doctest: +SKIP
    """

    name: str = field(metadata={"check": text})
    period: Period
    shops: int = field(metadata={"check": integer(minimum=1, maximum=MAX_SHOPS)})
    archetypes: tuple[Archetype, ...]
    seed: int = param(0, integer(minimum=0))
    description: str = param("", free_text)
    campaigns: tuple[Campaign, ...] = ()
    satisfaction: Satisfaction = field(default_factory=Satisfaction)
    analysis: Analysis = field(default_factory=Analysis)
    changes: tuple[Change, ...] = ()
    source: str = field(default="<memory>", compare=False)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "<memory>") -> Scenario:
        """Validate a plain mapping (as read from YAML) into a Scenario.

        Example:
            >>> sc = Scenario.from_dict({"name": "d", "shops": 2,
            ...     "period": {"start": "2025-08-15", "days": 7},
            ...     "archetypes": {"agency_247": {"share": 1.0}}})
            >>> sc.archetype("agency_247").works_holidays
            True
        """
        from chatsim.scenario.parse import scenario_from_dict

        return scenario_from_dict(d, source)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form; ``Scenario.from_dict(sc.to_dict()) == sc``.

        Archetypes are written with every parameter resolved (no ``use``).
        """
        a = self.analysis
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "period": {"start": self.period.start.isoformat(), "days": self.period.days},
            "shops": self.shops,
            "archetypes": {x.name: x.to_dict() for x in self.archetypes},
            "campaigns": [
                {"date": c.date.isoformat(), "multiplier": c.multiplier}
                | ({"hours": list(c.hours)} if c.hours is not None else {})
                for c in self.campaigns
            ],
            "satisfaction": dataclasses.asdict(self.satisfaction),
            "analysis": {
                "rules": list(a.rules),
                "targets": list(a.targets),
                "windows_hours": list(a.windows_hours),
                "drilldown_shop": a.drilldown_shop,
                "what_if": [w.to_dict() for w in a.what_if],
                "replications": a.replications,
                "rollout": a.rollout,
                "peers": list(a.peers),
            },
        }
        if self.changes:
            out["changes"] = [c.to_dict() for c in self.changes]
        return out

    def to_yaml(self) -> str:
        """The scenario as YAML text (loadable with :func:`~chatsim.scenario.load_scenario`)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    # ---------------------------------------------------------------- helpers
    def archetype(self, name: str) -> Archetype:
        """The archetype called ``name``."""
        for a in self.archetypes:
            if a.name == name:
                return a
        raise ScenarioError(
            f"{self.source}: no archetype {shown(name)}; have {[a.name for a in self.archetypes]}."
        )

    def shop_archetypes(self) -> list[int]:
        """Archetype index of each shop (contiguous blocks in archetype order).

        Counts are ``share * shops`` rounded by largest remainder; when there are at
        least as many shops as archetypes, every archetype with a positive share gets
        at least one shop.
        """
        raw = [a.share * self.shops for a in self.archetypes]
        counts = [int(math.floor(x)) for x in raw]
        rest = self.shops - sum(counts)
        order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - counts[i]), i))
        for i in order[:rest]:
            counts[i] += 1
        shared = [i for i, a in enumerate(self.archetypes) if a.share > 0]
        if self.shops >= len(shared):
            for i in shared:
                if counts[i] == 0:
                    j = max(range(len(counts)), key=lambda k: (counts[k], -k))
                    counts[j] -= 1
                    counts[i] += 1
        out: list[int] = []
        for i, c in enumerate(counts):
            out.extend([i] * c)
        return out

    def with_change(self, what_if: WhatIf | str) -> Scenario:
        """The scenario with one what-if variant applied (by object or by name).

        Example:
            >>> sc = Scenario.from_dict({"name": "d", "shops": 2,
            ...     "period": {"start": "2025-08-15", "days": 7},
            ...     "archetypes": {"solo_weekdays": {"share": 1.0}}})
            >>> sc.with_change(WhatIf("bots", {"auto_reply_rate": 0.9})).archetypes[0].auto_reply_rate
            0.9
        """
        if isinstance(what_if, str):
            found = [w for w in self.analysis.what_if if w.name == what_if]
            if not found:
                raise ScenarioError(
                    f"{self.source}: analysis.what_if: no variant named {shown(what_if)}; "
                    f"have {[w.name for w in self.analysis.what_if]}."
                )
            what_if = found[0]
        names = [a.name for a in self.archetypes]
        if what_if.archetype is not None and what_if.archetype not in names:
            raise ScenarioError(
                f"{self.source}: what-if {shown(what_if.name)}: no archetype {shown(what_if.archetype)}; "
                f"have {names}."
            )
        at = Where(self.source, f"what-if {shown(what_if.name)}.set")
        new = tuple(
            dataclasses.replace(a.updated(dict(what_if.set), at), share=a.share)
            if what_if.archetype in (None, a.name)
            else a
            for a in self.archetypes
        )
        return dataclasses.replace(self, name=f"{self.name} + {what_if.name}", archetypes=new)

    def scaled(self, *, shops: int | None = None, days: int | None = None) -> Scenario:
        """The same scenario with fewer/more shops or days (for quick runs).

        A ``drilldown_shop`` that no longer exists is dropped, and so are dated
        ``changes`` from after the new period's end.
        """
        n = self.shops if shops is None else shops
        nd = self.period.days if days is None else days
        if not (1 <= n <= MAX_SHOPS and 1 <= nd <= MAX_DAYS):
            raise ScenarioError(
                f"{self.source}: scaled(): shops must be 1 to {MAX_SHOPS:,} and days 1 to "
                f"{MAX_DAYS:,}; got shops={shown(n)}, days={shown(nd)}."
            )
        an = self.analysis
        if an.drilldown_shop is not None and an.drilldown_shop not in set(shop_ids(n)):
            an = dataclasses.replace(an, drilldown_shop=None)
        period = Period(self.period.start, nd)
        last = period.start + dt.timedelta(days=nd - 1)
        changes = tuple(c for c in self.changes if c.start <= last)
        return dataclasses.replace(self, shops=n, period=period, analysis=an, changes=changes)
