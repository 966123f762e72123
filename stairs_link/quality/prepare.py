"""Load a staged directory for checking: structure checks on the Parquet schema, then the
derived ``_q_*`` columns the expectation suites validate (see :mod:`.suites` for the list).

Structure (schema version, column types, optional columns absent) is checked here on the
Arrow schema rather than in GX: Arrow types are exact, whereas GX's pandas type checks see
only numpy dtypes. The outcomes use the same :class:`Outcome` format as GX results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link import standardise
from stairs_link.errors import QualityError
from stairs_link.quality.results import CRITICAL, WARNING, Outcome
from stairs_link.schema import read_table, to_arrow
from stairs_link.schema.codes import INSTRUMENT_RANGE
from stairs_link.schema.tables import SCHEMA_VERSION, SCHEMA_VERSION_KEY, TABLES, arrow_schema

# identifier column -> its validator (check-digit rules and sources in stairs_link.standardise)
_IDENTIFIER_CHECKS = {"nhs_number": standardise.nhs_number, "upn": standardise.upn,
                      "pnc_id": standardise.pnc_id}
IDENTIFIER_COLUMNS = tuple(_IDENTIFIER_CHECKS)


@dataclass
class StagedTable:
    """One canonical table of a staged directory: as read, and with derived columns for GX."""

    name: str
    path: Path
    frame: pd.DataFrame  # canonical columns, as read (dates as datetime.date objects)
    prepared: pd.DataFrame | None = None  # dates as datetime64 + the derived _q_ columns


@dataclass
class Staged:
    """A staged directory: its tables and the structure outcomes found while reading them."""

    directory: Path
    tables: dict[str, StagedTable]
    structure: list[Outcome] = field(default_factory=list)

    @property
    def site_ids(self) -> list[str]:
        return sorted(self.tables["person"].frame["site_id"].dropna().unique().tolist())


def is_staged_dir(directory: Path) -> bool:
    """A staged directory holds person.parquet or a manifest from `stairs-link adapt`."""
    return (directory / "person.parquet").exists() or (directory / "manifest.json").exists()


def load_staged(directory: str | Path) -> Staged:
    """Read every canonical table present in ``directory`` (person is required).

    Raises SchemaError (via ``read_table``) for a missing person table, a corrupt Parquet file
    or a table written with another schema version, each naming the file and the fix.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise QualityError(
            "staged directory not found", reason="missing_directory", file=str(directory),
            fix="pass the --out directory of `stairs-link adapt`",
        )
    tables: dict[str, StagedTable] = {}
    structure: list[Outcome] = []
    for table in TABLES:
        path = directory / f"{table}.parquet"
        if table != "person" and not path.exists():
            continue  # a mapping fills only the tables its system holds
        data = read_table(path, table, as_pandas=False)  # raises the clear errors
        structure.extend(_structure(directory, table, data))
        tables[table] = StagedTable(table, path, _conform(table, data))
    structure.extend(_rejects(directory))
    return Staged(directory, tables, structure)


def _conform(table: str, data: pa.Table) -> pd.DataFrame:
    """Canonical columns in canonical types (absent optional columns become nulls; they are
    reported by the structure checks first, so nothing is nulled silently)."""
    return to_arrow(table, data).to_pandas()


