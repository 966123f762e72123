"""Distributed helpers: a dense row index in the current row order, and connected components
by iterative min-label propagation (no vertex or edge list is gathered to the driver)."""

from __future__ import annotations

from typing import Any

from stairs_link.engine import EngineError

# pyspark is imported inside functions: optional and slow to import (engine/spark/__init__.py)

ROW_BITS = 33  # monotonically_increasing_id = partition id << 33 | row within partition


def with_row_index(df: Any, name: str = "idx") -> Any:
    """``df`` with a 0-based int64 column ``name`` numbering rows in their current order
    (partition by partition, as read or as sorted). Only one count per partition reaches the
    driver. The input is persisted so the numbering is computed on a stable row order."""
    from pyspark.sql import functions as F

    tagged = df.withColumn("_mid", F.monotonically_increasing_id()).persist()
    part = F.shiftright(F.col("_mid"), ROW_BITS)
    counts = {int(r["p"]): int(r["n"]) for r in tagged.groupBy(part.alias("p")).agg(F.count("*").alias("n")).collect()}
    offsets, total = {}, 0
    for p in sorted(counts):
        offsets[p] = total
        total += counts[p]
    spark = df.sparkSession
    table = spark.createDataFrame([(p, o) for p, o in offsets.items()] or [(0, 0)], "p long, _off long")
    row = F.col("_mid").bitwiseAND(F.lit((1 << ROW_BITS) - 1))
    out = (tagged.withColumn("p", part).join(F.broadcast(table), "p")
           .withColumn(name, F.col("_off") + row).drop("p", "_off", "_mid"))
    return out


def _without_stats(df: Any) -> Any:
    """``df`` re-wrapped over its (checkpointed) rows so the optimizer forgets its size
    estimate: without this, the estimates of a self-join loop square each round and overflow
    (Spark keeps a checkpoint's original statistics)."""
    try:
        from pyspark.sql.classic.dataframe import DataFrame

        session = df.sparkSession
        jdf = session._jsparkSession.createDataFrame(df._jdf.rdd(), df._jdf.schema())
        return DataFrame(jdf, session)
    except Exception:  # a Spark without these internals: keep the plan (correct, fewer rounds fit)
        return df


def connected_components(edges: Any, src: str = "i", dst: str = "j", *, max_iterations: int = 200) -> Any:
    """(v, c) for every vertex on an edge; c = the smallest vertex id of its connected component.

    Graph contraction: each round every vertex maps to the smallest of itself and its
    neighbours, the edges are rewritten between those representatives (self-loops and
    duplicates dropped), and the vertex -> representative map is composed. Every vertex with a
    smaller neighbour disappears each round, so the graph shrinks geometrically on paths and
    chains (plain min-label propagation needs one round per hop). The component minimum never
    maps elsewhere, so it is what remains. Checkpointed each round; nothing goes to the driver."""
    from pyspark.sql import functions as F

    e = edges.select(F.least(F.col(src), F.col(dst)).cast("long").alias("a"),
                     F.greatest(F.col(src), F.col(dst)).cast("long").alias("b")).where("a != b").distinct()
    e = _without_stats(e.localCheckpoint())
    mapping = None
    for _ in range(max_iterations):
        both = e.union(e.select(F.col("b").alias("a"), F.col("a").alias("b")))
        rep = _without_stats(both.groupBy("a").agg(F.min("b").alias("m"))
                             .select(F.col("a").alias("v"), F.least("a", "m").alias("r")).localCheckpoint())
        if mapping is None:
            mapping = rep.withColumnRenamed("r", "c")
        else:
            mapping = (mapping.join(rep.withColumnRenamed("v", "c"), "c", "left")
                       .select("v", F.coalesce("r", "c").alias("c")))
        mapping = _without_stats(mapping.localCheckpoint())
        ra = rep.select(F.col("v").alias("a"), F.col("r").alias("ra"))
        rb = rep.select(F.col("v").alias("b"), F.col("r").alias("rb"))
        e = (e.join(ra, "a").join(rb, "b")
             .select(F.least("ra", "rb").alias("a"), F.greatest("ra", "rb").alias("b"))
             .where("a != b").distinct())
        e = _without_stats(e.localCheckpoint())
        if e.limit(1).count() == 0:
            return mapping
    raise EngineError(f"connected components did not converge in {max_iterations} rounds",
                      reason="no_convergence", fix="report this; it means an extremely long chain of links")
