"""`stairs-link adapt` through the CLI: summary output, clean errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

from adapt_data import HEADER, PERSON_MAPPING, ROWS
from click.testing import CliRunner

from stairs_link.cli import cli


def test_adapt_cli_summary(tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "patients.csv").write_text(HEADER + "".join(ROWS), encoding="utf-8")
    (tmp_path / "m.yaml").write_text(PERSON_MAPPING.format(sex_policy="reject", source_extra=""), encoding="utf-8")
    result = CliRunner().invoke(cli, ["adapt", str(tmp_path / "m.yaml"), str(tmp_path / "export"),
                                      "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    assert "person      patients.csv: 3 rows in, 3 staged, 0 rejected (0 unknown codes, 3 invalid values reported)" \
        in result.output
    assert (tmp_path / "out" / "manifest.json").exists()


def test_adapt_cli_user_error_is_clean(tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "patients.csv").write_bytes(b"")
    (tmp_path / "m.yaml").write_text(PERSON_MAPPING.format(sex_policy="reject", source_extra=""), encoding="utf-8")
    result = CliRunner().invoke(cli, ["adapt", str(tmp_path / "m.yaml"), str(tmp_path / "export"),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "patients.csv, row 0: the file is empty (not even a header line)" in result.output
    assert "Traceback" not in result.output


def test_adapt_cli_encoding_override(tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    text = HEADER + "7,Zoë,Núñez,01/01/2010,1,,\n"
    (tmp_path / "export" / "patients.csv").write_bytes(text.encode("cp1252"))
    (tmp_path / "m.yaml").write_text(PERSON_MAPPING.format(sex_policy="reject", source_extra=", encoding: utf-8"),
                                     encoding="utf-8")
    args = ["adapt", str(tmp_path / "m.yaml"), str(tmp_path / "export"), "--out", str(tmp_path / "out"), "-q"]
    failed = CliRunner().invoke(cli, args)
    assert failed.exit_code == 2 and "not valid utf-8 text" in failed.output and "line 2" in failed.output
    assert CliRunner().invoke(cli, [*args, "--encoding", "cp1252"]).exit_code == 0
    bad = CliRunner().invoke(cli, [*args, "--encoding", "klingon"])
    assert bad.exit_code == 2 and "unknown text encoding 'klingon'" in bad.output
