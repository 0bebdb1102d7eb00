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


def test_simulate_then_metrics(tmp_path, capsys):
    from pathlib import Path

    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
    out = tmp_path / "log"
    assert (
        main(
            [
                "simulate",
                str(scenario),
                "--out",
                str(out),
                "--shops",
                "12",
                "--days",
                "5",
                "--workers",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (out / "messages").glob("*.parquet"))[0].startswith("shard=")
    for table in ("shops.parquet", "holiday_mode.parquet", "blocked.parquet"):
        assert (out / table).exists()
    capsys.readouterr()
    assert main(["metrics", str(out), "--out", str(tmp_path / "s.parquet")]) == 0
    assert pl.read_parquet(tmp_path / "s.parquet").height == 2 * 12


def test_bad_scenario_in_simulate(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nshops: -3\nperiod: {start: 2025-08-01, days: 3}\n"
        "archetypes: {small_team: {share: 1}}\n"
    )
    assert main(["simulate", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "shops" in capsys.readouterr().err


def test_metrics_in_buckets_matches_in_memory(tmp_path, capsys):
    from pathlib import Path

    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
    log = tmp_path / "log"
    assert (
        main(
            [
                "simulate",
                str(scenario),
                "--out",
                str(log),
                "--shops",
                "20",
                "--days",
                "5",
                "--workers",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
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
    a = pl.read_parquet(tmp_path / "a.parquet").drop("avg_response_hours", "median_response_hours")
    b = pl.read_parquet(tmp_path / "b.parquet").drop("avg_response_hours", "median_response_hours")
    assert a.sort("rule", "shop_id").equals(b.sort("rule", "shop_id"))
    assert list((tmp_path / "chats").glob("bucket=*.parquet"))
    assert main(["metrics", str(log), "--buckets", "zero"]) == 2
    assert "--buckets" in capsys.readouterr().err
