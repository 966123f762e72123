"""Site x field coverage matrix and heatmap (stairs_link.quality.site_coverage)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from conftest import make_tables, write_staged

from stairs_link.cli import cli
from stairs_link.quality import coverage


def test_coverage_matrix_by_site(tmp_path: Path) -> None:
    full = make_tables("sch-oakfield", "systmone")
    sparse = make_tables("yoi-northgate", "nomis", n=4)
    sparse["person"].loc[:1, "ethnicity"] = None  # half filled
    sparse["person"]["nhs_number"] = None
    del sparse["formulation"], sparse["measure"]  # this system holds no such tables
    dirs = [write_staged(tmp_path / "a", full), write_staged(tmp_path / "b", sparse)]
    matrix = coverage(dirs, tmp_path / "cov")
    assert list(matrix.index) == ["sch-oakfield", "yoi-northgate"]
    assert matrix.loc["sch-oakfield", "person.nhs_number"] == 1.0
    assert matrix.loc["yoi-northgate", "person.nhs_number"] == 0.0
    assert matrix.loc["yoi-northgate", "person.ethnicity"] == 0.5
    assert matrix.loc["yoi-northgate", "formulation.formulation_date"] == 0.0
    assert matrix.loc["sch-oakfield", "person.middle_names"] == 0.0
    assert "person.record_key" not in matrix.columns  # keys are always there
    assert ((matrix >= 0) & (matrix <= 1)).all().all()

    written = pd.read_parquet(tmp_path / "cov" / "coverage.parquet").set_index("site_id")
    pd.testing.assert_frame_equal(written, matrix, check_names=False)
    assert (tmp_path / "cov" / "coverage.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # BOM, for Excel
    csv = pd.read_csv(tmp_path / "cov" / "coverage.csv", index_col="site_id", encoding="utf-8-sig")
    assert csv.shape == matrix.shape
    assert (tmp_path / "cov" / "coverage.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_coverage_cli(clean_staged: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["coverage", str(clean_staged), "--out", str(tmp_path / "cov")])
    assert result.exit_code == 0, result.output
    assert "1 site(s) x" in result.output
    assert (tmp_path / "cov" / "coverage.png").exists()


def test_empty_staged_tables(tmp_path: Path) -> None:
    from stairs_link.quality import check

    tables = {k: v.iloc[0:0] for k, v in make_tables().items() if k in ("person", "episode")}
    staged = write_staged(tmp_path / "empty", tables)
    matrix = coverage([staged], tmp_path / "cov")
    assert matrix.empty and (tmp_path / "cov" / "coverage.png").exists()
    result = check([staged], tmp_path / "report")
    empty = {o.check_id for o in result.results if not o.success}
    assert empty == {"person.has_rows", "episode.has_rows"}
    assert result.passed  # empty is a warning: a header-only export is valid


def test_pseudonymised_columns_shown_only_when_filled(tmp_path: Path) -> None:
    plain = make_tables()
    matrix = coverage([write_staged(tmp_path / "plain", plain)], tmp_path / "c1")
    assert "person.given_name_bf" not in matrix.columns and "episode.age_at_admission" not in matrix.columns
    pseudo = make_tables("yoi-northgate", "nomis")
    pseudo["episode"]["age_at_admission"] = 15
    matrix = coverage([write_staged(tmp_path / "plain2", plain), write_staged(tmp_path / "pseudo", pseudo)],
                      tmp_path / "c2")
    assert matrix["episode.age_at_admission"].to_dict() == {"sch-oakfield": 0.0, "yoi-northgate": 1.0}
