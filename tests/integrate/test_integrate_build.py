"""build(): one row per child, every record in exactly one child, survivorship, nesting, errors."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pyarrow.parquet as pq
import pytest
from integrate_world import PEOPLE, TRUE_CHILD, relink, restage, write_world

from stairs_link.errors import IntegrationError
from stairs_link.integrate import build


def _children(out):
    return pd.read_parquet(out / "children.parquet")


def _true(children: pd.DataFrame) -> pd.Series:
    """child_id -> true child letter, via the source records."""
    return children.set_index("child_id")["source_records"].map(lambda recs: {TRUE_CHILD[r["record_key"]] for r in recs})


def test_one_row_per_child_and_every_record_once(world, tmp_path):
    linked, staged = world
    result = build(linked, staged, tmp_path / "ds")
    children = _children(tmp_path / "ds")
    assert result.n_children == 3 and len(children) == 3
    assert children["child_id"].is_unique
    keys = [r["record_key"] for recs in children["source_records"] for r in recs]
    assert sorted(keys) == sorted(TRUE_CHILD) and len(keys) == len(set(keys))
    # each child holds the records of exactly one true child (perfect clusters in the fixture)
    assert all(len(v) == 1 for v in _true(children))
    assert children["n_records"].sum() == len(PEOPLE)


def test_survivorship_prefers_majority_then_trusted_system(world, tmp_path):
    linked, staged = world
    build(linked, staged, tmp_path / "ds")
    children = _children(tmp_path / "ds")
    amy = children[_true(children).map(lambda v: v == {"A"}).to_numpy()].iloc[0]
    # date of birth: 2 records each way -> tie broken by health (systmone) over operations/education
    assert amy["date_of_birth"] == date(2007, 5, 1)
    assert amy["date_of_birth_n_values"] == 2
    # given name: "Amy" on 3 records beats "Amie" on 1
    assert amy["given_name"] == "Amy"
    # "unknown" sex and "Z" ethnicity never beat a known value
    assert amy["sex"] == "female" and amy["ethnicity"] == "A"
    assert list(amy["prison_numbers_seen"]) == ["G5555TT"]
    assert amy["upn"] == "H801200001001" and amy["pnc_id"] == "2020/1234567E"
    assert amy["n_sites"] == 2 and amy["n_systems"] == 4
    # link confidence: 6 edges inside the cluster, the weakest at 0.8
    assert amy["n_edges"] == 6 and amy["min_match_probability"] == pytest.approx(0.8)
    ben = children[_true(children).map(lambda v: v == {"B"}).to_numpy()].iloc[0]
    assert ben["n_edges"] == 0 and pd.isna(ben["min_match_probability"])


def test_nested_events_are_in_date_order_and_match_flat_tables(world, tmp_path):
    linked, staged = world
    build(linked, staged, tmp_path / "ds")
    children = _children(tmp_path / "ds")
    flat = pd.read_parquet(tmp_path / "ds" / "episodes.parquet")
    assert "child_id" in flat.columns and len(flat) == 8
    for _, child in children.iterrows():
        dates = [e["admission_date"] for e in child["episodes"]]
        assert dates == sorted(dates)
        assert len(dates) == (flat["child_id"] == child["child_id"]).sum()
    schema = pq.read_schema(tmp_path / "ds" / "children.parquet")
    assert str(schema.field("episodes").type).startswith("list<element: struct<record_key: string")
    for name in ("formulations", "incidents", "education", "measures", "source_records"):
        assert name in schema.names
    for name in ("formulations", "incidents", "education", "measures"):
        assert "child_id" in pq.read_schema(tmp_path / "ds" / f"{name}.parquet").names


def test_record_missing_from_clusters_is_a_clear_error(world, tmp_path):
    linked, staged = world
    clusters = pd.read_parquet(linked / "clusters.parquet")
    relink(linked, clusters[clusters["record_key"] != "yoi-b:nomis:n8"])
    with pytest.raises(IntegrationError) as err:
        build(linked, staged, tmp_path / "ds")
    assert err.value.reason == "unclustered_record"
    assert err.value.column == "record_key" and err.value.row == 2
    assert err.value.file.endswith("person.parquet") and "stairs-link link" in err.value.fix


def test_linked_dir_from_before_the_cluster_id_rename_asks_to_rerun_link(world, tmp_path):
    linked, staged = world
    clusters = pd.read_parquet(linked / "clusters.parquet")
    relink(linked, clusters.rename(columns={"cluster_id": "child_id"}))
    with pytest.raises(IntegrationError, match="written by an older stairs-link") as err:
        build(linked, staged, tmp_path / "ds")
    assert err.value.reason == "old_linked_format" and err.value.column == "child_id"
    assert err.value.file.endswith("clusters.parquet") and "re-run `stairs-link link`" in err.value.fix
    assert not (tmp_path / "ds").exists()


def test_record_in_two_clusters_is_an_error(world, tmp_path):
    linked, staged = world
    clusters = pd.read_parquet(linked / "clusters.parquet")
    extra = clusters.iloc[:1].assign(cluster_id="Z")
    relink(linked, pd.concat([clusters, extra]))
    with pytest.raises(IntegrationError, match="more than one row") as err:
        build(linked, staged, tmp_path / "ds")
    assert err.value.reason == "duplicate_record"


def test_clustered_record_not_staged_is_an_error(world, tmp_path):
    linked, staged = world
    with pytest.raises(IntegrationError) as err:
        build(linked, [d for d in staged if "nomis" not in str(d)], tmp_path / "ds")
    assert err.value.reason == "unstaged_record"


def test_hand_damaged_staged_folder_with_events_of_no_person_is_built_and_reported(world, tmp_path):
    # was: build refused the whole evaluation (orphan_event), with a fix that could not work
    from stairs_link.schema import read_table

    linked, staged = world
    path = staged[0] / "episode.parquet"
    episodes = read_table(path, "episode")
    clean = build(linked, staged, tmp_path / "clean")
    ghost = episodes.iloc[:1].assign(record_key="sch-a:carelog:ghost")
    restage(staged[0], episode=pd.concat([episodes, ghost], ignore_index=True))  # a faulty writer's output
    result = build(linked, staged, tmp_path / "ds")
    source = f"{ghost['site_id'].iloc[0]}:{ghost['source_system'].iloc[0]}"
    assert result.orphan_events["total"] == 1 and result.orphan_events["tables"] == {"episode": {source: 1}}
    assert result.n_events == clean.n_events and result.n_children == clean.n_children
    flat = pd.read_parquet(tmp_path / "ds" / "episodes.parquet")
    assert "sch-a:carelog:ghost" not in set(flat["record_key"])
    summary = json.loads((tmp_path / "ds" / "build.json").read_text(encoding="utf-8"))
    assert summary["orphan_events"] == result.orphan_events and "left out" in summary["orphan_events"]["rule"]
    assert clean.orphan_events == {"rule": summary["orphan_events"]["rule"], "total": 0, "tables": {}}


def test_same_record_in_two_extracts_is_kept_once(world, tmp_path):
    linked, staged = world
    again = tmp_path / "again"
    again.mkdir()
    for path in staged[0].iterdir():
        (again / path.name).write_bytes(path.read_bytes())
    result = build(linked, [*staged, again], tmp_path / "ds")
    assert result.n_records == len(PEOPLE)
    assert result.duplicates_dropped["person"] > 0


def test_repeated_event_rows_within_one_file_are_kept(world, tmp_path):
    from stairs_link.schema import read_table

    linked, staged = world
    path = staged[0] / "episode.parquet"
    episodes = read_table(path, "episode")
    restage(staged[0], episode=pd.concat([episodes, episodes.iloc[:1]], ignore_index=True))
    result = build(linked, staged, tmp_path / "ds")
    assert result.n_events["episode"] == 9 and result.duplicates_dropped["episode"] == 0


def test_records_without_demographics_still_build_with_canonical_types(tmp_path):
    # e.g. pseudonymised staging: names, DOB and identifiers are absent
    people = [p[:6] + (None,) * 10 for p in PEOPLE]
    linked, staged = write_world(tmp_path, people=people)
    result = build(linked, staged, tmp_path / "ds")
    assert result.n_children == 3 and result.n_transitions == 8
    schema = pq.read_schema(tmp_path / "ds" / "children.parquet")
    assert str(schema.field("date_of_birth").type) == "date32[day]"
    assert str(schema.field("nhs_number").type) == "string"
    children = _children(tmp_path / "ds")
    assert children["date_of_birth"].isna().all() and (children["nhs_numbers_seen"].map(len) == 0).all()


def _second_extract(staged: list, tmp_path, edit=None, extracted_at=None):
    """A copy of the first staged directory as another extract of the same system."""
    from stairs_link.schema import read_table

    again = tmp_path / "again"
    again.mkdir()
    for path in staged[0].iterdir():
        (again / path.name).write_bytes(path.read_bytes())
    if edit or extracted_at:
        person = read_table(again / "person.parquet", "person")
        if edit:
            person.loc[0, "family_name"] = edit
        if extracted_at:
            person["extracted_at"] = extracted_at
        restage(again, person=person)
    return again


def test_conflicting_extracts_are_an_error_naming_both_files(world, tmp_path):
    from stairs_link.errors import SchemaError
    from stairs_link.linkage.pipeline import read_person

    linked, staged = world
    again = _second_extract(staged, tmp_path, edit="Stoner")
    for run in (lambda: build(linked, [*staged, again], tmp_path / "ds"), lambda: read_person([*staged, again])):
        with pytest.raises(SchemaError) as err:
            run()
        assert err.value.reason == "conflicting_extracts"
        assert str(staged[0] / "person.parquet") in str(err.value) and str(again / "person.parquet") in str(err.value)


def test_a_later_extract_supersedes_the_record(world, tmp_path):
    linked, staged = world
    again = _second_extract(staged, tmp_path, edit="Stoner", extracted_at="2024-06-01")
    result = build(linked, [again, *staged], tmp_path / "ds")  # order given does not matter: dates do
    summary = json.loads((tmp_path / "ds" / "build.json").read_text(encoding="utf-8"))
    combined = result.extracts_combined
    assert combined["superseded"]["person"] == 1 and combined["repeated"]["person"] >= 1
    assert summary["extracts_combined"]["order"][-1]["file"] == str(again / "person.parquet")
    sources = _children(tmp_path / "ds")["source_records"].explode()
    assert (sources.map(lambda s: s["extracted_at"]) == "2024-06-01").sum() == len(pd.read_parquet(again / "person.parquet"))
