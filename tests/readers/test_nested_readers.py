"""NDJSON, JSON Bundle and XML readers: streaming, path fields, hostile input, footers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from stairs_link.adapt.run import adapt
from stairs_link.errors import InputFileError, MappingError

NHS = "https://fhir.nhs.uk/Id/nhs-number"


def patient(i: int, **extra: object) -> dict:
    return {"resourceType": "Patient", "id": f"p{i}",
            "identifier": [{"system": "urn:x", "value": f"L{i}"}, {"system": NHS, "value": "9434765919"}],
            "name": [{"use": "usual", "family": f"Fam{i}", "given": ["U"]},
                     {"use": "official", "family": f"Off{i}", "given": ["Ann", "May"]}],
            "birthDate": "2008-01-02", "gender": "female", **extra}


FIELDS = """\
    fields:
      local_id: id
      family_name: "name[use=official|use=usual|0].family"
      given_name: "name[use=official|use=usual|0].given[0]"
      middle_names: "name[use=official|use=usual|0].given[1:]"
      date_of_birth: birthDate
      nhs_number: "identifier[system=https://fhir.nhs.uk/Id/nhs-number].value"
"""


def mapping(tmp_path: Path, source: str, fields: str = FIELDS) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text("site_id: sch-t\nsetting_type: SCH\nsystem_kind: health\nsource_system: fhir\n"
                    f"tables:\n  person:\n    source: {source}\n{fields}", encoding="utf-8")
    return path


def staged(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "person.parquet")


def test_ndjson_streamed_with_blank_and_bad_lines(tmp_path: Path) -> None:
    lines = [json.dumps(patient(i)) for i in range(3)] + ["", "{not json", json.dumps(patient(9))[:-1] + ""]
    (tmp_path / "Patient.ndjson").write_text("\n".join(lines[:3]) + "\n\n" + lines[4] + "\n", encoding="utf-8")
    result = adapt(mapping(tmp_path, "{files: Patient.ndjson}"), [tmp_path / "Patient.ndjson"], tmp_path / "out")
    source = result.manifest["sources"][0]
    assert (source["rows_in"], source["rows_staged"], source["rows_rejected"]) == (4, 3, 1)
    frame = staged(tmp_path / "out")
    assert frame["family_name"].tolist() == ["Off0", "Off1", "Off2"]
    assert frame["middle_names"].tolist() == ["May"] * 3
    rejects = pd.read_parquet(tmp_path / "out" / "rejects.parquet")
    assert rejects["reason"].tolist() == ["bad_json_line"] and rejects["source_row"].tolist() == [4]
    assert len(result.manifest["inputs"][0]["sha256"]) == 64


def test_bundle_entries_filtered_and_objects_rejected(tmp_path: Path) -> None:
    entries = [{"resource": patient(1)}, {"resource": {"resourceType": "OperationOutcome"}},
               {"resource": patient(2, birthDate={"oops": 1})}]
    (tmp_path / "b.json").write_text(json.dumps({"resourceType": "Bundle", "entry": entries}), encoding="utf-8")
    m = mapping(tmp_path, "{files: b.json, records_path: entry.resource, records_where: {resourceType: Patient}}")
    result = adapt(m, [tmp_path / "b.json"], tmp_path / "out")
    source = result.manifest["sources"][0]
    assert (source["rows_in"], source["rows_staged"], source["rows_rejected"], source["rows_skipped"]) == (3, 1, 1, 1)
    rejects = pd.read_parquet(tmp_path / "out" / "rejects.parquet")
    assert rejects["reason"].tolist() == ["not_a_scalar"]
    assert "birthDate" in rejects["message"][0] and "{" not in str(rejects["raw_value"][0])


def test_name_path_that_selects_an_object_is_never_staged_as_json(tmp_path: Path) -> None:
    (tmp_path / "p.ndjson").write_text(json.dumps(patient(1)) + "\n", encoding="utf-8")
    m = mapping(tmp_path, "{files: p.ndjson}", "    fields:\n      local_id: id\n      family_name: name\n")
    result = adapt(m, [tmp_path / "p.ndjson"], tmp_path / "out")
    assert result.manifest["sources"][0]["rows_rejected"] == 1
    assert len(staged(tmp_path / "out")) == 0


def test_path_matching_nothing_is_warned(tmp_path: Path) -> None:
    (tmp_path / "p.ndjson").write_text(json.dumps(patient(1)) + "\n", encoding="utf-8")
    m = mapping(tmp_path, "{files: p.ndjson}", "    fields:\n      local_id: id\n      postcode: adress[0].postalCode\n")
    result = adapt(m, [tmp_path / "p.ndjson"], tmp_path / "out")
    assert any("adress[0].postalCode" in w and "wrong field" in w for w in result.manifest["warnings"])


def test_bad_path_is_a_mapping_problem(tmp_path: Path) -> None:
    (tmp_path / "p.ndjson").write_text(json.dumps(patient(1)) + "\n", encoding="utf-8")
    m = mapping(tmp_path, "{files: p.ndjson}", "    fields:\n      local_id: id\n      family_name: 'name[use=official'\n")
    with pytest.raises(MappingError) as info:
        adapt(m, [tmp_path / "p.ndjson"], tmp_path / "out")
    assert info.value.problems[0].reason == "bad_path"


CTF = """<?xml version="1.0" encoding="UTF-8"?>
<CTfile>
  <Header><SourceSchool><LEA>873</LEA><Estab>4001</Estab></SourceSchool></Header>
  <CTFpupilData>
    <Pupil id="1"><UPN>A123456789012</UPN><Surname>Lee</Surname><Forename>Kim</Forename>
      <DOB>2009-05-01</DOB><BasicDetails><MiddleNames>Jo Ann</MiddleNames></BasicDetails></Pupil>
    <Pupil id="2"><UPN>B123456789012</UPN><Surname>Ray</Surname><Forename>Al</Forename><DOB>2010-01-01</DOB></Pupil>
  </CTFpupilData>
