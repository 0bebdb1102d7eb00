"""Evaluate rules on a Spark DataFrame: the same rule logic as polars, run by Spark.

The rule logic is :mod:`chatsim.engine` (narwhals): this module only supplies the
Spark session, reading and validating a log folder with Spark, and the few Spark
primitives the engine needs (epoch microseconds, per-row time-zone conversion).
The business-hours clock is polars-only: a business-clock rule raises
:class:`~chatsim.errors.EngineError` here.

* :func:`get_spark` returns the active session, or starts one: ``local[*]`` unless
  ``CHATSIM_SPARK_MASTER``, ``spark-submit --master``, ``PYSPARK_SUBMIT_ARGS`` or
  ``spark-defaults.conf`` say otherwise.
* :func:`read_log_spark` reads the layout :func:`chatsim.schema.read_log` reads
  (``messages`` Parquet file/dataset or CSV, optional ``shops``, ``holiday_mode``,
  ``blocked``), from any path Spark can read (``s3a://...``, ``hdfs://...``).
* :func:`compare_spark` returns a :class:`chatsim.metrics.Evaluation` whose tables
  equal :func:`chatsim.metrics.compare`'s, row for row.

``docs/spark.md`` has the how-to (local and cluster runs).

Example:
    >>> from chatsim.spark import compare_spark  # doctest: +SKIP
    >>> ev = compare_spark("chatsim/data/sample_log")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import narwhals as nw
import polars as pl

from chatsim import engine as E
from chatsim.errors import EngineError, RuleError, SchemaError
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from chatsim.schema import (
    KINDS,
    RATINGS,
    SENDERS,
    UTC_DATETIME,
    validate_blocked,
    validate_holiday_mode,
    validate_shops,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

    from chatsim.metrics import Evaluation

_EXAMPLES = 5
_TS_WITH_ZONE = r"(Z|[+-]\d{2}:?\d{2})$"
_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "t": True, "f": False}


def _pyspark():
    try:
        from pyspark.sql import SparkSession
        from pyspark.sql import functions as F
        from pyspark.sql import types as T
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise EngineError(
            "the Spark engine needs pyspark: pip install 'chatsim[spark]' (and Java 17+)."
        ) from exc
    return SparkSession, F, T


def get_spark(master: str | None = None, app_name: str = "chatsim") -> SparkSession:
    """The active Spark session, or a new one.

    The master is ``master`` if given, else ``CHATSIM_SPARK_MASTER``, else whatever the
    usual Spark configuration says (``spark-submit --master``, ``PYSPARK_SUBMIT_ARGS``,
    ``spark-defaults.conf``), else ``local[*]``. The session time zone is set to UTC
    (chatsim's timestamps are UTC; shop-local times are computed per row).
    """
    SparkSession, _, _ = _pyspark()
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        active.conf.set("spark.sql.session.timeZone", "UTC")
        return active
    builder = SparkSession.builder.appName(app_name).config("spark.sql.session.timeZone", "UTC")
    master = master or os.environ.get("CHATSIM_SPARK_MASTER")
    if master:
        builder = builder.master(master)
    # otherwise the master is left to Spark: spark-submit --master, PYSPARK_SUBMIT_ARGS or
    # spark-defaults.conf if they set one, else local[*] (the launcher's default)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # pragma: no cover - depends on the environment
        raise EngineError(
            f"could not start a Spark session ({exc}); is Java 17+ installed?"
        ) from exc


# --------------------------------------------------------------------------------------
# Reading and validating a log with Spark
# --------------------------------------------------------------------------------------


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


def _validate_messages(df: DataFrame, source: str) -> DataFrame:
    """Spark-side checks of the messages table (those of chatsim.schema that scale)."""
    _, F, T = _pyspark()
    required = [
        "message_id",
        "shop_id",
        "conversation_id",
        "buyer_id",
        "sent_at",
        "sender",
        "kind",
        "is_broadcast",
    ]
    fields = {f.name: f.dataType for f in df.schema.fields}
    missing = [c for c in required if c not in fields]
    if missing:
        raise SchemaError(
            f"{source}: missing required column(s) {missing}; found {list(fields)}. "
            "See docs/schema.md for the expected columns."
        )
    integral = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
    for c in ("message_id", "shop_id", "conversation_id", "buyer_id"):
        if not isinstance(fields[c], (T.StringType, *integral)):
            raise SchemaError(
                f"{source}: column '{c}' has type {fields[c].simpleString()}; "
                "identifiers must be strings or integers."
            )
    for c in ("sender", "kind", "rating"):
        if c in fields and not isinstance(fields[c], T.StringType):
            raise SchemaError(
                f"{source}: column '{c}' has type {fields[c].simpleString()}; expected text."
            )
    ts = fields["sent_at"]
    if isinstance(ts, T.TimestampNTZType):
        raise SchemaError(
            f"{source}: column 'sent_at' holds naive timestamps (no time zone). chatsim cannot "
            "guess the zone: store them timezone-aware (e.g. '2025-08-01T09:00:00+07:00' "
            "or UTC with 'Z')."
        )
    if not isinstance(ts, (T.TimestampType, T.StringType)):
        raise SchemaError(
            f"{source}: column 'sent_at' has type {ts.simpleString()}; expected a timezone-aware timestamp."
        )
    for c in ("is_broadcast", "valid_reply"):
        if c in fields and not isinstance(fields[c], (T.BooleanType, T.StringType)):
            raise SchemaError(
                f"{source}: column '{c}' has type {fields[c].simpleString()}; expected true/false."
            )

    # parse text columns (CSV)
    checks: dict[str, Any] = {}
    if isinstance(ts, T.StringType):
        df = df.withColumn("_sent_raw", F.col("sent_at"))
        raw = F.col("_sent_raw")
        checks["naive"] = raw.isNotNull() & ~raw.rlike(_TS_WITH_ZONE)
        df = df.withColumn("sent_at", F.try_to_timestamp(raw))
        checks["bad_ts"] = raw.isNotNull() & raw.rlike(_TS_WITH_ZONE) & F.col("sent_at").isNull()
    bool_map = F.create_map(*[x for k, v in _BOOL_TEXT.items() for x in (F.lit(k), F.lit(v))])
    for c in ("is_broadcast", "valid_reply"):
        if c in fields and isinstance(fields[c], T.StringType):
            df = df.withColumn(f"_{c}_raw", F.col(c))
            raw_b = F.col(f"_{c}_raw")
            df = df.withColumn(c, F.element_at(bool_map, F.lower(F.trim(raw_b))))
            checks[f"bool_{c}"] = raw_b.isNotNull() & F.col(c).isNull()
    allowed = {"sender": SENDERS, "kind": KINDS, "rating": RATINGS}
    for c, values in allowed.items():
        if c in fields:
            checks[f"enum_{c}"] = F.col(c).isNotNull() & ~F.col(c).isin(list(values))
    for c in required:
        checks[f"null_{c}"] = F.col(c).isNull() & (
            F.col("_sent_raw").isNull() if (c == "sent_at" and "naive" in checks) else F.lit(True)
        )
    counts = df.select(
        *(F.sum(F.when(cond, 1).otherwise(0)).alias(k) for k, cond in checks.items())
    ).first()
    counts = {k: int(counts[k] or 0) for k in checks}

    def examples(cond: Any, col: str) -> list:
        return [r[0] for r in df.filter(cond).select(col).limit(_EXAMPLES).collect()]

    if counts.get("naive"):
        ex = examples(checks["naive"], "_sent_raw")
        raise SchemaError(
            f"{source}: column 'sent_at': {counts['naive']} row(s) hold timestamps without a "
            f"time zone (e.g. {ex}). Add an offset such as '+07:00' or 'Z'."
        )
    if counts.get("bad_ts"):
        ex = examples(checks["bad_ts"], "_sent_raw")
        raise SchemaError(
            f"{source}: column 'sent_at': {counts['bad_ts']} row(s) are not ISO-8601 timestamps (e.g. {ex})."
        )
    for c in ("is_broadcast", "valid_reply"):
        n = counts.get(f"bool_{c}")
        if n:
            ex = examples(checks[f"bool_{c}"], f"_{c}_raw")
            raise SchemaError(f"{source}: column '{c}': {n} row(s) are not true/false (e.g. {ex}).")
    for c, values in allowed.items():
        n = counts.get(f"enum_{c}")
        if n:
            ex = examples(checks[f"enum_{c}"], c)
            raise SchemaError(
                f"{source}: column '{c}': {n} row(s) hold unknown values (e.g. {ex}); "
                f"allowed: {list(values)}."
            )
    nulls = {c: counts[f"null_{c}"] for c in required if counts[f"null_{c}"]}
    if nulls:
        raise SchemaError(
            f"{source}: null values in required column(s) {nulls} (row counts). Every message "
            "needs these fields; fix or drop those rows."
        )
    dup = df.groupBy("message_id").count().filter(F.col("count") > 1)
    n_dup = dup.agg(F.sum("count")).first()[0]
    if n_dup:
        ex = [r[0] for r in dup.limit(_EXAMPLES).collect()]
        raise SchemaError(
            f"{source}: column 'message_id': {int(n_dup)} row(s) share a message id with another "
            f"row (e.g. ids {ex}). Message ids must be unique; deduplicate the export."
        )
    two = (
        df.groupBy("conversation_id")
        .agg(F.countDistinct("shop_id").alias("n"))
        .filter(F.col("n") > 1)
    )
    n_two = two.count()
    if n_two:
        ex = [r[0] for r in two.limit(_EXAMPLES).collect()]
        raise SchemaError(
            f"{source}: column 'conversation_id': {n_two} conversation(s) appear under more than "
            f"one shop_id (e.g. {ex}). A conversation is one buyer and one shop."
        )
    if "valid_reply" not in fields:
        df = df.withColumn("valid_reply", F.lit(True))
    else:
        df = df.withColumn("valid_reply", F.coalesce(F.col("valid_reply"), F.lit(True)))
    if "rating" not in fields:
        df = df.withColumn("rating", F.lit(None).cast("string"))
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


# --------------------------------------------------------------------------------------
# The Spark backend and compare_spark
# --------------------------------------------------------------------------------------


def _spark_backend() -> E.Backend:
    _, F, _ = _pyspark()

    def native(lf: nw.LazyFrame) -> DataFrame:
        return lf.to_native()

    def add_epoch_us(lf: nw.LazyFrame, cols: dict[str, str]) -> nw.LazyFrame:
        df = native(lf)
        for out, src in cols.items():
            df = df.withColumn(out, F.unix_micros(F.col(src)))
        return nw.from_native(df)

    def add_timestamps(lf: nw.LazyFrame, cols: dict[str, str]) -> nw.LazyFrame:
        df = native(lf)
        for out, src in cols.items():
            df = df.withColumn(out, F.timestamp_micros(F.col(src)))
        return nw.from_native(df.drop(*(set(cols.values()) - set(cols))))

    def add_local_week(lf: nw.LazyFrame) -> nw.LazyFrame:
        # session time zone is UTC: from_utc_timestamp gives the local wall clock
        df = native(lf)
        cand = F.col("_weekend_candidate")
        local = F.from_utc_timestamp(F.timestamp_micros(F.col("_open_us")), F.col("timezone"))
        wd = ((F.dayofweek(local) + 5) % 7) + 1  # Monday=1 .. Sunday=7
        noon = F.date_trunc("day", local) + F.make_dt_interval(8 - wd, F.lit(12))
        df = df.withColumn("_lwd", F.when(cand, wd)).withColumn(
            "_mon_noon_us",
            F.when(cand, F.unix_micros(F.to_utc_timestamp(noon, F.col("timezone")))),
        )
        return nw.from_native(df)

    return E.Backend(
        window=E.PerConversation(),
        add_epoch_us=add_epoch_us,
        add_timestamps=add_timestamps,
        add_local_week=add_local_week,
        add_business=None,
        materialize=lambda lf: nw.from_native(lf.to_native().cache()),
        name="spark",
    )


def _to_spark(spark: SparkSession, df: pl.DataFrame) -> DataFrame:
    return spark.createDataFrame(df.to_arrow())


def _cutoff(messages: DataFrame, as_of: dt.datetime | str | None, source: str) -> dt.datetime:
    from chatsim.metrics import _cutoff as polars_cutoff

    if as_of is not None:
        return polars_cutoff(None, as_of)  # type: ignore[arg-type]
    _, F, _ = _pyspark()
    end = messages.agg(F.max(F.unix_micros("sent_at"))).first()[0]
    if end is None:
        raise RuleError(
            f"{source}: the log has no messages, so there is no data cutoff; pass as_of."
        )
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(end))


def compare_spark(
    log: str | Path | SparkLog,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    *,
    as_of: dt.datetime | str | None = None,
    spark: SparkSession | None = None,
    collect_chats: bool = True,
) -> Evaluation:
    """:func:`chatsim.metrics.compare` on Spark: same rules, same tables (as polars).

    ``log`` is a path (read with :func:`read_log_spark`) or a :class:`SparkLog`. The shop
    table is collected (one row per shop and rule). With ``collect_chats=False`` the
    ``chats`` attribute is a dict ``{rule name: Spark DataFrame}`` of the judged chats
    instead, to write with Spark (cluster-scale logs); timestamps are UTC.
    """
    from chatsim.metrics import Evaluation

    rules = list(rules)
    if not rules:
        raise RuleError("compare_spark() needs at least one rule.")
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise RuleError(f"rule names must be unique; got {names}.")
    for r in rules:
        if r.clock == "business":
            raise EngineError(
                f"rule '{r.name}': the business-hours clock is not available on the spark "
                "engine; use the polars engine (chatsim metrics --engine polars)."
            )
    spark = spark or get_spark()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    slog = log if isinstance(log, SparkLog) else read_log_spark(log, spark)
    _, F, _ = _pyspark()
    cutoff = _cutoff(slog.messages, as_of, slog.source)
    cutoff_us = E.epoch_us(cutoff)
    counts = slog.messages.agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.when(F.unix_micros("sent_at") > cutoff_us, 1).otherwise(0)).alias("after"),
    ).first()
    n_after = int(counts["after"] or 0)
    msgs = slog.messages.filter(F.unix_micros("sent_at") <= cutoff_us)

    # side tables: ids as the messages' types
    id_types = {f.name: f.dataType for f in msgs.schema.fields}
    shops = _align(slog.shops, "shop_id", id_types)
    hol = _align(slog.holiday_mode, "shop_id", id_types)
    blk = _align(_align(slog.blocked, "shop_id", id_types), "buyer_id", id_types)
    blk = blk.filter(pl.col("blocked_at") <= cutoff)

    def sdf(df: pl.DataFrame) -> nw.LazyFrame:
        if df.height == 0:
            df = df.clear(1)  # a typed one-row frame Spark can infer; never joined
        return nw.from_native(_to_spark(spark, df))

    shops_s = sdf(shops)
    be = _spark_backend()
    frames = E.judged_chats(
        nw.from_native(msgs),
        None,
        shops_s,
        sdf(hol),
        sdf(blk),
        be,
        rules,
        cutoff,
        has_holidays=hol.height > 0,
        has_blocked=blk.height > 0,
    )
    chat_tables: dict[str, Any] = {}
    chat_frames, shop_frames = [], []
    for rule, judged in frames:
        if collect_chats:
            judged = nw.from_native(judged.to_native().cache())
        shop = E.shop_frame(judged, shops_s, rule).collect("polars").to_native()
        shop_frames.append(E.finish_shops(shop, shops, rule))
        if collect_chats:
            df = judged.collect("polars").to_native()
            ids = {c: df.schema[c] for c in ("shop_id", E.CONV, "buyer_id")}
            chat_frames.append(E.finish_chats(df, ids))
            judged.to_native().unpersist()
        else:
            chat_tables[rule.name] = E.with_labels(judged).to_native()
    chats: Any = pl.concat(chat_frames, how="vertical") if collect_chats else chat_tables
    return Evaluation(
        rules=rules,
        as_of=cutoff,
        chats=chats,
        shops=pl.concat(shop_frames, how="vertical_relaxed"),
        messages_used=int(counts["n"]) - n_after,
        messages_after_cutoff=n_after,
    )


def _align(df: pl.DataFrame, col: str, spark_types: dict[str, Any]) -> pl.DataFrame:
    """Cast a side table's id column to the messages' id type (text or integer)."""
    _, _, T = _pyspark()
    want = pl.String if isinstance(spark_types[col], T.StringType) else pl.Int64
    if df.schema[col] == want:
        return df
    cast = df[col].cast(want, strict=False)
    bad = cast.is_null() & df[col].is_not_null()
    if bad.any():
        raise SchemaError(
            f"column '{col}': {int(bad.sum())} value(s) of a side table cannot be matched to "
            f"the messages' {want} ids (e.g. {df[col].filter(bad).head(_EXAMPLES).to_list()})."
        )
    return df.with_columns(cast.alias(col))
