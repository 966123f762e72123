"""Issue 12, item 4: no personal data outside the tables. A pseudonymised adapt of a hostile
export (Gender and Surname columns swapped, so every surname is an "unknown code") writes no
plaintext value into manifest.json, stdout or stderr, also under `unknown_codes: fail`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stairs_link.cli import cli
from stairs_link.privacy import new_key_file

MAPPING = """\
site_id: sch-oak
setting_type: SCH
system_kind: health
source_system: systmone
extracted_at: "2026-03-31"
tables:
  person:
    source: {{files: "patients.csv"}}
    fields:
      local_id: PatientID
      given_name: Forename
      family_name: Surname
      date_of_birth: {{column: DOB, formats: ['%d/%m/%Y']}}
      sex: {{column: Gender, codes: nhs_gender_code, unknown_codes: {policy}}}
"""
SURNAMES = [f"Wojciechowska{i:02d}" for i in range(30)]
GIVEN = [f"Anastasiya{i:02d}" for i in range(30)]


def _export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    # the export's Gender and Surname columns are swapped: surnames arrive as sex codes
    lines = ["PatientID,Forename,Gender,DOB,Surname\n"]
    lines += [f"{i},{GIVEN[i]},{SURNAMES[i]},03/04/2009,1\n" for i in range(30)]
    (folder / "patients.csv").write_text("".join(lines), encoding="utf-8")
    return folder


@pytest.mark.parametrize("policy", ["keep_unknown", "reject", "fail"])
def test_pseudonymised_run_leaks_no_value(tmp_path: Path, policy: str) -> None:
    (tmp_path / "m.yaml").write_text(MAPPING.format(policy=policy), encoding="utf-8")
    key = new_key_file(tmp_path / "site.key")
    result = CliRunner().invoke(cli, ["adapt", str(tmp_path / "m.yaml"), str(_export(tmp_path)), "--out",
                                      str(tmp_path / "out"), "--pseudonymise", "--key-file", str(key)])
    assert result.exit_code == (2 if policy == "fail" else 0), result.output
    texts = [result.output]
    manifest = tmp_path / "out" / "manifest.json"
    if policy != "fail":
        texts.append(manifest.read_text(encoding="utf-8"))
        codes = json.loads(texts[-1])["sources"][0]["unknown_codes"]["sex"]
        assert len(codes) == 30 and sum(codes.values()) == 30 and all(c.startswith("#") for c in codes)
    for text in texts:
        for value in SURNAMES + GIVEN:
            assert value not in text, (value, text[:500])
        assert "Traceback" not in text


def test_show_values_lists_them_in_plain_mode(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(MAPPING.format(policy="keep_unknown"), encoding="utf-8")
    export = _export(tmp_path)
    hidden = CliRunner().invoke(cli, ["adapt", str(tmp_path / "m.yaml"), str(export), "--out", str(tmp_path / "a")])
    assert hidden.exit_code == 0
    assert not any(v in (tmp_path / "a" / "manifest.json").read_text(encoding="utf-8") for v in SURNAMES)
    shown = CliRunner().invoke(cli, ["adapt", str(tmp_path / "m.yaml"), str(export), "--out", str(tmp_path / "b"),
                                     "--show-values"])
    assert shown.exit_code == 0
    assert SURNAMES[0] in (tmp_path / "b" / "manifest.json").read_text(encoding="utf-8")
