"""Cutting a CSV export into byte ranges that parse exactly like the whole file (Spark engine).

A cut is made just after a newline byte (0x0A) that lies outside every quoted value, so
each range starts a fresh record and pyarrow reads the same records from the ranges as from
the whole file. The quote state is the parity of the ``"`` bytes seen since the data start.
In UTF-8 and single-byte encodings (cp1252, latin-1) the bytes 0x22 (``"``), 0x0A and the
ASCII delimiters only ever stand for themselves, never inside a multi-byte character.

Parity equals pyarrow's quoting state only when every quote is structural. So the scan also
checks that each opening quote (1st, 3rd, ... since the data start) starts a field (it
follows a delimiter, a line end or the closing quote of an escaped ``""``) and that each
closing quote ends one (a delimiter, a line end, another quote or the end of the file
follows). Anything else (a stray quote inside an unquoted value, text after a closing
quote, an odd number of quotes, another encoding) gives ONE range for the file, which is
exactly what the embedded engine reads; the returned note says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stairs_link.io.quoting import data_start

SCAN_BYTES = 8 << 20
SPLITTABLE_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1", "iso-8859-1", "ascii")
QUOTE, LF, CR = 0x22, 0x0A, 0x0D


@dataclass(frozen=True)
class CsvSplit:
    """Byte ranges ``[start, end)`` of one CSV file; the first includes the header lines."""

    ranges: list[tuple[int, int]]
    note: str | None = None  # why the file was not split (None: split, or small enough)


def split_csv(path: Path, *, header_row: int, delimiter: str, encoding: str, block_bytes: int,
              scan_bytes: int = SCAN_BYTES) -> CsvSplit:
    """Ranges of about ``block_bytes`` each, cut at record boundaries (see module docstring).

    One streaming pass with numpy (quote and line-feed positions per chunk; no per-byte
    Python). Small files, and files whose quoting is irregular, give one range.
    """
    size = path.stat().st_size
    whole = CsvSplit([(0, size)])
    if size <= block_bytes:
        return whole
    if encoding not in SPLITTABLE_ENCODINGS:
        return CsvSplit([(0, size)], f"encoding {encoding} is not split (multi-byte quotes or line ends possible)")
    if len(delimiter.encode("ascii", "replace")) != 1 or delimiter in ('"', "\n", "\r"):
        return CsvSplit([(0, size)], f"delimiter {delimiter!r} is not split")
    start = data_start(path, header_row)
    if start is None:
        return CsvSplit([(0, size)], "header lines end irregularly (bare carriage return or no line feed)")
    delim = ord(delimiter)
    field_start = np.array([delim, LF, CR, QUOTE], dtype=np.uint8)
    field_end = np.array([delim, LF, CR, QUOTE], dtype=np.uint8)
    cuts: list[int] = []
    target = start + block_bytes
    parity = 0  # quotes seen since ``start``, mod 2
    previous = LF  # the byte before the current chunk (``start`` follows a line feed)
    offset = start
    with path.open("rb") as handle:
        handle.seek(start)
        chunk = handle.read(scan_bytes)
        while chunk:
            following = handle.read(scan_bytes)
            data = np.frombuffer(chunk, dtype=np.uint8)
            quotes = np.flatnonzero(data == QUOTE)
            if quotes.size:
                opening = (parity + np.arange(quotes.size)) % 2 == 0
                before = np.where(quotes > 0, data[np.maximum(quotes - 1, 0)], previous)
                after_index = quotes + 1
                last = after_index >= data.size
                after = data[np.minimum(after_index, data.size - 1)].copy()
                if following:
                    after[last] = following[0]
                else:
                    after[last] = delim  # end of file ends a field
                if not np.isin(before[opening], field_start).all():
                    return CsvSplit([(0, size)], "a quote inside an unquoted value (quoting irregular)")
                if not np.isin(after[~opening], field_end).all():
                    return CsvSplit([(0, size)], "text after a closing quote (quoting irregular)")
            feeds = np.flatnonzero(data == LF)
            outside = (parity + np.searchsorted(quotes, feeds)) % 2 == 0
            boundaries = feeds[outside] + offset + 1  # a range may start here
            while target < offset + data.size:
                at = np.searchsorted(boundaries, target)
                if at == boundaries.size:
                    break
                cut = int(boundaries[at])
                if cut >= size:
                    break
                cuts.append(cut)
                target = cut + block_bytes
            parity = (parity + quotes.size) % 2
            previous = int(data[-1])
            offset += data.size
            chunk = following
    if parity:
        return CsvSplit([(0, size)], "an odd number of quotes (an unterminated quoted value)")
    edges = [0, *cuts, size]
    return CsvSplit(list(zip(edges[:-1], edges[1:])))
