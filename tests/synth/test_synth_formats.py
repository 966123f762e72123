"""The generator's interchange-format layouts (FHIR, CTF, SSDA903, UTF-16 + footer): they adapt
with their few-line site mappings, rows conserved, and link with the sample exports against
their ground truth (the issue's done-when measurement, on the sample world)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest

import stairs_link.standardise as std
from stairs_link.adapt import adapt
from stairs_link.linkage.pipeline import link
from stairs_link.synth.formats import write_format_exports, write_site_mappings

ROOT = Path(__file__).resolve().parents[2]
NEW = {"fhir-gp", "fhir-bulk", "ctf", "ssda903", "mis-export"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if (ROOT / "sample_data" / "systems.json").exists():
        return ROOT / "sample_data"
    from stairs_link.synth import write_exports

    out = tmp_path_factory.mktemp("sample")
    write_exports(out, 300, 42)
    return out


@pytest.fixture(scope="module")
def adapted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict], list[Path]]:
    work = tmp_path_factory.mktemp("formats")
    formats = write_format_exports(work, 300, 42)
    manifests, staged = {}, []
    for mapping, export in write_site_mappings(formats, work / "mappings"):
        out = work / "staged" / mapping.parent.name / mapping.stem
        manifests[f"{mapping.parent.name}/{mapping.stem}"] = adapt(mapping, [export], out).manifest
        staged.append(out)
    return formats, manifests, staged


def test_formats_are_deterministic(tmp_path: Path) -> None:
    a = write_format_exports(tmp_path / "a", 40, 3)
    b = write_format_exports(tmp_path / "b", 40, 3)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.suffix != ".parquet")
    assert files and all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_layouts_are_what_sites_send(adapted: tuple[Path, dict, list[Path]]) -> None:
    formats, _, _ = adapted
    raw = (formats / "yoi-riverbank" / "mis-export" / "pupils.txt").read_bytes()
    assert raw.startswith(b"\xff\xfe") and "\r\nTotal rows: ".encode("utf-16-le") in raw
    bundle = json.loads((formats / "yoi-northgate" / "fhir-gp" / "patients_bundle.json").read_text("utf-8"))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    firsts = [e["resource"]["identifier"][0]["system"] for e in bundle["entry"] if "identifier" in e["resource"]]
    assert 0 < sum(s.endswith("nhs-number") for s in firsts) < len(firsts)  # NHS number not always first
    ctf = (formats / "sch-oakfield" / "ctf" / "ctf_873_4001.xml").read_text("utf-8")
    upns = pd.Series(pd.Series(ctf.split("<UPN>")[1:]).str.split("</UPN>").str[0])
    assert std.upn(upns).value.notna().mean() > 0.9 and std.upn_temporary(upns).sum() >= 5
    header = pd.read_csv(formats / "sch-moorside" / "ssda903" / "header.csv", dtype=str)
    assert list(header.columns) == ["CHILD", "SEX", "DOB", "ETHNIC", "UPN"]  # no names by design
    assert header["UPN"].isin(["UN1", "UN2", "UN3", "UN4", "UN5"]).any()


def test_formats_adapt_with_rows_conserved(adapted: tuple[Path, dict, list[Path]]) -> None:
    formats, manifests, staged = adapted
    truth = pd.read_parquet(formats / "truth" / "records.parquet")
    for name, manifest in manifests.items():
        for source in manifest["sources"]:
            assert source["rows_in"] == source["rows_staged"] + source["rows_rejected"] + source["rows_skipped"], name
            assert source["rows_staged"] >= 0.95 * source["rows_in"] - 1, (name, source)
        assert not manifest["warnings"], (name, manifest["warnings"])
    keys = pd.concat([pd.read_parquet(d / "person.parquet", columns=["record_key"]) for d in staged])["record_key"]
    assert keys.isin(truth["record_key"]).all()
    assert manifests["yoi-northgate/fhir-gp"]["sources"][0]["rows_skipped"] == 1  # the OperationOutcome entry
    assert manifests["yoi-riverbank/mis-export"]["sources"][0]["rows_skipped"] == 1  # the 'Total rows' line
    assert manifests["sch-oakfield/ctf"]["sources"][0]["identifier_codes"]["upn"]["temporary"] >= 5
    borrowed = manifests["sch-moorside/ssda903"]["person_fields_from_other_tables"][0]
    assert borrowed["field"] == "postcode" and borrowed["children_with_value"] > 15
    person = pd.read_parquet(staged[0].parent.parent / "sch-moorside" / "ssda903" / "person.parquet")
    assert person["postcode"].notna().sum() == borrowed["children_with_value"]


def test_formats_link_with_the_sample_data(adapted: tuple[Path, dict, list[Path]], sample: Path,
                                           tmp_path: Path) -> None:
    formats, _, staged = adapted
    doc = json.loads((formats / "formats.json").read_text("utf-8"))
    replaced = {e["replaces"] for e in doc["exports"]}
    dirs = list(staged)
    for mapping in sorted(p for p in (ROOT / "mappings").glob("*/*.yaml") if p.parent.name != "_templates"):
        if f"{mapping.parent.name}/{mapping.stem}" not in replaced:
            out = tmp_path / mapping.parent.name / mapping.stem
            adapt(mapping, [sample / "exports" / mapping.parent.name / mapping.stem], out)
            dirs.append(out)
    link(dirs, tmp_path / "linked")
    truth = pd.concat([pd.read_parquet(sample / "truth" / "records.parquet"),
                       pd.read_parquet(formats / "truth" / "records.parquet")])[["record_key", "true_child_id"]]
    clusters = pd.read_parquet(tmp_path / "linked" / "clusters.parquet").merge(truth, on="record_key", how="left")
    assert clusters["true_child_id"].notna().all()
    system = clusters["record_key"].str.split(":").str[1]
    found = true_pairs = false_pairs = linked_pairs = 0
    for key, other in (("true_child_id", "cluster_id"), ("cluster_id", "true_child_id")):
        for _, group in clusters.assign(new=system.isin(NEW)).groupby(key):
            for a, b in itertools.combinations(group.to_dict("records"), 2):
                if not (a["new"] or b["new"]):
                    continue
                if key == "true_child_id":
                    true_pairs += 1
                    found += a[other] == b[other]
                else:
                    linked_pairs += 1
                    false_pairs += a[other] != b[other]
    precision, recall = 1 - false_pairs / linked_pairs, found / true_pairs
    assert true_pairs > 500
    assert precision >= 0.999 and recall >= 0.95, (precision, recall)
    # the nameless SSDA903 records link too: those with a postcode or a UPN (the others have
    # only date of birth and sex, and check flags them: person.linking_fields.enough)
    nameless = clusters[system == "ssda903"].merge(
        pd.concat([pd.read_parquet(d / "person.parquet", columns=["record_key", "postcode", "upn"]) for d in staged]),
        on="record_key")
    linkable = nameless[nameless["postcode"].notna() | nameless["upn"].notna()]
    linked_in = linkable["cluster_size"] > 1
    assert len(linkable) >= 30 and linked_in.mean() >= 0.95, (len(linkable), linked_in.mean())
