"""Interchange-format exports of the synthetic world: FHIR, CTF XML, SSDA903, a UTF-16 export.

Some sites send data in standard interchange formats rather than their system's own CSV. This
module renders the person records (and, for SSDA903, the episodes) of a few site systems of the
same world as those formats, under new source-system names with their own local ids, and writes
their ground truth. Linking them *in place of* the site systems they were rendered from (the
``replaces`` entry of ``formats.json``), together with the rest of the sample exports, tests the
adapter on these layouts without the trivially identical twin records:

``OUT/formats/<site>/<system>/...``, ``OUT/formats/formats.json`` (what each export is, which
site system it replaces), ``OUT/formats/truth/records.parquet`` (record_key -> true child).

* ``fhir-gp`` (yoi-northgate systmone): a FHIR R4 ``searchset`` Bundle of UK Core Patients:
  ``identifier[]`` with the NHS number not always first, ``name[]`` with an ``official`` name
  and sometimes a ``usual`` one listed first, ``given[]`` (middle names after the first),
  ``address[].postalCode``, the ethnic category as an ``extension[]`` by url, and one
  OperationOutcome entry (a search may return one) that is not a patient.
* ``fhir-bulk`` (yoi-riverbank systmone): the same resources as FHIR bulk-export NDJSON.
* ``ctf`` (sch-oakfield sims): a DfE Common Transfer File: ``CTfile/Header/SourceSchool``
  (LEA, Estab, URN) and ``CTFpupilData/Pupil`` records; pupils with no known UPN, and some
  others, carry a *temporary* UPN (letter in position 13) while the same child has the
  permanent UPN in other systems.
* ``ssda903`` (sch-moorside mosaic, stc-kestrel lcs): SSDA903 header + episodes, no names,
  SEX 1/2, DOB dd/mm/yyyy, DfE ethnic codes, UPN or UN1-UN5; the home postcode (HOME_POST) only
  on episodes, an older address on earlier episodes (the latest by DECOM is the current one).
* ``mis-export`` (yoi-riverbank arbor): a Windows tool's export: UTF-16 LE with BOM, tab
  separated, CRLF, and a ``Total rows: N`` trailer line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link.standardise.identifiers import upn_check_letter
from stairs_link.synth.exports import Drawn, _invert, draw, site_system_frames
from stairs_link.synth.layouts import ARBOR_ETHNICITY, SEX_903
from stairs_link.synth.world import EXTRACT_DATE, streams

NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ETHNIC_URL = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
ETHNIC_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategory"
GENDER = {"male": "male", "female": "female", "indeterminate": "other", "unknown": "unknown"}
TEMPORARY_UPN_RATE = 0.15  # share of pupils with a UPN whose CTF record carries a temporary one

# (site, system rendered from) -> (new source system, kind, files written)
FORMAT_SYSTEMS: dict[tuple[str, str], tuple[str, str]] = {
    ("yoi-northgate", "systmone"): ("fhir-gp", "health"),
    ("yoi-riverbank", "systmone"): ("fhir-bulk", "health"),
    ("sch-oakfield", "sims"): ("ctf", "education"),
    ("sch-moorside", "mosaic"): ("ssda903", "social_care"),
    ("stc-kestrel", "lcs"): ("ssda903", "social_care"),
    ("yoi-riverbank", "arbor"): ("mis-export", "education"),
}


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    text = str(value)
    return text if text.strip() else None


def _iso(value: object) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _patient(row: dict, local_id: str, rng: np.random.Generator) -> dict:
    """One UK Core Patient resource from a prepared person row."""
    identifiers = [{"system": "https://fhir.example-gp.nhs.uk/Id/patient-id", "value": local_id}]
    nhs = _text(row.get("nhs_number_raw"))
    if nhs:
        entry = {"system": NHS_SYSTEM, "value": nhs.replace(" ", "")}
        identifiers.insert(int(rng.integers(0, 2)), entry)  # not always first
    given = [g for g in (_text(row.get("given_name")), *(_text(row.get("middle_names")) or "").split()) if g]
    names = [{"use": "official", **({"family": f} if (f := _text(row.get("family_name"))) else {}),
              **({"given": given} if given else {})}]
    if given and rng.random() < 0.3:  # a usual (known-as) name listed before the official one
        names.insert(0, {"use": "usual", "given": [given[0][:3]]})
    resource: dict = {"resourceType": "Patient", "id": local_id,
                      "meta": {"profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"]},
                      "identifier": identifiers, "name": names}
    sex = _text(row.get("sex"))
    if sex:
        resource["gender"] = GENDER[sex]
    dob = _iso(row.get("date_of_birth"))
    if dob:
        resource["birthDate"] = dob
    postcode = _text(row.get("postcode"))
    if postcode:
        resource["address"] = [{"use": "home", "postalCode": postcode}]
    ethnicity = _text(row.get("ethnicity"))
    if ethnicity:
        resource["extension"] = [{"url": ETHNIC_URL, "valueCodeableConcept": {
            "coding": [{"system": ETHNIC_SYSTEM, "code": ethnicity}]}}]
    return resource


def _temporary_upn(la: str, estab: str, serial: int) -> str:
    """A valid temporary UPN: LA, establishment, year, two digits then a letter (position 13)."""
    letters = "ABCDEFGHJKLMNPQRTUVWXYZ"
    body = f"{la}{estab}{EXTRACT_DATE[2:4]}{serial // 23 % 100:02d}{letters[serial % 23]}"
    return upn_check_letter(body) + body


def _ctf(person: pd.DataFrame, rng: np.random.Generator, la: str, estab: str) -> tuple[str, pd.Series]:
    """CTF XML text and the UPN each pupil carries in it (temporary ones included)."""
    upn = person["upn"].astype(object)
    has = upn.notna().to_numpy()
    temporary = ~has | (rng.random(len(person)) < TEMPORARY_UPN_RATE)
    carried = [(_temporary_upn(la, estab, i) if temporary[i] else upn.iloc[i]) for i in range(len(person))]
    dfe = person["ethnicity_dfe"].to_numpy(dtype=object)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<CTfile>", "  <Header>",
             "    <DocumentName>Common Transfer File</DocumentName>", "    <CTFversion>23.0</CTFversion>",
             f"    <DateTime>{EXTRACT_DATE}T06:00:00</DateTime>", "    <DocumentQualifier>partial</DocumentQualifier>",
             "    <SourceSchool>", f"      <LEA>{la}</LEA>", f"      <Estab>{estab}</Estab>",
             "      <URN>100001</URN>", "      <SchoolName>Oakfield Secure School</SchoolName>",
             "    </SourceSchool>", "  </Header>", "  <CTFpupilData>"]
    for i, row in enumerate(person.to_dict("records")):
        lines.append("    <Pupil>")
        lines.append(f"      <UPN>{carried[i]}</UPN>")
        for tag, value in (("Surname", row["family_name"]), ("Forename", row["given_name"]),
                           ("DOB", _iso(row["date_of_birth"])),
                           ("Gender", {"male": "M", "female": "F"}.get(str(row["sex"])))):
            if _text(value):
                lines.append(f"      <{tag}>{escape(str(value))}</{tag}>")
        middle = _text(row["middle_names"])
        lines.append("      <BasicDetails>" + (f"<MiddleNames>{escape(middle)}</MiddleNames>" if middle else "")
                     + "<Language><Type>F</Type><LanguageCode>ENG</LanguageCode></Language></BasicDetails>")
        if _text(dfe[i]):
            lines.append(f"      <Ethnicity>{dfe[i]}</Ethnicity>")
        if _text(row["postcode"]):
            lines.append(f"      <Address><PostCode>{escape(str(row['postcode']))}</PostCode></Address>")
        lines.append("    </Pupil>")
    lines += ["  </CTFpupilData>", "</CTfile>"]
    return "\n".join(lines) + "\n", pd.Series(carried, index=person.index)


def _dmy(values: pd.Series) -> np.ndarray:
    dates = pd.to_datetime(values)
    return np.where(dates.notna(), dates.dt.strftime("%d/%m/%Y"), None)


def _ssda903(person: pd.DataFrame, episodes: pd.DataFrame, drawn: Drawn, rng: np.random.Generator,
             prefix: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """SSDA903 header and episodes (no names); the child ids used."""
    child = prefix + pd.Series(np.arange(1, len(person) + 1)).astype(str).str.zfill(6)
    ids = dict(zip(person["record_key"], child))
    upn = person["upn"].astype(object)
    unknown = rng.choice(["UN1", "UN2", "UN3", "UN4", "UN5"], len(person))
    header = pd.DataFrame({
        "CHILD": child.to_numpy(),
        "SEX": person["sex"].map(_invert(SEX_903)).to_numpy(dtype=object),
        "DOB": _dmy(person["date_of_birth"]),
        "ETHNIC": person["ethnicity_dfe"].to_numpy(dtype=object),
        "UPN": np.where(upn.notna(), upn, unknown),
    })
    ch = drawn.world.children
    current = ch["postcode"].to_numpy(dtype=object)[person["child_index"].to_numpy()]
    moved = ch["moved_postcode"].to_numpy(dtype=object)[person["child_index"].to_numpy()]
    home = dict(zip(person["record_key"], current))
    older = dict(zip(person["record_key"], [m if isinstance(m, str) else None for m in moved]))
    e = episodes.sort_values(["record_key", "admission_date"], kind="stable").reset_index(drop=True)
    last = ~e["record_key"].duplicated(keep="last").to_numpy()
    post = np.where(last, e["record_key"].map(home).to_numpy(dtype=object),
                    e["record_key"].map(older).fillna(e["record_key"].map(home)).to_numpy(dtype=object))
    ceased = {"community_home": "E4A", "community_care": "E8", "transfer_secure": "E9",
              "young_adult_estate": "E7", "hospital": "E15"}
    eps = pd.DataFrame({
        "CHILD": e["record_key"].map(ids).to_numpy(dtype=object),
        "DECOM": _dmy(e["admission_date"]),
        "RNE": e["rne"].to_numpy(dtype=object) if "rne" in e else "S",
        "LS": e["legal_basis"].map({"welfare_s25": "C2", "remand": "J1"}).to_numpy(dtype=object),
        "CIN": "N1",
        "PLACE": e["placement"].to_numpy(dtype=object) if "placement" in e else "K1",
        "PLACE_PROVIDER": "PR2",
        "DEC": _dmy(e["discharge_date"]),
        "REC": e["discharge_destination"].map(ceased).to_numpy(dtype=object),
        "REASON_PLACE_CHANGE": None,
        "HOME_POST": post,
        "PL_POST": None,
        "URN": "SC000001",
    })
    return header, eps, pd.Series(child.to_numpy(), index=person.index)


def _utf16_export(person: pd.DataFrame) -> bytes:
    """A Windows tool's pupil list: UTF-16 LE with BOM, tab separated, CRLF, a trailer line."""
    frame = pd.DataFrame({
        "Pupil ID": person["local_id"].to_numpy(dtype=object),
        "Legal Surname": person["family_name"].to_numpy(dtype=object),
        "Legal Forename": person["given_name"].to_numpy(dtype=object),
        "Date of Birth": np.where(pd.to_datetime(person["date_of_birth"]).notna(),
                                  pd.to_datetime(person["date_of_birth"]).dt.strftime("%d/%m/%Y"), None),
        "Gender": person["sex"].map({"male": "M", "female": "F"}).to_numpy(dtype=object),
        "Ethnicity": person["ethnicity_arbor"].to_numpy(dtype=object),
        "UPN": person["upn"].to_numpy(dtype=object),
        "Post Code": person["postcode"].to_numpy(dtype=object),
    })
    text = frame.to_csv(index=False, sep="\t", lineterminator="\r\n")
    text += f"Total rows: {len(frame)}\r\n\r\n"
    return text.encode("utf-16")  # Python's utf-16 writes the BOM, little-endian here


