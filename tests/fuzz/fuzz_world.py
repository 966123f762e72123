"""The fuzz suite's world: small exports from the project's generator, with ground truth, and
the invariants every mutated export must keep when it goes through the real `stairs-link`
command line (in-process, click's CliRunner).

Invariants (issue 12, item 12), checked by :func:`run_adapt` on every case:

* the command ends with exit code 0, 1 or 2 (the case may narrow this), never by an
  unhandled exception, and no ``Traceback`` is printed;
* on exit 2 the message is one ``Error: ... Fix: ...`` line, and not the catch-all for
  exceptions no check anticipated ("unexpected X (a stairs-link bug ...)");
* on exit 0, per source ``rows_in = rows_staged + rows_rejected + rows_skipped``, the staged
  table holds exactly the staged rows, and the rows read equal the number of data records
  the generator wrote (plus any the mutation added: ground truth, not the reader's count);
* no personal value the generator wrote (names, dates of birth, NHS numbers, UPNs,
  postcodes) appears in manifest.json, stdout or stderr, plain or ``--pseudonymise``
  (``--show-values`` is never passed);
* nothing half-written is left in the output directory (no ``*.partial``, no lock).
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from stairs_link.cli import cli
from stairs_link.privacy import new_key_file
from stairs_link.synth import write_exports
from stairs_link.synth.formats import write_format_exports, write_site_mappings

N_CHILDREN, SEED = 60, 12

# One fixed profile for the whole fuzz suite: the same examples every run (derandomize), no
# per-example deadline (a loaded CI machine), few examples (each is one adapt run, ~0.3 s).
FUZZ = settings(derandomize=True, deadline=None, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


def fuzz(max_examples: int) -> settings:
    """The suite's profile with this many examples (kept small: the whole suite < 25 s)."""
    return settings(FUZZ, max_examples=max_examples)

CSV_MAPPING = """\
site_id: yoi-riverbank
setting_type: YOI
system_kind: health
source_system: systmone
extracted_at: '2026-01-31T06:00:00'
tables:
  person:
    source: {files: 'patients*.csv'}
    fields:
      local_id: Patient ID
      given_name: Forename
      family_name: Surname
      date_of_birth: {column: Date of Birth, formats: ['%d/%m/%Y'], excel_serial: true}
      middle_names: Middle Names
      nhs_number: NHS Number
      sex: {column: Gender, codes: nhs_gender_code, unknown_codes: keep_unknown}
      ethnicity: {column: Ethnicity, codes: nhs_ethnicity, unknown_codes: keep_unknown}
      postcode: Postcode
"""

JSON_MAPPING = """\
site_id: stc-kestrel
setting_type: STC
system_kind: operations
source_system: case-manager
extracted_at: '2026-01-31T06:00:00'
tables:
  person:
    source: {files: 'young_people*.json', records_path: data.youngPeople}
    fields:
      local_id: ypId
      given_name: firstName
      family_name: lastName
      date_of_birth: {column: dateOfBirth, formats: ['%d-%b-%y']}
      middle_names: middleName
      sex: {column: gender, codes: {Male: male, Female: female, Other: indeterminate, Not Known: unknown}, unknown_codes: keep_unknown}
      ethnicity: {column: ethnicity, codes: dfe_to_nhs_ethnicity, unknown_codes: keep_unknown}
      nhs_number: nhsNumber
      upn: upn
      pnc_id: pncNumber
      la_child_id: laChildId
      postcode: homePostcode
"""

XLSX_MAPPING = """\
site_id: stc-kestrel
setting_type: STC
system_kind: health
source_system: carenotes
extracted_at: '2026-01-31T06:00:00'
tables:
  person:
    source: {files: 'carenotes_patients*.xlsx', sheet: Patients, header_row: 3}
    fields:
      local_id: Client ID
      date_of_birth: {column: DOB, excel_serial: true}
      sex: {column: Sex, codes: sex_letters, unknown_codes: keep_unknown}
      ethnicity: {column: Ethnicity, codes: dfe_to_nhs_ethnicity, unknown_codes: keep_unknown}
      nhs_number: NHS No
      postcode: Post Code
      given_name: {column: Patient Name, split_name: family_comma_given}
      middle_names: {column: Patient Name, split_name: family_comma_given}
      family_name: {column: Patient Name, split_name: family_comma_given}
"""


@dataclass
class Base:
    """One generated export file: its bytes, the mapping that reads it, how many data
    records the generator wrote into it, and the personal values in it."""

    name: str
    data: bytes
    mapping: Path
    records: int
    values: frozenset[str]


@dataclass
class World:
    root: Path
    key: Path
    csv: Base
    json: Base
    ndjson: Base
    xml: Base
    xlsx: Base
    counter: list[int] = field(default_factory=lambda: [0])

    def fresh(self) -> Path:
        """A new empty directory for one case (removed again by :func:`run_adapt`)."""
        self.counter[0] += 1
        return Path(tempfile.mkdtemp(prefix=f"case{self.counter[0]}-", dir=self.root / "cases"))


