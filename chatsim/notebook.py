"""What a report notebook calls: its parameters turned into chatsim objects, and the page parts.

A report notebook (``notebooks/*.ipynb``) receives plain parameters from papermill
(:func:`chatsim.report.notebook_parameters`), then:

1. :func:`load_context` builds a :class:`ReportContext`: in a report run it reads the
   evaluation the run staged (``results_path``, :mod:`chatsim.report_results`); on its own
   (JupyterLab, nbval) it finds the log (:func:`prepare_log`: ``log_path``, or the scenario
   simulated into a cache) and evaluates the rules;
2. the context gives the tables a page needs (``ctx.bridge()``, ``ctx.window_rates()``:
   staged by the run, else computed on ``ctx.log``, read on first use; and
   ``ctx.replications(n)``: the scenario's replications, staged by the run or run here);
   with a twin (``twin_path``, :mod:`chatsim.twin`) a real log's pages also get
   model-based ones: ``ctx.what_if_plan()`` and ``ctx.replications(n, twin=True)`` run on
   the twin, and ``ctx.twin_of_log()`` gives the calibration page its fit;
3. :func:`show_header`, :func:`show_table` and the other page parts (defined in
   :mod:`chatsim.page_html`, re-exported here) display the page; charts come from
   :mod:`chatsim.charts`, drawn offline after :func:`chatsim.render.enable_offline_charts`.

Example:
    >>> from chatsim.sample import sample_log_path
    >>> ctx = load_context(log_path=str(sample_log_path()), rules=["legacy-24h", "new-12h"])
    >>> ctx.old, ctx.new, ctx.segment
    ('legacy-24h', 'new-12h', 'segment')
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from chatsim.errors import ReportError, ScenarioError, SchemaError
from chatsim.logfolder import MARKER, check_complete
from chatsim.metrics import Evaluation, compare
from chatsim.page_html import (
    DOCS_HREF,
    escape_markdown,
    header_html,
    key_numbers_html,
    page_summary_html,
    project_path,
    rule_sentence,
    section_html,
    show_header,
    show_key_numbers,
    show_page_summary,
    show_section,
    show_table,
    show_takeaways,
    table_html,
    takeaways_html,
)
from chatsim.report_results import StagedResults, read_results
from chatsim.rules import Rule, resolve_rule
from chatsim.scenario import Scenario, load_scenario
from chatsim.schema import ChatLog, read_log

if TYPE_CHECKING:
    from chatsim.analysis import WhatIfPlan
    from chatsim.replications import Replications
    from chatsim.twin import Twin

__all__ = [
    "DOCS_HREF",
    "MAX_NAME_BYTES",
    "ReportContext",
    "escape_markdown",
    "header_html",
    "is_cached_log",
    "load_context",
    "prepare_log",
    "key_numbers_html",
    "page_summary_html",
    "project_path",
    "rule_sentence",
    "safe_name",
    "section_html",
    "show_header",
    "show_key_numbers",
    "show_page_summary",
    "show_section",
    "show_table",
    "show_takeaways",
    "table_html",
    "takeaways_html",
]


#: Longest folder name :func:`safe_name` returns, in UTF-8 bytes (file systems allow 255).
MAX_NAME_BYTES = 100
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)]
)


def safe_name(name: str) -> str:
    """A scenario name made safe as one folder name (report folders, the simulation cache).

    Letters, digits, ``-``, ``_`` and ``.`` are kept; every other character (``/``, ``\\``,
    spaces, NUL, ...) becomes ``_``; leading dots become ``_``, so the result is never
    ``.``, ``..`` or a hidden name; a Windows device name (``con``, ``nul.txt``...) gets a
    ``_`` after it; a result over :data:`MAX_NAME_BYTES` bytes is cut and ends with 12
    hex digits of the name's SHA-256, so long names stay distinct. The result is always one
    path component inside the folder it is joined to.

    Example:
        >>> safe_name("peak season: 9.9")
        'peak_season__9.9'
        >>> safe_name(".."), safe_name("../../etc"), safe_name("/tmp/x")
        ('__', '___.._etc', '_tmp_x')
    """
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name.strip())
    if not safe:
        raise ScenarioError("the scenario name is empty; give it a 'name'.")
    stripped = safe.lstrip(".")
    safe = "_" * (len(safe) - len(stripped)) + stripped
    head, dot, tail = safe.partition(".")
    if head.upper() in _WINDOWS_RESERVED:
        safe = f"{head}_{dot}{tail}"
    if len(safe.encode("utf-8")) > MAX_NAME_BYTES:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        keep = safe.encode("utf-8")[: MAX_NAME_BYTES - len(digest) - 1]
        safe = keep.decode("utf-8", "ignore") + "-" + digest
    return safe


@dataclass
class ReportContext:
    """What a report notebook works on: the scenario, the rules and their evaluation, the
    log's shops table and size, and the run's parameters.

    In a report run the evaluation comes from the run's staged results (``results``) and
    the log itself is read only if a page asks for :attr:`log`; a notebook run on its own
    reads and evaluates the log in :func:`load_context`.
    """

    scenario: Scenario | None
    rules: list[Rule]
    evaluation: Evaluation
    params: dict[str, Any]
    shops: pl.DataFrame
    n_messages: int
    results: StagedResults | None = None
    _log: ChatLog | None = field(default=None, repr=False)
    #: the log's fitted twin (``twin_path``), or ``None``
    twin: Scenario | None = None

    @property
    def model_based(self) -> bool:
        """Whether this run's what-ifs and bands run on a twin: a real log with a twin."""
        return bool(self.params.get("real_log")) and self.twin is not None

    def model_scenario(self) -> Scenario | None:
        """The scenario model-based figures simulate: the scenario for a simulated log, the
        twin (with the run's rules, targets and windows) for a real log, else ``None``.

        Example:
            >>> ctx.model_scenario() is ctx.scenario  # doctest: +SKIP
            True
        """
        if not self.params.get("real_log"):
            return self.scenario
        if self.twin is None:
            return None
        p = self.params
        a = dataclasses.replace(
            self.twin.analysis,
            rules=tuple(str(r) for r in p.get("rules") or self.twin.analysis.rules),
            targets=tuple(float(t) for t in p.get("targets") or self.twin.analysis.targets),
            windows_hours=tuple(
                float(w) for w in p.get("windows_hours") or self.twin.analysis.windows_hours
            ),
        )
        return dataclasses.replace(self.twin, analysis=a)

    def what_if_plan(self, run: bool = True) -> WhatIfPlan:
        """What the what-if section runs (:func:`chatsim.analysis.what_if_plan`): the
        scenario's variants on the scenario, or, for a real log with a twin, those that
        apply to the twin, on the twin (``run`` is then ignored: a real log's run switches
        what-ifs off only because it had no model).

        Example:
            >>> ctx.what_if_plan().model_based  # doctest: +SKIP
            False
        """
        from chatsim.analysis import what_if_plan

        return what_if_plan(
            self.scenario,
            twin=self.model_scenario() if self.model_based else None,
            real_log=bool(self.params.get("real_log")),
            run=run,
        )

    def twin_of_log(self) -> Twin:
        """The log's twin with its fit (:func:`chatsim.twin.load_twin`): from ``twin_path``,
        or the log fitted here (by the report's segment column, shop by shop for small
        logs) when the run gave none.

        Example:
            >>> ctx.twin_of_log().from_file  # doctest: +SKIP
            False
        """
        from chatsim.twin import load_twin

        path = self.params.get("twin_path") or ""
        if path and not Path(path).is_file():
            path = ""  # the run's staging folder is gone: fit here
        return load_twin(path, self.log, by=self.segment)

    @property
    def log(self) -> ChatLog:
        """The chat log (read on first use when the evaluation came from staged results)."""
        if self._log is None:
            p = self.params
            path = prepare_log(
                p.get("scenario_path") or "",
                p.get("log_path") or "",
                shops=p.get("shops"),
                days=p.get("days"),
            )
            self._log = read_log(path)
        return self._log

    @property
    def segment(self) -> str | None:
        """The segment column reports group by (``archetype`` for simulated logs)."""
        for col in ("archetype", "segment", "country"):
            if col in self.shops.columns:
                return col
        return None

    @property
    def old(self) -> str:
        return self.rules[0].name

    @property
    def new(self) -> str:
        return self.rules[-1].name

    def bridge(self) -> pl.DataFrame:
        """The bridge from the old rule to the new one (:func:`chatsim.explain.bridge_table`):
        the run's staged table, else computed on the log."""
        staged = self.results.table("bridge") if self.results is not None else None
        if staged is not None:
            return staged
        from chatsim.explain import bridge_table

        return bridge_table(self.evaluation, self.log, old=self.old, new=self.new)

    def window_rates(self, windows_hours: Sequence[float]) -> pl.DataFrame:
        """Each rated shop's rate under the sweep's rule (:func:`chatsim.analysis.sweep_base`:
        the new rule when it is a plain response rate) with each window
        (:func:`chatsim.analysis.window_rates`): the run's staged table when it has these
        windows, else computed on the log."""
        from chatsim.analysis import sweep_base, window_rates

        if self.results is not None and self.results.windows_hours == tuple(
            float(w) for w in windows_hours
        ):
            staged = self.results.table("window_rates")
            if staged is not None:
                return staged
        return window_rates(
            self.log, windows_hours, base=sweep_base(self.rules), as_of=self.params.get("as_of")
        )

    def replications(self, n: int, *, twin: bool = False, **switches: bool) -> Replications | None:
        """The scenario simulated ``n`` times (:func:`chatsim.replications.run_replications`):
        the run's staged replications when it staged ``n`` of them, else run here (every
        core; ``switches``: ``bridge``, ``sweep``, ``what_if``). ``None`` when there is
        nothing to replicate: a real log, no scenario, or ``n`` of 1. With ``twin``, a
        real log with a twin gets the twin's replications (model-based; ``n`` of 1 means
        :data:`chatsim.twin.TWIN_REPLICATIONS`).

        Example:
            >>> ctx.replications(1) is None  # doctest: +SKIP
            True
        """
        if twin and self.model_based:
            from chatsim.replications import run_replications
            from chatsim.twin import TWIN_REPLICATIONS

            sc = self.model_scenario()
            n = n if n > 1 else TWIN_REPLICATIONS
            # in this process: a report's warm kernel cannot spawn worker processes
            return run_replications(sc, n, rules=self.rules, workers=1, **switches)
        if self.scenario is None or self.params.get("real_log") or n < 2:
            return None
        staged = self.results.replications() if self.results is not None else None
        if staged is not None and staged.n == n:
            return staged
        from chatsim.replications import run_replications

        return run_replications(self.scenario, n, rules=self.rules, workers=None, **switches)

    def builds_page(self, page: str) -> bool:
        """Whether this run writes report page ``page`` (a notebook name), so a link to it
        works; a notebook run on its own assumes every page.

        Example:
            >>> ctx.builds_page("shop_drilldown")  # doctest: +SKIP
            True
        """
        return self.results is None or page in self.results.pages


