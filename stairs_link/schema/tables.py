"""Canonical schema v1: the child-centred tables every adapter writes and every later stage reads.

Defined once, here, as Arrow schemas. ``docs/schema.md`` is generated from this module
(``python -m stairs_link.schema``) and a test fails when the two drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from stairs_link.errors import SchemaError
from stairs_link.schema.codes import CODE_LISTS

SCHEMA_VERSION = "1"
SCHEMA_VERSION_KEY = b"stairs_link.schema_version"
TABLE_NAME_KEY = b"stairs_link.table"


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str
    required: bool = False  # must be non-null in every row
    codes: str | None = None  # name of a code list in CODE_LISTS


def _provenance() -> list[Column]:
    return [
        Column("source_file", pa.string(), "Name of the export file the row came from.", True),
        Column("source_row", pa.int64(), "1-based data row number in that file (header excluded).", True),
        Column("extracted_at", pa.string(),
               "When the export was taken (ISO 8601), from the export or `adapt --extracted-at`; never wall-clock time of the run."),
        Column("mapping_id", pa.string(), "Id of the mapping file that produced the row.", True),
    ]


def _event_keys() -> list[Column]:
    return [
        Column("record_key", pa.string(),
               "Key of the `person` record (same site and source system) this row belongs to.", True),
        Column("site_id", pa.string(), "Site identifier.", True),
        Column("setting_type", pa.string(), "Kind of setting.", True, "setting_type"),
        Column("source_system", pa.string(), "Name of the source system.", True),
    ]


PERSON = [
    Column("record_key", pa.string(),
           "Unique across all sites: `<site_id>:<source_system>:<local_id>`.", True),
    Column("site_id", pa.string(), "Site identifier (e.g. `sch-oakfield`).", True),
    Column("setting_type", pa.string(), "Kind of setting.", True, "setting_type"),
    Column("system_kind", pa.string(), "Kind of source system.", True, "system_kind"),
    Column("source_system", pa.string(), "Name of the source system at the site (e.g. `systmone`).", True),
    Column("local_id", pa.string(), "The record's id in its source system.", True),
    Column("given_name", pa.string(), "Given (first) name as recorded, whitespace tidied."),
    Column("middle_names", pa.string(), "Middle names as recorded, space separated."),
    Column("family_name", pa.string(), "Family name (surname) as recorded, whitespace tidied."),
    Column("date_of_birth", pa.date32(), "Date of birth."),
    Column("sex", pa.string(), "Sex / stated gender.", False, "sex"),
    Column("ethnicity", pa.string(), "NHS ETHNIC CATEGORY code.", False, "ethnicity"),
    Column("postcode", pa.string(), "UK postcode of the home address, normalised `AA9 9AA`."),
    Column("nhs_number", pa.string(), "NHS number, 10 digits, modulus-11 valid (invalid values are rejected to rejects)."),
    Column("upn", pa.string(), "Unique Pupil Number, 13 characters, check letter valid."),
    Column("pnc_id", pa.string(), "Police National Computer id, canonical `YYYY/NNNNNNNC`, check letter valid."),
    Column("prison_number", pa.string(), "NOMIS prison number `A9999AA`."),
    Column("la_child_id", pa.string(), "Local authority child id (social care)."),
    *_provenance(),
    # Pseudonymised mode only (`adapt --pseudonymise`, docs/privacy.md): keyed Bloom-filter
    # encodings replace the plaintext name, date of birth and postcode, which are then null.
    Column("given_name_bf", pa.binary(), "Pseudonymised mode: keyed Bloom filter of the folded given name."),
    Column("family_name_bf", pa.binary(), "Pseudonymised mode: keyed Bloom filter of the folded family name."),
    Column("dob_bf", pa.binary(), "Pseudonymised mode: keyed Bloom filter of the date of birth digits."),
    Column("postcode_bf", pa.binary(), "Pseudonymised mode: keyed Bloom filter of the postcode."),
    Column("year_of_birth", pa.int32(), "Pseudonymised mode: year of birth, kept for analysis."),
]

EPISODE = [
    *_event_keys(),
    Column("episode_id", pa.string(), "Id of the stay in its source system (or generated from the row).", True),
    Column("admission_date", pa.date32(), "Date the child arrived at the setting.", True),
    Column("discharge_date", pa.date32(), "Date the child left (null while still there)."),
    Column("legal_basis", pa.string(), "Legal basis of the stay.", False, "legal_basis"),
    Column("discharge_destination", pa.string(), "Where the child went on leaving.", False, "discharge_destination"),
    *_provenance(),
    Column("age_at_admission", pa.int32(), "Pseudonymised mode: age in whole years at admission (the date of birth itself is not kept)."),
]

FORMULATION = [
    *_event_keys(),
    Column("formulation_date", pa.date32(), "Date of the formulation meeting.", True),
    Column("formulation_type", pa.string(), "Initial, review or transition formulation.", False, "formulation_type"),
    Column("disciplines_present", pa.int32(), "Number of professional disciplines present."),
    Column("child_involvement", pa.string(), "How the child was involved.", False, "child_involvement"),
    *_provenance(),
]

INCIDENT = [
    *_event_keys(),
    Column("incident_at", pa.timestamp("s"), "Date and time of the incident (local time).", True),
    Column("incident_kind", pa.string(), "Kind of incident.", True, "incident_kind"),
    Column("injury", pa.string(), "Injury outcome.", False, "injury"),
    *_provenance(),
]

EDUCATION = [
    *_event_keys(),
    Column("period_start", pa.date32(), "First day of the reporting period.", True),
    Column("period_end", pa.date32(), "Last day of the reporting period.", True),
    Column("hours_offered", pa.float64(), "Hours of education offered in the period."),
    Column("hours_attended", pa.float64(), "Hours of education attended in the period."),
    *_provenance(),
]

MEASURE = [
    *_event_keys(),
    Column("measure_date", pa.date32(), "Date the measure was taken.", True),
    Column("instrument", pa.string(), "Outcome measure instrument.", True, "instrument"),
    Column("score", pa.float64(), "Score on the instrument's scale.", True),
    *_provenance(),
]

TABLE_DESCRIPTIONS = {
    "person": "One row per record of a child in one source system at one site.",
    "episode": "A stay in a setting: admission, discharge, legal basis and destination.",
    "formulation": "A formulation meeting (Framework for Integrated Care).",
    "incident": "An incident: restraint, self-harm, assault, separation, hospital visit.",
    "education": "Education offered and attended over a period.",
    "measure": "An outcome measure score (ORS, CORS, EQ-5D-Y, SDQ).",
}

TABLES: dict[str, list[Column]] = {
    "person": PERSON,
    "episode": EPISODE,
    "formulation": FORMULATION,
    "incident": INCIDENT,
    "education": EDUCATION,
    "measure": MEASURE,
}

REJECTS = [
    Column("source_file", pa.string(), "Export file of the rejected row.", True),
    Column("source_row", pa.int64(), "1-based data row number (0 when the whole file was rejected).", True),
    Column("table", pa.string(), "Canonical table the row was going to.", True),
    Column("column", pa.string(), "Source column at fault (null when the fault is the row itself)."),
    Column("raw_value", pa.string(), "The value as found in the export."),
    Column("reason", pa.string(), "Machine-readable reason, e.g. `unparseable_date`, `invalid_nhs_number`.", True),
    Column("message", pa.string(), "What is wrong and how to fix it.", True),
    Column("row_rejected", pa.bool_(),
           "True when the whole row was rejected; false when only this value was nulled and the row staged.", True),
    Column("mapping_id", pa.string(), "Mapping in force.", True),
]


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a canonical table, with the schema version in its metadata."""
    columns = REJECTS if table == "rejects" else columns_of(table)
    fields = [pa.field(c.name, c.type, nullable=not c.required) for c in columns]
    return pa.schema(fields, metadata={SCHEMA_VERSION_KEY: SCHEMA_VERSION.encode(), TABLE_NAME_KEY: table.encode()})


def columns_of(table: str) -> list[Column]:
    try:
        return TABLES[table]
    except KeyError:
        raise SchemaError(
            f"unknown canonical table '{table}'",
            reason="unknown_table",
            fix=f"use one of: {', '.join(TABLES)}",
        ) from None


def code_list(column: Column) -> dict[str, str] | None:
    return CODE_LISTS[column.codes] if column.codes else None
