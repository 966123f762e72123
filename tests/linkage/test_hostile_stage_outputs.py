"""Issue 12, item 5 for the stages after adapt: `link` and `build` write their directories as
one unit with a completion record (complete.json), and every reader refuses a directory that
a finished run did not write whole (schema/outputs.py, docs/architecture.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import stairs_link.linkage.pipeline as pipeline
import stairs_link.schema.outputs as outputs
from stairs_link.cli import cli
from stairs_link.errors import StairsLinkError
from stairs_link.integrate import build
from stairs_link.linkage import LinkageConfig, link
from stairs_link.schema import write_staged
from stairs_link.schema.outputs import COMPLETE_NAME, LOCK_NAME, PUBLISHING_NAME, STAGING_NAME
from stairs_link.synth import person_records

CONFIG = LinkageConfig(u_sample_pairs=50_000)
LINK_UNIT = ["clusters.parquet", "complete.json", "linkage.html", "model.json", "pairs.parquet", "review.csv",
             "review.html", "summary.json"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """Synthetic person records staged per system (through the staged writer), linked once
    and built once: the finished directories each test copies or damages."""
    root = tmp_path_factory.mktemp("stage-outputs")
    person, _ = person_records(60, 5)
    staged = []
    for system, part in person.groupby("source_system"):
        write_staged(root / "staged" / system, {"person": part})
        staged.append(root / "staged" / system)
    link(staged, root / "linked", config=CONFIG)
    build(root / "linked", staged, root / "dataset")
    return {"root": root, "staged": staged, "linked": root / "linked", "dataset": root / "dataset",
            "person": person}


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_link_publishes_one_unit_with_a_completion_record(world) -> None:
    linked = world["linked"]
    assert sorted(p.name for p in linked.iterdir()) == LINK_UNIT
    record = json.loads((linked / COMPLETE_NAME).read_text(encoding="utf-8"))
    assert record["command"] == "link" and sorted(record["files"]) == sorted(set(LINK_UNIT) - {COMPLETE_NAME})
    clusters = record["files"]["clusters.parquet"]
    assert clusters["rows"] == len(world["person"]) and clusters["bytes"] == (linked / "clusters.parquet").stat().st_size
    assert all(len(entry["sha256"]) == 64 for entry in record["files"].values())
    dataset = json.loads((world["dataset"] / COMPLETE_NAME).read_text(encoding="utf-8"))
    assert dataset["command"] == "build" and "linkage/pairs.parquet" in dataset["files"]
    assert "record_map.parquet" in dataset["files"] and "build.json" in dataset["files"]


def test_link_killed_after_writing_pairs_leaves_the_old_run_whole(world, tmp_path, monkeypatch) -> None:
    # was: old summary.json, review.csv and model.json kept beside new clusters; build and report used them
    out = _copy(world["linked"], tmp_path / "linked")
    before = _snapshot(out)

    def killed(path, data):  # model.json comes right after clusters.parquet and pairs.parquet
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, "write_json", killed)
    with pytest.raises(OSError):
        link(world["staged"][:2], out, config=CONFIG)  # another run: other inputs
    assert _snapshot(out) == before  # nothing of the killed run published, nothing of the old one lost
    assert not (out / STAGING_NAME).exists() and not (out / LOCK_NAME).exists()
    monkeypatch.undo()
    build(out, world["staged"], tmp_path / "ds")  # the old run, whole, is still what build reads


def test_link_killed_while_publishing_is_refused_by_every_reader(world, tmp_path, monkeypatch) -> None:
    out = _copy(world["linked"], tmp_path / "linked")
    real = os.replace
    calls = []

    def dies_after_first_rename(src, dst):
        if Path(src).parent.name == STAGING_NAME and Path(dst).parent.name != STAGING_NAME:  # publishing
            calls.append(dst)
            if len(calls) == 2:  # one new file in place, the others not: the process "dies"
                raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", dies_after_first_rename)
    with pytest.raises(KeyboardInterrupt):
        link(world["staged"][:2], out, config=CONFIG)
    monkeypatch.undo()
    assert (out / PUBLISHING_NAME).exists() and not (out / COMPLETE_NAME).exists()
    staged = [str(d) for d in world["staged"]]
    for args in (["build", str(out), *staged, "--out", str(tmp_path / "ds")],
                 ["check", *staged, str(out), "--out", str(tmp_path / "chk")],
                 ["explain", str(out)],
                 ["evaluate", str(out), "--truth", staged[0] + "/person.parquet"]):
        code, text = _cli(*args)
        assert code == 2, (args, text)
        assert "stopped half-way through publishing" in text and "Fix: re-run the command" in text, args
    link(world["staged"], out, config=CONFIG)  # a new run mends it (stale marker taken over)
    assert not (out / PUBLISHING_NAME).exists()
    assert sorted(p.name for p in out.iterdir()) == LINK_UNIT


def test_a_second_link_into_the_same_out_is_refused_while_one_holds_it(world, tmp_path) -> None:
    out = _copy(world["linked"], tmp_path / "linked")
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / LOCK_NAME).write_text(json.dumps({"pid": holder.pid, "command": "link"}), encoding="utf-8")
        code, text = _cli("link", *map(str, world["staged"]), "--out", str(out), "-q")
        assert code == 2 and f"(process {holder.pid}) is writing this directory" in text and "Fix:" in text
        code, text = _cli("build", str(out), *map(str, world["staged"]), "--out", str(tmp_path / "ds"))
        assert code == 2 and "is still writing this directory" in text  # readers wait for the writer too
    finally:
        holder.kill()
        holder.wait()
    (out / LOCK_NAME).unlink()


def test_stale_files_of_an_older_run_do_not_survive(world, tmp_path) -> None:
    out = _copy(world["linked"], tmp_path / "linked")
    (out / "summary.json.partial").write_text("{}", encoding="utf-8")  # a killed run's leftover
    link(world["staged"], out, config=CONFIG, pages=False)
    names = sorted(p.name for p in out.iterdir())
    assert "linkage.html" not in names and "review.html" not in names  # the older run's pages went with it
    assert not any(n.endswith(".partial") for n in names)
    assert sorted(json.loads((out / COMPLETE_NAME).read_text(encoding="utf-8"))["files"]) == [
        "clusters.parquet", "model.json", "pairs.parquet", "review.csv", "summary.json"]


@pytest.mark.parametrize("damage", ["record_missing", "record_tampered", "file_changed", "file_missing"])
def test_a_linked_directory_not_matching_its_record_is_refused(world, tmp_path, damage) -> None:
    out = _copy(world["linked"], tmp_path / "linked")
    record_path = out / COMPLETE_NAME
    if damage == "record_missing":  # also: every LINKED written before completion records
        record_path.unlink()
        expected = "old_output_format"
    elif damage == "record_tampered":
        record_path.write_text("{not json", encoding="utf-8")
        expected = "bad_completion_record"
    elif damage == "file_changed":  # another run's summary beside these clusters
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        summary["records"] = 1
        (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        expected = "incomplete_output"
    else:
        (out / "model.json").unlink()
        expected = "incomplete_output"
    staged = [str(d) for d in world["staged"]]
    for args in (["build", str(out), *staged, "--out", str(tmp_path / "ds")],
                 ["check", *staged, str(out), "--out", str(tmp_path / "chk")],
                 ["explain", str(out)],
                 ["evaluate", str(out), "--truth", str(world["staged"][0] / "person.parquet")],  # clusters first
                 ["report", str(world["dataset"]), "--linked", str(out), "--out", str(tmp_path / "r.html")]):
        code, text = _cli(*args)
        assert code == 2, (args, text)
        assert str(out) in text and "Fix: re-run `stairs-link link`" in text, (args, text)
    with pytest.raises(StairsLinkError) as info:
        build(out, world["staged"], tmp_path / "ds")
    assert info.value.reason == expected


@pytest.mark.parametrize("damage", ["record_missing", "table_changed"])
def test_a_dataset_not_matching_its_record_is_refused(world, tmp_path, damage) -> None:
    dataset = _copy(world["dataset"], tmp_path / "dataset")
    if damage == "record_missing":
        (dataset / COMPLETE_NAME).unlink()
    else:  # another build's record map beside this dataset's children
        record_map = pd.read_parquet(dataset / "record_map.parquet")
        record_map.iloc[:-1].to_parquet(dataset / "record_map.parquet")
    staged = [str(d) for d in world["staged"]]
    for args in (["report", str(dataset), "--out", str(tmp_path / "r.html")],
                 ["indicators", str(dataset), "--out", str(tmp_path / "ind")],
                 ["link", *staged, "--previous", str(dataset), "--out", str(tmp_path / "l2"), "-q"],
                 ["build", str(world["linked"]), *staged, "--previous", str(dataset), "--out", str(tmp_path / "d2")]):
        code, text = _cli(*args)
        assert code == 2, (args, text)
        assert str(dataset) in text and "Fix: re-run `stairs-link build`" in text, (args, text)


@pytest.mark.parametrize("when", ["disk_full_at_manifest", "killed_before_manifest", "manifest_empty"])
def test_a_staged_directory_without_a_valid_manifest_is_refused_by_link_and_build(world, tmp_path, monkeypatch,
                                                                                 when) -> None:
    # was: new tables with an old or 0-byte manifest (or none); check, link and build accepted the folder
    import stairs_link.schema.io as schema_io

    target = _copy(world["staged"][0], tmp_path / "staged")
    if when == "disk_full_at_manifest":
        def full(path, text):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(schema_io, "write_atomic", full)
        with pytest.raises(OSError):
            write_staged(target, {"person": world["person"].iloc[:5]})
        monkeypatch.undo()
        assert (target / PUBLISHING_NAME).exists()
        expected = "stopped half-way through publishing"
    elif when == "killed_before_manifest":  # as a run killed between its renames and the manifest leaves it
        (target / "manifest.json").unlink()
        expected = "no manifest.json"
    else:
        (target / "manifest.json").write_text("{}", encoding="utf-8")
        expected = "does not list person.parquet"
    staged = [str(target), *map(str, world["staged"][1:])]
    for args in (["link", *staged, "--out", str(tmp_path / "l"), "-q"],
                 ["build", str(world["linked"]), *staged, "--out", str(tmp_path / "ds")],
                 ["check", *staged, "--out", str(tmp_path / "chk")]):
        code, text = _cli(*args)
        assert code == 2, (args, text)
        assert expected in text and "Fix: re-run" in text, (args, text)
    assert not (tmp_path / "l").exists() or not (tmp_path / "l" / COMPLETE_NAME).exists()


def test_a_link_written_elsewhere_then_copied_is_still_read(world, tmp_path) -> None:
    # copying a finished directory whole (a USB stick, a shared drive) keeps it valid
    out = _copy(world["linked"], tmp_path / "copied")
    result = build(out, world["staged"], tmp_path / "ds")
    assert result.n_records == len(world["person"])


def test_configuration_file_and_pages_written_by_explain_join_the_record(world, tmp_path) -> None:
    out = _copy(world["linked"], tmp_path / "linked")
    (out / "linkage.html").unlink()
    code, text = _cli("explain", str(out))
    assert code == 2 and "linkage.html is listed in the completion record but missing" in text
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"u_sample_pairs": 50_000}), encoding="utf-8")
    link(world["staged"], out, config_path=config, pages=False)
    code, text = _cli("explain", str(out))  # pages added to a finished LINKED: recorded, so it stays valid
    assert code == 0, text
    record = json.loads((out / COMPLETE_NAME).read_text(encoding="utf-8"))
    assert {"linkage.html", "review.html"} <= set(record["files"])
    build(out, world["staged"], tmp_path / "ds")


def test_a_record_naming_files_outside_its_directory_is_refused_and_never_followed(world, tmp_path) -> None:
    out = _copy(world["linked"], tmp_path / "linked")
    outside = tmp_path / "keep.txt"
    outside.write_text("not stairs-link's", encoding="utf-8")
    record = json.loads((out / COMPLETE_NAME).read_text(encoding="utf-8"))
    record["files"]["../keep.txt"] = {"file": "../keep.txt", "bytes": outside.stat().st_size}
    (out / COMPLETE_NAME).write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(StairsLinkError) as info:
        build(out, world["staged"], tmp_path / "ds")
    assert info.value.reason == "bad_completion_record"
    link(world["staged"], out, config=CONFIG, pages=False)  # publishing deletes an older run's files ...
    assert outside.exists()  # ... but only inside the directory
