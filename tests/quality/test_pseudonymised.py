"""`check` on pseudonymised staged data (adapt --pseudonymise): the pseudonymised suite
variant passes the sample data, catches damaged tokens and encodings, never shows token or
encoding values, and checks plain and pseudonymised directories side by side.

Skipped when the sample exports or their mappings are not in the tree.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from stairs_link.cli import cli
from stairs_link.errors import QualityError
from stairs_link.quality.prepare import detect_pseudonymisation, load_staged, prepare

REPO = Path(__file__).resolve().parents[2]
SYSTEMS = [("yoi-northgate", "nomis"), ("sch-oakfield", "lcs"), ("yoi-riverbank", "systmone")]
TOKEN_COLUMNS = ("record_key", "local_id", "nhs_number", "upn", "pnc_id", "prison_number", "la_child_id")
BF_COLUMNS = ("given_name_bf", "family_name_bf", "dob_bf", "postcode_bf")


def _sources(site: str, system: str) -> tuple[Path, Path]:
    mapping = REPO / "mappings" / site / f"{system}.yaml"
    export = REPO / "sample_data" / "exports" / site / system
    if not (mapping.exists() and export.exists()):
        pytest.skip(f"sample export or mapping for {site}/{system} not in the tree")
    return mapping, export


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Three sample systems adapted with --pseudonymise under one key, and one plain."""
    adapt_module = pytest.importorskip("stairs_link.adapt")
    from stairs_link.privacy import load_key, new_key_file

    base = tmp_path_factory.mktemp("pseudo-check")
    key = load_key(new_key_file(base / "project.key"))
    pseudo = []
    for site, system in SYSTEMS:
        mapping, export = _sources(site, system)
        out = base / f"{site}-{system}"
        adapt_module.adapt(mapping, [export], out, pseudonymise_key=key)
        pseudo.append(out)
    mapping, export = _sources("sch-oakfield", "systmone")
    plain = base / "plain-sch-oakfield-systmone"
    adapt_module.adapt(mapping, [export], plain)
    return {"pseudo": pseudo, "plain": plain}


def _report(out: Path) -> dict:
    return json.loads((out / "check.json").read_text(encoding="utf-8"))


def _secrets(directory: Path) -> set[str]:
    """Every token and encoding (as hex) of a pseudonymised person table: none may appear in
    a report."""
    person = pd.read_parquet(directory / "person.parquet")
    values = set()
    for column in TOKEN_COLUMNS:
        tokens = person[column].dropna().astype(str)
        values |= set(tokens.str.rsplit(":", n=1).str[-1])
    for column in BF_COLUMNS:
        values |= {bytes(v).hex()[:16] for v in person[column].dropna()}
    return {v for v in values if len(v) >= 8}


