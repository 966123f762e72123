"""Row integrity of a CSV export: find stray and unclosed quotes before pyarrow reads it.

pyarrow (like every CSV reader) lets a quoted value run over line breaks until its closing
quote. One quote typed at the start of a name therefore swallows every line up to the next
quote, possibly hundreds of rows, into a single value, and an unclosed quote swallows the
rest of the file. This module models pyarrow's quoting exactly (below), finds each quoted
value that spans line breaks, and judges whether it is a real multi-line value (an address
or a note) or a quote imbalance: a value that

- is never closed (runs to the end of the file), or
- is closed by a quote followed by more text (``"Ann,...`` ... ``"Bob,...``: pyarrow
  would carry on reading the text unquoted), or
- leaves its record with another field count than the header's (counting delimiters
  outside quoted values: the row would be ragged), or
- swallows a line that, read on its own, is a whole row (at least the header's number
  of fields): a line inside the value, or the closing line up to the closing quote.

Limits (a quote imbalance cannot always be told from a real multi-line value): a stray
quote closed on the next line or the one after, by a quote that starts a field and with
the merged record keeping the header's field count, reads as a multi-line value; the
records it merges then stay one row (the manifest counts the line break as quoted).

The quote that opened such a value is treated as a literal character, exactly as a reader
that ignores the stray quote would, and the record holding it is rejected (reason
``quote_imbalance``, with its physical line numbers); the rest of the file is read as that
reader would read it. The rejected records' byte ranges are skipped when the file is
handed to pyarrow (:class:`SkippingReader`), so both engines read the same records.

pyarrow's quoting, as a state machine over maximal runs of quote bytes: outside a quoted
value, a run at the start of a field (after a delimiter, a line end or the start of the
data) opens a value when its length is odd (an even run is an empty or escaped ``""``);
a run in the middle of an unquoted value is literal text. Inside a quoted value, an odd
run closes it (pairs are escaped quotes) and an even run does not. So the only runs that
change state are odd ones: openers are odd runs at a field start, and each opener is
closed by the very next odd run. The pairing is computed with numpy; a Python loop runs
only over the rare places where two field-start runs follow each other. Most exports need
no pairing at all: when the odd runs alternate opener, closer and none has a line feed
between it and its closer (checked chunk by chunk while reading), no quoted value spans
lines and there is nothing to find (see ``_Runs``).

Line ends are those pyarrow splits rows at: a line feed, a carriage return followed by a
line feed (one line end, at its line feed), and a bare carriage return (old Mac exports;
also mixed with the others). ``ends`` below are the offsets of the byte that ends each line
(the LF, or the bare CR).

The scan reads bytes. A file is scanned as it is when ``"``, the delimiter, CR and LF are
their ASCII bytes and no byte of another character is one of them: UTF-8 (with or without
a BOM, and the cp1252 fallback) and every single-byte ASCII-compatible code page (cp1252,
Latin-1, cp1250, mac_iceland ...: whatever charset-normalizer guesses), checked per codec
(:func:`bytes_stand_for_themselves`). Any other encoding (UTF-16, UTF-32, EBCDIC, Shift_JIS
...) is scanned as its UTF-8 transcoding, streamed (:class:`Utf8View`): the same text pyarrow
parses (it transcodes through the same Python codec), so the same records, and the same
physical lines in any encoding. The rejected records' byte ranges are then offsets in that
transcoding (``QuoteScan.utf8``), and pyarrow is given the transcoding with them left out.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import functools
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stairs_link.errors import InputFileError
from stairs_link.io.base import FALLBACK_ENCODING

SCAN_BYTES = 1 << 20
PAIR_WINDOW = 1 << 16  # odd runs paired at first in a round of the full scan (widened as needed)
UTF8_NAMES = ("utf-8", "utf-8-sig", FALLBACK_ENCODING)  # codecs.lookup(...).name of the UTF-8 family
QUOTE, LF, CR = 0x22, 0x0A, 0x0D
MAX_STRAY_QUOTES = 200  # beyond this the file's quoting is not "a few stray quotes"
RAW_TEXT_LIMIT = 2000  # characters of a rejected record kept as its raw value


@dataclass(frozen=True)
class StrayRecord:
    """A record rejected for a quote imbalance: bytes ``[start, end)`` of the file."""

    start: int
    end: int
    record: int  # 1-based data row number (as the reader numbers rows)
    first_line: int  # physical line numbers in the file (header lines included)
    last_line: int
    quote_line: int  # physical line of the stray quote
    closed_at_line: int | None  # where pyarrow would have closed the value (None: never)
    why: str


@dataclass
class QuoteScan:
    """What the scan found in one CSV file's data lines (after the header)."""

    checked: bool
    note: str | None = None
    physical_lines: int = 0  # data lines (a last line without a line feed counts)
    blank_lines: int = 0  # empty lines outside quoted values (readers skip them)
    quoted_line_breaks: int = 0  # line ends inside real multi-line values
    stray: list[StrayRecord] = field(default_factory=list)
    utf8: bool = False  # scanned as the file's UTF-8 transcoding: ``stray`` offsets are offsets in it

    @property
    def expected_records(self) -> int:
        """Records a reader should find: lines minus blank ones minus quoted line breaks."""
        return self.physical_lines - self.blank_lines - self.quoted_line_breaks

    def manifest(self, records: int, header_lines: int) -> dict:
        """The manifest's ``rows`` entry for the file, flagging an unexplained difference."""
        entry: dict = {
            "physical_lines": self.physical_lines + header_lines,
            "header_lines": header_lines,
            "blank_lines": self.blank_lines,
            "quoted_line_breaks": self.quoted_line_breaks,
            "records": records,
            "quote_imbalance_records": len(self.stray),
        }
        if not self.checked:
            entry["quote_check"] = f"skipped: {self.note}"
            return entry
        unexplained = self.expected_records - records
        entry["unexplained_line_difference"] = unexplained
        return entry


