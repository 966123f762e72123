"""`stairs-link mapping check` and `mapping new` through the CLI."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from mapping_data import GOOD as MAPPING

from stairs_link.cli import cli
from stairs_link.mapping import load_mapping

EXPORT = "PatientID,Forename,Surname,D.O.B,Gender\n1,John,Smith,03/04/2009,1\n2,Amy,Li,04/05/2010,Q\n"


def setup(tmp_path: Path, mapping: str = MAPPING, export: str = EXPORT) -> tuple[Path, Path]:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "patients.csv").write_text(export, encoding="utf-8")
    (tmp_path / "m.yaml").write_text(mapping, encoding="utf-8")
    return tmp_path / "m.yaml", tmp_path / "export"


def test_check_ok(tmp_path: Path) -> None:
    mapping, _ = setup(tmp_path)
    result = CliRunner().invoke(cli, ["mapping", "check", str(mapping)])
    assert result.exit_code == 0 and result.output.strip().endswith(": OK")


def test_check_reports_every_problem_and_exits_1(tmp_path: Path) -> None:
    mapping, _ = setup(tmp_path, MAPPING.replace("given_name", "first_name").replace("system_kind: health", "system_kind: helth"))
    result = CliRunner().invoke(cli, ["mapping", "check", str(mapping)])
    assert result.exit_code == 1
    assert "2 problem(s)" in result.output
    assert "line 3: 'helth' is not allowed for system_kind; did you mean 'health'?" in result.output
    assert "line 10: unknown canonical field 'first_name' in table 'person'; did you mean 'given_name'?" in result.output


def test_check_against_missing_column_and_unknown_codes(tmp_path: Path) -> None:
    mapping, export = setup(tmp_path)
    result = CliRunner().invoke(cli, ["mapping", "check", str(mapping), "--against", str(export)])
    assert result.exit_code == 1
    assert "column 'DOB' (for person.date_of_birth) not found in patients.csv; did you mean 'D.O.B'?" in result.output
    assert "line 12" in result.output

    fixed = tmp_path / "fixed"
    fixed.mkdir()
    mapping, export = setup(fixed, export=EXPORT.replace("D.O.B", "DOB"))
    result = CliRunner().invoke(cli, ["mapping", "check", str(mapping), "--against", str(export), "--show-values"])
    assert result.exit_code == 0, result.output
    assert "codes not in the value map of person.sex: 'Q' x1" in result.output
    hidden = CliRunner().invoke(cli, ["mapping", "check", str(mapping), "--against", str(export)])
    assert "codes not in the value map of person.sex: '#" in hidden.output and "'Q'" not in hidden.output
    assert "2 rows, 2 would be staged, 0 rejected" in result.output


def test_new_drafts_a_mapping_that_checks_after_todos(tmp_path: Path) -> None:
    _, export = setup(tmp_path, export=EXPORT.replace("Gender", "Sex") + "3,Bo,Ng,05/06/2011,2\n")
    out = tmp_path / "mappings" / "sch-oak" / "systmone.yaml"
    result = CliRunner().invoke(cli, ["mapping", "new", str(export), "--kind", "health", "--site", "sch-oak",
                                      "--system", "systmone", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "local_id: PatientID" in text and "given_name: Forename" in text and "family_name: Surname" in text
    assert "date_of_birth: {column: D.O.B, formats: ['%d/%m/%Y']}" in text
    assert "codes: nhs_gender_code" in text and "TODO codes seen but not in nhs_gender_code: Q" in text
    mapping = load_mapping(out)  # the draft is already a valid mapping here
    assert mapping.tables["person"].fields["date_of_birth"].columns == ("D.O.B",)
    again = CliRunner().invoke(cli, ["mapping", "new", str(export), "--kind", "health", "--site", "sch-oak",
                                     "--out", str(out)])
    assert again.exit_code != 0 and "not overwriting" in again.output


def test_new_leaves_todo_for_unmatched_required_field(tmp_path: Path) -> None:
    _, export = setup(tmp_path, export="Ref,Notes\n1,x\n")
    result = CliRunner().invoke(cli, ["mapping", "new", str(export), "--kind", "health", "--site", "sch-oak"])
    assert result.exit_code == 0
    assert "local_id: TODO  # required" in result.output


def test_new_guesses_codes_and_joins_date_and_time_columns(tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "incidents.csv").write_text(
        "OFFENDER_ID,INCIDENT_DATE,INCIDENT_TIME,INCIDENT_TYPE,INJURY_LEVEL\n"
        "A1,2025-01-02,10:15,UOF,NONE\nA2,2025-01-03,11:00,SH,MINOR\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["mapping", "new", str(tmp_path / "export"), "--kind", "operations",
                                      "--site", "yoi-north"])
    assert result.exit_code == 0, result.output
    assert "incident:  # guessed from the file name incidents.csv" in result.output
    assert ("incident_at: {columns: [INCIDENT_DATE, INCIDENT_TIME], join: ' ', "
            "formats: ['%Y-%m-%d %H:%M', '%Y-%m-%d']}") in result.output
    assert "NONE: none  # TODO check (guessed)" in result.output
    assert "UOF: TODO" in result.output


SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "exports"


def test_new_on_sample_xlsx_and_json_exports() -> None:
    runner = CliRunner()
    xlsx = runner.invoke(cli, ["mapping", "new", str(SAMPLE / "stc-kestrel" / "carenotes"), "--kind", "health",
                               "--site", "stc-kestrel"])
    assert xlsx.exit_code == 0, xlsx.output
    assert "source: {files: carenotes_patients.xlsx, sheet: Patients, header_row: 3}" in xlsx.output
    assert "given_name: {column: Patient Name, split_name: family_comma_given}" in xlsx.output
    assert "date_of_birth: {column: DOB, excel_serial: true}" in xlsx.output
    json_ = runner.invoke(cli, ["mapping", "new", str(SAMPLE / "sch-oakfield" / "case-manager"), "--kind",
                                "operations", "--site", "sch-oakfield"])
    assert json_.exit_code == 0, json_.output
    assert "source: {files: young_people.json, records_path: data.youngPeople}" in json_.output
    assert "date_of_birth: {column: dateOfBirth, formats: ['%d-%b-%y']}" in json_.output


def test_check_against_sample_export_via_template() -> None:
    root = Path(__file__).resolve().parents[2]
    result = CliRunner().invoke(cli, ["mapping", "check", str(root / "mappings" / "yoi-riverbank" / "nomis.yaml"),
                                      "--against", str(SAMPLE / "yoi-riverbank" / "nomis")])
    assert result.exit_code == 0, result.output
    assert "person: offenders.txt (csv, cp1252, delimiter '|', 10 columns)" in result.output
    assert result.output.strip().endswith("OK against " + str(SAMPLE / "yoi-riverbank" / "nomis"))


def test_check_against_reports_mapping_and_column_problems_together(tmp_path: Path) -> None:
    mapping, export = setup(tmp_path, MAPPING.replace("given_name: Forename", "givn_name: Forename"))
    result = CliRunner().invoke(cli, ["mapping", "check", str(mapping), "--against", str(export)])
    assert result.exit_code == 1
    assert "2 problem(s)" in result.output
    assert "unknown canonical field 'givn_name' in table 'person'; did you mean 'given_name'?" in result.output
    assert "column 'DOB' (for person.date_of_birth) not found in patients.csv; did you mean 'D.O.B'?" in result.output
