"""Analysis tables: de-identified (no identifiable column or value in any table or export), the
codebook matches the files, and the exports open in Stata, SPSS, DuckDB and Frictionless tools."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from click.testing import CliRunner

from stairs_link.analysis import IDENTIFIABLE, TABLES
from stairs_link.analysis.schema import CODE_LISTS
from stairs_link.cli import cli
from stairs_link.errors import AnalysisError


def test_no_identifiable_column_in_any_table_or_export(analysed):
    _, out = analysed
    for name in TABLES:
        columns = {
            "parquet": pq.read_schema(out / "parquet" / f"{name}.parquet").names,
            "csv": pd.read_csv(out / "csv" / f"{name}.csv", encoding="utf-8-sig", nrows=1).columns.tolist(),
            "stata": pyreadstat.read_dta(out / "stata" / f"{name}.dta", metadataonly=True)[1].column_names,
            "spss": pyreadstat.read_sav(out / "spss" / f"{name}.sav", metadataonly=True)[1].column_names,
        }
        con = duckdb.connect(str(out / "analysis.duckdb"), read_only=True)
        columns["duckdb"] = [r[0] for r in con.execute(
            "select column_name from duckdb_columns() where table_name = ?", [name]).fetchall()]
        con.close()
        for where, found in columns.items():
            assert found == [c.name for c in TABLES[name]], (name, where)
            assert not set(found) & set(IDENTIFIABLE), (name, where)


def test_no_identifier_value_appears_in_any_exported_file(analysed):
    dataset, out = analysed
    children = pq.read_table(dataset / "children.parquet", columns=[
        "given_name", "family_name", "nhs_number", "upn", "pnc_id", "prison_number", "la_child_id", "postcode",
        "date_of_birth"]).to_pandas()
    values = set()
    for column in children.columns:
        found = children[column].dropna()
        if column == "date_of_birth":
            values |= {d.isoformat() for d in found}
        else:
            values |= {str(v) for v in found if len(str(v)) >= 6}  # whole identifiers and longer names
    assert len(values) > 1000
    record_keys = pq.read_table(dataset / "record_map.parquet", columns=["record_key"]).column(0).to_pylist()
    values |= set(record_keys[:500])
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".md", ".json"):
            text = path.read_text(encoding="utf-8-sig")
            cells = set(text.replace("\r\n", ",").replace("\n", ",").replace("|", ",").split(","))
            assert not cells & values, path.name


def test_exports_carry_types_and_value_labels(analysed):
    dataset, out = analysed
    stays = pd.read_parquet(out / "parquet" / "stays.parquet")
    assert stays["stay_id"].is_unique and stays["recorded_by_health"].dtype == bool
    built = pq.read_table(dataset / "stays.parquet").num_rows
    assert len(stays) == built
    data, meta = pyreadstat.read_dta(out / "stata" / "stays.dta")
    codes = list(CODE_LISTS["setting_type"])
    assert meta.variable_value_labels["setting_type"] == {i + 1: c for i, c in enumerate(codes)}
    decoded = data["setting_type"].map(meta.variable_value_labels["setting_type"])
    assert decoded.tolist() == stays["setting_type"].tolist()
    data, meta = pyreadstat.read_sav(out / "spss" / "transitions.sav")
    assert set(meta.variable_value_labels["kind"].values()) == set(CODE_LISTS["move_kind"])
    assert meta.column_names_to_labels["gap_days"].startswith("Days between")
    con = duckdb.connect(str(out / "analysis.duckdb"), read_only=True)
    n, days = con.execute("select count(*), sum(length_days) from stays").fetchone()
    assert (n, days) == (len(stays), stays["length_days"].sum())
    # every event with a stay_id points at a stay of the same child
    orphans = con.execute("select count(*) from formulations f left join stays s using (stay_id) "
                          "where f.stay_id is not null and (s.stay_id is null or s.child_id <> f.child_id)").fetchone()
    assert orphans == (0,)
    con.close()


def test_datapackage_validates_with_frictionless(analysed):
    frictionless = pytest.importorskip("frictionless")
    _, out = analysed
    report = frictionless.validate(out / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert package["data_as_at"]["as_at"] == "2026-01-31"
    assert [r["name"] for r in package["resources"]] == list(TABLES)
    codebook = (out / "codebook.md").read_text(encoding="utf-8")
    assert "**Data as at 2026-01-31**" in codebook
    for name, columns in TABLES.items():
        assert all(f"| `{c.name}` |" in codebook for c in columns), name


def test_command_and_its_refusals(analysed, tmp_path):
    dataset, _ = analysed
    runner = CliRunner()
    result = runner.invoke(cli, ["analysis", str(dataset), "-o", str(tmp_path / "a"), "--format", "csv", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"]["stays"] > 0
    assert not (tmp_path / "a" / "stata").exists()
    result = runner.invoke(cli, ["analysis", str(dataset), "-o", str(dataset / "analysis")])
    assert result.exit_code == 2 and "apart from the identifiable dataset" in result.output
    result = runner.invoke(cli, ["analysis", str(dataset), "-o", str(tmp_path / "b"), "--format", "xlsx"])
    assert result.exit_code == 2 and "unknown export format 'xlsx'" in result.output
    with pytest.raises(AnalysisError, match="no column 'stay_id'"):
        from stairs_link.analysis import analysis_tables

        old = tmp_path / "old"
        old.mkdir()
        for name in ("children", "stays", "formulations", "incidents", "education", "measures", "transitions"):
            table = pq.read_table(dataset / f"{name}.parquet")
            if "stay_id" in table.column_names and name != "stays" and name != "transitions":
                table = table.drop_columns(["stay_id"])
            pq.write_table(table, old / f"{name}.parquet")
        analysis_tables(old)


def test_every_column_name_fits_stata():
    for name, columns in TABLES.items():
        assert all(len(c.name) <= 32 and c.name.isidentifier() for c in columns), name