def load_context(
    *,
    scenario_path: str = "",
    log_path: str = "",
    rules: Sequence[str],
    shops: int | None = None,
    days: int | None = None,
    as_of: str | None = None,
    results_path: str = "",
    twin_path: str = "",
    **params: Any,
) -> ReportContext:
    """Turn a notebook's parameters into chatsim objects.

    With ``results_path`` (a report run's staged results, :mod:`chatsim.report_results`)
    the evaluation is read from there; otherwise the log (``log_path``, or the scenario
    simulated into a cache by :func:`prepare_log`) is read and the rules evaluated here. A
    ``results_path`` that no longer exists (an executed notebook run again after its
    report) counts as empty. ``twin_path`` is the log's fitted twin (a scenario YAML,
    :mod:`chatsim.twin`); empty or gone: none.
    """
    from chatsim.twin import read_twin

    sc = None
    if scenario_path:
        sc = load_scenario(scenario_path)
        if shops or days:
            sc = sc.scaled(shops=shops, days=days)
    staged = None
    if results_path and Path(results_path).is_dir():
        staged = read_results(results_path)
    log = None
    if staged is None:
        log_path = prepare_log(scenario_path, log_path, shops=shops, days=days)
        log = read_log(log_path)
        rule_objs = [resolve_rule(r) for r in rules]
        ev = compare(log, rule_objs, as_of=as_of)
    else:
        ev = staged.evaluation
        rule_objs = list(ev.rules)
    all_params = {
        "scenario_path": scenario_path,
        "log_path": log_path,
        "rules": list(rules),
        "shops": shops,
        "days": days,
        "as_of": as_of,
        "twin_path": twin_path,
        **params,
    }
    return ReportContext(
        scenario=sc,
        rules=rule_objs,
        evaluation=ev,
        params=all_params,
        shops=staged.shops if staged is not None else log.shops,
        n_messages=staged.n_messages if staged is not None else log.n_messages,
        results=staged,
        _log=log,
        twin=read_twin(twin_path),
    )


