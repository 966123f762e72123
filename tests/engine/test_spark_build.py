"""`stairs-link build --engine spark`: the embedded build's dataset (same rows, same order,
same Arrow types and metadata), with and without --previous, to a local directory or a
file:// URL; child-id collisions resolved as the embedded engine does; same input errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from stairs_link.adapt import adapt
from stairs_link.cli import cli
from stairs_link.errors import IntegrationError
from stairs_link.integrate import build
from stairs_link.integrate import ids as id_rules
from stairs_link.linkage import link, write_linked
from stairs_link.schema import replace_staged_tables

ROOT = Path(__file__).resolve().parents[2]
# two sites, so children move between them; every event table is filled by one of these
SYSTEMS = [("sch-oakfield", "case-manager"), ("sch-oakfield", "lcs"), ("sch-oakfield", "sims"),
           ("sch-oakfield", "systmone"), ("yoi-riverbank", "nomis"), ("yoi-riverbank", "systmone")]
TABLES = ["children.parquet", "episodes.parquet", "formulations.parquet", "incidents.parquet",
          "education.parquet", "measures.parquet", "stays.parquet", "transitions.parquet",
          "id_history.parquet", "record_map.parquet"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, list[str]]:
    """Sample exports adapted and linked (embedded); plus a second extract of one system
    staged again, so build has repeats to drop."""
    root = tmp_path_factory.mktemp("spark_build")
    staged = []
    for site, system in SYSTEMS:
        out = root / "staged" / site / system
        export = ROOT / "sample_data" / "exports" / site / system
        adapt(ROOT / "mappings" / site / f"{system}.yaml", sorted(export.iterdir()), out)
        staged.append(str(out))
    link([Path(d) for d in staged], root / "linked")
    again = root / "staged" / "sch-oakfield" / "systmone-again"
    shutil.copytree(staged[3], again)
    return root, [*staged, str(again)]


def _assert_same_dataset(expected: Path, actual: Path) -> None:
    """Every table equal (rows, order, types, schema metadata); build.json equal but for the
    keys the Spark engine adds and out_dir."""
    for name in TABLES:
        left, right = pq.read_table(expected / name), pq.read_table(actual / name)
        assert right.equals(left, check_metadata=True), name
    for name in ("pairs.parquet", "clusters.parquet"):
        assert pq.read_table(actual / "linkage" / name).equals(pq.read_table(expected / "linkage" / name))
    assert (actual / "linkage" / "review.csv").read_bytes() == (expected / "linkage" / "review.csv").read_bytes()
    want = json.loads((expected / "build.json").read_text(encoding="utf-8"))
    got = json.loads((actual / "build.json").read_text(encoding="utf-8"))
    assert got.pop("engine") == "spark" and got.pop("buckets") >= 1 and "total" in got.pop("timings_seconds")
    # the embedded engine alone keeps person records (for next year) and the extracts' breakdown
    assert got.pop("extracts_combined")["computed"] is False and want.pop("extracts_combined")["order"]
    want["files"].remove("person_records.parquet")
    assert {**got, "out_dir": None} == {**want, "out_dir": None}


def test_cli_engine_spark_writes_the_embedded_dataset(spark, world, monkeypatch):
    root, staged = world
    monkeypatch.setenv("STAIRS_LINK_SPARK_MASTER", "local[2]")
    runner = CliRunner()
    embedded = runner.invoke(cli, ["build", str(root / "linked"), *staged, "--out", str(root / "e"), "-q"])
    assert embedded.exit_code == 0, embedded.output
    result = runner.invoke(cli, ["build", str(root / "linked"), *staged, "--out", str(root / "s"), "-q",
                                 "--engine", "spark"])
    assert result.exit_code == 0, result.output
    assert result.output == embedded.output.replace(str(root / "e"), str(root / "s"))
    summary = json.loads((root / "s" / "build.json").read_text(encoding="utf-8"))
    assert sum(summary["duplicates_dropped"].values()) > 0  # the repeated extract was seen
    assert summary["n_events"]["incident"] and summary["n_events"]["education"] and summary["n_events"]["measure"]
    _assert_same_dataset(root / "e", root / "s")


def test_previous_ids_and_url_output_as_embedded(spark, world):
    """Clusters changed since the previous dataset (two children merged, one split): the same
    ids and history as the embedded engine, written as datasets to a file:// URL."""
    from stairs_link.engine.spark.build import spark_build

    root, staged = world
    previous = root / "prev"
    build(root / "linked", staged, previous)
    clusters = pd.read_parquet(root / "linked" / "clusters.parquet")
    sizes = clusters["cluster_id"].value_counts()
    big = sizes[sizes >= 3].index
    a, b = big[0], big[1]
    changed = root / "linked2"
    shutil.copytree(root / "linked", changed)
    labels = clusters["cluster_id"].where(clusters["cluster_id"] != b, a)  # merge b into a
    split = clusters.index[clusters["cluster_id"] == big[2]][:1]
    labels[split] = "split-off"  # one record of a third child leaves it
    write_linked(changed, clusters.assign(cluster_id=labels))  # no pairs file: link summary columns stay empty

    build(changed, staged, root / "e2", previous=previous)
    spark_build(changed, staged, f"file://{root / 's2'}", previous=previous, spark=spark, buckets=3)
    history = pq.read_table(root / "e2" / "id_history.parquet").to_pandas()
    assert {"merged", "split"} <= set(history["event"])
    for name in TABLES:
        # a URL gets a dataset directory: parts in child_id order, read back as one table
        got = pq.read_table(root / "s2" / name)
        assert got.equals(pq.read_table(root / "e2" / name)), name
    assert not (root / "s2" / "linkage" / "pairs.parquet").exists()


