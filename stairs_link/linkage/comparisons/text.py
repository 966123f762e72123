"""String helpers the name and string kinds share: Jaro-Winkler and edit distance per unique
pair of distinct values (rapidfuzz ``cpdist``, C++, multi-threaded, mapped back), nickname
groups, shared tokens."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler

from stairs_link.linkage.comparisons.base import Comparison, _unique_pairs


@lru_cache(maxsize=1)
def nickname_table() -> pd.DataFrame:
    """(name, group) rows from ``data/nicknames.csv``: names in one group are variants."""
    text = resources.files("stairs_link.linkage").joinpath("data/nicknames.csv").read_text(encoding="utf-8")
    rows = [(name.strip(), g) for g, line in enumerate(
        ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))
        for name in line.split(",") if name.strip()]
    return pd.DataFrame(rows, columns=["name", "group"]).drop_duplicates()


def similarity(values: np.ndarray, a: np.ndarray, b: np.ndarray, scorer=JaroWinkler) -> np.ndarray:
    """Normalised similarity of values[a] vs values[b] (element-wise), computed per unique pair."""
    if len(a) == 0:
        return np.zeros(0)
    ua, ub, inverse = _unique_pairs(a, b)
    sims = process.cpdist(list(values[ua]), list(values[ub]), scorer=scorer.normalized_similarity,
                          workers=-1, dtype=np.float32)
    return np.asarray(sims)[inverse]


def _distance(values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Optimal-string-alignment edit distance (substitution, insertion, deletion, transposition)."""
    if len(a) == 0:
        return np.zeros(0, dtype=np.int32)
    ua, ub, inverse = _unique_pairs(a, b)
    dist = process.cpdist(list(values[ua]), list(values[ub]), scorer=OSA.distance, workers=-1,
                          dtype=np.int32)
    return np.asarray(dist)[inverse]


def _shared_group(values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where values[a] and values[b] are in a common nickname/variant group."""
    table = nickname_table()
    # (value code, group) for every part of a value found in the table, so "CIARAN JOSHUA"
    # (a middle name keyed into the given-name field) still meets "KIERAN".
    parts = pd.Series(values, dtype=object).str.split().explode()
    groups = (pd.DataFrame({"code": parts.index.to_numpy(), "name": parts.to_numpy()})
              .merge(table, on="name")[["code", "group"]].drop_duplicates().astype(np.int64))
    member = np.zeros(len(values), dtype=bool)
    member[groups["code"].to_numpy()] = True
    out = np.zeros(len(a), dtype=bool)
    check = np.flatnonzero(member[a] & member[b])
    if len(check) == 0:
        return out
    ua, ub, inverse = _unique_pairs(a[check], b[check])  # few distinct pairs: join on ints
    pair = np.arange(len(ua))
    left = pd.DataFrame({"pair": pair, "code": ua}).merge(groups, on="code")
    right = pd.DataFrame({"pair": pair, "code": ub}).merge(groups, on="code")
    hit = np.zeros(len(ua), dtype=bool)
    hit[left.merge(right, on=["pair", "group"])["pair"].unique()] = True
    out[check] = hit[inverse]
    return out


def _shared_token(values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where one value's parts (split on spaces; folding turns hyphens into spaces)
    include the other value or one of its parts, e.g. SMITH vs SMITH JONES."""
    multi = np.fromiter((" " in v for v in values), dtype=bool, count=len(values))
    out = np.zeros(len(a), dtype=bool)
    check = np.flatnonzero(multi[a] | multi[b])
    if len(check) == 0:
        return out
    ua, ub, inverse = _unique_pairs(a[check], b[check])
    # Python set logic on the few distinct multi-part pairs only.
    hit = np.fromiter((bool(set(values[x].split()) & set(values[y].split())) for x, y in zip(ua, ub)),
                      dtype=bool, count=len(ua))
    out[check] = hit[inverse]
    return out


def _jw_levels(comp: Comparison, values: np.ndarray, a: np.ndarray, b: np.ndarray,
               todo: np.ndarray, conditions: dict[str, np.ndarray]) -> None:
    sims = np.zeros(len(a), dtype=np.float32)
    sims[todo] = similarity(values, a[todo], b[todo])
    for t in comp.thresholds:
        conditions[f"jaro_winkler>={t}"] = todo & (sims >= t)


def _where(todo: np.ndarray, test, values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``test`` on the pairs still to decide; False elsewhere."""
    out = np.zeros(len(a), dtype=bool)
    out[todo] = test(values, a[todo], b[todo])
    return out
