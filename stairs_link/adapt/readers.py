"""Readers: turn one export file into batches of all-text rows, memory bounded.

Every reader yields :class:`Batch` objects: a frame of the export's columns as text (blank
cells are empty strings, never guessed types), the 1-based data row number of each row, and
rows that could not be read at all (ragged CSV rows, JSON items that are not records).

- CSV: streamed with ``pyarrow.csv.open_csv`` in blocks, so a file larger than memory works.
  Encoding is checked in a streaming pass first (which also computes the file's sha256), so a
  bad byte is reported with its line instead of failing half-way through.
- XLSX: openpyxl read-only mode, rows streamed in batches (Excel caps a sheet at 1,048,576
  rows, so a per-row loop is bounded here and unavoidable: openpyxl yields rows).
- JSON documents (FHIR Bundles), NDJSON and XML: streamed by :mod:`stairs_link.io.nested`;
  their columns are field paths (:mod:`stairs_link.io.paths`).

Any reader's last ``footer_rows`` rows can be skipped (and counted) by :func:`skip_footer`.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from stairs_link.errors import InputFileError
from stairs_link.mapping.model import SourceSpec

TEXT = pd.StringDtype("pyarrow")  # Arrow-backed strings: no per-value Python objects
CHUNK_BYTES = 8 << 20
DEFAULT_BLOCK_BYTES = 16 << 20
DELIMITER_CANDIDATES = (",", ";", "|", "\t")


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


def _first_lines(path: Path, encoding: str, count: int) -> list[str]:
    with path.open("r", encoding=encoding, newline="") as handle:
        return [line for _, line in zip(range(count), handle)]


def detect_delimiter(header_line: str) -> str:
    """The candidate delimiter that splits the header line into the most columns."""
    counts = {d: header_line.count(d) for d in DELIMITER_CANDIDATES}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _unique_header(header: list[str], path: Path, used: list[str] | None) -> list[str]:
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


def open_csv(path: Path, source: SourceSpec, *, encoding: str | None, used: list[str] | None,
             block_bytes: int = DEFAULT_BLOCK_BYTES) -> tuple[FileInfo, Iterator[Batch]]:
    """Check and open a CSV export; return its info and an iterator of batches."""
    wanted = encoding or source.encoding
    digest, detected = sha256_and_encoding(path, wanted)
    info = FileInfo(path=path, name=path.name, sha256=digest, size=path.stat().st_size, format="csv",
                    encoding=detected)
    if detected is None:
        raise InputFileError("the file is empty (not even a header line)", reason="empty_file", file=str(path),
                             row=0, fix="re-export it with its header line; a header with no rows is fine")
    lines = _first_lines(path, detected, source.header_row)
    if len(lines) < source.header_row or not lines[-1].strip():
        raise InputFileError(f"no header found on line {source.header_row}", reason="missing_header",
                             file=str(path), line=source.header_row,
                             fix="set `header_row:` in the mapping's source to the line holding the column names")
    delimiter = source.delimiter or detect_delimiter(lines[-1])
    header = next(csv.reader([lines[-1].rstrip("\r\n")], delimiter=delimiter))
    header = [h.strip() for h in header]
    info.delimiter = delimiter
    info.header = header
    names = _unique_header(header, path, used)
    info.names = names
    return info, csv_batches(path, path=path, names=names, delimiter=delimiter, encoding=detected,
                             skip_rows=source.header_row, block_bytes=block_bytes)


def arrow_encoding(encoding: str) -> str:
    """The encoding name pyarrow's CSV reader is given (it strips a UTF-8 BOM itself)."""
    return "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding


def _arrow_csv(source: Path | pa.NativeFile, *, names: list[str], delimiter: str, encoding: str, skip_rows: int,
               block_bytes: int, on_invalid, include: list[str] | None = None) -> pacsv.CSVStreamingReader:  # noqa: ANN001
    """pyarrow's streaming CSV reader with the options every adapt read uses (all text, no
    null guessing, quoted newlines allowed, ragged rows handed to ``on_invalid``)."""
    return pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=skip_rows, use_threads=False,
                                       block_size=block_bytes, encoding=arrow_encoding(encoding)),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in include or names},
                                             include_columns=include or [],
                                             strings_can_be_null=False, quoted_strings_can_be_null=False),
    )


