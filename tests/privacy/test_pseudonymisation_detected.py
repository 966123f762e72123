"""Issue 12, item 6: pseudonymisation detected from the data too. Every pseudonymised table
carries its scheme, parameters and key id in its Parquet metadata; `link` reads them when the
manifest is missing, empty or disagrees, recognises encodings from the columns, and refuses a
plain configuration on pseudonymised records (docs/privacy.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from _helpers import SYSTMONE_PERSON_MAPPING
from click.testing import CliRunner

from stairs_link.adapt import adapt
from stairs_link.cli import cli
from stairs_link.errors import LinkageError
from stairs_link.linkage import LinkageConfig, link, link_table
from stairs_link.linkage.bloom_comparisons import encodings_in_data, pseudonymisation_of
from stairs_link.privacy import load_key, new_key_file, pseudonymise_staged
from stairs_link.privacy.pseudonymise import METADATA_KEY, pseudonymisation_metadata
from stairs_link.schema import read_table, replace_staged_tables, write_staged
from stairs_link.synth import person_records

MAPPING = SYSTMONE_PERSON_MAPPING.format(source_extra="", sex_policy="keep_unknown")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """Synthetic person records per system, staged plain, then pseudonymised with one key
    (``pseudo``) and one system again with another key (``other``)."""
    root = tmp_path_factory.mktemp("pseudo-detect")
    key = load_key(new_key_file(root / "a.key"))
    other_key = load_key(new_key_file(root / "b.key"))
    person, _ = person_records(60, 5)
    plain, pseudo = [], []
    for system, part in person.groupby("source_system"):
        write_staged(root / "plain" / system, {"person": part})
        plain.append(root / "plain" / system)
        pseudonymise_staged(plain[-1], root / "pseudo" / system, key)
        pseudo.append(root / "pseudo" / system)
    pseudonymise_staged(plain[0], root / "other", other_key)
    return {"root": root, "plain": plain, "pseudo": pseudo, "other": root / "other", "n": len(person)}


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _manifest(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text(encoding="utf-8"))


def _write_manifest(directory: Path, manifest: dict) -> None:
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_each_pseudonymised_table_records_scheme_and_key_id_in_its_metadata(world, tmp_path) -> None:
    entry = _manifest(world["pseudo"][0])["pseudonymisation"]
    meta = pseudonymisation_metadata(pq.read_schema(world["pseudo"][0] / "person.parquet").metadata)
    assert meta == {k: entry[k] for k in ("scheme", "encoding", "key_id", "params")}
    assert pseudonymisation_metadata(pq.read_schema(world["plain"][0] / "person.parquet").metadata) is None
    # adapt --pseudonymise writes it in every table too (person and rejects)
    (tmp_path / "m.yaml").write_text(MAPPING, encoding="utf-8")
    export = tmp_path / "export"
    export.mkdir()
    (export / "patients.csv").write_text("PatientID,Forename,Surname,DOB,Gender\n1,Ann,Lee,03/04/2009,2\n"
                                         "2,Bo,Kay,31/02/2010,1\n", encoding="utf-8")
    key_file = new_key_file(tmp_path / "k.key")
    adapt(tmp_path / "m.yaml", [export], tmp_path / "out", pseudonymise_key=load_key(key_file))
    key_id = _manifest(tmp_path / "out")["pseudonymisation"]["key_id"]
    for name in ("person.parquet", "rejects.parquet"):
        metadata = pq.read_schema(tmp_path / "out" / name).metadata
        assert pseudonymisation_metadata(metadata)["key_id"] == key_id, name
        assert key_file.read_bytes().strip() not in metadata[METADATA_KEY]  # never the key itself


def test_a_manifest_without_the_entry_is_linked_with_the_pseudonymised_preset(world, tmp_path) -> None:
    # was: "pseudonymised folders whose manifests are missing or empty": the plain preset, 0 links, exit 0
    dirs = [_copy(d, tmp_path / d.name) for d in world["pseudo"]]
    for directory in dirs:  # a manifest that lost (or never had) its pseudonymisation entry
        manifest = _manifest(directory)
        del manifest["pseudonymisation"]
        _write_manifest(directory, manifest)
    assert pseudonymisation_of(dirs)["key_id"] == _manifest(world["pseudo"][0])["pseudonymisation"]["key_id"]
    result = link(dirs, tmp_path / "linked", config=None, pages=False)
    assert result.summary["linked_pairs"] > 0 and result.summary["children"] < world["n"]
    assert result.summary["pseudonymisation"]["key_id"] == _manifest(world["pseudo"][0])["pseudonymisation"]["key_id"]


@pytest.mark.parametrize("manifest", ["missing", "empty"])
def test_pseudonymised_folders_with_a_missing_or_empty_manifest_are_refused(world, tmp_path, manifest) -> None:
    dirs = [_copy(d, tmp_path / d.name) for d in world["pseudo"]]
    if manifest == "missing":
        (dirs[0] / "manifest.json").unlink()
    else:
        _write_manifest(dirs[0], {})
    result = CliRunner().invoke(cli, ["link", *map(str, dirs), "--out", str(tmp_path / "linked"), "-q"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert str(dirs[0]) in result.output and "Fix: re-run `stairs-link adapt`" in result.output
    assert not (tmp_path / "linked" / "clusters.parquet").exists()


def test_mixed_keys_in_the_tables_are_refused_naming_the_folder(world, tmp_path) -> None:
    other = _copy(world["other"], tmp_path / "other")
    manifest = _manifest(other)
    del manifest["pseudonymisation"]  # only the table's metadata says which key
    _write_manifest(other, manifest)
    with pytest.raises(LinkageError) as info:
        pseudonymisation_of([*world["pseudo"][1:], other])
    assert info.value.reason == "different_keys" and str(other) in str(info.value)
    for key_file in ("a.key", "b.key"):  # key ids (public fingerprints) only, never key material
        secret = (world["root"] / key_file).read_bytes().strip().decode()
        assert secret not in str(info.value)


def test_manifest_and_table_metadata_disagreeing_is_refused(world, tmp_path) -> None:
    directory = _copy(world["pseudo"][0], tmp_path / "d")
    manifest = _manifest(directory)
    manifest["pseudonymisation"] = _manifest(world["other"])["pseudonymisation"]  # another run's manifest
    _write_manifest(directory, manifest)
    with pytest.raises(LinkageError) as info:
        pseudonymisation_of([directory])
    assert info.value.reason == "pseudonymisation_disagrees" and str(directory) in str(info.value)


def test_encodings_are_recognised_from_the_columns_when_nothing_records_them(world, tmp_path) -> None:
    directory = _copy(world["pseudo"][0], tmp_path / "d")
    table = pq.read_table(directory / "person.parquet")
    replace_staged_tables(directory, {"person": table.replace_schema_metadata(
        {k: v for k, v in table.schema.metadata.items() if k != METADATA_KEY})})  # a tool that drops metadata
    manifest = _manifest(directory)
    del manifest["pseudonymisation"]
    _write_manifest(directory, manifest)
    sample = read_table(directory / "person.parquet", "person")
    assert "given_name_bf" in encodings_in_data(sample) and encodings_in_data(
        read_table(world["plain"][0] / "person.parquet", "person")) == []
    with pytest.raises(LinkageError) as info:
        link([directory], tmp_path / "linked", pages=False)
    assert info.value.reason == "pseudonymisation_unrecorded" and "given_name_bf" in str(info.value)
    assert "adapt --pseudonymise" in info.value.fix


def test_a_plaintext_configuration_on_pseudonymised_data_is_refused(world, tmp_path) -> None:
    config = tmp_path / "plain.yaml"
    config.write_text(yaml.safe_dump({"u_sample_pairs": 50_000}), encoding="utf-8")  # the plain defaults
    result = CliRunner().invoke(cli, ["link", *map(str, world["pseudo"]), "--out", str(tmp_path / "linked"),
                                      "--config", str(config), "-q"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "compares plain columns: it would link nothing" in result.output and "Fix:" in result.output
    assert not (tmp_path / "linked" / "clusters.parquet").exists()
    person = read_table(world["pseudo"][0] / "person.parquet", "person")
    with pytest.raises(LinkageError) as info:  # the library call too
        link_table(person, LinkageConfig())
    assert info.value.reason == "plaintext_config_on_pseudonymised"
