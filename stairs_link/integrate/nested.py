"""Nesting event rows under their child as Parquet ``list<struct>`` columns, vectorised.

Rows are sorted by (child_id, date) once; each child's slice is then addressed by offsets,
so building a list column costs one sort and one cumulative sum whatever the number of children.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa


def _offsets(children: pd.Series, ids: np.ndarray) -> np.ndarray:
    positions = pd.Index(children).get_indexer(ids)
    if (positions < 0).any():
        raise ValueError("rows refer to a child that is not in the children index")  # a bug, not user input
    if len(positions) and (np.diff(positions) < 0).any():
        raise ValueError("rows must be sorted by child before nesting")
    counts = np.bincount(positions, minlength=len(children)) if len(positions) else np.zeros(len(children), np.int64)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)


def nest_values(children: pd.Series, ids: pd.Series, values: pa.Array) -> pa.ListArray:
    """A list array aligned to ``children`` (sorted, unique ids) of ``values``, whose rows
    belong to ``ids`` (sorted by child)."""
    offsets = _offsets(children, np.asarray(ids, dtype=object))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def nest(children: pd.Series, events: pa.Table, *, key: str = "child_id") -> pa.ListArray:
    """A list<struct> array aligned to ``children`` (sorted, unique ids): each child's rows of
    ``events`` (already sorted by child then date) without the ``key`` column."""
    ids = events.column(key).to_numpy(zero_copy_only=False).astype(object)
    body = events.drop_columns([key])
    struct = pa.StructArray.from_arrays(
        [body.column(i).combine_chunks() for i in range(body.num_columns)],
        fields=list(body.schema),
    )
    return nest_values(children, ids, struct)