</CTfile>
"""

XML_FIELDS = """\
    fields:
      local_id: {columns: [/CTfile/Header/SourceSchool/LEA, /CTfile/Header/SourceSchool/Estab, "@id"], join: '-'}
      family_name: Surname
      given_name: Forename
      middle_names: BasicDetails/MiddleNames
      date_of_birth: DOB
"""


def test_xml_records_attributes_and_header_values(tmp_path: Path) -> None:
    (tmp_path / "ctf.xml").write_text(CTF, encoding="utf-8")
    m = mapping(tmp_path, "{files: ctf.xml, records_path: CTfile/CTFpupilData/Pupil}", XML_FIELDS)
    adapt(m, [tmp_path / "ctf.xml"], tmp_path / "out")
    frame = staged(tmp_path / "out")
    assert frame["local_id"].tolist() == ["873-4001-1", "873-4001-2"]
    assert frame["middle_names"].tolist() == ["Jo Ann", None]


@pytest.mark.parametrize(("text", "reason"), [
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><CTfile>&b;</CTfile>',
     "unsafe_xml"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><CTfile>&e;</CTfile>',
     "unsafe_xml"),
    ("<CTfile><CTFpupilData><Pupil><Surname>Lee</Surname></Pupil>\n<Pupil><Surname>X</Pupil></CTFpupilData>",
     "bad_xml"),
])
def test_hostile_and_malformed_xml(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / "ctf.xml").write_text(text, encoding="utf-8")
    m = mapping(tmp_path, "{files: ctf.xml, records_path: CTfile/CTFpupilData/Pupil}",
                "    fields:\n      local_id: Surname\n")
    with pytest.raises(InputFileError) as info:
        adapt(m, [tmp_path / "ctf.xml"], tmp_path / "out")
    assert info.value.reason == reason and info.value.file.endswith("ctf.xml")
    if reason == "bad_xml":
        assert info.value.line == 2


def test_deeply_nested_xml_record_is_a_counted_reject(tmp_path: Path) -> None:
    deep = "<a>" * 200 + "x" + "</a>" * 200
    (tmp_path / "d.xml").write_text(f"<R><P><Surname>Lee</Surname>{deep}</P><P><Surname>Ok</Surname></P></R>",
                                    encoding="utf-8")
    m = mapping(tmp_path, "{files: d.xml, records_path: R/P}", "    fields:\n      local_id: Surname\n")
    result = adapt(m, [tmp_path / "d.xml"], tmp_path / "out")
    source = result.manifest["sources"][0]
    assert (source["rows_in"], source["rows_staged"], source["rows_rejected"]) == (2, 1, 1)


def test_deeply_nested_json_does_not_break_the_reader(tmp_path: Path) -> None:
    """5,000 levels of nesting (beyond Python's recursion limit): the record is a counted
    reject (too_deep), the next record is staged, nothing crashes (100,000 levels and memory:
    tests/readers/test_hostile_nested.py)."""
    deep = '{"id": "p1", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    (tmp_path / "p.ndjson").write_text(deep + "\n" + json.dumps(patient(2)) + "\n", encoding="utf-8")
    m = mapping(tmp_path, "{files: p.ndjson}", "    fields:\n      local_id: id\n      given_name: x[0][0]\n")
    result = adapt(m, [tmp_path / "p.ndjson"], tmp_path / "out")
    source = result.manifest["sources"][0]
    assert (source["rows_in"], source["rows_staged"], source["rows_rejected"]) == (2, 1, 1)
    assert pd.read_parquet(tmp_path / "out" / "rejects.parquet")["reason"].tolist() == ["too_deep"]
    (tmp_path / "b.json").write_text('{"entry": [' + deep + "]}", encoding="utf-8")
    m = mapping(tmp_path, "{files: b.json, records_path: entry}", "    fields:\n      local_id: id\n")
    source = adapt(m, [tmp_path / "b.json"], tmp_path / "out2").manifest["sources"][0]
    assert (source["rows_in"], source["rows_staged"], source["rows_rejected"]) == (1, 0, 1)


def test_footer_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    text = "ID\tSurname\tForename\r\n1\tLee\tKim\r\n2\tRay\tAl\r\nTotal rows: 2\r\n\r\n"
    (tmp_path / "pupils.txt").write_bytes(text.encode("utf-16"))
    m = mapping(tmp_path, "{files: pupils.txt, encoding: utf-16, delimiter: '\\t', footer_rows: 1}",
                "    fields:\n      local_id: ID\n      family_name: Surname\n")
    result = adapt(m, [tmp_path / "pupils.txt"], tmp_path / "out")
    source = result.manifest["sources"][0]
    assert (source["rows_in"], source["rows_staged"], source["rows_rejected"], source["rows_skipped"]) == (3, 2, 0, 1)
    assert list(staged(tmp_path / "out").columns[:1]) == ["record_key"]


def test_ndjson_fast_path_equals_per_record_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Arrow fast path and the per-record reader give the same staged rows and rejects; a
    record of another shape late in the file makes the rest go per record, numbering intact."""
    import stairs_link.io.arrow_paths as arrow_paths
    import stairs_link.io.nested as nested  # it imports the arrow_paths functions: patched there

    records = [patient(i, address=[{"use": "home", "postalCode": f"AB{i % 9} 1CD"}]) for i in range(1500)]
    records[7]["name"].append({"use": "official", "family": "Twin", "given": ["X"]})  # several official names
    records[9]["name"][1]["given"] = []  # no given names: null given and middle names
    records[1200]["birthDate"] = {"oops": 1}  # an object where a date belongs (after the sampled records)
    records[1400]["address"] = {"use": "home", "postalCode": "ZZ1 1ZZ"}  # not a list: another shape
    (tmp_path / "Patient.ndjson").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    fields = FIELDS + "      postcode: address[use=home|0].postalCode\n"
    m = mapping(tmp_path, "{files: Patient.ndjson}", fields)
    monkeypatch.setattr(nested, "ARROW_BLOCK_BYTES", 64 << 10)  # several blocks in a small file
    calls = []
    real = arrow_paths.evaluate_arrow
    monkeypatch.setattr(nested, "evaluate_arrow", lambda *a, **k: calls.append(1) or real(*a, **k))
    fast = adapt(m, [tmp_path / "Patient.ndjson"], tmp_path / "fast").manifest
    assert calls  # the fast path ran (then fell back at the block holding record 1200)

    def no_fast_path(*args: object) -> None:
        raise arrow_paths.ShapeError("forced")

    monkeypatch.setattr(nested, "schema_for", no_fast_path)
    slow = adapt(m, [tmp_path / "Patient.ndjson"], tmp_path / "slow").manifest
    assert fast["sources"] == slow["sources"]
    assert fast["sources"][0]["rows_rejected"] == 2
    a, b = staged(tmp_path / "fast"), staged(tmp_path / "slow")
    pd.testing.assert_frame_equal(a.drop(columns=["mapping_id"]), b.drop(columns=["mapping_id"]))
    assert a.loc[a["local_id"] == "p1400", "postcode"].tolist() == ["ZZ1 1ZZ"]
    ra, rb = (pd.read_parquet(tmp_path / d / "rejects.parquet") for d in ("fast", "slow"))
    pd.testing.assert_frame_equal(ra, rb)


def test_a_ragged_last_row_suggests_footer_rows(tmp_path: Path) -> None:
    (tmp_path / "pupils.txt").write_text("ID\tSurname\tForename\n1\tLee\tKim\n2\tRay\tAl\nTotal rows: 2\n",
                                         encoding="utf-8")
    m = mapping(tmp_path, "{files: pupils.txt, delimiter: '\\t'}", "    fields:\n      local_id: ID\n")
    result = adapt(m, [tmp_path / "pupils.txt"], tmp_path / "out")
    assert result.manifest["sources"][0]["rows_rejected"] == 1
    assert any("footer_rows: 1" in w for w in result.manifest["warnings"])


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32"])
def test_wide_encodings_with_a_footer(tmp_path: Path, codec: str) -> None:
    text = "ID\tSurname\r\n1\tLee\r\n2\tRay\r\nTotal rows: 2\r\n"
    (tmp_path / "pupils.txt").write_bytes(text.encode(codec))
    m = mapping(tmp_path, f"{{files: pupils.txt, encoding: {codec}, delimiter: '\\t', footer_rows: 1}}",
                "    fields:\n      local_id: ID\n      family_name: Surname\n")
    result = adapt(m, [tmp_path / "pupils.txt"], tmp_path / "out")
    source = result.manifest["sources"][0]
    assert (source["rows_staged"], source["rows_skipped"], source["rows_rejected"]) == (2, 1, 0)
    assert staged(tmp_path / "out")["family_name"].tolist() == ["Lee", "Ray"]