def data_start(path: Path, header_row: int, transcode: str | None = None) -> int | None:
    """Byte offset just after the ``header_row``-th line end (LF, CRLF or a bare CR): where
    pyarrow's ``skip_rows`` (which skips raw lines, not quoted records, and splits them as
    rows are split) leaves off. ``transcode``: an encoding, for the offset in the file's UTF-8
    transcoding (:class:`Utf8View`). None if the file has fewer line ends."""
    if header_row <= 0:
        return 0
    with _open_scanned(path, transcode) as handle:
        return _skip_lines(handle, header_row)


def _line_ends(data: np.ndarray, following: int) -> np.ndarray:
    """Offsets in ``data`` of the bytes that end a line: every LF, and every CR that is not
    followed by an LF (``following``: the byte after ``data``, 0 at the end of the file)."""
    feeds = np.flatnonzero(data == LF)
    returns = np.flatnonzero(data == CR)
    if returns.size == 0:
        return feeds
    nxt = returns + 1
    after = data[np.minimum(nxt, data.size - 1)]
    after[nxt == data.size] = following
    bare = returns[after != LF]
    return np.union1d(feeds, bare) if bare.size else feeds


def _next_byte(handle: io.BufferedReader) -> int:
    """The next byte of ``handle`` without reading it (0 at the end)."""
    ahead = handle.peek(1)[:1]
    return ahead[0] if ahead else 0


@functools.lru_cache(maxsize=64)
def bytes_stand_for_themselves(encoding: str, delimiter: str) -> bool:
    """Can the scan read this encoding's bytes as they are? True for UTF-8 (an ASCII byte is
    never part of a multi-byte character) and for a single-byte code page in which ``"``, the
    delimiter, CR and LF are their ASCII bytes and no other byte decodes to one of them
    (every byte decodes alone to one character or is undefined; a byte that decodes to
    nothing by itself is the first of a multi-byte character or a shift: not single-byte)."""
    try:
        info = codecs.lookup(encoding)
        if info.name in UTF8_NAMES:
            return True
        special = {ord(c) for c in ('"', delimiter, "\r", "\n")}
        for byte in range(256):
            try:
                text = codecs.getincrementaldecoder(encoding)().decode(bytes([byte]))
            except UnicodeDecodeError:
                continue  # undefined in this code page (check_encoding refuses a file holding it)
            if len(text) != 1 or (byte in special or ord(text) in special) and ord(text) != byte:
                return False
        return True
    except (LookupError, TypeError, ValueError):
        return False


