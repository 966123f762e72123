"""Clustering linked pairs into children, resisting chaining with cannot-link rules.

Edges are accepted in descending weight order (forced edges first) by a union-find that
refuses any merge putting two records that cannot be the same child into one cluster: two
different valid values of an identifier (NHS number, UPN, PNC id), two records of the same
source system (optional) or a pair a reviewer marked non-match.

Most connected components have no conflict at all; they are found with scipy's
connected_components and accepted wholesale. Only the few conflicted components go through
the sequential union-find, so the Python loop touches a small fraction of the edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


@dataclass
class CannotLink:
    """Per-record attributes that must not differ within a cluster, and forbidden pairs."""

    identifiers: dict[str, np.ndarray]  # name -> code per record (-1: none / not valid)
    source: np.ndarray | None = None  # code of (site, system) per record, when enforced
    forbidden_i: np.ndarray | None = None
    forbidden_j: np.ndarray | None = None


def _components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _conflicted(comp: np.ndarray, rules: CannotLink) -> np.ndarray:
    """Component ids in which some cannot-link rule would be broken."""
    bad: list[np.ndarray] = []
    for codes in rules.identifiers.values():
        has = codes >= 0
        frame = pd.DataFrame({"c": comp[has], "v": codes[has]}).drop_duplicates()
        counts = frame["c"].value_counts()
        bad.append(counts.index[counts > 1].to_numpy())
    if rules.source is not None:
        frame = pd.DataFrame({"c": comp, "s": rules.source})
        dup = frame.duplicated(["c", "s"], keep=False)
        bad.append(frame.loc[dup, "c"].unique())
    if rules.forbidden_i is not None and len(rules.forbidden_i):
        same = comp[rules.forbidden_i] == comp[rules.forbidden_j]
        bad.append(comp[rules.forbidden_i[same]])
    return np.unique(np.concatenate(bad)) if bad else np.zeros(0, dtype=np.int64)


def cluster(n: int, i: np.ndarray, j: np.ndarray, weight: np.ndarray, forced: np.ndarray,
            rules: CannotLink) -> tuple[np.ndarray, dict[str, int]]:
    """Cluster label per record (0..n_clusters-1) from accepted edges ``(i, j)``.

    ``forced`` edges (reviewer "match" decisions) are merged first and unconditionally;
    all other edges go in descending ``weight`` order and obey the cannot-link rules.
    """
    comp = _components(n, i, j)
    conflicted = _conflicted(comp, rules)
    stats = {"components": int(comp.max(initial=-1) + 1), "conflicted_components": int(len(conflicted)),
             "edges_refused": 0}
    if len(conflicted) == 0:
        return comp, stats
    in_conflict = np.isin(comp, conflicted)
    edge_sel = in_conflict[i]
    ei, ej, ew, ef = i[edge_sel], j[edge_sel], weight[edge_sel], forced[edge_sel]
    order = np.lexsort((-ew, ~ef))  # forced first, then by descending weight
    members = np.flatnonzero(in_conflict)
    parent = {int(r): int(r) for r in members}
    # state per root: identifier values, source codes, members with forbidden partners
    ident_state = {int(r): {name: ({int(codes[r])} if codes[r] >= 0 else set())
                            for name, codes in rules.identifiers.items()} for r in members}
    src_state = {int(r): ({int(rules.source[r])} if rules.source is not None else set()) for r in members}
    partners: dict[int, set[int]] = {}
    if rules.forbidden_i is not None and rules.forbidden_j is not None:
        for a, b in zip(rules.forbidden_i.tolist(), rules.forbidden_j.tolist()):
            partners.setdefault(a, set()).add(b)
            partners.setdefault(b, set()).add(a)
    flagged = {int(r): ({int(r)} if int(r) in partners else set()) for r in members}
    size = {int(r): 1 for r in members}

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def allowed(ra: int, rb: int) -> bool:
        for name in rules.identifiers:
            a, b = ident_state[ra][name], ident_state[rb][name]
            if a and b and not (a <= b or b <= a):
                return False
        if rules.source is not None and src_state[ra] & src_state[rb]:
            return False
        for x in flagged[ra]:
            if any(find(p) == rb for p in partners[x]):
                return False
        return True

    refused = 0
    for a, b, is_forced in zip(ei[order].tolist(), ej[order].tolist(), ef[order].tolist()):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if not is_forced and not allowed(ra, rb):
            refused += 1
            continue
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] += size[rb]
        for name in rules.identifiers:
            ident_state[ra][name] |= ident_state[rb][name]
        src_state[ra] |= src_state[rb]
        flagged[ra] |= flagged[rb]
    stats["edges_refused"] = refused
    # conflicted components get new labels after the existing ones
    roots = np.array([find(int(r)) for r in members])
    _, relabel = np.unique(roots, return_inverse=True)
    labels = comp.copy()
    labels[members] = comp.max() + 1 + relabel
    _, labels = np.unique(labels, return_inverse=True)
    return labels, stats
