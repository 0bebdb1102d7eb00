"""chatsim report: end to end, validation before any notebook runs, no half-written reports,
cleanup on interruption, report folders always inside the output folder."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
import yaml

import chatsim
from chatsim import report
from chatsim.cli import main
from chatsim.drilldown import DRILLDOWN_TOP, shop_anchor
from chatsim.errors import ReportError, ScenarioError
from chatsim.notebook import safe_name
from chatsim.render import count_bundles, count_charts, external_references

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def test_report_end_to_end_small(tmp_path):
    out = tmp_path / "reports"
    assert main(["report", str(BASELINE), "--out", str(out), "--small", "--quiet"]) == 0
    pages = sorted(p.name for p in (out / "baseline").glob("*.html"))
    assert pages == ["rule_comparison.html", "sensitivity.html", "shop_drilldown.html"]
    assert sorted(p.name for p in (out / "baseline").glob("*.ipynb")) == [
        "rule_comparison.ipynb",
        "sensitivity.ipynb",
        "shop_drilldown.ipynb",
    ]
    main_page = (out / "baseline" / "rule_comparison.html").read_text()
    assert count_bundles(main_page) == 1 and count_charts(main_page) >= 6
    assert external_references(main_page) == []
    for needle in (
        "Exclusions by reason",
        "holiday_mode",
        "auto_resolved",
        f"chatsim {chatsim.__version__}",
        "legacy-24h: answered within 24 h",
        "seed 20250815",
        "messages",
        "How sure are we?",
        "A single simulation (or a real log): no intervals",
        "Within noise of both targets",
    ):
        assert needle in main_page, needle
    index = (out / "index.html").read_text()
    assert "baseline/rule_comparison.html" in index
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]
    # every page is trimmed to the CSS it uses (the whole JupyterLab sheet is ~255 KB)
    for page in (out / "baseline").glob("*.html"):
        text = page.read_text()
        css = sum(len(m) for m in re.findall(r"<style\b[^>]*>(.*?)</style>", text, re.S))
        assert css < 40_000, (page.name, css)
        assert ".jp-Toolbar" not in text and "--jp-icon-" not in text
    # the index says what each page answers, with its headline numbers
    assert "Which shops meet the old and the new rule" in index
    assert "How does the share of shops passing change" in index
    assert "Why do the shops that lose the most miss the new rule?" in index
    assert "<li>Meet new-12h: <b>" in index and "<li>Lose status: <b>" in index
    assert yaml.safe_load(BASELINE.read_text())["description"].split()[0] in index


def _linked_shops(page: str) -> dict[str, str]:
    """shop id -> href of the links in the table of shops losing status."""
    table = page[max(0, page.index("shops_losing_status.csv") - 200_000) :]
    return dict(
        (text, href)
        for href, text in re.findall(r'<a href="(shop_drilldown\.html#[^"]+)">([^<]+)</a>', table)
    )


def losers_of(page: str) -> list[str]:
    """The shop ids in the first column of the table of shops losing status."""
    start = page.index("Shops that lose status under the new rule")
    table = page[start : page.index("</table>", start)]
    return re.findall(r"<tr><td(?: class=\"?txt\"?)?>(?:<a [^>]*>)?([^<]+)", table)


def test_losers_link_to_their_drilldown_sections(tmp_path):
    out = tmp_path / "reports"
    timings: dict[str, float] = {}
    paths = report.build_reports(BASELINE, out_dir=out, small=True, progress=False, timings=timings)
    main_page, _, drill = (p.read_text() for p in paths)
    links = _linked_shops(main_page)
    anchors = set(re.findall(r'<h2 [^>]*\bid="(shop-[^"]+)"', drill))
    assert links and len(links) <= DRILLDOWN_TOP + 1  # the top losers (and the named shop)
    targets = {href.split("#")[1] for href in links.values()}
    assert targets <= anchors  # no dead link
    drilled_losers = {a for a in anchors if a in {shop_anchor(s) for s in losers_of(main_page)}}
    assert targets == drilled_losers  # every drilled shop of the table is linked
    for shop, href in links.items():
        assert href == f"shop_drilldown.html#{shop_anchor(shop)}"
    assert set(links) <= set(losers_of(main_page))
    stages = {"simulate", "evaluate", "stage results", "bridge", "window_rates", "total"}
    assert stages <= set(timings)
    for nb in ("rule_comparison", "sensitivity", "shop_drilldown"):
        assert timings[f"notebook {nb}"] > 0 and timings[f"html {nb}"] > 0


def test_without_the_drilldown_page_no_shop_is_linked(tmp_path):
    out = tmp_path / "reports"
    (page,) = report.build_reports(
        BASELINE, out_dir=out, small=True, progress=False, notebooks=["rule_comparison"]
    )
    assert "shops_losing_status.csv" in page.read_text()
    assert "shop_drilldown.html" not in page.read_text()


BAD = [
    ({"shopz": 10}, "shopz"),
    ({"shops": -5}, "shops"),
    ({"archetypes": {"solo_weekdays": {"share": 1.0, "timezone": "Mars/Olympus"}}}, "timezone"),
    ({"analysis": {"targets": [0.8, 1.2]}}, "analysis.targets"),
]


@pytest.mark.parametrize("change, key", BAD)
def test_bad_scenario_fails_before_any_notebook_runs(tmp_path, monkeypatch, change, key, capsys):
    data = yaml.safe_load(BASELINE.read_text())
    if "archetypes" in change:
        data["archetypes"] = change["archetypes"]
    else:
        data.update(change) if "analysis" not in change else data["analysis"].update(
            change["analysis"]
        )
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    ran = []
    monkeypatch.setattr(report, "_run_notebook", lambda *a, **k: ran.append(a))
    with pytest.raises(ScenarioError, match=key):
        report.build_reports(bad, out_dir=tmp_path / "r", progress=False)
    assert ran == []
    assert main(["report", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert key in capsys.readouterr().err
    assert not (tmp_path / "r" / "baseline").exists()


def test_failing_notebook_names_the_cell_and_leaves_nothing(tmp_path):
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    for name, src in (
        ("rule_comparison", "x = 1"),
        ("sensitivity", "raise ValueError('broken on purpose')"),
    ):
        nb = nbformat.v4.new_notebook(
            metadata={
                "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}
            }
        )
        params = nbformat.v4.new_code_cell("log_path = ''")
        params.metadata["tags"] = ["parameters"]
        nb.cells = [params, nbformat.v4.new_code_cell(src)]
        nbformat.write(nb, nbdir / f"{name}.ipynb")
    out = tmp_path / "reports"
    with pytest.raises(
        ReportError,
        match=r"sensitivity.ipynb failed in cell \d+ \(`raise ValueError.*broken on purpose",
    ):
        report.build_reports(BASELINE, out_dir=out, small=True, notebooks_dir=nbdir, progress=False)
    assert not (out / "baseline").exists()
    assert [p.name for p in out.iterdir()] == []


def test_parameters_come_from_the_scenario():
    p = report.notebook_parameters(BASELINE, log_path="/tmp/x")
    sc = yaml.safe_load(BASELINE.read_text())
    assert p["rules"] == sc["analysis"]["rules"]
    assert p["targets"] == pytest.approx(sc["analysis"]["targets"])
    assert p["windows_hours"] == pytest.approx(sc["analysis"]["windows_hours"])
    assert p["drilldown_shop"] == sc["analysis"]["drilldown_shop"]
    assert p["replications"] == sc["analysis"].get("replications", 1) == 1
    json.dumps(p)  # plain values only


def test_replications_parameter_defaults_to_the_scenario_and_is_checked(tmp_path):
    from chatsim.scenario import MAX_REPLICATIONS, load_scenario

    sc = load_scenario(BASELINE)
    twenty = dataclasses.replace(sc, analysis=dataclasses.replace(sc.analysis, replications=20))
    assert report.notebook_parameters(twenty)["replications"] == 20
    assert report.notebook_parameters(sc, replications=7)["replications"] == 7
    assert report.notebook_parameters(sc, replications=7, real_log=True)["replications"] == 1
    for bad in (0, MAX_REPLICATIONS + 1, 2.5, True, "3"):
        with pytest.raises(ReportError, match="replications must be a whole number from 1 to"):
            report.notebook_parameters(sc, replications=bad)
    with pytest.raises(ReportError, match="real log"):
        report.build_reports(
            BASELINE, log=BASELINE, out_dir=tmp_path / "r", progress=False, replications=3
        )
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_replications_run_once_per_report_and_reach_both_pages(tmp_path, monkeypatch):
    import chatsim.replications as replications

    calls: list[int] = []
    real = replications.run_replications

    def counted(sc, n=None, **kw):
        calls.append(n)
        return real(sc, n, **kw)

    monkeypatch.setattr(replications, "run_replications", counted)
    out = tmp_path / "reports"
    timings: dict[str, float] = {}
    main_page, sens = report.build_reports(
        BASELINE,
        out_dir=out,
        small=True,
        progress=False,
        replications=3,
        notebooks=["rule_comparison", "sensitivity"],
        timings=timings,
    )
    assert calls == [3] and timings["replications"] > 0  # once, in the runner
    for page in ("rule_comparison", "sensitivity"):
        node = nbformat.read(out / "baseline" / f"{page}.ipynb", as_version=4)
        injected = [c for c in node.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert "replications = 3" in injected[0].source
    text = main_page.read_text()
    section = text[text.index("How sure are we?") : text.index("From the old rule to the new")]
    assert re.search(r"\d+\.\d–\d+\.\d %", section)  # ranges in the key numbers
    assert "over 3 replications" in section and "These figures come from 3 simulations" in section
    assert count_charts(section) == 5  # shares, flips, seller types, bridge, what-ifs
    assert "Within noise of both targets" in text  # the losers table's mark
    sens_text = sens.read_text()
    section = sens_text[sens_text.index("How sure are we?") :]
    assert count_charts(section[: section.index("The whole grid")]) == 1


def test_unknown_notebook_named(tmp_path):
    with pytest.raises(ReportError, match="no notebook"):
        report.build_reports(BASELINE, out_dir=tmp_path, notebooks=["nope"], progress=False)


def test_report_on_a_real_log(tmp_path):
    from chatsim.sample import sample_log_path

    out = tmp_path / "reports"
    paths = report.build_reports(BASELINE, log=sample_log_path(), out_dir=out, progress=False)
    assert [p.name for p in paths] == [
        "rule_comparison.html",
        "sensitivity.html",
        "shop_drilldown.html",
    ]
    page = paths[0].read_text()
    assert "chat log" in page and "sample_log" in page
    assert "No what-if variants for this run" in page
    assert "shop_b" in paths[2].read_text()  # the drill-down picks a shop of the log


def test_bad_real_log_fails_before_notebooks(tmp_path, monkeypatch):
    from chatsim.errors import SchemaError

    bad = tmp_path / "messages.csv"
    bad.write_text("message_id,shop_id\n1,s\n")
    monkeypatch.setattr(report, "_run_notebook", lambda *a, **k: pytest.fail("a notebook ran"))
    with pytest.raises(SchemaError, match="missing required column"):
        report.build_reports(BASELINE, log=bad, out_dir=tmp_path / "r", progress=False)


# --------------------------------------------------------------------------- interruption


def _tiny_notebooks(folder: Path) -> Path:
    """One notebook that only takes its parameters: a report run of about a second."""
    folder.mkdir()
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "P"}}
    )
    params = nbformat.v4.new_code_cell("log_path = ''")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(log_path)")]
    nbformat.write(nb, folder / "rule_comparison.ipynb")
    return folder


def _start_report(out: Path) -> tuple[subprocess.Popen, Path]:
    log = out.parent / "report.log"
    handle = log.open("w")
    cmd = [sys.executable, "-m", "chatsim.cli", "report", str(BASELINE), "--small"]
    proc = subprocess.Popen([*cmd, "--out", str(out)], stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    return proc, log


def _wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            proc.wait()
            pytest.fail(f"the report run ended or stalled before {what}")
        time.sleep(0.2)


def _previous_report(out: Path) -> dict[Path, str]:
    (out / "baseline").mkdir(parents=True)
    files = {
        out / "baseline" / "rule_comparison.html": "<p>previous complete report</p>",
        out / "index.html": "<p>previous index</p>",
    }
    for path, text in files.items():
        path.write_text(text)
    return files


def _stagings(out: Path) -> list[Path]:
    return sorted(out.glob(f"{report.STAGING_PREFIX}*"))


def test_sigterm_mid_run_removes_staging_and_keeps_the_previous_report(tmp_path):
    out = tmp_path / "reports"
    previous = _previous_report(out)
    proc, log = _start_report(out)
    _wait_for(lambda: "[1/3] running" in log.read_text(), proc, "the first notebook")
    time.sleep(2.0)  # inside the notebook's execution
    assert _stagings(out), "the run should be working in a staging folder"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert _stagings(out) == []
    for path, text in previous.items():
        assert path.read_text() == text
    assert sorted(p.name for p in (out / "baseline").iterdir()) == ["rule_comparison.html"]
    assert "interrupted; no report written" in log.read_text()


def test_sigkill_leaves_staging_that_the_next_run_removes(tmp_path):
    from chatsim.sample import sample_log_path

    out = tmp_path / "reports"
    proc, _ = _start_report(out)
    _wait_for(
        lambda: any((s / report.STAGING_OWNER_FILE).exists() for s in _stagings(out)),
        proc,
        "its staging folder",
    )
    proc.kill()
    proc.wait(timeout=30)
    (stale,) = _stagings(out)
    owner = json.loads((stale / report.STAGING_OWNER_FILE).read_text())
    assert owner["pid"] == proc.pid

    report.build_reports(
        BASELINE,
        log=sample_log_path(),
        out_dir=out,
        notebooks_dir=_tiny_notebooks(tmp_path / "nbs"),
        progress=False,
    )
    assert _stagings(out) == []
    assert (out / "baseline-sample_log" / "rule_comparison.html").is_file()


def _staging_owned_by(out: Path, name: str, pid: int, started: float, **extra) -> Path:
    folder = out / f"{report.STAGING_PREFIX}{name}"
    folder.mkdir(parents=True)
    owner = {"pid": pid, "process_started": started, "host": socket.gethostname()}
    (folder / report.STAGING_OWNER_FILE).write_text(json.dumps(owner | extra))
    (folder / "rule_comparison.ipynb").write_text("{}")
    return folder


def test_staging_of_a_live_process_is_kept(tmp_path):
    from chatsim.sample import sample_log_path

    out = tmp_path / "reports"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        started = psutil.Process(sleeper.pid).create_time()
        live = _staging_owned_by(out, "live", sleeper.pid, started)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        gone = _staging_owned_by(out, "gone", dead.pid, time.time() - 5)
        reused = _staging_owned_by(out, "reused", os.getpid(), time.time() - 10**6)
        fresh_unowned = out / f"{report.STAGING_PREFIX}starting"
        fresh_unowned.mkdir()
        old_unowned = out / f"{report.STAGING_PREFIX}old"
        old_unowned.mkdir()
        os.utime(old_unowned, (time.time() - 3600, time.time() - 3600))

        report.build_reports(
            BASELINE,
            log=sample_log_path(),
            out_dir=out,
            notebooks_dir=_tiny_notebooks(tmp_path / "nbs"),
            progress=False,
        )
        assert _stagings(out) == sorted([live, fresh_unowned])
        assert (live / "rule_comparison.ipynb").exists()
        assert not gone.exists() and not reused.exists() and not old_unowned.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert report.sweep_stale_staging(out, now=time.time() + 3600) == sorted([live, fresh_unowned])


def test_termination_handlers_are_restored(tmp_path):
    from chatsim.sample import sample_log_path

    before = signal.getsignal(signal.SIGTERM)
    report.build_reports(
        BASELINE,
        log=sample_log_path(),
        out_dir=tmp_path / "r",
        notebooks_dir=_tiny_notebooks(tmp_path / "nbs"),
        progress=False,
    )
    assert signal.getsignal(signal.SIGTERM) is before


# --------------------------------------------------------------------------- folder names

HOSTILE_NAMES = [
    "..",
    ".",
    "....",
    "../../outside",
    "a/../../b",
    "..\\..\\outside",
    "/tmp/absolute",
    "nul\x00byte",
    "x" * 300,
    "é" * 200,
    ".hidden",
    "con",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_report_folder_is_always_one_folder_inside_out(tmp_path, monkeypatch, name):
    import chatsim.simulate
    from chatsim.report_kernels import KernelPool
    from chatsim.sample import sample_log

    data = yaml.safe_load(BASELINE.read_text())
    data["name"] = name
    sc = tmp_path / "scenario.yaml"
    sc.write_text(yaml.safe_dump(data))

    def fake_run(nb, params, *, km, timeout):
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x")])

    monkeypatch.setattr(report, "_run_notebook", fake_run)
    monkeypatch.setattr(chatsim.simulate, "simulate", lambda sc, **k: sample_log())
    monkeypatch.setattr(KernelPool, "_start_kernel", lambda self, **k: None)  # no kernels
    work = tmp_path / "work"
    out = work / "reports"
    paths = report.build_reports(sc, out_dir=out, progress=False)
    real_out = out.resolve()
    assert paths and all(p.resolve().parent.parent == real_out for p in paths)
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    assert folder.name == safe_name(name)
    assert not folder.name.startswith(".") and len(folder.name.encode()) <= 100
    assert sorted(p.name for p in work.iterdir()) == ["reports"]  # nothing beside --out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.yaml", "work"]


def test_long_names_stay_distinct():
    assert safe_name("x" * 300) != safe_name("x" * 301)


def test_report_folder_that_resolves_outside_out_is_refused(tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (out / "baseline").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ReportError, match="outside the output folder"):
        report.report_folder(out, "baseline")
    assert report.report_folder(out, "..") == out / "__"


# --------------------------------------------------------------------------- page selection

ROLLOUT = ROOT / "scenarios" / "rollout.yaml"


def test_report_pages_follow_the_scenario_and_the_flags():
    from chatsim.scenario import load_scenario

    base = load_scenario(BASELINE)
    always = ("rule_comparison", "sensitivity", "shop_drilldown")
    assert report.report_pages(base) == always
    assert report.report_pages(load_scenario(ROLLOUT)) == (*always, "rollout")
    assert report.report_pages(base, real_log=True, fit=True) == (*always, "calibration")
    peers = dataclasses.replace(base, analysis=dataclasses.replace(base.analysis, peers=("x",)))
    assert report.report_pages(peers) == (*always, "peers")
    with pytest.raises(ReportError, match="give the log with --log LOG"):
        report.report_pages(base, fit=True)


def test_a_page_the_run_does_not_build_names_what_to_set(tmp_path, monkeypatch, capsys):
    from chatsim.scenario import load_scenario

    pages = report.report_pages(load_scenario(BASELINE))
    assert [p.stem for p in report.report_notebooks(pages=pages)][:3] == list(pages)
    assert "rollout" not in [p.stem for p in report.report_notebooks(pages=pages)]
    with pytest.raises(ReportError, match=r"rollout: this run does not build it.*rollout: true"):
        report.report_notebooks(only=["rollout"], pages=pages)
    monkeypatch.setattr(report, "_run_notebook", lambda *a, **k: pytest.fail("a notebook ran"))
    with pytest.raises(ReportError, match="analysis: rollout: true"):
        report.build_reports(
            BASELINE, out_dir=tmp_path / "r", notebooks=["rollout"], progress=False
        )
    assert main(["report", str(BASELINE), "--fit", "--out", str(tmp_path / "r")]) == 2
    assert "--fit fits a scenario to a real log" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def _fake_run(ran: list[tuple[str, dict]], check=None):
    def run(nb, params, *, km, timeout):
        ran.append((nb.stem, dict(params)))
        if check is not None:
            check(nb.stem, params)
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(nb.stem)])

    return run


def _no_kernels(monkeypatch):
    from chatsim.report_kernels import KernelPool

    monkeypatch.setattr(KernelPool, "_start_kernel", lambda self, **k: None)


def test_only_a_rollout_run_stages_the_daily_table(tmp_path, monkeypatch):
    import chatsim.simulate
    from chatsim.sample import sample_log

    staged: dict[str, bool] = {}

    def check(stem, params):
        staged[stem] = (Path(params["results_path"]) / "daily.arrow").is_file()

    for scenario in (BASELINE, ROLLOUT):
        ran: list[tuple[str, dict]] = []
        monkeypatch.setattr(report, "_run_notebook", _fake_run(ran, check))
        monkeypatch.setattr(chatsim.simulate, "simulate", lambda sc, **k: sample_log())
        _no_kernels(monkeypatch)
        timings: dict[str, float] = {}
        paths = report.build_reports(
            scenario, out_dir=tmp_path / "r", small=True, progress=False, timings=timings
        )
        names = [p.stem for p in paths]
        if scenario == BASELINE:
            assert names == ["rule_comparison", "sensitivity", "shop_drilldown"]
            assert "daily" not in timings  # the baseline report does no daily work
        else:
            assert names == ["rule_comparison", "sensitivity", "shop_drilldown", "rollout"]
            assert timings["daily"] > 0 and staged["rollout"]  # staged before the page ran
        assert {stem for stem, _ in ran} == set(names)
        assert all(p["twin_path"] == "" for _, p in ran)


def test_fit_stages_a_twin_for_every_page_and_keeps_it(tmp_path, monkeypatch):
    from chatsim.notebook import prepare_log
    from chatsim.scenario import load_scenario

    real = prepare_log(str(BASELINE), "", shops=12, days=8)  # stands for a real log
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    for name in ("rule_comparison", "calibration", "rollout"):
        nbformat.write(nbformat.v4.new_notebook(), nbdir / f"{name}.ipynb")
    seen: dict[str, str] = {}

    def check(stem, params):
        assert Path(params["twin_path"]).is_file()  # there while the notebooks run
        seen[stem] = params["twin_path"]

    ran: list[tuple[str, dict]] = []
    monkeypatch.setattr(report, "_run_notebook", _fake_run(ran, check))
    _no_kernels(monkeypatch)
    timings: dict[str, float] = {}
    out = tmp_path / "r"
    paths = report.build_reports(
        BASELINE,
        log=real,
        fit=True,
        out_dir=out,
        notebooks_dir=nbdir,
        progress=False,
        timings=timings,
    )
    assert [p.stem for p in paths] == ["rule_comparison", "calibration"]  # no rollout asked
    assert set(seen) == {"rule_comparison", "calibration"} and len(set(seen.values())) == 1
    assert timings["fit"] > 0
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    twin = load_scenario(folder / "twin.yaml")
    assert twin.shops == 12
    assert not list(out.glob(".staging-*"))
