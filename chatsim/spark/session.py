"""The Spark session chatsim runs on, and pyspark imported on first use.

A session chatsim starts is quiet and suited to where it runs: no console progress bars
unless asked (``progress=True`` or ``CHATSIM_SPARK_PROGRESS=1``), log level WARN, its
warehouse and Derby files in a temporary folder (removed at exit), never the working
directory. On a local master (``local[...]``) the web UI is off and
``spark.sql.shuffle.partitions`` is the number of local cores (Spark's 200 suit a
cluster; a local run of a small log spent most of its time scheduling empty tasks),
unless the Spark configuration sets them. A session that is already active is used as
it is.

Example:
    >>> spark = get_spark()  # doctest: +SKIP
    >>> spark.conf.get("spark.sql.shuffle.partitions")  # doctest: +SKIP
    '2'
"""

from __future__ import annotations

import atexit
import os
import re
import shlex
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatsim.errors import EngineError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

__all__ = ["LOCAL_SETTINGS", "PROGRESS_ENV", "get_spark", "pyspark_modules", "spark_settings"]

#: Environment variable that turns Spark's console progress bars on ("1", "true", "yes").
PROGRESS_ENV = "CHATSIM_SPARK_PROGRESS"

#: Settings of a session chatsim starts on a local master (the Spark configuration
#: wins where it sets them): no web UI, adaptive execution coalescing small shuffles.
LOCAL_SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
}

_SCRATCH: list[str] = []  # the temporary folder of this process's sessions, once made


def pyspark_modules() -> tuple[Any, Any, Any]:
    """``SparkSession``, ``pyspark.sql.functions`` and ``pyspark.sql.types`` (imported now).

    Raises :class:`EngineError` saying how to install pyspark when it is missing.
    """
    try:
        with warnings.catch_warnings():
            # pyspark's first call into Java imports pyspark.testing.utils, which warns
            # that pandas 3 is not yet fully supported; chatsim exchanges data with
            # Spark through Arrow, not pandas: import it here, with that warning off
            warnings.filterwarnings("ignore", message=".*pandas", category=FutureWarning)
            import pyspark.testing.utils  # noqa: F401
            from pyspark.sql import SparkSession
            from pyspark.sql import functions as F
            from pyspark.sql import types as T
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise EngineError(
            "the Spark engine needs pyspark: pip install 'chatsim[spark]' (and Java 17+)."
        ) from exc
    return SparkSession, F, T


def _scratch_dir() -> str:
    """A temporary folder for the session's warehouse and Derby files, removed at exit."""
    if not _SCRATCH:
        path = tempfile.mkdtemp(prefix="chatsim-spark-")
        atexit.register(shutil.rmtree, path, ignore_errors=True)
        _SCRATCH.append(path)
    return _SCRATCH[0]


def _configured_master() -> str | None:
    """The master the usual Spark configuration names (``PYSPARK_SUBMIT_ARGS --master``,
    else ``spark.master`` in ``spark-defaults.conf``), None if neither does."""
    args = shlex.split(os.environ.get("PYSPARK_SUBMIT_ARGS", ""))
    for i, arg in enumerate(args):
        if arg == "--master" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--master="):
            return arg.split("=", 1)[1]
    conf_dir = os.environ.get("SPARK_CONF_DIR") or (
        os.path.join(os.environ["SPARK_HOME"], "conf") if os.environ.get("SPARK_HOME") else None
    )
    if conf_dir and (Path(conf_dir) / "spark-defaults.conf").is_file():
        text = (Path(conf_dir) / "spark-defaults.conf").read_text(errors="replace")
        for line in text.splitlines():
            m = re.match(r"\s*spark\.master[\s=]+(\S+)", line)
            if m:
                return m.group(1)
    return None


def spark_settings(master: str, *, progress: bool | None = None) -> dict[str, str]:
    """The settings chatsim gives a session it starts on ``master``.

    Progress bars follow ``progress``, else :data:`PROGRESS_ENV`; a local master also gets
    :data:`LOCAL_SETTINGS`.

    Example:
        >>> spark_settings("local[2]", progress=False)["spark.ui.showConsoleProgress"]
        'false'
        >>> "spark.ui.enabled" in spark_settings("yarn", progress=True)
        False
    """
    if progress is None:
        progress = os.environ.get(PROGRESS_ENV, "").strip().lower() in ("1", "true", "yes")
    scratch = _scratch_dir()
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "true" if progress else "false",
        "spark.sql.warehouse.dir": os.path.join(scratch, "warehouse"),
    }
    if master.startswith("local"):
        settings.update(LOCAL_SETTINGS)
    return settings


def _explicit(spark: SparkSession, key: str, settings: dict[str, str]) -> bool:
    """True if the Spark configuration (not chatsim) sets ``key``."""
    return key not in settings and spark.sparkContext.getConf().contains(key)


def get_spark(
    master: str | None = None, app_name: str = "chatsim", *, progress: bool | None = None
) -> SparkSession:
    """The active Spark session, or a new one (see the module's description).

    The master is ``master`` if given, else ``CHATSIM_SPARK_MASTER``, else whatever the
    usual Spark configuration says (``spark-submit --master``, ``PYSPARK_SUBMIT_ARGS``,
    ``spark-defaults.conf``), else ``local[*]``. The session time zone is set to UTC
    (chatsim's timestamps are UTC; shop-local times are computed per row). ``progress``
    turns Spark's console progress bars on or off (default: :data:`PROGRESS_ENV`).
    """
    SparkSession, _, _ = pyspark_modules()
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        active.conf.set("spark.sql.session.timeZone", "UTC")
        return active
    master = master or os.environ.get("CHATSIM_SPARK_MASTER")
    planned = master or _configured_master() or "local[*]"
    settings = spark_settings(planned, progress=progress)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    # otherwise the master is left to Spark: spark-submit --master, PYSPARK_SUBMIT_ARGS or
    # spark-defaults.conf if they set one, else local[*] (the launcher's default)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # pragma: no cover - depends on the environment
        raise EngineError(
            f"could not start a Spark session ({exc}); is Java 17+ installed?"
        ) from exc
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    system = sc._jvm.java.lang.System
    if system.getProperty("derby.system.home") is None:
        # Derby (a Hive metastore) reads it when it first starts, never before
        system.setProperty("derby.system.home", os.path.join(_scratch_dir(), "derby"))
    if sc.master.startswith("local") and not _explicit(
        spark, "spark.sql.shuffle.partitions", settings
    ):
        spark.conf.set("spark.sql.shuffle.partitions", str(max(1, sc.defaultParallelism)))
    return spark
