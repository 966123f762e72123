"""adapt on CSV exports: values, rejects, manifest, conservation, determinism, encodings."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from adapt_data import HEADER, ROWS

from stairs_link.adapt import adapt
from stairs_link.errors import InputFileError, MappingError
from stairs_link.schema import read_table


def run(mapping: Path, export: Path, out: Path, **kw) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    result = adapt(mapping, [export], out, **kw)
    person = read_table(out / "person.parquet", "person")
    rejects = pd.read_parquet(out / "rejects.parquet")
    return result.manifest, person, rejects


def test_values_rejects_and_manifest(person_mapping, export_dir, tmp_path: Path) -> None:
    export = export_dir(HEADER + "".join(ROWS) + "1,Dup,Row,01/01/2008,1,,\n4,short\n")
    manifest, person, rejects = run(person_mapping(), export, tmp_path / "out")
    assert list(person["local_id"]) == ["1", "2", "3"]
    first = person.iloc[0]
    assert first["record_key"] == "sch-oak:systmone:1"
    assert first["date_of_birth"] == dt.date(2009, 4, 3)
    assert first["postcode"] == "SW1A 1AA" and first["nhs_number"] == "9434765919"
    assert person.iloc[1]["given_name"] == "Mary"  # whitespace tidied
    assert pd.isna(person.iloc[1]["date_of_birth"]) and pd.isna(person.iloc[1]["nhs_number"])
    # two-digit year resolved against extracted_at: 01/01/08 -> 2008, never 1908 or 2108
    assert person.iloc[2]["date_of_birth"] == dt.date(2008, 1, 1)
    assert person.iloc[2]["sex"] == "indeterminate"
    assert set(person["source_row"]) == {1, 2, 3} and set(person["extracted_at"]) == {"2026-03-31"}
    by_reason = {r.reason: r for r in rejects.itertuples()}
    assert by_reason["invalid_nhs_number"].raw_value == "9434765918" and not by_reason["invalid_nhs_number"].row_rejected
    assert by_reason["unparseable_date"].column == "DOB" and by_reason["unparseable_date"].source_row == 2
    assert by_reason["duplicate_local_id"].row_rejected and by_reason["duplicate_local_id"].source_row == 4
    assert by_reason["ragged_row"].row_rejected and by_reason["ragged_row"].source_row == 5
    (source,) = manifest["sources"]
    assert (source["rows_in"], source["rows_staged"], source["rows_rejected"]) == (5, 3, 2)
    assert source["invalid_values"]["nhs_number"] == {"invalid_nhs_number": 1}
    assert manifest["schema_version"] == "1" and manifest["mapping"]["id"] == "sch-oak/systmone"
    data = (export / "patients.csv").read_bytes()
    assert manifest["inputs"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8")) == manifest


def test_unknown_code_policies(person_mapping, export_dir, tmp_path: Path) -> None:
    export = export_dir(HEADER + ROWS[0] + "5,Zoe,Ng,01/02/2010,Q,,\n")
    manifest, person, rejects = run(person_mapping("keep_unknown"), export, tmp_path / "a", show_values=True)
    assert list(person["sex"]) == ["male", "unknown"]
    assert manifest["sources"][0]["unknown_codes"] == {"sex": {"Q": 1}}
    hidden, _, _ = run(person_mapping("keep_unknown"), export, tmp_path / "a2")  # the default: labels, counts
    ((label, count),) = hidden["sources"][0]["unknown_codes"]["sex"].items()
    assert label.startswith("#") and len(label) == 17 and count == 1 and "Q" not in json.dumps(hidden)
    assert list(rejects.loc[rejects.reason == "unknown_code", "row_rejected"]) == [False]

    manifest, person, rejects = run(person_mapping("reject"), export, tmp_path / "b")
    assert list(person["local_id"]) == ["1"]
    assert manifest["sources"][0]["rows_rejected"] == 1
    assert list(rejects.loc[rejects.reason == "unknown_code", "row_rejected"]) == [True]

    with pytest.raises(MappingError) as info:
        adapt(person_mapping("fail"), [export], tmp_path / "c", show_values=True)
    assert info.value.row == 2 and info.value.column == "Gender" and "'Q'" in str(info.value)
    with pytest.raises(MappingError) as info:
        adapt(person_mapping("fail"), [export], tmp_path / "c")
    assert "'Q'" not in str(info.value) and "--show-values" in str(info.value)
    assert not (tmp_path / "c" / "person.parquet").exists()  # no half-written output


def test_required_date_unparseable_rejects_row(tmp_path: Path, export_dir) -> None:
    export = export_dir("ID,Admitted,Left\nP1,2024-01-05,\nP2,5th Jan,2024-02-01\nP3,,\n", name="stays.csv")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("""\
site_id: yoi-north
setting_type: YOI
system_kind: operations
source_system: nomis
tables:
  episode:
    source: {files: stays.csv}
    fields:
      local_id: ID
      admission_date: Admitted
      discharge_date: Left
