"""One local[2] SparkSession for all engine tests (loopback only, no UI, few shuffle partitions)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark", reason="pyspark not installed (pip install 'stairs-link[spark]')")
    from stairs_link.engine.spark.session import java_available, spark_session

    if not java_available():
        pytest.skip("Java 17+ not found (the Spark engine needs it)")
    # 2 GB for the one JVM that is driver and executors for the whole test session (Spark's
    # default 1 GB ran out once, in CI, after many engine tests had run in the same session)
    session = spark_session("local[2]", shuffle_partitions=2, conf={"spark.driver.memory": "2g"})
    yield session
    session.stop()


@pytest.fixture
def no_pyspark(monkeypatch):
    """Make ``import pyspark`` (and its submodules) fail, as on a machine without it."""
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError("No module named 'pyspark'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
