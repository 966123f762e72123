"""Reading and writing canonical Parquet tables, with the schema version checked on the way in."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link.errors import SchemaError
from stairs_link.schema.outputs import check_not_locked
from stairs_link.schema.tables import (
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    arrow_schema,
    columns_of,
)


def to_arrow(table: str, frame: pd.DataFrame | pa.Table) -> pa.Table:
    """Cast a frame to the canonical schema of ``table`` (columns in canonical order).

    Missing optional columns are added as nulls; a missing required column or a value that
    cannot be cast is a :class:`SchemaError` naming the column.
    """
    schema = arrow_schema(table)
    if isinstance(frame, pd.DataFrame):
        data = pa.Table.from_pandas(frame, preserve_index=False)
    else:
        data = frame
    arrays = []
    for field in schema:
        if field.name in data.column_names:
            column = data.column(field.name)
            try:
                arrays.append(column.cast(field.type) if column.type != field.type else column)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaError(
                    f"column cannot be read as {field.type} for table '{table}': {exc}",
                    reason="bad_type",
                    column=field.name,
                ) from None
        elif field.nullable:
            arrays.append(pa.nulls(data.num_rows, type=field.type))
        else:
            raise SchemaError(
                f"required column missing from table '{table}'",
                reason="missing_column",
                column=field.name,
            )
    return pa.Table.from_arrays(arrays, schema=schema)


def write_table(table: str, frame: pd.DataFrame | pa.Table, path: str | Path) -> Path:
    """Write ``frame`` as canonical table ``table`` to ``path`` (schema version in metadata)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(to_arrow(table, frame), path, compression="zstd")
    return path


def read_table(path: str | Path, table: str, *, as_pandas: bool = True) -> pd.DataFrame | pa.Table:
    """Read a canonical table, checking it exists, is Parquet, has the right schema version
    and carries every required column. Extra columns are kept."""
    path = Path(path)
    if not path.exists():
        raise SchemaError(
            f"table '{table}' not found",
            reason="missing_table",
            file=str(path),
            fix="run `stairs-link adapt` first, or point at the directory that holds it",
        )
    check_not_locked(path.parent)
    try:
        data = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SchemaError(
            f"not a readable Parquet file ({exc})",
            reason="corrupt_parquet",
            file=str(path),
            fix="re-create it with `stairs-link adapt`; do not edit Parquet files by hand",
        ) from None
    metadata = data.schema.metadata or {}
    version = metadata.get(SCHEMA_VERSION_KEY)
    if version is not None and version.decode() != SCHEMA_VERSION:
        raise SchemaError(
            f"written with canonical schema version {version.decode()}, this stairs-link reads version {SCHEMA_VERSION}",
            reason="schema_version",
            file=str(path),
            fix="re-run `stairs-link adapt` with this version of stairs-link on the original export",
        )
    missing = [c.name for c in columns_of(table) if c.required and c.name not in data.column_names]
    if missing:
        raise SchemaError(
            f"required column(s) missing from table '{table}': {', '.join(missing)}",
            reason="missing_column",
            file=str(path),
            column=missing[0],
        )
    check_completion(path, data.num_rows)
    return data.to_pandas() if as_pandas else data


def check_completion(path: Path, rows: int) -> None:
    """A table whose directory's manifest.json (adapt's completion record) lists it with a
    row count it does not have was written by another run, or by a run that did not finish:
    refused. A table with ``.partial`` files beside it and no manifest is refused
    too. (Directories not written by adapt, with neither, are read as they are.)"""
    import json

    manifest_path = path.parent / "manifest.json"
    if not manifest_path.exists():
        if any(path.parent.glob("*.parquet.partial")):
            raise SchemaError("the directory holds unfinished output (.partial files) and no manifest.json",
                              reason="incomplete_output", file=str(path.parent),
                              fix="re-run `stairs-link adapt` into this directory (a run was interrupted)")
        return
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SchemaError("manifest.json cannot be read", reason="bad_manifest", file=str(manifest_path),
                          fix="re-run `stairs-link adapt` into this directory; do not edit manifest.json by hand") from None
    entries = [e for e in [*dict(manifest.get("tables") or {}).values(), manifest.get("rejects") or {}]
               if isinstance(e, dict) and e.get("file") == path.name]
    for entry in entries:
        # rows, not bytes: tools may rewrite a table's file with the same rows (bytes and
        # sha256 stay in the manifest for audit: `sha256sum` against them)
        if "rows" in entry and entry["rows"] != rows:
            raise SchemaError(
                f"{path.name} holds {rows:,} rows but the manifest says {entry['rows']:,}: it comes from another run, "
                "or a run was interrupted", reason="incomplete_output", file=str(path),
                fix="re-run `stairs-link adapt` into an empty directory")
