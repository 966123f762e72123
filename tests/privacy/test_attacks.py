"""The attacks of stairs_link.privacy.attacks (issue 18): pattern mining recovers the names
from the old encoding (scheme v1), so this test can fail, and recovers none from the default
(v2: random hashing + keyed linear diffusion). Small synthetic worlds, a fixed key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stairs_link.privacy import BloomParams, PrivacyParams, bloom_encode, bloom_matrix, pseudonymise_frame
from stairs_link.privacy.attacks import (
    chain_bigrams,
    frequency_attack,
    pattern_mining_attack,
    reidentification_rate,
    undo_balanced,
)
from stairs_link.standardise import fold_name
from stairs_link.synth import person_records

KEY = bytes(range(7, 39))


@pytest.fixture(scope="module")
def world() -> tuple[pd.DataFrame, pd.Series]:
    person, _ = person_records(300, 1)  # ~1,300 records
    public, _ = person_records(1200, 2)  # the attacker's list: another sample of the generator
    names = pd.concat([fold_name(public["given_name"]), fold_name(public["family_name"])])
    return person, names


def _attack(person: pd.DataFrame, names: pd.Series, params: PrivacyParams) -> tuple[float, float]:
    enc = pseudonymise_frame("person", person, KEY, params)
    report = pattern_mining_attack([enc["given_name_bf"], enc["family_name_bf"]], params.name, names)
    return (reidentification_rate(report.guesses[0], fold_name(person["given_name"])),
            reidentification_rate(report.guesses[1], fold_name(person["family_name"])))


def test_pattern_mining_recovers_names_from_the_old_encoding(world):
    given, family = _attack(*world, PrivacyParams.v1())
    assert given > 0.6 and family > 0.6, (given, family)


def test_pattern_mining_recovers_nothing_from_the_default_encoding(world):
    given, family = _attack(*world, PrivacyParams())
    assert given < 0.01 and family < 0.01, (given, family)


def test_balanced_filters_are_undone():
    names = pd.Series(["SMITH", "JONES", "PATEL", "AL", "SMYTHE", "JONES"])
    plain = np.unpackbits(bloom_matrix(bloom_encode(names, KEY, "name", BloomParams(hashing="double",
                                                                                         diffusion=0)))[0], axis=1)
    balanced = np.unpackbits(bloom_matrix(bloom_encode(names, KEY, "name", BloomParams(
        hashing="double", diffusion=0, balanced=True)))[0], axis=1).astype(bool)
    undone, found = undo_balanced(balanced, np.ones(len(names)))
    assert found and undone.shape == plain.shape
    # the same filters, up to the order of the bit positions (and, for a position set in most
    # of these few filters, its complement: the sparser column of each pair is kept)
    def canonical(columns: np.ndarray) -> list[tuple[int, ...]]:
        return sorted(tuple(c if c[0] == 0 else 1 - c) for c in columns.T.astype(int))

    assert canonical(undone) == canonical(plain)
    assert undo_balanced(plain.astype(bool), np.ones(len(names)))[1] is False


def test_chain_bigrams_rebuilds_a_value_and_frequency_attack_aligns_ranks():
    from stairs_link.privacy import ngrams

    assert chain_bigrams(set(ngrams("SMITH", BloomParams()))) == "SMITH"
    assert chain_bigrams({"AB", "CD"}) is None
    enc = bloom_encode(pd.Series(["ANN"] * 3 + ["BOB"] * 2 + ["CY"]), KEY, "name")
    report = frequency_attack(enc, pd.Series(["ANN"] * 5 + ["BOB"] * 3 + ["DI"]))
    assert report.guesses[0].tolist() == ["ANN"] * 3 + ["BOB"] * 2 + ["DI"]
    assert reidentification_rate(report.guesses[0], ["ANN"] * 3 + ["BOB"] * 2 + ["CY"]) == pytest.approx(5 / 6)
