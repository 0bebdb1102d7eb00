"""End-to-end through the command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import polars as pl
import pytest

from chatsim.cli import build_parser, main
from chatsim.rules import NEW_12H
from chatsim.sample import sample_log_path
from tests.conftest import BASELINE


def test_metrics_on_sample_log_writes_shop_table(tmp_path, capsys):
    out = tmp_path / "shops.parquet"
    chats = tmp_path / "chats.csv"
    assert (
        main(["metrics", str(sample_log_path()), "--out", str(out), "--chats-out", str(chats)]) == 0
    )
    printed = capsys.readouterr().out
    assert "legacy-24h" in printed and "new-12h" in printed and "ex:holiday" in printed
    shops = pl.read_parquet(out)
    assert sorted(shops["rule"].unique()) == ["legacy-24h", "new-12h"]
    assert shops.height == 8
    assert pl.read_csv(chats).height > 0


def test_metrics_with_rule_file_and_as_of(tmp_path, capsys):
    rule = tmp_path / "r6.yaml"
    NEW_12H.replace(name="new-6h", window_hours=6).to_yaml(rule)
    out = tmp_path / "s.csv"
    code = main(
        [
            "metrics",
            str(sample_log_path()),
            "--rule",
            str(rule),
            "--rule",
            "new-12h",
            "--as-of",
            "2025-08-20T00:00:00Z",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "after the cutoff ignored" in text
    assert set(pl.read_csv(out)["rule"]) == {"new-6h", "new-12h"}


def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "messages.csv"
    bad.write_text("message_id,shop_id\n1,s\n")
    assert main(["metrics", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chatsim: error:") and "missing required column" in err
    assert main(["metrics", str(sample_log_path()), "--rule", "old-48h"]) == 2
    assert "unknown built-in rule" in capsys.readouterr().err


def test_console_script_runs():
    r = subprocess.run(
        [sys.executable, "-m", "chatsim.cli", "rules"], capture_output=True, text=True
    )
    assert r.returncode == 0 and "new-12h" in r.stdout


def test_simulate_then_metrics(simulated_log, tmp_path, capsys):
    out = simulated_log(shops=20, days=5)  # chatsim simulate ... --shops 20 --days 5
    assert sorted(p.name for p in (out / "messages").glob("*.parquet"))[0].startswith("shard=")
    for table in ("shops.parquet", "holiday_mode.parquet", "blocked.parquet"):
        assert (out / table).exists()
    capsys.readouterr()
    assert main(["metrics", str(out), "--out", str(tmp_path / "s.parquet")]) == 0
    assert pl.read_parquet(tmp_path / "s.parquet").height == 2 * 20


def test_bad_scenario_in_simulate(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nshops: -3\nperiod: {start: 2025-08-01, days: 3}\n"
        "archetypes: {small_team: {share: 1}}\n"
    )
    assert main(["simulate", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "shops" in capsys.readouterr().err


def test_metrics_in_buckets_matches_in_memory(simulated_log, tmp_path, capsys):
    log = simulated_log(shops=20, days=5)
    assert main(["metrics", str(log), "--out", str(tmp_path / "a.parquet")]) == 0
    assert (
        main(
            [
                "metrics",
                str(log),
                "--buckets",
                "3",
                "--out",
                str(tmp_path / "b.parquet"),
                "--chats-out",
                str(tmp_path / "chats"),
            ]
        )
        == 0
    )
    assert main(["metrics", str(log), "--engine", "buckets", "--out", str(tmp_path / "c.pq")]) == 0
    a = pl.read_parquet(tmp_path / "a.parquet").drop("avg_response_hours", "median_response_hours")
    for other in ("b.parquet", "c.pq"):
        b = pl.read_parquet(tmp_path / other).drop("avg_response_hours", "median_response_hours")
        assert a.sort("rule", "shop_id").equals(b.sort("rule", "shop_id")), other
    assert list((tmp_path / "chats").glob("bucket=*.parquet"))
    assert main(["metrics", str(log), "--buckets", "zero"]) == 2
    assert "--buckets" in capsys.readouterr().err


def test_engines_and_their_options_by_name(capsys):
    log = str(sample_log_path())
    assert main(["metrics", log, "--engine", "dask"]) == 2
    err = capsys.readouterr().err
    assert "unknown engine 'dask'" in err and "buckets, polars, spark" in err
    # a flag of another engine is named, with the engine that takes it
    assert main(["metrics", log, "--engine", "spark", "--buckets", "2"]) == 2
    err = capsys.readouterr().err
    assert "spark engine takes no option 'buckets'" in err and "buckets engine" in err
    assert main(["metrics", log, "--memory-budget", "1"]) == 2
    assert "polars engine takes no option 'memory_budget_gb'" in capsys.readouterr().err


def _imported_by(code: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    report = "print('MODULES', *sys.modules, file=sys.stderr)"
    r = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\n{report}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(r.stderr.split("MODULES", 1)[1].split())


HEAVY = {"numba", "altair", "papermill", "pyspark", "chatsim.scenario", "chatsim.simulate"}


def test_command_line_starts_light():
    helped = _imported_by(
        "from chatsim.cli import build_parser\n"
        "try:\n    build_parser().parse_args(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert not helped & (HEAVY | {"polars", "numpy", "narwhals", "chatsim.metrics"})
    ran = _imported_by(
        f"from chatsim.cli import main\nmain(['metrics', {str(sample_log_path())!r}])"
    )
    assert "chatsim.metrics" in ran
    assert not ran & (HEAVY | {"chatsim.scale", "chatsim.spark"})


# --------------------------------------------------------------------------------------
# Flags, outputs and file-system errors: one line, exit 2, before any work (issues 13, 14)
# --------------------------------------------------------------------------------------


def _one_error_line(capsys, *needles: str) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_every_numeric_flag_refuses_zero_and_negatives(tmp_path, capsys):
    scenario = str(BASELINE)
    log = str(sample_log_path())
    cases = [
        (["simulate", scenario, "--out", str(tmp_path / "o"), "--shops"], "--shops"),
        (["simulate", scenario, "--out", str(tmp_path / "o"), "--days"], "--days"),
        (["simulate", scenario, "--out", str(tmp_path / "o"), "--workers"], "--workers"),
        (["report", scenario, "--out", str(tmp_path / "r"), "--shops"], "--shops"),
        (["report", scenario, "--out", str(tmp_path / "r"), "--days"], "--days"),
        (["metrics", log, "--buckets"], "--buckets"),
        (["metrics", log, "--memory-budget"], "--memory-budget"),
    ]
    for args, flag in cases:
        for value in ("0", "-3", "x"):
            assert main([*args, value]) == 2, (args, value)
            _one_error_line(capsys, flag, repr(value))
    for value in ("nan", "inf"):
        assert main(["metrics", log, "--memory-budget", value]) == 2
        _one_error_line(capsys, "--memory-budget")
    assert not (tmp_path / "o").exists() and not (tmp_path / "r").exists()


def test_chats_out_without_out_writes_the_chats(tmp_path, capsys):
    chats = tmp_path / "chats.parquet"
    assert main(["metrics", str(sample_log_path()), "--chats-out", str(chats)]) == 0
    assert pl.read_parquet(chats).height > 0
    assert f"chat table: {chats}" in capsys.readouterr().out


def test_outputs_are_checked_before_any_work(tmp_path, capsys):
    log = str(sample_log_path())
    for flag, name in (("--out", "shops.xlsx"), ("--chats-out", "chats"), ("--out", "shops")):
        assert main(["metrics", log, flag, str(tmp_path / name)]) == 2
        _one_error_line(capsys, flag, name, ".parquet or .csv")
        assert capsys.readouterr().out == ""  # refused before computing anything
    (tmp_path / "adir.csv").mkdir()
    assert main(["metrics", log, "--out", str(tmp_path / "adir.csv")]) == 2
    _one_error_line(capsys, "adir.csv", "is a folder")
    (tmp_path / "afile").write_text("x")
    assert main(["metrics", log, "--out", str(tmp_path / "afile" / "s.csv")]) == 2
    _one_error_line(capsys, "afile", "is a file, not a folder")
    assert main(["simulate", str(BASELINE), "--out", str(tmp_path / "afile")]) == 2
    _one_error_line(capsys, "afile", "is a file, not a folder")
    assert main(["report", str(BASELINE), "--out", str(tmp_path / "afile" / "r")]) == 2
    _one_error_line(capsys, "afile", "is a file")
    assert main(["simulate", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    _one_error_line(capsys, str(tmp_path), "is a folder; give a scenario YAML file")
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    _one_error_line(capsys, "is a folder; give a scenario YAML file")
    # the buckets engine writes chats as a folder of Parquet files: a file name is refused
    assert main(["metrics", log, "--buckets", "2", "--chats-out", str(tmp_path / "c.csv")]) == 2
    _one_error_line(capsys, "c.csv", "folder of Parquet files")
    assert not (tmp_path / "c.csv").exists()


def test_read_only_output_folder(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running with rights that ignore folder permissions")
        log = str(sample_log_path())
        assert main(["metrics", log, "--out", str(ro / "s.csv")]) == 2
        _one_error_line(capsys, str(ro), "cannot write into")
        assert main(["simulate", str(BASELINE), "--out", str(ro / "sim")]) == 2
        _one_error_line(capsys, str(ro), "cannot write into")
        assert main(["report", str(BASELINE), "--out", str(ro)]) == 2
        _one_error_line(capsys, str(ro), "cannot write into")
    finally:
        ro.chmod(0o755)


def test_file_system_errors_during_work_name_the_path(tmp_path, capsys, monkeypatch):
    import chatsim.schema

    def refuse(df, path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(chatsim.schema, "write_table", refuse)
    out = tmp_path / "s.parquet"
    assert main(["metrics", str(sample_log_path()), "--out", str(out)]) == 2
    _one_error_line(capsys, f"chatsim: error: {out}: Permission denied")


def test_as_of_lower_case_z_and_summary_wording(tmp_path, capsys):
    log = str(sample_log_path())
    assert main(["metrics", log, "--as-of", "2025-08-20t00:00:00z"]) == 0
    upper = capsys.readouterr().out
    assert "shops rated" in upper and "up to 2025-08-20 00:00 UTC" in upper
    assert main(["metrics", log, "--as-of", "2025-08-20T00:00:00Z"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == upper.splitlines()[1:]
    assert main(["metrics", log, "--as-of", "2025-08-20T00:00:00"]) == 2
    _one_error_line(capsys, "--as-of", "no time zone")


def test_duplicate_ids_tell_cli_users_about_the_flag(tmp_path, capsys):
    log = tmp_path / "dup"
    shutil.copytree(sample_log_path(), log)
    lines = (log / "messages.csv").read_text().splitlines()
    (log / "messages.csv").write_text("\n".join([*lines, lines[1]]) + "\n")
    for extra in ([], ["--buckets", "2"]):
        assert main(["metrics", str(log), *extra]) == 2
        line = _one_error_line(capsys, "share a message id", "rerun with --lenient")
        assert "lenient=True" not in line
        assert main(["metrics", str(log), "--lenient", *extra]) == 0
        captured = capsys.readouterr()
        assert "'duplicate message_id': 1" in captured.err


def test_ctrl_c_is_one_line_and_status_130(monkeypatch, capsys) -> None:
    import chatsim.cli as cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_rules", interrupted)
    assert cli.main(["rules"]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted" in err and "Traceback" not in err


def test_progress_is_shown_where_an_engine_has_it_and_named_where_not(capsys):
    log = str(sample_log_path())
    assert main(["metrics", log, "--progress"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "chatsim: note: --progress applies to the buckets and spark engines; the polars "
        "engine shows no progress."
    ]
    assert main(["metrics", log, "--buckets", "2"]) == 0
    assert "msg" not in capsys.readouterr().err  # not a terminal: no bar unless asked
    assert main(["metrics", log, "--buckets", "2", "--progress"]) == 0
    assert "metrics" in capsys.readouterr().err  # the bar, asked for


def test_fit_writes_a_scenario_that_loads_and_simulates(simulated_log, tmp_path, capsys):
    """`chatsim fit` end to end: the fitted YAML loads as a scenario of the log's shops and
    names where each value came from."""
    from chatsim.scenario import load_scenario

    log = simulated_log(shops=20, days=14)
    out = tmp_path / "fitted.yaml"
    assert main(["fit", str(log), "--out", str(out), "--seed", "3"]) == 0
    said = capsys.readouterr().out
    assert "fitted" in said and str(out) in said
    sc = load_scenario(out)
    assert sc.shops == 20
    assert "fitted from" in out.read_text() or "default" in out.read_text()
    again = tmp_path / "sim"
    assert main(["simulate", str(out), "--out", str(again), "--workers", "1", "--quiet"]) == 0


def test_fit_refuses_bad_input_in_one_line(simulated_log, tmp_path, capsys):
    log = simulated_log(shops=20, days=14)
    assert main(["fit", str(log), "--out", str(tmp_path / "x.csv")]) == 2
    assert "name a .yaml file" in capsys.readouterr().err
    assert main(["fit", str(log), "--out", str(tmp_path / "x.yaml"), "--by", "no_such"]) == 2
    err = capsys.readouterr().err
    assert "no_such" in err and "Traceback" not in err
    assert not (tmp_path / "x.yaml").exists()


def test_report_replications_flag_is_bounded(capsys):
    assert main(["report", "scenarios/baseline.yaml", "--replications", "0"]) == 2
    assert "from 1 to 1000" in capsys.readouterr().err
    args = build_parser().parse_args(["report", "scenarios/baseline.yaml", "--replications", "7"])
    assert args.replications == 7


def test_metrics_daily_writes_one_row_per_day_rule_and_shop(tmp_path, capsys):
    from chatsim.daily import compare_daily
    from chatsim.sample import sample_log

    out = tmp_path / "daily.parquet"
    args = ["metrics", str(sample_log_path()), "--daily", "2025-09-12..2025-09-14"]
    assert main([*args, "--zone", "UTC", "--out", str(out)]) == 0
    assert "3 day(s) from 2025-09-12 to 2025-09-14, day ends in UTC" in capsys.readouterr().out
    daily = pl.read_parquet(out)
    assert daily.height == 3 * 2 * 4  # days x rules x shops
    want = compare_daily(sample_log(), start="2025-09-12", end="2025-09-14", zone="UTC")
    assert daily.equals(want)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--daily", "2025-09-14..2025-09-12"], "the end is before the start"),
        (["--daily", "2025-09-12"], "is not a date range; give START..END"),
        (["--daily", "2025-02-30..2025-03-01"], "is not a date range"),
        (["--daily", "2025-09-12..2025-09-14", "--zone", "Mars/Olympus"], "not a known time zone"),
        (["--daily", "2025-09-12..2025-09-14", "--as-of", "2025-09-14T00:00:00Z"], "drop --as-of"),
        (["--zone", "UTC"], "--zone applies with --daily"),
    ],
)
def test_metrics_daily_bad_flags_are_one_line(flags, message, capsys):
    assert main(["metrics", str(sample_log_path()), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
