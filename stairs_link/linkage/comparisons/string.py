"""Kinds ``string`` (exact / Jaro-Winkler thresholds, a generic column) and ``exact`` (exact agreement only, e.g. sex): one compare function, on the normalised text."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from stairs_link.linkage.comparisons.base import Comparison, ComparisonKind, _assign, register
from stairs_link.linkage.comparisons.text import _jw_levels

if TYPE_CHECKING:
    from stairs_link.linkage.prepare import Features


def string_levels(comp: Comparison) -> list[str]:
    """exact > jaro_winkler thresholds (generic column)."""
    return ["else", *[f"jaro_winkler>={t}" for t in reversed(comp.thresholds)], "exact"]


def exact_levels(comp: Comparison) -> list[str]:
    """exact agreement only (e.g. sex)."""
    return ["else", "exact"]


def compare_string(comp: Comparison, feats: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    codes, values = feats.strings(comp.column, "norm", comp.null_values)
    a, b = codes[i], codes[j]
    missing = (a < 0) | (b < 0)
    exact = (a == b) & ~missing
    conditions: dict[str, np.ndarray] = {"exact": exact}
    if comp.kind == "string":
        _jw_levels(comp, values, a, b, ~missing & ~exact, conditions)
    return _assign(comp.levels(), conditions, missing)


register(ComparisonKind("exact", exact_levels, compare_string, role="demographic"))
register(ComparisonKind("string", string_levels, compare_string))