def _open_scanned(path: Path, transcode: str | None, marks: list | None = None) -> io.BufferedReader:
    """The bytes the scan reads: the file, or (``transcode``: its encoding) its UTF-8 transcoding."""
    if transcode is None:
        return path.open("rb")
    return io.BufferedReader(Utf8View(path.open("rb"), transcode, marks), buffer_size=1 << 16)


@dataclass
class _Runs:
    """What :func:`_scan_runs` finds: line-feed offsets, the file size, and per chunk the
    odd runs of quotes (offset, starts a field, byte after it).

    ``simple``: no quoted value holds a line feed, known without the pairing, so there is
    nothing more to find (the per-chunk arrays are then never joined). It holds when the
    odd runs alternate opener, closer: every even-numbered run (counting from 0 over the
    file) starts a field, so pyarrow opens a value there and the next run closes it; a
    line feed is then inside a value exactly when an odd number of runs lies before it,
    and none may. Any other file (a quote inside an unquoted value, an unclosed quote, a
    real multi-line value) takes the full pairing in :func:`scan_quotes`."""

    ends: np.ndarray
    size: int
    simple: bool
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every odd run's offset, whether it starts a field, and the byte after it."""
        if not self.parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool), np.zeros(0, dtype=np.uint8)
        runs, at_start, after = zip(*self.parts)
        return np.concatenate(runs), np.concatenate(at_start), np.concatenate(after)


def _scan_runs(path: Path | Callable[[], io.BufferedReader], start: int, delimiter: int, chunk_bytes: int) -> _Runs:
    """One streaming pass from ``start`` over ``path`` (or the stream ``path()`` opens):
    line-end offsets (see the module docstring), and for each odd run of quotes
    its offset, whether it starts a field, and the byte after it (LF at the end of the
    file). A chunk that ends in quotes is cut before them (they are read again with the
    next chunk), so that no run of quotes is cut.

    The work is on quote positions, not on per-byte arrays beyond the two comparisons:
    runs are told apart by gaps between consecutive quote positions, their lengths by the
    distance between run starts. Chunks are small enough (1 MB by default) for numpy's
    temporary arrays to be reused from the heap rather than mapped afresh each time. The
    file is read, not memory-mapped: a file truncated while it is mapped kills the
    process (SIGBUS) instead of raising an error."""
    ends: list[np.ndarray] = []
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    field_start = _byte_set(delimiter, LF, CR)
    previous = LF  # the byte before ``start`` ends the header line
    offset = start
    parity = 0  # odd runs so far, modulo 2
    simple = True
    with (path.open("rb") if isinstance(path, Path) else path()) as handle:
        handle.seek(start)
        while chunk := handle.read(chunk_bytes):
            data = np.frombuffer(chunk, dtype=np.uint8)
            if data[-1] == QUOTE:
                cut = _before_trailing_quotes(data)
                if cut == 0:  # a chunk of quotes only: read on until a byte that is not one
                    grown = bytearray(chunk)  # grows in place: linear in a long run of quotes
                    while cut == 0 and (more := handle.read(chunk_bytes)):
                        grown += more
                        tail = _before_trailing_quotes(np.frombuffer(more, dtype=np.uint8))
                        cut = len(grown) - len(more) + tail if tail else 0
                    data = np.frombuffer(grown, dtype=np.uint8)
                if 0 < cut < data.size:
                    handle.seek(cut - data.size, io.SEEK_CUR)
                    data = data[:cut]
            line_feeds = _line_ends(data, _next_byte(handle))  # line ends (LF or a bare CR)
            ends.append(line_feeds + offset)
            q = np.flatnonzero(data == QUOTE)
            if q.size:
                # a run starts where the gap to the previous quote is more than one byte
                run_first = np.flatnonzero(np.diff(q) != 1) + 1
                lengths = np.diff(run_first, prepend=0, append=q.size)
                odd = (lengths & 1).astype(bool)
                first = q[np.concatenate(([0], run_first))[odd]]
                after_run = first + lengths[odd]  # the byte after each odd run
                before = data[first - 1]  # first - 1 == -1 wraps to the last byte: replaced just below
                if first.size and first[0] == 0:
                    before[0] = previous
                starts = field_start[before]
                if after_run.size and after_run[-1] == data.size:  # only at the end of the file (see the cut)
                    after = np.append(data[after_run[:-1]], np.uint8(LF))
                else:
                    after = data[after_run]
                parts.append((first + offset, starts, after))
                # runs whose number in the file is even must open; no line feed inside a pair
                simple = simple and bool(starts[parity::2].all()) and \
                    not ((np.searchsorted(first, line_feeds) + parity) & 1).any()
                parity = (parity + first.size) % 2
            elif parity and line_feeds.size:  # line ends after an opener still to be closed
                simple = False
            previous = int(data[-1])
            offset += data.size
    line_ends = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)
    return _Runs(ends=line_ends, size=offset, simple=simple and parity == 0, parts=parts)