def prepare_log(
    scenario_path: str, log_path: str = "", *, shops: int | None = None, days: int | None = None
) -> str:
    """The log a notebook analyses: ``log_path`` if given, else the scenario simulated
    (scaled by ``shops``/``days``) into a cache folder keyed by the scenario's content.

    This is what lets a notebook run on its own defaults (in JupyterLab, under nbval).

    Example:
        >>> prepare_log("", "data/real")
        'data/real'
    """
    if log_path:
        return log_path
    if not scenario_path:
        raise ReportError(
            "give either log_path (a chat log) or scenario_path (a scenario to simulate)."
        )
    from chatsim.simulate import simulate_to_dir

    sc = load_scenario(scenario_path)
    if shops or days:
        sc = sc.scaled(shops=shops, days=days)
    key = hashlib.sha256(sc.to_yaml().encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / "chatsim-cache" / f"{safe_name(sc.name)}-{key}"
    if not is_cached_log(cache):
        # staged and moved into place whole; an incomplete folder is replaced
        simulate_to_dir(sc, cache, workers=1, progress=False)
    return str(cache)


def is_cached_log(folder: str | Path) -> bool:
    """Whether ``folder`` holds a complete simulated log (its completion marker present and
    matching): an incomplete folder, or one written before the marker existed, is a miss.

    Example:
        >>> is_cached_log("/nonexistent/chatsim-cache/x")
        False
    """
    f = Path(folder)
    if not (f / MARKER).is_file():
        return False
    try:
        check_complete(f)
    except SchemaError:  # refused (files missing or changed): simulate again
        return False
    return True
