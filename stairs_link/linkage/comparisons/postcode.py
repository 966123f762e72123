"""Kind ``postcode``: full / outward code."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from stairs_link.linkage.comparisons.base import Comparison, ComparisonKind, _assign, register

if TYPE_CHECKING:
    from stairs_link.linkage.prepare import Features


def postcode_levels(comp: Comparison) -> list[str]:
    """full > outward code."""
    return ["else", "outward", "exact"]


def compare_postcode(comp: Comparison, feats: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    codes, _ = feats.strings(comp.column, "compact", comp.null_values)
    out_codes, _ = feats.strings(comp.column, "outward", comp.null_values)
    a, b = codes[i], codes[j]
    missing = (a < 0) | (b < 0)
    conditions = {"exact": (a == b) & ~missing,
                  "outward": (out_codes[i] == out_codes[j]) & (out_codes[i] >= 0)}
    return _assign(comp.levels(), conditions, missing)


register(ComparisonKind("postcode", postcode_levels, compare_postcode, tf_form="compact"))
