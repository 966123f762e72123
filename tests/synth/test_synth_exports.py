"""write_exports: layouts, truth, determinism, and systems.json describing the files exactly."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synth_spec_reader import load_systems, parse_column, read_raw

from stairs_link.standardise.identifiers import nhs_check_digit, pnc_check_letter, upn_check_letter
from stairs_link.synth import person_records, write_exports

N, SEED = 120, 7


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_exports(tmp_path_factory.mktemp("synth"), N, SEED)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_runs_are_byte_identical(out: Path, tmp_path: Path) -> None:
    again = write_exports(tmp_path / "again", N, SEED)
    a, b = _files(out), _files(again)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_every_kind_has_two_layouts_and_every_setting_type_is_present(out: Path) -> None:
    systems = load_systems(out)
    layouts: dict[str, set[str]] = {}
    for s in systems:
        layouts.setdefault(s["system_kind"], set()).add(s["source_system"])
    assert set(layouts) == {"health", "operations", "education", "social_care"}
    assert all(len(v) >= 2 for v in layouts.values()), layouts
    assert {s["setting_type"] for s in systems} == {"SCH", "STC", "YOI"}
    formats = {f["format"] for s in systems for f in s["files"]}
    encodings = {f["encoding"] for s in systems for f in s["files"] if f["format"] == "csv"}
    assert formats == {"csv", "xlsx", "json"}
    assert {"utf-8", "utf-8-sig", "cp1252"} <= encodings
    for s in systems:  # every described file exists
        for f in s["files"]:
            assert (out / s["directory"] / f["name"]).is_file()


def test_systems_json_describes_person_files_exactly(out: Path) -> None:
    """Reading each person export with only systems.json gives person_records' values."""
    person, _ = person_records(N, SEED)
    person = person.set_index("record_key")
    bad = pd.read_parquet(out / "truth" / "bad_rows.parquet")
    checked = 0
    for system in load_systems(out):
        spec = next(f for f in system["files"] if f["table"] == "person")
        raw = read_raw(out, system, spec)
        cols = {c["name"]: c for c in spec["columns"]}
        local_col = next(n for n, c in cols.items() if c.get("canonical") == "local_id")
        keys = system["site_id"] + ":" + system["source_system"] + ":" + raw[local_col].astype(str)
        expected = person.loc[keys.to_numpy()]
        bad_here = bad[(bad["file"] == spec["name"]) & (bad["source_system"] == system["source_system"])
                       & (bad["site_id"] == system["site_id"])
                       & (bad["sheet"].fillna("") == (spec.get("sheet") or ""))]
        ok_rows = ~np.isin(np.arange(1, len(raw) + 1), bad_here["source_row"].to_numpy())
        for name, col in cols.items():
            field = col.get("canonical")
            if field in ("date_of_birth", "sex", "given_name", "family_name"):
                got = parse_column(raw[name], col, spec)
                want = expected[field]
                if field == "date_of_birth":
                    got, want = pd.to_datetime(got), pd.to_datetime(want)
                    # two-digit years: the sample's children are born 1995-2015
                    got = got.where(got.dt.year < 2030, got - pd.DateOffset(years=100))
                same = (got.to_numpy() == want.to_numpy()) | (pd.isna(got).to_numpy() & pd.isna(want).to_numpy())
                assert same[ok_rows].all(), (system["source_system"], name, raw[name][~same & ok_rows].head())
                checked += 1
            if field == "nhs_number":
                got = raw[name].astype(object).where(raw[name].notna(), None)
                got = got.str.replace(" ", "", regex=False)
                want = expected[field].to_numpy()
                has = pd.notna(want)
                assert (got.to_numpy()[has] == want[has]).all()
                checked += 1
        # bad rows really are bad under the description
        for _, b in bad_here.iterrows():
            col = cols[b["column"]]
            value = raw[b["column"]].iloc[b["source_row"] - 1]
            if b["kind"] == "unparseable_date":
                assert pd.isna(parse_column(pd.Series([value]), col, spec).iloc[0])
            elif b["kind"] == "unknown_code":
                assert value not in col["codes"]
    assert checked > 30


