"""Pseudonymise a whole staged directory (the output of ``stairs-link adapt``) into a new one.

This is the file-level counterpart of :func:`pseudonymise_frame`, for a plain staged directory
that already exists (e.g. one adapted before the project chose pseudonymised mode). For new
data prefer ``stairs-link adapt --pseudonymise --key-file KEY``
(:mod:`stairs_link.adapt.pseudonymise_step`), which pseudonymises every batch before it is
written, so no plain copy ever exists at the site. Canonical columns are written with the
canonical schema (so ``read_table`` and the later stages accept the files); columns that are
not canonical are appended after them (``read_table`` keeps extra columns).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link.errors import PrivacyError
from stairs_link.privacy.pseudonymise import (
    PrivacyParams,
    dob_by_record_key,
    pseudonymisation_manifest,
    pseudonymise_frame,
    with_pseudonymisation_metadata,
)
from stairs_link.schema import arrow_schema, read_table, to_arrow
from stairs_link.schema.io import write_staged

_EXTRA_TYPES = {"year_of_birth": pa.int32(), "age_at_admission": pa.int32()}


def _to_arrow_with_extras(table: str, frame: pd.DataFrame) -> pa.Table:
    canonical = to_arrow(table, frame)
    names = set(arrow_schema(table).names)
    for column in frame.columns:
        if column in names:
            continue
        kind = _EXTRA_TYPES.get(column, pa.binary() if column.endswith("_bf") else pa.string())
        values = frame[column]
        array = pa.array(values.array) if isinstance(values.dtype, pd.ArrowDtype) else pa.array(
            values.astype(object).where(values.notna(), None).tolist(), type=kind)
        canonical = canonical.append_column(pa.field(column, kind), array.cast(kind))
    return canonical.replace_schema_metadata(arrow_schema(table).metadata)


def _withhold_quoted_values(rejects: pd.DataFrame, raw: pd.Series) -> pd.DataFrame:
    """Rejects messages that quote the raw value are replaced (the value is personal data)."""
    if "message" not in rejects or raw is None:
        return rejects
    quoted = [isinstance(v, str) and len(v) > 0 and isinstance(m, str) and v in m
              for v, m in zip(raw.tolist(), rejects["message"].tolist())]  # rejects are few rows
    out = rejects.copy()
    out.loc[quoted, "message"] = "message withheld in pseudonymised output: it quoted the raw value"
    return out


def pseudonymise_staged(
    staged_dir: str | Path, out_dir: str | Path, key: bytes, params: PrivacyParams | None = None
) -> dict[str, Any]:
    """Write a pseudonymised copy of ``staged_dir`` to ``out_dir``; returns the new manifest.

    Refuses to write into the input directory or over existing files. The manifest is the
    input's, plus a ``"pseudonymisation"`` entry (scheme, parameters, key id; never the key).
    """
    staged_dir, out_dir = Path(staged_dir), Path(out_dir)
    manifest_path = staged_dir / "manifest.json"
    if not manifest_path.is_file():
        raise PrivacyError("not a staged directory (no manifest.json)", reason="not_staged", file=str(staged_dir),
                           fix="point at a directory written by `stairs-link adapt`")
    if out_dir.resolve() == staged_dir.resolve():
        raise PrivacyError("output directory is the input directory", reason="same_directory", file=str(out_dir),
                           fix="write the pseudonymised copy to a new directory")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    tables = list(manifest.get("tables", {}))
    targets = [out_dir / f"{t}.parquet" for t in tables] + [out_dir / "rejects.parquet", out_dir / "manifest.json"]
    existing = [p for p in targets if p.exists()]
    if existing:
        raise PrivacyError("output files already exist; refusing to overwrite them", reason="output_exists",
                           file=str(existing[0]), fix="choose an empty --out directory")
    params = params or PrivacyParams()
    frames = {t: read_table(staged_dir / f"{t}.parquet", t) for t in tables}
    dob = dob_by_record_key(frames["person"]) if "person" in frames else None
    written = {}
    entry = pseudonymisation_manifest(key, params)
    for table, frame in frames.items():
        pseudonymised = pseudonymise_frame(table, frame, key, params, dob=dob)
        written[table] = with_pseudonymisation_metadata(_to_arrow_with_extras(table, pseudonymised), entry)
    rejects_path = staged_dir / "rejects.parquet"
    cleaned_rejects = None
    if rejects_path.is_file():
        rejects = pq.read_table(rejects_path).to_pandas()  # read_table knows canonical tables only
        cleaned = _withhold_quoted_values(pseudonymise_frame("rejects", rejects, key, params), rejects.get("raw_value"))
        cleaned_rejects = _to_arrow_with_extras("rejects", cleaned)
    # the input's manifest (sources, counts) with the new files' records and the pseudonymisation
    # entry (scheme, parameters, key id; never the key), published the way adapt publishes
    kept = {k: v for k, v in manifest.items() if k not in ("tables", "rejects")}
    return write_staged(out_dir, written, rejects=cleaned_rejects, manifest={**kept, "pseudonymisation": entry},
                        command="pseudonymise")
