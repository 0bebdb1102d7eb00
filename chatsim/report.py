"""Report notebooks: parameters in, executed notebooks and offline HTML out.

Parameters flow one way: scenario YAML (validated by :mod:`chatsim.scenario`) ->
papermill parameters (:func:`notebook_parameters`) -> chatsim objects inside the
notebook (:func:`load_context`). :func:`build_reports` runs every notebook of
``notebooks/`` for a scenario (or a real log) and writes
``reports/<scenario>/<notebook>.html`` plus the executed ``.ipynb`` and
``reports/index.html``.

Everything is validated before the first notebook runs (a bad scenario, rule or
log fails at once, naming the key or file). Notebooks execute in a staging folder;
only when all of them succeeded are the results moved into ``reports/``, so a
failure never leaves a half-written report. A failing cell is named in the error.

Example:
    >>> params = notebook_parameters("scenarios/baseline.yaml", log_path="/tmp/log")  # doctest: +SKIP
    >>> params["rules"]  # doctest: +SKIP
    ['legacy-24h', 'new-12h']
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

import chatsim
from chatsim.errors import ReportError, ScenarioError
from chatsim.metrics import Evaluation, compare
from chatsim.rules import EXCLUSIONS, Rule, resolve_rule
from chatsim.scenario import Scenario, load_scenario
from chatsim.schema import ChatLog, read_log

#: The repository's notebooks folder (report notebooks live here).
NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
#: Report notebooks in the order they appear in the index; any other notebook in
#: ``notebooks/`` is run after them.
REPORT_NOTEBOOKS: tuple[str, ...] = ("rule_comparison", "sensitivity", "shop_drilldown")
#: Sizes used by ``--small`` (and the notebook tests).
SMALL_SHOPS, SMALL_DAYS = 36, 10


def report_notebooks(
    notebooks_dir: Path = NOTEBOOKS_DIR, only: Sequence[str] | None = None
) -> list[Path]:
    """The notebooks a report runs, main report first.

    Example:
        >>> [p.stem for p in report_notebooks()][:1]
        ['rule_comparison']
    """
    found = {p.stem: p for p in sorted(notebooks_dir.glob("*.ipynb"))}
    ordered = [found[n] for n in REPORT_NOTEBOOKS if n in found]
    ordered += [p for n, p in found.items() if n not in REPORT_NOTEBOOKS]
    if only:
        missing = [n for n in only if Path(n).stem not in found]
        if missing:
            raise ReportError(f"no notebook(s) {missing} in {notebooks_dir}; have {sorted(found)}.")
        ordered = [p for p in ordered if p.stem in {Path(n).stem for n in only}]
    if not ordered:
        raise ReportError(f"no notebooks found in {notebooks_dir}.")
    return ordered


def notebook_parameters(
    scenario: Scenario | str | Path,
    *,
    log_path: str | Path,
    small: bool = False,
    real_log: bool = False,
) -> dict[str, Any]:
    """The papermill parameters every report notebook accepts, from a scenario.

    Only plain values (strings, numbers, lists) so they show in the notebook's
    injected-parameters cell.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    an = sc.analysis
    for ref in an.rules:  # fail now, not inside a notebook
        resolve_rule(ref)
    return {
        "scenario_path": str(Path(sc.source).resolve())
        if sc.source and Path(sc.source).exists()
        else "",
        "log_path": str(Path(log_path).resolve()),
        "real_log": real_log,
        "shops": SMALL_SHOPS if small else None,
        "days": SMALL_DAYS if small else None,
        "rules": [str(r) for r in an.rules],
        "targets": [float(t) for t in an.targets],
        "windows_hours": [float(w) for w in an.windows_hours],
        "drilldown_shop": an.drilldown_shop,
        "run_what_if": bool(an.what_if) and not real_log,
        "as_of": None,
    }


