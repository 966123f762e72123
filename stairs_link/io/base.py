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
import io
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from stairs_link.errors import InputFileError
from stairs_link.registry import Registry

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
    encoding_detail: dict = field(default_factory=dict)  # how the encoding was chosen (manifest)
    header_cells: dict[str, str] = field(default_factory=dict)  # header name read with -> the cell as written,
    # for cells whose whitespace was normalised (a line break typed in a header cell); see match_header

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


# in registration order: csv, xlsx, json, ndjson, xml
READERS: Registry[Reader] = Registry("export format", InputFileError, reason="unknown_format")
register = READERS.register  # add a reader (each format module calls this once, at import)
reader = READERS.lookup  # the reader of a format name; an unknown name lists the valid ones
format_names = READERS.names  # every registered format, in registration order


def nested_formats() -> tuple[str, ...]:
    """The formats whose columns are field paths."""
    return tuple(name for name, r in READERS.items() if r.nested)


def extension_formats() -> dict[str, str]:
    """File extension (lower case, with the dot) -> the format it means."""
    return {ext: name for name, r in READERS.items() for ext in r.extensions}


class HashingReader(io.RawIOBase):
    """A read-only binary stream that hashes and counts every byte read through it. Readers
    read a source through one, so the manifest's sha256 and bytes are those of exactly the
    bytes the rows were parsed from (not of a separate pass, which a file still being
    written could make cover other bytes)."""

    def __init__(self, handle: Any, path: Path | None = None) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()
        self.bytes = 0
        self.path = path
        self.before = os.fstat(handle.fileno()) if path is not None else None

    @classmethod
    def open(cls, path: Path) -> HashingReader:
        """``path`` opened for reading, its size and modification time noted (see :meth:`finish`)."""
        return cls(path.open("rb"), path)

    def finish(self, info: FileInfo) -> None:
        """After the last row: ``info``'s sha256 and size become those of the bytes read;
        a file that changed meanwhile is refused (:func:`require_unchanged`)."""
        if self.path is not None and self.before is not None:
            require_unchanged(self.path, self.before, self.bytes)
        info.sha256, info.size = self.digest.hexdigest(), self.bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._handle.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.digest.update(data)
        self.bytes += n
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.digest.update(data)
        self.bytes += len(data)
        return data

    def close(self) -> None:
        self._handle.close()
        super().close()


def require_unchanged(path: Path, before: os.stat_result, consumed: int | None = None) -> None:
    """Refuse a source that changed while it was read (reason ``source_changed``): its size
    or modification time now differ from when it was opened, or the reader consumed another
    number of bytes than it had then (an export still being written, or replaced mid-run).
    Staging it could hold a half-written last row, and no checksum would describe it."""
    now = path.stat()
    if (now.st_size, now.st_mtime_ns) == (before.st_size, before.st_mtime_ns) and consumed in (None, before.st_size):
        return
    read = f", {consumed:,} read" if consumed is not None and consumed != before.st_size else ""
    raise InputFileError(f"the file changed while it was being read ({before.st_size:,} bytes when opened{read}, "
                         f"{now.st_size:,} now)", reason="source_changed", file=str(path),
                         fix="wait until the export has finished writing (or copy it to a folder nothing else "
                             "writes to) and run adapt again")


FALLBACK_ENCODING = "utf-8-cp1252-fallback"  # UTF-8; the few bytes invalid in UTF-8 read as cp1252
MAX_LISTED_BYTES = 20


def _cp1252_bytes(error: UnicodeError) -> tuple[str | bytes, int]:
    """Error handler: bytes that are not UTF-8 are read as cp1252 (a Word apostrophe 0x92 is
    '’'); the five bytes cp1252 leaves undefined become U+FFFD."""
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start:error.end].decode("cp1252", errors="replace"), error.end


@dataclass
class _Invalid:
    """The bytes :func:`_auto_without_bom` found invalid in UTF-8 (per thread)."""

    base: int = 0  # file offset of the data being decoded
    lines: int = 0  # line feeds before it
    data: bytes = b""
    count: int = 0
    listed: list[tuple[int, int, str]] = field(default_factory=list)  # (offset, line, byte hex)


_COUNTING = threading.local()


def _count_invalid(error: UnicodeError) -> tuple[str | bytes, int]:
    assert isinstance(error, UnicodeDecodeError)
    state: _Invalid = _COUNTING.state
    state.count += error.end - error.start
    if len(state.listed) < MAX_LISTED_BYTES:
        state.listed.append((state.base + error.start, state.lines + state.data[:error.start].count(b"\n") + 1,
                             state.data[error.start:error.start + 1].hex()))
    return "\ufffd", error.end