def _before_trailing_quotes(data: np.ndarray) -> int:
    """Length of ``data`` without its trailing run of quotes (0: all quotes); looks back
    through a growing window so that a normal chunk costs a few bytes, not a pass."""
    window = 64
    while True:
        low = max(data.size - window, 0)
        others = np.flatnonzero(data[low:] != QUOTE)
        if others.size:
            return low + int(others[-1]) + 1
        if low == 0:
            return 0
        window *= 16


def _pair(runs_at_start: np.ndarray, literal: set[int]) -> tuple[np.ndarray, np.ndarray]:
    """Opener run indices and their closer indices (-1: unclosed), following pyarrow's
    state machine; runs in ``literal`` never open."""
    n = runs_at_start.size
    can_open = runs_at_start.copy()
    if literal:
        can_open[list(literal)] = False
    f = np.flatnonzero(can_open)
    if f.size == 0:
        return f, f
    # after opener f[j] (closed by run f[j] + 1) the next opener is the first f >= f[j] + 2
    # (f is strictly increasing, so that is f[j+1] unless f[j+1] == f[j] + 1, then f[j+2])
    jumps = np.flatnonzero(f[1:] == f[:-1] + 1)  # the chain does not simply step on: skips j + 1
    chosen = np.zeros(f.size, dtype=bool)
    j = 0
    while j < f.size:
        at = np.searchsorted(jumps, j)
        if at == jumps.size:
            chosen[j:] = True
            break
        e = int(jumps[at])
        chosen[j:e + 1] = True
        j = e + 2
    openers = f[chosen]
    closers = openers + 1
    closers[closers >= n] = -1
    return openers, closers


