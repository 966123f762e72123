"""`adapt --pseudonymise --key-file`: tokens, Bloom encodings, no plaintext, consistent across
sites under one key, unlinkable under another (issue 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from stairs_link.cli import cli
from stairs_link.privacy import load_key, new_key_file
from stairs_link.privacy.pseudonymise import BLOOM_COLUMNS, NULLED_COLUMNS, TOKEN_COLUMNS
from stairs_link.privacy.record_keys import pseudonymised_record_keys

ROOT = Path(__file__).resolve().parents[2]
# Two sites' health systems: the same children pass through both, so they share NHS numbers.
SITE_A = ("yoi-northgate", "systmone")
SITE_B = ("yoi-riverbank", "systmone")


def _export(site: str, system: str) -> tuple[Path, Path]:
    export = ROOT / "sample_data" / "exports" / site / system
    if not export.is_dir():
        pytest.skip("sample export missing")
    return ROOT / "mappings" / site / f"{system}.yaml", export


def _adapt(out: Path, site_system: tuple[str, str], key_file: Path | None) -> Path:
    mapping, export = _export(*site_system)
    args = ["adapt", str(mapping), str(export), "--out", str(out), "-q"]
    if key_file is not None:
        args += ["--pseudonymise", "--key-file", str(key_file)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("pseudo-adapt")
    key1, key2 = new_key_file(base / "k1.key"), new_key_file(base / "k2.key")
    return {
        "key1": key1, "key2": key2,
        "plain_a": _adapt(base / "plain_a", SITE_A, None),
        "plain_b": _adapt(base / "plain_b", SITE_B, None),
        "a_k1": _adapt(base / "a_k1", SITE_A, key1),
        "b_k1": _adapt(base / "b_k1", SITE_B, key1),
        "b_k2": _adapt(base / "b_k2", SITE_B, key2),
    }


def _person(d: Path) -> pd.DataFrame:
    return pd.read_parquet(d / "person.parquet")


def test_plaintext_nulled_identifiers_tokenised_encodings_added(runs):
    plain, pseudo = _person(runs["plain_a"]), _person(runs["a_k1"])
    assert len(plain) == len(pseudo) > 0
    for column in NULLED_COLUMNS:
        assert pseudo[column].isna().all(), column
    for new, (source, _) in BLOOM_COLUMNS.items():
        assert (pseudo[new].notna() == plain[source].notna()).all(), new
        assert pseudo[new].dropna().map(len).eq(128).all()  # 1024-bit filters
    for column in (*TOKEN_COLUMNS, "record_key"):
        if column not in pseudo:
            continue
        assert (pseudo[column].notna() == plain[column].notna()).all(), column
        values = pseudo[column].dropna().astype(str)
        tokens = values.str.rsplit(":", n=1).str[-1] if column == "record_key" else values
        assert tokens.str.fullmatch(r"[0-9a-f]{32}").all(), column
        assert not set(values) & set(plain[column].dropna().astype(str)), column
    born = pd.to_datetime(plain["date_of_birth"])
    assert (pseudo["year_of_birth"].dropna().astype(int) == born.dt.year.dropna().astype(int)).all()


def test_record_keys_consistent_across_tables_and_map_from_plain(runs):
    key = load_key(runs["key1"])
    plain, pseudo = _person(runs["plain_a"]), _person(runs["a_k1"])
    assert (pseudonymised_record_keys(plain["record_key"], key) == pseudo["record_key"]).all()
    episodes = pd.read_parquet(runs["a_k1"] / "episode.parquet")
    assert episodes["record_key"].isin(pseudo["record_key"]).mean() > 0.95
    plain_episodes = pd.read_parquet(runs["plain_a"] / "episode.parquet")
    assert episodes["record_key"].isin(pseudo["record_key"]).sum() == \
        plain_episodes["record_key"].isin(plain["record_key"]).sum()
    manifest = json.loads((runs["a_k1"] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["orphan_event_rows"] == json.loads(
        (runs["plain_a"] / "manifest.json").read_text(encoding="utf-8"))["orphan_event_rows"]


def test_age_at_admission_from_the_plain_dates_of_birth(runs):
    plain_person = _person(runs["plain_a"])[["record_key", "date_of_birth"]]
    plain_ep = pd.read_parquet(runs["plain_a"] / "episode.parquet").merge(plain_person, on="record_key")
    plain_ep = plain_ep[plain_ep["date_of_birth"].notna()]
    born = pd.to_datetime(plain_ep["date_of_birth"])
    admitted = pd.to_datetime(plain_ep["admission_date"])
    expected = (admitted.dt.year - born.dt.year
                - ((admitted.dt.month < born.dt.month)
                   | ((admitted.dt.month == born.dt.month) & (admitted.dt.day < born.dt.day))).astype(int))
    episodes = pd.read_parquet(runs["a_k1"] / "episode.parquet")
    assert episodes["age_at_admission"].notna().sum() == len(plain_ep)
    assert sorted(episodes["age_at_admission"].dropna().astype(int)) == sorted(expected.astype(int))


def test_rejects_hold_no_raw_values_and_manifest_no_key(runs):
    plain_rejects = pd.read_parquet(runs["plain_a"] / "rejects.parquet")
    rejects = pd.read_parquet(runs["a_k1"] / "rejects.parquet")
    assert len(rejects) == len(plain_rejects) > 0
    assert rejects["raw_value"].isna().all()
    for raw in plain_rejects["raw_value"].dropna().astype(str):
        if len(raw.strip()) >= 3:
            assert not rejects["message"].astype(str).str.contains(raw.strip(), regex=False).any()
    manifest_text = (runs["a_k1"] / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(manifest_text)
    entry = manifest["pseudonymisation"]
    assert entry["key_id"] == load_key(runs["key1"]).key_id
    assert entry["params"]["bloom"]["name"]["length"] == 1024
    assert load_key(runs["key1"]).hex() not in manifest_text


def test_same_key_consistent_across_sites_other_key_unlinkable(runs):
    shared_plain = set(_person(runs["plain_a"])["nhs_number"].dropna()) & set(
        _person(runs["plain_b"])["nhs_number"].dropna())
    assert shared_plain, "the sample should have children in both sites"
    a, b1, b2 = _person(runs["a_k1"]), _person(runs["b_k1"]), _person(runs["b_k2"])
    assert len(set(a["nhs_number"].dropna()) & set(b1["nhs_number"].dropna())) == len(shared_plain)
    assert not set(a["nhs_number"].dropna()) & set(b2["nhs_number"].dropna())
    for column in BLOOM_COLUMNS:
        same_key = set(a[column].dropna()) & set(b1[column].dropna())
        other_key = set(a[column].dropna()) & set(b2[column].dropna())
        assert same_key and not other_key, column


def test_same_key_twice_gives_identical_tables(runs, tmp_path):
    again = _adapt(tmp_path / "again", SITE_A, runs["key1"])
    pd.testing.assert_frame_equal(_person(again), _person(runs["a_k1"]))


def test_pseudonymise_needs_a_key_file(tmp_path):
    mapping, export = _export(*SITE_A)
    result = CliRunner().invoke(cli, ["adapt", str(mapping), str(export), "--out", str(tmp_path / "o"),
                                      "--pseudonymise"])
    assert result.exit_code == 2
    assert "--key-file" in result.output
    assert not (tmp_path / "o" / "person.parquet").exists()


def test_link_cli_on_pseudonymised_sites(runs, tmp_path):
    """Same key: `stairs-link link` picks the Bloom preset and links across the sites;
    different keys: refused with a clean error."""
    out = tmp_path / "linked"
    result = CliRunner().invoke(cli, ["link", str(runs["a_k1"]), str(runs["b_k1"]), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    model = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert "bloom" in {c["kind"] for c in model["config"]["comparisons"]}
    clusters = pd.read_parquet(out / "clusters.parquet")
    sites = clusters["record_key"].str.split(":").str[0]
    assert (sites.groupby(clusters["cluster_id"]).nunique() == 2).sum() > 0  # children linked across sites
    review = (out / "review.csv").read_text(encoding="utf-8")
    assert "_bf" not in review.splitlines()[0]
    refused = CliRunner().invoke(cli, ["link", str(runs["a_k1"]), str(runs["b_k2"]), "--out", str(tmp_path / "x")])
    assert refused.exit_code == 2
    assert "different keys" in refused.output


def test_link_forget_encodings_keeps_what_build_needs(runs, tmp_path):
    """--forget-encodings: after linkage the *_bf columns of every staged person table are null,
    the manifest says so, build still runs on the result, and a second link is refused."""
    import shutil

    staged = [shutil.copytree(runs[name], tmp_path / name) for name in ("a_k1", "b_k1")]
    before = {d.name: _person(d) for d in staged}
    out = tmp_path / "linked"
    result = CliRunner().invoke(cli, ["link", *map(str, staged), "--out", str(out), "--forget-encodings"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "encodings forgotten in" in result.output
    for d in staged:
        after = _person(d)
        for column in ("given_name_bf", "family_name_bf", "dob_bf", "postcode_bf"):
            assert before[d.name][column].notna().any() and after[column].isna().all(), column
        kept = ["record_key", "sex", "year_of_birth", "nhs_number"]
        pd.testing.assert_frame_equal(after[kept], before[d.name][kept])
        entry = json.loads((d / "manifest.json").read_text(encoding="utf-8"))["pseudonymisation"]
        assert "dob_bf" in entry["encodings_forgotten"]["columns"]
    built = CliRunner().invoke(cli, ["build", str(out), *map(str, staged), "--out", str(tmp_path / "dataset"), "-q"])
    assert built.exit_code == 0, built.output + repr(built.exception)
    for table in (tmp_path / "dataset").glob("*.parquet"):  # nothing built holds an encoding
        frame = pd.read_parquet(table)
        assert all(frame[c].isna().all() for c in frame.columns if c.endswith("_bf")), table.name
    again = CliRunner().invoke(cli, ["link", *map(str, staged), "--out", str(tmp_path / "again")])
    assert again.exit_code == 2 and "forgotten" in again.output
    plain = CliRunner().invoke(cli, ["link", str(runs["plain_a"]), "--out", str(tmp_path / "p"), "--forget-encodings"])
    assert plain.exit_code == 2 and "pseudonymised" in plain.output
