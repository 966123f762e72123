"""adapt on XLSX and JSON exports, plus joining, splitting, constants and Excel serial dates."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from stairs_link.adapt import adapt
from stairs_link.errors import InputFileError
from stairs_link.schema import read_table

XLSX_MAPPING = """\
site_id: stc-kestrel
setting_type: STC
system_kind: health
source_system: carenotes
extracted_at: "2026-03-31"
tables:
  person:
    source: {{files: "*.xlsx", sheet: {sheet}, header_row: 3}}
    fields:
      local_id: Client No
      given_name: {{column: Patient Name, split_name: family_comma_given}}
      middle_names: {{column: Patient Name, split_name: family_comma_given}}
      family_name: {{column: Patient Name, split_name: family_comma_given}}
      date_of_birth: {{column: Birth, excel_serial: true}}
      sex: {{column: Sex, codes: sex_letters, unknown_codes: reject}}
      ethnicity: {{column: Ethnicity, codes: dfe_to_nhs_ethnicity, unknown_codes: keep_unknown}}
      postcode: {{columns: [Post Out, Post In], join: " "}}
"""


def write_xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Patients"
    sheet.append(["CareNotes export", None])
    sheet.append([None])
    sheet.append(["Client No", "Patient Name", "Birth", "Sex", "Ethnicity", "Post Out", "Post In"])
    sheet.append([101, "SMITH, John Paul", 39907, "M", "WBRI", "SW1A", "1AA"])
    sheet.append([102, "O'NEILL, Siobhan", dt.datetime(2010, 5, 6), "f", "WIRT", "M1", "1AE"])
    sheet.append([103, "Madonna", 39907, "F", "XXXX", None, None])
    sheet.append([None, None, None])  # blank spreadsheet row: layout, not data
    sheet.append([104, "KHAN, Amir", 39907, "Z", "APKN", "B1", "1BB"])
    book.save(path)
    return path


@pytest.fixture
def xlsx_case(tmp_path: Path):
    export = tmp_path / "export"
    export.mkdir()
    write_xlsx(export / "patients.xlsx")

    def mapping(sheet: str = "Patients") -> Path:
        path = tmp_path / "carenotes.yaml"
        path.write_text(XLSX_MAPPING.format(sheet=sheet), encoding="utf-8")
        return path

    return export, mapping


def test_xlsx_header_row_split_names_serial_dates_joined_columns(xlsx_case, tmp_path: Path) -> None:
    export, mapping = xlsx_case
    result = adapt(mapping(), [export], tmp_path / "out", show_values=True)
    person = read_table(tmp_path / "out" / "person.parquet", "person").set_index("local_id")
    assert list(person.index) == ["101", "102", "103"]
    assert tuple(person.loc["101", ["given_name", "middle_names", "family_name"]]) == ("John", "Paul", "SMITH")
    assert person.loc["102", "family_name"] == "O'NEILL"
    assert person.loc["101", "date_of_birth"] == dt.date(2009, 4, 4)  # Excel serial 39907 (base 1899-12-30)
    assert person.loc["102", "date_of_birth"] == dt.date(2010, 5, 6)  # a real date cell
    assert person.loc["102", "sex"] == "female"  # codes matched case-insensitively
    assert person.loc["101", "ethnicity"] == "A" and person.loc["102", "ethnicity"] == "C"
    assert person.loc["103", "ethnicity"] == "99"  # keep_unknown
    assert person.loc["101", "postcode"] == "SW1A 1AA" and pd.isna(person.loc["103", "postcode"])
    assert pd.isna(person.loc["103", "given_name"])  # 'Madonna' does not fit family_comma_given
    rejects = pd.read_parquet(tmp_path / "out" / "rejects.parquet")
    reasons = {(r.source_row, r.reason, r.row_rejected) for r in rejects.itertuples()}
    assert (3, "unparseable_name", False) in reasons
    assert (3, "unknown_code", False) in reasons  # ethnicity XXXX kept as unknown
    assert (5, "unknown_code", True) in reasons  # sex Z rejected (row 5: the blank row counts)
    source = result.manifest["sources"][0]
    assert source["rows_in"] == source["rows_staged"] + source["rows_rejected"] == 4
    assert source["unknown_codes"] == {"ethnicity": {"XXXX": 1}, "sex": {"Z": 1}}


def test_missing_sheet_suggests(xlsx_case, tmp_path: Path) -> None:
    export, mapping = xlsx_case
    with pytest.raises(InputFileError) as info:
        adapt(mapping("Patient"), [export], tmp_path / "out")
    assert info.value.reason == "missing_sheet" and "did you mean 'Patients'" in str(info.value)
    assert info.value.file.endswith("patients.xlsx")


JSON_MAPPING = """\
site_id: sch-moorside
setting_type: SCH
system_kind: operations
source_system: case-manager
tables:
  person:
    source: {files: "*.json", records_path: data.children}
    fields:
      local_id: childId
      given_name: name.first
      family_name: name.last
      date_of_birth: {column: dob, formats: ['%d-%b-%y']}
      la_child_id: {value: "n/a"}
  episode:
    source: {files: "*.json", records_path: data.placements}
    fields:
      local_id: childId
      episode_id: placementId
      admission_date: {column: start, formats: ['%d-%b-%y']}
      legal_basis: {column: status, codes: {J1: remand, S25: welfare_s25}, unknown_codes: keep_unknown}