def scan_quotes(path: Path, *, header_lines: int, delimiter: str, columns: int, encoding: str,
                chunk_bytes: int = SCAN_BYTES) -> QuoteScan:
    """Scan one CSV file's data lines (after its first ``header_lines`` lines), as bytes or
    as its UTF-8 transcoding; see the module docstring. ``columns``: the header's column count."""
    if len(delimiter) != 1 or ord(delimiter) > 127 or delimiter in ('"', "\n", "\r"):
        return QuoteScan(checked=False, note=f"delimiter {delimiter!r} is not a single ASCII character")
    transcode = None if bytes_stand_for_themselves(encoding, delimiter) else encoding
    marks: list = []  # Utf8View's restart points, shared by every pass over the transcoding
    source = functools.partial(_open_scanned, path, transcode, marks)
    with source() as handle:
        data_at = _skip_lines(handle, header_lines) if header_lines > 0 else 0  # where the data starts
    if data_at is None:
        return QuoteScan(checked=False, note="the file ends within its header lines")
    delim = ord(delimiter)
    scanned = _scan_runs(source, data_at, delim, chunk_bytes)
    ends, size = scanned.ends, scanned.size
    last_open = size > (int(ends[-1]) + 1 if ends.size else data_at)  # a last line with no line feed
    physical = int(ends.size) + int(last_open)
    scan = QuoteScan(checked=True, physical_lines=physical, utf8=transcode is not None)
    if physical == 0:
        return scan
    line_starts = np.concatenate([[data_at], ends + 1])[:physical]
    line_ends = np.concatenate([ends, [size]])[:physical]  # offset of the line end (or the file end)
    empty = _empty_lines(source, line_starts, line_ends)
    if scanned.simple:  # the common case: no quoted value spans lines, nothing more to find
        scan.blank_lines = int(empty.sum())
        return scan
    runs, at_start, after = scanned.arrays()
    run_or_end = np.append(runs, size)
    literal: set[int] = set()
    found: dict[int, StrayRecord] = {}  # opener run index -> its record
    rounds = 0
    verdicts: dict[tuple[int, int, int, int], bool] = {}  # (opener, closer, record start, end) -> swallows
    field_end = _byte_set(delim, LF, CR)
    # Each round pairs the runs from ``base`` on: the start of the record that held the
    # last stray found. Records before it are unchanged by that finding (the pairing runs
    # left to right and every literal run changed is at or after it), so their spans stay
    # as judged. A round looks at a window of runs after ``base``, widened until it finds
    # a stray, or it reaches the end of the file: in a window the pairing and every value's
    # extent are exact (a value's closer is the next run, even past the window), and only
    # a record that does not end inside the window is left for a wider one.
    base, lf_base = 0, 0
    kept = np.zeros(0, dtype=bool)  # line ends before ``lf_base``: inside a value?
    with source() as handle:
        while True:
            window = PAIR_WINDOW
            while True:
                stop_run = min(base + window, runs.size)
                complete = stop_run == runs.size
                edge = int(run_or_end[stop_run])  # bytes before it are paired exactly
                lf_stop = ends.size if complete else int(np.searchsorted(ends, edge))
                local, _ = _pair(at_start[base:stop_run], {x - base for x in literal if base <= x < stop_run})
                openers = local + base
                closers = openers + 1
                closers[closers >= runs.size] = -1
                unclosed_all = closers < 0
                open_at = runs[openers]
                close_at = run_or_end[openers + 1]  # the closer's offset (the file size: unclosed)
                # a value spans lines when a line feed lies inside it: one search per line feed
                window_ends = ends[lf_base:lf_stop]
                idx = np.searchsorted(open_at, window_ends) - 1
                window_inside = (idx >= 0) & (close_at[np.maximum(idx, 0)] > window_ends) if openers.size else \
                    np.zeros(window_ends.size, dtype=bool)
                inside = np.concatenate([kept, window_inside])
                span = np.unique(idx[window_inside])  # the values that span lines (few in a real export)
                open_line = np.searchsorted(ends, open_at[span])  # index of the line holding the opener
                close_line = np.searchsorted(ends, close_at[span])
                unclosed = unclosed_all[span]
                bad_close = ~unclosed & ~field_end[after[np.maximum(closers[span], 0)]]
                suspicious = unclosed | bad_close
                unsure = np.zeros(span.size, dtype=bool)  # a record that ends past the window
                candidates = np.flatnonzero(~suspicious)
                bounds = ends[:lf_stop][~inside]
                lows = np.concatenate([[data_at - 1], bounds])
                if candidates.size:
                    # each candidate's record: from the bound before its opener to the one after its closer
                    highs = np.concatenate([bounds, [size]])
                    c_open, c_close = open_at[span[candidates]], close_at[span[candidates]]
                    starts = lows[np.searchsorted(lows, c_open) - 1] + 1
                    after_close = np.searchsorted(highs, c_close, side="right")
                    unsure[candidates] = (after_close >= bounds.size) & (not complete)
                    stops = highs[np.minimum(after_close, highs.size - 1)]
                    for c, start, stop in zip(candidates.tolist(), starts.tolist(), stops.tolist()):
                        if unsure[c] or (suspicious[:c].any()):
                            break  # judged in a wider window, or a stray comes first
                        j = int(span[c])
                        key = (int(openers[j]), int(closers[j]), start, stop)  # the verdict depends on the record
                        if key not in verdicts:
                            verdicts[key] = _swallows(handle, int(open_at[j]), int(close_at[j]),
                                                      int(line_starts[open_line[c] + 1]), start, stop, open_at,
                                                      close_at, ends, delim, columns)
                        suspicious[c] = verdicts[key]
                first = np.flatnonzero(suspicious | unsure)
                if complete or (first.size and suspicious[first[0]]):
                    break
                window *= 4
            if not (first.size and suspicious[first[0]]):
                break
            k = int(first[0])
            if len(literal) >= MAX_STRAY_QUOTES:
                line = int(open_line[k]) + header_lines + 1
                raise InputFileError(
                    f"more than {MAX_STRAY_QUOTES} quoted values run over line breaks and swallow rows "
                    f"(the next one on line {line})", reason="quote_imbalance", file=str(path), line=line,
                    fix="the file's quoting is broken throughout: check the delimiter (`delimiter:` in the mapping's "
                        "source), or re-export with every text value quoted",
                )
            # A stray found before earlier findings may have caused them (they were read
            # through its swallow): drop those later ones and look again from here.
            opener = int(openers[span[k]])
            rounds += 1
            if rounds <= 4 * MAX_STRAY_QUOTES:
                literal = {x for x in literal if x < opener}
                found = {x: r for x, r in found.items() if x < opener}
            literal.add(opener)
            why = ("is never closed" if unclosed[k] else
                   "is closed by a quote followed by more text" if bad_close[k] else
                   "swallows what look like whole rows")
            found[opener] = StrayRecord(start=int(open_at[span[k]]), end=0, record=0, first_line=0, last_line=0,
                                        quote_line=int(open_line[k]),
                                        closed_at_line=None if unclosed[k] else int(close_line[k]), why=why)
            record_start = int(lows[np.searchsorted(lows, open_at[span[k]]) - 1]) + 1
            base = int(np.searchsorted(runs, record_start))
            lf_base = int(np.searchsorted(ends, record_start))
            kept = inside[:lf_base]
    scan.stray = list(found.values())
    bounds = ends[~inside]
    scan.quoted_line_breaks = int(inside.sum())
    # a line is blank (skipped by readers) when it is empty and starts a record
    starts_record = np.ones(physical, dtype=bool)
    starts_record[1:] = ~inside[:physical - 1]
    blank = empty & starts_record
    scan.blank_lines = int(blank.sum())
    if scan.stray:
        scan.stray = _locate(scan.stray, bounds, ends, line_starts, blank, size, header_lines)
    return scan


