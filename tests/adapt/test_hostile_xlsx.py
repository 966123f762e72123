"""Issue 12, items 7 and 8 for XLSX: zip bombs and non-workbooks refused before reading,
formulas without saved results and Excel error values as rejects (never blank or a name)."""

from __future__ import annotations

import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from stairs_link.adapt import adapt
from stairs_link.errors import InputFileError

MAPPING = """\
site_id: stc-kestrel
setting_type: STC
system_kind: health
source_system: carenotes
tables:
  person:
    source: {files: "*.xlsx"}
    fields:
      local_id: ID
      given_name: Forename
      family_name: Surname
"""


def _mapping(tmp_path: Path) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


def _workbook(export: Path, rows: list[list[object]]) -> Path:
    export.mkdir(exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ID", "Forename", "Surname", "Notes"])
    for row in rows:
        sheet.append(row)
    path = export / "patients.xlsx"
    book.save(path)  # openpyxl writes formulas without a cached value (it does not calculate)
    return path


def test_a_formula_without_a_saved_result_in_a_mapped_column_is_a_reject(tmp_path: Path) -> None:
    # was: the value silently blank
    export = tmp_path / "export"
    _workbook(export, [["1", "Ann", "Lee", None],
                       ["2", '=PROPER("bob")', "Ray", None],
                       ["3", "Cy", "Fox", "=1+1"],  # a formula in a column the mapping does not use
                       ["4", None, "=A1", None]])
    result = adapt(_mapping(tmp_path), [export], tmp_path / "out")
    source = result.manifest["sources"][0]
    assert (source["rows_in"], source["rows_staged"], source["rows_rejected"]) == (4, 2, 2)
    person = pd.read_parquet(tmp_path / "out" / "person.parquet")
    assert person["local_id"].tolist() == ["1", "3"]
    rejects = pd.read_parquet(tmp_path / "out" / "rejects.parquet")
    assert rejects["reason"].tolist() == ["formula_without_value"] * 2
    assert rejects["source_row"].tolist() == [2, 4]
    assert "'Forename' (row 3)" in rejects["message"][0] and "'Surname' (row 5)" in rejects["message"][1]
    assert "Fix" in rejects["message"][0]


@pytest.mark.parametrize("error", ["#NAME?", "#REF!", "#VALUE!", "#DIV/0!", "#N/A", "#NUM!", "#NULL!",
                                   "#SPILL!", "#CALC!"])
def test_an_excel_error_value_is_never_staged_as_a_childs_name(tmp_path: Path, error: str) -> None:
    export = tmp_path / "export"
    path = _workbook(export, [["1", "Ann", "Lee", None], ["2", "Bob", "X", error]])
    book = openpyxl.load_workbook(path)
    book.active["C3"].value = error
    book.active["C3"].data_type = "e"  # stored as an error cell (t="e"), as Excel writes a failed formula
    book.save(path)
    result = adapt(_mapping(tmp_path), [export], tmp_path / "out")
    person = pd.read_parquet(tmp_path / "out" / "person.parquet")
    assert person["family_name"].tolist() == ["Lee"]
    rejects = pd.read_parquet(tmp_path / "out" / "rejects.parquet")
    assert rejects["reason"].tolist() == ["error_cell"] and rejects["raw_value"].tolist() == [error]
    assert result.manifest["sources"][0]["rows_rejected"] == 1


def test_a_cached_formula_result_is_staged(tmp_path: Path) -> None:
    """A workbook Excel saved (the formula's result stored beside it) is read as its result."""
    export = tmp_path / "export"
    path = _workbook(export, [["1", "=PROPER(\"ann\")", "Lee", None], ["2", "Bo", '=IF(1,"","x")', None]])
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    assert b'<c r="B2"><f>PROPER("ann")</f><v /></c>' in members[sheet]  # no result saved
    members[sheet] = members[sheet].replace(b'<c r="B2"><f>PROPER("ann")</f><v />',
                                            b'<c r="B2" t="str"><f>PROPER("ann")</f><v>Ann</v>')
    # a formula whose saved result is empty text, as Excel stores it
    members[sheet] = members[sheet].replace(b'<c r="C3"><f>IF(1,"","x")</f><v />', b'<c r="C3" t="str"><f>IF(1,"","x")</f><v></v>')
    assert b'<c r="C3" t="str">' in members[sheet]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    result = adapt(_mapping(tmp_path), [export], tmp_path / "out")
    person = pd.read_parquet(tmp_path / "out" / "person.parquet")
    assert person["given_name"].tolist() == ["Ann", "Bo"] and result.manifest["sources"][0]["rows_rejected"] == 0


def test_a_zip_bomb_is_refused_before_reading_quickly_in_little_memory(tmp_path: Path) -> None:
    # was: a 6 MB bomb took 3.7 GB before failing
    export = tmp_path / "export"
    export.mkdir()
    bomb = export / "patients.xlsx"
    size = 120 << 20  # inflated; above the 100 MB a member may reach at more than 100 times its size
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            block = b"<c><v>0</v></c>" * (1 << 16)
            for _ in range(size // len(block)):
                member.write(block)
    assert bomb.stat().st_size < 2 << 20
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(InputFileError) as info:
            adapt(_mapping(tmp_path), [export], tmp_path / "out")
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"zip bomb: {bomb.stat().st_size / 1e6:.2f} MB on disk, {size / 1e6:.0f} MB inflated; refused in "
          f"{seconds:.2f} s, peak Python memory {peak / 1e6:.1f} MB")
    assert info.value.reason == "zip_bomb" and info.value.file.endswith("patients.xlsx")
    assert "xl/worksheets/sheet1.xml" in str(info.value) and "CSV" in str(info.value)
    assert peak < 20e6


@pytest.mark.parametrize("content, expected", [
    (b"ID,Forename,Surname\n1,Ann,Lee\n", "text file"),
    (b"PK\x03\x04 cut short", "not a zip archive"),
    (b"\x00\x01\x02binary junk" * 50, "not a zip archive"),
])
def test_a_file_named_xlsx_that_is_not_a_workbook_is_a_clean_error(tmp_path: Path, content: bytes,
                                                                     expected: str) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "patients.xlsx").write_bytes(content)
    with pytest.raises(InputFileError) as info:
        adapt(_mapping(tmp_path), [export], tmp_path / "out")
    assert info.value.reason == "bad_xlsx" and expected in str(info.value) and "Fix:" in str(info.value)


def test_a_corrupt_zip_that_is_not_a_workbook_is_bad_xlsx(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    with zipfile.ZipFile(export / "patients.xlsx", "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(InputFileError) as info:
        adapt(_mapping(tmp_path), [export], tmp_path / "out")
    assert info.value.reason == "bad_xlsx"


def test_a_workbook_changed_while_read_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export = tmp_path / "export"
    path = _workbook(export, [["1", "Ann", "Lee", None]])
    import stairs_link.adapt.run as run

    real = run._adapt_batch

    def touching(*args: object, **kwargs: object) -> object:
        with path.open("ab") as handle:
            handle.write(b"\0")
        return real(*args, **kwargs)

    monkeypatch.setattr(run, "_adapt_batch", touching)
    with pytest.raises(InputFileError) as info:
        adapt(_mapping(tmp_path), [export], tmp_path / "out")
    assert info.value.reason == "source_changed"
