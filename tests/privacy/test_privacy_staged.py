"""Pseudonymising a real staged directory (sample export -> adapt -> pseudonymise_staged)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from stairs_link.errors import PrivacyError
from stairs_link.privacy import bloom_matrix
from stairs_link.privacy.keys import SecretKey
from stairs_link.privacy.staged import pseudonymise_staged

ROOT = Path(__file__).resolve().parents[2]
SYSTEMS = [("yoi-northgate", "systmone"), ("sch-oakfield", "lcs")]
KEY = SecretKey(bytes(range(7, 39)))


def _staged(tmp_path: Path, site: str, system: str) -> Path:
    from stairs_link.adapt import adapt

    exports = sorted((ROOT / "sample_data" / "exports" / site / system).iterdir())
    if not exports:
        pytest.skip("sample export missing")
    out = tmp_path / "staged" / site / system
    adapt(ROOT / "mappings" / site / f"{system}.yaml", exports, out)
    return out


@pytest.mark.parametrize(("site", "system"), SYSTEMS)
def test_pseudonymised_staged_dir_has_no_plaintext_and_reads_back(tmp_path: Path, site: str, system: str) -> None:
    from stairs_link.schema import read_table

    staged = _staged(tmp_path, site, system)
    out = tmp_path / "pseudo" / site / system
    manifest = pseudonymise_staged(staged, out, KEY)
    assert manifest["pseudonymisation"]["key_id"] == KEY.key_id
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["pseudonymisation"]["scheme"]

    plain_person = read_table(staged / "person.parquet", "person")
    person = read_table(out / "person.parquet", "person")
    assert len(person) == len(plain_person)
    assert person["given_name"].isna().all() and person["date_of_birth"].isna().all()
    assert bloom_matrix(person["family_name_bf"])[1].sum() == plain_person["family_name"].notna().sum()
    for table in manifest["tables"]:
        plain_t = read_table(staged / f"{table}.parquet", table)
        new_t = read_table(out / f"{table}.parquet", table)
        assert len(new_t) == len(plain_t)
        assert new_t["record_key"].isin(person["record_key"]).all() or table == "person"

    secrets: set[str] = set()
    for column in ("given_name", "family_name", "middle_names", "nhs_number", "upn", "pnc_id",
                   "prison_number", "la_child_id", "local_id", "postcode", "record_key"):
        secrets |= {str(v) for v in plain_person[column].dropna() if len(str(v)) >= 5}
    rejects = pq.read_table(staged / "rejects.parquet").to_pandas()
    secrets |= {str(v) for v in rejects["raw_value"].dropna() if len(str(v)) >= 5}
    dob = pd.to_datetime(plain_person["date_of_birth"]).dropna()
    secrets |= set(dob.dt.strftime("%Y-%m-%d")) | set(dob.dt.strftime("%Y%m%d"))
    assert len(secrets) > 50

    def dump(directory: Path) -> bytes:
        text = b""
        for path in sorted(directory.iterdir()):
            if path.suffix == ".parquet":  # decompress: scan the values, not zstd bytes
                text += pq.read_table(path).to_pandas().to_csv(index=False).encode("utf-8")
            else:
                text += path.read_bytes()
        return text

    pseudonymised = dump(out)
    leaked = sorted(s for s in secrets if s.encode("utf-8") in pseudonymised)
    assert leaked == []
    control = dump(staged)  # the same scan on the plain directory finds them
    iso = set(dob.dt.strftime("%Y-%m-%d"))
    recorded = {s for s in secrets if not (s.isdigit() and len(s) == 8 and s not in iso)}
    assert sum(s.encode("utf-8") in control for s in recorded) >= 0.95 * len(recorded)


def test_refuses_same_dir_and_overwrite(tmp_path: Path) -> None:
    staged = _staged(tmp_path, *SYSTEMS[0])
    with pytest.raises(PrivacyError) as err:
        pseudonymise_staged(staged, staged, KEY)
    assert err.value.reason == "same_directory"
    out = tmp_path / "p"
    pseudonymise_staged(staged, out, KEY)
    with pytest.raises(PrivacyError) as err:
        pseudonymise_staged(staged, out, KEY)
    assert err.value.reason == "output_exists"
    with pytest.raises(PrivacyError) as err:
        pseudonymise_staged(tmp_path / "nowhere", tmp_path / "q", KEY)
    assert err.value.reason == "not_staged"
