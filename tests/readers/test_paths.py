"""Field paths into nested records: index, filter, fallback, slice, FHIRPath forms, errors."""

from __future__ import annotations

import pytest

from stairs_link.io.paths import NOT_A_SCALAR, SEVERAL_VALUES, PathSyntaxError, evaluate, parse_path

NHS = "https://fhir.nhs.uk/Id/nhs-number"
ETHNIC = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [{"system": "urn:local", "value": "L1"}, {"system": NHS, "value": "9434765919"}],
    "name": [{"use": "usual", "family": "Smith", "given": ["Jo"]},
             {"use": "official", "family": "SMITH", "given": ["Joanne", "Mary", "Kate"]}],
    "address": [{"postalCode": "AB1 2CD"}],
    "extension": [{"url": ETHNIC, "valueCodeableConcept": {"coding": [{"code": "A"}]}}],
    "multipleBirthInteger": 2,
    "active": True,
}


@pytest.mark.parametrize(("path", "expected"), [
    ("id", "p1"),
    ("name[0].family", "Smith"),
    ("name[-1].family", "SMITH"),
    ("name[5].family", None),
    (f"identifier[system={NHS}].value", "9434765919"),
    (f"identifier[system='{NHS}'].value", "9434765919"),
    ("name[use=official].given[0]", "Joanne"),
    ("name[use=official].given[1:]", "Mary Kate"),
    ("name[use=maiden|use=usual|0].family", "Smith"),
    ("name[use=maiden|use=nickname|0].family", "Smith"),
    ("name[use=official|use=usual|0].family", "SMITH"),
    (f"extension[url={ETHNIC}].valueCodeableConcept.coding[0].code", "A"),
    ("address.postalCode", "AB1 2CD"),
    ("name.where(use='usual').given.first()", "Jo"),
    ("missing.anything", None),
    ("multipleBirthInteger", "2"),
    ("active", "true"),
])
def test_path_forms(path: str, expected: str | None) -> None:
    assert evaluate(path, PATIENT) == (expected, None)


@pytest.mark.parametrize(("path", "problem"), [
    ("name", NOT_A_SCALAR),
    ("name[0]", NOT_A_SCALAR),
    ("identifier", NOT_A_SCALAR),
    ("name.family", SEVERAL_VALUES),
    ("name[1].given", SEVERAL_VALUES),
])
def test_objects_and_lists_where_a_value_belongs(path: str, problem: str) -> None:
    assert evaluate(path, PATIENT) == (None, problem)


def test_xml_shaped_records() -> None:
    pupil = {"@id": "7", "UPN": "A123", "BasicDetails": {"MiddleNames": "Lee"},
             "Contact": [{"@type": "parent", "#text": "x"}, {"Name": {"@lang": "en", "#text": "Kim"}}]}
    assert evaluate("@id", pupil) == ("7", None)
    assert evaluate("BasicDetails/MiddleNames", pupil) == ("Lee", None)
    assert evaluate("Contact[1].Name", pupil) == ("Kim", None)
    assert evaluate("Contact[@type=parent]", pupil) == ("x", None)
    assert parse_path("/CTfile/Header/LEA").absolute


@pytest.mark.parametrize("bad", ["name[", "name]", "[0]", "a..b", "a.", "name[x]", "name[=x]", "", "a//b"])
def test_bad_paths_say_what_is_wrong(bad: str) -> None:
    with pytest.raises(PathSyntaxError):
        parse_path(bad)


def test_join_separator() -> None:
    assert evaluate("name[use=official].given[:]", PATIENT, join="-") == ("Joanne-Mary-Kate", None)
