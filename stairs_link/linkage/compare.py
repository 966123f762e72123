"""Comparison vectors: (record index pairs) -> int8 comparison level (gamma) per pair and
comparison.

Gamma -1 means missing (no evidence), 0 disagreement, higher values stronger agreement; the
labels are ``Comparison.levels()``. Each kind's compare function is looked up in the registry
(:mod:`stairs_link.linkage.comparisons`, one module per kind), so both engines compare with
the same functions.
"""

from __future__ import annotations

import numpy as np

from stairs_link.linkage.comparisons import GAMMA_MISSING, Comparison, kind
from stairs_link.linkage.prepare import Features

__all__ = ["GAMMA_MISSING", "compare"]


def compare(comparisons: tuple[Comparison, ...], feats: Features, i: np.ndarray, j: np.ndarray
            ) -> np.ndarray:
    """Gamma matrix (pairs x comparisons, int8) for record index pairs ``i``, ``j``."""
    gamma = np.empty((len(i), len(comparisons)), dtype=np.int8)
    for k, comp in enumerate(comparisons):
        gamma[:, k] = kind(comp.kind).compare(comp, feats, i, j)
    return gamma
