"""Issue 12, item 2: dates up to 9999-12-31 without overflow, open-ended sentinels, DOB floor."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from adapt_data import HEADER, PERSON_MAPPING

from stairs_link.adapt import adapt
from stairs_link.standardise import parse_dates


@pytest.mark.parametrize("serial, expected", [
    ("2958465", "9999-12-31"),  # Excel's last day: was 1816-03-29 (ns overflow)
    ("150000", "2310-09-07"),   # was 1726-02-16
    ("45000", "2023-03-15"),
    ("1", "1900-01-01"),
])
def test_excel_serials_do_not_overflow(serial: str, expected: str) -> None:
    out = parse_dates(pd.Series([serial]), [], excel_serial=True)
    assert str(out.value[0].date()) == expected
    assert not out.invalid[0]


def test_wide_retry_keeps_impossible_days_invalid() -> None:
    out = parse_dates(pd.Series(["9999-02-30", "2009-02-30", "30/02/9999"]), ["ISO8601", "%d/%m/%Y"])
    assert out.invalid.tolist() == [True, True, True]


def _adapt(tmp_path: Path, rows: list[str], field_extra: str = "", discharge: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    mapping = PERSON_MAPPING.format(sex_policy="keep_unknown", source_extra="").replace(
        "date_of_birth: {column: DOB, formats: ['%d/%m/%Y', '%d/%m/%y']}",
        "date_of_birth: {column: DOB, formats: ['%d/%m/%Y', '%d/%m/%y'], excel_serial: true" + field_extra + "}")
    (tmp_path / "m.yaml").write_text(mapping, encoding="utf-8")
    export = tmp_path / "export"
    export.mkdir()
    (export / "patients.csv").write_text(HEADER + "".join(rows), encoding="utf-8")
    result = adapt(tmp_path / "m.yaml", [export], tmp_path / "out")
    person = pq.read_table(tmp_path / "out" / "person.parquet").to_pandas()
    rejects = pq.read_table(tmp_path / "out" / "rejects.parquet").to_pandas()
    return person, rejects, result.manifest


def test_open_ended_dates_become_null_with_a_count(tmp_path: Path) -> None:
    person, rejects, manifest = _adapt(tmp_path, [
        "1,John,Smith,31/12/9999,1,,\n",
        "2,Mary,Jones,2958465,2,,\n",
        "3,Amir,Khan,01/01/1900,1,,\n",
        "4,Zoe,Ng,03/04/2009,2,,\n",
    ])
    assert len(person) == 4
    assert person["date_of_birth"].isna().tolist() == [True, True, True, False]
    assert manifest["sources"][0]["invalid_values"]["date_of_birth"]["open_ended_date"] == 3
    assert not (rejects["reason"] == "unparseable_date").any()


def test_open_ended_list_is_configurable(tmp_path: Path) -> None:
    person, rejects, manifest = _adapt(tmp_path, ["1,John,Smith,31/12/9999,1,,\n"],
                                       field_extra=", open_ended: [], earliest: '1900-01-01'")
    assert str(person["date_of_birth"][0]) == "9999-12-31"


def test_date_of_birth_before_floor_is_rejected(tmp_path: Path) -> None:
    person, rejects, manifest = _adapt(tmp_path, ["1,John,Smith,03/04/1921,1,,\n", "2,Mary,Jones,03/04/2009,2,,\n"])
    bad = rejects[rejects["reason"] == "implausible_date"]
    assert bad["source_row"].tolist() == [1]
    assert "1980-01-01" in bad["message"].iloc[0]
    assert person["date_of_birth"].isna().tolist() == [True, False]
    assert manifest["sources"][0]["invalid_values"]["date_of_birth"]["implausible_date"] == 1


def test_bad_open_ended_value_is_a_mapping_problem(tmp_path: Path) -> None:
    from stairs_link.errors import MappingError

    with pytest.raises(MappingError) as info:
        _adapt(tmp_path, ["1,John,Smith,03/04/2009,1,,\n"], field_extra=", open_ended: ['2020-02-30']")
    assert "open_ended" in str(info.value)


@pytest.mark.parametrize("text, fmt, expected", [
    ("31/12/9999", "%d/%m/%Y", "9999-12-31"), ("9999-12-31", None, "9999-12-31"), ("0500-06-01", None, "0500-06-01")])
def test_text_dates_beyond_nanoseconds(text: str, fmt: str | None, expected: str) -> None:
    out = parse_dates(pd.Series([text]), [fmt] if fmt else None)
    assert out.value.dtype == "datetime64[s]"
    assert not out.invalid[0]
    assert str(out.value.to_numpy()[0])[:10] == expected
