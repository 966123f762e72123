"""Comparison kernels: (record index pairs) -> int8 comparison level (gamma) per pair.

Gamma -1 means missing (no evidence), 0 disagreement, higher values stronger agreement; the
labels are ``Comparison.levels()``. String similarities are computed once per UNIQUE pair of
distinct values in a chunk (rapidfuzz ``cpdist``, C++, multi-threaded) and mapped back.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler

from stairs_link.linkage.config import Comparison
from stairs_link.linkage.prepare import Features

GAMMA_MISSING = -1


@lru_cache(maxsize=1)
def nickname_table() -> pd.DataFrame:
    """(name, group) rows from ``data/nicknames.csv``: names in one group are variants."""
    text = resources.files("stairs_link.linkage").joinpath("data/nicknames.csv").read_text(encoding="utf-8")
    rows = [(name.strip(), g) for g, line in enumerate(
        ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))
        for name in line.split(",") if name.strip()]
    return pd.DataFrame(rows, columns=["name", "group"]).drop_duplicates()


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct unordered (a, b) code pairs and the inverse index mapping pairs to them."""
    lo = np.minimum(a, b).astype(np.int64)
    hi = np.maximum(a, b).astype(np.int64)
    width = np.int64(hi.max() + 1) if len(hi) else np.int64(1)
    inverse, packed = pd.factorize(lo * width + hi)  # hashing: no sort of all pairs
    return packed // width, packed % width, inverse


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


def _assign(levels: list[str], conditions: dict[str, np.ndarray], missing: np.ndarray) -> np.ndarray:
    """Gamma = index of the highest level whose condition holds (0 if none), -1 if missing."""
    gamma = np.zeros(len(missing), dtype=np.int8)
    for index, label in enumerate(levels):
        if index and label in conditions:
            gamma[conditions[label]] = index
    gamma[missing] = GAMMA_MISSING
    return gamma


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


def compare_string(comp: Comparison, feats: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    codes, values = feats.strings(comp.column, "norm", comp.null_values)
    a, b = codes[i], codes[j]
    missing = (a < 0) | (b < 0)
    exact = (a == b) & ~missing
    conditions: dict[str, np.ndarray] = {"exact": exact}
    if comp.kind == "string":
        _jw_levels(comp, values, a, b, ~missing & ~exact, conditions)
    return _assign(comp.levels(), conditions, missing)


def _digits_differing(x: np.ndarray, y: np.ndarray, width: int = 8) -> np.ndarray:
    diff = np.zeros(len(x), dtype=np.int8)
    for k in range(width):
        p = 10 ** k
        diff += ((x // p) % 10 != (y // p) % 10)
    return diff


def compare_date(comp: Comparison, feats: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    parts = feats.dates(comp.column)
    missing = ~(parts["valid"][i] & parts["valid"][j])
    yl, yr = parts["year"][i], parts["year"][j]
    ml, mr = parts["month"][i], parts["month"][j]
    dl, dr = parts["day"][i], parts["day"][j]
    same_y, same_m, same_d = yl == yr, ml == mr, dl == dr
    exact = same_y & same_m & same_d
    swap = same_y & (ml == dr) & (dl == mr) & ~exact
    # A one-digit difference lies within one of year, month, day: only those pairs are checked.
    one_part = (same_y.astype(np.int8) + same_m + same_d) == 2
    one_digit = np.zeros(len(yl), dtype=bool)
    sel = np.flatnonzero(one_part)
    ymd_l = yl[sel].astype(np.int64) * 10000 + ml[sel] * 100 + dl[sel]
    ymd_r = yr[sel].astype(np.int64) * 10000 + mr[sel] * 100 + dr[sel]
    one_digit[sel] = _digits_differing(ymd_l, ymd_r) == 1
    off = ((same_m & same_d & (np.abs(yl - yr) == 1))
           | (same_y & same_d & (np.abs(ml - mr) == 1))
           | (same_y & same_m & (np.abs(dl - dr) == 1))
           | (np.abs(parts["days"][i] - parts["days"][j]) == 1))
    conditions = {"exact": exact, "day_month_swap": swap, "one_digit": one_digit, "one_unit_off": off}
    return _assign(comp.levels(), conditions, missing)


def compare_postcode(comp: Comparison, feats: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    codes, _ = feats.strings(comp.column, "compact", comp.null_values)
    out_codes, _ = feats.strings(comp.column, "outward", comp.null_values)
    a, b = codes[i], codes[j]
    missing = (a < 0) | (b < 0)
    conditions = {"exact": (a == b) & ~missing,
                  "outward": (out_codes[i] == out_codes[j]) & (out_codes[i] >= 0)}
    return _assign(comp.levels(), conditions, missing)


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


KERNELS = {
    "name": compare_name,
    "string": compare_string,
    "exact": compare_string,
    "date": compare_date,
    "postcode": compare_postcode,
    "identifier": compare_identifier,
}


def _compare_bloom(comp: Comparison, feats: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    from stairs_link.linkage.bloom_comparisons import compare_bloom

    return compare_bloom(comp, feats, i, j)


KERNELS["bloom"] = _compare_bloom  # pseudonymised mode: Dice levels on Bloom encodings


def compare(comparisons: tuple[Comparison, ...], feats: Features, i: np.ndarray, j: np.ndarray
            ) -> np.ndarray:
    """Gamma matrix (pairs x comparisons, int8) for record index pairs ``i``, ``j``."""
    gamma = np.empty((len(i), len(comparisons)), dtype=np.int8)
    for k, comp in enumerate(comparisons):
        gamma[:, k] = KERNELS[comp.kind](comp, feats, i, j)
    return gamma
