"""The JSON Schema of mapping files, generated from the canonical schema so they never drift.

The shipped copy is ``stairs_link/mapping/mapping.schema.json`` (for editors: put
``# yaml-language-server: $schema=<path>/mapping.schema.json`` on a mapping's first line).
Regenerate it with ``python -m stairs_link.mapping.jsonschema``; a test fails when it drifts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stairs_link.mapping.builtin_maps import BUILTIN_MAPS
from stairs_link.mapping.model import (
    DUPLICATE_POLICIES,
    FORMATS,
    NAME_SPLIT_STYLES,
    TWO_DIGIT_YEAR_POLICIES,
    UNKNOWN_POLICIES,
    mappable_fields,
)
from stairs_link.schema.codes import SETTING_TYPE, SYSTEM_KIND
from stairs_link.schema.tables import TABLES

SCHEMA_PATH = Path(__file__).with_name("mapping.schema.json")

FIELD_OPTIONS: dict[str, Any] = {
    "column": {"type": "string", "description": "Export column that holds this field."},
    "columns": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                "description": "Several export columns joined into this field (see `join`)."},
    "join": {"type": "string", "description": "Separator placed between `columns` (default one space)."},
    "value": {"type": ["string", "number", "boolean"], "description": "A constant for every row."},
    "split_name": {"enum": list(NAME_SPLIT_STYLES),
                   "description": "Take this name part from a full-name column, e.g. 'SMITH, John' is family_comma_given."},
    "formats": {"type": "array", "items": {"type": "string"},
                "description": "Date formats tried in order, e.g. '%d/%m/%Y' (Python strptime codes)."},
    "excel_serial": {"type": "boolean", "description": "Accept Excel serial day numbers (e.g. 39448)."},
    "open_ended": {"type": "array", "items": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                   "description": "Dates (ISO) that mean 'no date / still open' in this export; they become "
                                  "null and are counted (default: 9999-12-31, 1900-01-01; [] for none)."},
    "earliest": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$",
                 "description": "Earliest plausible date (ISO); an earlier one is rejected as implausible_date "
                                "(default for date_of_birth: 1980-01-01)."},
    "two_digit_years": {"enum": list(TWO_DIGIT_YEAR_POLICIES),
                        "description": "past (the only policy): a 2-digit year is put in the century that puts the date on or before the extraction date."},
    "codes": {"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}},
                        {"enum": sorted(BUILTIN_MAPS)}],
              "description": "Value map: export code -> canonical code, or the name of a built-in map."},
    "unknown_codes": {"enum": list(UNKNOWN_POLICIES),
                      "description": "What to do with a code the map does not know: reject the row, keep_unknown (canonical unknown, reported), or fail."},
    "unknown_value": {"type": "string", "description": "Canonical code used by keep_unknown (defaults to the list's unknown code)."},
    "ignore_case": {"type": "boolean", "description": "Match codes case-insensitively (default true)."},
    "decimal": {"enum": [".", ","], "description": "Decimal mark of a number field (',' for '12,5')."},
    "from_table": {"enum": [t for t in TABLES if t != "person"],
                   "description": "Person fields only: read this field's column from that table's file(s) "
                                  "(e.g. SSDA903's HOME_POST on episodes), one value per child by `latest_by`."},
    "latest_by": {"type": "string",
                  "description": "With from_table: the date field of that table; the latest row with a value wins."},
    "description": {"type": "string", "description": "A note for people reading the mapping."},
}


def _field_schema() -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "string", "description": "Shorthand: the export column that holds this field."},
            {"type": "null", "description": "Remove a field inherited from a template."},
            {"type": "object", "properties": FIELD_OPTIONS, "additionalProperties": False},
        ]
    }


def _source_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["files"],
        "additionalProperties": False,
        "properties": {
            "files": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
                      "description": "File name or glob pattern(s) inside the export, e.g. 'patients*.csv'."},
            "format": {"enum": list(FORMATS), "description": "File format (default: from the extension)."},
            "encoding": {"type": "string", "description": "auto (default), utf-8, utf-8-sig, cp1252, ..."},
            "delimiter": {"type": "string", "minLength": 1, "maxLength": 2,
                          "description": "CSV delimiter (default: detected). Use '\\t' for tab."},
            "sheet": {"type": "string", "description": "XLSX sheet name (default: the first sheet)."},
            "header_row": {"type": "integer", "minimum": 1, "description": "Row number of the header (default 1)."},
            "records_path": {"type": "string",
                             "description": "JSON: dotted path to the list of records, e.g. 'data.children' or "
                                            "'entry' (a FHIR Bundle); XML: element path of one record, e.g. "
                                            "'CTfile/CTFpupilData/Pupil'."},
            "records_where": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]},
                              "description": "JSON/NDJSON/XML: keep only records whose field path equals the value, "
                                             "e.g. {'resource.resourceType': Patient}; the others are counted as skipped."},
            "footer_rows": {"type": "integer", "minimum": 0,
                            "description": "Trailing rows that are not data (e.g. 'Total rows: 131'): skipped and "
                                           "counted as skipped in the manifest, not rejected (default 0)."},
        },
    }


def build_json_schema() -> dict[str, Any]:
    """The JSON Schema for mapping files (template files use the same schema)."""
    tables = {}
    for table in TABLES:
        tables[table] = {
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {
                "source": {"$ref": "#/definitions/source"},
                "duplicates": {"enum": list(DUPLICATE_POLICIES),
                               "description": "Rows whose local id was already seen are rejected (duplicate_local_id)."},
                "fields": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        # allOf + description: draft-07 ignores keywords beside a bare $ref,
                        # and editors show this description on hover
                        name: {"allOf": [{"$ref": "#/definitions/field"}], "description": column.description}
                        for name, column in mappable_fields(table).items()
                    },
                },
            },
        }
    return {
        # draft-07: the version editors' YAML/JSON language servers support most widely
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://stairs-link.example/mapping.schema.json",
        "title": "stairs-link mapping file",
        "description": "Maps one site system's export onto the canonical schema. See docs/mapping-format.md.",
        "type": "object",
        "definitions": {"field": _field_schema(), "source": _source_schema()},
        "additionalProperties": False,
        "properties": {
            "mapping_version": {"const": 1, "description": "Version of the mapping format (1)."},
            "id": {"type": "string", "description": "Mapping id (default '<site_id>/<source_system>')."},
            "extends": {"type": "string", "description": "Template in mappings/_templates/ to start from."},
            "description": {"type": "string"},
            "site_id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
            "setting_type": {"enum": list(SETTING_TYPE)},
            "system_kind": {"enum": list(SYSTEM_KIND)},
            "source_system": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"},
            "extracted_at": {"type": "string", "description": "When the export was taken (ISO 8601)."},
            "tables": {"type": "object", "additionalProperties": False, "properties": tables},
        },
    }


def write_json_schema(path: Path = SCHEMA_PATH) -> Path:
    path.write_text(json.dumps(build_json_schema(), indent=2) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write_json_schema()}")
