"""Pandas functions run inside Spark tasks (mapInPandas / applyInPandas): they call the
embedded engine's kernels on one batch of candidate pairs or one bucket of components, so
both engines produce the same comparison levels, weights and clusters.

Each function mirrors one step of ``stairs_link.linkage.pipeline.link_table``; where a few
lines had to be restated (because the embedded code indexes whole-table arrays) the comment
says which lines, and the equivalence test (tests/engine) checks they agree.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from stairs_link.linkage.cluster import CannotLink, cluster
from stairs_link.linkage.compare import compare
from stairs_link.linkage.config import LinkageConfig
from stairs_link.linkage.model import FSModel, pack, pattern_base, unpack
from stairs_link.linkage.prepare import Features
from stairs_link.linkage.shared import deterministic_fields, deterministic_pass

PAIR_ORDER = ["o_r", "o_g", "o_x", "o_y"]  # the embedded engine's pair generation order


def compare_batches(batches: Iterator[pd.DataFrame], config: LinkageConfig, columns: list[str],
                    carry: list[str]) -> Iterator[pd.DataFrame]:
    """Packed comparison pattern per pair. Each batch holds ``l_<col>``/``r_<col>`` record
    values; the two sides are stacked into one small person frame so the embedded kernels
    (``compare.compare``) run on it unchanged: levels depend only on the two records' values."""
    comps = config.comparisons
    base = pattern_base(comps)
    for pdf in batches:
        m = len(pdf)
        mini = pd.DataFrame({c: pd.concat([pdf[f"l_{c}"], pdf[f"r_{c}"]], ignore_index=True) for c in columns})
        idx = np.arange(m)
        code = pack(compare(comps, Features(mini), idx, idx + m), base) if m else np.zeros(0, np.int64)
        out = pdf[carry].reset_index(drop=True)
        out["code"] = code
        yield out


def score_batches(batches: Iterator[pd.DataFrame], fs: FSModel, config: LinkageConfig, n: int,
                  tf_ks: list[int], decisions: pd.Series) -> Iterator[pd.DataFrame]:
    """Weights, probabilities, deterministic pass, conflicts, decisions and accept/keep flags
    for pairs, as in the scoring loop of ``pipeline.link_table``. Only pairs that are kept
    (written to pairs.parquet) or accepted (edges) are returned."""
    comps = config.comparisons
    base = pattern_base(comps)
    det_ks, _, demo_ks, name_date_ks = deterministic_fields(config)
    floor = 1.0 / max(n, 1)
    for pdf in batches:
        i = pdf["i"].to_numpy(np.int64)
        j = pdf["j"].to_numpy(np.int64)
        gamma = unpack(pdf["code"].to_numpy(np.int64), len(comps), base)
        # pipeline._score, with the left record's value frequency carried on the pair
        pw = fs.partial_weights(gamma)
        for k in tf_ks:
            top = len(fs.m[k]) - 1
            exact = gamma[:, k] == top
            if exact.any():
                f = np.maximum(pdf[f"tff{k}"].to_numpy(np.float64)[exact], floor)
                pw[exact, k] = (np.log2(fs.m[k][top]) - np.log2(f)).astype(np.float32)
        weight = fs.prior_weight + pw.sum(axis=1, dtype=np.float64)
        prob = 1.0 / (1.0 + np.exp2(-np.clip(weight, -200, 200)))
        det, conflict = deterministic_pass(gamma, pw, config, det_ks, demo_ks, name_date_ks)
        det &= ~conflict
        has_dec = np.zeros(len(i), dtype=bool)
        dec_match = np.zeros(len(i), dtype=bool)
        if len(decisions):
            hit = decisions.reindex(i * n + j).to_numpy()
            has_dec = pd.notna(hit)
            dec_match = has_dec & (hit == True)  # noqa: E712 - object array of True/False/NaN
        accept = np.where(has_dec, dec_match, (det | (prob >= config.link_threshold)) & ~conflict)
        keep = (prob >= config.keep_pairs_min_probability) | det | conflict | has_dec
        sel = keep | accept
        out = pd.DataFrame({"i": i[sel], "j": j[sel]})
        for col in PAIR_ORDER:
            out[col] = pdf[col].to_numpy(np.int64)[sel]
        out["match_weight"] = weight[sel]
        out["match_probability"] = prob[sel]
        out["deterministic"] = det[sel]
        out["identifier_conflict"] = conflict[sel]
        out["decision"] = np.where(has_dec[sel], np.where(dec_match[sel], "match", "non-match"), None)
        out["linked"] = accept[sel]
        out["keep"] = keep[sel]
        out["order_weight"] = np.where(det, np.inf, weight)[sel]
        out["forced"] = dec_match[sel]
        for k in det_ks:  # an identifier shared by demographically conflicting records is suspect
            out[f"sus{k}"] = (conflict & (gamma[:, k] == len(comps[k].levels()) - 1))[sel]
        for k, c in enumerate(comps):
            out[f"gamma_{c.name}"] = gamma[sel, k]
            out[f"bf_{c.name}"] = pw[sel, k]
        yield out