def _structure(directory: Path, table: str, data: pa.Table) -> list[Outcome]:
    """Schema version recorded, canonical column types, optional columns present."""
    source = str(directory)
    version = (data.schema.metadata or {}).get(SCHEMA_VERSION_KEY)
    expected = arrow_schema(table)
    wrong = [
        f"{f.name} ({data.schema.field(f.name).type}, expected {f.type})"
        for f in expected
        if f.name in data.column_names and not _same_type(data.schema.field(f.name).type, f.type)
    ]
    absent = [f.name for f in expected if f.name not in data.column_names]
    common = dict(scope="structure", source=source, table=table, element_count=data.num_rows)
    return [
        Outcome(
            check_id=f"{table}.has_rows", expectation_type="stairs_link.has_rows", columns=[],
            severity=WARNING, success=data.num_rows > 0, title="the table has at least one row",
            observed_value=data.num_rows,
            why="An empty table usually means the export was empty or the mapping's file "
                "pattern matched no file.",
            fix="Check the export holds data and the mapping's file names/globs match it.",
            **common,
        ),
        Outcome(
            check_id=f"{table}.schema_version", expectation_type="stairs_link.schema_version",
            columns=[], severity=WARNING, success=version is not None,
            title="the file records its canonical schema version",
            observed_value=None if version is None else version.decode(),
            why=f"stairs-link reads schema version {SCHEMA_VERSION}; a file without a version "
                "cannot be told apart from one written for another version.",
            fix="write staged tables with `stairs-link adapt` (or stairs_link.schema.write_table).",
            **common,
        ),
        Outcome(
            check_id=f"{table}.column_types", expectation_type="stairs_link.column_types",
            columns=[w.split(" ")[0] for w in wrong], severity=CRITICAL, success=not wrong,
            title="every column has its canonical type", observed_value=wrong or None,
            unexpected_count=len(wrong),
            why="Other stages rely on the canonical types (dates as dates, numbers as numbers).",
            fix="write staged tables with `stairs-link adapt` (or stairs_link.schema.write_table).",
            **common,
        ),
        Outcome(
            check_id=f"{table}.optional_columns_present", expectation_type="stairs_link.columns_present",
            columns=absent, severity=WARNING, success=not absent,
            title="every canonical column is present (optional ones may be empty)",
            observed_value=absent or None, unexpected_count=len(absent),
            why="Absent optional columns are treated as empty by the checks.",
            fix="write staged tables with `stairs-link adapt`, which writes every canonical column.",
            **common,
        ),
    ]


def _same_type(found: pa.DataType, expected: pa.DataType) -> bool:
    """Equal types; timestamps may differ in unit, because Parquet cannot store seconds and
    hands ``timestamp[s]`` back as ``timestamp[ms]``."""
    if pa.types.is_timestamp(found) and pa.types.is_timestamp(expected):
        return found.tz == expected.tz
    return found == expected


def read_parquet(path: Path, needed: tuple[str, ...], *, fix: str) -> pd.DataFrame:
    """A non-canonical Parquet table (rejects, clusters) with the columns we need, or a
    QualityError naming the file, the missing column and the fix."""
    try:
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise QualityError(f"not a readable Parquet file ({exc})", reason="corrupt_parquet",
                           file=str(path), fix=fix) from None
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise QualityError(f"table lacks column(s) {', '.join(missing)}", reason="missing_column",
                           file=str(path), column=missing[0], fix=fix)
    return frame


def _rejects(directory: Path) -> list[Outcome]:
    """Report rows the adapter rejected: they are missing from the staged tables."""
    path = directory / "rejects.parquet"
    if not path.exists():
        return []
    rejects = read_parquet(path, ("source_file", "source_row", "reason"),
                           fix="re-create it with `stairs-link adapt`; do not edit Parquet files by hand")
    if "row_rejected" in rejects:
        whole = rejects["row_rejected"].fillna(False).astype(bool)
    else:
        whole = pd.Series(True, index=rejects.index)
    counts = rejects.groupby("reason").size().sort_values(ascending=False)
    examples = [  # the raw value is personal data: only where, which column and why
        {"source_file": r.source_file, "source_row": int(r.source_row),
         "values": {"column": getattr(r, "column", None), "reason": r.reason}}
        for r in rejects.head(5).itertuples(index=False)
    ]
    columns = rejects["column"].dropna().unique().tolist() if "column" in rejects else []
    return [Outcome(
        check_id="rejects.none", scope="structure", source=str(directory), table="rejects",
        expectation_type="stairs_link.rejects", columns=sorted(columns),
        severity=WARNING, success=rejects.empty, title="no rows or values rejected by adapt",
        element_count=_rows_read(directory), unexpected_count=len(rejects),
        observed_value={"rows_rejected": int(whole.sum()), "values_nulled": int((~whole).sum())},
        unexpected_values=[{"value": str(k), "count": int(v)} for k, v in counts.items()],
        examples=examples,
        why="Rejected rows are not in the staged tables; rejected values were left empty.",
        fix="Open rejects.parquet (or the adapt report) and fix each listed row in the source "
            "system or the mapping file (date formats, code maps).",
    )]


