"""Distributed helpers: a dense row index in the current row order, and connected components
by iterative min-label propagation (no vertex or edge list is gathered to the driver)."""

from __future__ import annotations

from typing import Any

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


def connected_components(edges: Any, src: str = "i", dst: str = "j", *, max_iterations: int = 200) -> Any:
    """(vertex, component) for every vertex on an edge; component = the smallest vertex id of
    its connected component. Min-label propagation along edges plus pointer jumping
    (label <- label of label), checkpointed each round to keep query plans short."""
    from pyspark.sql import functions as F

    e = edges.select(F.col(src).cast("long").alias("a"), F.col(dst).cast("long").alias("b")).persist()
    both = e.union(e.select(F.col("b").alias("a"), F.col("a").alias("b")))
    # start: each vertex takes the smallest neighbour id (or itself)
    labels = (both.groupBy("a").agg(F.min("b").alias("m"))
              .select(F.col("a").alias("v"), F.least("a", "m").alias("c"))).localCheckpoint()
    for _ in range(max_iterations):
        # each vertex takes the smallest label among itself and its neighbours ...
        via_edges = (both.join(labels.withColumnRenamed("v", "b").withColumnRenamed("c", "cb"), "b")
                     .groupBy("a").agg(F.min("cb").alias("cn")).withColumnRenamed("a", "v"))
        step = (labels.join(via_edges, "v", "left")
                .select("v", F.col("c").alias("old"), F.least("c", F.coalesce("cn", "c")).alias("c"))
                .localCheckpoint())
        # ... then the label of its label (pointer jumping: chains shrink geometrically)
        jump = step.join(step.select(F.col("v").alias("c"), F.col("c").alias("cc")), "c", "left")
        new = jump.select("v", "old", F.least("c", F.coalesce("cc", "c")).alias("c")).localCheckpoint()
        changed = new.where(F.col("c") != F.col("old")).limit(1).count()
        labels = new.drop("old")
        if changed == 0:
            e.unpersist()
            return labels
    e.unpersist()
    from stairs_link.engine import EngineError

    raise EngineError(f"connected components did not converge in {max_iterations} rounds",
                      reason="no_convergence", fix="report this; it means an extremely long chain of links")