"""


def test_json_records_nested_fields_constants_and_events(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    data = {"data": {
        "children": [
            {"childId": "C1", "name": {"first": "Ana", "last": "Popescu"}, "dob": "03-Apr-09"},
            {"childId": "C2", "name": {"first": "Tom", "last": "Lee"}, "dob": "29-Feb-08"},
            "not a record",
        ],
        "placements": [
            {"childId": "C1", "placementId": 7, "start": "01-Mar-24", "status": "J1"},
            {"childId": "C2", "placementId": 8, "start": "02-Mar-24", "status": "XX"},
        ],
    }}
    (export / "cases.json").write_text(json.dumps(data), encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(JSON_MAPPING, encoding="utf-8")
    result = adapt(mapping, [export], tmp_path / "out", extracted_at="2026-03-31")
    person = read_table(tmp_path / "out" / "person.parquet", "person")
    assert list(person["given_name"]) == ["Ana", "Tom"]
    assert list(person["date_of_birth"]) == [dt.date(2009, 4, 3), dt.date(2008, 2, 29)]
    assert set(person["la_child_id"]) == {"n/a"}
    episode = read_table(tmp_path / "out" / "episode.parquet", "episode")
    assert list(episode["record_key"]) == ["sch-moorside:case-manager:C1", "sch-moorside:case-manager:C2"]
    assert list(episode["episode_id"]) == ["7", "8"] and list(episode["legal_basis"]) == ["remand", "unknown"]
    assert set(episode["extracted_at"]) == {"2026-03-31"}
    rejects = pd.read_parquet(tmp_path / "out" / "rejects.parquet")
    assert {(r.table, r.source_row, r.reason) for r in rejects.itertuples()} == {
        ("person", 3, "not_a_record"), ("episode", 2, "unknown_code")}
    for source in result.manifest["sources"]:
        assert source["rows_in"] == source["rows_staged"] + source["rows_rejected"]


def test_json_bad_records_path(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "cases.json").write_text(json.dumps({"data": {"kids": []}}), encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(JSON_MAPPING, encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        adapt(mapping, [export], tmp_path / "out")
    assert info.value.reason == "missing_records_path" and "kids" in info.value.fix


def test_orphan_event_rows_counted(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    data = {"data": {
        "children": [{"childId": "C1", "name": {"first": "Ana", "last": "Pop"}, "dob": "03-Apr-09"}],
        "placements": [{"childId": "C1", "placementId": 7, "start": "01-Mar-24", "status": "J1"},
                       {"childId": "C9", "placementId": 8, "start": "02-Mar-24", "status": "J1"}],
    }}
    (export / "cases.json").write_text(json.dumps(data), encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(JSON_MAPPING, encoding="utf-8")
    result = adapt(mapping, [export], tmp_path / "out", extracted_at="2026-03-31")
    assert result.manifest["orphan_event_rows"] == {"episode": 1}
    assert any("1 episode row(s)" in w for w in result.manifest["warnings"])


def test_xlsx_ragged_row_and_duplicate_header(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Patients"
    sheet.append([None])
    sheet.append([None])
    sheet.append(["Client No", "Patient Name", "Birth", "Sex", "Ethnicity", "Post Out", "Post In"])
    sheet.append([201, "LEE, Tom", 39907, "M", "WBRI", "SW1A", "1AA"])
    sheet.append([202, "NG, Bo", 39907, "M", "WBRI", "SW1A", "1AA", "stray"])
    book.save(export / "patients.xlsx")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(XLSX_MAPPING.format(sheet="Patients"), encoding="utf-8")
    result = adapt(mapping, [export], tmp_path / "out")
    rejects = pd.read_parquet(tmp_path / "out" / "rejects.parquet")
    assert list(zip(rejects["source_row"], rejects["reason"])) == [(2, "ragged_row")]
    assert result.manifest["sources"][0]["rows_staged"] == 1

    sheet["H3"] = "Sex"  # a second 'Sex' header, used by the mapping
    book.save(export / "patients.xlsx")
    with pytest.raises(InputFileError) as info:
        adapt(mapping, [export], tmp_path / "out2")
    assert info.value.reason == "duplicate_header" and info.value.column == "Sex"


def test_corrupt_xlsx_and_invalid_json_are_clean_errors(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "patients.xlsx").write_bytes(b"this is not a workbook")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(XLSX_MAPPING.format(sheet="Patients"), encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        adapt(mapping, [export], tmp_path / "out")
    assert info.value.reason == "bad_xlsx" and info.value.file.endswith("patients.xlsx")

    (export / "cases.json").write_text('{"data": {"children": [{"childId": "C1",}]}}', encoding="utf-8")
    json_mapping = tmp_path / "j.yaml"
    json_mapping.write_text(JSON_MAPPING, encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        adapt(json_mapping, [export], tmp_path / "out2")
    assert info.value.reason == "bad_json" and info.value.line == 1
