"""Each comparison level on hand-made pairs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stairs_link.linkage.compare import compare
from stairs_link.linkage.config import Comparison
from stairs_link.linkage.prepare import Features


def _levels(comp: Comparison, left: dict, right: dict) -> str:
    """Label of the level the pair (left, right) gets; 'missing' for gamma -1."""
    frame = pd.DataFrame([left, right])
    gamma = compare((comp,), Features(frame), np.array([0]), np.array([1]))[0, 0]
    return "missing" if gamma < 0 else comp.levels()[gamma]


GIVEN = Comparison("given_name", "name", "given_name", other_column="family_name", phonetic=True,
                   nicknames=True, tokens=True, thresholds=(0.92, 0.80))
FAMILY = Comparison("family_name", "name", "family_name", other_column="given_name", phonetic=True,
                    tokens=True, thresholds=(0.92, 0.80))


@pytest.mark.parametrize("a, b, level", [
    ("José", "JOSE", "exact"),  # folding: accents and case
    ("Bill", "William", "nickname"),
    ("Mohammed", "Muhammad", "nickname"),  # transliteration variants share a group
    ("Ciaran Joshua", "Kieran", "nickname"),  # a middle name keyed into the given-name field
    ("Jonathan", "Jonathon", "jaro_winkler>=0.92"),
    ("Knight", "Nite", "phonetic"),
    ("Maria", "Marta", "jaro_winkler>=0.8"),
    ("Zoe", "Priya", "else"),
    (None, "Priya", "missing"),
])
def test_given_name_levels(a, b, level):
    assert _levels(GIVEN, {"given_name": a, "family_name": "Khan"},
                   {"given_name": b, "family_name": "Khan"}) == level


def test_given_family_swap():
    left = {"given_name": "Jermaine", "family_name": "Forbes"}
    right = {"given_name": "Forbes", "family_name": "Jermaine"}
    assert _levels(GIVEN, left, right) == "swap"
    assert _levels(FAMILY, left, right) == "swap"


@pytest.mark.parametrize("a, b, level", [
    ("Smith-Jones", "Smith", "token"),  # hyphenated: one part matches
    ("Garcia Lopez", "Lopez", "token"),  # two family names, one recorded
    ("Smith", "Smyth", "phonetic"),
    ("Okafor", "Okafr", "jaro_winkler>=0.92"),
    ("O'Brien", "OBRIEN", "exact"),
])
def test_family_name_levels(a, b, level):
    assert _levels(FAMILY, {"given_name": "Ann", "family_name": a},
                   {"given_name": "Ann", "family_name": b}) == level


DOB = Comparison("date_of_birth", "date", "date_of_birth")


@pytest.mark.parametrize("a, b, level", [
    (dt.date(2008, 3, 7), dt.date(2008, 3, 7), "exact"),
    (dt.date(2008, 3, 7), dt.date(2008, 7, 3), "day_month_swap"),
    (dt.date(2008, 3, 7), dt.date(2008, 3, 9), "one_digit"),
    (dt.date(2009, 12, 31), dt.date(2010, 1, 1), "one_unit_off"),  # a day apart across years
    (dt.date(2008, 3, 17), dt.date(2008, 4, 17), "one_digit"),  # month 03 vs 04: one digit too
    (dt.date(2008, 10, 17), dt.date(2008, 11, 17), "one_digit"),
    (dt.date(2008, 9, 30), dt.date(2008, 10, 30), "one_unit_off"),  # month 09 -> 10: two digits
    (dt.date(2008, 3, 7), dt.date(2005, 11, 21), "else"),
    (None, dt.date(2005, 11, 21), "missing"),
])
def test_date_levels(a, b, level):
    assert _levels(DOB, {"date_of_birth": a}, {"date_of_birth": b}) == level


def test_sex_with_not_known_as_missing():
    sex = Comparison("sex", "exact", "sex", null_values=("unknown",))
    assert _levels(sex, {"sex": "male"}, {"sex": "male"}) == "exact"
    assert _levels(sex, {"sex": "male"}, {"sex": "female"}) == "else"
    assert _levels(sex, {"sex": "Unknown"}, {"sex": "female"}) == "missing"


@pytest.mark.parametrize("a, b, level", [
    ("SW1A 1AA", "sw1a1aa", "exact"),
    ("SW1A 1AA", "SW1A 2BB", "outward"),
    ("SW1A 1AA", "M1 1AE", "else"),
    ("SW1A 1AA", None, "missing"),
])
def test_postcode_levels(a, b, level):
    pc = Comparison("postcode", "postcode", "postcode")
    assert _levels(pc, {"postcode": a}, {"postcode": b}) == level


NHS = Comparison("nhs_number", "identifier", "nhs_number", validator="nhs_number")


@pytest.mark.parametrize("a, b, level", [
    ("9434765919", "943 476 5919", "exact"),
    ("9434765919", "9434765918", "one_character"),  # keying error: second fails its check
    ("9434765919", "9434765991", "one_character"),  # transposition
    ("9434765919", "1234567881", "else"),  # two valid, different numbers: evidence against
    ("9434765919", "5555555555", "missing"),  # invalid and far: no evidence
    ("9434765918", "9434765918", "one_character"),  # the same invalid value on both
    (None, "9434765919", "missing"),
])
def test_identifier_levels(a, b, level):
    assert _levels(NHS, {"nhs_number": a}, {"nhs_number": b}) == level


def test_string_levels_generic_column():
    comp = Comparison("suburb", "string", "suburb", thresholds=(0.9, 0.75))
    assert _levels(comp, {"suburb": "winston hills"}, {"suburb": "WINSTON HILLS"}) == "exact"
    assert _levels(comp, {"suburb": "winston hills"}, {"suburb": "winston hils"}) == "jaro_winkler>=0.9"
    assert _levels(comp, {"suburb": "dapto"}, {"suburb": "richlands"}) == "else"


def test_comparison_on_many_pairs_matches_pairwise():
    """The unique-value path gives the same levels as comparing pair by pair."""
    rng = np.random.default_rng(3)
    names = np.array(["Anna", "Ana", "Hannah", "Bill", "William", "Smith", None, "Jon", "John"], dtype=object)
    frame = pd.DataFrame({"given_name": rng.choice(names, 60), "family_name": rng.choice(names, 60)})
    i, j = np.triu_indices(60, 1)
    full = compare((GIVEN,), Features(frame), i, j)[:, 0]
    for k in rng.choice(len(i), 40, replace=False):
        one = compare((GIVEN,), Features(frame.iloc[[i[k], j[k]]]), np.array([0]), np.array([1]))[0, 0]
        assert one == full[k]
