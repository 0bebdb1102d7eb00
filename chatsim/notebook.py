"""What a report notebook calls: its parameters turned into chatsim objects, and the page parts.

A report notebook (``notebooks/*.ipynb``) receives plain parameters from papermill
(:func:`chatsim.report.notebook_parameters`), then:

1. :func:`prepare_log` finds the log to analyse (or simulates the scenario into a cache,
   so the notebook also runs on its own defaults in JupyterLab and under nbval);
2. :func:`load_context` reads the log and evaluates the rules into a :class:`ReportContext`;
3. :func:`show_header` and :func:`show_table` display the page header and readable tables
   (charts come from :mod:`chatsim.charts`, drawn offline after
   :func:`chatsim.render.enable_offline_charts`).

Example:
    >>> from chatsim.sample import sample_log_path
    >>> ctx = load_context(log_path=str(sample_log_path()), rules=["legacy-24h", "new-12h"])
    >>> ctx.old, ctx.new, ctx.segment
    ('legacy-24h', 'new-12h', 'segment')
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
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

__all__ = [
    "ReportContext",
    "header_html",
    "load_context",
    "prepare_log",
    "safe_name",
    "show_header",
    "show_table",
    "table_html",
]


def safe_name(name: str) -> str:
    """A scenario name made safe as a folder name (report folders, the simulation cache).

    Example:
        >>> safe_name("peak season: 9.9")
        'peak_season__9.9'
    """
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name.strip())
    if not safe:
        raise ScenarioError("the scenario name is empty; give it a 'name'.")
    return safe


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


_HEADER_STYLE = (
    "<style>.chatsim-header{font-family:system-ui,sans-serif;border:1px solid #ddd;padding:12px 16px;"
    "border-radius:6px;background:#fafafa;margin-bottom:12px}.chatsim-header h2{margin:0 0 8px;font-size:1.2em}"
    ".chatsim-meta th,.chatsim-ex th{text-align:left;padding:2px 12px 2px 0;vertical-align:top}"
    ".chatsim-meta td,.chatsim-ex td{padding:2px 12px 2px 0}.chatsim-ex td{text-align:right}"
    ".chatsim-ex td:first-child{text-align:left}</style>"
)


def header_html(ctx: ReportContext, title: str) -> str:
    """The report header: scenario and parameters, rules, data size, exclusions, version, time.

    Example:
        >>> "Exclusions by reason" in header_html(ctx, "Rule comparison")  # doctest: +SKIP
        True
    """
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
    return (
        f'{_HEADER_STYLE}<div class="chatsim-header"><h2>{html.escape(title)}</h2>{_table(rows)}'
        f"<p><b>Exclusions by reason</b> (each chat gets the first reason in the order "
        f"{', '.join(EXCLUSIONS)}; pending chats are right-censored, not failed)</p>"
        f'<table class="chatsim-ex">{ex_head}{ex_rows}</table></div>'
    )


def show_header(ctx: ReportContext, title: str) -> Any:
    """Display the report header in a notebook (see :func:`header_html`)."""
    from IPython.display import HTML, display

    return display(HTML(header_html(ctx, title)))


_TABLE_STYLE = (
    "<style>.chatsim-table{border-collapse:collapse;font-size:13px;margin:6px 0}"
    ".chatsim-table th{border-bottom:2px solid #888;padding:3px 10px;text-align:right}"
    ".chatsim-table td{border-bottom:1px solid #ddd;padding:3px 10px;text-align:right}"
    ".chatsim-table th:first-child,.chatsim-table td:first-child{text-align:left}</style>"
)


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
    return f'{_TABLE_STYLE}<table class="chatsim-table"><tr>{head}</tr>{body}</table>{more}'


def show_table(df: pl.DataFrame, *, max_rows: int = 50) -> Any:
    """Display a DataFrame as a formatted table (see :func:`table_html`)."""
    from IPython.display import HTML, display

    return display(HTML(table_html(df, max_rows=max_rows)))
