"""What the workbench pages show, computed from a LINKED directory (JSON-able dicts).

Every figure comes from the files linkage writes: model.json (levels, m, u, weights, EM
sessions), pairs.parquet (kept pairs with level gamma_<c> and partial weight bf_<c> per
comparison), clusters.parquet, review.csv and summary.json. Optional ground truth
(record_key, true_child_id) adds blocking recall against the truth.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stairs_link.errors import LinkageError
from stairs_link.linkage.review import MISSING_LEVEL, excel_unsafe
from stairs_link.schema.outputs import verify_output

WATERFALL_MAX_PAIRS = 10_000  # pairs embedded for the waterfall search (nearest the threshold first)
REVIEW_MAX_PAIRS = 10_000  # pairs on review.html (the most informative first); review.csv has all
TOP_CLUSTERS = 10  # largest and most conflicted clusters listed


@dataclass
class Linked:
    """The files of a LINKED directory, read."""

    directory: Path
    model: dict[str, Any]
    summary: dict[str, Any]
    pairs: pd.DataFrame
    clusters: pd.DataFrame
    review: pd.DataFrame

    @property
    def comparisons(self) -> list[dict[str, Any]]:
        return self.model["comparisons"]

    @property
    def config(self) -> dict[str, Any]:
        return self.model["config"]

    @property
    def pseudonymised(self) -> bool:
        return any(c["kind"] == "bloom" for c in self.config["comparisons"])

    @property
    def cluster_column(self) -> str:
        """The run-local cluster label (``cluster_id``; ``child_id`` in LINKED directories
        written before it was renamed)."""
        return "cluster_id" if "cluster_id" in self.clusters.columns else "child_id"


def read_linked(directory: str | Path, *, verify: bool = True) -> Linked:
    """Read a LINKED directory; a missing or unreadable file is a LinkageError naming it, a
    directory without a valid completion record is refused (``verify=False``: `link` reading
    its own unpublished unit)."""
    directory = Path(directory)
    names = ("model.json", "summary.json", "pairs.parquet", "clusters.parquet", "review.csv")
    files = {name: directory / name for name in names}
    if verify:
        verify_output(directory, "link", needed=names, kind="linked directory")
    for name, path in files.items():
        if not path.is_file():
            raise LinkageError(f"the linked directory has no {name}", reason="missing_file", file=str(path),
                               fix="pass a directory written by `stairs-link link --out DIR`")
    try:
        model = json.loads(files["model.json"].read_text(encoding="utf-8"))
        summary = json.loads(files["summary.json"].read_text(encoding="utf-8"))
        pairs = pd.read_parquet(files["pairs.parquet"])
        clusters = pd.read_parquet(files["clusters.parquet"])
        review = pd.read_csv(files["review.csv"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError) as exc:  # JSON, Parquet and CSV parse errors are ValueErrors
        raise LinkageError(f"cannot read the linked directory ({exc})", reason="bad_linked", file=str(directory),
                           fix="re-run `stairs-link link` to rewrite it") from None
    if "comparisons" not in model or "config" not in model:
        raise LinkageError("model.json is not a stairs-link model", reason="bad_model",
                           file=str(files["model.json"]), fix="re-run `stairs-link link`")
    for column in review.columns:  # the text cells excel_safe may have quoted: keys and both records' values
        if column.endswith(("_l", "_r")):
            review[column] = excel_unsafe(review[column]).astype(str)
    return Linked(directory, model, summary, pairs, clusters, review)


def to_weight(probability: float) -> float:
    """log2 odds of a probability, clipped to +-60 (0 and 1 map to the ends)."""
    p = min(max(float(probability), 2.0 ** -60), 1 - 2.0 ** -60)
    return round(math.log2(p / (1 - p)), 3)


def _thresholds(linked: Linked) -> dict[str, Any]:
    t = float(linked.summary.get("thresholds", {}).get("link_threshold", linked.config["link_threshold"]))
    lo, hi = linked.config["review_band"]
    return {"link_threshold": t, "link_weight": to_weight(t), "review_band": [lo, hi],
            "review_band_weight": [to_weight(lo), to_weight(hi)],
            "prior": linked.model["prior"], "prior_weight": to_weight(linked.model["prior"])}


def _comparisons(linked: Linked) -> list[dict[str, Any]]:
    """Per comparison: levels with m, u, weight, pair counts, and the TF-adjusted weight range."""
    tf = {c["name"]: bool(c.get("term_frequency")) for c in linked.config["comparisons"]}
    out = []
    for c in linked.comparisons:
        gamma = linked.pairs.get(f"gamma_{c['name']}")
        counts = (np.bincount(gamma[gamma >= 0].astype(np.int64), minlength=len(c["levels"])).tolist()
                  if gamma is not None else [0] * len(c["levels"]))
        entry = {"name": c["name"], "levels": c["levels"], "m": c["m"], "u": c["u"], "weight": c["weight"],
                 "pairs": counts[:len(c["levels"])], "term_frequency": tf.get(c["name"], False), "tf_exact": None}
        if entry["term_frequency"] and gamma is not None:
            bf = linked.pairs[f"bf_{c['name']}"][gamma == len(c["levels"]) - 1].astype(np.float64)
            if len(bf):
                entry["tf_exact"] = {"min": round(float(bf.min()), 3), "median": round(float(bf.median()), 3),
                                     "max": round(float(bf.max()), 3), "pairs": int(len(bf))}
        out.append(entry)
    return out


def _histogram(linked: Linked) -> dict[str, Any]:
    """Kept pairs by match weight in 1-bit bins, split by whether they were linked."""
    w = linked.pairs["match_weight"].to_numpy(np.float64)
    w = w[np.isfinite(w)]
    if len(w) == 0:
        return {"start": 0, "width": 1, "linked": [], "not_linked": []}
    start, stop = math.floor(w.min()), math.floor(w.max()) + 1
    edges = np.arange(start, stop + 1)
    linked_mask = linked.pairs["linked"].to_numpy(bool)[np.isfinite(linked.pairs["match_weight"].to_numpy())]
    return {"start": int(start), "width": 1,
            "linked": np.histogram(w[linked_mask], edges)[0].tolist(),
            "not_linked": np.histogram(w[~linked_mask], edges)[0].tolist(),
            "pairs": int(len(w)), "keep_min_probability": linked.config.get("keep_pairs_min_probability")}


def _true_pair_mask(pairs: pd.DataFrame, truth: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Which kept pairs are true matches, and the number of true pairs among the linked records."""
    child = truth.drop_duplicates("record_key").set_index("record_key")["true_child_id"]
    left = child.reindex(pairs["record_key_l"]).to_numpy()
    right = child.reindex(pairs["record_key_r"]).to_numpy()
    same = pd.notna(left) & (left == right)
    sizes = child.value_counts().to_numpy(np.int64)
    return same, int((sizes * (sizes - 1) // 2).sum())


def _blocking(linked: Linked, truth: pd.DataFrame | None) -> dict[str, Any]:
    """Rules in order with candidate pairs, kept pairs each found first, and cumulative recall of
    true pairs (with truth) and of pairs reviewers labelled match (with decisions)."""
    names = [r["name"] for r in linked.config["blocking"]]
    candidates = linked.summary.get("candidate_pairs_by_rule", {})
    found = linked.pairs["found_by"].astype(str)
    first = found.value_counts()
    rules = [{"name": n, "keys": r["keys"], "when_missing": r.get("when_missing"),
              "candidate_pairs": int(candidates.get(n, 0)), "kept_found_first": int(first.get(n, 0))}
             for n, r in zip(names, linked.config["blocking"])]
    order = {n: k for k, n in enumerate(names)}
    rank = found.map(order).fillna(len(names)).to_numpy(np.int64)  # "decision" (no rule): after all

    def cumulative(mask: np.ndarray, total: int) -> list[float | None]:
        hits = np.bincount(rank[mask], minlength=len(names) + 1)[:len(names)].cumsum()
        return [None if total == 0 else round(float(h) / total, 4) for h in hits]

    out: dict[str, Any] = {"rules": rules, "truth": None, "decisions": None}
    if truth is not None:  # true pairs among the linked records (adapt may have rejected others)
        truth = truth[truth["record_key"].isin(linked.clusters["record_key"])]
        same, total = _true_pair_mask(linked.pairs, truth)
        out["truth"] = {"true_pairs": total, "recall": cumulative(same, total)}
    labelled = (linked.pairs["decision"] == "match").to_numpy()
    if labelled.any():
        out["decisions"] = {"labelled_matches": int(labelled.sum()),
                            "recall": cumulative(labelled, int(labelled.sum()))}
    return out


def _site_system(keys: pd.Series) -> pd.Series:
    """``site:system`` from record keys (record_key = site_id:source_system:local_id)."""
    return keys.astype(str).str.extract(r"^([^:]*:[^:]*)", expand=False)


def _positions(keys: pd.Series, *queries: pd.Series) -> list[np.ndarray]:
    """Row position in ``keys`` (unique) of every value of each query series (-1: absent), by one
    factorisation of all of them (one hash of each string instead of one index look-up per query)."""
    codes, _ = pd.factorize(pd.concat([keys, *queries], ignore_index=True).astype(str).to_numpy())
    where = np.full(codes.max() + 1 if len(codes) else 0, -1, dtype=np.int64)
    where[codes[:len(keys)]] = np.arange(len(keys))
    out, start = [], len(keys)
    for q in queries:
        out.append(where[codes[start:start + len(q)]])
        start += len(q)
    return out


def _clusters(linked: Linked) -> dict[str, Any]:
    """Size distribution, the largest clusters, the most conflicted ones, unlinked records."""
    col = linked.cluster_column
    clusters = linked.clusters
    sizes = clusters.drop_duplicates(col)["cluster_size"].value_counts().sort_index()
    system = _site_system(clusters["record_key"])
    per_cluster = pd.DataFrame({"id": clusters[col], "size": clusters["cluster_size"], "system": system})
    systems = per_cluster.groupby("id")["system"].nunique()
    largest = (per_cluster.drop_duplicates("id").nlargest(TOP_CLUSTERS, "size", keep="first")
               .assign(systems=lambda f: systems.reindex(f["id"]).to_numpy()))
    # conflict inside a cluster: kept pairs of its records the model would not link on their own
    # (below the threshold: joined only through others) and identifier conflicts
    pairs = linked.pairs
    labels = clusters[col].to_numpy()
    left, right = _positions(clusters["record_key"], pairs["record_key_l"], pairs["record_key_r"])
    cl = np.where(left >= 0, labels[left], None)
    same = (left >= 0) & (right >= 0) & (cl == np.where(right >= 0, labels[right], None))
    t = _thresholds(linked)["link_threshold"]
    inside = pd.DataFrame({"cluster": cl[same],  # only the columns needed: most kept pairs are inside
                           "weak": pairs["match_probability"].to_numpy()[same] < t,
                           "conflict": pairs["identifier_conflict"].to_numpy(bool)[same],
                           "weight": pairs["match_weight"].to_numpy()[same]})
    conflicted = inside.groupby("cluster").agg(weak=("weak", "sum"), conflicts=("conflict", "sum"),
                                               min_weight=("weight", "min"))
    conflicted = conflicted[(conflicted["weak"] > 0) | (conflicted["conflicts"] > 0)]
    conflicted = conflicted.assign(size=clusters.drop_duplicates(col).set_index(col)["cluster_size"]
                                   .reindex(conflicted.index).to_numpy())
    conflicted = conflicted.sort_values(["conflicts", "weak", "min_weight"], ascending=[False, False, True])
    singles = clusters["cluster_size"].to_numpy() == 1
    unlinked = (pd.DataFrame({"system": system, "single": singles}).groupby("system")["single"]
                .agg(unlinked="sum", records="size").reset_index())
    return {
        "size_distribution": [[int(k), int(v)] for k, v in sizes.items()],
        "largest": [{"id": r.id, "size": int(r.size), "systems": int(r.systems)} for r in largest.itertuples()],
        "conflicted": [{"id": str(i), "size": int(r["size"]), "weak_pairs": int(r["weak"]),
                        "identifier_conflicts": int(r["conflicts"]), "min_weight": round(float(r["min_weight"]), 2)}
                       for i, r in conflicted.head(TOP_CLUSTERS).iterrows()],
        "conflicted_count": int(len(conflicted)),
        "unlinked": [{"system": r.system, "unlinked": int(r.unlinked), "records": int(r.records)}
                     for r in unlinked.itertuples()],
    }


def _waterfall_pairs(linked: Linked, limit: int) -> dict[str, Any]:
    """Compact pair rows for the waterfall: those nearest the link threshold first (all pairs when
    there are at most ``limit``). Keys are listed once and referred to by index."""
    pairs = linked.pairs
    t = _thresholds(linked)["link_weight"]
    distance = (pairs["match_weight"] - t).abs()
    pairs = pairs.loc[distance.sort_values(kind="stable").index[:limit]]
    keys, codes = np.unique(np.r_[pairs["record_key_l"].astype(str), pairs["record_key_r"].astype(str)],
                            return_inverse=True)
    n = len(pairs)
    names = [c["name"] for c in linked.comparisons]
    gamma = np.stack([pairs[f"gamma_{c}"].to_numpy(np.int64) for c in names], axis=1) if n else np.zeros((0, 0))
    bf = np.stack([pairs[f"bf_{c}"].to_numpy(np.float64).round(3) for c in names], axis=1) if n else np.zeros((0, 0))
    decision = pairs["decision"].astype(object).where(pairs["decision"].notna(), None).tolist()
    rows = [[int(codes[k]), int(codes[n + k]), round(float(w), 3), float(p), str(f), bool(li), d, g, b]
            for k, (w, p, f, li, d, g, b) in enumerate(zip(pairs["match_weight"], pairs["match_probability"],
                                                           pairs["found_by"], pairs["linked"], decision,
                                                           gamma.tolist(), bf.tolist()))]
    return {"keys": keys.tolist(), "rows": rows, "shown": n, "total": int(len(linked.pairs))}


def linkage_page_data(linked: Linked, truth: pd.DataFrame | None = None,
                      max_pairs: int = WATERFALL_MAX_PAIRS) -> dict[str, Any]:
    """Everything linkage.html draws."""
    s = linked.summary
    return {
        "pseudonymised": linked.pseudonymised,
        "totals": {k: s.get(k) for k in ("records", "children", "compared_pairs", "kept_pairs", "linked_pairs",
                                         "deterministic_links", "deterministic_conflicts", "review_pairs")},
        "thresholds": _thresholds(linked),
        "comparisons": _comparisons(linked),
        "em": {"sessions": linked.model.get("training", {}).get("em_sessions", []),
               "m_from_all_pairs": linked.model.get("training", {}).get("m_from_all_pairs", []),
               "m_not_estimated": linked.model.get("training", {}).get("m_not_estimated", [])},
        "histogram": _histogram(linked),
        "blocking": _blocking(linked, truth),
        "clusters": _clusters(linked),
        "decisions": s.get("decisions"),
        "decision_estimates": s.get("decision_estimates"),
        "waterfall": _waterfall_pairs(linked, max_pairs),
    }


def _impact(linked: Linked, left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(same cluster now?, records a decision would split off or join) per pair: for a pair in
    one cluster, non-match could split that cluster (its size); for a pair in two clusters,
    match would join them (the sum of their sizes)."""
    c = linked.clusters.set_index("record_key")
    label, size = c[linked.cluster_column], c["cluster_size"]
    same = label.reindex(left).to_numpy() == label.reindex(right).to_numpy()
    sl = size.reindex(left).fillna(1).to_numpy(np.int64)
    sr = size.reindex(right).fillna(1).to_numpy(np.int64)
    return same, np.where(same, sl, sl + sr)


def review_order(distance_bits: np.ndarray, impact: np.ndarray) -> np.ndarray:
    """Most informative first: pairs nearest the threshold (in whole bits of match weight), and
    within the same distance those whose decision would split or join the most records."""
    return np.lexsort((-impact, np.floor(np.abs(distance_bits))))


def review_page_data(linked: Linked, max_pairs: int = REVIEW_MAX_PAIRS) -> dict[str, Any]:
    """Everything review.html shows: the review sheet's pairs in review order (the first
    ``max_pairs``), each with both records' values (plain mode), level label and partial weight
    per comparison, and the decisions the run already applied (kept in the exported file)."""
    review = linked.review
    pairs = linked.pairs[linked.pairs["record_key_l"].isin(review["record_key_l"])]  # a hash look-up, then
    pairs = pairs.set_index(["record_key_l", "record_key_r"])  # the pair index only over those
    index = pd.MultiIndex.from_arrays([review["record_key_l"], review["record_key_r"]])
    found = pairs.index.get_indexer(index)
    if (found < 0).any():
        row = int(np.flatnonzero(found < 0)[0]) + 2  # header is line 1
        raise LinkageError("review.csv lists a pair that pairs.parquet does not hold", reason="bad_linked",
                           file=str(linked.directory / "review.csv"), row=row, column="record_key_l",
                           fix="the review sheet belongs to another run: re-run `stairs-link link`")
    rows = pairs.iloc[found] if len(found) else pairs.iloc[:0]
    comps = linked.comparisons
    config = {c["name"]: c for c in linked.config["comparisons"]}
    t = _thresholds(linked)["link_weight"]
    same, impact = _impact(linked, review["record_key_l"], review["record_key_r"])
    weight = rows["match_weight"].to_numpy(np.float64)
    order = review_order(weight - t, impact)
    fields = []
    for c in comps:
        cols = [x for x in (config[c["name"]]["column"], config[c["name"]].get("other_column")) if x]
        shown = cols[0] if f"{cols[0]}_l" in review.columns else None
        fields.append({"name": c["name"], "levels": c["levels"], "column": shown,
                       "kind": config[c["name"]]["kind"]})
    order = order[:max_pairs]
    shown = [f["column"] for f in fields if f["column"]]
    left = {col: review[f"{col}_l"].to_numpy()[order].tolist() for col in shown}
    right = {col: review[f"{col}_r"].to_numpy()[order].tolist() for col in shown}
    names = [c["name"] for c in comps]
    gamma = np.stack([rows[f"gamma_{c}"].to_numpy(np.int64) for c in names], axis=1)[order].tolist()
    bf = np.stack([rows[f"bf_{c}"].to_numpy(np.float64) for c in names], axis=1)[order].round(3).tolist()
    column = {name: (review[name].to_numpy()[order].tolist() if name in review.columns else [default] * len(order))
              for name, default in (("reason", "uncertain"), ("decision", ""))}
    keys_l, keys_r = review["record_key_l"].to_numpy()[order].tolist(), review["record_key_r"].to_numpy()[order].tolist()
    prob = rows["match_probability"].to_numpy(np.float64)[order].tolist()
    items = [{"l": keys_l[k], "r": keys_r[k], "p": prob[k], "w": round(float(weight[order[k]]), 3),
              "reason": column["reason"][k], "decision": column["decision"][k], "gamma": gamma[k], "bf": bf[k],
              "values": {col: [left[col][k], right[col][k]] for col in shown},
              "same_cluster": bool(same[order[k]]), "impact": int(impact[order[k]])}
             for k in range(len(order))]
    decided = linked.pairs[linked.pairs["decision"].notna()]
    return {
        "pseudonymised": linked.pseudonymised,
        "thresholds": _thresholds(linked),
        "fields": fields,
        "missing_level": MISSING_LEVEL,
        "pairs": items,
        "review_sheet_pairs": int(len(review)),
        "earlier": [[a, b, d] for a, b, d in zip(decided["record_key_l"], decided["record_key_r"],
                                                 decided["decision"])],
    }
