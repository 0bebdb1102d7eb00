"""The Spark engine gives the polars engine's chat and shop tables, row for row.

Marked ``spark`` (a local Spark session, one per module): run with ``pytest -m spark``.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from benchmarks.synthetic import synthetic_log
from chatsim.errors import EngineError, SchemaError
from chatsim.metrics import compare
from chatsim.rules import LEGACY_24H, NEW_12H
from chatsim.sample import sample_log, sample_log_path
from chatsim.schema import read_log, write_log

pytestmark = pytest.mark.spark
pyspark = pytest.importorskip("pyspark")

RULES = [
    LEGACY_24H,
    NEW_12H,
    NEW_12H.replace(name="auto-answers", auto_reply="count_as_answer"),
    NEW_12H.replace(
        name="auto-ignored", auto_reply="ignore", valid_replies_only=True, session_hours=6.0
    ),
    NEW_12H.replace(
        name="aug-weekend",
        period_start=dt.date(2025, 8, 1),
        period_end=dt.date(2025, 8, 20),
        exclusions=frozenset({"holiday_mode", "auto_resolved"}),
        chatbot_weekend_deadline=True,
    ),
]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("chatsim-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def assert_same(path, rules, spark, **kw):
    from chatsim.spark import compare_spark

    got = compare_spark(path, rules, spark=spark, **kw)
    want = compare(read_log(path), rules, **kw)
    k = ["rule", "conversation_id", "chat_seq"]
    assert_frame_equal(got.chats.sort(k), want.chats.sort(k))
    assert_frame_equal(got.shops.sort("rule", "shop_id"), want.shops.sort("rule", "shop_id"))
    assert (got.as_of, got.messages_used, got.messages_after_cutoff) == (
        want.as_of,
        want.messages_used,
        want.messages_after_cutoff,
    )
    return want


def test_sample_log(spark):
    want = assert_same(sample_log_path(), RULES, spark)
    status = set(want.chats["status"].cast(pl.String))
    assert {"excluded", "pending", "answered_in_time"} <= status


def test_synthetic_logs_every_exclusion_and_pending(spark, tmp_path):
    log = synthetic_log(12_000, seed=0, n_shops=30)
    write_log(log, tmp_path / "log")
    want = assert_same(tmp_path / "log", RULES, spark)
    reasons = set(want.chats["excluded_reason"].drop_nulls().cast(pl.String))
    assert reasons == {"holiday_mode", "blocked", "seller_initiated", "auto_resolved"}
    assert (want.chats["status"] == "pending").any()
    # an explicit cutoff, CSV input
    write_log(synthetic_log(5_000, seed=2, n_shops=10), tmp_path / "csv", fmt="csv")
    assert_same(tmp_path / "csv", RULES[:2], spark, as_of="2025-08-20T12:00:00Z")


def test_simulated_log(spark, tmp_path):
    from chatsim.scenario import load_scenario
    from chatsim.simulate import simulate_to_dir

    sc = load_scenario("scenarios/baseline.yaml").scaled(shops=40, days=10)
    out = simulate_to_dir(sc, tmp_path / "sim", workers=1, progress=False)
    assert_same(out if out is not None else tmp_path / "sim", RULES[:2], spark)


def test_cli_spark_equals_polars(spark, tmp_path):
    from chatsim.cli import main

    assert main(["metrics", str(sample_log_path()), "--out", str(tmp_path / "p.csv")]) == 0
    assert (
        main(
            [
                "metrics",
                "--engine",
                "spark",
                str(sample_log_path()),
                "--out",
                str(tmp_path / "s.csv"),
            ]
        )
        == 0
    )
    assert_frame_equal(pl.read_csv(tmp_path / "s.csv"), pl.read_csv(tmp_path / "p.csv"))


def test_business_clock_and_bad_logs_are_named(spark, tmp_path):
    from chatsim.spark import compare_spark, read_log_spark

    with pytest.raises(EngineError, match="business"):
        compare_spark(sample_log_path(), [NEW_12H.replace(name="b", clock="business")], spark=spark)
    msgs = sample_log().messages.with_columns(
        pl.col("sent_at").dt.strftime("%Y-%m-%dT%H:%M:%S")  # no zone
    )
    msgs.write_csv(tmp_path / "naive.csv")
    with pytest.raises(SchemaError, match="naive.csv.*sent_at.*without a time zone"):
        read_log_spark(str(tmp_path / "naive.csv"), spark)
    bad = sample_log().messages.with_columns(pl.col("sender").cast(pl.String))
    bad = bad.with_columns(
        pl.when(pl.int_range(pl.len()) < 3).then(pl.lit("bot")).otherwise("sender").alias("sender")
    )
    bad.write_parquet(tmp_path / "bad.parquet")
    with pytest.raises(SchemaError, match="'sender': 3 row"):
        read_log_spark(str(tmp_path / "bad.parquet"), spark)
    bad.drop("kind").write_parquet(tmp_path / "nokind.parquet")
    with pytest.raises(SchemaError, match="missing required column"):
        read_log_spark(str(tmp_path / "nokind.parquet"), spark)