""", encoding="utf-8")
    result = adapt(mapping, [export], tmp_path / "out", extracted_at="2026-01-01")
    episode = read_table(tmp_path / "out" / "episode.parquet", "episode")
    assert list(episode["record_key"]) == ["yoi-north:nomis:P1"]
    assert list(episode["episode_id"]) == ["stays.csv#1"]
    rejects = pd.read_parquet(tmp_path / "out" / "rejects.parquet")
    assert {(r.source_row, r.reason, r.row_rejected) for r in rejects.itertuples()} == {
        (2, "unparseable_date", True), (3, "missing_value", True)}
    assert result.manifest["sources"][0]["rows_rejected"] == 2


def test_deterministic_byte_identical(person_mapping, export_dir, tmp_path: Path) -> None:
    export = export_dir(HEADER + "".join(ROWS))
    mapping = person_mapping()
    adapt(mapping, [export], tmp_path / "one")
    adapt(mapping, [export], tmp_path / "two")
    for name in ("person.parquet", "rejects.parquet", "manifest.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_encodings_detected(person_mapping, export_dir, tmp_path: Path, encoding: str) -> None:
    text = HEADER + "7,José,Núñez,01/01/2010,1,,\n"
    export = export_dir(text.encode(encoding))
    manifest, person, _ = run(person_mapping(), export, tmp_path / "out")
    assert person.iloc[0]["given_name"] == "José" and person.iloc[0]["family_name"] == "Núñez"
    assert manifest["inputs"][0]["encoding"] == encoding


def test_delimiters_detected_and_declared(person_mapping, export_dir, tmp_path: Path) -> None:
    export = export_dir((HEADER + ROWS[0]).replace(",", "|"))
    _, person, _ = run(person_mapping(), export, tmp_path / "a")
    assert person.iloc[0]["family_name"] == "Smith"
    export = export_dir((HEADER + ROWS[0]).replace(",", ";"))
    _, person, _ = run(person_mapping(source_extra=", delimiter: ';'"), export, tmp_path / "b")
    assert person.iloc[0]["family_name"] == "Smith"


def test_wrong_encoding_names_file_and_line(person_mapping, export_dir, tmp_path: Path) -> None:
    export = export_dir((HEADER + ROWS[0] + "8,Zoë,Smith,01/01/2010,1,,\n").encode("cp1252"))
    with pytest.raises(InputFileError) as info:
        adapt(person_mapping(source_extra=", encoding: utf-8"), [export], tmp_path / "out")
    err = info.value
    assert err.reason == "bad_encoding" and err.line == 3 and err.file.endswith("patients.csv")
    assert "cp1252" in err.fix


def test_empty_file_and_header_only(person_mapping, export_dir, tmp_path: Path) -> None:
    export = export_dir("")
    with pytest.raises(InputFileError) as info:
        adapt(person_mapping(), [export], tmp_path / "a")
    assert info.value.reason == "empty_file" and info.value.file.endswith("patients.csv")

    export = export_dir(HEADER)
    manifest, person, rejects = run(person_mapping(), export, tmp_path / "b")
    assert len(person) == 0 and len(rejects) == 0
    assert manifest["sources"][0]["rows_in"] == 0


def test_duplicate_header_used_by_mapping(person_mapping, export_dir, tmp_path: Path) -> None:
    export = export_dir("PatientID,Forename,Surname,DOB,Gender,NHS Number,Postcode,Surname\n" + ROWS[0].rstrip() + ",X\n")
    with pytest.raises(InputFileError) as info:
        adapt(person_mapping(), [export], tmp_path / "out")
    assert info.value.reason == "duplicate_header" and info.value.column == "Surname"
    assert "positions 3 and 8" in str(info.value)


def test_duplicate_header_not_used_is_fine(person_mapping, export_dir, tmp_path: Path) -> None:
    export = export_dir(HEADER.rstrip() + ",Notes,Notes\n" + ROWS[0].rstrip() + ",a,b\n")
    _, person, _ = run(person_mapping(), export, tmp_path / "out")
    assert len(person) == 1


def test_missing_columns_all_reported_with_suggestions(person_mapping, export_dir, tmp_path: Path) -> None:
    export = export_dir(HEADER.replace("DOB", "D.O.B").replace("Surname", "Surnme") + ROWS[0])
    with pytest.raises(MappingError) as info:
        adapt(person_mapping(), [export], tmp_path / "out")
    text = str(info.value)
    assert "column 'DOB'" in text and "did you mean 'D.O.B'" in text
    assert "column 'Surname'" in text and "did you mean 'Surnme'" in text
    assert {p.column for p in info.value.problems} == {"DOB", "Surname"}
    assert all(p.line for p in info.value.problems)  # each points at its mapping line


def test_no_file_matches_glob(person_mapping, export_dir, tmp_path: Path) -> None:
    export = export_dir(HEADER, name="patient_list.csv")
    with pytest.raises(MappingError) as info:
        adapt(person_mapping(), [export], tmp_path / "out")
    assert info.value.reason == "no_matching_file" and "patient_list.csv" in str(info.value)


def test_several_files_per_table_and_file_inputs(person_mapping, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "patients_a.csv").write_text(HEADER + ROWS[0], encoding="utf-8")
    (folder / "patients_b.csv").write_text(HEADER + ROWS[2], encoding="utf-8")
    (folder / "other.csv").write_text("x\n1\n", encoding="utf-8")
    result = adapt(person_mapping(), [folder], tmp_path / "a")
    assert [s["file"] for s in result.manifest["sources"]] == ["patients_a.csv", "patients_b.csv"]
    result = adapt(person_mapping(), [folder / "patients_b.csv"], tmp_path / "b")
    assert [s["file"] for s in result.manifest["sources"]] == ["patients_b.csv"]


def test_large_file_in_batches_keeps_row_numbers(person_mapping, export_dir, tmp_path: Path) -> None:
    # ~3,000 rows read in 16 KB blocks (many batches), with ragged rows scattered through.
    lines = [HEADER]
    for i in range(1, 3001):
        lines.append(f"{i},Given{i},Family{i},01/01/2010,1,,\n" if i % 997 else f"{i},ragged\n")
    export = export_dir("".join(lines))
    result = adapt(person_mapping(), [export], tmp_path / "out", block_bytes=16 << 10)
    person = read_table(tmp_path / "out" / "person.parquet", "person")
    rejects = pd.read_parquet(tmp_path / "out" / "rejects.parquet")
    assert list(rejects["source_row"]) == [997, 1994, 2991]
    assert (person["source_row"].astype(int) == person["local_id"].astype(int)).all()
    source = result.manifest["sources"][0]
    assert source["rows_in"] == 3000 and source["rows_staged"] == 2997 and source["rows_rejected"] == 3


def test_rerun_into_same_folder_leaves_no_stale_tables(person_mapping, export_dir, tmp_path: Path) -> None:
    export = export_dir(HEADER + ROWS[0])
    out = tmp_path / "out"
    adapt(person_mapping(), [export], out)
    (out / "episode.parquet").write_bytes((out / "person.parquet").read_bytes())  # as if from an older run
    adapt(person_mapping(), [export], out)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "person.parquet", "rejects.parquet"]


def test_csv_header_row_below_a_title_line(person_mapping, export_dir, tmp_path: Path) -> None:
    export = export_dir("Patient list run 31/03/2026\n" + HEADER + ROWS[0] + "9,ragged\n" + ROWS[2])
    result = adapt(person_mapping(source_extra=", header_row: 2"), [export], tmp_path / "out")
    person = read_table(tmp_path / "out" / "person.parquet", "person")
    assert list(zip(person["local_id"], person["source_row"])) == [("1", 1), ("3", 3)]
    rejects = pd.read_parquet(tmp_path / "out" / "rejects.parquet")
    assert list(zip(rejects["source_row"], rejects["reason"])) == [(2, "ragged_row")]
    assert result.manifest["sources"][0]["rows_in"] == 3


def test_unparseable_csv_is_a_clean_error(person_mapping, export_dir, tmp_path: Path) -> None:
    # a row longer than the parser's block (in real exports: a quote never closed)
    export = export_dir(HEADER + "1," + "x" * 5000 + ",S,01/01/2010,1,,\n")
    with pytest.raises(InputFileError) as info:
        adapt(person_mapping(), [export], tmp_path / "out", block_bytes=1024)
    assert info.value.reason == "unparseable_csv" and info.value.file.endswith("patients.csv")
    assert not (tmp_path / "out" / "person.parquet").exists()


def test_unclosed_quote_rejects_only_its_row(person_mapping, export_dir, tmp_path: Path) -> None:
    # was: the quote swallowed Amy's row into John's (one ragged reject, Amy lost from staging)
    export = export_dir(HEADER + '1,"John,Smith,03/04/2009,1,,\n2,Amy,Li,01/01/2010,2,,\n')
    manifest, person, rejects = run(person_mapping(), export, tmp_path / "out")
    assert person["given_name"].tolist() == ["Amy"] and person["source_row"].tolist() == [2]
    assert list(rejects["reason"]) == ["quote_imbalance"] and rejects["source_row"].tolist() == [1]
    assert "Amy" not in rejects["raw_value"][0] and "physical line 2" in rejects["message"][0]


def test_many_distinct_unknown_codes_are_not_listed(person_mapping, export_dir, tmp_path: Path) -> None:
    # Gender mapped to a column that really holds free text: the values must not be copied out.
    rows = "".join(f"{i},A,B,01/01/2010,Free text {i},,\n" for i in range(1, 61))
    manifest, person, _ = run(person_mapping(), export_dir(HEADER + rows), tmp_path / "out")
    (listed,) = manifest["sources"][0]["unknown_codes"]["sex"].items()
    assert listed == ("(not listed: 60 distinct values; is this the right column?)", 60)
    assert "Free text" not in (tmp_path / "out" / "manifest.json").read_text(encoding="utf-8")


def test_progress_goes_to_stderr(person_mapping, export_dir, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    adapt(person_mapping(), [export_dir(HEADER + "".join(ROWS))], tmp_path / "out", progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "person: patients.csv: 3 rows read" in captured.err