def _skip_lines(handle: io.BufferedReader, count: int) -> int | None:
    """Offset just after the ``count``-th line end of ``handle`` (None: fewer)."""
    need, offset = count, 0
    while block := handle.read(1 << 16):
        data = np.frombuffer(block, dtype=np.uint8)
        ends = _line_ends(data, _next_byte(handle))
        if ends.size >= need:
            return offset + int(ends[need - 1]) + 1
        need -= int(ends.size)
        offset += data.size
    return None


def _empty_lines(source: Callable[[], io.BufferedReader], line_starts: np.ndarray, line_ends: np.ndarray) -> np.ndarray:
    """Lines with nothing before the line end but the CR of a CRLF."""
    length = line_ends - line_starts
    empty = length == 0
    ones = np.flatnonzero(length == 1)
    if ones.size:
        with source() as handle:
            for i in ones.tolist():  # one-byte lines: rare in a real export
                handle.seek(int(line_starts[i]))
                empty[i] = handle.read(1) == b"\r"
    return empty


def _locate(stray: list[StrayRecord], bounds: np.ndarray, ends: np.ndarray, line_starts: np.ndarray,
            blank: np.ndarray, size: int, header_lines: int) -> list[StrayRecord]:
    """Each rejected record's byte range (the stray quote read as a literal), its data row
    number and its physical lines (1-based, counting the header lines)."""
    record_starts = np.concatenate([[line_starts[0]], bounds + 1])
    record_starts = record_starts[record_starts < size]
    first_lines = np.searchsorted(ends, record_starts)
    numbers = np.cumsum(~blank[first_lines])  # data row number of each record
    out: list[StrayRecord] = []
    for record in sorted(stray, key=lambda r: r.start):
        at = int(np.searchsorted(record_starts, record.start, side="right")) - 1
        start = int(record_starts[at])
        later = bounds[bounds >= record.start]
        end = int(later[0]) + 1 if later.size else size
        if out and start < out[-1].end:
            continue  # two stray quotes in one record: one reject
        first_line = int(np.searchsorted(ends, start))
        last_line = int(np.searchsorted(ends, end - 1))
        out.append(StrayRecord(
            start=start, end=end, record=int(numbers[at]),
            first_line=first_line + header_lines + 1, last_line=last_line + header_lines + 1,
            quote_line=record.quote_line + header_lines + 1,
            closed_at_line=None if record.closed_at_line is None else record.closed_at_line + header_lines + 1,
            why=record.why))
    return out


