"""The canonical schema is the contract between stages: check its invariants and its docs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stairs_link.errors import SchemaError
from stairs_link.schema import SCHEMA_VERSION, TABLES, arrow_schema, read_table, write_staged, write_table
from stairs_link.schema.dictionary import render_dictionary

REPO = Path(__file__).resolve().parents[2]

# Columns that other tools and the evaluation depend on (issue 2): names must not change.
PERSON_CONTRACT = [
    "record_key", "site_id", "setting_type", "system_kind", "source_system", "local_id",
    "given_name", "middle_names", "family_name", "date_of_birth", "sex", "ethnicity",
    "postcode", "nhs_number", "upn", "pnc_id", "prison_number", "la_child_id",
    "source_file", "source_row", "extracted_at", "mapping_id",
]


def test_person_has_the_contract_columns():
    names = [f.name for f in arrow_schema("person")]
    assert [n for n in PERSON_CONTRACT if n not in names] == []
    assert arrow_schema("person").field("date_of_birth").type == pa.date32()


def test_every_event_table_carries_record_key():
    for table in TABLES:
        assert "record_key" in arrow_schema(table).names, table


def test_data_dictionary_matches_code():
    committed = (REPO / "docs" / "schema.md").read_text(encoding="utf-8")
    assert committed == render_dictionary(), (
        "docs/schema.md is out of date: run `python -m stairs_link.schema docs/schema.md`"
    )


def _person_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_key": ["s1:sys:1"], "site_id": ["s1"], "setting_type": ["SCH"],
            "system_kind": ["health"], "source_system": ["sys"], "local_id": ["1"],
            "date_of_birth": [date(2008, 3, 4)], "source_file": ["f.csv"], "source_row": [1],
            "mapping_id": ["s1/sys"],
        }
    )


def test_write_then_read_round_trips_with_version(tmp_path):
    write_staged(tmp_path, {"person": _person_frame()})
    path = tmp_path / "person.parquet"
    meta = pq.read_schema(path).metadata
    assert meta[b"stairs_link.schema_version"] == SCHEMA_VERSION.encode()
    frame = read_table(path, "person")
    assert list(frame.columns) == arrow_schema("person").names
    assert frame.loc[0, "date_of_birth"] == date(2008, 3, 4)


def test_a_table_without_its_directory_s_completion_record_is_refused(tmp_path):
    path = write_table("person", _person_frame(), tmp_path / "person.parquet")  # no manifest.json
    with pytest.raises(SchemaError) as err:
        read_table(path, "person")
    assert err.value.reason == "incomplete_output" and "no manifest.json" in str(err.value)
    assert "re-run `stairs-link adapt`" in err.value.fix


def test_missing_required_column_is_named(tmp_path):
    with pytest.raises(SchemaError) as err:
        write_table("person", _person_frame().drop(columns=["local_id"]), tmp_path / "p.parquet")
    assert err.value.column == "local_id"


def test_other_schema_version_is_refused_with_a_fix(tmp_path):
    table = pa.Table.from_pandas(_person_frame(), preserve_index=False)
    table = table.replace_schema_metadata({b"stairs_link.schema_version": b"0"})
    pq.write_table(table, tmp_path / "person.parquet")
    with pytest.raises(SchemaError) as err:
        read_table(tmp_path / "person.parquet", "person")
    assert err.value.reason == "schema_version"
    assert "adapt" in err.value.fix


def test_corrupt_parquet_is_a_clear_error(tmp_path):
    (tmp_path / "person.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(SchemaError) as err:
        read_table(tmp_path / "person.parquet", "person")
    assert err.value.reason == "corrupt_parquet"
    assert "person.parquet" in str(err.value)
