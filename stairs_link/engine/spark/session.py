"""SparkSession set-up for stairs-link: loopback-only local sessions, small shuffles, no UI."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from stairs_link import progress
from stairs_link.engine import INSTALL_HINT, EngineError, default_master


def require_pyspark() -> Any:
    """The ``pyspark`` module, or an EngineError telling how to install it."""
    try:
        import pyspark
    except ImportError:
        raise EngineError("the Spark engine needs the optional package pyspark, which is not installed",
                          reason="missing_dependency", fix=f"install it with: {INSTALL_HINT}") from None
    return pyspark


def java_available() -> bool:
    """True when a ``java`` executable is on PATH or JAVA_HOME is set (Spark needs Java 17+)."""
    return bool(os.environ.get("JAVA_HOME") or shutil.which("java"))


def spark_session(master: str | None = None, *, shuffle_partitions: int | None = None,
                  app_name: str = "stairs-link", conf: dict[str, str] | None = None) -> Any:
    """Get (or create) the SparkSession for ``master`` (default: STAIRS_LINK_SPARK_MASTER or local[*]).

    Local masters bind the driver to 127.0.0.1 only and disable the web UI; Arrow is enabled
    for the pandas UDFs that run the embedded engine's kernels.
    """
    require_pyspark()
    if not java_available():
        raise EngineError("the Spark engine needs Java 17 or later, and no java was found",
                          reason="missing_dependency",
                          fix="install a Java 17 runtime and put java on PATH (or set JAVA_HOME)")
    from pyspark.sql import SparkSession

    master = master or default_master()
    local = master.startswith("local")
    parts = shuffle_partitions or (8 if local else 200)
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.sql.shuffle.partitions", str(parts))
               .config("spark.default.parallelism", str(parts))
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "200000")
               .config("spark.sql.adaptive.enabled", "true")
               .config("spark.ui.enabled", "false")
               # Spark's own stage bars on stderr when the CLI draws bars (a terminal, no -q)
               .config("spark.ui.showConsoleProgress", "true" if progress.bars_shown() else "false"))
    if local:
        # local Python workers run this interpreter (the one that has stairs-link installed)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # every Spark service of a local session on the loopback interface, nothing else
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
        builder = (builder.config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1"))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return session
    except Exception as exc:  # Java gateway failures surface as generic exceptions
        raise EngineError(f"cannot start Spark with master '{master}' ({type(exc).__name__}: {exc})",
                          reason="spark_start_failed",
                          fix="check the master URL, that Java 17+ is installed, and the Spark logs") from None
