"""`stairs-link build` on the command line: output, options and clean errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from stairs_link.cli import cli


def test_build_cli_writes_the_dataset(world, tmp_path):
    linked, staged = world
    out = tmp_path / "ds"
    result = CliRunner().invoke(cli, ["build", str(linked), *map(str, staged), "--out", str(out),
                                      "--readmission-days", "30", "--formulation-days", "14"])
    assert result.exit_code == 0, result.output
    assert "3 children from 7 records; 5 stays, 8 moves; ids: 3 created" in result.output
    rules = json.loads((out / "build.json").read_text(encoding="utf-8"))["rules"]
    assert rules["readmission_days"] == 30 and rules["formulation_days"] == 14
    # with a 30-day window child B's return after 40 days is a new admission, not a readmission
    kinds = json.loads((out / "build.json").read_text(encoding="utf-8"))["transition_kinds"]
    assert "readmission" not in kinds and kinds["admission"] == 4

    again = CliRunner().invoke(cli, ["build", str(linked), *map(str, staged), "--out", str(tmp_path / "ds2"),
                                     "--previous", str(out)])
    assert again.exit_code == 0 and "ids: 3 continued" in again.output


def test_build_cli_missing_clusters_is_a_clean_error(world, tmp_path):
    _, staged = world
    empty = tmp_path / "not-linked"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["build", str(empty), *map(str, staged), "--out", str(tmp_path / "ds")])
    assert result.exit_code == 2
    assert "clusters.parquet not found in the linked directory" in result.output
    assert "Fix: run `stairs-link link" in result.output
    assert "Traceback" not in result.output


def test_build_cli_previous_without_record_map_is_a_clean_error(world, tmp_path):
    linked, staged = world
    result = CliRunner().invoke(cli, ["build", str(linked), *map(str, staged), "--out", str(tmp_path / "ds"),
                                      "--previous", str(tmp_path)])
    assert result.exit_code == 2
    assert "previous dataset has no record_map.parquet" in result.output


def test_build_cli_conflicting_extracts_name_both_files(world, tmp_path):
    from integrate_world import restage

    from stairs_link.schema import read_table

    linked, staged = world
    again = tmp_path / "again"
    again.mkdir()
    for path in staged[0].iterdir():
        (again / path.name).write_bytes(path.read_bytes())
    person = read_table(again / "person.parquet", "person")
    person.loc[0, "given_name"] = "Someone"
    restage(again, person=person)
    result = CliRunner().invoke(cli, ["build", str(linked), *map(str, staged), str(again), "--out",
                                      str(tmp_path / "ds")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "conflicting extracts" in result.output
    assert str(staged[0] / "person.parquet") in result.output and str(again / "person.parquet") in result.output
    assert "Someone" not in result.output  # no personal data in the message
