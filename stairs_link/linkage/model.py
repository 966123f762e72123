"""Fellegi-Sunter model: u by random sampling, m by EM on comparison-pattern COUNTS, prior.

Everything is in log space with floors, so an empty or degenerate comparison level (one that
never occurs among matches, or never at all) gives a large but finite weight instead of an
underflow. EM never sees individual pairs: it works on the distinct gamma patterns and how
often each occurs, so its memory does not grow with the number of pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stairs_link.errors import LinkageError
from stairs_link.linkage.config import Comparison, LinkageConfig

MODEL_FORMAT = "stairs-link-fellegi-sunter/1"
PROB_FLOOR = 1e-9  # smallest m or u probability kept (log2 weight at most ~30 bits)
M_PSEUDOCOUNT = 0.01  # EM M-step smoothing: keeps levels never seen among matches above zero
U_PSEUDOCOUNT = 0.5  # Jeffreys-style smoothing of the random-pair level counts


def pattern_base(comparisons: tuple[Comparison, ...]) -> int:
    """Radix used to pack one gamma (-1..L-1, stored +1) per comparison into an int64."""
    base = max(len(c.levels()) for c in comparisons) + 1
    if base ** len(comparisons) >= 2 ** 62:
        raise LinkageError("too many comparisons/levels to pack a comparison pattern into 64 bits",
                           reason="bad_config", fix="use fewer comparisons or fewer levels")
    return base


def pack(gamma: np.ndarray, base: int) -> np.ndarray:
    """Gamma matrix (pairs x comparisons) -> one int64 pattern code per pair."""
    code = np.zeros(len(gamma), dtype=np.int64)
    for k in range(gamma.shape[1] - 1, -1, -1):
        code = code * base + (gamma[:, k].astype(np.int64) + 1)
    return code


def unpack(code: np.ndarray, n_comparisons: int, base: int) -> np.ndarray:
    """Inverse of :func:`pack`: int64 codes -> gamma matrix (int8)."""
    gamma = np.empty((len(code), n_comparisons), dtype=np.int8)
    rest = np.asarray(code, dtype=np.int64).copy()
    for k in range(n_comparisons):
        gamma[:, k] = (rest % base) - 1
        rest //= base
    return gamma


def level_counts(gamma: np.ndarray, n_levels: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted count of each level (missing ignored)."""
    present = gamma >= 0
    return np.bincount(gamma[present].astype(np.int64), weights=None if weights is None else weights[present],
                       minlength=n_levels)[:n_levels].astype(np.float64)


def _normalise(counts: np.ndarray, pseudo: float) -> np.ndarray:
    probs = (counts + pseudo) / (counts.sum() + pseudo * len(counts))
    probs = np.maximum(probs, PROB_FLOOR)
    return probs / probs.sum()


def estimate_u(gamma: np.ndarray, comparisons: tuple[Comparison, ...]) -> list[np.ndarray]:
    """u probabilities from the gamma of random record pairs (almost all non-matches)."""
    return [_normalise(level_counts(gamma[:, k], len(c.levels())), U_PSEUDOCOUNT)
            for k, c in enumerate(comparisons)]


def initial_m(n_levels: int) -> np.ndarray:
    """Starting m: mass rising geometrically towards the top (exact) level."""
    w = 4.0 ** np.arange(n_levels)
    return w / w.sum()


@dataclass
class EMResult:
    m: list[np.ndarray]
    lam: float
    iterations: int
    converged: bool
    evidence: dict[int, float] = field(default_factory=dict)  # expected matches observed, per comparison


