"""Kind ``bloom`` (pseudonymised mode): Bloom-filter encodings compared by their Dice
coefficient. Levels ``else < dice>=t_n .. < [swap] < dice>=t_0 < exact``. The Dice coefficient
of two encodings tracks the bigram similarity of the plaintexts (Schnell, Bachteler & Reiher
2009); it is computed once per distinct pair of distinct encodings with a vectorised popcount
(:func:`stairs_link.privacy.dice_similarity`). With ``other_column`` a pair whose given name
matches the other record's family name (Dice >= the top threshold) gets ``swap``, as for plain
names (given and family names share one filter space).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stairs_link.errors import LinkageError
from stairs_link.linkage.comparisons.base import Comparison, ComparisonKind, _assign, _unique_pairs, register
from stairs_link.privacy import bloom_matrix, dice_similarity

if TYPE_CHECKING:
    from stairs_link.linkage.prepare import Features

_DICE_CHUNK = 1_000_000  # distinct pairs per Dice block (bounds the (pairs x bytes) temporaries)


def is_binary_values(values: Any) -> bool:
    """True when the distinct values of a column are bytes (Bloom encodings)."""
    for v in values:
        if v is not None and not (isinstance(v, float) and np.isnan(v)):
            return isinstance(v, (bytes, bytearray, memoryview))
    return False


def bloom_codes(feats: Features, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(int32 code per record, -1 missing; packed uint8 matrix of the distinct encodings)."""
    key = ("bloom", column)
    if key not in feats._cache:
        series = feats.column(column)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        if len(uniques) and not is_binary_values(uniques[:1]):
            raise LinkageError(f"column '{column}' is compared as a Bloom-filter encoding but does not hold bytes",
                               reason="bad_type", column=column,
                               fix="compare *_bf columns written by `stairs-link adapt --pseudonymise` only")
        matrix, _ = bloom_matrix(pd.Series(list(uniques), dtype=object))
        feats._cache[key] = (codes.astype(np.int32), matrix)
    return feats._cache[key]


def dice_pairs(left: np.ndarray, right: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dice of left[a] vs right[b] row by row (codes >= 0), once per distinct (a, b) pair."""
    out = np.zeros(len(a), dtype=np.float32)
    if len(a) == 0:
        return out
    if left is right:
        ua, ub, inverse = _unique_pairs(a, b)
    else:  # different value spaces: pairs are ordered
        width = np.int64(max(int(b.max()) + 1, 1))
        inverse, packed = pd.factorize(a.astype(np.int64) * width + b)
        ua, ub = packed // width, packed % width
    sims = np.empty(len(ua), dtype=np.float32)
    for lo in range(0, len(ua), _DICE_CHUNK):
        hi = lo + _DICE_CHUNK
        sims[lo:hi] = dice_similarity(left[ua[lo:hi]], right[ub[lo:hi]])
    return sims[inverse]


def bloom_levels(comp: Comparison) -> list[str]:
    """Level labels of a ``bloom`` comparison, lowest first."""
    top, *low = comp.thresholds
    return ["else", *[f"dice>={t}" for t in reversed(low)], *(["swap"] if comp.other_column else []),
            f"dice>={top}", "exact"]


def compare_bloom(comp: Comparison, feats: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Gamma per pair: exact encoding, Dice thresholds, optional swap with ``other_column``."""
    codes, matrix = bloom_codes(feats, comp.column)
    a, b = codes[i], codes[j]
    missing = (a < 0) | (b < 0)
    exact = (a == b) & ~missing
    todo = ~missing & ~exact
    dice = np.zeros(len(a), dtype=np.float32)
    dice[todo] = dice_pairs(matrix, matrix, a[todo], b[todo])
    conditions = {"exact": exact}
    for t in comp.thresholds:
        conditions[f"dice>={t}"] = todo & (dice >= t)
    if comp.other_column:
        ocodes, omatrix = bloom_codes(feats, comp.other_column)
        oa, ob = ocodes[i], ocodes[j]
        check = todo & (dice < comp.thresholds[0])
        swap = np.zeros(len(a), dtype=bool)
        for mine, theirs in ((a, ob), (b, oa)):
            sel = np.flatnonzero(check & (theirs >= 0))
            swap[sel] |= dice_pairs(matrix, omatrix, mine[sel], theirs[sel]) >= comp.thresholds[0]
        conditions["swap"] = swap
    return _assign(bloom_levels(comp), conditions, missing)


register(ComparisonKind("bloom", bloom_levels, compare_bloom, role="name_date"))
