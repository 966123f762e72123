"""Issue 12, item 4: no personal data outside the tables. A pseudonymised adapt of a hostile
export (Gender and Surname columns swapped, so every surname is an "unknown code") writes no
plaintext value into manifest.json, stdout or stderr, also under `unknown_codes: fail`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _helpers import SYSTMONE_PERSON_MAPPING
from click.testing import CliRunner

from stairs_link.cli import cli
from stairs_link.privacy import new_key_file

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
    mapping = SYSTMONE_PERSON_MAPPING.format(sex_policy=policy, source_extra="")
    (tmp_path / "m.yaml").write_text(mapping, encoding="utf-8")
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
    mapping = SYSTMONE_PERSON_MAPPING.format(sex_policy="keep_unknown", source_extra="")
    (tmp_path / "m.yaml").write_text(mapping, encoding="utf-8")
    export = _export(tmp_path)
    hidden = CliRunner().invoke(cli, ["adapt", str(tmp_path / "m.yaml"), str(export), "--out", str(tmp_path / "a")])
    assert hidden.exit_code == 0
    assert not any(v in (tmp_path / "a" / "manifest.json").read_text(encoding="utf-8") for v in SURNAMES)
    shown = CliRunner().invoke(cli, ["adapt", str(tmp_path / "m.yaml"), str(export), "--out", str(tmp_path / "b"),
                                     "--show-values"])
    assert shown.exit_code == 0
    assert SURNAMES[0] in (tmp_path / "b" / "manifest.json").read_text(encoding="utf-8")
