"""Kind ``name``: exact / nickname / Jaro-Winkler / swap with ``other_column`` / shared token (hyphenated or multiple names) / phonetic."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from stairs_link.linkage.comparisons.base import Comparison, ComparisonKind, _assign, register
from stairs_link.linkage.comparisons.text import _jw_levels, _shared_group, _shared_token, _where

if TYPE_CHECKING:
    from stairs_link.linkage.prepare import Features


def name_levels(comp: Comparison) -> list[str]:
    """exact > [nickname] > jaro_winkler>=t0 > [swap] > [token] > [phonetic] > lower thresholds."""
    top = ["exact"] + (["nickname"] if comp.nicknames else [])
    top.append(f"jaro_winkler>={comp.thresholds[0]}")
    mid = (["swap"] if comp.other_column else []) + (["token"] if comp.tokens else [])
    mid += ["phonetic"] if comp.phonetic else []
    low = [f"jaro_winkler>={t}" for t in comp.thresholds[1:]]
    return ["else", *reversed(top + mid + low)]


def compare_name(comp: Comparison, feats: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    codes, values = feats.strings(comp.column, "fold", comp.null_values)
    a, b = codes[i], codes[j]
    missing = (a < 0) | (b < 0)
    exact = (a == b) & ~missing
    todo = ~missing & ~exact
    conditions: dict[str, np.ndarray] = {"exact": exact}
    _jw_levels(comp, values, a, b, todo, conditions)
    if comp.nicknames:
        conditions["nickname"] = _where(todo, _shared_group, values, a, b)
    if comp.other_column:
        ocodes, ovalues = feats.strings(comp.other_column, "fold", comp.null_values)
        # other column's values re-coded into this column's value space (-1: not present)
        to_here = np.append(pd.Index(values).get_indexer(ovalues), -1).astype(np.int64)
        swap = ((a == to_here[ocodes[j]]) | (b == to_here[ocodes[i]])) & todo
        conditions["swap"] = swap
    if comp.tokens:
        conditions["token"] = _where(todo, _shared_token, values, a, b)
    if comp.phonetic:
        pcodes, _ = feats.strings(comp.column, "metaphone", comp.null_values)
        pa_, pb_ = pcodes[i], pcodes[j]
        conditions["phonetic"] = todo & (pa_ == pb_) & (pa_ >= 0)
    return _assign(comp.levels(), conditions, missing)


register(ComparisonKind("name", name_levels, compare_name, tf_form="fold", role="name_date"))
