"""The comparison registry: each kind of comparison (name, date, exact, string, postcode,
identifier, bloom) is one module of this package that defines its levels and its vectorised
compare function and registers itself; ``config``, ``compare`` and the Spark engine's kernels
look kinds up here by name, and an unknown name lists the valid ones.

A compare function takes ``(comparison, features, i, j)`` (record index arrays of the pairs)
and returns an int8 level (gamma) per pair: -1 missing (no evidence), 0 disagreement, higher
values stronger agreement, labelled by ``levels(comparison)`` from the lowest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from stairs_link.errors import LinkageError
from stairs_link.registry import Registry

if TYPE_CHECKING:  # annotations only: prepare's Features is what every compare function is given
    from stairs_link.linkage.prepare import Features

GAMMA_MISSING = -1


@dataclass(frozen=True)
class Comparison:
    """One comparison of a column between two records, giving an int8 level (gamma).

    kind:
      ``name``        exact / nickname / Jaro-Winkler / swap with ``other_column`` / shared
                      token (hyphenated or multiple names) / phonetic levels;
      ``date``        exact / day-month swap / one-digit typo / one day, month or year off;
      ``exact``       exact agreement only (e.g. sex);
      ``string``      exact / Jaro-Winkler thresholds (generic column);
      ``postcode``    full / outward code;
      ``identifier``  exact (valid) / one-character difference / two valid different values;
      ``bloom``       Bloom-filter encodings (pseudonymised mode): exact / Dice >= thresholds,
                      swap with ``other_column`` (see ``bloom_comparisons``).
    Missing values (null, or invalid for a validated identifier) give gamma -1: no evidence.
    Each kind's levels and compare function are in its module of ``linkage/comparisons/``.
    """

    name: str
    kind: str
    column: str
    other_column: str | None = None
    thresholds: tuple[float, ...] = (0.92, 0.80)
    phonetic: bool = False
    nicknames: bool = False
    tokens: bool = False
    term_frequency: bool = False
    validator: str | None = None
    fuzzy: bool = True
    null_values: tuple[str, ...] = ()  # values meaning "not known" (compared as missing)

    def levels(self) -> list[str]:
        """Level labels from the lowest (gamma 0, disagreement) to the highest (set by the kind)."""
        return kind(self.kind).levels(self)

    def columns(self) -> list[str]:
        return [self.column] + ([self.other_column] if self.other_column else [])


Compare = Callable[[Comparison, "Features", np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ComparisonKind:
    """A kind of comparison: its level labels (lowest first) for a comparison, its compare
    function, and what the rest of the linkage needs to know about it.

    ``tf_form``: the string form term frequencies are counted on; ``role``: how the
    deterministic pass counts it (``identifier``: links on it; ``name_date``: a name or date
    (or an encoding of one) judged with the demographics; ``demographic``: judged only as a
    demographic; ``other``: neither, e.g. an address); ``term_frequency``: whether
    ``term_frequency: true`` is allowed."""

    name: str
    levels: Callable[[Comparison], list[str]]
    compare: Compare
    tf_form: str = "norm"
    role: str = "other"
    term_frequency: bool = True


KINDS: Registry[ComparisonKind] = Registry("comparison kind", LinkageError, reason="bad_config")
register = KINDS.register  # add a kind (each kind's module calls this once, at import)
kind = KINDS.lookup  # the kind of a name; an unknown name is an error listing the valid ones
kind_names = KINDS.names  # every registered kind, in registration order


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct unordered (a, b) code pairs and the inverse index mapping pairs to them."""
    lo = np.minimum(a, b).astype(np.int64)
    hi = np.maximum(a, b).astype(np.int64)
    width = np.int64(hi.max() + 1) if len(hi) else np.int64(1)
    inverse, packed = pd.factorize(lo * width + hi)  # hashing: no sort of all pairs
    return packed // width, packed % width, inverse


def _assign(levels: list[str], conditions: dict[str, np.ndarray], missing: np.ndarray) -> np.ndarray:
    """Gamma = index of the highest level whose condition holds (0 if none), -1 if missing."""
    gamma = np.zeros(len(missing), dtype=np.int8)
    for index, label in enumerate(levels):
        if index and label in conditions:
            gamma[conditions[label]] = index
    gamma[missing] = GAMMA_MISSING
    return gamma
