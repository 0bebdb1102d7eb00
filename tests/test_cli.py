"""End-to-end through the command line."""

from __future__ import annotations

import subprocess
import sys

import polars as pl

from chatsim.cli import main
from chatsim.rules import NEW_12H
from chatsim.sample import sample_log_path


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
