"""Pseudonymising staged tables: no plaintext left, consistent across sites, unlinkable across keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stairs_link.privacy import bloom_matrix, dice_similarity
from stairs_link.privacy.keys import SecretKey
from stairs_link.privacy.pseudonymise import PrivacyParams, pseudonymise_tables
from stairs_link.synth import person_records

KEY = SecretKey(bytes(range(32)))
OTHER_KEY = SecretKey(bytes(range(50, 82)))


@pytest.fixture(scope="module")
def world() -> tuple[pd.DataFrame, pd.DataFrame]:
    return person_records(200, 11)


def _episodes(person: pd.DataFrame) -> pd.DataFrame:
    """A small episode table tied to the person rows (admission 15 years after birth)."""
    first = person.head(50)
    return pd.DataFrame({
        "record_key": first["record_key"], "site_id": first["site_id"], "setting_type": first["setting_type"],
        "source_system": first["source_system"], "episode_id": [f"EP{i}" for i in range(len(first))],
        "admission_date": pd.to_datetime(first["date_of_birth"]) + pd.DateOffset(years=15, days=-1),
    })


def test_no_plaintext_in_any_output_byte(world: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    person, _ = world
    rejects = pd.DataFrame({"source_file": ["f.csv"], "source_row": [3], "table": ["person"],
                            "column": ["NHS"], "raw_value": ["9434765918"], "reason": ["invalid_nhs_number"]})
    out, manifest = pseudonymise_tables({"person": person, "episode": _episodes(person), "rejects": rejects}, KEY)
    blob = b""
    for name, frame in out.items():
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, compression="none")
        blob += path.read_bytes()
    blob += repr(manifest).encode("utf-8")
    plain: set[str] = {"9434765918"}
    for column in ("given_name", "family_name", "middle_names", "nhs_number", "upn", "pnc_id",
                   "prison_number", "la_child_id", "local_id", "postcode", "record_key"):
        plain |= {str(v) for v in person[column].dropna() if len(str(v)) >= 6}
    dob = pd.to_datetime(person["date_of_birth"]).dropna()
    iso_dates = set(dob.dt.strftime("%Y-%m-%d"))
    recorded = (plain - {"9434765918"}) | iso_dates  # the forms present in the input itself
    plain |= iso_dates | set(dob.dt.strftime("%Y%m%d")) | set(dob.dt.strftime("%d/%m/%Y"))
    assert len(plain) > 500
    leaked = [v for v in plain if v.encode("utf-8") in blob or v.upper().encode("utf-8") in blob]
    assert leaked == []
    # control: the same scan finds the plaintext in the input written the same way
    control = tmp_path / "control.parquet"
    pq.write_table(pa.Table.from_pandas(person.astype({"date_of_birth": "string"}), preserve_index=False),
                   control, compression="none")
    control_blob = control.read_bytes()
    assert all(v.encode("utf-8") in control_blob for v in recorded)
    assert bytes(KEY).hex() not in repr(manifest)
    assert manifest["key_id"] == KEY.key_id
    # the analysis still has what it needs
    p = out["person"]
    assert p["year_of_birth"].dropna().between(1990, 2030).all()
    assert p["date_of_birth"].isna().all() and p["given_name"].isna().all()
    assert p["given_name_bf"].notna().sum() == person["given_name"].notna().sum()
    assert (out["episode"]["age_at_admission"] == 14).all()  # the day before the 15th birthday
    assert out["rejects"]["raw_value"].isna().all()
    assert out["episode"]["record_key"].isin(p["record_key"]).all()
    assert person["record_key"].str.startswith(("sch-", "stc-", "yoi-")).any()


def test_same_key_consistent_across_sites_other_key_unlinkable(world: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    person, truth = world
    sites = person["site_id"].unique()
    a, b = person[person["site_id"] == sites[0]], person[person["site_id"] != sites[0]]
    pa_, _ = pseudonymise_tables({"person": a}, KEY)
    pb, _ = pseudonymise_tables({"person": b}, KEY)
    pb_other, _ = pseudonymise_tables({"person": b}, OTHER_KEY)
    shared = set(a["nhs_number"].dropna()) & set(b["nhs_number"].dropna())
    assert shared, "synthetic world should share some NHS numbers across sites"
    tokens_a, tokens_b = set(pa_["person"]["nhs_number"].dropna()), set(pb["person"]["nhs_number"].dropna())
    assert len(tokens_a & tokens_b) == len(shared)
    assert tokens_a.isdisjoint(set(pb_other["person"]["nhs_number"].dropna()))
    # Bloom encodings: identical plaintext names give identical filters only under the same key
    name = a["family_name"].dropna().iloc[0]
    fa = pa_["person"].loc[a["family_name"] == name, "family_name_bf"].iloc[0]
    same = pb["person"]["family_name_bf"].dropna()
    other = pb_other["person"]["family_name_bf"].dropna()
    assert (same == fa).sum() == (b["family_name"] == name).sum()
    assert (other == fa).sum() == 0


def test_encodings_still_separate_matches_from_non_matches(world: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    person, truth = world
    out, _ = pseudonymise_tables({"person": person}, KEY)
    child = truth.set_index("record_key")["true_child_id"].reindex(person["record_key"]).to_numpy()
    rng = np.random.default_rng(0)
    left = rng.integers(0, len(person), 4000)
    right = rng.integers(0, len(person), 4000)
    same_child = (child[left] == child[right]) & (left != right)
    # add true pairs explicitly: every pair of records of one child
    groups = pd.Series(np.arange(len(person))).groupby(child).apply(list)
    pairs = [(g[0], g[1]) for g in groups if len(g) > 1]
    tl, tr = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    m, _ = bloom_matrix(out["person"]["family_name_bf"])
    dob, _ = bloom_matrix(out["person"]["dob_bf"])
    true_sim = (dice_similarity(m[tl], m[tr]) + dice_similarity(dob[tl], dob[tr])) / 2
    rand = ~same_child
    rand_sim = (dice_similarity(m[left[rand]], m[right[rand]]) + dice_similarity(dob[left[rand]], dob[right[rand]])) / 2
    assert np.median(true_sim) > 0.9
    assert np.median(rand_sim) < 0.6
    assert np.mean(true_sim > 0.8) > 0.85 and np.mean(rand_sim > 0.8) < 0.02


def test_params_round_trip_into_manifest() -> None:
    params = PrivacyParams(token_length=40)
    assert PrivacyParams.from_dict(params.to_dict()) == params
    frame = pd.DataFrame({"record_key": ["s:x:1"], "site_id": ["s"], "source_system": ["x"], "local_id": ["1"]})
    out, manifest = pseudonymise_tables({"person": frame}, KEY, params)
    assert manifest["params"]["token_length"] == 40
    assert len(out["person"]["local_id"].iloc[0]) == 40
    assert out["person"]["record_key"].iloc[0].startswith("s:x:")


def test_batches_give_the_same_result_as_whole_tables(world: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    from stairs_link.privacy.pseudonymise import dob_by_record_key, pseudonymise_frame

    person, _ = world
    episode = _episodes(person)
    whole, _ = pseudonymise_tables({"person": person, "episode": episode}, KEY)
    halves = [pseudonymise_frame("person", part, KEY) for part in (person.iloc[:300], person.iloc[300:])]
    batched = pd.concat(halves)
    pd.testing.assert_frame_equal(batched, whole["person"])
    ep = pseudonymise_frame("episode", episode, KEY, dob=dob_by_record_key(person))
    pd.testing.assert_frame_equal(ep, whole["episode"])
    no_dob = pseudonymise_frame("episode", episode, KEY)
    assert "age_at_admission" not in no_dob
