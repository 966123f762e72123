"""Load a staged directory for checking: structure checks on the Parquet schema, then the
derived ``_q_*`` columns the expectation suites validate (see :mod:`.suites` for the list).

Structure (schema version, column types, optional columns absent) is checked here on the
Arrow schema rather than in GX: Arrow types are exact, whereas GX's pandas type checks see
only numpy dtypes. The outcomes use the same :class:`Outcome` format as GX results.

Pseudonymised directories (``adapt --pseudonymise``) are recognised from the
``"pseudonymisation"`` entry of their manifest, or, without one, from Bloom encodings present
with the plaintext names, date of birth and postcode all null; they are checked with the
``pseudonymised`` suite variant, whose token and filter-length columns use the manifest's own
parameters.
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
from stairs_link.errors import PrivacyError, QualityError, StairsLinkError
from stairs_link.privacy.pseudonymise import BLOOM_COLUMNS, PrivacyParams
from stairs_link.quality.results import CRITICAL, WARNING, Outcome
from stairs_link.quality.suites import PLAIN, PSEUDONYMISED, TOKEN_CHECKS
from stairs_link.schema import read_table, to_arrow
from stairs_link.schema.codes import INSTRUMENT_RANGE
from stairs_link.schema.tables import SCHEMA_VERSION, SCHEMA_VERSION_KEY, TABLES, arrow_schema
from stairs_link.standardise.dates import as_seconds

# identifier column -> its validator (check-digit rules and sources in stairs_link.standardise)
_IDENTIFIER_CHECKS = {"nhs_number": standardise.nhs_number, "upn": standardise.upn,
                      "pnc_id": standardise.pnc_id}
IDENTIFIER_COLUMNS = tuple(_IDENTIFIER_CHECKS)


@dataclass(frozen=True)
class Pseudonymisation:
    """What the checks need to know about a pseudonymised directory (nothing secret)."""

    token_length: int  # hex characters per token
    filter_bytes: dict[str, int]  # Bloom-encoding column -> bytes per encoding
    key_id: str | None = None
    from_manifest: bool = True  # False: recognised from the columns, default parameters assumed


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
    pseudonymisation: Pseudonymisation | None = None  # None: plain staged data
    manifest: dict | None = None  # adapt's manifest.json (None: not written by adapt, or unreadable)

    @property
    def variant(self) -> str:
        """The suite variant this directory is checked with."""
        return PLAIN if self.pseudonymisation is None else PSEUDONYMISED

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
    pseudonymisation = detect_pseudonymisation(directory, tables["person"].frame)
    if pseudonymisation is not None:
        structure.append(_pseudonymisation_outcome(directory, pseudonymisation))
    return Staged(directory, tables, structure, pseudonymisation, _manifest(directory))


# --------------------------------------------------------------------------- pseudonymised mode


def _manifest(directory: Path) -> dict | None:
    """adapt's manifest.json, or None when there is none or it cannot be read (the mode is
    then told from the columns; ``_rows_read`` tolerates it the same way)."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def detect_pseudonymisation(directory: Path, person: pd.DataFrame) -> Pseudonymisation | None:
    """The directory's pseudonymisation parameters, or None for plain staged data.

    From the manifest's ``"pseudonymisation"`` entry (a malformed entry is a QualityError
    naming manifest.json); without one, a person table with Bloom encodings filled and the
    names, date of birth and postcode all null is pseudonymised too, with the default
    parameters (reported by the ``pseudonymisation.manifest`` warning)."""

    entry = (_manifest(directory) or {}).get("pseudonymisation")
    if entry is not None:
        try:
            params = PrivacyParams.from_dict(entry.get("params", {}))
            columns = entry.get("bloom_columns") or {c: {"space": s} for c, (_, s) in BLOOM_COLUMNS.items()}
            filter_bytes = {str(c): params.bloom_for(spec["space"]).nbytes for c, spec in columns.items()}
            if params.token_length <= 0:
                raise ValueError("token length must be positive")
        except (AttributeError, KeyError, TypeError, ValueError, PrivacyError) as exc:
            detail = exc.message if isinstance(exc, StairsLinkError) else str(exc)
            raise QualityError(
                f"the manifest's 'pseudonymisation' entry is not usable ({detail})",
                reason="bad_manifest", file=str(directory / "manifest.json"),
                fix="re-create the directory with `stairs-link adapt --pseudonymise`; do not "
                    "edit manifest.json by hand",
            ) from None
        return Pseudonymisation(params.token_length, filter_bytes, entry.get("key_id"))
    encoded = [c for c in BLOOM_COLUMNS if c in person and person[c].notna().any()]
    plaintext = [s for s, _ in BLOOM_COLUMNS.values() if s in person and person[s].notna().any()]
    if not encoded or plaintext:
        return None
    params = PrivacyParams()
    return Pseudonymisation(params.token_length,
                            {c: params.bloom_for(s).nbytes for c, (_, s) in BLOOM_COLUMNS.items()},
                            key_id=None, from_manifest=False)