@dataclass
class ReportContext:
    """What a report notebook works on: the scenario, the log, the rules and their evaluation."""

    scenario: Scenario | None
    log: ChatLog
    rules: list[Rule]
    evaluation: Evaluation
    params: dict[str, Any]

    @property
    def segment(self) -> str | None:
        """The segment column reports group by (``archetype`` for simulated logs)."""
        for col in ("archetype", "segment", "country"):
            if col in self.log.shops.columns:
                return col
        return None

    @property
    def old(self) -> str:
        return self.rules[0].name

    @property
    def new(self) -> str:
        return self.rules[-1].name


def load_context(
    *,
    scenario_path: str = "",
    log_path: str,
    rules: Sequence[str],
    shops: int | None = None,
    days: int | None = None,
    as_of: str | None = None,
    **params: Any,
) -> ReportContext:
    """Turn a notebook's parameters into chatsim objects (reads the log, evaluates the rules)."""
    sc = None
    if scenario_path:
        sc = load_scenario(scenario_path)
        if shops or days:
            sc = sc.scaled(shops=shops, days=days)
    log = read_log(log_path)
    rule_objs = [resolve_rule(r) for r in rules]
    ev = compare(log, rule_objs, as_of=as_of)
    all_params = {
        "scenario_path": scenario_path,
        "log_path": log_path,
        "rules": list(rules),
        "shops": shops,
        "days": days,
        "as_of": as_of,
        **params,
    }
    return ReportContext(sc, log, rule_objs, ev, all_params)


def prepare_log(
    scenario_path: str, log_path: str = "", *, shops: int | None = None, days: int | None = None
) -> str:
    """The log a notebook analyses: ``log_path`` if given, else the scenario simulated
    (scaled by ``shops``/``days``) into a cache folder keyed by the scenario's content.

    This is what lets a notebook run on its own defaults (in JupyterLab, under nbval).
    """
    if log_path:
        return log_path
    if not scenario_path:
        raise ReportError(
            "give either log_path (a chat log) or scenario_path (a scenario to simulate)."
        )
    import hashlib

    from chatsim.simulate import simulate_to_dir

    sc = load_scenario(scenario_path)
    if shops or days:
        sc = sc.scaled(shops=shops, days=days)
    key = hashlib.sha256(sc.to_yaml().encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / "chatsim-cache" / f"{_safe_name(sc.name)}-{key}"
    if not (cache / "shops.parquet").exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache.parent))
        simulate_to_dir(sc, tmp / "log", workers=1, progress=False)
        with contextlib.suppress(OSError):  # another process got there first: same content
            os.replace(tmp / "log", cache)
        shutil.rmtree(tmp, ignore_errors=True)
    return str(cache)


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="chatsim-meta">{body}</table>'


