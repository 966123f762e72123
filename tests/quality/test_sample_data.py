"""End to end on the bundled sample data: adapt two sample systems, check, coverage.

Skipped when the sample exports or their mappings are not in the tree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from stairs_link.quality import check, coverage

REPO = Path(__file__).resolve().parents[2]
SYSTEMS = [("yoi-northgate", "nomis"), ("sch-oakfield", "lcs")]


@pytest.fixture(scope="module")
def sample_staged(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    adapt_module = pytest.importorskip("stairs_link.adapt")
    out = []
    for site, system in SYSTEMS:
        mapping = REPO / "mappings" / site / f"{system}.yaml"
        export = REPO / "sample_data" / "exports" / site / system
        if not (mapping.exists() and export.exists()):
            pytest.skip(f"sample export or mapping for {site}/{system} not in the tree")
        staged = tmp_path_factory.mktemp("staged") / f"{site}-{system}"
        adapt_module.adapt(mapping, [export], staged)
        out.append(staged)
    return out


def test_sample_staged_data_passes_critical_checks(sample_staged: list[Path], tmp_path: Path) -> None:
    result = check(sample_staged, tmp_path / "report")
    critical = [o.check_id for o in result.results if o.blocking]
    assert critical == [], critical
    report = json.loads((tmp_path / "report" / "check.json").read_text(encoding="utf-8"))
    # the planted bad rows of the sample exports show up as adapt rejects (a warning)
    rejects = [r for r in report["results"] if r["check_id"] == "rejects.none"]
    assert len(rejects) == len(SYSTEMS) and all(r["unexpected_count"] > 0 for r in rejects)


def test_sample_coverage(sample_staged: list[Path], tmp_path: Path) -> None:
    matrix = coverage(sample_staged, tmp_path / "cov")
    assert sorted(matrix.index) == ["sch-oakfield", "yoi-northgate"]
    # a YOI custody system records prison numbers; a local authority system does not
    assert matrix.loc["yoi-northgate", "person.prison_number"] > 0.5
    assert matrix.loc["sch-oakfield", "person.prison_number"] == 0.0
    assert (tmp_path / "cov" / "coverage.png").exists()


def test_corrupted_copy_of_sample_data_fails(sample_staged: list[Path], tmp_path: Path) -> None:
    import shutil

    from click.testing import CliRunner

    from stairs_link.cli import cli
    from stairs_link.schema import read_table, replace_staged_tables

    copy = tmp_path / "corrupted"
    shutil.copytree(sample_staged[1], copy)  # the social care system records NHS numbers
    person = read_table(copy / "person.parquet", "person")
    with_nhs = person.index[person["nhs_number"].notna()]
    assert len(with_nhs) > 0
    person.loc[1, "record_key"] = person.loc[0, "record_key"]
    person.loc[2, "date_of_birth"] = pd.Timestamp("2099-01-01").date()
    i = with_nhs[0]  # flip the check digit of one NHS number
    number = person.loc[i, "nhs_number"]
    person.loc[i, "nhs_number"] = number[:9] + str((int(number[9]) + 1) % 10)
    replace_staged_tables(copy, {"person": person})
    out = CliRunner().invoke(cli, ["check", str(copy), "--out", str(tmp_path / "report")])
    assert out.exit_code == 1, out.output
    report = json.loads((tmp_path / "report" / "check.json").read_text(encoding="utf-8"))
    failed = {r["check_id"] for r in report["results"] if r["severity"] == "critical" and not r["success"]}
    assert {"person.record_key.unique", "person.date_of_birth.not_after_extraction",
            "person.nhs_number.check_digit"} <= failed
    # no personal value of the export reaches the reports by default (values are masked)
    personal = set()
    for column in ("record_key", "local_id", "given_name", "family_name", "nhs_number", "upn",
                   "postcode", "date_of_birth"):
        personal |= {str(v) for v in person[column].dropna() if len(str(v)) >= 4}
    for name in ("check.json", "check.html"):
        text = (tmp_path / "report" / name).read_text(encoding="utf-8")
        assert [v for v in personal if v in text] == [], name
