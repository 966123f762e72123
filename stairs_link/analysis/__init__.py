"""Analysis-ready, de-identified tables, their codebook and exports (`stairs-link analysis`).

``write_analysis(DATASET, OUT)`` writes, apart from the identifiable dataset::

    OUT/csv/<table>.csv        children, stays, formulations, incidents, education, measures,
                               transitions (UTF-8 with BOM)
    OUT/parquet/<table>.parquet
    OUT/analysis.duckdb        every table, with column comments
    OUT/stata/<table>.dta      value labels for coded columns
    OUT/spss/<table>.sav       value labels for coded columns
    OUT/codebook.md            generated from stairs_link/analysis/schema.py
    OUT/datapackage.json       the same, as a Frictionless Data Package

See docs/dataset.md (*Analysis tables*).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link.analysis.codebook import codebook_markdown, datapackage
from stairs_link.analysis.derive import analysis_tables
from stairs_link.analysis.export import FORMATS, write_csv, write_duckdb, write_spss, write_stata
from stairs_link.analysis.schema import IDENTIFIABLE, TABLES
from stairs_link.errors import AnalysisError

__all__ = ["FORMATS", "IDENTIFIABLE", "TABLES", "analysis_tables", "write_analysis"]


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    os.replace(tmp, path)


def write_analysis(dataset: str | Path, out_dir: str | Path, formats: tuple[str, ...] = FORMATS) -> dict[str, Any]:
    """Write the analysis tables of DATASET under OUT in ``formats`` (plus Parquet, the codebook and
    datapackage.json, always); returns a summary (rows per table, files)."""
    dataset, out_dir = Path(dataset), Path(out_dir)
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise AnalysisError(f"unknown export format '{bad[0]}'", reason="unknown_format",
                            fix=f"use some of: {', '.join(FORMATS)}")
    if out_dir.resolve() == dataset.resolve() or dataset.resolve() in out_dir.resolve().parents:
        raise AnalysisError("the analysis tables must be written apart from the identifiable dataset",
                            reason="inside_dataset", file=str(out_dir),
                            fix="choose an output directory outside DATASET, e.g. analysis/ beside it")
    tables = analysis_tables(dataset)
    summary = json.loads((dataset / "build.json").read_text(encoding="utf-8")) if (dataset / "build.json").exists() \
        else {}
    as_at = summary.get("data_as_at") or {}
    counts = {name: len(frame) for name, frame in tables.items()}
    files: list[str] = []
    for sub in ("parquet", *(f for f in formats if f != "duckdb")):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        columns = TABLES[name]
        tmp = out_dir / "parquet" / f"{name}.parquet.tmp"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
        os.replace(tmp, out_dir / "parquet" / f"{name}.parquet")
        files.append(f"parquet/{name}.parquet")
        if "csv" in formats:
            write_csv(frame, columns, out_dir / "csv" / f"{name}.csv")
            files.append(f"csv/{name}.csv")
        if "stata" in formats:
            write_stata(frame, columns, out_dir / "stata" / f"{name}.dta")
            files.append(f"stata/{name}.dta")
        if "spss" in formats:
            write_spss(frame, columns, out_dir / "spss" / f"{name}.sav")
            files.append(f"spss/{name}.sav")
    if "duckdb" in formats:
        write_duckdb(tables, out_dir / "analysis.duckdb")
        files.append("analysis.duckdb")
    _write_text(out_dir / "codebook.md", codebook_markdown(as_at, counts))
    _write_text(out_dir / "datapackage.json", json.dumps(datapackage(as_at, counts), indent=2) + "\n")
    files += ["codebook.md", "datapackage.json"]
    return {"rows": counts, "files": files, "data_as_at": as_at.get("as_at")}