def header_html(ctx: ReportContext, title: str) -> str:
    """The report header: scenario and parameters, rules, data size, exclusions, version, time."""
    ev, log = ctx.evaluation, ctx.log
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sc = ctx.scenario
    source = (
        f"scenario <b>{html.escape(sc.name)}</b> ({html.escape(sc.source)}), seed {sc.seed}, "
        f"{sc.shops} shops, {sc.period.days} days from {sc.period.start}"
        if sc is not None and not ctx.params.get("real_log")
        else f"chat log <code>{html.escape(str(ctx.params.get('log_path')))}</code>"
    )
    n_chats = ev.chats.filter(pl.col("rule") == ctx.new).height
    params = {k: v for k, v in ctx.params.items() if k not in ("log_path", "scenario_path")}
    rows = [
        ("Data", source),
        (
            "Size",
            f"{log.n_messages:,} messages, {n_chats:,} chats ({ctx.new} definition), "
            f"{log.shops.height:,} shops; cutoff {ev.as_of:%Y-%m-%d %H:%M} UTC"
            + (
                f"; {ev.messages_after_cutoff:,} messages after the cutoff ignored"
                if ev.messages_after_cutoff
                else ""
            ),
        ),
        ("Rules", "<br>".join(html.escape(r.describe()) for r in ctx.rules)),
        (
            "Parameters",
            "<code>" + html.escape(", ".join(f"{k}={v!r}" for k, v in params.items())) + "</code>",
        ),
        ("Made", f"{now} with chatsim {chatsim.__version__}"),
    ]
    if ev.dropped:
        rows.insert(2, ("Dropped rows", html.escape(str(ev.dropped))))
    ex = ev.exclusions().pivot(on="rule", index="reason", values="chats")
    ex_rows = "".join(
        "<tr><td>"
        + html.escape(r["reason"])
        + "</td>"
        + "".join(f"<td>{r[name]:,}</td>" for name in (x.name for x in ctx.rules))
        + "</tr>"
        for r in ex.iter_rows(named=True)
    )
    ex_head = (
        "<tr><th>chats left out</th>"
        + "".join(f"<th>{html.escape(r.name)}</th>" for r in ctx.rules)
        + "</tr>"
    )
    style = (
        "<style>.chatsim-header{font-family:system-ui,sans-serif;border:1px solid #ddd;padding:12px 16px;"
        "border-radius:6px;background:#fafafa;margin-bottom:12px}.chatsim-header h2{margin:0 0 8px;font-size:1.2em}"
        ".chatsim-meta th,.chatsim-ex th{text-align:left;padding:2px 12px 2px 0;vertical-align:top}"
        ".chatsim-meta td,.chatsim-ex td{padding:2px 12px 2px 0}.chatsim-ex td{text-align:right}"
        ".chatsim-ex td:first-child{text-align:left}</style>"
    )
    return (
        f'{style}<div class="chatsim-header"><h2>{html.escape(title)}</h2>{_table(rows)}'
        f"<p><b>Exclusions by reason</b> (each chat gets the first reason in the order "
        f"{', '.join(EXCLUSIONS)}; pending chats are right-censored, not failed)</p>"
        f'<table class="chatsim-ex">{ex_head}{ex_rows}</table></div>'
    )


def show_header(ctx: ReportContext, title: str) -> Any:
    """Display the report header in a notebook."""
    from IPython.display import HTML, display

    return display(HTML(header_html(ctx, title)))


def table_html(df: pl.DataFrame, *, max_rows: int = 50) -> str:
    """A plain, readable HTML table: rates and shares as percentages, counts with separators.

    Example:
        >>> "50.0%" in table_html(pl.DataFrame({"share_passing": [0.5]}))
        True
    """

    def fmt(col: str, v: Any) -> str:
        if v is None:
            return "–"
        if isinstance(v, float):
            if any(k in col for k in ("rate", "share", "target")) and "hours" not in col:
                return f"{v:.1%}"
            return f"{v:,.2f}"
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%d %H:%M") + (" UTC" if v.tzinfo is not None else "")
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{fmt(c, r[c])}</td>" for c in df.columns) + "</tr>"
        for r in df.head(max_rows).iter_rows(named=True)
    )
    more = (
        f"<p><i>{df.height - max_rows:,} more rows not shown.</i></p>"
        if df.height > max_rows
        else ""
    )
    style = (
        "<style>.chatsim-table{border-collapse:collapse;font-size:13px;margin:6px 0}"
        ".chatsim-table th{border-bottom:2px solid #888;padding:3px 10px;text-align:right}"
        ".chatsim-table td{border-bottom:1px solid #ddd;padding:3px 10px;text-align:right}"
        ".chatsim-table th:first-child,.chatsim-table td:first-child{text-align:left}</style>"
    )
    return f'{style}<table class="chatsim-table"><tr>{head}</tr>{body}</table>{more}'


def show_table(df: pl.DataFrame, *, max_rows: int = 50) -> Any:
    """Display a DataFrame as a formatted table (see :func:`table_html`)."""
    from IPython.display import HTML, display

    return display(HTML(table_html(df, max_rows=max_rows)))