def em(gamma: np.ndarray, counts: np.ndarray, u: list[np.ndarray], m0: list[np.ndarray],
       free: list[int], *, lam0: float = 0.2, max_iter: int = 30, tol: float = 1e-5) -> EMResult:
    """EM for m (comparisons ``free``) and the proportion of matches, u held fixed.

    ``gamma`` holds distinct patterns (P x C) and ``counts`` how many pairs show each. Only the
    ``free`` comparisons enter the likelihood (the others are what the pairs were blocked on,
    so they carry no information here). Log-space E-step: no underflow whatever the levels.
    """
    m = [x.copy() for x in m0]
    counts = counts.astype(np.float64)
    total = counts.sum()
    lam = lam0
    log_u = np.zeros(len(gamma))
    for k in free:
        g = gamma[:, k]
        log_u += np.where(g >= 0, np.log(u[k][np.maximum(g, 0)]), 0.0)
    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        log_m = np.zeros(len(gamma))
        for k in free:
            g = gamma[:, k]
            log_m += np.where(g >= 0, np.log(m[k][np.maximum(g, 0)]), 0.0)
        logit = math.log(lam) - math.log1p(-lam) + log_m - log_u
        post = 0.5 * (1.0 + np.tanh(0.5 * logit))  # numerically safe sigmoid
        weighted = counts * post
        lam = float(np.clip(weighted.sum() / total, 1e-9, 1 - 1e-9))
        change = 0.0
        for k in free:
            new = _normalise(level_counts(gamma[:, k], len(m[k]), weighted), M_PSEUDOCOUNT)
            change = max(change, float(np.abs(new - m[k]).max()))
            m[k] = new
        if change < tol:
            converged = True
            break
    evidence = {k: float(weighted[gamma[:, k] >= 0].sum()) for k in free}
    return EMResult(m, lam, iteration, converged, evidence)


@dataclass
class FSModel:
    """Trained parameters: m and u per comparison level and the prior match probability."""

    comparisons: tuple[Comparison, ...]
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float
    training: dict[str, Any] = field(default_factory=dict)

    def weights(self) -> list[np.ndarray]:
        """log2 Bayes factor per level (partial match weight)."""
        return [np.log2(np.maximum(m, PROB_FLOOR)) - np.log2(np.maximum(u, PROB_FLOOR))
                for m, u in zip(self.m, self.u)]

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior) - math.log2(1.0 - self.prior)

    def partial_weights(self, gamma: np.ndarray) -> np.ndarray:
        """Partial weight per pair and comparison (0 where missing), float32."""
        out = np.zeros(gamma.shape, dtype=np.float32)
        for k, w in enumerate(self.weights()):
            g = gamma[:, k]
            out[:, k] = np.where(g >= 0, w[np.maximum(g, 0)], 0.0)
        return out

    def to_dict(self, config: LinkageConfig) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "config": config.to_dict(),
            "prior": self.prior,
            "comparisons": [
                {"name": c.name, "levels": c.levels(), "m": [float(x) for x in m],
                 "u": [float(x) for x in u],
                 "weight": [float(x) for x in w]}
                for c, m, u, w in zip(self.comparisons, self.m, self.u, self.weights())
            ],
            "training": self.training,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, file: str | None = None) -> tuple[FSModel, LinkageConfig]:
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            raise LinkageError("not a stairs-link model file", reason="bad_model", file=file,
                               fix="pass the model.json written by `stairs-link link`")
        config = LinkageConfig.from_dict(data["config"], file=file)
        entries = {e["name"]: e for e in data["comparisons"]}
        m, u = [], []
        for c in config.comparisons:
            entry = entries.get(c.name)
            if entry is None or entry["levels"] != c.levels():
                raise LinkageError(f"model parameters for comparison '{c.name}' do not match its levels",
                                   reason="bad_model", file=file,
                                   fix="re-train the model (run without --model)")
            m.append(np.asarray(entry["m"], dtype=np.float64))
            u.append(np.asarray(entry["u"], dtype=np.float64))
        prior = float(data["prior"])
        if not 0 < prior < 1:
            raise LinkageError("model prior must be in (0, 1)", reason="bad_model", file=file)
        return cls(config.comparisons, m, u, prior, data.get("training", {})), config