def _swallows(handle, open_at: int, close_at: int, next_line: int, start: int, end: int,  # noqa: ANN001
              opens: np.ndarray, closes: np.ndarray, ends: np.ndarray, delim: int, columns: int) -> bool:
    """Is the value quoted from ``open_at`` to ``close_at`` (over line breaks), in the record
    at bytes ``[start, end)``, a swallow? Yes when the record does not have the header's
    field count (delimiters outside quoted values), or when a swallowed line read on its own
    (Python's csv module, which quotes as pyarrow does) is a whole row (see module docstring);
    only lines with ``columns - 1`` delimiters or more are parsed."""
    handle.seek(start)
    data = np.frombuffer(handle.read(end - start), dtype=np.uint8)
    at = np.flatnonzero(data == delim) + start
    idx = np.searchsorted(opens, at) - 1
    quoted = (idx >= 0) & (opens[np.maximum(idx, 0)] < at) & (closes[np.maximum(idx, 0)] > at)
    if int((~quoted).sum()) != columns - 1:
        return True
    if columns < 2:
        return False
    # the swallowed lines: every line inside the value, and the closing line up to the
    # closing quote (what follows it is the record's rest, legitimately)
    text = data[next_line - start:close_at - start]
    cuts = ends[np.searchsorted(ends, next_line):np.searchsorted(ends, close_at)] - next_line  # line ends in text
    per_line = np.bincount(np.searchsorted(cuts, np.flatnonzero(text == delim)), minlength=cuts.size + 1)
    firsts = np.concatenate([[0], cuts + 1])
    lasts = np.append(cuts, text.size)
    for index in np.flatnonzero(per_line >= columns - 1).tolist():  # only these can hold a whole row
        line = bytes(text[firsts[index]:lasts[index]]).rstrip(b"\r").decode("latin-1")
        if len(next(csv.reader([line], delimiter=chr(delim)), [])) >= columns:
            return True
    return False


def _byte_set(*values: int) -> np.ndarray:
    """A 256-entry lookup table: ``table[byte_array]`` tests membership without sorting."""
    table = np.zeros(256, dtype=bool)
    table[list(values)] = True
    return table


def stray_rows(scan: QuoteScan, encoding: str, read: Callable[[int, int], bytes]) -> list[tuple[int, str, str, str]]:
    """The rejected records as reader ``bad_rows`` entries: (row, reason, raw text, message).
    ``read(start, end)`` gives the file's bytes in that range."""
    out = []
    for record in scan.stray:
        raw = read(record.start, min(record.end, record.start + RAW_TEXT_LIMIT * 4))
        text = raw.decode("utf-8" if scan.utf8 or encoding == "utf-8-sig" else encoding,
                          errors="replace").rstrip("\r\n")
        lines = (f"line {record.first_line}" if record.first_line == record.last_line
                 else f"lines {record.first_line}-{record.last_line}")
        closed = ("" if record.closed_at_line is None
                  else f" (a reader would have run it on to line {record.closed_at_line})")
        out.append((record.record, "quote_imbalance", text[:RAW_TEXT_LIMIT],
                    f"physical {lines}: the quote on line {record.quote_line} opens a value that {record.why}"
                    f"{closed}; row not staged, the rows after it are read normally. "
                    "Fix: remove the stray quote in the source system (or quote the whole value and double "
                    "any quote inside it), then re-export"))
    return out


