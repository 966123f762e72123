"""Derived columns and masking, on small hand-made series."""

from __future__ import annotations

import pandas as pd

from stairs_link.quality.examples import mask, show
from stairs_link.quality.prepare import completed_years, extraction_dates, identifier_ok


def test_completed_years_counts_birthdays() -> None:
    born = pd.to_datetime(pd.Series(["2008-05-01", "2008-05-01", "2008-05-01", None]))
    ref = pd.to_datetime(pd.Series(["2022-04-30", "2022-05-01", "2023-01-01", "2023-01-01"]))
    ages = completed_years(born, ref)
    assert ages.iloc[:3].tolist() == [13.0, 14.0, 14.0]
    assert pd.isna(ages.iloc[3])


def test_extraction_dates_use_the_written_date_and_flag_bad_text() -> None:
    date, ok = extraction_dates(pd.Series(["2024-03-31T23:30:00+01:00", "2024-03-31", "31/03/2024", None]))
    assert date.iloc[0] == pd.Timestamp("2024-03-31") and date.iloc[1] == pd.Timestamp("2024-03-31")
    assert pd.isna(date.iloc[2])
    assert ok.tolist() == [True, True, False, None]


def test_identifier_ok_is_true_false_or_none() -> None:
    values = pd.Series(["9434765919", "9434765918", None, "943 476 5919"])
    # the last is a valid number but not in canonical form (10 digits, no spaces)
    assert identifier_ok("nhs_number", values).tolist() == [True, False, None, False]
    assert identifier_ok("upn", pd.Series(["H801200001001", "H801200001002"])).tolist() == [True, False]


def test_mask_keeps_two_first_and_last_character() -> None:
    assert mask("9434765919") == "94*******9"
    assert mask("AB") == "**"
    assert show("9434765919", "nhs_number", show_values=False) == "94*******9"
    assert show("9434765919", "nhs_number", show_values=True) == "9434765919"
    assert show(pd.Timestamp("2030-01-05"), "date_of_birth", show_values=False) == "2030-**-**"
    assert show("M", "sex", show_values=False) == "M"  # codes identify nobody