def test_pseudonymised_sample_passes_check(staged: dict, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["check", *map(str, staged["pseudo"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = _report(out)
    by_id = {r["check_id"]: r for r in report["results"]}
    # the plaintext checks are replaced, not merely silenced: the pseudonymised ones ran on rows
    assert "person.nhs_number.check_digit" not in by_id and "person.prison_number.format" not in by_id
    for check_id in ("person.nhs_number.token_format", "person.record_key.token_format",
                     "person.dob_bf.filter_length", "person.given_name.nulled",
                     "episode.episode_id.token_format", "episode.age_at_admission.range"):
        assert by_id[check_id]["success"] and by_id[check_id]["element_count"] > 0, check_id
    manifests = [r for r in report["results"] if r["check_id"] == "pseudonymisation.manifest"]
    assert len(manifests) == len(SYSTEMS) and all(r["success"] for r in manifests)
    assert manifests[0]["observed_value"]["filter_bytes"]["dob_bf"] == 128


def test_corrupted_pseudonymised_copy_fails_naming_the_column(staged: dict, tmp_path: Path) -> None:
    from stairs_link.schema import read_table, replace_staged_tables

    copy = tmp_path / "corrupted"
    shutil.copytree(staged["pseudo"][2], copy)  # the health system records NHS numbers
    person = read_table(copy / "person.parquet", "person")
    person.loc[0, "given_name_bf"] = person.loc[0, "given_name_bf"][:64]  # truncated filter
    with_nhs = person.index[person["nhs_number"].notna()]
    person.loc[with_nhs[0], "nhs_number"] = "zz" + person.loc[with_nhs[0], "nhs_number"][2:]
    person.loc[1, "family_name"] = "Plaintext"  # a name that escaped pseudonymisation
    replace_staged_tables(copy, {"person": person})
    episode = read_table(copy / "episode.parquet", "episode")
    episode.loc[0, "age_at_admission"] = 7
    replace_staged_tables(copy, {"episode": episode})

    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["check", str(copy), "--out", str(out), "--show-values"])
    assert result.exit_code == 1, result.output
    assert "person.given_name_bf" in result.output and "person.nhs_number" in result.output
    failed = {r["check_id"]: r for r in _report(out)["results"]
              if r["severity"] == "critical" and not r["success"]}
    assert failed["person.given_name_bf.filter_length"]["unexpected_count"] == 1
    assert failed["person.nhs_number.token_format"]["unexpected_count"] == 1
    assert failed["person.family_name.nulled"]["unexpected_count"] == 1
    assert failed["episode.age_at_admission.range"]["unexpected_count"] == 1
    assert set(failed) == {"person.given_name_bf.filter_length", "person.nhs_number.token_format",
                           "person.family_name.nulled", "episode.age_at_admission.range"}
    # examples give the shape, never the value, even with --show-values
    example = failed["person.given_name_bf.filter_length"]["examples"][0]["values"]
    assert example == {"given_name_bf": "<encoding withheld: 64 bytes>"}
    assert failed["person.nhs_number.token_format"]["examples"][0]["values"] == {
        "nhs_number": "<value withheld: 32 characters>"}
    secrets = _secrets(copy) | {"Plaintext"}
    for name in ("check.json", "check.html"):
        text = (out / name).read_text(encoding="utf-8")
        assert [v for v in secrets if v in text] == [], name


def test_plain_and_pseudonymised_directories_checked_together(staged: dict, tmp_path: Path) -> None:
    from stairs_link.schema import read_table, replace_staged_tables

    plain = tmp_path / "plain"
    shutil.copytree(staged["plain"], plain)
    person = read_table(plain / "person.parquet", "person")
    i = person.index[person["nhs_number"].notna()][0]
    number = person.loc[i, "nhs_number"]
    person.loc[i, "nhs_number"] = number[:9] + str((int(number[9]) + 1) % 10)  # bad check digit
    replace_staged_tables(plain, {"person": person})

    out = tmp_path / "report"
    pseudo = staged["pseudo"][:2]
    result = CliRunner().invoke(cli, ["check", str(plain), *map(str, pseudo), "--out", str(out)])
    assert result.exit_code == 1, result.output
    results = _report(out)["results"]
    failed = {(r["check_id"], r["source"]) for r in results
              if r["severity"] == "critical" and not r["success"]}
    assert failed == {("person.nhs_number.check_digit", str(plain))}
    sources = {r["source"] for r in results if r["check_id"] == "person.nhs_number.token_format"}
    assert sources == {"all staged directories (pseudonymised)"}
    assert "checks across all directories (pseudonymised)" in (out / "check.html").read_text(encoding="utf-8")


def test_mode_and_parameters_come_from_the_manifest(staged: dict, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(staged["pseudo"][1], copy)
    manifest_path = copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))

    # the token length and filter lengths checked are the manifest's, not constants
    changed = json.loads(json.dumps(manifest))
    changed["pseudonymisation"]["params"]["token_length"] = 24
    changed["pseudonymisation"]["params"]["bloom"]["postcode"]["length"] = 512
    manifest_path.write_text(json.dumps(changed), encoding="utf-8")
    loaded = load_staged(copy)
    prepare(loaded)
    person = loaded.tables["person"].prepared
    assert loaded.variant == "pseudonymised" and loaded.pseudonymisation.token_length == 24
    assert (person["_q_nhs_number_token_ok"].dropna() == False).all()  # noqa: E712 (object dtype)
    assert (person["_q_postcode_bf_length_ok"].dropna() == False).all()  # noqa: E712
    assert (person["_q_dob_bf_length_ok"].dropna() == True).all()  # noqa: E712
    assert person["_q_dob_bf_length_ok"].notna().sum() > 0

    # without the manifest entry, the columns give the mode away (defaults assumed, warned)
    del changed["pseudonymisation"]
    manifest_path.write_text(json.dumps(changed), encoding="utf-8")
    loaded = load_staged(copy)
    assert loaded.variant == "pseudonymised" and not loaded.pseudonymisation.from_manifest
    warning = [o for o in loaded.structure if o.check_id == "pseudonymisation.manifest"]
    assert len(warning) == 1 and not warning[0].success and warning[0].severity == "warning"
    # a plain directory stays plain
    plain = load_staged(staged["plain"])
    assert plain.variant == "plain"
    assert detect_pseudonymisation(staged["plain"], plain.tables["person"].frame) is None

    # a malformed entry is bad input (exit 2) naming manifest.json
    changed["pseudonymisation"] = {"params": {"bloom": {"name": {"length": 100}}}}
    manifest_path.write_text(json.dumps(changed), encoding="utf-8")
    with pytest.raises(QualityError, match="pseudonymisation") as info:
        load_staged(copy)
    assert "manifest.json" in str(info.value)
    result = CliRunner().invoke(cli, ["check", str(copy), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "manifest.json" in result.output
