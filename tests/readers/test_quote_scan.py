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
