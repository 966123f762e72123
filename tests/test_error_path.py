"""Issue 12, item 11: every user or environment error ends in one line `Error: ... Fix: ...`
with exit code 2, never a traceback; `stairs-link --debug ...` shows the traceback."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from stairs_link.cli import cli

MAPPING = """\
site_id: sch-oak
setting_type: SCH
system_kind: health
source_system: systmone
tables:
  person:
    source: {files: "patients*.csv"%s}
    fields:
      local_id: PatientID
      given_name: Forename
      family_name: Surname
"""


@pytest.fixture
def export(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "patients.csv").write_text("PatientID,Forename,Surname\n1,Ann,Lee\n", encoding="utf-8")
    (tmp_path / "m.yaml").write_text(MAPPING % "", encoding="utf-8")
    return tmp_path / "m.yaml", tmp_path / "export"


def _one_line(result) -> str:  # noqa: ANN001
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "Fix:" in lines[0], result.output
    return lines[0]


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"),
                                         (errno.EACCES, "not writable")])
def test_environment_errors_are_one_line(export, tmp_path: Path, monkeypatch, code: int, words: str) -> None:
    import pyarrow.parquet as pq

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(code, "simulated", str(tmp_path / "out" / "person.parquet.partial"))

    monkeypatch.setattr(pq, "ParquetWriter", refuse)
    mapping, folder = export
    line = _one_line(CliRunner().invoke(cli, ["adapt", str(mapping), str(folder), "--out", str(tmp_path / "out")]))
    assert words in line and "person.parquet" in line


def test_an_unexpected_error_is_one_line_naming_debug(export, tmp_path: Path, monkeypatch) -> None:
    import stairs_link.adapt.run as run

    monkeypatch.setattr(run, "find_files", lambda *a, **k: (_ for _ in ()).throw(TypeError("boom")))
    mapping, folder = export
    line = _one_line(CliRunner().invoke(cli, ["adapt", str(mapping), str(folder), "--out", str(tmp_path / "out")]))
    assert "TypeError: boom" in line and "--debug" in line


def test_debug_shows_the_traceback(export, tmp_path: Path) -> None:
    mapping, folder = export
    args = ["adapt", str(mapping), str(folder), "--out", str(tmp_path / "out"), "--encoding", "rot13"]
    plain = subprocess.run([sys.executable, "-m", "stairs_link", *args], capture_output=True, text=True)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr and "not a text encoding" in plain.stderr
    debug = subprocess.run([sys.executable, "-m", "stairs_link", "--debug", *args], capture_output=True, text=True)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_two_character_delimiter_is_a_mapping_problem(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(MAPPING % ", delimiter: 'ab'", encoding="utf-8")
    result = CliRunner().invoke(cli, ["mapping", "check", str(tmp_path / "m.yaml")])
    assert result.exit_code != 0 and "delimiter 'ab' is not one character" in result.output
    assert "Traceback" not in result.output


def test_binary_model_file_is_a_clean_error(tmp_path: Path) -> None:
    from stairs_link.errors import LinkageError
    from stairs_link.linkage.pipeline import load_model

    (tmp_path / "model.json").write_bytes(bytes(range(256)))
    with pytest.raises(LinkageError) as info:
        load_model(tmp_path / "model.json")
    assert info.value.reason == "bad_model"


def test_report_on_a_dataset_without_stays_draws_an_empty_flow() -> None:
    from stairs_link.report.plots import flow_chart

    png, drawn = flow_chart([], [], [], title="moves")
    assert png and drawn == []
