"""sample_data/ is exactly what `stairs-link synth --children 300 --seed 42` writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from stairs_link.synth import write_exports

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_exports(tmp_path_factory.mktemp("regen"), 300, 42)


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != "README.md"}


def test_sample_data_is_regenerated_identically(regenerated: Path) -> None:
    assert _files(SAMPLE) == _files(regenerated)
    for name in sorted(_files(SAMPLE)):
        ours, theirs = SAMPLE / name, regenerated / name
        if name.endswith(".parquet"):
            # Parquet footers name the writing pyarrow version: compare content, not bytes.
            pd.testing.assert_frame_equal(pd.read_parquet(ours), pd.read_parquet(theirs))
        elif name.endswith(".xlsx"):
            # openpyxl's XML may differ between its versions: compare every sheet's cells.
            a = pd.read_excel(ours, sheet_name=None, header=None)
            b = pd.read_excel(theirs, sheet_name=None, header=None)
            assert a.keys() == b.keys()
            for sheet in a:
                pd.testing.assert_frame_equal(a[sheet], b[sheet])
        else:
            assert ours.read_bytes() == theirs.read_bytes(), name


def test_sample_data_is_small() -> None:
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert total < 2_000_000


def test_sample_truth_covers_every_record_and_setting() -> None:
    records = pd.read_parquet(SAMPLE / "truth" / "records.parquet")
    pathway = pd.read_parquet(SAMPLE / "truth" / "pathway.parquet")
    assert records["true_child_id"].nunique() == pathway["true_child_id"].nunique() == 300
    assert set(pathway["setting_type"]) == {"SCH", "STC", "YOI"}
    # re-admissions: children with more than one stay at the same site
    repeat = pathway.groupby(["true_child_id", "site_id"]).size()
    assert (repeat > 1).sum() >= 5
    # transfers: a stay ending "transfer_secure" followed by a stay at another site
    assert (pathway["discharge_destination"] == "transfer_secure").sum() >= 10
