"""Paths that may be object-store URLs: one pyarrow filesystem for a local path or a URL
(``s3a://``, ``abfss://``, ``hdfs://``, ``file://``), and small text files (manifests, JSON,
CSV) read or written through it. Used by linkage (a staged manifest at a URL) and the Spark
engine (its parts and outputs).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa


def is_url(path: str | Path) -> bool:
    """True for object-store and Hadoop URLs (``s3a://``, ``abfss://``, ``hdfs://``, ``file://``)."""
    return "://" in str(path)


def filesystem(path: str) -> tuple[pa.fs.FileSystem, str]:
    """The pyarrow filesystem for a local path or a URL, and the path inside it."""
    from pyarrow import fs

    if is_url(path):
        return fs.FileSystem.from_uri(path)
    return fs.LocalFileSystem(), str(Path(path).resolve())


def read_text(path: str | Path) -> str | None:
    """A small text file (a manifest) at a local path or URL; None when it does not exist."""
    from pyarrow import fs as pafs

    fs, inner = filesystem(str(path))
    if fs.get_file_info(inner).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(inner) as handle:
        return handle.read().decode("utf-8")


def write_text(path: str | Path, text: str) -> None:
    """Write a small text file (JSON, CSV) to a local path or URL, creating its folder."""
    fs, inner = filesystem(str(path))
    fs.create_dir(inner.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(inner) as handle:
        handle.write(text.encode("utf-8"))
