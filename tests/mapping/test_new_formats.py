"""`mapping new` on what sites really send: unsupported formats said plainly, FHIR and CTF
recognised, never a draft that is not valid YAML."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from stairs_link.cli import cli
from stairs_link.mapping.scaffold import draft_mapping


def test_unsupported_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "pupils.xls").write_bytes(b"\xd0\xcf\x11\xe0 old excel")
    result = CliRunner().invoke(cli, ["mapping", "new", str(tmp_path / "pupils.xls"), "--kind", "education",
                                      "--site", "sch-x"])
    assert result.exit_code == 2
    assert "not supported" in result.output and "xlsx" in result.output


def test_unsupported_files_in_a_folder_are_listed_in_the_draft(tmp_path: Path) -> None:
    (tmp_path / "pupils.csv").write_text("ID,Surname\n1,Lee\n", encoding="utf-8")
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4")
    text = draft_mapping(tmp_path, kind="education", site_id="sch-x")
    assert "# not drafted: report.pdf: format not supported" in text
    yaml.safe_load(text)


def test_control_characters_in_a_header_still_give_valid_yaml(tmp_path: Path) -> None:
    # what a UTF-16 export read as a single-byte encoding looks like: NULs between letters
    (tmp_path / "pupils.csv").write_bytes("I\x00D\x00,S\x00u\x00r\x00\n1,Lee\n".encode("latin-1"))
    text = draft_mapping(tmp_path / "pupils.csv", kind="education", site_id="sch-x")
    assert "\x00" not in text
    assert yaml.safe_load(text)["tables"]


def test_fhir_and_ctf_are_recognised(tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "id": "1", "name": [{"family": "Lee"}]}
    (tmp_path / "Patient.ndjson").write_text(json.dumps(patient) + "\n", encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"resourceType": "Bundle", "entry": [{"resource": patient}]}),
                                     encoding="utf-8")
    (tmp_path / "ctf.xml").write_text('<?xml version="1.0"?>\n<CTfile><Header/><CTFpupilData><Pupil><UPN>x</UPN>'
                                      "</Pupil></CTFpupilData></CTfile>", encoding="utf-8")
    for name, template in (("Patient.ndjson", "uk-core-fhir-patient-ndjson"), ("b.json", "uk-core-fhir-patient-bundle"),
                           ("ctf.xml", "ctf-pupil")):
        data = yaml.safe_load(draft_mapping(tmp_path / name, kind="health", site_id="sch-x"))
        assert data["extends"] == template and data["tables"]["person"]["source"]["files"] == name
