"""Dates and date-times: formats in order, Excel serials, two-digit years, bad values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stairs_link.errors import StairsLinkError
from stairs_link.standardise import parse_dates, parse_datetimes

REF = dt.date(2026, 1, 15)


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def test_iso_only_by_default_and_blank_vs_invalid() -> None:
    out = parse_dates(pd.Series(["2009-04-03", " 2009-04-03 ", "03/04/2009", "2009-02-30", "", None, "  "],
                                index=list("abcdefg")))
    assert out.value.index.tolist() == list("abcdefg")
    assert out.value.dtype == "datetime64[s]"
    assert out.value.iloc[:2].tolist() == [_ts("2009-04-03")] * 2
    assert out.value.iloc[2:].isna().all()
    assert out.invalid.tolist() == [False, False, True, True, False, False, False]
    assert out.reason == "unparseable_date"


def test_formats_tried_in_order_each_on_the_rest() -> None:
    out = parse_dates(pd.Series(["03/04/2009", "2009-04-03", "3 Apr 2009", "04/03/09", "nonsense"]),
                      ["%d/%m/%Y", "ISO8601", "%d %b %Y", "%d/%m/%y"], reference_date=REF)
    assert out.value.iloc[:4].tolist() == [_ts("2009-04-03"), _ts("2009-04-03"), _ts("2009-04-03"), _ts("2009-03-04")]
    assert out.invalid.tolist() == [False, False, False, False, True]


def test_two_digit_years_past_policy_with_reference_date() -> None:
    s = pd.Series(["03/04/09", "31/12/99", "14/01/26", "16/01/26", "01/01/69", "29/02/00"])
    out = parse_dates(s, ["%d/%m/%y"], reference_date=REF)
    assert out.value.tolist() == [
        _ts("2009-04-03"),  # a child's DOB: 2009, never 1909
        _ts("1999-12-31"),
        _ts("2026-01-14"),  # on/before the reference date -> this century
        _ts("1926-01-16"),  # after it -> previous century
        _ts("1969-01-01"),
        _ts("2000-02-29"),
    ]
    assert not out.invalid.any()
    # a 29 February whose resolved century is not a leap year is reported, not shifted
    leap = parse_dates(pd.Series(["29/02/00"]), ["%d/%m/%y"], reference_date=dt.date(1999, 1, 1))
    assert leap.value.isna().all() and leap.invalid.all()


def test_two_digit_years_without_reference_use_2000_pivot() -> None:
    current_yy = dt.date.today().year % 100
    s = pd.Series([f"01/01/{current_yy:02d}", f"01/01/{(current_yy + 1) % 100:02d}"])
    out = parse_dates(s, ["%d/%m/%y"])
    assert out.value.dt.year.tolist() == [2000 + current_yy, 1900 + (current_yy + 1) % 100]


def test_unknown_two_digit_policy_is_an_error() -> None:
    with pytest.raises(StairsLinkError, match="past"):
        parse_dates(pd.Series(["01/01/01"]), ["%d/%m/%y"], two_digit_years="future")


def test_excel_serials_numeric_and_string_with_1900_leap_bug() -> None:
    s = pd.Series(["1", "59", "60", "61", "39904", "39904.75", "0", "3000000", "x"])
    out = parse_dates(s, excel_serial=True)
    assert out.value.iloc[[0, 1, 3, 4, 5]].tolist() == [
        _ts("1900-01-01"), _ts("1900-02-28"), _ts("1900-03-01"), _ts("2009-04-01"), _ts("2009-04-01")]
    assert out.invalid.tolist() == [False, False, True, False, False, False, True, True, True]
    numeric = parse_dates(pd.Series([39904, np.nan, 43831.0]), excel_serial=True)
    assert numeric.value.iloc[[0, 2]].tolist() == [_ts("2009-04-01"), _ts("2020-01-01")]
    assert numeric.invalid.tolist() == [False, False, False]


def test_excel_serial_off_means_numbers_are_invalid_unless_a_format_fits() -> None:
    out = parse_dates(pd.Series(["39904", "20090403"]), ["%Y%m%d"])
    assert out.invalid.tolist() == [True, False]
    assert out.value.iloc[1] == _ts("2009-04-03")


def test_spreadsheet_objects_mixed_with_text() -> None:
    s = pd.Series([dt.datetime(2009, 4, 3, 10, 30), dt.date(2010, 1, 1), "2011-02-03", None, 39904, "bad"],
                  dtype=object)
    out = parse_dates(s, excel_serial=True)
    assert out.value.iloc[[0, 1, 2, 4]].tolist() == [
        _ts("2009-04-03"), _ts("2010-01-01"), _ts("2011-02-03"), _ts("2009-04-01")]
    assert out.invalid.tolist() == [False, False, False, False, False, True]


def test_datetime_column_passes_through() -> None:
    s = pd.Series(pd.to_datetime(["2009-04-03 10:11:12", None]))
    assert parse_dates(s).value.tolist()[0] == _ts("2009-04-03")
    assert parse_datetimes(s).value.tolist()[0] == _ts("2009-04-03 10:11:12")


def test_parse_datetimes_keeps_time_and_localises_offsets() -> None:
    s = pd.Series(["2024-03-01 10:15:30.7", "2024-07-01T10:15:30+01:00", "2024-01-01T10:00Z",
                   "01/02/2024 14:05", "01/02/24 14:05", "bad", None])
    out = parse_datetimes(s, ["ISO8601", "%d/%m/%Y %H:%M", "%d/%m/%y %H:%M"], reference_date=REF)
    assert out.value.iloc[:5].tolist() == [
        _ts("2024-03-01 10:15:30"),  # floored to whole seconds (canonical timestamp[s])
        _ts("2024-07-01 10:15:30"),  # BST offset -> London wall clock
        _ts("2024-01-01 10:00:00"),  # GMT
        _ts("2024-02-01 14:05"),
        _ts("2024-02-01 14:05"),
    ]
    assert out.invalid.tolist() == [False] * 5 + [True, False]
    assert out.reason == "unparseable_datetime"
    serial = parse_datetimes(pd.Series(["39904.75"]), excel_serial=True)
    assert serial.value.iloc[0] == _ts("2009-04-01 18:00")
