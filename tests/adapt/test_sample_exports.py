"""Every sample export adapts with its mapping: rows conserved, planted bad rows all reported.

Uses sample_data/ when the generator's committed copy is there, else generates the same
world (300 children, seed 42) into a temporary directory.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from stairs_link.adapt import adapt
from stairs_link.schema import read_table

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = sorted(p for p in (ROOT / "mappings").glob("*/*.yaml") if p.parent.name != "_templates")
KIND_TO_REASON = {"unparseable_date": "unparseable_date", "unknown_code": "unknown_code",
                  "blank_required": "missing_value"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if (ROOT / "sample_data" / "systems.json").exists():
        return ROOT / "sample_data"
    from stairs_link.synth import write_exports

    out = tmp_path_factory.mktemp("sample")
    write_exports(out, 300, 42)
    return out


def test_a_mapping_for_every_sample_system(sample: Path) -> None:
    systems = sorted(p.relative_to(sample / "exports").as_posix() for p in (sample / "exports").glob("*/*"))
    mapped = sorted(f"{p.parent.name}/{p.stem}" for p in MAPPINGS)
    assert systems == mapped


@pytest.mark.parametrize("mapping", MAPPINGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_sample_export_adapts(mapping: Path, sample: Path, tmp_path: Path) -> None:
    export = sample / "exports" / mapping.parent.name / mapping.stem
    result = adapt(mapping, [export], tmp_path)
    manifest = result.manifest
    assert manifest["sources"], "no tables filled"
    for source in manifest["sources"]:
        assert source["rows_in"] == source["rows_staged"] + source["rows_rejected"]
        assert source["rows_staged"] > 0
    for table, info in manifest["tables"].items():
        frame = read_table(tmp_path / info["file"], table)
        assert len(frame) == info["rows"]
        assert frame["record_key"].str.startswith(f"{mapping.parent.name}:{mapping.stem}:").all()
    person = read_table(tmp_path / "person.parquet", "person")
    assert person["local_id"].is_unique
    if (tmp_path / "episode.parquet").exists():  # e.g. carenotes spell numbers restart per client
        assert read_table(tmp_path / "episode.parquet", "episode")["episode_id"].is_unique
    assert person["date_of_birth"].notna().mean() > 0.9  # formats right: nearly every DOB parses

    rejects = pd.read_parquet(tmp_path / "rejects.parquet")
    truth = pd.read_parquet(sample / "truth" / "bad_rows.parquet")
    planted = truth[(truth.site_id == mapping.parent.name) & (truth.source_system == mapping.stem)]
    for bad in planted.itertuples():
        hit = rejects[(rejects.source_file == bad.file) & (rejects.source_row == bad.source_row) & (rejects.column == bad.column)
                      & (rejects.reason == KIND_TO_REASON[bad.kind])]
        assert len(hit) >= 1, f"planted {bad.kind} at {bad.file} row {bad.source_row} ({bad.column}) not reported"


@pytest.mark.parametrize("system", ["stc-kestrel/carenotes", "sch-oakfield/case-manager", "yoi-northgate/nomis"])
def test_sample_adapt_is_byte_identical_twice(system: str, sample: Path, tmp_path: Path) -> None:
    mapping = ROOT / "mappings" / f"{system}.yaml"
    export = sample / "exports" / system
    first = adapt(mapping, [export], tmp_path / "a").out_dir
    second = adapt(mapping, [export], tmp_path / "b").out_dir
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
