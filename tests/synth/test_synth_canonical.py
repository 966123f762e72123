"""canonical_tables: every canonical table of a world, consistent with person_records and the exports."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from stairs_link.schema import CODE_LISTS, columns_of, to_arrow
from stairs_link.synth import canonical_tables, person_records, truth_clusters, write_exports, write_staged

N, SEED = 150, 9


@pytest.fixture(scope="module")
def tables() -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    return canonical_tables(N, SEED)


def test_every_table_fits_the_canonical_schema(tables) -> None:
    frames, _ = tables
    assert set(frames) == {"person", "episode", "formulation", "incident", "education", "measure"}
    for name, frame in frames.items():
        assert len(frame) > 0, name
        to_arrow(name, frame)  # raises on a missing required column or a bad type
        for col in columns_of(name):
            if col.codes and col.name in frame.columns:
                assert set(frame[col.name].dropna()) <= set(CODE_LISTS[col.codes]), (name, col.name)
            if col.required:
                assert frame[col.name].notna().all(), (name, col.name)


def test_person_table_is_person_records(tables) -> None:
    frames, truth = tables
    person, truth2 = person_records(N, SEED)
    a = frames["person"].sort_values("record_key", ignore_index=True)
    b = person.sort_values("record_key", ignore_index=True)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(truth.sort_values("record_key", ignore_index=True),
                                  truth2.sort_values("record_key", ignore_index=True))


def test_events_belong_to_person_records_of_their_system(tables) -> None:
    frames, _ = tables
    keys = set(frames["person"]["record_key"])
    for name in ("episode", "formulation", "incident", "education", "measure"):
        frame = frames[name]
        assert set(frame["record_key"]) <= keys, name
        parts = frame["record_key"].str.split(":", n=2, expand=True)
        assert (parts[0] == frame["site_id"]).all() and (parts[1] == frame["source_system"]).all(), name
    kinds = frames["person"].set_index("record_key")["system_kind"]
    assert set(kinds[frames["formulation"]["record_key"]]) == {"health"}
    assert set(kinds[frames["incident"]["record_key"]]) == {"operations"}
    assert set(kinds[frames["education"]["record_key"]]) == {"education"}


def test_rows_match_the_written_exports(tables, tmp_path: Path) -> None:
    frames, _ = tables
    out = write_exports(tmp_path, N, SEED)
    systems = json.loads((out / "systems.json").read_text(encoding="utf-8"))["systems"]
    for table in ("person", "episode", "incident", "education"):
        frame = frames[table]
        for s in systems:
            for f in s["files"]:
                if f["table"] != table or f["format"] != "csv":
                    continue
                written = pd.read_csv(out / s["directory"] / f["name"], sep=f["delimiter"], encoding=f["encoding"],
                                      dtype=str)
                mine = frame[(frame["site_id"] == s["site_id"]) & (frame["source_system"] == s["source_system"])]
                assert len(written) == len(mine), (s["directory"], f["name"])
                assert (mine["source_file"] == f["name"]).all()


def test_write_staged_gives_each_site_system_its_rows_and_truth_clusters_the_true_child(tables, tmp_path) -> None:
    frames, truth = tables
    staged = write_staged(frames, tmp_path)
    systems = frames["person"][["site_id", "source_system"]].drop_duplicates()
    assert staged == sorted(tmp_path / s / y for s, y in systems.itertuples(index=False))
    for name, frame in frames.items():
        parts = [pd.read_parquet(d / f"{name}.parquet") for d in staged if (d / f"{name}.parquet").exists()]
        back = pd.concat(parts, ignore_index=True)
        assert sorted(back["record_key"]) == sorted(frame["record_key"]), name
        for directory, part in zip([d for d in staged if (d / f"{name}.parquet").exists()], parts):
            assert len(part) and (part["source_system"] == directory.name).all(), (name, directory)
            assert (part["site_id"] == directory.parent.name).all(), (name, directory)
    clusters = truth_clusters(truth)
    assert list(clusters.columns) == ["record_key", "cluster_id"]
    assert clusters.set_index("record_key")["cluster_id"].to_dict() == truth.set_index("record_key")[
        "true_child_id"].to_dict()
