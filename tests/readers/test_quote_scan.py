"""The quote scan's fast parts give what the plain definitions give (issue 12, item 1).

``_scan_runs`` finds the odd runs of quotes with numpy over chunks of the file; here it is
checked against a byte-by-byte loop that states the definition. ``scan_quotes`` skips the
pairing when no quoted value can span a line; here it is checked against the same scan
with that shortcut turned off (the full pairing), on well-formed and damaged files.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stairs_link.io import quoting
from stairs_link.io.quoting import data_start, scan_quotes

QUOTE, LF, CR = ord('"'), ord("\n"), ord("\r")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _reference_runs(data: bytes, start: int, delim: int) -> tuple[list[int], list[int], list[bool], list[int], int]:
    """Line ends (each LF, each CR not followed by an LF); each odd run of quotes: offset,
    starts a field, byte after it (LF at the end)."""
    ends = [i for i in range(start, len(data))
            if data[i] == LF or data[i] == CR and (i + 1 == len(data) or data[i + 1] != LF)]
    runs, at_start, after = [], [], []
    i = start
    while i < len(data):
        if data[i] != QUOTE:
            i += 1
            continue
        j = i
        while j < len(data) and data[j] == QUOTE:
            j += 1
        if (j - i) % 2:
            runs.append(i)
            at_start.append((data[i - 1] if i > start else LF) in (delim, LF, CR))
            after.append(data[j] if j < len(data) else LF)
        i = j
    return ends, runs, at_start, after, len(data)


@SETTINGS
@given(data=st.binary(min_size=0, max_size=120).map(lambda b: bytes(b'a,"\n\r;'[x % 6] for x in b)),
       start=st.integers(min_value=0, max_value=10), chunk=st.integers(min_value=1, max_value=40))
def test_runs_match_the_definition_at_any_chunk_size(tmp_path: Path, data: bytes, start: int, chunk: int) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    start = min(start, len(data))
    found = quoting._scan_runs(path, start, ord(","), chunk)
    runs, at_start, after = found.arrays()
    assert (found.ends.tolist(), runs.tolist(), at_start.tolist(), after.tolist(), found.size) == \
        _reference_runs(data, start, ord(","))


def _scan(path: Path, shortcut: bool, chunk: int) -> tuple:
    def full(*args):  # the same scan, with the shortcut turned off: the full pairing decides
        found = scan_runs(*args)
        found.simple = False
        return found

    scan_runs = quoting._scan_runs
    with mock.patch.object(quoting, "_scan_runs", scan_runs if shortcut else full):
        scan = scan_quotes(path, header_lines=1, delimiter=",", columns=3,
                           encoding="utf-8", chunk_bytes=chunk)
    return scan.physical_lines, scan.blank_lines, scan.quoted_line_breaks, scan.stray


FIELD = st.text(alphabet=st.sampled_from(list('ab ",\n')), max_size=6)


@SETTINGS
@given(records=st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=0, max_size=12),
       quote_all=st.booleans(), crlf=st.booleans(), blank=st.integers(min_value=-1, max_value=12),
       stray=st.integers(min_value=-1, max_value=400), chunk=st.integers(min_value=1, max_value=64))
def test_shortcut_gives_the_full_pairings_result(tmp_path: Path, records, quote_all, crlf, blank, stray,
                                                 chunk) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n" if crlf else "\n",
               quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL).writerows(records)
    lines = out.getvalue().splitlines(keepends=True)
    if 0 <= blank <= len(lines):
        lines.insert(blank, "\r\n" if crlf else "\n")  # a blank line (maybe inside a quoted value)
    body = "".join(lines)
    if 0 <= stray <= len(body):
        body = body[:stray] + '"' + body[stray:]  # a quote typed anywhere
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n" + body, encoding="utf-8", newline="")
    assert _scan(path, True, chunk) == _scan(path, False, chunk)


def test_shortcut_taken_for_quoted_fields_without_line_breaks(tmp_path: Path) -> None:
    # every field quoted (the bench's worst case), empty ones as "", escaped quotes inside
    path = tmp_path / "x.csv"
    path.write_text('a,b,c\n' + '"1","O""Brien",""\n' * 50 + '"2","x, y","""z"""\n', encoding="utf-8")
    found = quoting._scan_runs(path, data_start(path, 1), ord(","), 64)
    assert found.simple and found.arrays()[0].size == 2 * (50 * 2 + 3)
    scan = scan_quotes(path, header_lines=1, delimiter=",", columns=3,
                       encoding="utf-8", chunk_bytes=64)
    assert (scan.physical_lines, scan.quoted_line_breaks, scan.stray) == (51, 0, [])


def test_shortcut_not_taken_when_a_value_spans_lines_or_a_quote_strays(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    cases = {'"1","two\nlines",""\n"2","b","c"\n': (3, 1, 0),  # a real multi-line value
             '"1","b","c"\n"2,b,c\n"3","b","c"\n': (3, 0, 1),  # a stray quote
             '1,O"Brien,c\n2,b,c\n': (2, 0, 0)}  # a quote inside an unquoted value: runs do not alternate
    for text, (lines, quoted_breaks, strays) in cases.items():
        path.write_text("a,b,c\n" + text, encoding="utf-8")
        assert not quoting._scan_runs(path, data_start(path, 1), ord(","), 64).simple, text
        scan = scan_quotes(path, header_lines=1, delimiter=",", columns=3,
                           encoding="utf-8")
        assert (scan.physical_lines, scan.quoted_line_breaks, len(scan.stray)) == (lines, quoted_breaks, strays), text


def _reference_pair(at_start: list[bool], literal: set[int]) -> tuple[list[int], list[int]]:
    """pyarrow's state machine over the odd runs: outside a value, a run that starts a field
    (and is not read as text) opens one; the next run closes it."""
    openers, closers, i = [], [], 0
    while i < len(at_start):
        if at_start[i] and i not in literal:
            openers.append(i)
            closers.append(i + 1 if i + 1 < len(at_start) else -1)
            i += 2
        else:
            i += 1
    return openers, closers


@SETTINGS
@given(at_start=st.lists(st.booleans(), max_size=60), literal=st.sets(st.integers(min_value=0, max_value=59)))
def test_pairing_follows_the_state_machine(at_start: list[bool], literal: set[int]) -> None:
    literal = {x for x in literal if x < len(at_start)}
    openers, closers = quoting._pair(np.array(at_start, dtype=bool), literal)
    assert (openers.tolist(), closers.tolist()) == _reference_pair(at_start, literal)


def _reference_scan(path: Path, columns: int) -> tuple:
    """The full scan as it was before rounds were windowed: every round pairs the whole file
    and judges every value spanning lines; the earliest stray found is read as text."""
    start = data_start(path, 1)
    scanned = quoting._scan_runs(path, start, ord(","), 1 << 20)
    ends, size = scanned.ends, scanned.size
    physical = int(ends.size) + int(size > (int(ends[-1]) + 1 if ends.size else start))
    line_starts = np.concatenate([[start], ends + 1])[:physical]
    empty = quoting._empty_lines(lambda: path.open("rb"), line_starts, np.concatenate([ends, [size]])[:physical])
    runs, at_start, after = scanned.arrays()
    literal: set[int] = set()
    found: dict[int, quoting.StrayRecord] = {}
    field_end = quoting._byte_set(ord(","), LF, CR)
    inside = np.zeros(ends.size, dtype=bool)
    with path.open("rb") as handle:
        while True:
            openers, closers = quoting._pair(at_start, literal)
            if openers.size == 0:
                inside = np.zeros(ends.size, dtype=bool)
                break
            open_at = runs[openers]
            close_at = np.where(closers < 0, size, runs[np.maximum(closers, 0)])
            idx = np.searchsorted(open_at, ends) - 1
            inside = (idx >= 0) & (close_at[np.maximum(idx, 0)] > ends)
            span = np.unique(idx[inside])
            if span.size == 0:
                break
            open_line, close_line = np.searchsorted(ends, open_at[span]), np.searchsorted(ends, close_at[span])
            unclosed = closers[span] < 0
            bad_close = ~unclosed & ~field_end[after[np.maximum(closers[span], 0)]]
            suspicious = unclosed | bad_close
            bounds = ends[~inside]
            lows, highs = np.concatenate([[start - 1], bounds]), np.concatenate([bounds, [size]])
            for c in np.flatnonzero(~suspicious).tolist():
                j = int(span[c])
                first = int(lows[np.searchsorted(lows, open_at[j]) - 1]) + 1
                stop = int(highs[min(np.searchsorted(highs, close_at[j], side="right"), highs.size - 1)])
                suspicious[c] = quoting._swallows(handle, int(open_at[j]), int(close_at[j]),
                                                  int(line_starts[open_line[c] + 1]), first, stop, open_at, close_at,
                                                  ends, ord(","), columns)
            hit = np.flatnonzero(suspicious)
            if hit.size == 0:
                break
            k = int(hit[0])
            opener = int(openers[span[k]])
            literal = {x for x in literal if x < opener} | {opener}
            found = {x: r for x, r in found.items() if x < opener}
            why = ("is never closed" if unclosed[k] else "is closed by a quote followed by more text" if bad_close[k]
                   else "swallows what look like whole rows")
            found[opener] = quoting.StrayRecord(start=int(open_at[span[k]]), end=0, record=0, first_line=0,
                                                last_line=0, quote_line=int(open_line[k]),
                                                closed_at_line=None if unclosed[k] else int(close_line[k]), why=why)
    starts_record = np.ones(physical, dtype=bool)
    starts_record[1:] = ~inside[:physical - 1]
    blank = empty & starts_record
    stray = quoting._locate(list(found.values()), ends[~inside], ends, line_starts, blank, size, 1) if found else []
    return physical, int(blank.sum()), int(inside.sum()), stray


@SETTINGS
@given(records=st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=1, max_size=14),
       quote_all=st.booleans(), strays=st.lists(st.integers(min_value=0, max_value=600), max_size=4),
       window=st.sampled_from([1, 2, 3, 5, 1 << 16]))
def test_windowed_rounds_find_what_full_rounds_find(tmp_path: Path, records, quote_all, strays, window) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL).writerows(records)
    body = out.getvalue()
    for at in sorted(strays, reverse=True):
        at = at % (len(body) + 1)
        body = body[:at] + '"' + body[at:]  # quotes typed anywhere, several of them
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n" + body, encoding="utf-8", newline="")
    with mock.patch.object(quoting, "PAIR_WINDOW", window):
        scan = scan_quotes(path, header_lines=1, delimiter=",", columns=3, encoding="utf-8")
    assert (scan.physical_lines, scan.blank_lines, scan.quoted_line_breaks, scan.stray) == _reference_scan(path, 3)


# --- line ends and encodings (fuzz-found: bare CR, UTF-16, guessed code pages) --------------

def _summary(scan: quoting.QuoteScan) -> tuple:
    return (scan.checked, scan.physical_lines, scan.blank_lines, scan.quoted_line_breaks,
            [(r.record, r.first_line, r.last_line, r.quote_line, r.closed_at_line, r.why) for r in scan.stray])


def _rows(records: list[list[str]], blank: int, stray: int) -> list[str]:
    """The header and the records as CSV lines without their line ends (a quoted value may
    hold a line feed), a blank line at ``blank`` and a quote typed before record ``stray``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")  # (an empty terminator would not quote a line feed)
    rows = []
    for record in records:
        writer.writerow(record)
        rows.append(out.getvalue()[:-1])
        out.seek(0)
        out.truncate()
    if 0 <= stray < len(rows):
        rows[stray] = '"' + rows[stray]
    if 0 <= blank <= len(rows):
        rows.insert(blank, "")
    return ["a,b,c", *rows]


