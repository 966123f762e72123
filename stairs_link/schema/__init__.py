"""Canonical schema v1 (Arrow schemas + code lists): the one source of truth for every table."""

from stairs_link.schema.codes import CODE_LISTS
from stairs_link.schema.io import read_table, replace_staged_tables, to_arrow, write_staged, write_table
from stairs_link.schema.tables import (
    REJECTS,
    SCHEMA_VERSION,
    TABLE_DESCRIPTIONS,
    TABLES,
    Column,
    arrow_schema,
    columns_of,
)

__all__ = [
    "CODE_LISTS",
    "REJECTS",
    "SCHEMA_VERSION",
    "TABLES",
    "TABLE_DESCRIPTIONS",
    "Column",
    "arrow_schema",
    "columns_of",
    "read_table",
    "replace_staged_tables",
    "write_staged",
    "to_arrow",
    "write_table",
]
