"""Identifiers: valid and invalid values from the domain README and their sources."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stairs_link.standardise import (
    cro_check_letter,
    cro_number,
    nhs_check_digit,
    nhs_number,
    pnc_check_letter,
    pnc_id,
    prison_number,
    record_key,
    upn,
    upn_check_letter,
    upn_unknown_mask,
    valid_nhs_number_mask,
)


def _one(result):  # noqa: ANN001, ANN202 - tiny test helper
    return result.value.iloc[0], bool(result.invalid.iloc[0])


# ----------------------------------------------------------------- NHS number
@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("9434765919", "9434765919"),
        ("943 476 5919", "9434765919"),
        (" 943-476-5919 ", "9434765919"),
        ("943\u00a0476\u00a05919", "9434765919"),
        (9434765919, "9434765919"),
    ],
)
def test_nhs_number_valid(raw: object, value: str) -> None:
    result = nhs_number(pd.Series([raw], dtype=object))
    assert _one(result) == (value, False)
    assert result.reason == "invalid_nhs_number"


@pytest.mark.parametrize(
    "raw",
    ["9434765918", "943476591", "94347659190", "943476591X", "0000000000", "1111111111", "abc"],
)
def test_nhs_number_invalid(raw: str) -> None:
    value, invalid = _one(nhs_number(pd.Series([raw])))
    assert pd.isna(value) and invalid


@pytest.mark.parametrize("raw", [None, "", "   ", "\t"])
def test_nhs_number_blank_is_null_not_invalid(raw: str | None) -> None:
    value, invalid = _one(nhs_number(pd.Series([raw], dtype=object)))
    assert pd.isna(value) and not invalid


def test_nhs_number_float_column_keeps_digits() -> None:
    out = nhs_number(pd.Series([9434765919.0, np.nan]))
    assert out.value.tolist() == ["9434765919", pd.NA]
    assert out.invalid.tolist() == [False, False]


def test_nhs_number_remainder_ten_is_invalid() -> None:
    # find nine digits whose check digit would be 10 (no valid number exists): every ending fails
    rng = np.random.default_rng(1)
    nine = next(p for p in (f"{rng.integers(1e8, 1e9)}" for _ in range(1000)) if nhs_check_digit(p) is None)
    out = nhs_number(pd.Series([nine + str(d) for d in range(10)]))
    assert out.invalid.all()


def test_nhs_vectorised_agrees_with_scalar_and_catches_single_digit_errors() -> None:
    rng = np.random.default_rng(7)
    prefixes = [f"{n:09d}" for n in rng.integers(100_000_000, 999_999_999, size=3000)]
    valid = [p + str(c) for p in prefixes if (c := nhs_check_digit(p)) is not None]
    assert valid_nhs_number_mask(pd.Series(valid)).all()
    # modulus 11 with distinct weights detects every single-digit substitution
    broken = [v[:4] + str((int(v[4]) + 1) % 10) + v[5:] for v in valid]
    out = nhs_number(pd.Series(broken))
    assert out.invalid.all() and out.value.isna().all()


def test_nhs_check_digit_scalar() -> None:
    assert nhs_check_digit("943476591") == 9
    with pytest.raises(ValueError):
        nhs_check_digit("94347659")


# ----------------------------------------------------------------- UPN
@pytest.mark.parametrize(
    ("raw", "value"),
    [("H801200001001", "H801200001001"), ("G80120000101A", "G80120000101A"),
     ("g80120000101a", "G80120000101A"), (" H801 2000 01001 ", "H801200001001")],
)
def test_upn_valid(raw: str, value: str) -> None:
    result = upn(pd.Series([raw]))
    assert _one(result) == (value, False)
    assert result.reason == "invalid_upn"


@pytest.mark.parametrize(
    "raw", ["H801200001002", "A801200001001", "H80120000100", "I801200001001", "H80120000100I", "UN6", "UNKNOWN"]
)
def test_upn_invalid(raw: str) -> None:
    value, invalid = _one(upn(pd.Series([raw])))
    assert pd.isna(value) and invalid


def test_upn_unknown_codes_are_null_but_not_invalid_and_counted() -> None:
    s = pd.Series(["UN1", "un2", " UN5 ", "H801200001001", None, "UN6"])
    out = upn(s)
    assert out.value.isna().tolist() == [True, True, True, False, True, True]
    assert out.invalid.tolist() == [False, False, False, False, False, True]
    assert upn_unknown_mask(s).tolist() == [True, True, True, False, False, False]


def test_upn_vectorised_agrees_with_scalar() -> None:
    rng = np.random.default_rng(3)
    bodies = [f"{n:011d}" + ("A" if i % 3 == 0 else str(i % 10))
              for i, n in enumerate(rng.integers(0, 10**11, size=2000))]
    codes = [upn_check_letter(b) + b for b in bodies]
    assert not upn(pd.Series(codes)).invalid.any()
    assert upn_check_letter("801200001001") == "H"
    wrong = [("A" if c[0] != "A" else "B") + c[1:] for c in codes]
    assert upn(pd.Series(wrong)).invalid.all()


# ----------------------------------------------------------------- PNC ID
@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("2020/1234567Z", "2020/1234567Z"),
        ("20/1234567Z", "2020/1234567Z"),
        ("20201234567Z", "2020/1234567Z"),
        ("201234567Z", "2020/1234567Z"),
        (" 2020 / 1234567z ", "2020/1234567Z"),
        ("99/123P", "1999/0000123P"),
        ("1999/0000123P", "1999/0000123P"),
    ],
)
def test_pnc_valid(raw: str, value: str) -> None:
    result = pnc_id(pd.Series([raw]), reference_year=2026)
    assert _one(result) == (value, False)
    assert result.reason == "invalid_pnc_id"


@pytest.mark.parametrize(
    "raw",
    # 2020/1234567E is the example in the domain README, but its own rule (and MoJ's
    # validator) gives check letter Z for that serial: E is a wrong check letter.
    ["2020/1234567E", "99/123C", "2099/1234567A", "2020/12345678Z", "20-1234567Z", "PNC", "1234567Z"],
)
def test_pnc_invalid(raw: str) -> None:
    value, invalid = _one(pnc_id(pd.Series([raw]), reference_year=2026))
    assert pd.isna(value) and invalid


def test_pnc_two_digit_year_pivot_follows_reference_year() -> None:
    raw = "25/1234567" + pnc_check_letter("25", "1234567")
    assert pnc_id(pd.Series([raw]), reference_year=2026).value.iloc[0].startswith("2025/")
    assert pnc_id(pd.Series([raw]), reference_year=2024).value.iloc[0].startswith("1925/")


def test_pnc_check_letter_scalar() -> None:
    assert pnc_check_letter("20", "1234567") == "Z"
    assert pnc_check_letter("99", "123") == pnc_check_letter("99", "0000123")


# ----------------------------------------------------------------- CRO, prison number
def test_cro_number() -> None:
    good = "12345/99" + cro_check_letter("99", "12345")
    wrong_letter = "12345/99" + ("A" if good[-1] != "A" else "B")
    out = cro_number(pd.Series([good, "012345/99" + good[-1], " " + good.lower(), wrong_letter,
                                "1234567/99A", "SF93/12345A", None, ""]))
    assert out.value.tolist()[:3] == [good, good, good]
    assert out.invalid.tolist() == [False, False, False, True, True, True, False, False]
    assert out.reason == "invalid_cro_number"


def test_prison_number() -> None:
    out = prison_number(pd.Series(["G5555TT", "g5555tt", " G 5555 TT ", "G555TT", "5555GTT", "GG5555T", None, ""]))
    assert out.value.tolist()[:3] == ["G5555TT"] * 3
    assert out.invalid.tolist() == [False, False, False, True, True, True, False, False]
    assert out.reason == "invalid_prison_number"


# ----------------------------------------------------------------- record key
def test_record_key_broadcasts_scalars_and_series() -> None:
    ids = pd.Series([" 12", "x:y", None, ""], index=[10, 11, 12, 13])
    out = record_key("sch-oakfield", "systmone", ids)
    assert out.index.tolist() == [10, 11, 12, 13]
    assert out.tolist() == ["sch-oakfield:systmone:12", "sch-oakfield:systmone:x:y", pd.NA, pd.NA]
    assert record_key("a", "b", 7).tolist() == ["a:b:7"]
    sites = pd.Series(["s1", "s2"])
    assert record_key(sites, "sys", pd.Series(["1", "2"])).tolist() == ["s1:sys:1", "s2:sys:2"]
    with pytest.raises(ValueError):
        record_key(sites, "sys", pd.Series(["1"]))
