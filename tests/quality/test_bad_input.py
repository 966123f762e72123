"""Bad staged input is a clear error (exit code 2) naming the file and the fix."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner
from conftest import make_tables, write_staged

from stairs_link.cli import cli
from stairs_link.schema import replace_staged_tables
from stairs_link.schema.tables import SCHEMA_VERSION_KEY


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_other_schema_version(tmp_path: Path) -> None:
    staged = write_staged(tmp_path / "staged", make_tables())
    path = staged / "person.parquet"
    data = pq.read_table(path)
    meta = {**data.schema.metadata, SCHEMA_VERSION_KEY: b"0"}
    pq.write_table(data.replace_schema_metadata(meta), path)
    for command in ("check", "coverage"):
        code, output = _run(command, str(staged), "--out", str(tmp_path / "out"))
        assert code == 2, output
        assert "person.parquet" in output and "schema version 0" in output
        assert "Fix: re-run `stairs-link adapt`" in output


def test_missing_person_table(tmp_path: Path) -> None:
    tables = make_tables()
    del tables["person"]
    staged = write_staged(tmp_path / "staged", tables)
    code, output = _run("check", str(staged), "--out", str(tmp_path / "out"))
    assert code == 2, output
    assert "table 'person' not found" in output and "person.parquet" in output
    assert "Fix: run `stairs-link adapt` first" in output


def test_corrupt_parquet(tmp_path: Path) -> None:
    staged = write_staged(tmp_path / "staged", make_tables())
    (staged / "episode.parquet").write_bytes(b"PAR1 this is not parquet")
    code, output = _run("check", str(staged), "--out", str(tmp_path / "out"))
    assert code == 2, output
    assert "episode.parquet" in output and "not a readable Parquet file" in output
    assert "Fix: re-create it with `stairs-link adapt`" in output


def test_missing_directory(tmp_path: Path) -> None:
    code, output = _run("check", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"))
    assert code == 2 and "does not exist" in output


def test_wrong_column_type_is_a_critical_failure(tmp_path: Path) -> None:
    tables = make_tables()
    staged = write_staged(tmp_path / "staged", {k: tables[k] for k in ("person", "formulation")})
    path = staged / "formulation.parquet"
    data = pq.read_table(path)
    i = data.schema.get_field_index("disciplines_present")
    data = data.set_column(i, pa.field("disciplines_present", pa.string()),
                           data.column(i).cast(pa.string()))
    replace_staged_tables(staged, {"formulation": data})  # as a faulty writer would publish it
    code, output = _run("check", str(staged), "--out", str(tmp_path / "out"))
    assert code == 1, output
    assert "formulation.disciplines_present: expected every column has its canonical type" in output


def test_linked_directory_alone_is_not_enough(tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    linked.mkdir()
    pq.write_table(pa.table({"record_key": ["a:b:1"], "cluster_id": ["c1"], "cluster_size": [1]}),
                   linked / "clusters.parquet")
    code, output = _run("check", str(linked), "--out", str(tmp_path / "out"))
    assert code == 2, output
    assert "no staged directory given" in output and "Fix: pass at least one" in output