@SETTINGS
@given(records=st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=0, max_size=10),
       stray=st.integers(min_value=-1, max_value=10), blank=st.integers(min_value=-1, max_value=10),
       ends=st.lists(st.sampled_from(["\r", "\r\n", "\n"]), min_size=12, max_size=12),
       chunk=st.integers(min_value=1, max_value=64))
def test_any_line_end_scans_as_line_feeds(tmp_path: Path, records, stray, blank, ends, chunk) -> None:
    # the same records ended by LF and by CR, CRLF or a mix (old Mac, Windows): pyarrow splits
    # rows at each, so the scan finds the same lines, blank lines, quoted breaks and rejects
    lines = _rows(records, blank, stray)
    for k in range(len(lines) - 1):  # a CR then a blank line's LF would be one CRLF line end
        if ends[k] == "\r" and lines[k + 1] == "" and ends[k + 1] == "\n":
            ends[k + 1] = "\r"
    with_lf, other = tmp_path / "lf.csv", tmp_path / "other.csv"
    with_lf.write_bytes("".join(line + "\n" for line in lines).encode())
    other.write_bytes("".join(line + end for line, end in zip(lines, ends)).encode())
    expected = _summary(scan_quotes(with_lf, header_lines=1, delimiter=",", columns=3, encoding="utf-8",
                                    chunk_bytes=chunk))
    assert _summary(scan_quotes(other, header_lines=1, delimiter=",", columns=3, encoding="utf-8",
                                chunk_bytes=chunk)) == expected
    assert expected[0] and expected[1] == sum(1 + line.count("\n") for line in lines[1:])  # every line counted


