"""Kind ``identifier``: exact (valid) / one-character difference / two valid different values."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from stairs_link.linkage.comparisons.base import Comparison, ComparisonKind, _assign, register
from stairs_link.linkage.comparisons.text import _distance

if TYPE_CHECKING:
    from stairs_link.linkage.prepare import Features


def identifier_levels(comp: Comparison) -> list[str]:
    """exact (valid) > one-character difference; two valid different values disagree."""
    return ["else", "one_character", "exact"] if comp.fuzzy else ["else", "exact"]


def compare_identifier(comp: Comparison, feats: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    codes, values = feats.strings(comp.column, "compact", comp.null_values)
    ok = feats.valid_identifier(comp.column, comp.validator)
    a, b = codes[i], codes[j]
    present = (a >= 0) & (b >= 0)
    va = present & np.append(ok, False)[a]
    vb = present & np.append(ok, False)[b]
    same = present & (a == b)
    conditions = {"exact": same & va}
    near = same & ~va  # the same invalid value on both: a keying error copied, weaker evidence
    if comp.fuzzy:
        todo = present & ~same
        dist = np.full(len(a), 99, dtype=np.int32)
        dist[todo] = _distance(values, a[todo], b[todo])
        near = near | (todo & (dist <= 1))
        conditions["one_character"] = near
    else:
        conditions["one_character"] = np.zeros(len(a), dtype=bool)
    # Evidence against only when both values are valid; an invalid value far from the other
    # tells us nothing (it may be a different kind of number typed into the field).
    missing = ~present | (~(va & vb) & ~conditions["one_character"] & ~same)
    return _assign(comp.levels(), conditions, missing)


register(ComparisonKind("identifier", identifier_levels, compare_identifier, tf_form="compact", role="identifier"))
