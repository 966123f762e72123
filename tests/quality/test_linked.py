"""Checks after linkage: contradictions within one child, oversized clusters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_tables, write_staged

from stairs_link.cli import cli
from stairs_link.linkage import write_linked
from stairs_link.quality import check


def _linked(tmp_path: Path, clusters: pd.DataFrame) -> Path:
    return write_linked(tmp_path / "linked", clusters)


@pytest.fixture
def two_sites(tmp_path: Path) -> tuple[Path, Path, list[str], list[str]]:
    a = make_tables("sch-oakfield", "systmone", n=4)
    b = make_tables("yoi-northgate", "nomis", n=4)
    # records 0 of both sites are one child: same DOB/sex, the stay at b starts a day before the
    # stay at a ends (a transfer recorded a day apart: within the tolerance)
    b["person"].loc[0, ["date_of_birth", "sex"]] = [a["person"].loc[0, "date_of_birth"],
                                                   a["person"].loc[0, "sex"]]
    b["episode"].loc[0, ["admission_date", "discharge_date"]] = [dt.date(2023, 5, 31), dt.date(2023, 9, 1)]
    # records 1: same child but sex recorded differently, and overlapping stays
    b["person"].loc[1, ["date_of_birth", "sex"]] = [a["person"].loc[1, "date_of_birth"], "male"]
    a["person"].loc[1, "sex"] = "female"
    b["episode"].loc[1, ["admission_date", "discharge_date"]] = [dt.date(2023, 3, 1), dt.date(2023, 8, 1)]
    a, b = ({k: t[k] for k in ("person", "episode")} for t in (a, b))  # all the linked checks read
    return (write_staged(tmp_path / "a", a), write_staged(tmp_path / "b", b),
            a["person"]["record_key"].tolist(), b["person"]["record_key"].tolist())


def test_contradictions_within_a_child(tmp_path: Path, two_sites) -> None:
    a, b, keys_a, keys_b = two_sites
    clusters = pd.DataFrame({
        "record_key": keys_a + keys_b,
        "cluster_id": ["c0", "c1", "c2", "c3", "c0", "c1", "c4", "c5"],
    })
    clusters["cluster_size"] = clusters.groupby("cluster_id")["record_key"].transform("size")
    linked = _linked(tmp_path, clusters)
    result = check([a, b, linked], tmp_path / "report")
    by_id = {o.check_id: o for o in result.results if o.scope == "linked"}
    assert by_id["linked.sex.consistent"].unexpected_count == 1
    assert by_id["linked.date_of_birth.consistent"].success
    overlap = by_id["linked.episode.no_overlap"]
    assert overlap.unexpected_count == 1  # c1 only: c0's stays follow each other
    assert {e["values"]["cluster_id"] for e in overlap.examples} == {"c1"}
    assert {e["values"]["admission_date"] for e in overlap.examples} == {"2023-**-**"}  # masked
    assert by_id["linked.cluster_size.not_oversized"].success
    assert by_id["linked.record_key.known"].success
    # contradictions are warnings: the staged data are clean, so the check passes
    assert result.passed


def test_oversized_and_inconsistent_clusters_fail(tmp_path: Path, two_sites) -> None:
    a, b, keys_a, keys_b = two_sites
    clusters = pd.DataFrame({"record_key": keys_a + keys_b + ["sch-oakfield:systmone:GHOST"],
                             "cluster_id": ["big"] * 8 + ["g"], "cluster_size": [8] * 8 + [2]})
    linked = _linked(tmp_path, clusters)
    out = CliRunner().invoke(cli, ["check", str(a), str(b), str(linked), "--out", str(tmp_path / "r"),
                                   "--max-cluster-size", "6"])
    assert out.exit_code == 1, out.output
    assert "no child has more than 6 records" in out.output
    assert "every clustered record is in the staged data" in out.output
    assert "cluster_size equals the number of records" in out.output
    assert "one date of birth per child" in out.output


def test_linked_dir_without_required_columns(tmp_path: Path, two_sites) -> None:
    a, b, keys_a, _ = two_sites
    linked = _linked(tmp_path, pd.DataFrame({"record_key": keys_a}))
    out = CliRunner().invoke(cli, ["check", str(a), str(linked), "--out", str(tmp_path / "r")])
    assert out.exit_code == 2
    assert "clusters.parquet" in out.output and "cluster_id" in out.output


def test_linked_dir_from_before_the_cluster_id_rename(tmp_path: Path, two_sites) -> None:
    a, b, keys_a, _ = two_sites
    linked = _linked(tmp_path, pd.DataFrame({"record_key": keys_a, "child_id": "c0", "cluster_size": 4}))
    out = CliRunner().invoke(cli, ["check", str(a), str(linked), "--out", str(tmp_path / "r")])
    assert out.exit_code == 2, out.output
    assert "column 'child_id'" in out.output and "written by an older stairs-link" in out.output
    assert "Fix: re-run `stairs-link link`" in out.output and "Traceback" not in out.output


def test_dob_contradiction_in_pseudonymised_mode(tmp_path: Path, two_sites) -> None:
    a, b, keys_a, keys_b = two_sites
    from stairs_link.schema import read_table, replace_staged_tables

    for directory in (a, b):  # pseudonymised mode: DOB replaced by its (fake) encoding
        person = read_table(directory / "person.parquet", "person")
        if directory == b:  # record 2 at b: a different date of birth from record 2 at a
            person.loc[2, "date_of_birth"] = person.loc[2, "date_of_birth"] + dt.timedelta(days=1)
        person["dob_bf"] = person["date_of_birth"].map(lambda d: str(d).encode())
        person["date_of_birth"] = None
        replace_staged_tables(directory, {"person": person})
    clusters = pd.DataFrame({"record_key": [keys_a[0], keys_b[0], keys_a[2], keys_b[2]],
                             "cluster_id": ["c0", "c0", "c2", "c2"], "cluster_size": 2})
    result = check([a, b, _linked(tmp_path, clusters)], tmp_path / "report")
    dob = next(o for o in result.results if o.check_id == "linked.date_of_birth.consistent")
    assert dob.columns == ["dob_bf"]
    assert dob.unexpected_count == 1  # c2's records differ; c0's agree
