"""UK postcodes: every shape, GIR 0AA, and malformed values."""

from __future__ import annotations

import pandas as pd
import pytest

from stairs_link.standardise import postcode, postcode_outward


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("M1 1AE", "M1 1AE"),  # A9 9AA
        ("B33 8TH", "B33 8TH"),  # A99 9AA
        ("W1A 0AX", "W1A 0AX"),  # A9A 9AA
        ("CR2 6XH", "CR2 6XH"),  # AA9 9AA
        ("DN55 1PT", "DN55 1PT"),  # AA99 9AA
        ("EC1A 1BB", "EC1A 1BB"),  # AA9A 9AA
        ("GIR 0AA", "GIR 0AA"),
        ("sw1a1aa", "SW1A 1AA"),
        ("  sw1a   1aa ", "SW1A 1AA"),
        ("SW1A\u00a01AA", "SW1A 1AA"),
    ],
)
def test_postcode_valid(raw: str, value: str) -> None:
    out = postcode(pd.Series([raw]))
    assert out.value.iloc[0] == value
    assert not out.invalid.iloc[0]
    assert out.reason == "invalid_postcode"


@pytest.mark.parametrize("raw", ["12345", "SW1A1A", "SW1A 1AAA", "1W1 1AA", "ABC 1AA", "SW1A-1AA", "GIR 0AB"])
def test_postcode_invalid(raw: str) -> None:
    out = postcode(pd.Series([raw]))
    assert pd.isna(out.value.iloc[0]) and out.invalid.iloc[0]


def test_postcode_blank_and_null() -> None:
    out = postcode(pd.Series([None, "", "  "], dtype=object))
    assert out.value.isna().all() and not out.invalid.any()


def test_postcode_outward() -> None:
    out = postcode_outward(pd.Series(["sw1a1aa", "M1 1AE", "GIR 0AA", "bad", None], index=list("abcde")))
    assert out.index.tolist() == list("abcde")
    assert out.tolist() == ["SW1A", "M1", "GIR", pd.NA, pd.NA]
