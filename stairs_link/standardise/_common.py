"""Shared plumbing for the standardisers: the result type and string conversion helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Every text result is a pandas string column backed by Arrow: fast, null-aware (pd.NA) and
# cast to the canonical Arrow ``string`` type without a copy by ``schema.write_table``.
STRING_DTYPE = pd.StringDtype("pyarrow")

# RE2's \s is ASCII-only: add Unicode separators (no-break space from spreadsheets) and the
# zero-width space / byte-order mark that survive copy-and-paste.
WHITESPACE_RE = r"[\s\p{Z}\x{200B}\x{FEFF}]+"


class Standardised(NamedTuple):
    """Result of a validating standardiser.

    ``value`` is the canonical value, null where the raw value was null/blank or invalid;
    ``invalid`` is True where the raw value was non-blank but failed, so the caller can report
    the raw value (issue 2: nothing is silently nulled); ``reason`` is the machine-readable
    reason for those rows (e.g. ``invalid_nhs_number``).
    """

    value: pd.Series
    invalid: pd.Series
    reason: str


def as_series(s: Any) -> pd.Series:
    """Accept a Series or any list-like; a scalar becomes a one-element Series."""
    if isinstance(s, pd.Series):
        return s
    if isinstance(s, (pd.Index, np.ndarray, list, tuple, pa.Array, pa.ChunkedArray)):
        return pd.Series(s)
    return pd.Series([s])


def to_text(s: Any) -> pd.Series:
    """Any column -> Arrow-backed strings, nulls preserved, index preserved.

    Integral floats (an id column read as float because of a gap) become ``"123"``, not
    ``"123.0"``; everything else is ``str()``-formatted by pandas.
    """
    s = as_series(s)
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        return s
    if pd.api.types.is_float_dtype(s.dtype):
        finite = s.dropna()
        if len(finite) and bool(np.all(np.mod(finite.to_numpy(dtype="float64"), 1) == 0)):
            s = s.astype("Int64")
    return s.astype(STRING_DTYPE)


def arrow_of(s: pd.Series) -> pa.Array:
    """The Arrow string array behind a text Series (see :func:`to_text`)."""
    arr = pa.array(to_text(s).array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.string()) if arr.type != pa.string() else arr


def from_arrow(arr: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """Arrow string array -> Arrow-backed pandas string Series with the caller's index."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=index, dtype=STRING_DTYPE)


def squeeze(arr: pa.Array) -> pa.Array:
    """Trim, collapse runs of whitespace to one space, and turn blanks into nulls."""
    arr = pc.replace_substring_regex(arr, WHITESPACE_RE, " ")
    arr = pc.utf8_trim(arr, " ")
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def tidy_strings(s: Any) -> pd.Series:
    """Any column -> tidied text (trimmed, single spaces, blank -> null), index kept."""
    s = as_series(s)
    return from_arrow(squeeze(arrow_of(s)), s.index)


def on_distinct(arr: pa.Array, fn: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """Apply an element-wise Arrow function to each distinct value once, then expand back.

    Names, dates and codes repeat heavily in exports; hashing them once (``dictionary_encode``)
    is far cheaper than running regexes and normalisation on every row.
    """
    encoded = pc.dictionary_encode(arr)
    return fn(encoded.dictionary).take(encoded.indices)


def compact(arr: pa.Array) -> pa.Array:
    """Upper-case and remove every space (identifiers written with spaces, ``943 476 5919``)."""
    arr = pc.utf8_upper(arr)
    arr = pc.replace_substring_regex(arr, WHITESPACE_RE, "")
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def char_matrix(arr: pa.Array, width: int) -> np.ndarray:
    """Equal-width ASCII strings -> (n, width) uint8 matrix, zero-copy from the Arrow buffer.

    The callers have already checked with an ASCII regex that every value has exactly
    ``width`` characters and none is null, so the data buffer is the matrix, row after row.
    """
    if len(arr) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]]
    if data.size != len(arr) * width:  # pragma: no cover - guarded by the callers' regex
        raise AssertionError("char_matrix needs equal-width ASCII strings")
    return data.reshape(len(arr), width)


def finish(
    canonical: pa.Array, raw: pa.Array, index: pd.Index, reason: str,
    *, not_invalid: pa.Array | None = None,
) -> Standardised:
    """Build a :class:`Standardised`: invalid = raw non-blank but canonical null."""
    raw_present = pc.is_valid(squeeze(raw))
    invalid = pc.and_(raw_present, pc.is_null(canonical))
    if not_invalid is not None:
        invalid = pc.and_(invalid, pc.invert(pc.fill_null(not_invalid, False)))
    return Standardised(
        from_arrow(canonical, index),
        pd.Series(invalid.to_numpy(zero_copy_only=False), index=index, dtype=bool),
        reason,
    )
