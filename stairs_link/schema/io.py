"""Reading and writing canonical Parquet tables, with the schema version checked on the way in."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link.errors import SchemaError, StairsLinkError
from stairs_link.schema.outputs import (
    COMPLETE_NAME,
    check_file,
    check_not_locked,
    file_record,
    output_lock,
    publishing,
    read_record,
    write_atomic,
)
from stairs_link.schema.tables import (
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    TABLES,
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
    """Refuse a table that a finished run did not write with its directory's completion record.

    A staged directory's record is adapt's manifest.json; a dataset's (and any later stage's)
    is complete.json (schema/outputs.py). The table must be listed there with its rows, bytes
    and (up to ``HASH_LIMIT`` bytes) sha256: a directory without a record (adapt killed before
    the manifest, an older stairs-link, a hand-made folder), an empty or unreadable record, a
    table the record does not list or one that differs from it, is refused (``incomplete_output``
    / ``bad_manifest``) with the command to re-run."""
    directory = path.parent
    if (directory / COMPLETE_NAME).exists():  # written by build (person_records.parquet) or another unit
        record = read_record(directory)
        fix = f"re-run `stairs-link {(record or {}).get('command', 'build')}` to write {directory} again"
        entry = ((record or {}).get("files") or {}).get(path.name)
        if record is None or entry is None:
            raise SchemaError(f"{path.name} is not listed in the directory's {COMPLETE_NAME}", reason="incomplete_output",
                              file=str(path), fix=fix)
        check_file(path, entry, fix, "directory")
        return
    fix = f"re-run `stairs-link adapt` with --out {directory} (its manifest.json is written last, as the record " \
          "that the run finished)"
    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        partial = " and unfinished .partial files" if any(directory.glob("*.parquet.partial")) else ""
        raise SchemaError(f"the staged directory has {path.name}{partial} but no manifest.json: adapt did not finish "
                          "there (killed, or the disk was full), or the folder was not written by `stairs-link adapt` "
                          "(an older version, or by hand)", reason="incomplete_output", file=str(directory), fix=fix)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        raise SchemaError("manifest.json cannot be read", reason="bad_manifest", file=str(manifest_path),
                          fix="re-run `stairs-link adapt` into this directory; do not edit manifest.json by hand") from None
    if not isinstance(manifest, dict):
        manifest = {}
    entries = [e for e in [*dict(manifest.get("tables") or {}).values(), manifest.get("rejects") or {}]
               if isinstance(e, dict) and e.get("file") == path.name]
    if not entries:
        raise SchemaError(f"manifest.json does not list {path.name} (an empty manifest, or the table is left from "
                          "another run)", reason="incomplete_output", file=str(manifest_path), fix=fix)
    for entry in entries:
        if "rows" in entry and entry["rows"] != rows:
            raise SchemaError(
                f"{path.name} holds {rows:,} rows but the manifest says {entry['rows']:,}: it comes from another run, "
                "or a run was interrupted", reason="incomplete_output", file=str(path),
                fix="re-run `stairs-link adapt` into an empty directory")
        try:
            check_file(path, entry, fix, "staged directory")
        except StairsLinkError as exc:
            raise SchemaError(exc.message, reason=exc.reason, file=exc.file, fix=exc.fix) from None


def verify_staged(directory: Path) -> None:
    """:func:`check_completion` for every canonical table of a staged directory, rows read from
    the Parquet footers (for readers that do not go through :func:`read_table`: Spark)."""
    check_not_locked(directory)
    present = [directory / f"{name}.parquet" for name in TABLES if (directory / f"{name}.parquet").is_file()]
    if not present and not (directory / "manifest.json").exists():
        return  # not a staged directory at all: the reader's own error names what is missing
    for path in present:
        try:
            rows = pq.read_metadata(path).num_rows
        except (pa.ArrowInvalid, OSError):
            continue  # not Parquet: the reader reports it
        check_completion(path, rows)


def write_staged(directory: str | Path, tables: dict[str, pd.DataFrame | pa.Table], *,
                 rejects: pd.DataFrame | pa.Table | None = None, manifest: dict | None = None,
                 command: str = "stage") -> dict:
    """Write canonical tables as a staged directory with its completion record, the way adapt
    publishes (lock, ``.partial`` files, publishing marker, manifest.json last with each file's
    rows, bytes and sha256). For writers of staged data other than adapt (a pseudonymised copy,
    the synthetic generator's fixtures); ``manifest``: further entries (e.g. pseudonymisation).
    A DataFrame is cast to the canonical schema; a pyarrow Table is written as it is."""
    from stairs_link import __version__

    directory = Path(directory)
    items = [(name, to_arrow(name, data) if isinstance(data, pd.DataFrame) else data, f"{name}.parquet")
             for name, data in tables.items()]
    if rejects is not None:
        items.append(("rejects", to_arrow("rejects", rejects) if isinstance(rejects, pd.DataFrame) else rejects,
                      "rejects.parquet"))
    with output_lock(directory, command):
        for _, data, file in items:
            pq.write_table(data, directory / f"{file}.partial", compression="zstd")
        record = {**(manifest or {}), "stairs_link_version": __version__, "schema_version": SCHEMA_VERSION,
                  "written_by": command,
                  "tables": {name: {"file": file, "rows": data.num_rows} for name, data, file in items
                             if name != "rejects"}}
        if rejects is not None:
            record["rejects"] = {"file": "rejects.parquet", "rows": items[-1][1].num_rows}
        with publishing(directory):
            (directory / "manifest.json").unlink(missing_ok=True)
            for name in TABLES:  # an earlier run's tables this one does not write must not stay
                if name not in tables:
                    (directory / f"{name}.parquet").unlink(missing_ok=True)
            for _, _, file in items:
                (directory / f"{file}.partial").replace(directory / file)
            for entry in [*record["tables"].values(), *([record["rejects"]] if rejects is not None else [])]:
                entry.update(file_record(directory / entry["file"]))
            write_atomic(directory / "manifest.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return record


def replace_staged_tables(directory: str | Path, tables: dict[str, pd.DataFrame | pa.Table], *,
                          command: str = "stage", manifest: dict | None = None) -> dict:
    """Publish new versions of some tables of a finished staged directory, keeping its other
    files and the manifest's other entries, with the replaced tables' records (rows, bytes,
    sha256) updated and ``manifest``'s entries merged in; same lock, ``.partial`` files and
    publishing marker as adapt (e.g. ``link --forget-encodings`` nulling the encodings). A
    DataFrame is cast to the canonical schema (its schema metadata kept from the old file);
    a pyarrow Table is written as it is."""
    directory = Path(directory)
    path = directory / "manifest.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SchemaError("manifest.json cannot be read", reason="bad_manifest", file=str(path),
                          fix="re-run `stairs-link adapt` into this directory") from None
    with output_lock(directory, command):
        for name, data in tables.items():
            if isinstance(data, pd.DataFrame):
                old = directory / f"{name}.parquet"
                metadata = pq.read_schema(old).metadata if old.exists() else None
                data = to_arrow(name, data)
                data = data.replace_schema_metadata({**(metadata or {}), **(data.schema.metadata or {})})
            pq.write_table(data, directory / f"{name}.parquet.partial", compression="zstd")
            record.setdefault("tables", {})[name] = {"file": f"{name}.parquet", "rows": data.num_rows}
        record.update(manifest or {})
        with publishing(directory):
            for name in tables:
                (directory / f"{name}.parquet.partial").replace(directory / f"{name}.parquet")
                record["tables"][name].update(file_record(directory / f"{name}.parquet"))
            write_atomic(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return record
