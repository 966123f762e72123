"""CSV reader: streamed with ``pyarrow.csv.open_csv`` in blocks, so a file larger than memory
works. Encoding is checked in a streaming pass first (which also computes the file's sha256),
so a bad byte is reported with its line instead of failing half-way through.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from stairs_link.errors import InputFileError
from stairs_link.io.base import (
    DEFAULT_BLOCK_BYTES,
    TEXT,
    Batch,
    FileInfo,
    HashingReader,
    Reader,
    ReadOptions,
    check_encoding,
    match_header,
    register,
    unique_header,
)
from stairs_link.io.quoting import QuoteScan, SkippingReader, Utf8View, scan_quotes, stray_rows

DELIMITER_CANDIDATES = (",", ";", "|", "\t")
MAX_HEADER_LINES = 4  # physical lines one header record may span (column names with line breaks)


def _first_lines(path: Path, encoding: str, count: int) -> list[str]:
    with path.open("r", encoding=encoding, newline="") as handle:
        return [line for _, line in zip(range(count), handle)]


def detect_delimiter(header_line: str) -> str:
    """The candidate delimiter that splits the header line into the most columns."""
    counts = {d: header_line.count(d) for d in DELIMITER_CANDIDATES}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def open_csv(path: Path, source: ReadOptions, *, encoding: str | None, used: list[str] | None,
             block_bytes: int = DEFAULT_BLOCK_BYTES) -> tuple[FileInfo, Iterator[Batch]]:
    """Check and open a CSV export; return its info and an iterator of batches."""
    wanted = encoding or source.encoding
    checked = check_encoding(path, wanted)
    detected = checked.encoding
    info = FileInfo(path=path, name=path.name, sha256=checked.sha256, size=path.stat().st_size, format="csv",
                    encoding=detected, encoding_detail=checked.detail)
    if detected is None:
        raise InputFileError("the file is empty (not even a header line)", reason="empty_file", file=str(path),
                             row=0, fix="re-export it with its header line; a header with no rows is fine")
    lines = _first_lines(path, detected, source.header_row)
    if len(lines) < source.header_row or not lines[-1].strip():
        raise InputFileError(f"no header found on line {source.header_row}", reason="missing_header",
                             file=str(path), line=source.header_row,
                             fix="set `header_row:` in the mapping's source to the line holding the column names")
    delimiter = source.delimiter or detect_delimiter(lines[-1])
    cells, header_lines = _header_record(path, detected, source.header_row, delimiter)
    header, info.header_cells = match_header([h.strip() for h in cells], used)
    info.delimiter = delimiter
    info.header = header
    names = unique_header(header, path, used)
    info.names = names
    info.header_lines = header_lines
    info.quotes = scan_quotes(path, header_lines=header_lines, delimiter=delimiter, columns=len(names),
                              encoding=detected)
    return info, csv_batches(path, path=path, names=names, delimiter=delimiter, encoding=detected,
                             skip_rows=header_lines, block_bytes=block_bytes, quotes=info.quotes, info=info)


def _header_record(path: Path, encoding: str, header_row: int, delimiter: str) -> tuple[list[str], int]:
    """The header's cells, read as a CSV record from line ``header_row`` (a quoted cell may hold
    a line break), and the physical lines up to its end (the lines before the data)."""
    with path.open("r", encoding=encoding, newline="") as handle:
        for _ in range(header_row - 1):
            handle.readline()
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            cells = next(reader)
        except (csv.Error, StopIteration) as exc:
            raise InputFileError(f"the header on line {header_row} cannot be read as a CSV record ({exc})",
                                 reason="missing_header", file=str(path), line=header_row,
                                 fix="check the header's quotes (a quote opened in a column name and never "
                                     "closed), or set `header_row:` to the line holding the column names") from None
        swallowed = any(("\n" in c or "\r" in c) and delimiter in c for c in cells)
        if reader.line_num > MAX_HEADER_LINES or swallowed:  # a stray quote, not a line break in a name
            raise InputFileError(f"the header on line {header_row} opens a quote that is not closed "
                                 + ("before the next delimiter on a later line" if swallowed else
                                    f"within {MAX_HEADER_LINES} lines") + ", so it would swallow data rows",
                                 reason="quote_imbalance", file=str(path), line=header_row,
                                 fix="remove the stray quote from the header line (or close it where the "
                                     "column name ends)")
        return cells, header_row - 1 + reader.line_num


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
                skip_rows: int, block_bytes: int = DEFAULT_BLOCK_BYTES, row_offset: int = 0,
                quotes: QuoteScan | None = None, info: FileInfo | None = None) -> Iterator[Batch]:
    """Batches of a CSV file (or of a byte range of one, for the Spark engine) as text.

    ``skip_rows`` raw lines are skipped first (the header: pyarrow skips lines, not quoted
    records). Data rows are numbered from ``row_offset + 1`` in file order; blank lines are
    not rows (pyarrow skips them), ragged rows take their number and go to ``bad_rows``.
    Records that ``quotes`` found holding a stray quote (whole file only) are left out of
    what pyarrow reads and go to ``bad_rows`` as ``quote_imbalance``, keeping their number
    (when the scan read the file's UTF-8 transcoding, pyarrow reads that transcoding, streamed).
    With ``info`` (a whole file at a path), the file is read through a :class:`HashingReader`
    and, after the last row, ``info.sha256`` and ``info.size`` become those of the bytes the
    rows were parsed from; a file that changed meanwhile is refused (``source_changed``).
    """
    bad: list[tuple[int, str, str, str]] = []
    stray = quotes.stray if quotes is not None else []
    # data row numbers taken by quote-imbalance rejects: pyarrow's numbers skip over them
    taken = np.array([r.record for r in stray], dtype=np.int64)
    first_bad: list[tuple[int, str, str, str]] = []
    hashing = HashingReader.open(source) if isinstance(source, Path) and info is not None else None
    if quotes is not None and stray:
        opener: Callable[[], Any]
        handle: Any
        if isinstance(source, Path):
            opener = partial(source.open, "rb")
            handle = hashing or source.open("rb")
        else:  # the whole file's bytes (Spark engine)
            data = source.read()
            opener = partial(io.BytesIO, data)
            handle = io.BytesIO(data)
        transcode = encoding if quotes.utf8 else None
        # one handle for every rejected record (in file order: a transcoding is read once, forward)
        with opener() if transcode is None else io.BufferedReader(Utf8View(opener(), transcode)) as reader:
            first_bad = stray_rows(quotes, encoding, partial(_read_range, reader))
        if transcode is not None:  # pyarrow reads the UTF-8 transcoding the scan's offsets are in
            handle, encoding = Utf8View(handle, transcode), "utf-8"
        source = pa.PythonFile(io.BufferedReader(SkippingReader(handle, [(r.start, r.end) for r in stray])), mode="r")
    elif hashing is not None:
        source = pa.PythonFile(io.BufferedReader(hashing, buffer_size=1 << 20), mode="r")

    def on_invalid(row: pacsv.InvalidRow) -> str:
        # row.number counts every row of the source from 1, skipped header lines included
        # (reliable because use_threads=False).
        number = int(_past(np.array([(row.number or 0) - skip_rows]), taken)[0]) + row_offset
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
        new_bad = first_bad + bad[:]
        first_bad = []
        bad.clear()
        bad_before.extend(b[0] - row_offset for b in new_bad)
        n = record_batch.num_rows
        # data row numbers: good rows fill the numbers not taken by skipped (ragged, stray) rows
        rows = _fill_row_numbers(staged_before, n, np.array(sorted(bad_before), dtype=np.int64)) + row_offset
        staged_before += n
        frame = record_batch.to_pandas(types_mapper={pa.string(): TEXT}.get)
        yield Batch(frame=frame, source_rows=rows, bad_rows=new_bad)
    if bad or first_bad:  # ragged rows after the last good row
        yield Batch(frame=pd.DataFrame({n: pd.Series([], dtype=TEXT) for n in names}),
                    source_rows=np.zeros(0, dtype=np.int64), bad_rows=first_bad + bad[:])
    if hashing is not None and info is not None:
        hashing.finish(info)
        hashing.close()


def _read_range(handle: Any, start: int, end: int) -> bytes:
    """Bytes ``[start, end)`` of a seekable binary stream."""
    handle.seek(start)
    return handle.read(end - start)


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
    return _past(np.arange(good_before + 1, good_before + n + 1, dtype=np.int64), skipped)


def _past(k: np.ndarray, skipped: np.ndarray) -> np.ndarray:
    """The ``k``-th numbers (1-based) of the sequence 1, 2, ... with ``skipped`` (sorted) left out."""
    if skipped.size == 0:
        return k
    # the k-th good row has number r where r - (#skipped <= r) == k; iterate the fixpoint.
    r = k.copy()
    while True:
        nxt = k + np.searchsorted(skipped, r, side="right")
        if np.array_equal(nxt, r):
            return r
        r = nxt


register(Reader("csv", (".csv", ".txt", ".tsv"), open_csv))
