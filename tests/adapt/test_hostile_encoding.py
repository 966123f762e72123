"""Issue 12, item 3: encoding per file, checked, not guessed once."""

from __future__ import annotations

import codecs
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from adapt_data import PERSON_MAPPING

from stairs_link.adapt import adapt
from stairs_link.errors import InputFileError

HEADER = "PatientID,Forename,Surname,DOB,Gender,NHS Number,Postcode\n"


def _adapt(tmp_path: Path, data: bytes, encoding: str | None = None):
    (tmp_path / "m.yaml").write_text(PERSON_MAPPING.format(sex_policy="keep_unknown", source_extra=""),
                                     encoding="utf-8")
    export = tmp_path / "export"
    export.mkdir(exist_ok=True)
    (export / "patients.csv").write_bytes(data)
    result = adapt(tmp_path / "m.yaml", [export], tmp_path / "out", encoding=encoding)
    return result.manifest, pq.read_table(tmp_path / "out" / "person.parquet").to_pandas()


def test_one_word_apostrophe_does_not_switch_a_utf8_file_to_cp1252(tmp_path: Path) -> None:
    # was: the whole file read as cp1252, "Zoë" -> "ZoÃ«", no warning
    rows = "".join(f"{i},Zoë,Müller,03/04/2009,2,,\n" for i in range(1, 50)).encode("utf-8")
    data = HEADER.encode() + rows + b"50,Ann,O\x92Neil,03/04/2009,2,,\n"
    manifest, person = _adapt(tmp_path, data)
    assert set(person["given_name"][:49]) == {"Zoë"} and set(person["family_name"][:49]) == {"Müller"}
    assert person["family_name"].iloc[49] == "O\u2019Neil"
    (entry,) = manifest["inputs"]
    detail = entry["encoding_detail"]
    assert detail["invalid_utf8_bytes"] == 1 and detail["read_as"] == "cp1252"
    offset = len(data) - len(b"\x92Neil,03/04/2009,2,,\n")
    assert detail["first_invalid"] == [{"offset": offset, "line": 51, "byte": "0x92"}]
    assert any("byte 0x92 at offset" in w and "line 51" in w for w in manifest["warnings"])


def test_a_real_cp1252_export_is_still_cp1252(tmp_path: Path) -> None:
    manifest, person = _adapt(tmp_path, (HEADER + "1,Zoë,O’Neil,03/04/2009,2,,\n").encode("cp1252"))
    assert manifest["inputs"][0]["encoding"] == "cp1252" and person["given_name"][0] == "Zoë"


@pytest.mark.parametrize("codec, bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                                        ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-8", codecs.BOM_UTF8)])
def test_byte_order_marks_decide_and_never_reach_a_column_name(tmp_path: Path, codec: str, bom: bytes) -> None:
    manifest, person = _adapt(tmp_path, bom + (HEADER + "1,Zoë,Smith,03/04/2009,2,,\n").encode(codec))
    assert person["local_id"].tolist() == ["1"] and person["given_name"][0] == "Zoë"
    assert manifest["inputs"][0]["encoding_detail"]["chosen_by"] == "byte-order mark"


@pytest.mark.parametrize("encoding", ["rot13", "bogus-encoding"])
def test_not_a_text_encoding_is_a_clean_error(tmp_path: Path, encoding: str) -> None:
    with pytest.raises(InputFileError) as info:
        _adapt(tmp_path, (HEADER + "1,Zoe,Smith,03/04/2009,2,,\n").encode(), encoding=encoding)
    assert info.value.reason == "unknown_encoding" and "Fix" in str(info.value)


def test_declared_utf16_without_bom_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as info:
        _adapt(tmp_path, (HEADER + "1,Zoe,Smith,03/04/2009,2,,\n").encode("utf-8"), encoding="utf-16")
    assert info.value.reason == "bad_encoding"
