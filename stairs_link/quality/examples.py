"""Example rows for failed checks: row numbers always, values masked unless asked for.

Values of coded, numeric and provenance columns are shown as they are (a wrong code is what
the officer must fix, and it identifies nobody); every other value (names, dates, identifiers,
postcodes, local ids) is masked as ``94*******9`` (dates as ``2030-**-**``) unless
``show_values`` is set.

Keyed tokens and Bloom encodings (pseudonymised mode) are never shown, not even with
``show_values``: they mean nothing to a reader and are still pseudonymised personal data. Their
shape is shown instead (``<value withheld: 31 characters>``, ``<encoding withheld: 64 bytes>``),
which is what a failed token or filter-length check needs.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd

from stairs_link.schema.tables import TABLES

PLAIN_COLUMNS = frozenset(
    {"source_file", "source_row", "extracted_at", "mapping_id", "site_id", "setting_type",
     "system_kind", "source_system", "score", "hours_offered", "hours_attended",
     "disciplines_present", "cluster_size", "cluster_id"}
    | {c.name for cols in TABLES.values() for c in cols if c.codes}
)

MAX_EXAMPLES = 5

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def mask(text: str) -> str:
    """Keep the first two and the last character: ``9434765919`` -> ``94*******9``."""
    if len(text) <= 3:
        return "*" * len(text)
    return text[:2] + "*" * (len(text) - 3) + text[-1]


def shape_of(value: Any) -> str:
    """The shape of a value that is never shown (a token or an encoding)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<encoding withheld: {len(bytes(value))} bytes>"
    return f"<value withheld: {len(str(value))} characters>"


def show(value: Any, column: str, *, show_values: bool, withhold: bool = False) -> Any:
    """A JSON-friendly example value, masked unless plain or ``show_values``; only its shape
    when ``withhold`` or when it is a Bloom encoding (bytes, or a ``*_bf`` column)."""
    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return None
    if withhold or column.endswith("_bf") or isinstance(value, (bytes, bytearray, memoryview)):
        return shape_of(value)
    if isinstance(value, pd.Timestamp):
        value = value.date().isoformat() if value == value.normalize() else value.isoformat()
    elif isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat()
    elif hasattr(value, "item"):
        value = value.item()  # numpy scalar -> Python
    if column in PLAIN_COLUMNS or show_values:
        return value
    if _ISO_DATE.match(str(value)):
        return str(value)[:4] + "-**-**"  # the year tells a wrong century or a future date
    return mask(str(value))


def example_rows(
    frame: pd.DataFrame, index: list[int], columns: list[str], *, show_values: bool,
    limit: int = MAX_EXAMPLES, withheld: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Up to ``limit`` rows of ``frame`` at ``index``: source file and row, and the values
    of ``columns`` (masked by default; only the shape of ``withheld`` columns' values)."""
    rows = frame.loc[[i for i in index[:limit] if i in frame.index]]
    several = "_q_source" in frame and frame["_q_source"].nunique() > 1
    out = []
    for _, row in rows.iterrows():  # at most MAX_EXAMPLES rows
        out.append({
            **({"directory": row["_q_source"]} if several else {}),
            "source_file": row.get("source_file"),
            "source_row": None if pd.isna(row.get("source_row")) else int(row.get("source_row")),
            "values": {c: show(row.get(c), c, show_values=show_values, withhold=c in withheld)
                       for c in columns if c in frame},
        })
    return out
