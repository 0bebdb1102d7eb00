"""Read and validate a chat log with Spark: the layout and the checks of chatsim.schema.

:func:`read_log_spark` reads the layout :func:`chatsim.schema.read_log` reads
(``messages`` Parquet file/dataset or CSV, optional ``shops``, ``holiday_mode``,
``blocked``) from any path Spark reads (``s3a://...``, ``hdfs://...``). The messages stay a
Spark DataFrame, checked Spark-side with the checks and messages of
:mod:`chatsim.schema.checks`; the small side tables are validated with polars.

Example:
    >>> slog = read_log_spark("chatsim/data/sample_log")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from chatsim.errors import SchemaError
from chatsim.schema import (
    BOOL_TEXT,
    ID,
    INTEGER_TEXT,
    MESSAGE_COLUMNS,
    TS_WITH_ZONE,
    UTC_DATETIME,
    required_columns,
    validate_blocked,
    validate_holiday_mode,
    validate_shops,
)
from chatsim.schema.extras import STARS_TYPE
from chatsim.schema.messages import (
    EXAMPLES,
    column_type_error,
    duplicate_ids_error,
    missing_columns_error,
    naive_column_error,
    not_boolean_error,
    not_timestamp_error,
    nulls_error,
    stars_error,
    two_shops_error,
    unknown_values_error,
    zone_missing_error,
)
from chatsim.spark.session import get_spark, pyspark_modules

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkLog", "read_log_spark"]

#: The messages' columns by kind (from chatsim.schema.MESSAGE_COLUMNS).
_IDS = [c for c, (kind, _) in MESSAGE_COLUMNS.items() if kind == ID]
_BOOLS = [c for c, (kind, _) in MESSAGE_COLUMNS.items() if kind == pl.Boolean]
_ENUMS = {
    c: list(kind.categories)
    for c, (kind, _) in MESSAGE_COLUMNS.items()
    if isinstance(kind, pl.Enum)
}


@dataclass
class SparkLog:
    """A chat log for the Spark engine: messages as a Spark DataFrame (validated and
    normalised: UTC timestamps, booleans, ``valid_reply``/``rating`` present), the small
    side tables validated as polars frames (as :func:`chatsim.schema.read_log` does)."""

    messages: DataFrame
    shops: pl.DataFrame
    holiday_mode: pl.DataFrame
    blocked: pl.DataFrame
    source: str


def _jpath(spark: SparkSession, path: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p, p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def _exists(spark: SparkSession, path: str) -> bool:
    p, fs = _jpath(spark, path)
    return bool(fs.exists(p))


def _is_dir(spark: SparkSession, path: str) -> bool:
    p, fs = _jpath(spark, path)
    return bool(fs.exists(p) and fs.getFileStatus(p).isDirectory())


def _has_files(spark: SparkSession, path: str, suffix: str) -> bool:
    p, fs = _jpath(spark, path)
    it = fs.listFiles(p, True)
    while it.hasNext():
        if it.next().getPath().getName().lower().endswith(suffix):
            return True
    return False


def _read(spark: SparkSession, path: str) -> DataFrame:
    """A Parquet file/dataset folder or a CSV file/folder (every CSV column as text)."""
    low = path.lower().rstrip("/")
    if _is_dir(spark, path):
        if _has_files(spark, path, ".parquet"):
            return spark.read.option("recursiveFileLookup", "true").parquet(path)
        if _has_files(spark, path, ".csv"):
            return (
                spark.read.option("header", "true")
                .option("recursiveFileLookup", "true")
                .option("pathGlobFilter", "*.csv")
                .csv(path)
            )
        raise SchemaError(f"{path}: folder holds no .parquet or .csv files.")
    if low.endswith((".parquet", ".pq")):
        return spark.read.parquet(path)
    if low.endswith((".csv", ".csv.gz", ".gz")):
        return spark.read.option("header", "true").csv(path)
    raise SchemaError(f"{path}: unsupported file type; use .parquet or .csv (or a folder of them).")


def _find_table(spark: SparkSession, root: str, name: str) -> str | None:
    for cand in (f"{root}/{name}.parquet", f"{root}/{name}.csv", f"{root}/{name}"):
        if _exists(spark, cand):
            return cand
    return None


def _small_table(df: DataFrame) -> pl.DataFrame:
    """A small Spark table as polars (timestamps as UTC, text as text)."""
    out = pl.from_arrow(df.toArrow())
    return out.with_columns(
        pl.col(c).dt.replace_time_zone("UTC") if t.time_zone is None else pl.col(c)
        for c, t in out.schema.items()
        if isinstance(t, pl.Datetime)
    )


def _check_types(fields: dict[str, Any], source: str) -> None:
    """The column checks of :func:`chatsim.schema.conform`, on a Spark schema."""
    _, _, T = pyspark_modules()
    missing = [c for c in required_columns(MESSAGE_COLUMNS) if c not in fields]
    if missing:
        raise missing_columns_error(source, missing, list(fields))
    integral = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
    for c in _IDS:
        if not isinstance(fields[c], (T.StringType, *integral)):
            raise column_type_error(
                source, c, fields[c].simpleString(), "identifiers must be strings or integers"
            )
    for c, values in _ENUMS.items():
        if c in fields and not isinstance(fields[c], T.StringType):
            raise column_type_error(
                source, c, fields[c].simpleString(), f"expected text with values {values}"
            )
    ts = fields["sent_at"]
    if isinstance(ts, T.TimestampNTZType):
        raise naive_column_error(source, "sent_at")
    if not isinstance(ts, (T.TimestampType, T.StringType)):
        raise column_type_error(
            source, "sent_at", ts.simpleString(), "expected a timezone-aware timestamp"
        )
    for c in _BOOLS:
        if c in fields and not isinstance(fields[c], (T.BooleanType, T.StringType)):
            raise column_type_error(source, c, fields[c].simpleString(), "expected true/false")
    if "stars" in fields and not isinstance(fields["stars"], (T.StringType, T.NullType, *integral)):
        raise column_type_error(source, "stars", fields["stars"].simpleString(), STARS_TYPE)


def _check_ids(df: DataFrame, source: str) -> None:
    """Message ids unique, one shop per conversation (chatsim.schema's checks and messages).

    Run only when :func:`_validate_messages`'s distinct counts show a duplicate id or a
    conversation under two shops (it names them; a clean log needs no job here)."""
    _, F, _ = pyspark_modules()
    dup = df.groupBy("message_id").count().filter(F.col("count") > 1)
    n_dup = dup.agg(F.sum("count")).first()[0]
    if n_dup:
        ex = [r[0] for r in dup.orderBy("message_id").limit(EXAMPLES).collect()]
        raise duplicate_ids_error(source, int(n_dup), ex, lenient_hint=False)
    two = (
        df.groupBy("conversation_id")
        .agg(F.countDistinct("shop_id").alias("n"), F.count(F.lit(1)).alias("rows"))
        .filter(F.col("n") > 1)
    )
    n_two, n_rows = two.agg(F.count(F.lit(1)), F.sum("rows")).first()
    if n_two:
        ids = [r[0] for r in two.orderBy("conversation_id").limit(EXAMPLES).collect()]
        shops = (
            df.filter(F.col("conversation_id").isin(ids))
            .groupBy("conversation_id")
            .agg(F.array_sort(F.collect_set("shop_id")).alias("shops"))
            .orderBy("conversation_id")
            .collect()
        )
        raise two_shops_error(source, int(n_two), int(n_rows), {r[0]: r[1][:3] for r in shops})


def _validate_messages(df: DataFrame, source: str) -> DataFrame:
    """Spark-side checks of the messages table: those of chatsim.schema, its messages."""
    _, F, T = pyspark_modules()
    fields = {f.name: f.dataType for f in df.schema.fields}
    _check_types(fields, source)
    required = required_columns(MESSAGE_COLUMNS)

    # parse text columns (CSV)
    checks: dict[str, Any] = {}
    if isinstance(fields["sent_at"], T.StringType):
        df = df.withColumn("_sent_raw", F.col("sent_at"))
        raw = F.col("_sent_raw")
        checks["naive"] = raw.isNotNull() & ~raw.rlike(TS_WITH_ZONE)
        df = df.withColumn("sent_at", F.try_to_timestamp(raw))
        checks["bad_ts"] = raw.isNotNull() & raw.rlike(TS_WITH_ZONE) & F.col("sent_at").isNull()
    bool_map = F.create_map(*[x for k, v in BOOL_TEXT.items() for x in (F.lit(k), F.lit(v))])
    for c in _BOOLS:
        if c in fields and isinstance(fields[c], T.StringType):
            df = df.withColumn(f"_{c}_raw", F.col(c))
            raw_b = F.col(f"_{c}_raw")
            df = df.withColumn(c, F.element_at(bool_map, F.lower(F.trim(raw_b))))
            checks[f"bool_{c}"] = raw_b.isNotNull() & F.col(c).isNull()
    for c, values in _ENUMS.items():
        if c in fields:
            checks[f"enum_{c}"] = F.col(c).isNotNull() & ~F.col(c).isin(values)
    if "stars" in fields:  # whole numbers 1-5 (text parsed), as chatsim.schema.check_stars
        df = df.withColumn("_stars_raw", F.col("stars"))
        raw_s = F.trim(F.col("_stars_raw").cast("string"))
        df = df.withColumn("stars", raw_s.try_cast("long"))
        checks["stars_whole"] = raw_s.isNotNull() & (raw_s != "") & F.col("stars").isNull()
        checks["stars_range"] = F.col("stars").isNotNull() & ~F.col("stars").between(1, 5)
    for c in required:
        checks[f"null_{c}"] = F.col(c).isNull() & (
            F.col("_sent_raw").isNull() if (c == "sent_at" and "naive" in checks) else F.lit(True)
        )
    # text id columns read as integers when every value is a plain integer (INTEGER_TEXT),
    # as chatsim.schema.id_dtypes decides for polars: CSV and Parquet give the same ids
    text_ids = [c for c in _IDS if c in fields and isinstance(fields[c], T.StringType)]
    id_stats = []
    for c in text_ids:
        plain = F.col(c).rlike(INTEGER_TEXT) & F.col(c).try_cast("long").isNotNull()
        id_stats += [
            F.sum(F.when(F.col(c).isNotNull() & ~plain, 1).otherwise(0)).alias(f"_notint_{c}"),
            F.count(F.col(c)).alias(f"_nonnull_{c}"),
        ]
    # every check, and the distinct counts that show duplicate ids or conversations under
    # two shops, in one job
    row = df.select(
        *(F.sum(F.when(cond, 1).otherwise(0)).alias(k) for k, cond in checks.items()),
        *id_stats,
        F.count(F.lit(1)).alias("_rows"),
        F.countDistinct("message_id").alias("_ids"),
        F.countDistinct("conversation_id").alias("_convs"),
        F.countDistinct("conversation_id", "shop_id").alias("_conv_shops"),
    ).first()
    counts = {k: int(row[k] or 0) for k in checks}

    def examples(cond: Any, col: str) -> list:
        return [r[0] for r in df.filter(cond).select(col).limit(EXAMPLES).collect()]

    if counts.get("naive"):
        ex = examples(checks["naive"], "_sent_raw")
        raise zone_missing_error(source, "sent_at", counts["naive"], ex)
    if counts.get("bad_ts"):
        ex = examples(checks["bad_ts"], "_sent_raw")
        raise not_timestamp_error(source, "sent_at", counts["bad_ts"], ex)
    for c in _BOOLS:
        if counts.get(f"bool_{c}"):
            ex = examples(checks[f"bool_{c}"], f"_{c}_raw")
            raise not_boolean_error(source, c, counts[f"bool_{c}"], ex)
    for c, values in _ENUMS.items():
        if counts.get(f"enum_{c}"):
            top = (
                df.filter(checks[f"enum_{c}"])
                .groupBy(c)
                .count()
                .orderBy(F.desc("count"), c)
                .limit(EXAMPLES)
                .collect()
            )
            ex = {r[0]: int(r[1]) for r in top}
            raise unknown_values_error(source, c, counts[f"enum_{c}"], ex, values)
    for problem in ("whole", "range"):
        if counts.get(f"stars_{problem}"):
            col = "_stars_raw" if problem == "whole" else "stars"
            ex = examples(checks[f"stars_{problem}"], col)
            raise stars_error(source, counts[f"stars_{problem}"], ex, problem)
    nulls = {c: counts[f"null_{c}"] for c in required if counts[f"null_{c}"]}
    if nulls:
        raise nulls_error(source, nulls, lenient_hint=False)
    if row["_ids"] != row["_rows"] or row["_convs"] != row["_conv_shops"]:
        _check_ids(df, source)
    for c in text_ids:
        if row[f"_nonnull_{c}"] and not row[f"_notint_{c}"]:
            df = df.withColumn(c, F.col(c).cast("long"))
    if "valid_reply" not in fields:
        df = df.withColumn("valid_reply", F.lit(True))
    else:
        df = df.withColumn("valid_reply", F.coalesce(F.col("valid_reply"), F.lit(True)))
    if "rating" not in fields:
        df = df.withColumn("rating", F.lit(None).cast("string"))
    if "no_response_needed" in fields:
        df = df.withColumn(
            "no_response_needed", F.coalesce(F.col("no_response_needed"), F.lit(False))
        )
    if "stars" in fields:
        # a row with stars and no rating is a rating event: 4-5 satisfied, 1-3 unsatisfied
        stars = F.col("stars").cast("tinyint")
        coarse = F.when(stars >= 4, F.lit("satisfied")).otherwise(F.lit("unsatisfied"))
        df = df.withColumn("stars", stars).withColumn(
            "rating", F.coalesce(F.col("rating"), F.when(stars.isNotNull(), coarse))
        )
    return df.drop(*[c for c in df.columns if c.startswith("_") and c.endswith("_raw")])


def read_log_spark(path: str | Path, spark: SparkSession | None = None) -> SparkLog:
    """Read and validate a chat log with Spark (the layout of :func:`chatsim.schema.read_log`).

    ``path`` is a messages file (Parquet or CSV), a folder of message files, or a log
    folder holding ``messages`` and optionally ``shops``, ``holiday_mode``, ``blocked``;
    any path Spark reads (local, ``s3a://``, ``hdfs://``, ``abfss://``...). Messages stay
    a Spark DataFrame; the side tables are small and validated with polars.
    """
    spark = spark or get_spark()
    root = str(path).rstrip("/")
    if not _exists(spark, root):
        raise SchemaError(f"{root}: no such file or folder.")
    msg_path = root
    side: dict[str, str | None] = {"shops": None, "holiday_mode": None, "blocked": None}
    if _is_dir(spark, root):
        found = _find_table(spark, root, "messages")
        if found is not None:
            msg_path = found
            side = {name: _find_table(spark, root, name) for name in side}
    messages = _validate_messages(_read(spark, msg_path), msg_path)
    shop_ids = None
    if side["shops"] is not None:
        shops = validate_shops(_small_table(_read(spark, side["shops"])), side["shops"])
    else:
        shop_ids = [r[0] for r in messages.select("shop_id").distinct().collect()]
        shops = pl.DataFrame(
            {"shop_id": sorted(shop_ids), "timezone": ["UTC"] * len(shop_ids)}
        ).with_columns(pl.lit(False).alias("chatbot_enabled"))
    hol = (
        validate_holiday_mode(
            _small_table(_read(spark, side["holiday_mode"])), side["holiday_mode"]
        )
        if side["holiday_mode"]
        else pl.DataFrame(schema={"shop_id": pl.String, "start": UTC_DATETIME, "end": UTC_DATETIME})
    )
    blk = (
        validate_blocked(_small_table(_read(spark, side["blocked"])), side["blocked"])
        if side["blocked"]
        else pl.DataFrame(
            schema={"shop_id": pl.String, "buyer_id": pl.String, "blocked_at": UTC_DATETIME}
        )
    )
    return SparkLog(messages, shops, hol, blk, source=root)
