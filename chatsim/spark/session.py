"""The Spark session chatsim runs on, and pyspark imported on first use.

Example:
    >>> spark = get_spark()  # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from chatsim.errors import EngineError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

__all__ = ["get_spark", "pyspark_modules"]


def pyspark_modules() -> tuple[Any, Any, Any]:
    """``SparkSession``, ``pyspark.sql.functions`` and ``pyspark.sql.types`` (imported now).

    Raises :class:`EngineError` saying how to install pyspark when it is missing.
    """
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
    SparkSession, _, _ = pyspark_modules()
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
