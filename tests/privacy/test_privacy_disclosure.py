"""Small-number suppression (NHS Digital HES rule)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stairs_link.errors import PrivacyError
from stairs_link.privacy import suppress_count, suppress_counts


@pytest.mark.parametrize(
    ("n", "shown"),
    [(0, "0"), (1, "*"), (5, "*"), (7, "*"), (8, "10"), (12, "10"), (13, "15"), (17, "15"),
     (18, "20"), (100, "100"), (1234, "1235"), (1232, "1230")],
)
def test_suppress_count_default_rule(n: int, shown: str) -> None:
    assert suppress_count(n) == shown


def test_threshold_ten() -> None:
    assert suppress_count(9, threshold=10) == "*"
    assert suppress_count(10, threshold=10) == "*"
    assert suppress_count(11, threshold=10) == "10"


def test_vectorised_series_keeps_index_and_nulls() -> None:
    s = pd.Series([0, 3, 8, None, 26], index=list("abcde"))
    out = suppress_counts(s)
    assert out.index.tolist() == list("abcde")
    assert out.tolist() == ["0", "*", "10", pd.NA, "25"]
    arr = suppress_counts(np.array([0, 1, 9]))
    assert list(arr) == ["0", "*", "10"]


@pytest.mark.parametrize("bad", [[-1], [2.5], ["seven"]])
def test_bad_counts(bad: list) -> None:
    with pytest.raises(PrivacyError):
        suppress_counts(bad)


def test_bad_settings() -> None:
    with pytest.raises(PrivacyError):
        suppress_count(3, rounding=0)
