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
    """Line feeds; each odd run of quotes: offset, starts a field, byte after it (LF at the end)."""
    ends = [i for i in range(start, len(data)) if data[i] == LF]
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
        scan = scan_quotes(path, data_start=data_start(path, 1), header_lines=1, delimiter=",", columns=3,
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
    scan = scan_quotes(path, data_start=data_start(path, 1), header_lines=1, delimiter=",", columns=3,
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
        scan = scan_quotes(path, data_start=data_start(path, 1), header_lines=1, delimiter=",", columns=3,
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
    empty = quoting._empty_lines(path, line_starts, np.concatenate([ends, [size]])[:physical])
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
                                                  ord(","), columns)
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
        scan = scan_quotes(path, data_start=data_start(path, 1), header_lines=1, delimiter=",", columns=3,
                           encoding="utf-8")
    assert (scan.physical_lines, scan.blank_lines, scan.quoted_line_breaks, scan.stray) == _reference_scan(path, 3)