def test_year_of_birth_decided_over_all_buckets(spark, world, tmp_path):
    """Pseudonymised person tables: year_of_birth is resolved when ANY record holds one, so
    buckets whose records hold none still carry the (null) column, as in the embedded file."""
    from stairs_link.engine.spark.build import spark_build

    root, staged = world
    dirs = []
    for index, directory in enumerate(staged):
        copy = tmp_path / "staged" / str(index)
        shutil.copytree(directory, copy)
        person = pd.read_parquet(copy / "person.parquet")
        years = pd.to_datetime(person["date_of_birth"]).dt.year.astype("Int32")
        person["year_of_birth"] = years if index == 1 else pd.array([None] * len(person), dtype="Int32")
        replace_staged_tables(copy, {"person": person})
        dirs.append(str(copy))
    build(root / "linked", dirs, tmp_path / "e")
    spark_build(root / "linked", dirs, tmp_path / "s", spark=spark, buckets=4)
    expected = pq.read_table(tmp_path / "e" / "children.parquet")
    assert expected.column("year_of_birth").null_count < expected.num_rows
    assert pq.read_table(tmp_path / "s" / "children.parquet").equals(expected, check_metadata=True)


def test_child_id_collisions_are_resolved_as_embedded(spark, monkeypatch):
    """With ids of 2 hex digits (256 values) for 150 clusters, many hashes collide and re-hashes
    collide again: the Spark ids must be the embedded ones exactly."""
    from stairs_link.engine.spark.build import _fresh_child_ids

    monkeypatch.setattr(id_rules, "ID_HEX_DIGITS", 2)
    clusters = pd.DataFrame({"record_key": [f"site:sys:{i:04d}" for i in range(400)],
                             "cluster_id": [f"k{(i * 7) % 150}" for i in range(400)]})
    expected, _ = id_rules.assign_child_ids(clusters)
    assert expected.drop_duplicates("child_id").shape[0] == 150
    first_choice = clusters.groupby("cluster_id")["record_key"].min().map(id_rules._hash_id)
    assert first_choice.duplicated().sum() >= 10  # the case under test: many collisions
    got = _fresh_child_ids(spark.createDataFrame(clusters)).toPandas()
    merged = expected.merge(got, on="record_key", suffixes=("", "_spark"))
    assert len(merged) == 400
    assert (merged["child_id"] == merged["child_id_spark"]).all()


