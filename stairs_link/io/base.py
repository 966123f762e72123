"""What every reader shares: the batches it yields, what it learns about a file, the options it
reads with, and the registry that finds the reader for a format.

Every reader yields :class:`Batch` objects: a frame of the export's columns as text (blank
cells are empty strings, never guessed types), the 1-based data row number of each row, and
rows that could not be read at all (ragged CSV rows, JSON items that are not records).

Readers register themselves by format name (:func:`register`, one module per format in this
package: :mod:`~stairs_link.io.csv`, :mod:`~stairs_link.io.xlsx`, and the nested formats json,
ndjson and xml in :mod:`~stairs_link.io.nested`); :func:`reader` looks one up, and an unknown
name is an error listing the valid ones. Adding a format is one new module that calls
:func:`register` and one import line in ``stairs_link/io/__init__.py``.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from stairs_link.errors import InputFileError

if TYPE_CHECKING:
    from stairs_link.io.quoting import QuoteScan

TEXT = pd.StringDtype("pyarrow")  # Arrow-backed strings: no per-value Python objects
CHUNK_BYTES = 8 << 20
DEFAULT_BLOCK_BYTES = 16 << 20


class ReadOptions(Protocol):
    """How to read an export: the reading half of a mapping's ``source:`` block
    (``stairs_link.mapping.model.SourceSpec`` is one). Readers sit below ``mapping`` and see
    only these attributes."""

    @property
    def format(self) -> str | None: ...
    @property
    def encoding(self) -> str: ...
    @property
    def delimiter(self) -> str | None: ...
    @property
    def sheet(self) -> str | None: ...
    @property
    def header_row(self) -> int: ...
    @property
    def records_path(self) -> str | None: ...
    @property
    def records_where(self) -> dict[str, str] | None: ...
    @property
    def footer_rows(self) -> int: ...


@dataclass
class Batch:
    """Rows of one file, as text."""

    frame: pd.DataFrame
    source_rows: np.ndarray  # int64, 1-based data row numbers (header excluded)
    bad_rows: list[tuple[int, str, str, str]] = field(default_factory=list)  # (row, reason, raw text, message)
    skipped: int = 0  # rows read but not data (footer rows, records filtered out): counted, not staged


@dataclass
class FileInfo:
    """What we learnt about a file while opening it (goes into the manifest)."""

    path: Path
    name: str
    sha256: str
    size: int
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    header: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # CSV: the column names read with (duplicates renamed)
    unmatched: list[str] = field(default_factory=list)  # nested formats: field paths that matched no record
    quotes: QuoteScan | None = None  # CSV: row integrity (stray quotes, physical lines), io.quoting
    header_lines: int = 0  # CSV: lines before the data (header_row)

Opener = Callable[..., tuple[FileInfo, Iterator[Batch]]]
"""``open(path, options, *, encoding, used, block_bytes) -> (FileInfo, batches)``."""


@dataclass(frozen=True)
class Reader:
    """One export format: its name (a mapping's ``format:``), the file extensions that mean it,
    how to open a file, and optionally how to learn just its columns (default: open it and
    stop before the first batch)."""

    name: str
    extensions: tuple[str, ...]
    open: Opener
    header: Callable[..., FileInfo] | None = None
    nested: bool = False  # columns are field paths (stairs_link.io.paths), not header names


READERS: dict[str, Reader] = {}  # in registration order: csv, xlsx, json, ndjson, xml


def register(reader: Reader) -> Reader:
    """Add ``reader`` to the registry (each format module calls this once, at import)."""
    READERS[reader.name] = reader
    return reader


def reader(name: str) -> Reader:
    """The registered reader for format ``name``; an unknown name lists the valid ones."""
    if name not in READERS:
        raise InputFileError(f"unknown export format '{name}'", reason="unknown_format",
                             fix=f"use one of: {', '.join(READERS)}")
    return READERS[name]


def format_names() -> tuple[str, ...]:
    """Every registered format, in registration order."""
    return tuple(READERS)


def nested_formats() -> tuple[str, ...]:
    """The formats whose columns are field paths."""
    return tuple(name for name, r in READERS.items() if r.nested)


def extension_formats() -> dict[str, str]:
    """File extension (lower case, with the dot) -> the format it means."""
    return {ext: name for name, r in READERS.items() for ext in r.extensions}


def sha256_and_encoding(path: Path, encoding: str) -> tuple[str, str | None]:
    """One streaming pass: the file's sha256 and the encoding it really decodes with.

    ``encoding='auto'``: a UTF-8 BOM means utf-8-sig; else utf-8 if every byte decodes, else
    cp1252 (Windows exports). A byte invalid in the declared (or every candidate) encoding
    raises InputFileError with the line it is on. Returns (sha256, encoding or None if empty).
    """
    if encoding != "auto":
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputFileError(f"unknown text encoding '{encoding}'", reason="unknown_encoding", file=str(path),
                                 fix="use auto, utf-8, utf-8-sig or cp1252") from None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        head = handle.read(4)
    if not head:
        with path.open("rb") as handle:
            digest.update(handle.read())
        return digest.hexdigest(), None
    if encoding == "auto":
        candidates = ["utf-8-sig"] if head.startswith(codecs.BOM_UTF8) else ["utf-8", "cp1252"]
    else:
        candidates = [encoding]
    failure: tuple[str, int, int, str] | None = None
    for index, candidate in enumerate(candidates):
        decoder = codecs.getincrementaldecoder(candidate)()
        lines = 0
        offset = 0
        ok = True
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                if index == 0:
                    digest.update(chunk)
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    if ok and failure is None:
                        bad = chunk[exc.start:exc.start + 1]
                        failure = (candidate, lines + chunk[: exc.start].count(b"\n") + 1, offset + exc.start, bad.hex())
                    ok = False
                    if index > 0:
                        break
                    decoder = codecs.getincrementaldecoder(candidate)()
                lines += chunk.count(b"\n")
                offset += len(chunk)
            if ok:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    ok = False
                    failure = failure or (candidate, lines + 1, offset, "")
        if ok:
            return digest.hexdigest(), candidate
    assert failure is not None
    name, line, byte, value = failure
    tried = " or ".join(candidates)
    raise InputFileError(
        f"bytes that are not valid {tried} text (byte 0x{value} at offset {byte}, line {line})",
        reason="bad_encoding", file=str(path), row=None, line=line,
        fix="set `encoding:` in the mapping's source (or --encoding) to the export's real encoding, e.g. cp1252",
    )


def unique_header(header: list[str], path: Path, used: list[str] | None) -> list[str]:
    """Check the header; duplicated names that the mapping uses are an error (ambiguous)."""
    seen: dict[str, int] = {}
    names = []
    for position, name in enumerate(header, start=1):
        if name in seen:
            if used is None or name in used:
                raise InputFileError(
                    f"column name '{name}' appears twice in the header (positions {seen[name]} and {position}), "
                    "so the mapping cannot tell which to use",
                    reason="duplicate_header", file=str(path), row=0, column=name,
                    fix="rename one of the columns in the export (or ask for a fresh export)",
                )
            names.append(f"{name}#{position}")
        else:
            seen[name] = position
            names.append(name)
    return names


def skip_footer(batches: Iterator[Batch], footer_rows: int) -> Iterator[Batch]:
    """The batches minus the file's last ``footer_rows`` rows (good or ragged), which are
    counted as skipped: a trailer such as 'Total rows: 131' is not data and not a reject.
    Batches are held back until enough rows follow them to be sure they hold no footer row."""
    held: list[Batch] = []
    for batch in batches:
        held.append(batch)
        while held and sum(len(b.frame) + len(b.bad_rows) for b in held[1:]) >= footer_rows:
            yield held.pop(0)
    numbers = sorted([int(r) for h in held for r in h.source_rows] + [bad[0] for h in held for bad in h.bad_rows])
    footer = set(numbers[-footer_rows:]) if numbers else set()
    for batch in held:
        keep = ~np.isin(batch.source_rows, list(footer))
        dropped = int((~keep).sum()) + sum(1 for b in batch.bad_rows if b[0] in footer)
        yield Batch(batch.frame[keep].reset_index(drop=True), batch.source_rows[keep],
                    [b for b in batch.bad_rows if b[0] not in footer], batch.skipped + dropped)


def close_batches(batches: Iterator[Batch]) -> None:
    """Release the file an unfinished reader holds (a workbook stays open until its generator closes)."""
    close = getattr(batches, "close", None)
    if close is not None:
        close()
