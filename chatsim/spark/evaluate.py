"""The rules on Spark: the engine's narwhals rule logic with a Spark backend.

:func:`compare_spark` returns a :class:`chatsim.metrics.Evaluation` whose tables equal
:func:`chatsim.metrics.compare`'s, row for row. This module supplies only what the rule
logic (:mod:`chatsim.engine`) needs from Spark: epoch microseconds, per-row time-zone
conversion and caching.

Example:
    >>> ev = compare_spark("chatsim/data/sample_log")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import narwhals as nw
import polars as pl

from chatsim import engine as E
from chatsim.engine.finish import shop_inputs
from chatsim.errors import EngineError
from chatsim.metrics import Evaluation, check_rule_list, data_cutoff
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from chatsim.schema import align_id, check_countries
from chatsim.spark.read import SparkLog, read_log_spark
from chatsim.spark.session import get_spark, pyspark_modules

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["compare_spark"]


_US_DAY = 86_400_000_000


def _spark_backend(spark: SparkSession, cached: list[DataFrame]) -> E.Backend:
    """The engine's Spark backend; every frame it caches is appended to ``cached`` so the
    caller can release it (cached frames otherwise stay in the driver's memory for the
    session's life, and a long session runs out of room to broadcast joins)."""
    _, F, _ = pyspark_modules()

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

    def add_local_day(lf: nw.LazyFrame) -> nw.LazyFrame:
        # the local wall clock as microseconds since 1970-01-01, split into day and time
        local = F.from_utc_timestamp(F.timestamp_micros(F.col("_open_us")), F.col("timezone"))
        df = native(lf).withColumn("_lus", F.unix_micros(local))
        df = df.withColumn("_lday", F.expr(f"_lus div {_US_DAY}"))
        return nw.from_native(
            df.withColumn("_ltod", F.col("_lus") - F.col("_lday") * _US_DAY).drop("_lus")
        )

    def from_polars(df: pl.DataFrame) -> nw.LazyFrame:
        return nw.from_native(_to_spark(spark, df))

    def materialize(lf: nw.LazyFrame) -> nw.LazyFrame:
        df = native(lf).cache()
        cached.append(df)
        return nw.from_native(df)

    return E.Backend(
        window=E.PerConversation(),
        add_epoch_us=add_epoch_us,
        add_timestamps=add_timestamps,
        add_local_week=add_local_week,
        add_business=None,
        materialize=materialize,
        name="spark",
        add_local_day=add_local_day,
        from_polars=from_polars,
    )


def _to_spark(spark: SparkSession, df: pl.DataFrame) -> DataFrame:
    return spark.createDataFrame(df.to_arrow())


def _cutoff(
    messages: DataFrame, as_of: dt.datetime | str | None, source: str
) -> tuple[dt.datetime, int, int]:
    """The data cutoff (:func:`chatsim.metrics.data_cutoff`), the number of messages and
    of messages after the cutoff: one Spark job."""
    _, F, _ = pyspark_modules()
    given = None if as_of is None else data_cutoff(as_of, None, source)
    sent = F.unix_micros("sent_at")
    after = F.lit(0) if given is None else F.when(sent > E.epoch_us(given), 1).otherwise(0)
    row = messages.agg(
        F.count(F.lit(1)).alias("n"), F.max(sent).alias("end"), F.sum(after).alias("after")
    ).first()
    end = None
    if row["end"] is not None:
        end = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(row["end"]))
    return data_cutoff(as_of, end, source), int(row["n"]), int(row["after"] or 0)