def test_unclustered_record_is_the_embedded_error(spark, world, tmp_path):
    from stairs_link.engine.spark.build import spark_build

    root, staged = world
    linked = tmp_path / "linked"
    shutil.copytree(root / "linked", linked)
    clusters = pd.read_parquet(linked / "clusters.parquet")
    write_linked(linked, clusters.drop(index=[5, 17]), pd.read_parquet(linked / "pairs.parquet"))
    with pytest.raises(IntegrationError) as embedded:
        build(linked, staged, tmp_path / "e")
    with pytest.raises(IntegrationError) as spark_error:
        spark_build(linked, staged, tmp_path / "s", spark=spark)
    assert str(spark_error.value) == str(embedded.value)
    assert (spark_error.value.file, spark_error.value.row) == (embedded.value.file, embedded.value.row)


def test_orphan_events_are_left_out_and_counted_as_embedded(spark, world, tmp_path):
    from stairs_link.engine.spark.build import spark_build

    root, staged = world
    odd = tmp_path / "odd"
    shutil.copytree(staged[3], odd)  # a repeat extract whose episodes point at unknown records
    episodes = pd.read_parquet(odd / "episode.parquet")
    episodes.loc[[3, 8], "record_key"] = "sch-oakfield:systmone:nobody"
    replace_staged_tables(odd, {"episode": episodes})
    dirs = [*staged, str(odd)]
    embedded = build(root / "linked", dirs, tmp_path / "e")  # was: refused (orphan_event)
    result = spark_build(root / "linked", dirs, tmp_path / "s", spark=spark)
    assert embedded.orphan_events["tables"] == {"episode": {"sch-oakfield:systmone": 2}}
    assert result.orphan_events == embedded.orphan_events
    assert result.duplicates_dropped == embedded.duplicates_dropped
    _assert_same_dataset(tmp_path / "e", tmp_path / "s")


def test_engine_spark_without_pyspark_says_how_to_install(world, tmp_path, no_pyspark):
    root, staged = world
    result = CliRunner().invoke(cli, ["build", str(root / "linked"), *staged, "--out", str(tmp_path / "s"),
                                      "--engine", "spark"])
    assert result.exit_code == 2
    assert 'pip install "stairs-link[spark]"' in result.output
    assert "Traceback" not in result.output


def test_urls_need_engine_spark(world, tmp_path):
    root, staged = world
    result = CliRunner().invoke(cli, ["build", str(root / "linked"), *staged, "--out", f"file://{tmp_path}/d"])
    assert result.exit_code == 2
    assert "is a URL: that needs --engine spark" in result.output
    missing = CliRunner().invoke(cli, ["build", str(tmp_path / "nowhere"), *staged, "--out", str(tmp_path / "d")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_conflicting_extracts_are_the_embedded_error(spark, world, tmp_path):
    from stairs_link.engine.spark.build import spark_build
    from stairs_link.errors import SchemaError
    from stairs_link.schema import read_table

    root, staged = world
    conflict = tmp_path / "systmone-conflict"
    shutil.copytree(staged[3], conflict)
    person = read_table(conflict / "person.parquet", "person")
    person.loc[0, "given_name"] = "Someone Else"
    replace_staged_tables(conflict, {"person": person})
    inputs = [*staged[:-1], str(conflict)]
    with pytest.raises(SchemaError) as embedded:
        build(root / "linked", inputs, tmp_path / "e")
    with pytest.raises(SchemaError) as on_spark:
        spark_build(root / "linked", inputs, tmp_path / "s", spark=spark)
    assert on_spark.value.reason == embedded.value.reason == "conflicting_extracts"
    assert str(staged[3]) in str(on_spark.value) and str(conflict) in str(on_spark.value)
