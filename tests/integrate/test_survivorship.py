"""Survivorship rules, one at a time, on hand-made person rows."""

from __future__ import annotations

import pandas as pd

from stairs_link.integrate import FIELD_TRUST, resolve_demographics
from stairs_link.integrate.survivorship import FIELDS


def _person(rows):
    frame = pd.DataFrame(rows)
    for name in FIELDS:
        if name not in frame:
            frame[name] = None
    return frame


def test_majority_beats_trust():
    person = _person([
        {"child_id": "c", "system_kind": "health", "extracted_at": "2024", "upn": "A"},
        {"child_id": "c", "system_kind": "operations", "extracted_at": "2024", "upn": "B"},
        {"child_id": "c", "system_kind": "operations", "extracted_at": "2024", "upn": "B"},
    ])
    assert resolve_demographics(person).loc[0, "upn"] == "B"


def test_tie_goes_to_most_trusted_kind_per_field():
    assert FIELD_TRUST["upn"][0] == "education" and FIELD_TRUST["pnc_id"][0] == "operations"
    person = _person([
        {"child_id": "c", "system_kind": "health", "extracted_at": "2024", "upn": "H", "pnc_id": "H"},
        {"child_id": "c", "system_kind": "education", "extracted_at": "2024", "upn": "E", "pnc_id": "E"},
        {"child_id": "c", "system_kind": "operations", "extracted_at": "2024", "upn": "O", "pnc_id": "O"},
    ])
    out = resolve_demographics(person).iloc[0]
    assert out["upn"] == "E" and out["pnc_id"] == "O" and out["upn_n_values"] == 3


def test_then_latest_extract_then_smallest_value():
    person = _person([
        {"child_id": "c", "system_kind": "health", "extracted_at": "2024-01-01", "postcode": "AA1 1AA"},
        {"child_id": "c", "system_kind": "health", "extracted_at": "2025-01-01", "postcode": "BB1 1BB"},
        {"child_id": "d", "system_kind": "health", "extracted_at": None, "postcode": "ZZ1 1ZZ"},
        {"child_id": "d", "system_kind": "health", "extracted_at": None, "postcode": "CC1 1CC"},
    ])
    out = resolve_demographics(person).set_index("child_id")["postcode"]
    assert out["c"] == "BB1 1BB" and out["d"] == "CC1 1CC"
    # input order never changes the answer
    again = resolve_demographics(person.iloc[::-1].reset_index(drop=True)).set_index("child_id")["postcode"]
    assert again.equals(out)


def test_not_known_codes_only_when_nothing_else():
    person = _person([
        {"child_id": "c", "system_kind": "health", "extracted_at": "2024", "ethnicity": "Z", "sex": "unknown"},
        {"child_id": "c", "system_kind": "health", "extracted_at": "2024", "ethnicity": "Z", "sex": "unknown"},
        {"child_id": "c", "system_kind": "operations", "extracted_at": "2024", "ethnicity": "N", "sex": None},
        {"child_id": "d", "system_kind": "health", "extracted_at": "2024", "ethnicity": "99", "sex": "unknown"},
    ])
    out = resolve_demographics(person).set_index("child_id")
    assert out.loc["c", "ethnicity"] == "N" and out.loc["c", "sex"] == "unknown"
    assert out.loc["d", "ethnicity"] == "99" and out.loc["d", "ethnicity_n_values"] == 0