class SkippingReader(io.RawIOBase):
    """A file (or bytes) read with some byte ranges left out: what pyarrow is given when
    records were rejected for a quote imbalance. ``ranges`` are sorted, disjoint, absolute
    offsets; ``base`` is the absolute offset of the first byte of ``source``."""

    def __init__(self, source: io.BufferedIOBase | io.RawIOBase, ranges: list[tuple[int, int]], base: int = 0) -> None:
        self._source = source
        self._ranges = ranges
        self._pos = base

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - memoryview
        view = memoryview(buffer)
        for start, end in self._ranges:
            if self._pos < start:
                break
            if start <= self._pos < end:
                skipped = self._source.read(end - self._pos)
                self._pos += len(skipped)
                if self._pos < end:  # source ended inside the range
                    return 0
        limit = len(view)
        upcoming = next((s for s, _ in self._ranges if s > self._pos), None)
        if upcoming is not None:
            limit = min(limit, upcoming - self._pos)
        data = self._source.read(limit)
        view[:len(data)] = data
        self._pos += len(data)
        return len(data)


class Utf8View(io.RawIOBase):
    """A file in any text encoding, read as its UTF-8 transcoding (decoded with Python's
    incremental decoder, as pyarrow's reader decodes it), streamed: one chunk of the source
    at a time. Seekable when the source is: ``marks`` records (UTF-8 offset, source offset,
    decoder state) at each chunk read, so a seek restarts decoding at the chunk before it
    rather than at the start of the file; pass one list to every view of a file to share them.
    Offsets (``seek``, ``tell``) are offsets in the UTF-8 text."""

    def __init__(self, source: io.BufferedIOBase | io.RawIOBase | Any, encoding: str, marks: list | None = None,
                 chunk_bytes: int = SCAN_BYTES) -> None:
        self._source = source
        self._encoding = encoding
        self._marks: list[tuple[int, int, Any]] = marks if marks is not None else []
        self._chunk = chunk_bytes
        self._restart(0, 0, None)

    def _restart(self, out: int, src: int, state: Any) -> None:
        self._decoder = codecs.getincrementaldecoder(self._encoding)()
        if state is not None:
            self._decoder.setstate(state)
        self._src, self._out = src, out  # source bytes decoded; UTF-8 offset of the next byte returned
        self._pending, self._at, self._done = b"", 0, False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._out

    def readinto(self, buffer) -> int:  # noqa: ANN001 - memoryview
        while self._at >= len(self._pending) and not self._done:
            if not self._marks or self._marks[-1][1] < self._src:
                self._marks.append((self._out, self._src, self._decoder.getstate()))
            data = self._source.read(self._chunk)
            self._src += len(data)
            self._pending, self._at = self._decoder.decode(data, final=not data).encode("utf-8"), 0
            self._done = not data
        n = min(len(buffer), len(self._pending) - self._at)
        buffer[:n] = self._pending[self._at:self._at + n]
        self._at += n
        self._out += n
        return n

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            pos += self._out
        elif whence != io.SEEK_SET:
            raise io.UnsupportedOperation("Utf8View seeks from the start or the current position only")
        at = bisect.bisect_right(self._marks, pos, key=lambda mark: mark[0]) - 1
        out, src, state = self._marks[at] if at >= 0 else (0, 0, None)
        if not out <= self._out <= pos:  # behind, or a mark is nearer than reading on: restart there
            self._source.seek(src)
            self._restart(out, src, state)
        scratch = bytearray(min(max(pos - self._out, 1), 1 << 20))
        while self._out < pos and self.readinto(memoryview(scratch)[:pos - self._out]):
            pass
        return self._out

    def close(self) -> None:
        self._source.close()
        super().close()
