"""Pseudonymised mode: children.parquet carries year_of_birth, resolved like the other
demographics, when the person tables hold it; plain datasets keep their columns."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from integrate_world import TRUE_CHILD, restage

from stairs_link.integrate import build, resolve_demographics
from stairs_link.integrate.survivorship import FIELDS
from stairs_link.schema import read_table


def test_year_of_birth_is_resolved_by_majority_then_trust():
    person = pd.DataFrame({
        "child_id": ["a", "a", "a", "b", "b", "c"],
        "system_kind": ["operations", "operations", "health", "education", "health", "health"],
        "extracted_at": "2024-01-01",
        "year_of_birth": pd.array([2008, 2008, 2009, 2007, 2006, None], dtype="Int32"),
    })
    for name in FIELDS:
        person[name] = None
    out = resolve_demographics(person).set_index("child_id")
    assert out.loc["a", "year_of_birth"] == 2008  # two records beat the trusted one
    assert out.loc["b", "year_of_birth"] == 2006  # a tie goes to health
    assert pd.isna(out.loc["c", "year_of_birth"])
    assert out["year_of_birth_n_values"].tolist() == [2, 2, 0]
    assert str(out["year_of_birth"].dtype) == "Int32"
    # plain person tables (no year_of_birth values) give no such column
    assert "year_of_birth" not in resolve_demographics(person.drop(columns="year_of_birth"))
    assert "year_of_birth" not in resolve_demographics(person.assign(year_of_birth=None))


def test_children_carry_year_of_birth_in_pseudonymised_mode(world, tmp_path):
    linked, staged = world
    build(linked, staged, tmp_path / "plain")
    assert "year_of_birth" not in pq.read_schema(tmp_path / "plain" / "children.parquet").names

    expected = {}
    for directory in staged:  # as adapt --pseudonymise writes it: year kept, date nulled
        person = read_table(directory / "person.parquet", "person")
        years = pd.to_datetime(person["date_of_birth"]).dt.year.astype("Int32")
        # child A's health record disagrees with its three other records: the majority wins
        disagree = (person["record_key"].map(TRUE_CHILD) == "A") & (person["system_kind"] == "health")
        years = years.mask(disagree, 2008)
        person["year_of_birth"] = years
        person["date_of_birth"] = None
        restage(directory, person=person)
        for key, year in zip(person["record_key"], years):
            expected.setdefault(TRUE_CHILD[key], []).append(year)
    build(linked, staged, tmp_path / "pseudo")
    table = pq.read_table(tmp_path / "pseudo" / "children.parquet")
    assert table.schema.field("year_of_birth").type == pa.int32()
    children = table.to_pandas()
    assert children["date_of_birth"].isna().all()
    for _, child in children.iterrows():  # three children
        truth = {TRUE_CHILD[r["record_key"]] for r in child["source_records"]}.pop()
        years = pd.Series(expected[truth]).dropna()
        assert child["year_of_birth"] == years.mode().min()
        assert child["year_of_birth_n_values"] == years.nunique()
        assert (truth, child["year_of_birth"], years.nunique()) in {("A", 2007, 2), ("B", 2006, 1),
                                                                    ("C", 2005, 1)}