def _rows_read(directory: Path) -> int | None:
    """Rows read from the exports, from adapt's manifest.json (None when there is none)."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        return int(sum(source["rows_in"] for source in manifest["sources"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # only used for the "N of M rows" wording in the report


# --------------------------------------------------------------------------- derived columns


def extraction_dates(extracted_at: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(date of extraction as datetime64, parse ok as True/False/None) from ISO 8601 text.

    The date is the calendar date written in the string (its first 10 characters), i.e. the
    local date at the site, whatever time zone the time part carries.
    """
    text = extracted_at.astype("string")
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    date = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    ok = _tri_state(parsed.notna().to_numpy() & date.notna().to_numpy(), text.isna().to_numpy())
    return date.where(parsed.notna()), ok


def completed_years(born: pd.Series, reference: pd.Series) -> pd.Series:
    """Age in completed years at ``reference`` (both datetime64); NaN where either is missing."""
    years = reference.dt.year - born.dt.year
    before_birthday = (reference.dt.month < born.dt.month) | (
        (reference.dt.month == born.dt.month) & (reference.dt.day < born.dt.day)
    )
    return (years - before_birthday.astype(float)).astype(float)


def _tri_state(ok: np.ndarray, missing: np.ndarray) -> pd.Series:
    """True/False where a value was checked, None where there was nothing to check.

    Object dtype on purpose: GX treats None as missing and skips it, while a nullable boolean
    dtype is not handled consistently by its pandas metrics."""
    out = np.where(ok, True, False).astype(object)
    out[missing] = None
    return pd.Series(out)


def identifier_ok(column: str, values: pd.Series) -> pd.Series:
    """True where the identifier is canonical and its check digit is right, False otherwise,
    None where the value is null (standardisers from ``stairs_link.standardise``)."""
    raw = values.astype("string").reset_index(drop=True)
    result = _IDENTIFIER_CHECKS[column](raw)
    value = result.value.astype("string").reset_index(drop=True)
    canonical = (value == raw).fillna(False).to_numpy(bool)
    valid = ~result.invalid.reset_index(drop=True).fillna(False).to_numpy(bool)
    return _tri_state(canonical & valid, raw.isna().to_numpy())


def prepare(staged: Staged) -> None:
    """Add the derived ``_q_`` columns and datetime64 dates to every table (in place)."""
    person = staged.tables["person"]
    first_admission = None
    if "episode" in staged.tables:
        episode = staged.tables["episode"].frame
        first_admission = (
            pd.to_datetime(episode["admission_date"]).groupby(episode["record_key"]).min()
        )
    for name, table in staged.tables.items():
        frame = table.frame.reset_index(drop=True)
        out = frame.copy()
        for col in TABLES[name]:
            if pa.types.is_date(col.type) or pa.types.is_timestamp(col.type):
                out[col.name] = pd.to_datetime(frame[col.name])
        out["_q_extracted_date"], out["_q_extracted_at_ok"] = extraction_dates(frame["extracted_at"])
        if name == "person":
            for ident in IDENTIFIER_COLUMNS:
                out[f"_q_{ident}_ok"] = identifier_ok(ident, frame[ident])
            admitted = (
                out["record_key"].map(first_admission) if first_admission is not None
                else pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
            )
            admitted = pd.to_datetime(admitted)
            out["_q_age_at_admission"] = completed_years(out["date_of_birth"], admitted)
            at_extraction = completed_years(out["date_of_birth"], out["_q_extracted_date"])
            out["_q_age_at_extraction"] = at_extraction.where(admitted.isna())
        else:
            known = frame["record_key"].isin(person.frame["record_key"]).to_numpy()
            out["_q_person_known"] = _tri_state(known, frame["record_key"].isna().to_numpy())
        if name == "incident":
            out["_q_incident_date"] = out["incident_at"].dt.normalize()
        if name == "measure":
            low = frame["instrument"].map({k: v[0] for k, v in INSTRUMENT_RANGE.items()})
            high = frame["instrument"].map({k: v[1] for k, v in INSTRUMENT_RANGE.items()})
            score = frame["score"].astype(float)
            in_range = ((score >= low) & (score <= high)).to_numpy()
            out["_q_score_in_range"] = _tri_state(in_range, (low.isna() | score.isna()).to_numpy())
        table.frame = frame
        table.prepared = out