def _parquet(frame: pd.DataFrame, path: Path) -> None:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, compression="zstd")


def write_format_exports(out_dir: Path, n_children: int, seed: int) -> Path:
    """Write ``OUT/formats/`` (see the module docstring) for the world of ``(n_children, seed)``.

    The same world and damaged records as :func:`stairs_link.synth.write_exports`, so the
    records link with the sample exports; an existing ``formats/`` is replaced."""
    root = Path(out_dir) / "formats"
    if root.exists():
        shutil.rmtree(root)
    drawn = draw(n_children, seed)
    rng = streams(seed)["render"]
    fmt_rng = np.random.default_rng([seed, 903])
    truth: list[pd.DataFrame] = []
    entries: list[dict] = []
    for site, system, frames in site_system_frames(drawn):
        target = FORMAT_SYSTEMS.get((site.site_id, system))
        if target is None:
            continue
        name, kind = target
        person = frames["person"]
        folder = root / site.site_id / name
        folder.mkdir(parents=True, exist_ok=True)
        if name in ("fhir-gp", "fhir-bulk"):
            local = ("9" + person["local_id"].astype(str).str[-7:].str.zfill(7)).to_numpy(dtype=object)
            resources = [_patient(row, local[i], fmt_rng) for i, row in enumerate(person.to_dict("records"))]
            if name == "fhir-gp":
                entries_ = [{"fullUrl": f"https://fhir.example-gp.nhs.uk/Patient/{r['id']}",
                             "resource": r, "search": {"mode": "match"}} for r in resources]
                entries_.append({"resource": {"resourceType": "OperationOutcome", "issue": [
                    {"severity": "information", "code": "informational"}]}, "search": {"mode": "outcome"}})
                bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
                          "link": [{"relation": "self", "url": "https://fhir.example-gp.nhs.uk/Patient?_count=1000"}],
                          "entry": entries_}
                files = ["patients_bundle.json"]
                (folder / files[0]).write_text(json.dumps(bundle, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            else:
                files = ["Patient.ndjson"]
                (folder / files[0]).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in resources),
                                               encoding="utf-8")
        elif name == "ctf":
            text, carried = _ctf(person, fmt_rng, la="873", estab="4001")
            files = ["ctf_873_4001.xml"]
            (folder / files[0]).write_text(text, encoding="utf-8")
            local = ("873-4001-" + carried.astype(str)).to_numpy(dtype=object)
        elif name == "ssda903":
            prefix = "M" if system == "mosaic" else "L"
            header, eps, child = _ssda903(person, frames["episode"], drawn, fmt_rng, prefix)
            files = ["header.csv", "episodes.csv"]
            (folder / "header.csv").write_text(header.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
            (folder / "episodes.csv").write_text(eps.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
            local = child.to_numpy(dtype=object)
        else:
            files = ["pupils.txt"]
            (folder / files[0]).write_bytes(_utf16_export(person))
            local = person["local_id"].to_numpy(dtype=object)
        keys = [f"{site.site_id}:{name}:{value}" for value in local]
        truth.append(pd.DataFrame({"record_key": keys, "true_child_id": person["true_child_id"].to_numpy(),
                                   "replaces": person["record_key"].to_numpy()}))
        entries.append({"site_id": site.site_id, "setting_type": site.setting_type, "source_system": name,
                        "system_kind": kind, "directory": f"formats/{site.site_id}/{name}", "files": files,
                        "replaces": f"{site.site_id}/{system}", "records": len(person)})
    (root / "truth").mkdir(parents=True, exist_ok=True)
    _parquet(pd.concat(truth, ignore_index=True), root / "truth" / "records.parquet")
    doc = {"generator": {"n_children": n_children, "seed": seed}, "note": __doc__.split("\n\n")[1].replace("\n", " "),
           "exports": entries}
    (root / "formats.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    del rng
    return root


# The site mappings a data officer writes for these exports: a few lines over the bundled
# templates (the walkthroughs in docs/adding-a-site.md are these files).
SITE_MAPPINGS: dict[str, str] = {
    "fhir-gp": """\
extends: uk-core-fhir-patient-bundle
site_id: {site_id}
setting_type: {setting_type}
source_system: fhir-gp
extracted_at: '{extracted_at}'
tables:
  person:
    source: {{files: 'patients_bundle.json'}}
""",
    "fhir-bulk": """\
extends: uk-core-fhir-patient-ndjson
site_id: {site_id}
setting_type: {setting_type}
source_system: fhir-bulk
extracted_at: '{extracted_at}'
tables:
  person:
    source: {{files: 'Patient.ndjson'}}
""",
    "ctf": """\
extends: ctf-pupil
site_id: {site_id}
setting_type: {setting_type}
source_system: ctf
extracted_at: '{extracted_at}'
""",
    "ssda903": """\
extends: ssda903
site_id: {site_id}
setting_type: {setting_type}
source_system: ssda903
extracted_at: '{extracted_at}'
""",
    "mis-export": """\
site_id: {site_id}
setting_type: {setting_type}
system_kind: education
source_system: mis-export
extracted_at: '{extracted_at}'
tables:
  person:
    # UTF-16 LE with a byte-order mark, tab separated, and a last line 'Total rows: N'
    source: {{files: 'pupils.txt', encoding: utf-16, delimiter: '\\t', footer_rows: 1}}
    fields:
      local_id: Pupil ID
      family_name: Legal Surname
      given_name: Legal Forename
      date_of_birth: {{column: Date of Birth, formats: ['%d/%m/%Y']}}
      sex: {{column: Gender, codes: {{M: male, F: female}}, unknown_codes: keep_unknown}}
      ethnicity: {{column: Ethnicity, codes: {arbor_codes}, unknown_codes: keep_unknown}}
      upn: UPN
      postcode: Post Code
""",
}


def write_site_mappings(formats_dir: Path, out_dir: Path) -> list[tuple[Path, Path]]:
    """Write a site mapping for each export under ``formats_dir`` (as formats.json lists
    them) into ``out_dir/<site>/<system>.yaml``; returns (mapping, export folder) pairs."""
    doc = json.loads((Path(formats_dir) / "formats.json").read_text(encoding="utf-8"))
    written = []
    for entry in doc["exports"]:
        path = Path(out_dir) / entry["site_id"] / f"{entry['source_system']}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(SITE_MAPPINGS[entry["source_system"]].format(
            site_id=entry["site_id"], setting_type=entry["setting_type"], extracted_at=EXTRACT_DATE,
            arbor_codes=json.dumps(ARBOR_ETHNICITY)),
            encoding="utf-8")
        written.append((path, Path(formats_dir).parent / entry["directory"]))
    return written