PERSONAL_MIN = 4  # shorter strings (codes, "Li", "Ng") would match by accident


def _personal(values: Iterable[object]) -> set[str]:
    return {str(v).strip() for v in values if v is not None and len(str(v).strip()) >= PERSONAL_MIN}


def _csv_values(text: str) -> set[str]:
    import csv

    rows = list(csv.DictReader(io.StringIO(text)))
    cols = ["Forename", "Surname", "Middle Names", "Date of Birth", "NHS Number", "Postcode"]
    return _personal(row[c] for row in rows for c in cols if row.get(c))


def _json_values(records: list[dict]) -> set[str]:
    keys = ["firstName", "lastName", "middleName", "dateOfBirth", "nhsNumber", "upn", "pncNumber", "laChildId",
            "homePostcode"]
    return _personal(r.get(k) for r in records for k in keys)


def _fhir_values(lines: list[str]) -> set[str]:
    out: list[object] = []
    for line in lines:
        res = json.loads(line)
        for name in res.get("name", []):
            out += [name.get("family"), *name.get("given", [])]
        out += [i["value"] for i in res.get("identifier", []) if "nhs-number" in i.get("system", "")]
        out += [a.get("postalCode") for a in res.get("address", [])]
        out.append(res.get("birthDate"))
    return _personal(out)


def _xml_values(text: str) -> set[str]:
    import re

    tags = ["UPN", "Surname", "Forename", "DOB", "MiddleNames", "PostCode"]
    return _personal(m for t in tags for m in re.findall(f"<{t}>([^<]*)</{t}>", text))


def _xlsx_values(data: bytes) -> tuple[set[str], int]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows = list(book["Patients"].iter_rows(min_row=3, values_only=True))
    header, body = list(rows[0]), [r for r in rows[1:] if any(v is not None for v in r)]
    cols = [header.index(c) for c in ("Patient Name", "NHS No", "Post Code")]
    values: list[object] = []
    for r in body:
        values += [r[i] for i in cols]
        name = r[header.index("Patient Name")]
        if name:  # 'SURNAME, Given Middle': each part too
            values += str(name).replace(",", " ").split()
    return _personal(values), len(body)


def build_world(root: Path) -> World:
    """Generate the world once (about 2 s) and pick one export of each format."""
    import pandas as pd

    gen = root / "gen"
    write_exports(gen, N_CHILDREN, SEED)
    write_format_exports(gen, N_CHILDREN, SEED)
    truth = pd.read_parquet(gen / "truth" / "records.parquet")["record_key"].str.rsplit(":", n=1).str[0]
    fmt_truth = pd.read_parquet(gen / "formats" / "truth" / "records.parquet")["record_key"].str.rsplit(":", n=1).str[0]
    counts, fmt_counts = truth.value_counts().to_dict(), fmt_truth.value_counts().to_dict()
    maps = root / "mappings"
    maps.mkdir()
    (root / "cases").mkdir()

    def mapping(name: str, text: str) -> Path:
        (maps / name).write_text(text, encoding="utf-8")
        return maps / name

    csv_data = (gen / "exports/yoi-riverbank/systmone/patients.csv").read_bytes()
    json_data = (gen / "exports/stc-kestrel/case-manager/young_people.json").read_bytes()
    ndjson_data = (gen / "formats/yoi-riverbank/fhir-bulk/Patient.ndjson").read_bytes()
    (xml_file,) = (gen / "formats/sch-oakfield/ctf").glob("*.xml")
    xlsx_data = (gen / "exports/stc-kestrel/carenotes/carenotes_patients.xlsx").read_bytes()
    site_maps = {p.parent.name + "/" + p.stem: p for p, _ in write_site_mappings(gen / "formats", maps / "formats")}
    xlsx_values, xlsx_rows = _xlsx_values(xlsx_data)
    json_records = json.loads(json_data)["data"]["youngPeople"]
    ndjson_lines = ndjson_data.decode("utf-8").splitlines()
    world = World(
        root=root, key=new_key_file(root / "site.key"),
        csv=Base("patients.csv", csv_data, mapping("csv.yaml", CSV_MAPPING), counts["yoi-riverbank:systmone"],
                 frozenset(_csv_values(csv_data.decode("utf-8")))),
        json=Base("young_people.json", json_data, mapping("json.yaml", JSON_MAPPING), counts["stc-kestrel:case-manager"],
                  frozenset(_json_values(json_records))),
        ndjson=Base("Patient.ndjson", ndjson_data, site_maps["yoi-riverbank/fhir-bulk"],
                    fmt_counts["yoi-riverbank:fhir-bulk"], frozenset(_fhir_values(ndjson_lines))),
        xml=Base(xml_file.name, xml_file.read_bytes(), site_maps["sch-oakfield/ctf"], fmt_counts["sch-oakfield:ctf"],
                 frozenset(_xml_values(xml_file.read_text(encoding="utf-8")))),
        xlsx=Base("carenotes_patients.xlsx", xlsx_data, mapping("xlsx.yaml", XLSX_MAPPING),
                  counts["stc-kestrel:carenotes"], frozenset(xlsx_values)),
    )
    # the generator's truth and the files agree (else the ground truth below would be wrong)
    assert world.json.records == len(json_records) and world.ndjson.records == len(ndjson_lines)
    assert world.xlsx.records == xlsx_rows and world.xml.records == world.xml.data.count(b"<Pupil>")
    assert world.csv.records == len(csv_data.decode("utf-8").splitlines()) - 1
    assert all(len(b.values) > 20 for b in (world.csv, world.json, world.ndjson, world.xml, world.xlsx))
    return world


