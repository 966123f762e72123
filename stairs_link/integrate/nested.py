"""Nesting event rows under their child as Parquet ``list<struct>`` columns, vectorised.

Rows are sorted by (child_id, date) once; each child's slice is then addressed by offsets,
so building a list column costs one sort and one cumulative sum whatever the number of children.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa


def nest(children: pd.Series, events: pa.Table, *, key: str = "child_id") -> pa.ListArray:
    """A list<struct> array aligned to ``children`` (sorted, unique ids): each child's rows of
    ``events`` (already sorted by child then date) without the ``key`` column."""
    ids = events.column(key).to_numpy(zero_copy_only=False).astype(object) if events.num_rows else np.array([], dtype=object)
    order = pd.Index(children)
    positions = order.get_indexer(ids)
    if (positions < 0).any():
        raise ValueError("events refer to a child that is not in the children index")  # bug, not user input
    if len(positions) and (np.diff(positions) < 0).any():
        raise ValueError("events must be sorted by child before nesting")
    counts = np.bincount(positions, minlength=len(order)) if len(positions) else np.zeros(len(order), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    body = events.drop_columns([key])
    struct = pa.StructArray.from_arrays(
        [body.column(i).combine_chunks() for i in range(body.num_columns)],
        fields=list(body.schema),
    )
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), struct)
