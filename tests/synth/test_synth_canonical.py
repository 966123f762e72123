"""canonical_tables: every canonical table of a world, consistent with person_records and the exports."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from stairs_link.schema import CODE_LISTS, columns_of, to_arrow
from stairs_link.synth import canonical_tables, person_records, write_exports

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
