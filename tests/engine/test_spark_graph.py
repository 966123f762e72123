"""Distributed helpers: dense row index in input order, connected components vs scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components


def test_row_index_numbers_rows_in_order_across_partitions(spark):
    from stairs_link.engine.spark.graph import with_row_index

    frame = pd.DataFrame({"value": np.arange(1000)[::-1]})
    df = spark.createDataFrame(frame).repartition(1).union(spark.createDataFrame(frame.iloc[:10]))
    out = with_row_index(df).toPandas().sort_values("idx")
    assert out["idx"].tolist() == list(range(1010))
    assert out["value"].tolist() == frame["value"].tolist() + frame["value"].iloc[:10].tolist()


def test_connected_components_match_scipy_on_chains_and_stars(spark):
    from stairs_link.engine.spark.graph import connected_components

    rng = np.random.default_rng(3)
    chain = np.arange(40, 70)  # a long chain needs several propagation rounds
    i = np.r_[chain[:-1], np.full(9, 5), rng.integers(100, 200, 60)]
    j = np.r_[chain[1:][::-1][::-1], np.arange(6, 15), rng.integers(100, 200, 60)]
    keep = i != j
    i, j = i[keep], j[keep]
    out = connected_components(spark.createDataFrame(pd.DataFrame({"i": i, "j": j}))).toPandas()
    n = int(max(i.max(), j.max())) + 1
    _, labels = scipy_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), directed=False)
    vertices = np.unique(np.r_[i, j])
    expected = pd.Series(vertices, index=vertices).groupby(labels[vertices]).transform("min")
    got = out.set_index("v")["c"].reindex(vertices)
    assert got.tolist() == expected.tolist()


def test_connected_components_of_a_long_shuffled_path(spark):
    """A chain of 400 links with shuffled ids (one hop per round for plain label propagation)."""
    from stairs_link.engine.spark.graph import connected_components

    perm = np.random.default_rng(0).permutation(400)
    frame = pd.DataFrame({"i": perm[:-1], "j": perm[1:]})
    out = connected_components(spark.createDataFrame(frame), max_iterations=30).toPandas()
    assert len(out) == 400 and set(out["c"]) == {0}
