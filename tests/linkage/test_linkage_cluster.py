"""Clustering: cannot-link rules stop chaining; forced edges; weight order decides."""

from __future__ import annotations

import numpy as np

from stairs_link.linkage.cluster import CannotLink, cluster


def _run(n, edges, rules, forced=None):
    i = np.array([e[0] for e in edges])
    j = np.array([e[1] for e in edges])
    w = np.array([e[2] for e in edges], dtype=float)
    f = np.zeros(len(edges), bool) if forced is None else np.array(forced)
    labels, stats = cluster(n, i, j, w, f, rules)
    return labels, stats


def _together(labels, a, b):
    return labels[a] == labels[b]


def test_no_conflict_is_plain_connected_components():
    labels, stats = _run(5, [(0, 1, 5), (1, 2, 5), (3, 4, 5)], CannotLink({}))
    assert _together(labels, 0, 2) and not _together(labels, 0, 3)
    assert stats["conflicted_components"] == 0


def test_two_nhs_numbers_never_merge_and_the_strongest_edges_win():
    # 0 and 3 hold different valid NHS numbers; a chain 0-1-2-3 would join them.
    nhs = np.array([10, -1, -1, 20, -1])
    edges = [(0, 1, 20.0), (1, 2, 3.0), (2, 3, 15.0), (3, 4, 9.0)]
    labels, stats = _run(5, edges, CannotLink({"nhs_number": nhs}))
    assert not _together(labels, 0, 3)
    assert _together(labels, 0, 1) and _together(labels, 2, 3) and _together(labels, 3, 4)
    assert not _together(labels, 1, 2)  # the weakest edge in the chain is the one refused
    assert stats["edges_refused"] == 1


def test_same_source_rule_and_forbidden_pairs():
    source = np.array([0, 0, 1, 2])
    labels, _ = _run(4, [(0, 2, 9.0), (1, 2, 8.0), (2, 3, 7.0)],
                     CannotLink({}, source=source))
    assert _together(labels, 0, 2) and not _together(labels, 1, 2) and _together(labels, 2, 3)
    labels, _ = _run(3, [(0, 1, 9.0), (1, 2, 8.0)],
                     CannotLink({}, forbidden_i=np.array([0]), forbidden_j=np.array([2])))
    assert _together(labels, 0, 1) and not _together(labels, 0, 2)


def test_forced_edges_apply_first_even_against_the_rules():
    nhs = np.array([10, 20, -1])
    labels, _ = _run(3, [(0, 1, -5.0), (1, 2, 50.0)], CannotLink({"nhs_number": nhs}),
                     forced=[True, False])
    assert _together(labels, 0, 1) and _together(labels, 1, 2)


def test_labels_are_dense():
    nhs = np.array([10, 20, -1, -1])
    labels, _ = _run(4, [(0, 2, 5.0), (1, 2, 4.0)], CannotLink({"nhs_number": nhs}))
    assert sorted(set(labels.tolist())) == list(range(len(set(labels.tolist()))))
