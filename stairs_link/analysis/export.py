"""Writing the analysis tables: CSV (UTF-8 with BOM), DuckDB, Stata .dta and SPSS .sav.

Stata and SPSS files come from pyreadstat (it reads and writes both, with variable labels and
value labels); a coded column becomes 1, 2, 3 ... in its code list's order with the code as
label, so it is a labelled categorical variable in Stata, SPSS and R (haven). DuckDB gets one
table per analysis table with the codebook's descriptions as column comments.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from stairs_link.analysis.schema import CODE_LISTS, TABLES, Col

FORMATS = ("csv", "duckdb", "stata", "spss")


def _csv_frame(frame: pd.DataFrame, columns: list[Col]) -> pd.DataFrame:
    out = frame.copy()
    for c in columns:
        if c.type == "boolean":
            out[c.name] = out[c.name].map({True: "true", False: "false"})
    return out


def write_csv(frame: pd.DataFrame, columns: list[Col], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    _csv_frame(frame, columns).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    os.replace(tmp, path)


def labelled(frame: pd.DataFrame, columns: list[Col]
             ) -> tuple[pd.DataFrame, dict[str, dict[int | float, str]], list[str | None]]:
    """(frame with coded and boolean columns as numbers, value labels, variable labels) for Stata/SPSS."""
    out = pd.DataFrame(index=frame.index)
    value_labels: dict[str, dict[int | float, str]] = {}
    for c in columns:
        values = frame[c.name]
        if c.codes:
            codes = list(CODE_LISTS[c.codes])
            number = {code: i for i, code in enumerate(codes, start=1)}
            out[c.name] = values.map(number).astype("float64")
            value_labels[c.name] = {float(i): code for code, i in number.items()}
        elif c.type == "boolean":
            out[c.name] = values.map({True: 1.0, False: 0.0}).astype("float64")
            value_labels[c.name] = {0.0: "false", 1.0: "true"}
        elif c.type in ("integer", "number"):
            out[c.name] = pd.to_numeric(values).astype("float64")
        else:
            out[c.name] = values.astype(object).where(values.notna(), "").astype(str)
    labels: list[str | None] = [c.description[:80] for c in columns]
    return out, value_labels, labels


def write_stata(frame: pd.DataFrame, columns: list[Col], path: Path) -> None:
    import pyreadstat

    data, value_labels, labels = labelled(frame, columns)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    pyreadstat.write_dta(data, str(tmp), column_labels=labels, variable_value_labels=value_labels, version=15)
    os.replace(tmp, path)


def write_spss(frame: pd.DataFrame, columns: list[Col], path: Path) -> None:
    import pyreadstat

    data, value_labels, labels = labelled(frame, columns)
    measure = {c.name: ("nominal" if (c.codes or c.type in ("boolean", "string", "yearmonth")) else "scale")
               for c in columns}
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    pyreadstat.write_sav(data, str(tmp), column_labels=labels, variable_value_labels=value_labels,
                         variable_measure=measure)
    os.replace(tmp, path)


_DUCK_TYPES = {"string": "VARCHAR", "yearmonth": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE",
               "boolean": "BOOLEAN"}


def write_duckdb(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """One DuckDB file holding every table, typed as the schema says, with column comments."""
    import duckdb

    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    con = duckdb.connect(str(tmp))
    try:
        for name, frame in tables.items():
            columns = TABLES[name]
            typed = ", ".join(f'CAST("{c.name}" AS {_DUCK_TYPES[c.type]}) AS "{c.name}"' for c in columns)
            con.register("incoming", frame.replace({np.nan: None}))
            con.execute(f'CREATE TABLE "{name}" AS SELECT {typed} FROM incoming')
            con.unregister("incoming")
            for c in columns:
                text = f"{c.description} ({c.unit})" if c.unit else c.description
                con.execute(f"COMMENT ON COLUMN \"{name}\".\"{c.name}\" IS '{text.replace(chr(39), chr(39) * 2)}'")
    finally:
        con.close()
    os.replace(tmp, path)