class _FallbackDecoder(codecs.BufferedIncrementalDecoder):
    def _buffer_decode(self, data, errors, final):  # noqa: ANN001, ANN202 - codecs' signature
        return codecs.utf_8_decode(data, "stairs-link-cp1252", final)


def _search(name: str) -> codecs.CodecInfo | None:
    if name.replace("-", "_") == FALLBACK_ENCODING.replace("-", "_"):
        utf8 = codecs.lookup("utf-8")
        return codecs.CodecInfo(utf8.encode, lambda data, errors="strict": codecs.utf_8_decode(data, "stairs-link-cp1252", True),
                                incrementaldecoder=_FallbackDecoder, name=FALLBACK_ENCODING)
    return None


codecs.register_error("stairs-link-cp1252", _cp1252_bytes)
codecs.register_error("stairs-link-count", _count_invalid)
codecs.register(_search)

_MARK_NAMES = {"utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-32": "UTF-32"}  # as people call them
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass
class EncodingCheck:
    """What the encoding pass found: the file's sha256, the encoding to read it with, and
    (for the manifest) how it was chosen."""

    sha256: str
    encoding: str | None
    detail: dict = field(default_factory=dict)


def sha256_and_encoding(path: Path, encoding: str) -> tuple[str, str | None]:
    """The file's sha256 and the encoding it really decodes with (see :func:`check_encoding`)."""
    checked = check_encoding(path, encoding)
    return checked.sha256, checked.encoding


def check_encoding(path: Path, encoding: str) -> EncodingCheck:
    """One streaming pass: the file's sha256 and the encoding it really decodes with.

    ``encoding='auto'``: a byte-order mark decides (UTF-8, UTF-16, UTF-32; the mark never
    reaches a column name); else UTF-8 if every byte decodes. A file that is UTF-8 (it holds
    valid multi-byte characters, "Zoë") except for a few bytes is read as UTF-8 with those
    bytes read as cp1252 (``utf-8-cp1252-fallback``), each reported with its offset and line
    in ``detail``, never switched to cp1252 wholesale (which would turn "Zoë" into "ZoÃ«").
    A file with no valid multi-byte UTF-8 and bytes above 0x7F is cp1252 (Windows) if that
    decodes, else charset-normalizer's guess, recorded with its confidence. A byte invalid
    in a declared encoding raises InputFileError with its offset and line.
    """
    if encoding != "auto":
        try:
            info = codecs.lookup(encoding)
        except LookupError:
            raise InputFileError(f"unknown text encoding '{encoding}'", reason="unknown_encoding", file=str(path),
                                 fix="use auto, utf-8, utf-8-sig, utf-16, cp1252 or latin-1") from None
        if not getattr(info, "_is_text_encoding", True):
            raise InputFileError(f"'{encoding}' is not a text encoding (it transforms text)", reason="unknown_encoding",
                                 file=str(path), fix="use auto, utf-8, utf-8-sig, utf-16, cp1252 or latin-1")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        head = handle.read(4)
    if not head:
        return EncodingCheck(digest.hexdigest(), None)
    if encoding == "auto":
        bom = next((name for mark, name in BOMS if head.startswith(mark)), None)
        if bom is None:
            return _auto_without_bom(path)
        candidates = [bom]
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
                except UnicodeError as exc:
                    if ok and failure is None:
                        failure = (candidate, *_file_position(exc, chunk, offset, lines))
                    ok = False
                    if index > 0:
                        break
                    decoder = codecs.getincrementaldecoder(candidate)()
                lines += chunk.count(b"\n")
                offset += len(chunk)
            if ok:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeError:
                    ok = False
                    failure = failure or (candidate, lines + 1, offset, "")
        if ok:
            return EncodingCheck(digest.hexdigest(), candidate, {"chosen_by": "byte-order mark" if encoding == "auto"
                                                                 else "declared"})
    assert failure is not None
    name, line, byte, value = failure
    tried = " or ".join(candidates)
    raise InputFileError(
        f"bytes that are not valid {tried} text ("
        + (f"byte 0x{value} at offset {byte}, line {line})" if value else f"cut short at offset {byte}, line {line})"),
        reason="bad_encoding", file=str(path), row=None, line=line,
        # a byte-order mark is the exporter's own word for the encoding: a bad byte after it is damage
        # (a file edited or joined from two), and another encoding would garble the accented names
        fix=(f"the file starts with a {_MARK_NAMES.get(name, name)} byte-order mark, so it was written as "
             f"{_MARK_NAMES.get(name, name)} and this byte was "
             "damaged later (a hand edit, or two files joined): re-export it from the system"
             if encoding == "auto" else
             "set `encoding:` in the mapping's source (or --encoding) to the export's real encoding, e.g. cp1252"),
    )


