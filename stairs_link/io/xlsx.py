"""XLSX reader: openpyxl read-only mode, rows streamed in batches (Excel caps a sheet at
1,048,576 rows, so a per-row loop is bounded here and unavoidable: openpyxl yields rows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from stairs_link.errors import InputFileError
from stairs_link.io.base import Batch, FileInfo, Reader, ReadOptions, register, sha256_and_encoding, unique_header


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


def open_xlsx(path: Path, source: ReadOptions, *, used: list[str] | None,
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
    names = unique_header(header, path, used)
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


def _open(path: Path, source: ReadOptions, *, encoding: str | None = None, used: list[str] | None = None,
          block_bytes: int = 0) -> tuple[FileInfo, Iterator[Batch]]:
    """:func:`open_xlsx` with the registry's signature (a workbook has no text encoding or blocks)."""
    return open_xlsx(path, source, used=used)


register(Reader("xlsx", (".xlsx", ".xlsm"), _open))
