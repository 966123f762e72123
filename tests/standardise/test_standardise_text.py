"""Names: recorded form, matching form, full-name splitting."""

from __future__ import annotations

import pandas as pd
import pytest

from stairs_link.errors import StairsLinkError
from stairs_link.standardise import fold_name, split_full_name, tidy_text


def test_tidy_text_whitespace_blank_null_and_index() -> None:
    s = pd.Series(["  Mary   Ann ", "\tJo\u00a0Smith\n", "", "   ", None, "O'Brien"], index=[5, 6, 7, 8, 9, 10])
    out = tidy_text(s)
    assert out.index.tolist() == [5, 6, 7, 8, 9, 10]
    assert out.tolist() == ["Mary Ann", "Jo Smith", pd.NA, pd.NA, pd.NA, "O'Brien"]


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("O'Brien", "OBRIEN"),
        ("O\u2019Brien", "OBRIEN"),
        ("José-María", "JOSE MARIA"),
        ("  smith   jones ", "SMITH JONES"),
        ("St. John", "ST JOHN"),
        ("Nguyễn Văn", "NGUYEN VAN"),
        ("Øyvind Łukasz", "OYVIND LUKASZ"),
        ("Weiß", "WEISS"),
        ("Zoë--Ann", "ZOE ANN"),
        ("Smith (Jones)", "SMITH JONES"),
        ("ＡＢＣ", "ABC"),  # full-width letters fold to ASCII via NFKD
        ("Иван", "ИВАН"),  # other scripts kept (upper-cased), never destroyed
        ("'.-", None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_fold_name(raw: str | None, folded: str | None) -> None:
    out = fold_name(pd.Series([raw], dtype=object))
    assert (out.iloc[0] if folded is not None else pd.isna(out.iloc[0])) == (folded if folded is not None else True)


def test_fold_name_accepts_list_and_keeps_length() -> None:
    assert fold_name(["a", None, "b"]).tolist() == ["A", pd.NA, "B"]


@pytest.mark.parametrize(
    ("style", "raw", "given", "middle", "family"),
    [
        ("family_comma_given", "SMITH, John Paul", "John", "Paul", "SMITH"),
        ("family_comma_given", "SMITH,John", "John", None, "SMITH"),
        ("family_comma_given", "  van der Berg ,  Anna  Maria Rose ", "Anna", "Maria Rose", "van der Berg"),
        ("given_family", "John Paul Smith", "John", "Paul", "Smith"),
        ("given_family", "John Smith", "John", None, "Smith"),
        ("given_family", "Anna van der Berg", "Anna", None, "van der Berg"),
        ("given_family", "Maria De La Cruz", "Maria", None, "De La Cruz"),
        ("given_family", "Mary Ann Lee Smith", "Mary", "Ann Lee", "Smith"),
        ("given_family", "Ali bin Said", "Ali", None, "bin Said"),
        ("family_given", "SMITH John", "John", None, "SMITH"),
        ("family_given", "SMITH John Paul", "John", "Paul", "SMITH"),
        ("family_given", "VAN DER BERG Jan", "Jan", None, "VAN DER BERG"),
        ("given_family", "Master John Smith", "John", None, "Smith"),
        ("given_family", "Miss. Jane Doe", "Jane", None, "Doe"),
        ("given_family", "Drew Barry", "Drew", None, "Barry"),  # not a title: no space after "Dr"
        ("family_comma_given", "SMITH, Mr John", "John", None, "SMITH"),
    ],
)
def test_split_full_name_valid(style: str, raw: str, given: str, middle: str | None, family: str) -> None:
    out = split_full_name(pd.Series([raw]), style)
    row = out.iloc[0]
    assert row["given_name"] == given
    assert (pd.isna(row["middle_names"]) if middle is None else row["middle_names"] == middle)
    assert row["family_name"] == family
    assert not row["invalid"]


@pytest.mark.parametrize(
    ("style", "raw"),
    [
        ("family_comma_given", "Smith"),
        ("family_comma_given", "A, B, C"),
        ("family_comma_given", ", John"),
        ("given_family", "Madonna"),
        ("family_given", "Smith"),
    ],
)
def test_split_full_name_unparseable(style: str, raw: str) -> None:
    out = split_full_name(pd.Series([raw]), style)
    assert out[["given_name", "middle_names", "family_name"]].isna().all(axis=None)
    assert bool(out["invalid"].iloc[0])


def test_split_full_name_blank_and_null_are_not_invalid() -> None:
    out = split_full_name(pd.Series(["", "  ", None], index=[3, 4, 5]), "given_family")
    assert out.index.tolist() == [3, 4, 5]
    assert list(out.columns) == ["given_name", "middle_names", "family_name", "invalid"]
    assert out[["given_name", "middle_names", "family_name"]].isna().all(axis=None)
    assert not out["invalid"].any()


def test_split_full_name_unknown_style_lists_options() -> None:
    with pytest.raises(StairsLinkError, match="family_comma_given"):
        split_full_name(pd.Series(["A B"]), "surname_first")