def _pseudonymisation_outcome(directory: Path, pseudo: Pseudonymisation) -> Outcome:
    """A pseudonymised directory should say so, with its parameters, in its manifest."""
    return Outcome(
        check_id="pseudonymisation.manifest", scope="structure", source=str(directory),
        table="manifest", expectation_type="stairs_link.pseudonymisation_manifest", columns=[],
        severity=WARNING, success=pseudo.from_manifest,
        title="a pseudonymised directory records its scheme, parameters and key id in manifest.json",
        observed_value={"token_length": pseudo.token_length, "filter_bytes": pseudo.filter_bytes,
                        "key_id": pseudo.key_id, "from_manifest": pseudo.from_manifest},
        why="The checks (token length, filter length) and the linker read the parameters from "
            "the manifest; without them the defaults are assumed, and encodings made with other "
            "parameters or keys would not link.",
        fix="Send the manifest.json written by `stairs-link adapt --pseudonymise` with the data.",
    )


def token_ok(values: pd.Series, length: int, *, record_key: bool = False) -> pd.Series:
    """True where the value is a keyed token (``length`` lower-case hex characters; for
    record_key ``<site>:<system>:<token>``), False otherwise, None where null."""
    text = values.astype("string").reset_index(drop=True)
    token = f"[0-9a-f]{{{length}}}"
    ok = text.str.fullmatch(f"[^:]+:[^:]+:{token}" if record_key else token)
    return _tri_state(ok.fillna(False).to_numpy(bool), text.isna().to_numpy())


def filter_length_ok(values: pd.Series, nbytes: int) -> pd.Series:
    """True where the encoding is ``nbytes`` long, False otherwise, None where null."""
    import pyarrow.compute as pc

    raw = values.reset_index(drop=True)
    missing = raw.isna().to_numpy()
    try:
        lengths = pc.binary_length(pa.array(raw.to_numpy(dtype=object), type=pa.binary(),
                                            from_pandas=True))
        ok = pc.fill_null(pc.equal(lengths, nbytes), False).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not bytes at all (also a column_types failure)
        ok = np.zeros(len(raw), dtype=bool)
    return _tri_state(ok, missing)


def _pseudonymised_columns(name: str, frame: pd.DataFrame, out: pd.DataFrame,
                           pseudo: Pseudonymisation) -> None:
    """The derived columns of the pseudonymised suites (token shapes, filter lengths)."""
    for column in TOKEN_CHECKS.get(name, ()):
        out[f"_q_{column}_token_ok"] = token_ok(frame[column], pseudo.token_length,
                                                record_key=column == "record_key")
    if name == "person":
        for column, nbytes in pseudo.filter_bytes.items():
            if column in frame:
                out[f"_q_{column}_length_ok"] = filter_length_ok(frame[column], nbytes)


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
            as_seconds(episode["admission_date"]).groupby(episode["record_key"]).min()
        )
    for name, table in staged.tables.items():
        frame = table.frame.reset_index(drop=True)
        out = frame.copy()
        for col in TABLES[name]:
            if pa.types.is_date(col.type) or pa.types.is_timestamp(col.type):
                out[col.name] = as_seconds(frame[col.name])
        out["_q_extracted_date"], out["_q_extracted_at_ok"] = extraction_dates(frame["extracted_at"])
        if staged.pseudonymisation is not None:
            _pseudonymised_columns(name, frame, out, staged.pseudonymisation)
        if name == "person" and staged.pseudonymisation is None:
            # (pseudonymised: identifiers are tokens and the date of birth is null, so neither
            # check digits nor ages can be derived; age_at_admission is checked on episode)
            for ident in IDENTIFIER_COLUMNS:
                out[f"_q_{ident}_ok"] = identifier_ok(ident, frame[ident])
            admitted = (
                out["record_key"].map(first_admission) if first_admission is not None
                else pd.Series(pd.NaT, index=out.index, dtype="datetime64[s]")
            )
            admitted = as_seconds(admitted)
            out["_q_age_at_admission"] = completed_years(out["date_of_birth"], admitted)
            at_extraction = completed_years(out["date_of_birth"], out["_q_extracted_date"])
            out["_q_age_at_extraction"] = at_extraction.where(admitted.isna())
        if name != "person":
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
