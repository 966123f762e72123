"""The comparison registry: kinds looked up by name, each defining its levels and compare."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stairs_link.errors import LinkageError
from stairs_link.linkage import comparisons
from stairs_link.linkage.compare import compare
from stairs_link.linkage.comparisons import Comparison, ComparisonKind, kind, kind_names, register
from stairs_link.linkage.config import COMPARISON_KINDS, LinkageConfig
from stairs_link.linkage.prepare import Features
from stairs_link.synth import person_records


def test_config_accepts_exactly_the_registered_kinds() -> None:
    assert COMPARISON_KINDS == kind_names() == ("name", "date", "exact", "string", "postcode", "identifier", "bloom")
    with pytest.raises(LinkageError, match="unknown comparison kind 'soundalike'") as err:
        kind("soundalike")
    assert err.value.fix == f"use one of: {', '.join(kind_names())}"
    with pytest.raises(LinkageError, match="unknown kind 'soundalike' \\(valid: name, date, exact"):
        LinkageConfig(comparisons=(Comparison("x", "soundalike", "given_name"),), deterministic_identifiers=(),
                      cannot_link_identifiers=())


def test_every_plain_kind_gives_levels_within_its_labels() -> None:
    person, _ = person_records(40, 3)
    feats = Features(person)
    i, j = np.triu_indices(len(person), k=1)
    config = LinkageConfig()
    comps = (*config.comparisons, Comparison("family_string", "string", "family_name"))
    gamma = compare(comps, feats, i, j)
    assert gamma.dtype == np.int8 and gamma.shape == (len(i), len(comps))
    for k, comp in enumerate(comps):
        levels = kind(comp.kind).levels(comp)
        assert levels == comp.levels() and levels[0] == "else"
        assert gamma[:, k].min() >= -1 and gamma[:, k].max() <= len(levels) - 1
        assert (gamma[:, k] == len(levels) - 1).any(), comp.name  # some pairs agree exactly


def test_a_new_kind_is_one_registration() -> None:
    def initial_levels(comp: Comparison) -> list[str]:
        return ["else", "same_initial"]

    def compare_initial(comp, feats, i, j):  # noqa: ANN001, ANN202
        codes, _ = feats.strings(comp.column, "first1", comp.null_values)
        a, b = codes[i], codes[j]
        gamma = (a == b).astype(np.int8)
        gamma[(a < 0) | (b < 0)] = -1
        return gamma

    register(ComparisonKind("initial", initial_levels, compare_initial))
    try:
        config = dataclasses.replace(LinkageConfig(), comparisons=(
            *LinkageConfig().comparisons, Comparison("given_initial", "initial", "given_name")))
        person, _ = person_records(20, 2)
        gamma = compare(config.comparisons, Features(person), np.array([0, 0]), np.array([0, 1]))
        assert gamma[0, -1] == 1 and config.comparison("given_initial").levels() == ["else", "same_initial"]
    finally:
        del comparisons.KINDS["initial"]