def _run_notebook(
    nb: Path, out_nb: Path, params: dict[str, Any], progress: bool, timeout: int
) -> None:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    try:
        pm.execute_notebook(
            str(nb),
            str(out_nb),
            parameters=params,
            kernel_name="python3",
            language="python",
            progress_bar=progress,
            cwd=str(nb.parent),
            execution_timeout=timeout,
        )
    except PapermillExecutionError as exc:
        lines = [ln for ln in (exc.source or "").splitlines() if ln.strip()]
        first = lines[0][:100] if lines else ""
        cell = f"cell {exc.exec_count}" if exc.exec_count is not None else f"cell #{exc.cell_index}"
        raise ReportError(
            f"notebook {nb.name} failed in {cell} (`{first}`): {exc.ename}: "
            f"{str(exc.evalue).rstrip('.')}. No report was written."
        ) from None


def build_reports(
    scenario: str | Path,
    *,
    log: str | Path | None = None,
    out_dir: str | Path = "reports",
    small: bool = False,
    show_code: bool = False,
    notebooks: Sequence[str] | None = None,
    notebooks_dir: Path = NOTEBOOKS_DIR,
    progress: bool = True,
    timeout: int = 1800,
    shops: int | None = None,
    days: int | None = None,
) -> list[Path]:
    """Run the report notebooks for a scenario (or a real ``log``) into ``out_dir``.

    ``small`` scales the scenario down to a quick check; ``shops``/``days`` scale it to
    any size. Returns the written HTML paths (``out_dir/<scenario>/<notebook>.html``); also
    writes the executed notebooks beside them and refreshes ``out_dir/index.html``.
    """
    from chatsim.render import notebook_to_html, write_index
    from chatsim.simulate import simulate_to_dir

    sc = load_scenario(scenario)  # ScenarioError before anything runs
    if small:
        sc = sc.scaled(shops=min(sc.shops, SMALL_SHOPS), days=min(sc.period.days, SMALL_DAYS))
    if shops or days:
        sc = sc.scaled(shops=shops, days=days)
    nbs = report_notebooks(notebooks_dir, notebooks)
    out_root = Path(out_dir)
    out_root.mkdir(parents=True, exist_ok=True)
    target = out_root / _safe_name(sc.name if log is None else f"{sc.name}-{Path(log).stem}")
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_root))
    try:
        if log is None:
            log_dir = staging / "log"
            _say(
                progress,
                f"simulating scenario '{sc.name}' ({sc.shops} shops, {sc.period.days} days)",
            )
            simulate_to_dir(sc, log_dir, progress=progress)
        else:
            log_dir = Path(log)
            real = read_log(log_dir)  # SchemaError before any notebook runs
        params = notebook_parameters(sc, log_path=log_dir, small=small, real_log=log is not None)
        if (
            log is not None
            and params["drilldown_shop"] not in real.shops["shop_id"].cast(pl.String).to_list()
        ):
            # the scenario names a simulated shop: on a real log the drill-down picks its own
            params["drilldown_shop"] = None
        if small or shops or days:
            params["shops"], params["days"] = sc.shops, sc.period.days
        written = []
        for i, nb in enumerate(nbs, 1):
            _say(progress, f"[{i}/{len(nbs)}] running {nb.name}")
            out_nb = staging / nb.name
            _run_notebook(nb, out_nb, params, progress, timeout)
            html_path = staging / f"{nb.stem}.html"
            notebook_to_html(
                out_nb,
                html_path,
                show_code=show_code,
                title=f"{sc.name}: {nb.stem.replace('_', ' ')}",
            )
            written.append(nb.stem)
        target.mkdir(parents=True, exist_ok=True)
        paths = []
        for stem in written:
            for ext in (".ipynb", ".html"):
                os.replace(staging / f"{stem}{ext}", target / f"{stem}{ext}")
            paths.append(target / f"{stem}.html")
        write_index(out_root)
        return paths
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _safe_name(name: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name.strip())
    if not safe:
        raise ScenarioError("the scenario name is empty; give it a 'name'.")
    return safe


def _say(progress: bool, msg: str) -> None:
    if progress:
        print(msg, flush=True)
