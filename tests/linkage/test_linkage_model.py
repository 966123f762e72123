"""Fellegi-Sunter model: EM recovering known parameters, degenerate levels, packing, prior."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from stairs_link.linkage.config import Comparison
from stairs_link.linkage.model import (
    FSModel,
    em,
    estimate_prior,
    estimate_u,
    fit_m,
    pack,
    pattern_base,
    unpack,
)

TRUE_M = [np.array([0.05, 0.15, 0.80]), np.array([0.10, 0.90]), np.array([0.02, 0.08, 0.20, 0.70])]
TRUE_U = [np.array([0.85, 0.10, 0.05]), np.array([0.60, 0.40]), np.array([0.90, 0.05, 0.03, 0.02])]


def _simulate(n: int, lam: float, seed: int = 0, missing: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Gamma for n pairs drawn from the true model; returns (gamma, is_match)."""
    rng = np.random.default_rng(seed)
    match = rng.random(n) < lam
    gamma = np.empty((n, len(TRUE_M)), dtype=np.int8)
    for k, (m, u) in enumerate(zip(TRUE_M, TRUE_U)):
        gm = rng.choice(len(m), n, p=m)
        gu = rng.choice(len(u), n, p=u)
        gamma[:, k] = np.where(match, gm, gu)
        gamma[rng.random(n) < missing, k] = -1
    return gamma, match


def _patterns(gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, counts = np.unique(pack(gamma, 5), return_counts=True)
    return unpack(codes, gamma.shape[1], 5), counts


def test_em_recovers_known_m_and_proportion():
    gamma, match = _simulate(200_000, lam=0.3)
    patterns, counts = _patterns(gamma)
    assert len(patterns) < 100  # EM sees patterns and counts, not 200k pairs
    start = [np.full(len(m), 1 / len(m)) + np.linspace(0, 0.1, len(m)) for m in TRUE_M]
    start = [s / s.sum() for s in start]
    result = em(patterns, counts, TRUE_U, start, free=[0, 1, 2], lam0=0.1, max_iter=200, tol=1e-7)
    assert result.converged
    assert abs(result.lam - match.mean()) < 0.01
    for m_hat, m_true in zip(result.m, TRUE_M):
        np.testing.assert_allclose(m_hat, m_true, atol=0.01)


def test_u_from_random_pairs_matches_truth():
    gamma, _ = _simulate(100_000, lam=0.0, seed=1)
    # estimate_u only needs each comparison's number of levels (3, 2 and 5 here)
    comps = (Comparison("a", "postcode", "x"), Comparison("b", "exact", "x"), Comparison("c", "date", "x"))
    gamma = gamma[:, [0, 1, 2]]
    gamma[:, 2] = np.minimum(gamma[:, 2], 3)  # date has 5 levels; simulated has 4
    u = estimate_u(gamma, comps)
    np.testing.assert_allclose(u[0], TRUE_U[0], atol=0.01)
    np.testing.assert_allclose(u[1], TRUE_U[1], atol=0.01)


def test_degenerate_levels_never_underflow():
    """A level that never occurs, and a comparison that is always missing, train cleanly."""
    gamma, _ = _simulate(50_000, lam=0.2, seed=2)
    gamma[gamma[:, 0] == 1, 0] = 2  # level 1 of comparison 0 never occurs
    gamma[:, 1] = -1  # comparison 1 is never observed
    patterns, counts = _patterns(gamma)
    u = [np.array([0.9, 0.0, 0.1]), np.array([0.5, 0.5]), TRUE_U[2]]  # a zero u as well
    u = [np.maximum(x, 1e-9) / np.maximum(x, 1e-9).sum() for x in u]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero or overflow warnings
        result = em(patterns, counts, u, [np.array([0.2, 0.3, 0.5]), np.array([0.5, 0.5]),
                                          np.array([0.1, 0.2, 0.3, 0.4])], free=[0, 1, 2])
    assert all(np.isfinite(m).all() and (m > 0).all() for m in result.m)
    assert result.m[0][1] < 1e-3  # the empty level keeps a tiny, non-zero m
    np.testing.assert_allclose(result.m[1], [0.5, 0.5])  # nothing observed: stays uniform
    model = FSModel((Comparison("a", "postcode", "x"), Comparison("b", "exact", "x"),
                     Comparison("c", "date", "x")), result.m, u, 1e-4)
    assert all(np.isfinite(w).all() for w in model.weights())


def test_fit_m_holds_out_blocked_comparisons():
    gamma, _ = _simulate(30_000, lam=0.4, seed=4)
    comps = (Comparison("a", "postcode", "a"), Comparison("b", "exact", "b"), Comparison("c", "string", "c",
                                                                                        thresholds=(0.9, 0.8)))
    base = pattern_base(comps)
    frame = pd.DataFrame({"code": pack(gamma, base), "mask": np.uint32(1)}).value_counts().rename("n").reset_index()
    m, info = fit_m(frame, comps, [{"b"}], TRUE_U, base, max_iter=100, tol=1e-6)
    assert info["em_sessions"][0]["estimated"] == ["a", "c"]
    # b is blocked on by every rule: estimated from all pairs together, and reported as such
    assert info["m_from_all_pairs"] == ["b"] and info["m_not_estimated"] == []
    np.testing.assert_allclose(m[0], TRUE_M[0], atol=0.02)


def test_pack_unpack_roundtrip():
    gamma, _ = _simulate(1000, lam=0.5, seed=5)
    np.testing.assert_array_equal(unpack(pack(gamma, 5), 3, 5), gamma)


def test_prior_estimate_counts_expected_matches():
    # 1000 pairs with overwhelming evidence, 1e6 with strong evidence against, among 1e8 pairs
    weights = np.array([40.0, -40.0])
    counts = np.array([1000, 1_000_000])
    lam = estimate_prior(weights, counts, 1e8)
    assert abs(lam - 1e-5) / 1e-5 < 0.01


def test_model_dict_roundtrip():
    from stairs_link.linkage.config import LinkageConfig

    config = LinkageConfig()
    m = [np.linspace(1, 2, len(c.levels())) / np.linspace(1, 2, len(c.levels())).sum() for c in config.comparisons]
    u = [x[::-1].copy() for x in m]
    model = FSModel(config.comparisons, m, u, 3e-5)
    loaded, config2 = FSModel.from_dict(model.to_dict(config))
    assert config2 == config
    for a, b in zip(loaded.weights(), model.weights()):
        np.testing.assert_array_equal(a, b)


def test_sessions_where_a_comparison_is_never_observed_do_not_dilute_its_m():
    gamma, _ = _simulate(30_000, lam=0.4, seed=6)
    comps = (Comparison("a", "postcode", "a"), Comparison("b", "exact", "b"), Comparison("c", "string", "c",
                                                                                        thresholds=(0.9, 0.8)))
    base = pattern_base(comps)
    other = gamma.copy()
    other[:, 0] = -1  # in rule 1's pairs comparison a is always missing
    frame = pd.concat([
        pd.DataFrame({"code": pack(gamma, base), "mask": np.uint32(1)}),
        pd.DataFrame({"code": pack(other, base), "mask": np.uint32(2)}),
    ]).value_counts().rename("n").reset_index()
    m, info = fit_m(frame, comps, [{"b"}, {"b"}], TRUE_U, base, max_iter=100, tol=1e-6)
    np.testing.assert_allclose(m[0], TRUE_M[0], atol=0.02)  # not pulled towards uniform
