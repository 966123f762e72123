"""Properties every validating standardiser must keep, on random junk and on synthetic
identifiers: no exception, index kept, blank -> null and not invalid, a value is never both
kept and invalid, and the canonical form is a fixed point (standardising it again changes
nothing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stairs_link import standardise as std
from stairs_link.synth import person_records

VALIDATORS = {
    "nhs_number": std.nhs_number,
    "upn": std.upn,
    "pnc_id": lambda s: std.pnc_id(s, reference_year=2026),
    "cro_number": std.cro_number,
    "prison_number": std.prison_number,
    "postcode": std.postcode,
    "parse_dates": lambda s: std.parse_dates(s, ["%d/%m/%Y", "%d/%m/%y"], excel_serial=True,
                                             reference_date=pd.Timestamp("2026-01-31").date()),
}
ALPHABET = list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz/-., '\t\u00a0éßØ€中") + ["\u200b", "  "]


def _junk(n: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 15, n)
    values = ["".join(rng.choice(ALPHABET, size=k)) for k in lengths]
    s = pd.Series(values, dtype=object, index=rng.permutation(n) + 1000)
    s.iloc[::17] = None
    return s


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    person, _ = person_records(150, 3)
    return person


def _check_result(raw: pd.Series, result: std.Standardised) -> None:
    assert result.value.index.equals(raw.index) and result.invalid.index.equals(raw.index)
    assert result.invalid.dtype == bool
    blank = raw.isna() | raw.astype("string").str.replace(r"[\s\u200b]+", "", regex=True).fillna("").eq("")
    assert not result.invalid[blank].any()
    assert result.value[blank].isna().all()
    assert not (result.value.notna() & result.invalid).any()
    assert (result.value.notna() | result.invalid | blank).all()  # every value is accounted for


@pytest.mark.parametrize("name", list(VALIDATORS))
def test_random_junk_is_classified_not_crashed(name: str) -> None:
    raw = _junk(3000, seed=len(name))
    _check_result(raw, VALIDATORS[name](raw))


@pytest.mark.parametrize("name", ["nhs_number", "upn", "pnc_id", "prison_number", "postcode"])
def test_canonical_form_is_a_fixed_point(name: str, synthetic: pd.DataFrame) -> None:
    values = synthetic[name].dropna()
    assert len(values) > 20
    messy = values.str.lower().str.replace(r"^(.)", r"  \1", regex=True) + " "  # case and spaces
    first = VALIDATORS[name](messy)
    _check_result(messy, first)
    assert not first.invalid.any()
    again = VALIDATORS[name](first.value)
    assert again.value.equals(first.value) and not again.invalid.any()


def test_date_round_trip_on_synthetic_births(synthetic: pd.DataFrame) -> None:
    dob = pd.to_datetime(synthetic["date_of_birth"])
    for fmt in ("%d/%m/%Y", "%d/%m/%y"):
        result = VALIDATORS["parse_dates"](dob.dt.strftime(fmt))
        assert result.value.equals(dob.astype("datetime64[s]"))
