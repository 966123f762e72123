"""Field paths evaluated on Arrow arrays: the vectorised twin of :mod:`stairs_link.io.paths`.

The NDJSON reader parses lines with Arrow's JSON reader (C++, no Python object per value)
against an explicit schema holding only what the mapping's paths touch, then evaluates each
path here with pyarrow.compute and numpy: a FHIRPath collection is a flat array of values with
the record (row) each belongs to, kept in row order, so indexes, slices, filters and
fallbacks are per-row position arithmetic. Results equal :func:`stairs_link.io.paths.evaluate`
on the same records (tests/readers check both on the same data).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stairs_link.io.paths import Choice, FieldPath, Filter, Index, Key, Slice

OK, NOT_SCALAR, SEVERAL = 0, 1, 2


class ShapeError(ValueError):
    """The records do not have one JSON shape per key (the fast path cannot be used)."""


def _merge(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _merge(out.get(k), v)
        return out
    if isinstance(a, list) and isinstance(b, list):
        return [_merge(a[0], b[0])]
    if isinstance(a, str) and isinstance(b, str):
        if a == b:
            return a
        if {a, b} <= {"int", "float"}:
            return "float"
    raise ShapeError(f"two shapes for one key: {a!r} and {b!r}")


def _shape(value: Any) -> Any:
    """JSON shape: dict of shapes, [shape], or 'str'/'int'/'float'/'bool' (None: only nulls)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        shape = None
        for item in value:
            shape = _merge(shape, _shape(item))
        return [shape]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def _shape_within(value: Any, tree: dict) -> Any:
    """:func:`_shape` of only the keys in ``tree`` (an object no path looks inside keeps its
    first member, which is all :func:`_arrow_type` needs of it)."""
    if isinstance(value, list):
        shape = None
        for item in value:
            shape = _merge(shape, _shape_within(item, tree))
        return [shape]
    if isinstance(value, dict):
        if not tree:
            first = next(((k, v) for k, v in value.items() if v is not None), None)
            return {} if first is None else {first[0]: _shape(first[1])}
        return {k: _shape_within(value[k], tree[k]) for k in tree if k in value}
    return _shape(value)


def key_tree(paths: list[FieldPath]) -> dict:
    """The key tree the paths (and their filters) touch: {key: {subkey: {...}}}, lists implicit."""
    tree: dict = {}
    for path in paths:
        nodes = [tree]
        for step in path.steps:
            if isinstance(step, Key):
                nodes = [node.setdefault(step.name, {}) for node in nodes]
            else:
                for option in step.options:
                    if isinstance(option, Filter):
                        for node in nodes:
                            sub = node
                            for name in option.key:
                                sub = sub.setdefault(name, {})
    return tree


_SCALARS = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}


def _arrow_type(shape: Any, tree: dict) -> pa.DataType | None:
    if isinstance(shape, list):
        inner = _arrow_type(shape[0], tree)
        return None if inner is None else pa.list_(inner)
    if isinstance(shape, dict):
        fields = [(k, t) for k in tree if k in shape and (t := _arrow_type(shape[k], tree[k])) is not None]
        if not fields:  # an object no path looks inside: keep one member, so it is seen as an object
            first = next((k for k in shape if shape[k] is not None), None)
            if first is None:
                raise ShapeError("an object with no members in the sample")
            fields = [(first, _arrow_type(shape[first], {}))]
        return pa.struct(fields)
    if shape is None:
        return pa.string()  # seen only as null in the sample: a string if it ever has a value
    return _SCALARS[shape]


def schema_for(paths: list[FieldPath], sample: list[Any]) -> pa.Schema:
    """An explicit Arrow schema with only the keys the paths touch, typed as the sample shows.

    Raises ShapeError when a key has two shapes (e.g. a list in one record and an object in
    another): then the reader uses the per-record evaluator instead."""
    tree = key_tree(paths)
    shape: Any = None
    try:
        for record in sample:
            if isinstance(record, dict):
                shape = _merge(shape, _shape_within(record, tree))
    except RecursionError:  # nesting deeper than Python's stack: the per-record reader copes
        raise ShapeError("records nested too deeply") from None
    shape = shape or {}
    fields = []
    for key, sub in tree.items():
        arrow = _arrow_type(shape.get(key), sub) if key in shape else pa.string()
        if arrow is not None:
            fields.append((key, arrow))
    return pa.schema(fields)


class _Coll:
    """A collection per row: ``values`` (Arrow array) and the row each value belongs to."""

    def __init__(self, values: pa.Array, rows: np.ndarray) -> None:
        self.values = values
        self.rows = rows

    def keep(self, mask: np.ndarray) -> _Coll:
        return _Coll(self.values.filter(pa.array(mask)), self.rows[mask])


