"""Issue 12, item 5 (adapt part): outputs written atomically and validated on read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adapt_data import PERSON_MAPPING

from stairs_link.adapt import adapt
from stairs_link.errors import InputFileError, SchemaError
from stairs_link.schema.io import read_table
from stairs_link.schema.outputs import LOCK_NAME, PUBLISHING_NAME

HEADER = "PatientID,Forename,Surname,DOB,Gender,NHS Number,Postcode\n"


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, Path, Path]:
    (tmp_path / "m.yaml").write_text(PERSON_MAPPING.format(sex_policy="keep_unknown", source_extra=""),
                                     encoding="utf-8")
    export = tmp_path / "export"
    export.mkdir()
    (export / "patients.csv").write_text(HEADER + "".join(f"{i},Ann,Lee,03/04/2009,2,,\n" for i in range(1, 4)),
                                         encoding="utf-8")
    return tmp_path / "m.yaml", export, tmp_path / "out"


def test_manifest_is_a_completion_record(case) -> None:
    mapping, export, out = case
    manifest = adapt(mapping, [export], out).manifest
    person = manifest["tables"]["person"]
    assert person["rows"] == 3 and person["bytes"] == (out / "person.parquet").stat().st_size
    assert len(person["sha256"]) == 64 and "sha256" in manifest["rejects"]
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "person.parquet", "rejects.parquet"]


def test_a_second_run_is_refused_while_one_is_running(case) -> None:
    mapping, export, out = case
    out.mkdir()
    (out / LOCK_NAME).write_text(json.dumps({"pid": os.getppid(), "command": "adapt"}), encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        adapt(mapping, [export], out)
    assert info.value.reason == "output_locked" and "Fix" in str(info.value)


def test_a_dead_runs_lock_and_partials_are_cleared(case) -> None:
    mapping, export, out = case
    out.mkdir()
    (out / LOCK_NAME).write_text(json.dumps({"pid": 2 ** 22 + 12345, "command": "adapt"}), encoding="utf-8")
    (out / "person.parquet.partial").write_text("Ann Lee 03/04/2009", encoding="utf-8")  # personal data left behind
    adapt(mapping, [export], out)
    assert not list(out.glob("*.partial")) and not (out / LOCK_NAME).exists()


def test_a_table_from_another_run_is_refused_on_read(case, tmp_path: Path) -> None:
    # was: a 300,000-row person table beside another run's 2-row manifest, and check passed
    mapping, export, out = case
    adapt(mapping, [export], out)
    other = pq.read_table(out / "person.parquet")
    pq.write_table(pa.concat_tables([other, other]), out / "person.parquet")
    with pytest.raises(SchemaError) as info:
        read_table(out / "person.parquet", "person")
    assert info.value.reason == "incomplete_output" and "another run" in str(info.value)


def test_interrupted_publishing_is_refused_on_read(case, monkeypatch) -> None:
    # was: the disk full at the manifest left new tables with an old or 0-byte manifest
    import stairs_link.adapt.run as run

    mapping, export, out = case
    adapt(mapping, [export], out)

    def full(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run, "write_atomic", full)
    with pytest.raises(OSError):
        adapt(mapping, [export], out)
    assert (out / PUBLISHING_NAME).exists() and not (out / "manifest.json").exists()
    with pytest.raises(InputFileError) as info:
        read_table(out / "person.parquet", "person")
    assert info.value.reason == "incomplete_output"
    monkeypatch.undo()
    adapt(mapping, [export], out)  # a clean re-run mends it
    assert len(read_table(out / "person.parquet", "person")) == 3
