"""The Spark engine gives the polars engine's chat and shop tables, row for row.

Marked ``spark`` (a local Spark session, one per module): run with ``pytest -m spark``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from chatsim.errors import EngineError, SchemaError
from chatsim.metrics import compare
from chatsim.rules import NEW_12H
from chatsim.sample import sample_log, sample_log_path
from chatsim.schema import read_log, write_log
from tests.conftest import spark_supports
from tests.support.synthetic import synthetic_log

pytestmark = pytest.mark.spark
pyspark = pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark():
    """A session as chatsim starts one for a local run (get_spark's settings)."""
    from chatsim.spark import get_spark

    session = get_spark("local[2]", app_name="chatsim-tests", progress=False)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_local_session_settings(spark, tmp_path, monkeypatch):
    """Quiet and local-sized: no progress bars or UI, shuffle partitions = local cores,
    warehouse and Derby files in a temporary folder, not the working directory."""
    from chatsim.spark import spark_settings

    conf = spark.sparkContext.getConf()
    assert conf.get("spark.ui.showConsoleProgress") == "false"
    assert conf.get("spark.ui.enabled") == "false"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    scratch = Path(conf.get("spark.sql.warehouse.dir").removeprefix("file:")).parent
    assert scratch.name.startswith("chatsim-spark-") and Path.cwd() not in scratch.parents
    derby = spark.sparkContext._jvm.java.lang.System.getProperty("derby.system.home")
    assert derby is not None and Path(derby).parent == scratch
    monkeypatch.setenv("CHATSIM_SPARK_PROGRESS", "1")
    assert spark_settings("local[*]")["spark.ui.showConsoleProgress"] == "true"
    assert spark_settings("local[*]", progress=False)["spark.ui.showConsoleProgress"] == "false"
    cluster = spark_settings("spark://head:7077", progress=False)
    assert "spark.ui.enabled" not in cluster  # a cluster keeps its UI


def test_few_spark_jobs_on_a_small_log(spark):
    """The sample log: one validation job, one for the cutoff, one collect per rule
    (each a few shuffle stages), not a job per check or per table."""
    from chatsim.spark import compare_spark

    sc = spark.sparkContext
    sc.setJobGroup("count-jobs", "count the jobs of one compare_spark")
    try:
        compare_spark(sample_log_path(), spark=spark)
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    jobs = sc.statusTracker().getJobIdsForGroup("count-jobs")
    assert len(jobs) <= JOB_BUDGET, len(jobs)
    tasks = sum(
        sc.statusTracker().getStageInfo(s).numTasks
        for j in jobs
        for s in sc.statusTracker().getJobInfo(j).stageIds
        if sc.statusTracker().getStageInfo(s) is not None
    )
    assert tasks <= 4 * JOB_BUDGET, tasks  # not 200 tasks per shuffle


#: Spark jobs of compare_spark on the sample log (46 with adaptive execution; 70 before)
JOB_BUDGET = 50


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


@pytest.fixture
def spark_rules(every_feature_rules):
    """The every-feature rules Spark runs (``spark_supports``)."""
    return [r for r in every_feature_rules if spark_supports(r)]


def test_sample_log(spark, spark_rules):
    want = assert_same(sample_log_path(), spark_rules, spark)
    status = set(want.chats["status"].cast(pl.String))
    assert {"excluded", "pending", "answered_in_time"} <= status


#: The rules of the larger-log runs in the default suite: the built-in pair and the two
#: other automatic-reply modes (every exclusion and pending path); every feature rule runs
#: on the sample log above, and on these logs too in the slow run.
SUBSET = ("legacy-24h", "new-12h", "auto-answers", "auto-ignored")


def rules_of(spark_rules, which: str):
    return spark_rules if which == "every" else [r for r in spark_rules if r.name in SUBSET]


@pytest.mark.parametrize("which", ["subset", pytest.param("every", marks=pytest.mark.slow)])
def test_synthetic_logs_every_exclusion_and_pending(spark, tmp_path, spark_rules, which):
    log = synthetic_log(12_000, seed=0, n_shops=30)
    write_log(log, tmp_path / "log")
    spark_rules = rules_of(spark_rules, which)
    assert len(spark_rules) >= len(SUBSET)
    want = assert_same(tmp_path / "log", spark_rules, spark)
    reasons = set(want.chats["excluded_reason"].drop_nulls().cast(pl.String))
    assert reasons == {"holiday_mode", "blocked", "seller_initiated", "auto_resolved"}
    assert (want.chats["status"] == "pending").any()
    # an explicit cutoff, CSV input
    write_log(synthetic_log(5_000, seed=2, n_shops=10), tmp_path / "csv", fmt="csv")
    assert_same(tmp_path / "csv", spark_rules[:2], spark, as_of="2025-08-20T12:00:00Z")


@pytest.mark.slow  # by default Spark runs on the sample log and the synthetic logs above
def test_simulated_log(spark, simulated_log, every_feature_rules):
    assert_same(simulated_log(shops=40, days=10), every_feature_rules[:2], spark)


@pytest.mark.parametrize("which", ["subset", pytest.param("every", marks=pytest.mark.slow)])
def test_every_engine_through_compare(spark, tmp_path, spark_rules, which):
    """compare(path, engine=...): the same shop tables from polars, buckets and spark."""
    write_log(synthetic_log(6_000, seed=3, n_shops=12), tmp_path / "log")
    path = tmp_path / "log"
    spark_rules = rules_of(spark_rules, which)
    want = compare(path, spark_rules).shops.sort("rule", "shop_id")
    for engine, options in (
        ("buckets", {"buckets": 3, "progress": False}),
        ("spark", {"spark": spark}),
    ):
        got = compare(path, spark_rules, engine=engine, **options)
        shops = got.shops.sort("rule", "shop_id")
        assert_frame_equal(shops, want, rel_tol=1e-12, abs_tol=0)


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


def test_id_checks_give_the_messages_of_the_polars_reader(spark, tmp_path):
    """The duplicate-id and two-shop checks: the counts and wording of chatsim.schema."""
    from chatsim.spark import read_log_spark

    msgs = sample_log().messages
    first = pl.int_range(pl.len()) == 0
    cases = {
        # the first message reuses the second one's id
        "dup": msgs.with_columns(
            pl.when(first)
            .then(pl.lit(msgs["message_id"][1]))
            .otherwise("message_id")
            .alias("message_id")
        ),
        # the first message of a conversation under another shop
        "two": msgs.with_columns(
            pl.when(first).then(pl.lit("shop_zz")).otherwise("shop_id").alias("shop_id")
        ),
    }
    for name, frame in cases.items():
        path = tmp_path / f"{name}.parquet"
        frame.write_parquet(path)
        with pytest.raises(SchemaError) as polars_error:
            read_log(path)
        with pytest.raises(SchemaError) as spark_error:
            read_log_spark(str(path), spark)
        want = str(polars_error.value).split(": ", 1)[1]  # after "<file>[:messages]: "
        want = want.replace(
            " (or read with lenient=True to keep the first copy and count the rest)", ""
        )
        assert str(spark_error.value) == f"{path}: {want}", name


@pytest.mark.parametrize(
    "name",
    [
        "auto_broadcast",
        "period_first",
        "rating_row",
        "auto_then_late_human",
        "holiday_pause",
        "target_comparison",
        "min_chats",
    ],
)
def test_policy_cases_on_spark(spark, tmp_path, name):
    """The policy's hard cases (tests/test_policy_cases.py) give the same statuses,
    deadlines and shop figures on Spark."""
    from chatsim.spark import compare_spark
    from tests.test_policy_cases import CASES, check_case

    case = CASES[name]()
    path = write_log(case.log, tmp_path / "log")
    check_case(case, compare_spark(path, case.rules, as_of=case.as_of, spark=spark))


def test_the_rule_features_on_spark(spark, tmp_path, spark_rules):
    """The counted units, the public-holiday and no-response-needed exclusions and the
    stars column (a log that has them all) give the polars tables; the CSV reader
    validates the optional columns as polars does."""
    from tests.test_rule_features import featured_log

    write_log(featured_log(6_000, 0), tmp_path / "log")
    rules = [r for r in spark_rules if r.counted_unit != "chat" or r.name == "new-12h"]
    want = assert_same(tmp_path / "log", rules, spark)
    reasons = set(want.chats["excluded_reason"].drop_nulls().cast(pl.String))
    assert {"public_holiday", "no_response_needed"} <= reasons
    assert want.chats["stars"].is_not_null().any()
    bad = featured_log(2_000, 1)
    bad.messages = bad.messages.with_columns(
        pl.when(pl.col("stars") == 5).then(9).otherwise(pl.col("stars")).alias("stars")
    )
    write_log(bad, tmp_path / "bad", fmt="csv")
    from chatsim.spark import read_log_spark

    with pytest.raises(SchemaError, match=r"column 'stars': \d+ row\(s\) hold values outside 1-5"):
        read_log_spark(tmp_path / "bad", spark)


def test_spark_computes_the_figures_itself(spark, tmp_path):
    """With ``collect_chats=False`` Spark aggregates the shops itself (the blended rate's
    ranks included): the same shop tables as polars."""
    from chatsim.rules import AVG_RESPONSE_TIME, CHAT_SATISFACTION
    from chatsim.spark import compare_spark
    from tests.test_rule_metrics import AS_OF, blended, eight_chats, late

    log = eight_chats()
    path = tmp_path / "log"
    write_log(log, path)
    rules = [NEW_12H, blended(), late(), AVG_RESPONSE_TIME, CHAT_SATISFACTION]
    got = compare_spark(path, rules, spark=spark, as_of=AS_OF, collect_chats=False)
    want = compare(log, rules, as_of=AS_OF).shops
    assert_frame_equal(got.shops.sort("rule", "shop_id"), want.sort("rule", "shop_id"))
    spark.catalog.clearCache()
