"""The Spark engine: ``link`` (blocking joins, comparisons and scoring in Spark; EM on
pattern counts gathered to the driver; distributed connected components, then the embedded
constrained clustering per component) and ``build`` on Spark DataFrames.

pyspark is optional: importing this package does not import pyspark; the functions that need
it call :func:`stairs_link.engine.spark.session.require_pyspark` first, which raises an
:class:`~stairs_link.engine.EngineError` saying how to install it. So the engine's modules
import pyspark inside the functions that use it (importing ``pyspark.sql`` also costs 0.2-0.7 s
that a command not running Spark should not pay); the package's own modules are imported at
module level.
"""

from __future__ import annotations

from stairs_link.engine.spark.session import require_pyspark, spark_session

__all__ = ["require_pyspark", "spark_session"]
