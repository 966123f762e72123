"""Mapping files: safe loading, templates, whole-file validation with lines and fixes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mapping_data import GOOD

from stairs_link.errors import MappingError
from stairs_link.mapping import load_mapping, validate_mapping
from stairs_link.mapping.jsonschema import SCHEMA_PATH, build_json_schema


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_good_mapping_loads(tmp_path: Path) -> None:
    mapping = load_mapping(write(tmp_path / "m.yaml", GOOD))
    assert mapping.id == "sch-oak/systmone"
    person = mapping.tables["person"]
    assert person.source.files == ("patients*.csv",)
    assert person.source.format == "csv"
    assert person.fields["date_of_birth"].formats == ("%d/%m/%Y",)
    assert person.fields["sex"].codes["1"] == "male"
    assert person.fields["sex"].unknown_value == "unknown"
    assert len(mapping.sha256) == 64


def test_every_problem_reported_at_once_with_lines_and_suggestions(tmp_path: Path) -> None:
    text = GOOD.replace("setting_type: SCH", "setting_type: SCHH").replace(
        "      given_name: Forename\n", "      given_name: Forename\n      dob: DOB\n      forename: X\n"
    ).replace("unknown_codes: keep_unknown", "unknown_codes: keep_unknwn")
    text += "  incidents:\n    source: {files: x.csv}\n"
    mapping, problems = validate_mapping(write(tmp_path / "m.yaml", text))
    assert mapping is None
    messages = [str(p) for p in problems]
    assert any("line 2" in m and "did you mean 'SCH'" in m for m in messages), messages
    assert any("line 11" in m and "unknown canonical field 'dob'" in m and "did you mean 'date_of_birth'" in m
               for m in messages), messages
    assert any("unknown canonical field 'forename'" in m and "did you mean 'given_name'" in m for m in messages)
    assert any("keep_unknwn" in m and "did you mean 'keep_unknown'" in m for m in messages), messages
    assert any("unknown canonical table 'incidents'" in m and "did you mean 'incident'" in m for m in messages)
    assert len(problems) >= 5


def test_semantic_problems(tmp_path: Path) -> None:
    text = GOOD.replace("sex: {column: Gender, codes: nhs_gender_code, unknown_codes: keep_unknown}",
                        "sex: {column: Gender, codes: {'1': mail}}\n      upn: {column: UPN, formats: ['%d']}") \
               .replace("      local_id: PatientID\n", "")
    _, problems = validate_mapping(write(tmp_path / "m.yaml", text))
    messages = " | ".join(str(p) for p in problems)
    assert "'1' maps to 'mail'" in messages and "did you mean 'male'" in messages
    assert "needs an explicit `unknown_codes:` policy" in messages
    assert "`formats:` only applies to date fields" in messages
    assert "required field 'local_id' is not mapped" in messages


def test_keep_unknown_needs_unknown_value_when_list_has_none(tmp_path: Path) -> None:
    text = GOOD + """\
  incident:
    source: {files: inc.csv}
    fields:
      local_id: ID
      incident_at: {column: When, formats: ['%d/%m/%Y %H:%M']}
      incident_kind: {column: Kind, codes: {R: restraint}, unknown_codes: keep_unknown}
"""
    _, problems = validate_mapping(write(tmp_path / "m.yaml", text))
    assert any("keep_unknown needs `unknown_value:`" in str(p) for p in problems)
    fixed = text.replace("{R: restraint}, unknown_codes: keep_unknown}",
                         "{R: restraint}, unknown_codes: keep_unknown, unknown_value: other}")
    assert load_mapping(write(tmp_path / "m.yaml", fixed)).tables["incident"].fields["incident_kind"].unknown_value == "other"


def test_yaml_codes_keep_their_text(tmp_path: Path) -> None:
    # YAML 1.1 would read No as false and 01 as 1: code maps keep the text as written.
    text = GOOD.replace("codes: nhs_gender_code", "codes: {No: unknown, 01: male, '2': female}")
    mapping = load_mapping(write(tmp_path / "m.yaml", text))
    assert mapping.tables["person"].fields["sex"].codes == {"No": "unknown", "01": "male", "2": "female"}


def test_duplicate_keys_and_yaml_syntax(tmp_path: Path) -> None:
    _, problems = validate_mapping(write(tmp_path / "a.yaml", GOOD + "site_id: other\n"))
    assert any(p.reason == "duplicate_key" and p.line == 14 for p in problems)
    _, problems = validate_mapping(write(tmp_path / "b.yaml", GOOD.replace("['%d/%m/%Y']", "[%d/%m/%Y]")))
    assert problems[0].reason == "yaml_syntax" and problems[0].line == 12
    assert "quotes" in problems[0].fix


def test_nothing_is_executed(tmp_path: Path) -> None:
    marker = tmp_path / "hacked"
    text = GOOD.replace("site_id: sch-oak", f"site_id: !!python/object/apply:os.system ['touch {marker}']")
    _, problems = validate_mapping(write(tmp_path / "m.yaml", text))
    assert problems and problems[0].line == 1  # a list where a string belongs: reported, not run
    assert not marker.exists()


def test_templates_deep_merge_and_removal(tmp_path: Path) -> None:
    template = GOOD.replace("site_id: sch-oak\nsetting_type: SCH\n", "").replace(
        "      local_id: PatientID\n", "      local_id: PatientID\n      nhs_number: NHS Number\n")
    write(tmp_path / "mappings" / "_templates" / "systmone.yaml", template)
    site = write(tmp_path / "mappings" / "sch-oak" / "systmone.yaml", """\
