"""The results a report run stages for its notebooks: written once, read back exactly, and
used by load_context instead of evaluating the log again."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from chatsim.analysis import window_rates
from chatsim.errors import ReportError
from chatsim.explain import bridge_table
from chatsim.metrics import compare
from chatsim.notebook import load_context
from chatsim.report_results import (
    RESULTS_VERSION,
    read_replications,
    read_results,
    write_replications,
    write_results,
    write_table,
)
from chatsim.rules import LEGACY_24H, NEW_12H
from chatsim.sample import sample_log, sample_log_path

RULES = ["legacy-24h", "new-12h"]


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, object]:
    log = sample_log()
    ev = compare(log, [LEGACY_24H, NEW_12H])
    folder = tmp_path_factory.mktemp("results")
    write_results(folder, log, ev, pages=["rule_comparison"], windows_hours=[12.0, 24.0])
    write_table(folder, "bridge", bridge_table(ev, log))
    write_table(folder, "window_rates", window_rates(log, [12.0, 24.0], base=NEW_12H))
    return folder, log, ev


def test_round_trip_keeps_every_table_and_type(staged) -> None:
    folder, log, ev = staged
    back = read_results(folder)
    assert back.evaluation.rules == ev.rules
    assert back.evaluation.as_of == ev.as_of
    assert back.evaluation.chats.schema == ev.chats.schema  # enums and time zones kept
    assert back.evaluation.chats.equals(ev.chats) and back.evaluation.shops.equals(ev.shops)
    assert (back.evaluation.messages_used, back.evaluation.messages_after_cutoff) == (
        ev.messages_used,
        ev.messages_after_cutoff,
    )
    assert back.shops.equals(log.shops) and back.n_messages == log.n_messages
    assert back.pages == ("rule_comparison",) and back.windows_hours == (12.0, 24.0)
    assert back.table("bridge").equals(bridge_table(ev, log))
    assert back.table("what_if") is None
    assert back.evaluation.summary().equals(ev.summary())


def test_an_incomplete_or_foreign_folder_is_named(tmp_path: Path, staged) -> None:
    with pytest.raises(ReportError, match=str(tmp_path)):
        read_results(tmp_path)  # no meta.json: not (yet) complete
    folder, _, _ = staged
    other = tmp_path / "other"
    other.mkdir()
    for f in folder.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    meta = json.loads((other / "meta.json").read_text())
    (other / "meta.json").write_text(json.dumps(meta | {"version": RESULTS_VERSION + 1}))
    with pytest.raises(ReportError, match="layout version"):
        read_results(other)


def test_load_context_reads_the_staged_results_and_never_the_log(staged) -> None:
    folder, log, ev = staged
    ctx = load_context(
        log_path="/nonexistent/log", results_path=str(folder), rules=RULES, real_log=True
    )
    assert ctx.evaluation.shops.equals(ev.shops)
    assert ctx.n_messages == log.n_messages and ctx.shops.equals(log.shops)
    assert ctx.bridge().equals(bridge_table(ev, log))
    assert ctx.window_rates([12.0, 24.0]).equals(window_rates(log, [12.0, 24.0], base=NEW_12H))
    assert ctx._log is None  # nothing read the log
    assert ctx.builds_page("rule_comparison") and not ctx.builds_page("shop_drilldown")


def test_other_windows_are_computed_on_the_log(staged) -> None:
    folder, log, _ = staged
    ctx = load_context(log_path=str(sample_log_path()), results_path=str(folder), rules=RULES)
    got = ctx.window_rates([6.0])
    assert got["window_hours"].unique().to_list() == [6.0]
    assert got.equals(window_rates(log, [6.0], base=NEW_12H))


def test_a_results_folder_that_is_gone_means_evaluate_here(tmp_path: Path) -> None:
    ctx = load_context(
        log_path=str(sample_log_path()), results_path=str(tmp_path / "gone"), rules=RULES
    )
    assert ctx.results is None and ctx.builds_page("shop_drilldown")
    expected = compare(sample_log(), [LEGACY_24H, NEW_12H])
    assert ctx.evaluation.shops.equals(expected.shops)
    assert ctx.bridge().height > 0
    assert ctx.n_messages == pl.read_csv(sample_log_path() / "messages.csv").height


# ----------------------------------------------------------------------------- replications

_TINY = {
    "name": "tiny",
    "seed": 3,
    "shops": 8,
    "period": {"start": "2025-08-15", "days": 4},
    "archetypes": {"agency_247": {"share": 0.5}, "solo_weekdays": {"share": 0.5}},
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory):
    from chatsim.replications import run_replications
    from chatsim.scenario import Scenario

    sc = Scenario.from_dict(_TINY)
    rep = run_replications(sc, 3, bridge=False, what_if=False)
    folder = tmp_path_factory.mktemp("staged_reps")
    log = sample_log()
    write_results(folder, log, compare(log, [LEGACY_24H, NEW_12H]))
    write_replications(folder, rep)
    path = folder / "scenario.yaml"
    path.write_text(sc.to_yaml(), encoding="utf-8")
    return folder, path, rep


def test_staged_replications_read_back_with_the_same_figures(tiny_run, tmp_path) -> None:
    folder, _, rep = tiny_run
    back = read_results(folder).replications()
    assert back is not None
    assert (back.n, back.seeds, back.rules, back.segment_by) == (
        rep.n,
        rep.seeds,
        rep.rules,
        rep.segment_by,
    )
    for table in rep.runs:
        assert back.runs[table].equals(rep.runs[table]), table
        assert back.summary(table).equals(rep.summary(table)), table
    assert read_replications(tmp_path) is None  # a run without replications staged none
    (tmp_path / "replications").mkdir()
    (tmp_path / "replications" / "meta.json").write_text("{not json")
    with pytest.raises(ReportError, match="staged replications cannot be read"):
        read_replications(tmp_path)


def test_context_replications_use_the_staged_run_and_never_run_again(tiny_run, monkeypatch) -> None:
    import chatsim.replications as replications

    folder, scenario, rep = tiny_run

    def refuse(*a, **kw):
        raise AssertionError("replications run again")

    monkeypatch.setattr(replications, "run_replications", refuse)
    ctx = load_context(
        scenario_path=str(scenario), log_path="", results_path=str(folder), rules=RULES
    )
    got = ctx.replications(3)
    assert got is not None and got.summary("rules").equals(rep.summary("rules"))
    assert ctx.replications(1) is None  # one simulation: no intervals
    real = load_context(log_path="", results_path=str(folder), rules=RULES, real_log=True)
    assert real.replications(3) is None  # a real log: nothing to replicate
    with pytest.raises(AssertionError, match="run again"):
        ctx.replications(4)  # another number than the staged run: run here
