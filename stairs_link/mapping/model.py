"""The mapping-file model: plain, typed, serialisable objects; execution lives in ``adapt``.

A :class:`Mapping` is what a mapping YAML file (after templates are merged and the whole file
validated) means: for each canonical table, where its rows come from (:class:`SourceSpec`)
and how each canonical field is filled (:class:`FieldSpec`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from stairs_link.io import format_names, nested_formats
from stairs_link.schema.tables import TABLES, Column

# Canonical columns the adapter fills itself; a mapping may not set them per field.
AUTO_FILLED = frozenset(
    {"record_key", "site_id", "setting_type", "system_kind", "source_system", "source_file", "source_row", "mapping_id"}
)
# Columns only pseudonymisation derives (docs/privacy.md): never read from an export.
DERIVED = frozenset({"year_of_birth", "age_at_admission"})


def _derived(name: str) -> bool:
    return name in DERIVED or name.endswith("_bf")


# Columns filled by the adapter when the mapping leaves them out.
GENERATED_IF_MISSING = frozenset({"episode_id", "extracted_at"})

NAME_FIELDS = ("given_name", "middle_names", "family_name")
NAME_SPLIT_STYLES = ("family_comma_given", "given_family", "family_given")

# canonical column -> stairs_link.standardise function that checks it
IDENTIFIER_FIELDS = {
    "nhs_number": "nhs_number",
    "upn": "upn",
    "pnc_id": "pnc_id",
    "prison_number": "prison_number",
    "postcode": "postcode",
}

UNKNOWN_POLICIES = ("reject", "keep_unknown", "fail")
TWO_DIGIT_YEAR_POLICIES = ("past",)
# Dates exports write for "no date" or "still open" (31/12/9999 is Excel's last day, serial
# 2958465; 01/01/1900 is serial 1 and a common "unknown" placeholder): null, counted.
DEFAULT_OPEN_ENDED = ("9999-12-31", "1900-01-01")
# The earliest plausible date of birth of a child in the secure estate (records kept from
# the 1990s on; a 1980 birth would be a 46-year-old in 2026): earlier ones are rejected.
DEFAULT_EARLIEST = {"date_of_birth": "1980-01-01"}
DUPLICATE_POLICIES = ("reject_later",)
FORMATS = format_names()  # the registered readers (stairs_link.io): csv, xlsx, json, ndjson, xml
NESTED_FORMATS = nested_formats()  # columns are field paths (stairs_link.io.paths)

# The "unknown" code of each code list, used by unknown_codes: keep_unknown. Lists with no
# unknown code (incident_kind, instrument, formulation_type, setting_type, system_kind)
# need `unknown_value:` set explicitly in the mapping, or another policy.
UNKNOWN_CODE = {
    "sex": "unknown",
    "ethnicity": "99",
    "legal_basis": "unknown",
    "discharge_destination": "unknown",
    "child_involvement": "unknown",
    "injury": "unknown",
}


def field_kind(column: Column) -> str:
    """How a canonical column is converted: name, identifier, coded, date, datetime, number, text."""
    if column.name in NAME_FIELDS:
        return "name"
    if column.name in IDENTIFIER_FIELDS:
        return "identifier"
    if column.codes:
        return "coded"
    if pa.types.is_date(column.type):
        return "date"
    if pa.types.is_timestamp(column.type):
        return "datetime"
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return "number"
    return "text"


def mappable_fields(table: str) -> dict[str, Column]:
    """Canonical fields a mapping may fill for ``table`` (event tables add ``local_id``)."""
    fields = {c.name: c for c in TABLES[table] if c.name not in AUTO_FILLED and not _derived(c.name)}
    if "local_id" not in fields:
        fields["local_id"] = Column(
            "local_id", pa.string(), "Local id of the child's person record (builds record_key).", True
        )
    return fields


@dataclass(frozen=True)
class FieldSpec:
    """How one canonical field is filled from the export."""

    name: str
    columns: tuple[str, ...] = ()
    join: str = " "
    value: str | None = None
    split_name: str | None = None
    formats: tuple[str, ...] | None = None
    excel_serial: bool = False
    two_digit_years: str = "past"
    open_ended: tuple[str, ...] = DEFAULT_OPEN_ENDED  # ISO dates read as "no date" (null, counted)
    earliest: str | None = None  # ISO date; earlier values are rejected as implausible_date
    codes: dict[str, str] | None = None
    codes_name: str | None = None  # name of a built-in map, for reports
    unknown_codes: str | None = None
    unknown_value: str | None = None
    ignore_case: bool = True
    decimal: str = "."
    from_table: str | None = None  # a person field read from another table's file(s) (e.g. episode)
    latest_by: str | None = None  # that table's date field: the latest row's value is taken
    line: int | None = None
    origin: str | None = None  # mapping or template file the field is written in

    @property
    def label(self) -> str:
        """The source column(s) for messages and rejects."""
        if self.value is not None:
            return f"(constant {self.name})"
        return "+".join(self.columns)


@dataclass(frozen=True)
class SourceSpec:
    """Which export files feed a table, and how to read them."""

    files: tuple[str, ...]
    format: str | None = None  # None: from the file extension
    encoding: str = "auto"
    delimiter: str | None = None  # None: detected from the header line
    sheet: str | None = None
    header_row: int = 1
    records_path: str | None = None  # json: dotted keys to the record list; xml: element path of a record
    records_where: dict[str, str] | None = None  # json/ndjson/xml: keep records whose path equals the value
    footer_rows: int = 0  # trailing rows that are not data (a 'Total rows: N' line): skipped, counted


@dataclass(frozen=True)
class TableSpec:
    name: str
    source: SourceSpec
    fields: dict[str, FieldSpec]
    duplicates: str = "reject_later"


@dataclass(frozen=True)
class Mapping:
    """A validated mapping for one site system."""

    id: str
    path: Path
    site_id: str
    setting_type: str
    system_kind: str
    source_system: str
    tables: dict[str, TableSpec]
    sha256: str
    extracted_at: str | None = None
    templates: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (name, sha256)
    description: str | None = None

    def columns_used(self, table: str) -> list[str]:
        """Source columns named by the fields of ``table``, in mapping order, no repeats."""
        seen: dict[str, None] = {}
        for spec in self.tables[table].fields.values():
            if spec.from_table is None:
                for column in spec.columns:
                    seen.setdefault(column, None)
        for spec in self.borrowed_fields(table):
            for column in spec.columns:
                seen.setdefault(column, None)
        return list(seen)

    def borrowed_fields(self, table: str) -> list[FieldSpec]:
        """Person fields whose values come from ``table``'s file(s) (``from_table: table``)."""
        person = self.tables.get("person")
        if person is None or table == "person":
            return []
        return [spec for spec in person.fields.values() if spec.from_table == table]
