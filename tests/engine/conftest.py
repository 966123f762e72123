"""One local[2] SparkSession for all engine tests (loopback only, no UI, few shuffle partitions)."""

from __future__ import annotations

import pytest

SHUFFLE_PARTITIONS = 2


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark", reason="pyspark not installed (pip install 'stairs-link[spark]')")
    from stairs_link.engine.spark.session import java_available, spark_session

    if not java_available():
        pytest.skip("Java 17+ not found (the Spark engine needs it)")
    # 2 GB for the one JVM that is driver and executors for the whole test session (Spark's
    # default 1 GB ran out once, in CI, after many engine tests had run in the same session)
    # -XX:TieredStopAtLevel=1: the JVM compiles with C1 only. The tests run hundreds of small
    # jobs whose cost is query planning and task set-up, not long loops, so C2's optimising
    # compiler costs CPU it never pays back (tests/engine/test_spark_graph.py: 67 s -> 42 s of
    # CPU). It changes how fast the JVM runs, never what Spark computes.
    # -XX:ReservedCodeCacheSize=256m: with C1 alone the JVM reserves only 48 MB for compiled
    # code, which the engine tests fill in about 40 s ("CodeCache is full. Compiler has been
    # disabled"); every method first needed after that ran interpreted for the rest of the session
    session = spark_session("local[2]", shuffle_partitions=SHUFFLE_PARTITIONS,
                            conf={"spark.driver.memory": "2g",
                                  "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 "
                                                                   "-XX:ReservedCodeCacheSize=256m"})
    yield session
    session.stop()


@pytest.fixture(autouse=True)
def _test_session_settings(request):
    """The CLI tests start the engine as a user would (``spark_session(master)``), which sets
    the local default of 8 shuffle partitions on the shared session; later tests get the test
    session's few partitions back, as when run on their own."""
    yield
    if "spark" in request.fixturenames:
        request.getfixturevalue("spark").conf.set("spark.sql.shuffle.partitions", str(SHUFFLE_PARTITIONS))


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