@SETTINGS
@given(records=st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=0, max_size=10),
       stray=st.integers(min_value=-1, max_value=10), accents=st.booleans(),
       encoding=st.sampled_from(["utf-16", "utf-16-be", "utf-32", "cp037"]), chunk=st.integers(min_value=1, max_value=64))
def test_a_multi_byte_encoding_scans_as_its_utf8_text(tmp_path: Path, records, stray, accents, encoding,
                                                      chunk) -> None:
    # UTF-16/32 or EBCDIC: scanned as the UTF-8 transcoding, with the results of the same
    # text written in UTF-8; the rejects' byte ranges are those of that UTF-8 text
    lines = _rows([[("Zoë" if accents and j == 0 else "") + v for j, v in enumerate(r)] for r in records], -1, stray)
    text = "".join(line + "\r\n" for line in lines)
    utf8, other = tmp_path / "utf8.csv", tmp_path / "other.csv"
    utf8.write_bytes(text.encode("utf-8"))
    other.write_bytes(text.encode(encoding))
    expected = scan_quotes(utf8, header_lines=1, delimiter=",", columns=3, encoding="utf-8", chunk_bytes=chunk)
    found = scan_quotes(other, header_lines=1, delimiter=",", columns=3, encoding=encoding, chunk_bytes=chunk)
    assert found.utf8 and not expected.utf8
    assert _summary(found) == _summary(expected)
    assert [(r.start, r.end) for r in found.stray] == [(r.start, r.end) for r in expected.stray]


