"""The fit from end to end: a chat log in, a :class:`Fit` (the scenario and where each of
its values came from) out.

Steps: :func:`~chatsim.fit.profile.observe` the log; find the working windows and days
(:mod:`chatsim.fit.workdays`); segment the shops (:mod:`chatsim.fit.segments`); find
campaign days and the satisfaction curve (:mod:`chatsim.fit.market`); estimate every
archetype parameter (:mod:`chatsim.fit.estimate`); assemble and validate the scenario
(:mod:`chatsim.fit.emit`).

Example:
    >>> from chatsim.sample import sample_log
    >>> f = fit_log(sample_log(), by="segment", min_days=0)
    >>> sorted(a.name for a in f.scenario.archetypes)
    ['chatbot', 'small_team', 'solo']
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from chatsim.errors import ChatsimWarning
from chatsim.fit.emit import fitted_yaml, scenario_dict, scenario_from
from chatsim.fit.estimate import PARENT, estimate
from chatsim.fit.market import arrival_profiles, campaign_days, satisfaction_curve
from chatsim.fit.profile import MIN_DAYS, Observations, observe
from chatsim.fit.record import POOLED, Estimate, provenance_frame
from chatsim.fit.segments import Segmentation, by_behaviour, by_column
from chatsim.fit.shape import add_shape_estimates, fitted_profile
from chatsim.fit.workdays import day_table, shop_windows
from chatsim.scenario import Scenario, shop_ids
from chatsim.schema import ChatLog, read_log

__all__ = ["SETTINGS_LINE", "Fit", "fit", "fit_log", "fit_settings"]

#: The header line of a fitted YAML that records how it was fitted (``fit_log``'s
#: arguments), so the same fit can be made again from the log (:func:`fit_settings`).
SETTINGS_LINE = "Fit settings (to fit the log again): "
_SETTINGS = re.compile(r"^#\s*" + re.escape(SETTINGS_LINE.strip()) + r"\s*(\{.*\})\s*$", re.M)


@dataclass(frozen=True)
class Fit:
    """A fitted scenario with its provenance.

    Attributes:
        scenario: the validated scenario (``Scenario``).
        estimates: archetype name -> parameter -> :class:`~chatsim.fit.record.Estimate`.
        satisfaction: the satisfaction curve's field -> estimate.
        segmentation: how shops were grouped (:class:`~chatsim.fit.segments.Segmentation`).
        shops: one row per shop of the log: ``shop_id, segment, archetype`` (its
            archetype in the scenario) and ``twin_shop_id`` (the simulated shop standing
            for it in per-shop mode, else null).
        profiles: arrival shares per segment and shop-local hour of week (``share``), the
            simulator's built-in profile (``builtin``) and the fitted one (``fitted``).
        small_segments: segments whose behaviour was pooled from all shops.
        warnings: the fallbacks, in words (also in the YAML header).
        per_shop: whether each shop has its own archetype.
    """

    scenario: Scenario
    estimates: dict[str, dict[str, Estimate]] = field(repr=False)
    satisfaction: dict[str, Estimate] = field(repr=False)
    segmentation: Segmentation = field(repr=False)
    shops: pl.DataFrame = field(repr=False)
    profiles: pl.DataFrame = field(repr=False)
    small_segments: tuple[str, ...]
    warnings: tuple[str, ...]
    per_shop: bool
    _yaml: str = field(repr=False)

    def to_yaml(self) -> str:
        """The scenario as YAML, each value with a comment on where it came from."""
        return self._yaml

    def write(self, path: str | Path) -> Path:
        """Write :meth:`to_yaml` to ``path``."""
        p = Path(path)
        p.write_text(self._yaml, encoding="utf-8")
        return p

    def provenance(self) -> pl.DataFrame:
        """One row per archetype and parameter: value, sample size, unit, source, note."""
        return provenance_frame(self.estimates | {"satisfaction": self.satisfaction})

    def twin_segments(self) -> pl.DataFrame:
        """The segment of each shop the scenario simulates: ``shop_id, segment``."""
        names = [a.name for a in self.scenario.archetypes]
        arch = self.scenario.shop_archetypes()
        seg_of = dict(self.shops.select("archetype", "segment").unique("archetype").iter_rows())
        return pl.DataFrame(
            {"shop_id": shop_ids(self.scenario.shops), "segment": [seg_of[names[i]] for i in arch]},
            schema={"shop_id": pl.String, "segment": pl.String},
        )


def fit(
    log: ChatLog | str | Path,
    *,
    by: str | None = None,
    per_shop: bool = False,
    seed: int = 0,
) -> Scenario:
    """Fit a scenario to a chat log (a :class:`~chatsim.schema.ChatLog` or a path).

    Archetypes are the values of the shops table's column ``by``, or groups of shops
    found from their behaviour (seeded by ``seed``); ``per_shop`` gives every shop its
    own archetype (pooled towards its segment), so the simulated twin has the log's shops
    one for one. :func:`fit_log` returns the provenance too.

    Example:
        >>> from chatsim.sample import sample_log
        >>> sc = fit(sample_log(), by="segment")  # doctest: +SKIP
    """
    return fit_log(log, by=by, per_shop=per_shop, seed=seed).scenario


def fit_log(
    log: ChatLog | str | Path,
    *,
    by: str | None = None,
    per_shop: bool = False,
    seed: int = 0,
    min_days: int = MIN_DAYS,
) -> Fit:
    """:func:`fit`, with where each value came from (:class:`Fit`); ``min_days`` is the
    shortest log accepted."""
    if not isinstance(log, ChatLog):
        log = read_log(log)
    obs = observe(log, min_days=min_days)
    windows = shop_windows(obs)
    days = day_table(obs, windows)
    seg = by_column(obs, by) if by is not None else by_behaviour(obs, windows, days, seed)
    camps = campaign_days(obs, days)
    lift = 1.0 + sum(c.multiplier - 1.0 for c, _, _ in camps) / obs.days
    est = estimate(
        obs, seg.shops, per_shop=per_shop, windows=windows, days=days, campaigns_lift=lift
    )
    add_shape_estimates(est, obs, seg.shops, [c.date for c, _, _ in camps])
    curve, curve_est = satisfaction_curve(obs)
    counts = seg.shops.join(obs.shops.select("shop", "shop_id"), on="shop")
    sizes = dict(counts.group_by("segment").len().iter_rows())
    notes: list[str] = []
    for s in est.small:
        notes.append(
            f"segment {s!r} has {int(est.counts.filter(pl.col('segment') == s)['primary'].sum())} "
            "primary chats: too few to fit on its own, its behaviour is pooled from all shops."
        )
    if per_shop:
        rows = obs.shops.select("shop", "shop_id").join(seg.shops, on="shop").sort("shop")
        archetypes = [
            (str(sid), 1, est.shops[int(s)])  # type: ignore[index]
            for s, sid, _ in rows.iter_rows()
        ]
        arch_notes = {str(sid): f"shop {sid} (segment {sg})" for _, sid, sg in rows.iter_rows()}
        shop_arch = rows.select(
            "shop_id", "segment", archetype=pl.col("shop_id").cast(pl.String)
        ).with_columns(twin_shop_id=pl.Series(shop_ids(rows.height)))
    else:
        archetypes = [(s, sizes[s], est.segments[s]) for s in seg.names]
        arch_notes = {s: f"{sizes[s]} shops" for s in seg.names}
        for s in est.small:
            arch_notes[s] += "; too few chats: behaviour pooled from all shops"
        shop_arch = counts.select("shop_id", "segment", archetype=pl.col("segment")).with_columns(
            twin_shop_id=pl.lit(None, pl.String)
        )
    for name, e in est.segments.items():
        pooled = sorted(p for p, x in e.items() if x.source == POOLED)
        if pooled and name not in est.small:
            notes.append(
                f"segment {name!r}: {', '.join(pooled)} pooled from all shops (too few observations)."
            )
    src = Path(log.source).name or "log"
    d = scenario_dict(
        name=f"fitted {src}",
        description=(
            f"Fitted from {log.source}: {obs.shops.height} shops, {log.n_messages:,} messages, "
            f"{obs.days} days from {obs.start}. Archetypes: {seg.method}"
            + ("; one archetype per shop, pooled towards its segment." if per_shop else ".")
        ),
        seed=seed,
        start=obs.start.isoformat(),
        days=obs.days,
        archetypes=archetypes,
        campaigns=[{"date": c.date.isoformat(), "multiplier": c.multiplier} for c, _, _ in camps],
        satisfaction=curve,
    )
    scenario = scenario_from(d, f"<fitted from {log.source}>")
    profiles = fitted_profile(arrival_profiles(obs, seg.shops), est.segments)
    settings = {"by": by, "per_shop": per_shop, "seed": seed, "min_days": min_days}
    header = _header(log, obs, seg, per_shop, notes, profiles, settings)
    estimates = {n: e for n, _, e in archetypes}
    text = fitted_yaml(
        d,
        header,
        estimates,
        curve_est,
        [f"{r:.2f} x the usual chats that day ({n:,.0f} chats)" for _, r, n in camps],
        arch_notes,
    )
    for n in notes:
        warnings.warn(f"{log.source}: {n}", ChatsimWarning, stacklevel=2)
    return Fit(
        scenario=scenario,
        estimates=estimates | ({PARENT: est.parent} if not per_shop else {}),
        satisfaction=curve_est,
        segmentation=seg,
        shops=shop_arch.sort("shop_id"),
        profiles=profiles,
        small_segments=tuple(est.small),
        warnings=tuple(notes),
        per_shop=per_shop,
        _yaml=text,
    )


def _header(
    log: ChatLog,
    obs: Observations,
    seg: Segmentation,
    per_shop: bool,
    notes: list[str],
    profiles: pl.DataFrame,
    settings: dict[str, object],
) -> list[str]:
    corr = (
        profiles.group_by("segment")
        .agg(pl.corr("share", "fitted").alias("r"))
        .sort("segment")
        .iter_rows()
    )
    lines = [
        f"Fitted by chatsim.fit from {log.source}: {obs.shops.height} shops, "
        f"{log.n_messages:,} messages, {obs.days} days from {obs.start}.",
        f"Archetypes: {seg.method}"
        + (
            "; one archetype per shop (per-shop mode): a shop's value = (shop total + K x "
            "segment value) / (shop exposure + K), K in docs/fitting.md."
            if per_shop
            else "."
        ),
        "Each value's comment says where it came from: fitted from N observations of the "
        "segment, pooled from all shops (the segment had too few), the shop's own, or "
        "default (not informed by the log: the documented default of docs/simulator.md).",
    ]
    lines += [f"Fallback: {n}" for n in notes]
    lines.append(
        "Arrival profile by shop-local hour of week, the log's vs the fitted hour x weekday "
        "profile, correlation per segment: " + ", ".join(f"{s} {r:.2f}" for s, r in corr) + "."
    )
    lines.append(SETTINGS_LINE + json.dumps(settings, ensure_ascii=False))
    return lines + [""]


def fit_settings(yaml_text: str) -> dict[str, object] | None:
    """The ``fit_log`` arguments a fitted YAML records (its ``Fit settings`` header line),
    or ``None`` when it has none (written by hand, or by an older chatsim).

    Example:
        >>> fit_settings('# Fit settings (to fit the log again): {"by": null, "per_shop": true}')
        {'by': None, 'per_shop': True}
    """
    m = _SETTINGS.search(yaml_text)
    if m is None:
        return None
    try:
        d = json.loads(m.group(1))
    except ValueError:
        return None
    keep = ("by", "per_shop", "seed", "min_days")
    return {k: d[k] for k in keep if k in d} if isinstance(d, dict) else None
