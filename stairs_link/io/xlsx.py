"""XLSX reader: openpyxl read-only mode, rows streamed in batches (Excel caps a sheet at
1,048,576 rows, so a per-row loop is bounded here and unavoidable: openpyxl yields rows).

Before openpyxl reads anything, the workbook's zip directory is checked
(:func:`check_archive`): a member that would expand more than :data:`MAX_RATIO` times to
more than :data:`BOMB_MIN_BYTES` is a zip bomb (``zip_bomb``), an archive expanding to more
than :data:`MAX_UNCOMPRESSED_BYTES` is refused (``xlsx_too_large``), and a file that is not a
zip archive at all (a CSV renamed .xlsx, a cut-short download) is ``bad_xlsx``. Python's
zipfile never inflates a member past the size its directory declares, so checking the
declared sizes bounds what is read.

Cells that would silently become blanks or wrong text are rejects, in the columns the
mapping uses: a formula with no saved result (openpyxl reads it as empty; found by a
streaming pass over the sheet's XML, only when the sheet has formulas) is
``formula_without_value``, and an Excel error value (``#NAME?``, ``#REF!``, ...) is
``error_cell``, never a child's name.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stairs_link.errors import InputFileError
from stairs_link.io.base import (
    Batch,
    FileInfo,
    Reader,
    ReadOptions,
    match_header,
    register,
    require_unchanged,
    sha256_and_encoding,
    unique_header,
)

MAX_RATIO = 100  # uncompressed / compressed; sheet XML compresses 5-20 times, a zip bomb ~1,000
BOMB_MIN_BYTES = 100 << 20  # a member expanding past this at more than MAX_RATIO is a zip bomb
MAX_UNCOMPRESSED_BYTES = 4 << 30  # the whole archive expanded (far beyond what Excel writes)
MAX_MEMBERS = 10_000
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                          "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"})
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
_RESAVE = "open it in Excel and save it as Excel Workbook (.xlsx), or export the data as CSV"


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


def check_archive(path: Path) -> None:
    """Refuse a workbook that is not a zip archive, or whose members would expand too far
    (see the module docstring), before anything is inflated."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        with path.open("rb") as handle:
            head = handle.read(512)
        looks = ("it looks like a text file (a CSV named .xlsx?)" if head and b"\0" not in head
                 and all(b >= 9 for b in head) else f"it is not a zip archive ({str(exc)[:80]})")
        raise InputFileError(f"not an XLSX workbook: {looks}", reason="bad_xlsx", file=str(path),
                             fix="if it is text, name it .csv (or set `format: csv`); else " + _RESAVE) from None
    if len(members) > MAX_MEMBERS:
        raise InputFileError(f"the workbook archive holds {len(members):,} files (more than {MAX_MEMBERS:,})",
                             reason="xlsx_too_large", file=str(path), fix=_RESAVE)
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > BOMB_MIN_BYTES and ratio > MAX_RATIO:
            raise InputFileError(
                f"the workbook's member '{member.filename}' would expand {ratio:,.0f} times, to "
                f"{member.file_size / 1e6:,.0f} MB (a zip bomb: a real sheet compresses 5-20 times); refused unread",
                reason="zip_bomb", file=str(path), column=member.filename,
                fix="re-export the data as CSV from the system that produced it (and check where this file came from)")
    if total > MAX_UNCOMPRESSED_BYTES:
        raise InputFileError(f"the workbook would expand to {total / 1e9:,.1f} GB (more than "
                             f"{MAX_UNCOMPRESSED_BYTES / 1e9:,.1f} GB); refused unread", reason="xlsx_too_large",
                             file=str(path), fix="re-export the data as CSV (large exports read faster as CSV too)")


def load_workbook(path: Path, *, data_only: bool = True) -> Any:
    """``path`` opened with openpyxl (read-only) after :func:`check_archive`; a file openpyxl
    cannot read is ``bad_xlsx``."""
    import openpyxl

    check_archive(path)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    except Exception as exc:  # openpyxl raises many types for a corrupt/non-xlsx file
        raise InputFileError(f"not a readable XLSX workbook ({type(exc).__name__})", reason="bad_xlsx",
                             file=str(path), fix=_RESAVE) from None


def _guarded(rows: Iterator[tuple], path: Path, first_row: int) -> Iterator[tuple]:
    """openpyxl's rows; a sheet whose XML breaks off (a cut-short or damaged file) is
    ``bad_xlsx`` naming the last spreadsheet row read, not a parser traceback."""
    row = first_row - 1
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - the XML parser's many error types
            raise InputFileError(f"the sheet cannot be read after spreadsheet row {row} ({type(exc).__name__}: "
                                 "its XML is damaged or cut short)", reason="bad_xlsx", file=str(path),
                                 line=row or None, fix=_RESAVE) from None
        row += 1
        yield cells


def formulas_without_values(path: Path, member: str) -> set[tuple[int, int]]:
    """(row, column), 1-based, of every cell of the sheet stored in zip member ``member`` that
    holds a formula but no saved result. Empty (and no second pass) for a sheet with no
    formula, which a quick scan of its bytes tells."""
    from defusedxml.ElementTree import iterparse

    with zipfile.ZipFile(path) as archive:
        with archive.open(member) as handle:
            tail = b""
            while chunk := handle.read(1 << 20):
                if _FORMULA_TAG.search(tail + chunk):
                    break
                tail = chunk[-64:]
            else:
                return set()
        found: set[tuple[int, int]] = set()
        with archive.open(member) as handle:
            try:
                _scan_formulas(iterparse(handle, events=("start", "end"), forbid_dtd=True), found)
            except InputFileError:
                raise
            except Exception as exc:  # noqa: BLE001 - the XML parser's many error types
                raise InputFileError(f"the sheet's XML cannot be read ({type(exc).__name__}: it is damaged or cut "
                                     "short)", reason="bad_xlsx", file=str(path), fix=_RESAVE) from None
        return found