@dataclass
class Outcome:
    exit_code: int
    output: str
    manifest: dict | None


def run_adapt(world: World, base: Base, files: dict[str, bytes], *, records: int | None,
              allowed: Iterable[int] = (0,), pseudonymise: bool = False,
              extra_values: Iterable[str] = (), mapping: Path | None = None,
              args: Iterable[str] = (), expect: Iterable[tuple[str, str]] = ()) -> Outcome:
    """Run `stairs-link adapt` on ``files`` (name -> bytes) and check every invariant.

    ``records``: the data records the files hold by construction (None: not known, e.g.
    a truncated document); ``allowed``: the exit codes this case may end with; ``expect``:
    (local id, given name) pairs a staged person row must hold exactly (plain runs only)."""
    case = world.fresh()
    try:
        export = case / "export"
        export.mkdir()
        for name, data in files.items():
            (export / name).write_bytes(data)
        out = case / "out"
        argv = ["adapt", str(mapping or base.mapping), str(export), "--out", str(out), *args]
        if pseudonymise:
            argv += ["--pseudonymise", "--key-file", str(world.key)]
        result = CliRunner().invoke(cli, argv, catch_exceptions=True)
        text = result.output  # stdout and stderr, interleaved
        where = f"{argv}\n--- output:\n{text[-3000:]}"
        # an unhandled exception: CliRunner catches it (exit 1); the real CLI would print a traceback
        assert result.exception is None or isinstance(result.exception, SystemExit), (repr(result.exception), where)
        assert result.exit_code in (0, 1, 2), where
        assert result.exit_code in set(allowed), where
        assert "Traceback" not in text, where
        if result.exit_code == 2:
            errors = [line for line in text.splitlines() if line.startswith("Error:")]
            assert len(errors) == 1 and "Fix:" in errors[0], where
            # the catch-all for exceptions nobody anticipated is a traceback in one line
            assert "a stairs-link bug" not in errors[0], where
        manifest = None
        if result.exit_code == 0:
            manifest_text = (out / "manifest.json").read_text(encoding="utf-8")
            manifest = json.loads(manifest_text)
            _check_counts(manifest, out, records, where)
            if not pseudonymise:
                _check_values(out, dict(expect), where)
            texts = {"manifest.json": manifest_text, "output": text}
        else:
            texts = {"output": text}
            if (out / "manifest.json").exists():
                texts["manifest.json"] = (out / "manifest.json").read_text(encoding="utf-8")
        personal = set(base.values) | _personal(extra_values)
        for label, body in texts.items():
            leaked = sorted(v for v in personal if v in body)
            assert not leaked, (f"personal values in {label}", leaked[:5], where)
        if out.exists():
            left = [p.name for p in out.rglob("*") if p.suffix in (".partial", ".lock", ".publishing")]
            assert not left, (left, where)
        return Outcome(result.exit_code, text, manifest)
    finally:
        shutil.rmtree(case, ignore_errors=True)


def _check_counts(manifest: dict, out: Path, records: int | None, where: str) -> None:
    sources = manifest["sources"]
    for s in sources:
        assert s["rows_in"] == s["rows_staged"] + s["rows_rejected"] + s.get("rows_skipped", 0), (s, where)
    staged = sum(s["rows_staged"] for s in sources)
    tables = manifest["tables"]
    on_disk = sum(pq.ParquetFile(out / t["file"]).metadata.num_rows for t in tables.values())
    assert on_disk == staged == sum(t["rows"] for t in tables.values()), (on_disk, staged, where)
    if records is not None:
        assert sum(s["rows_in"] for s in sources) == records, (records, sources, where)


def _check_values(out: Path, expect: dict[str, str], where: str) -> None:
    if not expect:
        return
    person = pq.read_table(out / "person.parquet", columns=["local_id", "given_name"]).to_pandas()
    staged: dict[str, set] = {}
    for local, name in zip(person["local_id"], person["given_name"]):
        staged.setdefault(local, set()).add(name)  # a duplicated record may hold another name
    wrong = {k: (v, staged[k]) for k, v in expect.items() if k in staged and v not in staged[k]}
    assert not wrong, (f"staged names differ from what was written: {wrong}", where)


def zip_replace(data: bytes, member: str, change: Callable[[bytes], bytes]) -> bytes:
    """An XLSX (a zip) with one member's bytes changed."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            dst.writestr(info, change(body) if info.filename == member else body)
    return buf.getvalue()
