"""`coverage` on pseudonymised staged data: encoded names, dates of birth and postcodes count
as provided (the plain columns are nulled on purpose), so a site's coverage does not fall to 0
just because it pseudonymised."""

from __future__ import annotations

from pathlib import Path

import pytest

from stairs_link.quality import coverage
from stairs_link.quality.site_coverage import ENCODED_AS

ROOT = Path(__file__).resolve().parents[2]
SITE, SYSTEM = "yoi-northgate", "systmone"


def test_pseudonymised_coverage_matches_plain_for_encoded_fields(tmp_path: Path) -> None:
    from stairs_link.adapt import adapt

    exports = sorted((ROOT / "sample_data" / "exports" / SITE / SYSTEM).iterdir())
    if not exports:
        pytest.skip("sample export missing")
    mapping = ROOT / "mappings" / SITE / f"{SYSTEM}.yaml"
    plain = adapt(mapping, exports, tmp_path / "plain").out_dir
    pseudo = adapt(mapping, exports, tmp_path / "pseudo", pseudonymise_key=bytes(range(32))).out_dir

    plain_matrix = coverage([plain], tmp_path / "cov-plain")
    pseudo_matrix = coverage([pseudo], tmp_path / "cov-pseudo")
    for field in ENCODED_AS:
        expected = plain_matrix.loc[SITE, f"person.{field}"]
        assert expected > 0.5, field  # the sample export fills these fields
        assert pseudo_matrix.loc[SITE, f"person.{field}"] == pytest.approx(expected), field
    # middle names are dropped without an encoding: honestly not provided
    assert pseudo_matrix.loc[SITE, "person.middle_names"] == 0.0
    # the identifiers are tokens, still filled where the plain identifier was
    assert pseudo_matrix.loc[SITE, "person.nhs_number"] == pytest.approx(plain_matrix.loc[SITE, "person.nhs_number"])
