"""Tables written by Spark tasks as pyarrow part files, then published in the project's layout.

Spark's own Parquet writer drops the Arrow schema metadata (the canonical ``schema_version``)
and Spark types differ from the canonical Arrow types (e.g. no int8/int16 distinctions kept as
written). So tasks that produce canonical tables write each part themselves with pyarrow, under
a staging folder, and the driver publishes them:

* a local output directory gets the embedded engine's layout, ONE file per table, whose row
  groups are the parts in part order (copied row group by row group: memory stays bounded by
  one row group, nothing is re-sorted);
* an object-store URL gets a dataset, ``<table>.parquet/part-NNNNN.parquet`` (pyarrow, pandas,
  DuckDB and Spark read such a directory as one table, parts in name order).

Part names sort in the order the rows must appear (zero-padded indices), so publishing in name
order keeps a deterministic row order.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link.io.store import filesystem, is_url, read_text, write_text  # noqa: F401 - parts.<name> in the engine

PART_WIDTH = 6


def part_name(*indices: int) -> str:
    """``part-000003-000012.parquet``: zero-padded so name order is row order."""
    return "part-" + "-".join(f"{i:0{PART_WIDTH}d}" for i in indices) + ".parquet"


def staging_dir(out: str | Path) -> str:
    """A fresh folder under ``out`` for this run's parts (hidden, removed by :func:`publish`)."""
    base = str(out).rstrip("/")
    return f"{base}/.spark-parts-{uuid.uuid4().hex[:12]}"


def write_part(table: pa.Table, folder: str, name: str) -> str:
    """Write one part (called inside a Spark task): ``folder/name``. Idempotent, so a retried
    or speculative task simply rewrites the same file."""
    fs, inner = filesystem(folder)
    fs.create_dir(inner, recursive=True)
    pq.write_table(table, f"{inner}/{name}", compression="zstd", filesystem=fs)
    return f"{folder}/{name}"


def list_parts(folder: str) -> list[str]:
    """Part files under ``folder`` in name order (empty when no task wrote any)."""
    from pyarrow import fs as pafs

    fs, inner = filesystem(folder)
    info = fs.get_file_info(pafs.FileSelector(inner, allow_not_found=True))
    names = sorted(i.base_name for i in info if i.type == pafs.FileType.File and i.base_name.endswith(".parquet"))
    return [f"{folder}/{n}" for n in names]


def publish(parts: list[str], dest: str | Path, schema: pa.Schema) -> str:
    """Publish ``parts`` (in the given order) as table ``dest``: one local file, or a dataset
    directory for a URL. An empty list gives an empty table with ``schema``. Returns ``dest``."""
    dest = str(dest)
    if is_url(dest):
        fs, inner = filesystem(dest)
        if _is_dir(fs, inner):
            fs.delete_dir_contents(inner)
        fs.create_dir(inner, recursive=True)
        src_fs = filesystem(parts[0])[0] if parts else fs
        for index, part in enumerate(parts):
            src_fs.move(filesystem(part)[1], f"{inner}/{part_name(index)}")
        if not parts:
            pq.write_table(schema.empty_table(), f"{inner}/{part_name(0)}", filesystem=fs)
        return dest
    path = Path(dest)
    if path.is_dir():  # a dataset left by an earlier run to a URL-style layout
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for part in parts:
                source = pq.ParquetFile(filesystem(part)[1])
                for group in range(source.num_row_groups):
                    writer.write_table(source.read_row_group(group).cast(schema))
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def remove(folder: str) -> None:
    """Delete a staging folder and everything in it (no error if it is gone)."""
    fs, inner = filesystem(folder)
    if _is_dir(fs, inner):
        fs.delete_dir(inner)


def _is_dir(fs: pa.fs.FileSystem, inner: str) -> bool:
    from pyarrow import fs as pafs

    return fs.get_file_info(inner).type == pafs.FileType.Directory
