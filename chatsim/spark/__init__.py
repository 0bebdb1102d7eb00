"""Evaluate rules on a Spark DataFrame: the same rule logic as polars, run by Spark.

The rule logic is :mod:`chatsim.engine` (narwhals): this module only supplies the
Spark session, reading and validating a log folder with Spark, and the few Spark
primitives the engine needs (epoch microseconds, per-row time-zone conversion).
The business-hours clock is polars-only: a business-clock rule raises
:class:`~chatsim.errors.EngineError` here.

One module per part: :mod:`~chatsim.spark.session` (the session), :mod:`~chatsim.spark.read`
(reading and validating), :mod:`~chatsim.spark.evaluate` (the Spark backend, compare_spark).

* :func:`get_spark` returns the active session, or starts one: ``local[*]`` unless
  ``CHATSIM_SPARK_MASTER``, ``spark-submit --master``, ``PYSPARK_SUBMIT_ARGS`` or
  ``spark-defaults.conf`` say otherwise; quiet (no progress bars unless asked) and,
  on a local master, sized for one machine (:func:`spark_settings`).
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

from chatsim.spark.evaluate import compare_spark
from chatsim.spark.read import SparkLog, read_log_spark
from chatsim.spark.session import get_spark, spark_settings

__all__ = ["SparkLog", "compare_spark", "get_spark", "read_log_spark", "spark_settings"]