def test_identifiers_pass_their_checks_unless_marked_mistyped(out: Path) -> None:
    from stairs_link.synth.records import damaged_records
    from stairs_link.synth.world import generate_world

    rec, _ = damaged_records(generate_world(N, SEED))
    for field in ("nhs_number", "upn", "pnc_id"):
        v = rec[field]
        has = v.notna()
        clean = has & rec[f"{field}_damage"].isna()
        assert clean.sum() > 20
        if field == "nhs_number":
            valid = v[clean].map(lambda s: nhs_check_digit(s[:9]) == int(s[9]))
        elif field == "upn":
            valid = v[clean].map(lambda s: upn_check_letter(s[1:]) == s[0])
        else:
            valid = v[clean].map(lambda s: pnc_check_letter(s[2:4], s[5:12]) == s[12])
        assert valid.all(), field  # cross-checked against the standardise helpers
        typo = rec[f"{field}_damage"] == "mistyped"
        assert (~rec.loc[typo, f"{field}_valid"]).mean() > 0.8  # most typos fail the check
    assert rec["prison_number"].dropna().str.fullmatch(r"[A-Z]\d{4}[A-Z]{2}").all()


def test_truth_complete_and_pathways_have_moves(out: Path) -> None:
    records = pd.read_parquet(out / "truth" / "records.parquet")
    pathway = pd.read_parquet(out / "truth" / "pathway.parquet")
    assert records["record_key"].is_unique and records[["true_child_id", "ethnic_group", "sex"]].notna().all().all()
    assert records["true_child_id"].nunique() <= N
    assert set(pathway["setting_type"]) == {"SCH", "STC", "YOI"}
    assert set(pathway["legal_basis"]) == {"welfare_s25", "remand", "sentenced"}
    assert (pathway.loc[pathway["legal_basis"] == "welfare_s25", "setting_type"] == "SCH").all()
    p = pathway.sort_values(["true_child_id", "stay_no"])
    nxt = p.groupby("true_child_id")["admission_date"].shift(-1)
    gap = (pd.to_datetime(nxt) - pd.to_datetime(p["discharge_date"])).dt.days
    assert (gap == 0).any()  # transfers
    assert ((gap > 0) & (gap <= 90)).any()  # re-admission after weeks
    assert (p["discharge_destination"] == "young_adult_estate").any()
    assert (p["discharge_date"].isna() | (p["discharge_date"] >= p["admission_date"])).all()
    form = pd.read_parquet(out / "truth" / "formulations.parquet")
    assert set(form["formulation_type"]) == {"initial", "review", "transition"}


def test_bad_rows_cover_each_kind(out: Path) -> None:
    bad = pd.read_parquet(out / "truth" / "bad_rows.parquet")
    assert set(bad["kind"]) == {"unparseable_date", "unknown_code", "blank_required"}
    assert bad["record_key"].notna().all()


def test_cp1252_files_hold_only_cp1252_and_bom_file_has_bom(out: Path) -> None:
    for system in load_systems(out):
        for f in system["files"]:
            data = (out / system["directory"] / f["name"]).read_bytes()
            if f["format"] == "xlsx":
                assert "encoding" not in f and "delimiter" not in f
                continue
            if f["encoding"] == "cp1252":
                data.decode("cp1252")
                assert b"\r\n" in data
            if f["encoding"] == "utf-8-sig":
                assert data.startswith(b"\xef\xbb\xbf")
            if f["encoding"] == "utf-8" and f["format"] == "csv":
                assert not data.startswith(b"\xef\xbb\xbf")
                assert re.search(rb"[\x80-\xff]", data) is None or data.decode("utf-8")