def fit_m(patterns: pd.DataFrame, comparisons: tuple[Comparison, ...], rules_columns: list[set[str]],
          u: list[np.ndarray], base: int, *, max_iter: int, tol: float
          ) -> tuple[list[np.ndarray], dict[str, Any]]:
    """m by one EM session per blocking rule (the rule's own comparisons held out), averaged
    with each session weighted by its expected number of matches in which the comparison was
    observed (a session where a comparison is always missing says nothing about it).

    ``patterns`` has columns code (packed gamma), mask (rules the pair agrees on), n (count).
    """
    n_comp = len(comparisons)
    estimates: list[list[np.ndarray]] = [[] for _ in comparisons]
    weights: list[list[float]] = [[] for _ in comparisons]
    sessions = []
    init = [initial_m(len(c.levels())) for c in comparisons]
    for r, columns in enumerate(rules_columns):
        sel = (patterns["mask"].to_numpy() >> np.uint32(r)) & np.uint32(1) == 1
        if not sel.any():
            continue
        sub = patterns[sel].groupby("code", sort=False)["n"].sum()
        gamma = unpack(sub.index.to_numpy(), n_comp, base)
        free = [k for k, c in enumerate(comparisons) if not set(c.columns()) & columns]
        if not free:
            continue
        result = em(gamma, sub.to_numpy(), u, init, free, max_iter=max_iter, tol=tol)
        for k in free:
            if result.evidence[k] > 0:
                estimates[k].append(result.m[k])
                weights[k].append(result.evidence[k])
        sessions.append({"rule": r, "pairs": int(sub.sum()), "patterns": len(sub),
                         "match_share": result.lam, "iterations": result.iterations,
                         "converged": result.converged,
                         "estimated": [comparisons[k].name for k in free],
                         "m": {comparisons[k].name: [round(float(x), 6) for x in result.m[k]] for k in free}})
    missing = [k for k in range(n_comp) if not estimates[k]]
    fallback: list[str] = []
    if missing and len(patterns):
        # Every rule blocks on these comparisons (e.g. no rule without the date of birth): fall
        # back to one session over all blocked pairs with every comparison free. Blocking makes
        # agreement on the blocked fields look commoner among non-matches than u says, so this
        # is a second-best estimate, reported in model.json as such.
        everything = patterns.groupby("code", sort=False)["n"].sum()
        result = em(unpack(everything.index.to_numpy(), n_comp, base), everything.to_numpy(), u, init,
                    list(range(n_comp)), max_iter=max_iter, tol=tol)
        for k in missing:
            if result.evidence[k] > 0:
                estimates[k].append(result.m[k])
                weights[k].append(result.evidence[k])
                fallback.append(comparisons[k].name)
    m = []
    not_estimated = []
    for k, c in enumerate(comparisons):
        if estimates[k]:
            m.append(_normalise(np.average(estimates[k], axis=0, weights=weights[k]), 0.0))
        else:
            m.append(init[k])
            not_estimated.append(c.name)
    return m, {"em_sessions": sessions, "m_from_all_pairs": fallback, "m_not_estimated": not_estimated}


def estimate_prior(weights_by_pattern: np.ndarray, counts: np.ndarray, total_pairs: float,
                   *, iterations: int = 200) -> float:
    """Prior match probability lambda solving lambda * N = sum_i P(match_i | lambda).

    The right side is the expected number of matches among the blocked pairs (blocking is
    assumed to find nearly all matches), N the number of possible record pairs.
    """
    if total_pairs <= 0 or counts.sum() == 0:
        return 1e-6
    lam = min(0.5, max(counts.sum() / total_pairs * 0.01, 1e-12))
    bf = weights_by_pattern * math.log(2.0)
    for _ in range(iterations):
        logit = math.log(lam) - math.log1p(-lam) + bf
        expected = float((counts * 0.5 * (1.0 + np.tanh(0.5 * logit))).sum())
        new = min(max(expected / total_pairs, 1e-12), 0.5)
        if abs(new - lam) <= 1e-6 * lam:
            lam = new
            break
        lam = new
    return lam
