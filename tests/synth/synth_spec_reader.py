"""Test helper: read a synthetic export using only its systems.json description.

Deliberately independent of the generator's code, so a test that reads the files back this
way checks that systems.json is a precise description of what was written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def load_systems(root: Path) -> list[dict]:
    return json.loads((root / "systems.json").read_text(encoding="utf-8"))["systems"]


def read_raw(root: Path, system: dict, spec: dict) -> pd.DataFrame:
    """The file (or sheet / JSON list) as text-ish values, header applied, nothing parsed."""
    path = root / system["directory"] / spec["name"]
    if spec["format"] == "csv":
        return pd.read_csv(path, sep=spec["delimiter"], encoding=spec["encoding"], dtype=str,
                           keep_default_na=False, na_values=[""])
    if spec["format"] == "xlsx":
        return pd.read_excel(path, sheet_name=spec["sheet"], header=spec.get("header_row", 1) - 1, dtype=object)
    doc = json.loads(path.read_text(encoding=spec["encoding"]))
    for part in spec["json_path"].split("."):
        doc = doc[part]
    return pd.DataFrame(doc)


def parse_column(values: pd.Series, col: dict, spec: dict) -> pd.Series:
    """Apply a column's documented date format or code set (raw -> canonical)."""
    fmt = col.get("date_format")
    if fmt == "excel_serial":
        num = pd.to_numeric(values, errors="coerce")
        return (pd.Timestamp("1899-12-30") + pd.to_timedelta(num, unit="D")).dt.normalize()
    if fmt == "excel_date":
        return pd.to_datetime(values, errors="coerce")
    if fmt:
        return pd.to_datetime(values, format=fmt, errors="coerce")
    if col.get("codes"):
        return values.map(col["codes"])
    if spec.get("decimal", ".") != "." and col.get("canonical", "").startswith("hours"):
        return pd.to_numeric(values.str.replace(spec["decimal"], ".", regex=False))
    return values