def _file_position(exc: UnicodeError, chunk: bytes, offset: int, lines: int) -> tuple[int, int, str]:
    """(line, file offset, byte hex) of a decoding error raised on ``chunk`` (at file offset
    ``offset``, after ``lines`` line feeds). The decoder's ``exc.start`` counts from the bytes
    it decoded, which end where ``chunk`` ends but may start elsewhere: after a byte-order
    mark it stripped (utf-8-sig), or before ``chunk`` with bytes it held back from the last
    chunk (a character cut in two); so the position is counted back from the chunk's end."""
    data = getattr(exc, "object", b"")
    start = getattr(exc, "start", 0)
    if not isinstance(data, bytes | bytearray):
        data = chunk
    at = offset + len(chunk) - len(data) + start  # file offset of the bad byte
    in_chunk = max(at - offset, 0)
    return lines + chunk[:in_chunk].count(b"\n") + 1, at, bytes(data[start:start + 1]).hex()


def _auto_without_bom(path: Path) -> EncodingCheck:
    """UTF-8 with per-byte reporting, else cp1252, else a charset-normalizer guess."""
    import numpy as np

    digest = hashlib.sha256()
    state = _Invalid()
    _COUNTING.state = state
    high = 0
    lines = 0
    offset = 0  # of ``pending``'s first byte
    pending = b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            high += int(np.count_nonzero(np.frombuffer(chunk, dtype=np.uint8) >= 0x80))
            data = pending + chunk
            state.base, state.lines, state.data = offset, lines, data
            _, consumed = codecs.utf_8_decode(data, "stairs-link-count", False)
            lines += data[:consumed].count(b"\n")
            offset += consumed
            pending = data[consumed:]
        if pending:
            state.base, state.lines, state.data = offset, lines, pending
            codecs.utf_8_decode(pending, "stairs-link-count", True)
    invalid, bad = state.count, state.listed
    sha = digest.hexdigest()
    if invalid == 0:
        return EncodingCheck(sha, "utf-8", {"chosen_by": "every byte is valid UTF-8"})
    listed = [{"offset": at, "line": line, "byte": f"0x{value}"} for at, line, value in bad]
    if high > invalid:  # valid multi-byte UTF-8 too: a UTF-8 file with a few foreign bytes
        return EncodingCheck(sha, FALLBACK_ENCODING, {
            "chosen_by": "valid UTF-8 except for a few bytes", "invalid_utf8_bytes": invalid,
            "read_as": "cp1252", "first_invalid": listed})
    try:
        with path.open("rb") as handle:
            decoder = codecs.getincrementaldecoder("cp1252")()
            while chunk := handle.read(CHUNK_BYTES):
                decoder.decode(chunk)
        return EncodingCheck(sha, "cp1252", {"chosen_by": "not UTF-8 (no multi-byte characters), decodes as cp1252"})
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_path

    best = from_path(path).best()
    if best is None or not best.encoding:
        at, line, value = bad[0]
        raise InputFileError(f"bytes that are not valid UTF-8 or cp1252 text (byte 0x{value} at offset {at}, line {line})"
                             " and no other encoding fits", reason="bad_encoding", file=str(path), line=line,
                             fix="set `encoding:` in the mapping's source (or --encoding) to the export's real encoding")
    return EncodingCheck(sha, best.encoding, {"chosen_by": "guessed by charset-normalizer",
                                              "confidence": round(1.0 - float(best.percent_chaos) / 100, 3),
                                              "first_invalid_utf8": listed})


def _spaced(text: str) -> str:
    return " ".join(text.split())


def match_header(cells: list[str], used: list[str] | None) -> tuple[list[str], dict[str, str]]:
    """The names to read a header's cells with, and {name: cell as written} where they differ.

    A header cell holding a line break (Alt+Enter in Excel: "Date of\nBirth"), a tab or a run
    of spaces matches the mapping column that has the same words with single spaces ("Date of
    Birth"); it is then read with the mapping's spelling. Cells the mapping does not name
    have their whitespace runs made single spaces. A cell equal to a mapping column as
    written is left alone, so no mapping that matched before stops matching."""
    wanted = {_spaced(u): u for u in used or []}
    names: list[str] = []
    changed: dict[str, str] = {}
    for cell in cells:
        name = cell if (used is not None and cell in used) else wanted.get(_spaced(cell), _spaced(cell))
        if name != cell:
            changed[name] = cell
        names.append(name)
    return names, changed


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
