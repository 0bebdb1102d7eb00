"""The daily shop table bucket by bucket (chatsim.scale.daily) equals the in-memory one."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from chatsim.daily import compare_daily
from chatsim.errors import RuleError
from chatsim.rules import LEGACY_24H, NEW_12H
from chatsim.sample import sample_log_path
from chatsim.scale.daily import compare_daily_dataset
from chatsim.schema import read_log

RULES = [LEGACY_24H, NEW_12H, NEW_12H.replace(name="week", period_days=7, window_hours=6)]


@pytest.fixture(scope="module")
def sim_log(simulated_log) -> Path:
    return simulated_log(shops=100, days=10)


def _days(log: Path) -> tuple[dt.date, dt.date]:
    last = read_log(log).messages["sent_at"].max().date()  # type: ignore[union-attr]
    return last - dt.timedelta(days=5), last


@pytest.mark.parametrize(
    ("options", "zone"),
    [({}, None), ({"buckets": 3, "workers": 2}, None), ({"memory_budget_gb": 0.001}, "UTC")],
)
def test_buckets_give_the_in_memory_daily_table(sim_log, tmp_path, options, zone):
    start, end = _days(sim_log)
    want = compare_daily(read_log(sim_log), RULES, start=start, end=end, zone=zone)
    got = compare_daily_dataset(
        sim_log, RULES, start=start, end=end, zone=zone, work_dir=tmp_path, **options
    )
    assert_frame_equal(got, want)


def test_shops_without_messages_get_rows_every_day(sim_log, tmp_path):
    log = tmp_path / "log"
    shutil.copytree(sim_log, log)
    shops = pl.read_parquet(log / "shops.parquet")
    extra = shops.head(1).with_columns(pl.Series("shop_id", ["zz_quiet"]))
    pl.concat([shops, extra]).write_parquet(log / "shops.parquet")
    start, end = _days(log)
    got = compare_daily_dataset(log, [NEW_12H], start=start, end=end, buckets=2, work_dir=tmp_path)
    quiet = got.filter(pl.col("shop_id") == "zz_quiet")
    assert quiet.height == 6 and quiet["response_rate"].null_count() == 6
    want = compare_daily(read_log(log), [NEW_12H], start=start, end=end)
    assert_frame_equal(got, want)


def test_the_range_is_checked_before_reading():
    with pytest.raises(RuleError, match="before the start"):
        compare_daily_dataset(sample_log_path(), start="2025-09-12", end="2025-09-01")


def test_the_command_runs_daily_bucket_by_bucket(sim_log, tmp_path, capsys):
    from chatsim.cli import main

    start, end = _days(sim_log)
    out = tmp_path / "daily.parquet"
    days = f"{start}..{end}"
    args = ["metrics", str(sim_log), "--daily", days, "--buckets", "2", "--out", str(out)]
    assert main([*args, "--work-dir", str(tmp_path)]) == 0
    want = compare_daily(read_log(sim_log), start=start, end=end)
    assert_frame_equal(pl.read_parquet(out), want)


def test_daily_on_spark_is_refused_by_name(capsys):
    from chatsim.cli import main

    args = ["metrics", str(sample_log_path()), "--daily", "2025-09-12..2025-09-13"]
    assert main([*args, "--engine", "spark"]) == 2
    err = capsys.readouterr().err
    assert "daily evaluation is not supported on Spark; use the polars engine" in err
    assert err.count("\n") == 1
