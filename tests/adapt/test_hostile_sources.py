"""Issue 12, item 8 for CSV and XLSX sources: a header cell holding a line break still maps,
and the manifest's sha256 and bytes are those of exactly the bytes staged (a file growing
while adapt reads it is refused)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from adapt_data import PERSON_MAPPING

import stairs_link.adapt.run as run
from stairs_link.adapt import adapt
from stairs_link.errors import InputFileError

ROWS = "".join(f"{i},Zoe{i},Lee,03/04/2009,2,,\n" for i in range(1, 201))


def _mapping(tmp_path: Path) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(PERSON_MAPPING.format(sex_policy="keep_unknown", source_extra=""), encoding="utf-8")
    return path


def _export(tmp_path: Path, data: bytes) -> Path:
    export = tmp_path / "export"
    export.mkdir(exist_ok=True)
    (export / "patients.csv").write_bytes(data)
    return export


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_csv_header_cell_with_a_line_break_still_maps(tmp_path: Path, newline: str) -> None:
    # was: the header line was cut at the line break ("the header cannot be mapped")
    header = f'PatientID,Forename,Surname,"Date of{newline}Birth",Gender,NHS  Number,Postcode{newline}'
    mapping = _mapping(tmp_path)
    mapping.write_text(mapping.read_text(encoding="utf-8").replace("column: DOB", "column: Date of Birth"),
                       encoding="utf-8")
    data = (header + ROWS.replace("\n", newline)).encode()
    result = adapt(mapping, [_export(tmp_path, data)], tmp_path / "out")
    person = pd.read_parquet(tmp_path / "out" / "person.parquet")
    assert len(person) == 200 and person["local_id"].iloc[0] == "1"  # the header's second line is no row
    assert person["date_of_birth"].astype(str).iloc[0] == "2009-04-03"
    source = result.manifest["sources"][0]
    assert (source["rows_in"], source["rows_rejected"]) == (200, 0)
    lines = source["lines"]
    assert (lines["header_lines"], lines["physical_lines"], lines["unexplained_line_difference"]) == (2, 202, 0)
    # the cells as written are kept in the manifest
    assert result.manifest["inputs"][0]["header_cells"] == {"Date of Birth": f"Date of{newline}Birth",
                                                            "NHS Number": "NHS  Number"}


def test_an_xlsx_header_cell_with_a_line_break_still_maps(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Patient\nID", "Given\nName"])  # Alt+Enter in Excel
    sheet.append(["1", "Ann"])
    book.save(export / "patients.xlsx")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("site_id: s\nsetting_type: SCH\nsystem_kind: health\nsource_system: x\ntables:\n"
                       "  person:\n    source: {files: '*.xlsx'}\n    fields:\n      local_id: Patient ID\n"
                       "      given_name: Given Name\n", encoding="utf-8")
    result = adapt(mapping, [export], tmp_path / "out")
    person = pd.read_parquet(tmp_path / "out" / "person.parquet")
    assert person[["local_id", "given_name"]].values.tolist() == [["1", "Ann"]]
    assert result.manifest["inputs"][0]["header_cells"] == {"Patient ID": "Patient\nID", "Given Name": "Given\nName"}


def test_a_header_cell_spelt_as_the_mapping_spells_it_is_left_alone(tmp_path: Path) -> None:
    """A mapping written against a header with two spaces keeps matching it."""
    mapping = _mapping(tmp_path)
    mapping.write_text(mapping.read_text(encoding="utf-8").replace("NHS Number", "NHS  Number"), encoding="utf-8")
    data = ("PatientID,Forename,Surname,DOB,Gender,NHS  Number,Postcode\n1,Ann,Lee,03/04/2009,2,9434765919,\n")
    result = adapt(mapping, [_export(tmp_path, data.encode())], tmp_path / "out")
    assert pd.read_parquet(tmp_path / "out" / "person.parquet")["nhs_number"].tolist() == ["9434765919"]
    assert "header_cells" not in result.manifest["inputs"][0]


def test_the_csv_checksum_is_of_the_bytes_staged(tmp_path: Path) -> None:
    data = ("PatientID,Forename,Surname,DOB,Gender,NHS Number,Postcode\n" + ROWS).encode()
    result = adapt(_mapping(tmp_path), [_export(tmp_path, data)], tmp_path / "out", block_bytes=4096)
    (entry,) = result.manifest["inputs"]
    assert (entry["sha256"], entry["bytes"]) == (hashlib.sha256(data).hexdigest(), len(data))


@pytest.mark.parametrize("stray_quote", [False, True])
def test_a_csv_growing_while_adapt_reads_it_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       stray_quote: bool) -> None:
    # was: the sha256 covered fewer bytes than were staged
    rows = ROWS.replace("5,Zoe5", '5,"Zoe5') if stray_quote else ROWS
    data = ("PatientID,Forename,Surname,DOB,Gender,NHS Number,Postcode\n" + rows).encode()
    export = _export(tmp_path, data)
    real = run._adapt_batch
    grown: list[int] = []

    def growing(*args: object, **kwargs: object) -> object:
        if not grown:  # the export system is still writing while adapt reads
            with (export / "patients.csv").open("ab") as handle:
                handle.write(b"".join(f"{i},Late,Row,03/04/2009,2,,\n".encode() for i in range(900, 1900)))
            grown.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(run, "_adapt_batch", growing)
    with pytest.raises(InputFileError) as info:
        adapt(_mapping(tmp_path), [export], tmp_path / "out", block_bytes=4096)
    assert info.value.reason == "source_changed" and info.value.file.endswith("patients.csv")
    assert "Fix:" in str(info.value)
    assert not (tmp_path / "out" / "manifest.json").exists()
    assert not list((tmp_path / "out").glob("*.parquet*"))


@pytest.mark.parametrize("closed_on_row", [None, 3])
def test_a_stray_quote_in_the_header_is_refused_not_left_to_swallow_rows(tmp_path: Path,
                                                                          closed_on_row: int | None) -> None:
    """Reading the header as a CSV record must not let a stray quote in it run into the data:
    never closed (it would take the whole file), or closed by a quote in row 3 (it would take
    rows 1-3 into a column name)."""
    header = 'PatientID,"Forename,Surname,DOB,Gender,NHS Number,Postcode\n'
    rows = ROWS if closed_on_row is None else ROWS.replace(f"{closed_on_row},Zoe", f'{closed_on_row},"Zoe', 1)
    with pytest.raises(InputFileError) as info:
        adapt(_mapping(tmp_path), [_export(tmp_path, (header + rows).encode())], tmp_path / "out")
    assert info.value.reason == "quote_imbalance" and info.value.line == 1 and "Fix:" in str(info.value)