def csv_batches(source: Path | pa.NativeFile, *, path: Path, names: list[str], delimiter: str, encoding: str,
                skip_rows: int, block_bytes: int = DEFAULT_BLOCK_BYTES, row_offset: int = 0) -> Iterator[Batch]:
    """Batches of a CSV file (or of a byte range of one, for the Spark engine) as text.

    ``skip_rows`` raw lines are skipped first (the header: pyarrow skips lines, not quoted
    records). Data rows are numbered from ``row_offset + 1`` in file order; blank lines are
    not rows (pyarrow skips them), ragged rows take their number and go to ``bad_rows``.
    """
    bad: list[tuple[int, str, str, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        # row.number counts every row of the source from 1, skipped header lines included
        # (reliable because use_threads=False).
        number = (row.number or 0) - skip_rows + row_offset
        bad.append((number, "ragged_row", row.text,
                    f"row has {row.actual_columns} values but the header has {row.expected_columns} columns; "
                    "row not staged. Fix: correct the row in the export (a stray delimiter or missing quotes)"))
        return "skip"

    try:
        reader = _arrow_csv(source, names=names, delimiter=delimiter, encoding=encoding, skip_rows=skip_rows,
                            block_bytes=block_bytes, on_invalid=on_invalid)
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        raise _csv_error(exc, path, after_row=row_offset or None) from None
    staged_before = 0
    bad_before: list[int] = []
    while True:
        try:
            record_batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, pa.ArrowException) as exc:
            raise _csv_error(exc, path, after_row=row_offset + staged_before + len(bad_before)) from None
        new_bad = bad[:]
        bad.clear()
        bad_before.extend(b[0] - row_offset for b in new_bad)
        n = record_batch.num_rows
        # data row numbers: good rows fill the numbers not taken by skipped (ragged) rows
        rows = _fill_row_numbers(staged_before, n, np.array(sorted(bad_before), dtype=np.int64)) + row_offset
        staged_before += n
        frame = record_batch.to_pandas(types_mapper={pa.string(): TEXT}.get)
        yield Batch(frame=frame, source_rows=rows, bad_rows=new_bad)
    if bad:  # ragged rows after the last good row
        yield Batch(frame=pd.DataFrame({n: pd.Series([], dtype=TEXT) for n in names}),
                    source_rows=np.zeros(0, dtype=np.int64), bad_rows=bad[:])


def count_csv_rows(source: Path | pa.NativeFile, *, path: Path, names: list[str], delimiter: str, encoding: str,
                   skip_rows: int, block_bytes: int = DEFAULT_BLOCK_BYTES) -> int:
    """How many data rows (good and ragged) :func:`csv_batches` would number in ``source``:
    the same parse, converting one column only (the Spark engine's row-offset pass)."""
    ragged = 0

    def on_invalid(row: pacsv.InvalidRow) -> str:
        nonlocal ragged
        ragged += 1
        return "skip"

    good = 0
    try:
        reader = _arrow_csv(source, names=names, delimiter=delimiter, encoding=encoding, skip_rows=skip_rows,
                            block_bytes=block_bytes, on_invalid=on_invalid, include=names[:1])
        for record_batch in reader:
            good += record_batch.num_rows
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        raise _csv_error(exc, path, after_row=good + ragged) from None
    return good + ragged



def _csv_error(exc: Exception, path: Path, after_row: int | None = None) -> InputFileError:
    """A CSV the parser cannot read at all (not one bad row: those go to rejects)."""
    where = f" after data row {after_row}" if after_row else ""
    return InputFileError(
        f"the CSV cannot be parsed{where}: {str(exc).splitlines()[0]}",
        reason="unparseable_csv", file=str(path), row=after_row,
        fix="check the delimiter and quoting (set `delimiter:` in the mapping's source), or re-export the file",
    )


def _fill_row_numbers(good_before: int, n: int, skipped: np.ndarray) -> np.ndarray:
    """Row numbers of good rows ``good_before+1 .. good_before+n`` (1-based among good rows),
    shifted past the data-row numbers in ``skipped`` (sorted)."""
    k = np.arange(good_before + 1, good_before + n + 1, dtype=np.int64)
    if skipped.size == 0:
        return k
    # the k-th good row has number r where r - (#skipped <= r) == k; iterate the fixpoint.
    r = k.copy()
    while True:
        nxt = k + np.searchsorted(skipped, r, side="right")
        if np.array_equal(nxt, r):
            return r
        r = nxt


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def open_xlsx(path: Path, source: SourceSpec, *, used: list[str] | None,
              batch_rows: int = 50_000) -> tuple[FileInfo, Iterator[Batch]]:
    """Open an XLSX sheet (read-only, streamed). Dates stored as dates become ISO text."""
    import openpyxl

    digest, _ = sha256_and_encoding(path, "latin-1")  # latin-1 decodes any byte: hash only
    info = FileInfo(path=path, name=path.name, sha256=digest, size=path.stat().st_size, format="xlsx")
    if info.size == 0:
        raise InputFileError("the file is empty", reason="empty_file", file=str(path), row=0,
                             fix="re-export the workbook")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a corrupt/non-xlsx file
        raise InputFileError(f"not a readable XLSX workbook ({type(exc).__name__})", reason="bad_xlsx",
                             file=str(path), fix="save the export as .xlsx (Excel Workbook)") from None
    if source.sheet is not None and source.sheet not in book.sheetnames:
        import difflib

        close = difflib.get_close_matches(source.sheet, book.sheetnames, n=1, cutoff=0.4)
        book.close()
        raise InputFileError(
            f"sheet '{source.sheet}' does not exist" + (f"; did you mean '{close[0]}'?" if close else ""),
            reason="missing_sheet", file=str(path),
            fix=f"set `sheet:` to one of: {', '.join(book.sheetnames)}",
        )
    sheet = book[source.sheet] if source.sheet is not None else book.worksheets[0]
    rows = sheet.iter_rows(min_row=source.header_row, values_only=True)
    header_cells = next(rows, None)
    if header_cells is None or not any(c is not None for c in header_cells):
        book.close()
        raise InputFileError(f"no header found on row {source.header_row} of sheet '{sheet.title}'",
                             reason="missing_header", file=str(path), line=source.header_row,
                             fix="set `header_row:` to the spreadsheet row holding the column names")
    header = [_cell_text(c) for c in header_cells]
    while header and header[-1] == "":
        header.pop()
    info.header = header
    names = _unique_header(header, path, used)
    width = len(names)

    def batches() -> Iterator[Batch]:
        buffer: list[list[str]] = []
        numbers: list[int] = []
        bad: list[tuple[int, str, str, str]] = []
        number = 0
        for cells in rows:
            number += 1
            if cells is None or all(c is None for c in cells):
                continue  # blank spreadsheet rows are layout, not data
            values = [_cell_text(c) for c in cells[:width]]
            extra = [_cell_text(c) for c in cells[width:] if c is not None]
            if extra:
                bad.append((number, "ragged_row", "\t".join(values + extra),
                            f"row has values beyond the {width} header columns; row not staged. "
                            "Fix: give every column a header or clear the stray cells"))
                continue
            buffer.append(values + [""] * (width - len(values)))
            numbers.append(number)
            if len(buffer) >= batch_rows:
                yield Batch(pd.DataFrame(buffer, columns=names, dtype=object), np.array(numbers, dtype=np.int64), bad)
                buffer, numbers, bad = [], [], []
        book.close()
        yield Batch(pd.DataFrame(buffer, columns=names, dtype=object) if buffer else
                    pd.DataFrame({n: pd.Series([], dtype=object) for n in names}),
                    np.array(numbers, dtype=np.int64), bad)

    return info, batches()


def open_export(path: Path, source: SourceSpec, *, encoding: str | None = None,
                used: list[str] | None = None, block_bytes: int = DEFAULT_BLOCK_BYTES) -> tuple[FileInfo, Iterator[Batch]]:
    """Open one export file with the reader for its format."""
    fmt = source.format or "csv"
    if fmt == "xlsx":
        info, batches = open_xlsx(path, source, used=used)
    elif fmt in NESTED_READERS:
        from stairs_link.io import nested

        info, batches = getattr(nested, NESTED_READERS[fmt])(path, source, encoding=encoding, used=used)
    else:
        info, batches = open_csv(path, source, encoding=encoding, used=used, block_bytes=block_bytes)
    if source.footer_rows:
        batches = skip_footer(batches, source.footer_rows)
    return info, batches


NESTED_READERS = {"json": "open_json", "ndjson": "open_ndjson", "xml": "open_xml"}


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


def read_header(path: Path, source: SourceSpec, *, encoding: str | None = None) -> FileInfo:
    """Open a file just far enough to learn its columns (used by `mapping check`/`mapping new`)."""
    if source.format in NESTED_READERS:
        from stairs_link.io import nested

        info, batches = getattr(nested, NESTED_READERS[source.format])(
            path, source, encoding=encoding, used=[], batch_records=nested.SAMPLE_RECORDS)
        for _ in batches:  # the first records give the paths present (info.header)
            break
        return info
    info, batches = open_export(path, source, encoding=encoding, used=[])
    if source.format == "xlsx":
        close_batches(batches)
    return info
