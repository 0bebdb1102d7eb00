"""The twin of a chat log: its fitted scenario, loaded from a file or fitted here, and how well
it reproduces the log.

A report on a real log can carry a **twin** (``chatsim report --log LOG --fit``): the log
fitted (:func:`chatsim.fit.fit_log`) into a scenario whose YAML the run passes to every
notebook as ``twin_path``. The calibration page compares the log with simulations of the
twin; the rule-comparison page runs its what-ifs, and the sensitivity page its bands, on
the twin, labelled :data:`MODEL_BASED`.

* :func:`load_twin`: the twin of ``log``, from ``twin_path`` (fitted again with the
  settings its header records, so the page has each shop's segment and each value's
  provenance) or fitted here;
* :func:`twin_calibration`: :func:`chatsim.fit.calibration_tables` on it;
* :func:`calibration_key_numbers`, :func:`calibration_takeaways`,
  :func:`calibration_warnings`: what the calibration page says first, in plain words.

Example:
    >>> from chatsim.sample import sample_log
    >>> t = load_twin("", sample_log(), by="segment", min_days=0)
    >>> t.from_file, t.scenario.shops
    (False, 4)
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from chatsim.errors import ChatsimWarning, FitError
from chatsim.explain.formats import format_count, format_share
from chatsim.explain.keynumbers import KeyNumberItems
from chatsim.explain.labels import segment_label
from chatsim.fit import ALL_SHOPS, GOALS, Calibration, Fit, calibration_tables, fit_log
from chatsim.fit import fit_settings as read_fit_settings
from chatsim.metrics import Evaluation
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from chatsim.scenario import Scenario, load_scenario
from chatsim.schema import ChatLog

__all__ = [
    "CALIBRATION_RUNS",
    "MODEL_BASED",
    "PER_SHOP_MAX_SHOPS",
    "TWIN_REPLICATIONS",
    "CalibrationNumbers",
    "Twin",
    "calibration_key_numbers",
    "calibration_takeaways",
    "calibration_warnings",
    "figures_table",
    "load_twin",
    "pass_share_table",
    "read_twin",
    "twin_calibration",
]

#: Simulations of the twin the calibration page compares the log with.
CALIBRATION_RUNS = 3
#: Simulations of the twin behind a model-based page's 95 % bands, when the run asks for
#: none (a real log's report has ``replications`` 1).
TWIN_REPLICATIONS = 5
#: Logs with at most this many shops are fitted shop by shop when a page fits them itself
#: (a per-shop scenario file grows with the shops; docs/fitting.md).
PER_SHOP_MAX_SHOPS = 2_000
#: The label of every figure computed on the twin rather than measured on the log.
MODEL_BASED = (
    "Model-based: on a fitted model of your log, not the log itself. The model is your "
    "log's twin (its shops, hours, pace and automatic replies, fitted by chatsim fit); how "
    "closely it reproduces the log is on the calibration page."
)


@dataclass(frozen=True)
class Twin:
    """A log's twin: the ``scenario`` simulated, the :class:`~chatsim.fit.Fit` it came
    from (each shop's segment, each value's provenance), the file it was read from (or
    ``None`` when fitted here) and ``notes`` for the reader (e.g. an edited file)."""

    scenario: Scenario
    fit: Fit
    path: str | None
    notes: tuple[str, ...] = ()

    @property
    def from_file(self) -> bool:
        return self.path is not None


def read_twin(twin_path: str | Path) -> Scenario | None:
    """The twin scenario in ``twin_path``, or ``None`` when the path is empty or gone (an
    executed notebook run again after its report's staging folder was removed).

    Example:
        >>> read_twin("") is None
        True
    """
    if not str(twin_path) or not Path(twin_path).is_file():
        return None
    return load_scenario(twin_path)


def load_twin(
    twin_path: str | Path,
    log: ChatLog,
    *,
    by: str | None = None,
    per_shop: bool | None = None,
    seed: int = 0,
    min_days: int | None = None,
) -> Twin:
    """The twin of ``log``: the scenario in ``twin_path``, or (empty path) ``log`` fitted
    here with ``by``/``per_shop`` (default: per shop up to :data:`PER_SHOP_MAX_SHOPS`
    shops) and ``seed``.

    A file is fitted again from ``log`` with the settings its header records (``Fit
    settings``), which gives each shop's segment and each value's provenance; a file that
    differs from that fit (edited by hand) is still the scenario simulated, and a note
    says so. A file with other archetypes than the log's fit is a :class:`FitError`.

    Example:
        >>> t = load_twin("reports/.staging/twin.yaml", log)  # doctest: +SKIP
    """
    if per_shop is None:
        per_shop = log.shops.height <= PER_SHOP_MAX_SHOPS
    settings: dict[str, object] = {"by": by, "per_shop": per_shop, "seed": seed}
    if min_days is not None:
        settings["min_days"] = min_days
    path = str(twin_path) if str(twin_path) else None
    scenario = None
    if path is not None:
        if not Path(path).is_file():
            raise FitError(
                f"{path}: no twin scenario there; fit one with `chatsim fit LOG --out FILE`, "
                "or leave twin_path empty to fit the log here."
            )
        scenario = load_scenario(path)
        recorded = read_fit_settings(Path(path).read_text(encoding="utf-8"))
        if recorded is not None:
            settings = dict(recorded)
    with warnings.catch_warnings():  # the fallbacks are on the page (Fit.warnings)
        warnings.simplefilter("ignore", ChatsimWarning)
        fitted = fit_log(log, **settings)  # type: ignore[arg-type]
    if scenario is None:
        return Twin(fitted.scenario, fitted, None)
    names = [a.name for a in scenario.archetypes]
    if names != [a.name for a in fitted.scenario.archetypes]:
        raise FitError(
            f"{path}: its archetypes ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}) "
            f"are not those of {log.source} fitted with {settings}: the file was fitted from "
            "another log or with other settings. Fit this log again with "
            "`chatsim fit LOG --out FILE` (same --by and --per-shop)."
        )
    notes: tuple[str, ...] = ()
    same = dataclasses.replace(
        fitted.scenario, name=scenario.name, description=scenario.description
    )
    if scenario != same:
        notes = (
            f"The twin file {Path(path).name} differs from a fresh fit of the log (edited by "
            "hand?): the pages simulate the file as it is; the fitted values and their "
            "sources shown are those of the fresh fit.",
        )
    return Twin(scenario, dataclasses.replace(fitted, scenario=scenario), path, notes)


def twin_calibration(
    twin: Twin,
    log: ChatLog,
    *,
    runs: int = CALIBRATION_RUNS,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    observed: Evaluation | None = None,
) -> Calibration:
    """The log beside ``runs`` simulations of its twin (:func:`chatsim.fit.calibration_tables`;
    ``observed``: the log's evaluation when it is at hand).

    Example:
        >>> cal = twin_calibration(load_twin("", log), log)  # doctest: +SKIP
    """
    return calibration_tables(log, twin.fit, replications=runs, rules=rules, observed=observed)


@dataclass(frozen=True)
class CalibrationNumbers(KeyNumberItems):
    """The calibration page's key numbers: ``items`` holds ``(key, label, value, detail)``
    rows in the strip's order (what :func:`chatsim.notebook.show_key_numbers` draws)."""


def _points(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{'+' if x > 0 else '−' if x < 0 else ''}{abs(x):.1f} points"


def _figure(cal: Calibration, name: str) -> pl.DataFrame:
    return cal.figures.filter(pl.col("figure") == name)


def _goal_text(name: str) -> str:
    op, bound = GOALS[name]
    return {"<=": f"within {bound:g}", ">": f"above {bound:g}", "<": f"under {bound:g}"}[op]


#: The goals in plain words.
_GOAL_WORDS = {
    "pass share difference, all shops (points)": "the share of shops meeting {rules} "
    "(within 3 points)",
    "pass share difference, segment (points)": "each segment's share meeting {rules} "
    "(within 5 points)",
    "hour-of-week arrival correlation": "the arrival pattern by hour of the week (correlation "
    "above 0.95)",
    "shop response-rate KS distance": "the spread of shop response rates under {rules} (KS "
    "distance under 0.1)",
}


def _missed_goals(checks: pl.DataFrame) -> str:
    """The goals ``checks`` misses, in words, each naming the rules that miss it.

    Example:
        >>> checks = pl.DataFrame({"figure": ["pass share difference, all shops (points)"] * 2,
        ...     "rule": ["legacy-24h", "new-12h"], "ok": [True, False]})
        >>> _missed_goals(checks)
        'the share of shops meeting new-12h (within 3 points)'
    """
    missed = checks.filter(~pl.col("ok"))
    parts = []
    for figure in sorted(set(missed["figure"])):
        rules = sorted({r for r in missed.filter(pl.col("figure") == figure)["rule"] if r})
        words = _GOAL_WORDS.get(figure, figure)
        named = " and ".join(rules) if rules else "each rule"
        parts.append(words.format(rules=named) if "{rules}" in words else words)
    return "; ".join(parts)


def _all_shop_checks(cal: Calibration) -> pl.DataFrame:
    """The figures with a goal measured over all shops (one per rule, or one)."""
    return cal.figures.filter(pl.col("goal").is_not_null() & (pl.col("segment") == ALL_SHOPS))


def calibration_key_numbers(cal: Calibration) -> CalibrationNumbers:
    """The goodness-of-fit figures as key numbers: goals met, each rule's pass share in the
    log and in the twin, segments within 5 points, the arrival correlation, the largest
    KS distance of shop rates.

    Example:
        >>> calibration_key_numbers(cal).rows()[0]  # doctest: +SKIP
        ('Fit goals met', '4 of 4', 'goals of docs/fitting.md, figures below')
    """
    checks = _all_shop_checks(cal)
    items = [
        (
            "goals",
            "Fit goals met, all shops",
            f"{int(checks['ok'].sum())} of {checks.height}",
            "pass shares per rule, arrival pattern, spread of shop rates (table below)",
        )
    ]
    allsh = cal.pass_shares.filter(pl.col("segment") == ALL_SHOPS)
    for rule, obs, sim, diff in allsh.select(
        "rule", "observed", "simulated", "difference_points"
    ).iter_rows():
        items.append(
            (
                f"share_{rule}",
                f"Meet {rule}: log vs twin",
                f"{format_share(obs)} vs {format_share(sim)}",
                f"{_points(diff)} (goal: "
                f"{_goal_text('pass share difference, all shops (points)')} points)",
            )
        )
    seg = _figure(cal, "pass share difference, segment (points)").drop_nulls("value")
    if seg.height:
        near = int((seg["value"] <= 5.0).sum())
        items.append(
            (
                "segments",
                "Segment shares within 5 points",
                f"{near} of {seg.height}",
                f"rule and segment pairs; largest gap {seg['value'].max():.1f} points",
            )
        )
    corr = _figure(cal, "hour-of-week arrival correlation")
    every = corr.filter(pl.col("segment") == ALL_SHOPS)["value"]
    if every.len():
        items.append(
            (
                "arrivals",
                "Arrivals by hour of week",
                f"r = {every[0]:.3f}",
                f"correlation, log vs twin (goal: {_goal_text('hour-of-week arrival correlation')});"
                f" lowest segment {corr['value'].min():.3f}",
            )
        )
    ks = _figure(cal, "shop response-rate KS distance").drop_nulls("value")
    if ks.height:
        worst = ks.sort("value", descending=True).row(0, named=True)
        items.append(
            (
                "rates",
                "Shop response rates",
                f"KS {worst['value']:.3f}",
                f"largest distance between the log's and the twin's rate distributions "
                f"({worst['rule']}; goal: {_goal_text('shop response-rate KS distance')})",
            )
        )
    return CalibrationNumbers(tuple(items))


#: Segments whose gap a takeaway explains (the largest first).
_MAX_SEGMENT_TAKEAWAYS = 3


@dataclass(frozen=True)
class _Text:
    """A takeaway (what :func:`chatsim.notebook.show_takeaways` lists: ``key``, ``text``)."""

    key: str
    text: str


def calibration_takeaways(cal: Calibration, twin: Twin | None = None) -> list[_Text]:
    """What the goodness-of-fit figures mean, in plain words: the verdict, each rule's
    share of shops passing in the log and the twin, the segments that differ by more than
    chance, and what the twin cannot hold.

    Example:
        >>> [t.key for t in calibration_takeaways(cal)][:1]  # doctest: +SKIP
        ['verdict']
    """
    out: list[_Text] = []
    checks = _all_shop_checks(cal)
    if checks["ok"].all():
        out.append(
            _Text(
                "verdict",
                "Over all shops the twin reproduces the log closely enough for what-if "
                "questions: the share of shops meeting each rule, the arrival pattern and "
                "the spread of shop response rates all meet their goals.",
            )
        )
    else:
        out.append(
            _Text(
                "verdict",
                "Over all shops the twin misses "
                + _missed_goals(checks)
                + ": read model-based figures (what-ifs, bands) with care, and see the charts "
                "below for where the twin and the log part.",
            )
        )
    allsh = cal.pass_shares.filter(pl.col("segment") == ALL_SHOPS)
    parts = [
        f"{format_share(o)} of rated shops meet {r} in the log and {format_share(s)} in the twin"
        for r, o, s in allsh.select("rule", "observed", "simulated").iter_rows()
    ]
    if parts:
        out.append(_Text("shares", "; ".join(parts) + "."))
    seg = cal.pass_shares.filter(
        (pl.col("segment") != ALL_SHOPS) & (pl.col("difference_points").abs() > 5.0)
    ).sort(pl.col("difference_points").abs(), descending=True)
    if seg.height > _MAX_SEGMENT_TAKEAWAYS:
        out.append(
            _Text(
                "segments",
                f"{seg.height} rule and segment pairs differ by more than 5 points; the "
                f"{_MAX_SEGMENT_TAKEAWAYS} largest gaps follow (all in the table below).",
            )
        )
    for row in seg.head(_MAX_SEGMENT_TAKEAWAYS).iter_rows(named=True):
        noise = row["noise_points"]
        if noise == 0:
            chance = (
                "every run of the twin agrees on each of these shops, so the gap is not one "
                "run's luck: the twin does not hold this segment well"
            )
        elif noise is not None:
            chance = (
                f"chance alone moves its share by about {noise:.1f} points from one run to "
                "the next, so "
                + (
                    "the gap is within what chance gives"
                    if abs(row["difference_points"]) <= 3 * noise
                    else "the gap is larger than chance: the twin does not hold this segment well"
                )
            )
        else:
            chance = "with one simulation the gap includes that run's luck"
        out.append(
            _Text(
                f"segment_{row['segment']}",
                f"Segment {segment_label(row['segment'])} under {row['rule']}: "
                f"{format_share(row['observed'])}"
                f" meet it in the log, {format_share(row['simulated'])} in the twin "
                f"({_points(row['difference_points'])}, {format_count(row['shops_observed'])} "
                f"shop{'' if row['shops_observed'] == 1 else 's'}); {chance}.",
            )
        )
    out.append(
        _Text(
            "limits",
            "Some of a log's behaviour a scenario cannot hold yet (docs/fitting.md, \"What a "
            'scenario cannot hold yet"): where the charts below part, look there first.',
        )
    )
    if twin is not None:
        out += [_Text("note", n) for n in twin.notes]
    return out


def pass_share_table(cal: Calibration) -> pl.DataFrame:
    """The pass shares as a page shows them: rule, segment, shops, the share meeting the
    rule in the log and in the twin, the gap and the noise of one run (points).

    Example:
        >>> pass_share_table(cal).columns[:3]  # doctest: +SKIP
        ['rule', 'segment', 'shops']
    """
    return cal.pass_shares.select(
        "rule",
        "segment",
        shops=pl.col("shops_observed"),
        share_in_log=pl.col("observed"),
        share_in_twin=pl.col("simulated"),
        gap_points=pl.col("difference_points"),
        chance_points=pl.col("noise_points"),
    )


def figures_table(cal: Calibration) -> pl.DataFrame:
    """The goodness-of-fit figures as a page shows them: what is measured, for which rule
    and segment, its value, the goal in words and whether it is met.

    Example:
        >>> figures_table(cal).columns  # doctest: +SKIP
        ['figure', 'rule', 'segment', 'value', 'goal', 'met']
    """
    op = pl.col("op").replace_strict(
        {"<=": "at most ", ">": "above ", "<": "under "}, default="", return_dtype=pl.String
    )
    return cal.figures.select(
        "figure",
        "rule",
        "segment",
        pl.col("value").round(3),
        goal=pl.when(pl.col("goal").is_not_null()).then(
            op + pl.col("goal").round(2).cast(pl.String)
        ),
        met=pl.col("ok"),
    )


def calibration_warnings(twin: Twin) -> list[_Text]:
    """A plain warning per segment too small to fit on its own (its behaviour pooled from
    all shops) and per parameter pooled for lack of observations.

    Example:
        >>> calibration_warnings(load_twin("", log))  # doctest: +SKIP
        []
    """
    return [_Text("pooled", _readable_warning(w)) for w in twin.fit.warnings]


_SEGMENT_NAME = re.compile(r"segment '([^']*)'")
_POOLED_PARAMETERS = re.compile(r"^(.*?: )([a-z0-9_, ]+)( pooled from all shops)")


def _readable_warning(warning: str) -> str:
    """A fit warning as the page's tables name things: the segment as a label ("Group 2"),
    the pooled parameters in words, a capital first letter.

    Example:
        >>> _readable_warning("segment 'group_2': holiday_mode_days pooled from all shops.")
        'Segment Group 2: holiday mode days pooled from all shops.'
    """
    text = _SEGMENT_NAME.sub(lambda m: f"segment {segment_label(m.group(1))}", warning)
    text = _POOLED_PARAMETERS.sub(
        lambda m: m.group(1) + m.group(2).replace("_", " ") + m.group(3), text
    )
    return text[:1].upper() + text[1:]
