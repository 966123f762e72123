"""Opening an export with the reader its format registered (see :mod:`stairs_link.io.base`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stairs_link.io.base import (
    DEFAULT_BLOCK_BYTES,
    Batch,
    FileInfo,
    ReadOptions,
    close_batches,
    reader,
    skip_footer,
)


def open_export(path: Path, source: ReadOptions, *, encoding: str | None = None,
                used: list[str] | None = None, block_bytes: int = DEFAULT_BLOCK_BYTES) -> tuple[FileInfo, Iterator[Batch]]:
    """Open one export file with the reader for its format."""
    info, batches = reader(source.format or "csv").open(path, source, encoding=encoding, used=used,
                                                        block_bytes=block_bytes)
    if source.footer_rows:
        batches = skip_footer(batches, source.footer_rows)
    return info, batches


def read_header(path: Path, source: ReadOptions, *, encoding: str | None = None) -> FileInfo:
    """Open a file just far enough to learn its columns (used by `mapping check`/`mapping new`)."""
    found = reader(source.format or "csv")
    if found.header is not None:
        return found.header(path, source, encoding=encoding)
    info, batches = open_export(path, source, encoding=encoding, used=[])
    close_batches(batches)  # a workbook stays open until its generator closes
    return info