def _side_tables(
    slog: SparkLog, msgs: DataFrame, cutoff: dt.datetime
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The side tables with their ids as the messages' (text or 64-bit integers)."""
    _, _, T = pyspark_modules()
    want = {
        f.name: pl.String if isinstance(f.dataType, T.StringType) else pl.Int64
        for f in msgs.schema.fields
    }
    src = slog.source
    shops = align_id(slog.shops, "shop_id", want["shop_id"], f"{src}:shops")
    hol = align_id(slog.holiday_mode, "shop_id", want["shop_id"], f"{src}:holiday_mode")
    blk = align_id(slog.blocked, "shop_id", want["shop_id"], f"{src}:blocked")
    blk = align_id(blk, "buyer_id", want["buyer_id"], f"{src}:blocked")
    return shops, hol, blk.filter(pl.col("blocked_at") <= cutoff)


def compare_spark(
    log: str | Path | SparkLog,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    *,
    as_of: dt.datetime | str | None = None,
    spark: SparkSession | None = None,
    collect_chats: bool = True,
    progress: bool | None = None,
) -> Evaluation:
    """:func:`chatsim.metrics.compare` on Spark: same rules, same tables (as polars).

    ``log`` is a path (read with :func:`read_log_spark`) or a :class:`SparkLog`. The shop
    table is collected (one row per shop and rule). With ``collect_chats=False`` the
    ``chats`` attribute is a dict ``{rule name: Spark DataFrame}`` of the judged chats
    instead, to write with Spark (cluster-scale logs); timestamps are UTC. ``progress``
    shows Spark's console progress bars in a session started here (:func:`get_spark`).

    One Spark job gives the cutoff and message counts; each rule's judged chats are then
    collected once and the shop table computed from them with polars (the polars engine's
    :func:`chatsim.engine.shop_frame`); with ``collect_chats=False`` Spark computes it.
    Intermediate frames cached on the way are released once everything is collected; with
    ``collect_chats=False`` they stay cached while the returned frames may need them (they
    go with the session, or ``spark.catalog.clearCache()``).
    """
    rules = check_rule_list(rules, "compare_spark()")
    for r in rules:
        if r.clock == "business":
            raise EngineError(
                f"rule '{r.name}': the business-hours clock is not available on the spark "
                "engine; use the polars engine (chatsim metrics --engine polars)."
            )
        if r.deadline == "daily_cutoff":
            raise EngineError(
                f"rule '{r.name}': the daily_cutoff deadline is not supported on the spark "
                "engine; use the polars engine (chatsim metrics --engine polars, or the "
                "buckets engine)."
            )
    spark = spark or get_spark(progress=progress)
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    slog = log if isinstance(log, SparkLog) else read_log_spark(log, spark)
    _, F, _ = pyspark_modules()
    cutoff, n_messages, n_after = _cutoff(slog.messages, as_of, slog.source)
    msgs = slog.messages.filter(F.unix_micros("sent_at") <= E.epoch_us(cutoff))

    shops, hol, blk = _side_tables(slog, msgs, cutoff)

    def sdf(df: pl.DataFrame) -> nw.LazyFrame:
        if df.height == 0:
            df = df.clear(1)  # a typed one-row frame Spark can infer; never joined
        return nw.from_native(_to_spark(spark, df))

    shops_s = sdf(shops)
    holiday_rules = [r.name for r in rules if "public_holiday" in r.exclusions]
    if holiday_rules:
        check_countries(shops, f"{slog.source}:shops", holiday_rules)
    cached: list[DataFrame] = []
    be = _spark_backend(spark, cached)
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
            # one collect per rule; the shop table from the collected chats, as polars does
            df = judged.collect("polars").to_native()
            shop_in = nw.from_native(df.lazy().select(shop_inputs(df.columns)))
            shop = E.shop_frame(shop_in, nw.from_native(shops.lazy()), rule)
            shop_frames.append(E.finish_shops(shop.collect("polars").to_native(), shops, rule))
            ids = {c: df.schema[c] for c in ("shop_id", E.CONV, "buyer_id")}
            chat_frames.append(E.finish_chats(df, ids))
        else:
            shop = E.shop_frame(judged, shops_s, rule).collect("polars").to_native()
            shop_frames.append(E.finish_shops(shop, shops, rule))
            chat_tables[rule.name] = E.with_labels(judged).to_native()
    if collect_chats:
        # everything is collected: release the cached intermediates (with
        # collect_chats=False the returned chat frames still read them)
        for df in cached:
            df.unpersist()
    chats: Any = pl.concat(chat_frames, how="vertical") if collect_chats else chat_tables
    return Evaluation(
        rules=rules,
        as_of=cutoff,
        chats=chats,
        shops=pl.concat(shop_frames, how="vertical_relaxed"),
        messages_used=n_messages - n_after,
        messages_after_cutoff=n_after,
    )