def _scan_formulas(events: Iterator[tuple[str, Any]], found: set[tuple[int, int]]) -> None:
    """Add to ``found`` the (row, column) of each formula cell with no saved value."""
    from openpyxl.utils.cell import coordinate_to_tuple

    row = column = 0
    parent: Any = None
    for event, element in events:
        tag = element.tag.rsplit("}", 1)[-1]
        if event == "start":
            if tag == "row":
                row = int(element.get("r") or row + 1)
                column = 0
            elif tag == "sheetData":
                parent = element
            continue
        if tag == "c":
            ref = element.get("r")
            row, column = coordinate_to_tuple(ref) if ref else (row, column + 1)
            children = {child.tag.rsplit("}", 1)[-1]: child for child in element}
            saved = children["v"].text if "v" in children else None
            # t="str" with an empty value is a saved empty-text result (=IF(A1="","",A1)), not a missing one
            if "f" in children and not saved and element.get("t") != "str":
                found.add((row, column))
        elif tag == "row":
            element.clear()
            if parent is not None and len(parent) and parent[0] is element:
                del parent[0]  # rows are done in order: memory stays one row


def open_xlsx(path: Path, source: ReadOptions, *, used: list[str] | None,
              batch_rows: int = 50_000) -> tuple[FileInfo, Iterator[Batch]]:
    """Open an XLSX sheet (read-only, streamed). Dates stored as dates become ISO text."""
    before = path.stat()
    digest, _ = sha256_and_encoding(path, "latin-1")  # latin-1 decodes any byte: hash only
    info = FileInfo(path=path, name=path.name, sha256=digest, size=path.stat().st_size, format="xlsx")
    if info.size == 0:
        raise InputFileError("the file is empty", reason="empty_file", file=str(path), row=0,
                             fix="re-export the workbook")
    book = load_workbook(path)
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
    rows = _guarded(sheet.iter_rows(min_row=source.header_row, values_only=True), path, source.header_row)
    header_cells = next(rows, None)
    if header_cells is None or not any(c is not None for c in header_cells):
        book.close()
        raise InputFileError(f"no header found on row {source.header_row} of sheet '{sheet.title}'",
                             reason="missing_header", file=str(path), line=source.header_row,
                             fix="set `header_row:` to the spreadsheet row holding the column names")
    header = [_cell_text(c) for c in header_cells]
    while header and header[-1] == "":
        header.pop()
    header, info.header_cells = match_header(header, used)
    info.header = header
    names = unique_header(header, path, used)
    width = len(names)
    # the columns whose cells are checked (formulas without values, error values): the mapped ones
    checked = [(i, header[i]) for i in range(width) if used is None or header[i] in used]
    member = getattr(sheet, "_worksheet_path", None)
    formulas = formulas_without_values(path, member) if member and checked else set()

    def problem(cells: tuple, sheet_row: int) -> tuple[str, str, str] | None:
        """(reason, raw value, message) for a row with a blank formula or an error in a mapped cell."""
        for position, column in checked:
            value = cells[position] if position < len(cells) else None
            if value is None and (sheet_row, position + 1) in formulas:
                return ("formula_without_value", "",
                        f"column '{column}' (row {sheet_row}) holds a formula with no saved result, so its value is "
                        "unknown; row not staged. Fix: open the workbook in Excel so it recalculates and save it "
                        "(or paste the column as values), then re-export; the program that wrote it did not "
                        "calculate formulas")
            if isinstance(value, str) and value in EXCEL_ERRORS:
                return ("error_cell", value,
                        f"column '{column}' (row {sheet_row}) holds the Excel error {value} (a formula that "
                        "failed), not a value; row not staged. Fix: correct the formula in the workbook (or type "
                        "the value) and re-export")
        return None

    def batches() -> Iterator[Batch]:
        buffer: list[list[str]] = []
        numbers: list[int] = []
        bad: list[tuple[int, str, str, str]] = []
        number = 0
        for cells in rows:
            number += 1
            cells = cells or ()
            if all(c is None for c in cells):
                if not formulas or not any((source.header_row + number, p + 1) in formulas for p, _ in checked):
                    continue  # blank spreadsheet rows are layout, not data
            values = [_cell_text(c) for c in cells[:width]]
            extra = [_cell_text(c) for c in cells[width:] if c is not None]
            if extra:
                bad.append((number, "ragged_row", "\t".join(values + extra),
                            f"row has values beyond the {width} header columns; row not staged. "
                            "Fix: give every column a header or clear the stray cells"))
                continue
            found = problem(cells, source.header_row + number) if checked else None
            if found is not None:
                bad.append((number, *found))
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
        require_unchanged(path, before)

    return info, batches()


def _open(path: Path, source: ReadOptions, *, encoding: str | None = None, used: list[str] | None = None,
          block_bytes: int = 0) -> tuple[FileInfo, Iterator[Batch]]:
    """:func:`open_xlsx` with the registry's signature (a workbook has no text encoding or blocks)."""
    return open_xlsx(path, source, used=used)


register(Reader("xlsx", (".xlsx", ".xlsm"), _open))