def test_utf8_view_reads_and_seeks_as_the_transcoded_text(tmp_path: Path) -> None:
    text = "".join(f"{i},Zoë Ðœ {'x' * (i % 7)},\U0001F600\r\n" for i in range(400))
    path = tmp_path / "x.csv"
    path.write_bytes(text.encode("utf-16"))
    utf8 = text.encode("utf-8")
    marks: list = []
    with io.BufferedReader(quoting.Utf8View(path.open("rb"), "utf-16", marks, chunk_bytes=37), 64) as view:
        assert view.read() == utf8
        assert len(marks) > 100  # one restart point per source chunk
        rng = np.random.default_rng(1)
        for start in rng.integers(0, len(utf8), 60).tolist():  # backwards and forwards
            length = int(rng.integers(0, 300))
            view.seek(start)
            assert view.read(length) == utf8[start:start + length]
        view.seek(10)
        view.seek(5, io.SEEK_CUR)
        assert view.read(3) == utf8[15:18]


def test_which_encodings_are_scanned_as_bytes() -> None:
    as_bytes = ["utf-8", "utf-8-sig", "utf-8-cp1252-fallback", "cp1252", "latin-1", "cp1250", "mac_iceland",
                "iso-8859-15", "koi8-r", "ascii"]
    transcoded = ["utf-16", "utf-16-le", "utf-32", "cp037", "utf-7", "shift_jis", "big5", "iso2022_jp"]
    assert all(quoting.bytes_stand_for_themselves(e, ",") for e in as_bytes)
    assert not any(quoting.bytes_stand_for_themselves(e, ",") for e in transcoded)