def _positions(rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Position of each value within its row's collection, and each value's row count."""
    counts = np.bincount(rows, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.arange(len(rows)) - starts[rows], counts[rows]


def _text(values: pa.Array) -> pa.Array:
    """Scalars as the per-record evaluator writes them (integers without '.0', true/false)."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return pc.utf8_trim_whitespace(values)
    if pa.types.is_floating(values.type):
        whole = pc.equal(values, pc.round(values))
        return pc.if_else(whole, pc.cast(pc.cast(values, pa.int64(), safe=False), pa.string()),
                          pc.cast(values, pa.string()))
    return pc.cast(values, pa.string())


def _key_text(values: pa.Array, key: tuple[str, ...]) -> pa.Array:
    for name in key:
        if not pa.types.is_struct(values.type) or values.type.get_field_index(name) < 0:
            return pa.nulls(len(values), pa.string())
        values = pc.struct_field(values, name)
        if pa.types.is_list(values.type):  # a list with one element counts as that element
            one = pc.equal(pc.list_value_length(values), 1)
            values = pc.if_else(one, pc.list_element(values, 0), pa.nulls(len(values), values.type.value_type))
    if pa.types.is_struct(values.type) or pa.types.is_list(values.type):
        return pa.nulls(len(values), pa.string())
    return _text(values)


def _select(option: Index | Slice | Filter, coll: _Coll, n: int) -> np.ndarray:
    position, count = _positions(coll.rows, n)
    if isinstance(option, Index):
        at = option.at
        return position == (at if at >= 0 else count + at)
    if isinstance(option, Slice):
        first = np.full(len(count), 0 if option.start is None else option.start, dtype=np.int64)
        last = count.astype(np.int64) if option.stop is None else np.full(len(count), option.stop, dtype=np.int64)
        first = np.where(first < 0, count + first, first)
        last = np.where(last < 0, count + last, last)
        return (position >= first) & (position < last)
    equal = pc.equal(_key_text(coll.values, option.key), option.value)
    return np.asarray(pc.fill_null(equal, False).to_numpy(zero_copy_only=False), dtype=bool)


def _step(step: Key | Choice, coll: _Coll, n: int) -> _Coll:
    if isinstance(step, Key):
        values = coll.values
        if not pa.types.is_struct(values.type) or values.type.get_field_index(step.name) < 0:
            return _Coll(pa.nulls(0, pa.string()), np.zeros(0, dtype=np.int64))
        field = pc.struct_field(values, step.name)
        rows = coll.rows
        if pa.types.is_list(field.type):
            parents = pc.list_parent_indices(field).to_numpy()
            rows = rows[parents]
            field = pc.list_flatten(field)
        valid = np.asarray(field.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        return _Coll(field, rows).keep(valid) if not valid.all() else _Coll(field, rows)
    chosen = np.full(n, -1, dtype=np.int64)
    masks = []
    for k, option in enumerate(step.options):
        mask = _select(option, coll, n)
        masks.append(mask)
        hit = np.zeros(n, dtype=bool)
        hit[coll.rows[mask]] = True
        chosen = np.where((chosen < 0) & hit, k, chosen)
    keep = np.zeros(len(coll.rows), dtype=bool)
    for k, mask in enumerate(masks):
        keep |= mask & (chosen[coll.rows] == k)
    return coll.keep(keep)


def evaluate_arrow(path: FieldPath, records: pa.StructArray, join: str = " ") -> tuple[pa.Array, np.ndarray]:
    """(text per record, problem per record: OK / NOT_SCALAR / SEVERAL) for ``path``."""
    n = len(records)
    coll = _Coll(records, np.arange(n, dtype=np.int64))
    for step in path.steps:
        coll = _step(step, coll, n)
        if len(coll.rows) == 0:
            return pa.nulls(n, pa.string()), np.zeros(n, dtype=np.int8)
    counts = np.bincount(coll.rows, minlength=n)
    problem = np.zeros(n, dtype=np.int8)
    values = coll.values
    if pa.types.is_struct(values.type) or pa.types.is_list(values.type):
        problem[counts > 0] = NOT_SCALAR
        return pa.nulls(n, pa.string()), problem
    text = _text(values)
    if not path.joins:
        problem[counts > 1] = SEVERAL
        index = np.full(n, -1, dtype=np.int64)
        single = np.flatnonzero(counts[coll.rows] == 1)
        index[coll.rows[single]] = single
        result = pc.take(text, pa.array(index, mask=index < 0))
        return pc.if_else(pc.equal(result, ""), pa.scalar(None, pa.string()), result), problem
    nonblank = np.asarray(pc.fill_null(pc.not_equal(text, ""), False).to_numpy(zero_copy_only=False), dtype=bool)
    rows = coll.rows[nonblank]
    text = text.filter(pa.array(nonblank))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), text), join)
    return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined), problem