def cluster_bucket(records: pd.DataFrame, edges: pd.DataFrame, config: LinkageConfig,
                   ident_ks: list[int], forbidden: pd.DataFrame) -> pd.DataFrame:
    """Constrained clustering (``cluster.cluster``) of whole connected components.

    Constrained clustering never crosses a connected component, so running it on a bucket of
    components gives each component the same partition as on the whole table, provided edges
    come in the same order: they are sorted by the embedded generation order (``PAIR_ORDER``)
    before ``cluster`` sorts them (stably) by forced flag and weight. Returns one row per
    record (idx, ckey = smallest idx of its cluster) and one stats row (idx -1)."""
    records = records.sort_values("idx", ignore_index=True)
    ids = records["idx"].to_numpy(np.int64)
    m = len(ids)
    edges = edges.sort_values(PAIR_ORDER, kind="stable", ignore_index=True)
    li = np.searchsorted(ids, edges["i"].to_numpy(np.int64))
    lj = np.searchsorted(ids, edges["j"].to_numpy(np.int64))
    identifiers = {}
    for k in ident_ks:
        codes, _ = pd.factorize(records[f"idv{k}"], use_na_sentinel=True)
        identifiers[config.comparisons[k].name] = codes.astype(np.int64)
    source = None
    if config.cannot_link_same_source:
        source = pd.MultiIndex.from_frame(records[list(config.source_columns)].astype(str)).factorize()[0]
    fi = np.zeros(0, np.int64)
    fj = np.zeros(0, np.int64)
    if len(forbidden) and m:  # non-match decisions between two records of this bucket
        fa, fb = forbidden["i"].to_numpy(np.int64), forbidden["j"].to_numpy(np.int64)
        a = np.searchsorted(ids, fa).clip(0, m - 1)
        b = np.searchsorted(ids, fb).clip(0, m - 1)
        inside = (ids[a] == fa) & (ids[b] == fb)
        fi, fj = a[inside], b[inside]
    rules = CannotLink(identifiers=identifiers, source=source, forbidden_i=fi, forbidden_j=fj)
    labels, stats = cluster(m, li.astype(np.int64), lj.astype(np.int64),
                            edges["order_weight"].to_numpy(np.float64), edges["forced"].to_numpy(bool), rules)
    ckey = pd.Series(ids).groupby(labels).transform("min").to_numpy(np.int64)
    out = pd.DataFrame({"idx": ids, "ckey": ckey, "components": 0, "conflicted": 0, "refused": 0})
    stat_row = pd.DataFrame({"idx": [-1], "ckey": [-1], "components": [stats["components"]],
                             "conflicted": [stats["conflicted_components"]], "refused": [stats["edges_refused"]]})
    return pd.concat([out, stat_row], ignore_index=True)