extends: systmone
site_id: sch-oak
setting_type: SCH
tables:
  person:
    source: {files: "pat*.csv", encoding: cp1252}
    fields:
      given_name: First Name
      nhs_number: null
""")
    mapping = load_mapping(site)
    person = mapping.tables["person"]
    assert person.fields["given_name"].columns == ("First Name",)
    assert person.fields["family_name"].columns == ("Surname",)  # inherited
    assert "nhs_number" not in person.fields  # removed with null
    assert person.source.files == ("pat*.csv",) and person.source.encoding == "cp1252"
    assert [name for name, _ in mapping.templates] == ["systmone"]


def test_template_problem_points_into_template_and_unknown_template(tmp_path: Path) -> None:
    write(tmp_path / "_templates" / "sys.yaml", GOOD.replace("given_name: Forename", "givn_name: Forename"))
    site = write(tmp_path / "site.yaml", "extends: sys\n")
    _, problems = validate_mapping(site)
    hit = [p for p in problems if "givn_name" in p.message]
    assert hit and hit[0].file.endswith("sys.yaml") and hit[0].line == 10
    _, problems = validate_mapping(write(tmp_path / "other.yaml", "extends: sy\n"))
    assert problems[0].reason == "unknown_template" and "did you mean 'sys'" in problems[0].fix


def test_load_mapping_raises_with_all_problems(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as info:
        load_mapping(write(tmp_path / "m.yaml", "site_id: x\n"))
    assert len(info.value.problems) >= 4  # setting_type, system_kind, source_system, tables


def test_shipped_json_schema_matches_code() -> None:
    shipped = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert shipped == build_json_schema(), "run `python -m stairs_link.mapping.jsonschema`"


def test_repository_mappings_and_templates_are_valid() -> None:
    root = Path(__file__).resolve().parents[2] / "mappings"
    files = sorted(root.rglob("*.yaml"))
    assert len([p for p in files if "_templates" in p.parts]) >= 8
    for path in files:
        mapping, problems = validate_mapping(path)
        assert not problems, f"{path}: " + "; ".join(str(p) for p in problems)
        assert (mapping is None) == ("_templates" in path.parts)


def test_template_problems_reported_without_site_keys(tmp_path: Path) -> None:
    template = write(tmp_path / "_templates" / "sys.yaml", GOOD.replace("site_id: sch-oak\nsetting_type: SCH\n", "")
                     .replace("given_name", "givenname"))
    _, problems = validate_mapping(template)
    assert [p.reason for p in problems] == ["unknown_key"], problems


def test_misspelt_builtin_map_gets_a_suggestion(tmp_path: Path) -> None:
    text = GOOD.replace("codes: nhs_gender_code", "codes: nhs_gendr_code")
    _, problems = validate_mapping(write(tmp_path / "m.yaml", text))
    assert any("did you mean 'nhs_gender_code'" in str(p) and p.line == 13 for p in problems), problems


def test_scalars_stay_text_unless_typed(tmp_path: Path) -> None:
    text = GOOD.replace("given_name: Forename", "given_name: NO").replace(
        "tables:", "extracted_at: 2026-01-31\ntables:")
    text = text.replace("source: {files: \"patients*.csv\"}", "source: {files: \"patients*.csv\", header_row: 2}")
    mapping = load_mapping(write(tmp_path / "m.yaml", text))
    assert mapping.tables["person"].fields["given_name"].columns == ("NO",)
    assert mapping.extracted_at == "2026-01-31"
    assert mapping.tables["person"].source.header_row == 2


def test_files_patterns_must_be_relative(tmp_path: Path) -> None:
    text = GOOD.replace('source: {files: "patients*.csv"}', 'source: {files: "/data/patients*.csv"}')
    _, problems = validate_mapping(write(tmp_path / "m.yaml", text))
    assert [p.reason for p in problems] == ["bad_source"] and problems[0].line == 7


def test_site_shorthand_over_template_block_keeps_its_options(tmp_path: Path) -> None:
    write(tmp_path / "_templates" / "sys.yaml", GOOD.replace("site_id: sch-oak\nsetting_type: SCH\n", "")
          .replace("family_name: Surname", "family_name: {columns: [Fam1, Fam2], join: '-'}"))
    site = write(tmp_path / "site" / "m.yaml", """\
extends: sys
site_id: sch-oak
setting_type: SCH
tables:
  person:
    fields:
      date_of_birth: Birth Date
      sex: {column: Sex}
      family_name: Surname
""")
    fields = load_mapping(site).tables["person"].fields
    assert fields["date_of_birth"].columns == ("Birth Date",) and fields["date_of_birth"].formats == ("%d/%m/%Y",)
    assert fields["date_of_birth"].origin.endswith("m.yaml") and fields["date_of_birth"].line == 7
    assert fields["sex"].columns == ("Sex",) and fields["sex"].codes_name == "nhs_gender_code"
    assert fields["family_name"].columns == ("Surname",)  # columns + join replaced by one column
