"""`stairs-link synth`: writes the set, progress on stderr, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from stairs_link.cli import cli


def test_synth_writes_exports_truth_and_systems(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["synth", "--children", "40", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)  # stdout: only the output path
    assert "person records" in result.stderr  # progress goes to stderr
    doc = json.loads((out / "systems.json").read_text(encoding="utf-8"))
    assert doc["generator"] == {**doc["generator"], "n_children": 40, "seed": 3}
    assert (out / "truth" / "records.parquet").is_file()
    assert any((out / "exports").rglob("*.csv"))


def test_quiet_prints_no_progress(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["synth", "--children", "5", "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_bad_arguments_are_clean_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["synth", "--children", "0", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "--children" in result.output and "Traceback" not in result.output
    afile = tmp_path / "file.txt"
    afile.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(cli, ["synth", "--children", "5", "--out", str(afile)])
    assert result.exit_code == 2
    assert "is a file" in result.output


def test_unwritable_output_is_a_clean_error(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    # a directory *inside* a regular file can never be created
    result = CliRunner().invoke(cli, ["synth", "--children", "5", "--out", str(blocker / "sub"), "-q"])
    assert result.exit_code == 2
    assert "cannot write the synthetic data" in result.output
    assert "Fix:" in result.output
