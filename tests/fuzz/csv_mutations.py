"""Mutations of a generated CSV export that keep track of the ground truth.

A :class:`Doc` is the export as physical lines (header first) plus how they are written
(encoding, byte-order mark, line ends, delimiter); each mutation changes it the way a real
export goes wrong and says how many data records the file then holds and which exit codes
the CLI may end with. Undecodable bytes are carried as ``surrogateescape`` characters
(``"\\udc92"`` is the byte 0x92), so text and bytes mutations compose.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

EXIT_OK, EXIT_ERROR, EXIT_EITHER = frozenset({0}), frozenset({2}), frozenset({0, 2})
SENTINELS = ["31/12/9999", "01/01/1900", "2958465", "150000", "0", "-1", "99999999", "00/00/0000", "9999-12-31",
             "1.5", "45000.75", "29/02/2023", "31/12/1899", "  03/04/2009  "]
BAD_BYTES = [0x80, 0x81, 0x92, 0x96, 0x9D, 0xA0, 0xC0, 0xC3, 0xE9, 0xEF, 0xF0, 0xFF]


@dataclass(frozen=True)
class Doc:
    lines: tuple[str, ...]  # physical lines, header first, no line ends
    records: int  # data records the file holds (ground truth)
    allowed: frozenset[int] = EXIT_OK
    encoding: str = "utf-8"  # utf-8 | utf-8-sig | utf-16 | cp1252
    ends: tuple[str, ...] | None = None  # per line; None: "\n" everywhere
    final_newline: bool = True
    delimiter: str = ","
    strays: tuple[int, ...] = ()  # line numbers holding a stray quote (kept apart, see stray_quote)
    values: tuple[str, ...] = ()  # personal values the mutations wrote
    expect: tuple[tuple[str, str], ...] = ()  # (local id, given name) the staged table must hold
    notes: tuple[str, ...] = ()  # what was done (shown when an invariant breaks)

    @property
    def exits(self) -> frozenset[int]:
        """The exit codes allowed: a UTF-8 file whose byte-order mark declares it UTF-8 and that
        holds a byte that is not is refused (exit 2, naming the byte), by design, where a file
        without the mark gets the per-byte fallback."""
        bad = any(0xDC80 <= ord(c) <= 0xDCFF for line in self.lines for c in line)
        return self.allowed | EXIT_ERROR if bad and self.encoding == "utf-8-sig" else self.allowed

    def fields(self, line: int) -> list[str]:
        return self.lines[line].split(self.delimiter)

    def local_id(self, line: int) -> str | None:
        names = [name.strip() for name in self.fields(0)]
        fields = self.fields(line)
        return fields[names.index("Patient ID")] if "Patient ID" in names and len(fields) == len(names) else None

    def with_line(self, line: int, fields: list[str] | str, note: str, **kw) -> Doc:  # noqa: ANN003
        """The document with one line replaced; an expected value of that record no longer holds."""
        text = fields if isinstance(fields, str) else self.delimiter.join(fields)
        lines = list(self.lines)
        lines[line] = text
        changed = self.local_id(line) if line > 0 else "*"
        expect = tuple(e for e in self.expect if changed != "*" and e[0] != changed)
        return dataclasses.replace(self, lines=tuple(lines), notes=self.notes + (note,),
                                   expect=kw.pop("expect", expect), **kw)

    def data_lines(self) -> list[int]:
        """Line numbers of the data records (the header is line 0; blank lines are not records)."""
        return [i for i, line in enumerate(self.lines) if i > 0 and line != ""]

    def to_bytes(self) -> bytes:
        ends = self.ends or ("\n",) * len(self.lines)
        text_parts = []
        for i, line in enumerate(self.lines):
            last = i == len(self.lines) - 1
            text_parts.append(line + ("" if last and not self.final_newline else ends[i]))
        text = "".join(text_parts)
        if self.encoding in ("utf-8", "utf-8-sig"):
            data = text.encode("utf-8", "surrogateescape")
            return (b"\xef\xbb\xbf" + data) if self.encoding == "utf-8-sig" else data
        # other encodings: an undecodable byte stands for the character cp1252 gives it
        plain = "".join(bytes([ord(c) - 0xDC00]).decode("cp1252", "replace") if 0xDC80 <= ord(c) <= 0xDCFF else c
                        for c in text)
        if self.encoding == "utf-16":
            return plain.encode("utf-16")  # with its byte-order mark
        return plain.encode(self.encoding, "replace")


def parse(text: str) -> Doc:
    lines = text.split("\n")
    assert lines[-1] == "" and '"' not in text and "\r" not in text  # the generator's plain layout
    return Doc(lines=tuple(lines[:-1]), records=len(lines) - 2)


# --- mutations: (doc, draw) -> doc; draw(n) picks an integer in [0, n) ----------------------

Draw = Callable[[int], int]


def _pick_record(doc: Doc, draw: Draw) -> int | None:
    lines = doc.data_lines()
    return lines[draw(len(lines))] if lines else None


def stray_quote(doc: Doc, draw: Draw) -> Doc:
    """A quote typed at the start of one value (the issue's case): that record is rejected as
    quote_imbalance, every other record is still read. Kept at least three lines from
    another stray quote: closer than that, two strays at the same field position read as
    one multi-line value (a limit stated in stairs_link/io/quoting.py)."""
    free = [i for i in doc.data_lines() if all(abs(i - s) >= 3 for s in doc.strays)]
    if not free:
        return doc
    line = free[draw(len(free))]
    fields = doc.fields(line)
    j = draw(len(fields))
    fields[j] = '"' + fields[j]
    return doc.with_line(line, fields, f"stray quote line {line} field {j}", strays=doc.strays + (line,))


def quote_inside_value(doc: Doc, draw: Draw) -> Doc:
    """A quote in the middle of an unquoted value is text (O"Neil)."""
    line = _pick_record(doc, draw)
    if line is None:
        return doc
    fields = doc.fields(line)
    j = draw(len(fields))
    if not fields[j]:
        return doc
    k = 1 + draw(len(fields[j])) if len(fields[j]) > 1 else 1
    fields[j] = fields[j][:k] + '"' + fields[j][k:]
    return doc.with_line(line, fields, f"quote inside line {line} field {j}")


def bad_byte(doc: Doc, draw: Draw) -> Doc:
    """A byte that is not UTF-8 (a Word apostrophe, cp1252 é) inside a value."""
    line = _pick_record(doc, draw)
    if line is None:
        return doc
    fields = doc.fields(line)
    j = draw(len(fields))
    k = draw(len(fields[j]) + 1)
    fields[j] = fields[j][:k] + chr(0xDC00 + BAD_BYTES[draw(len(BAD_BYTES))]) + fields[j][k:]
    return doc.with_line(line, fields, f"bad byte line {line} field {j}")


ACCENTED = ["Zoë", "Séan", "Anaïs", "Björn", "Øystein", "Jürgen"]  # all in cp1252 too


def accented_names(doc: Doc, draw: Draw) -> Doc:
    """Names with letters beyond ASCII, each expected staged exactly as written: a reader that
    switched a UTF-8 file to cp1252 because of one bad byte would stage "ZoÃ«"."""
    names = [name.strip() for name in doc.fields(0)]
    if "Forename" not in names:
        return doc
    col = names.index("Forename")
    for _ in range(3):
        line = _pick_record(doc, draw)
        local = doc.local_id(line) if line is not None else None
        if not local or sum(doc.local_id(i) == local for i in doc.data_lines()) > 1:
            continue  # no id, or a duplicated one (its second row is a duplicate_local_id reject)
        fields = doc.fields(line)
        name = ACCENTED[draw(len(ACCENTED))]
        fields[col] = name
        doc = doc.with_line(line, fields, f"accented {name} line {line}")
        doc = dataclasses.replace(doc, expect=doc.expect + ((local, name),))
    return doc


def nul_byte(doc: Doc, draw: Draw) -> Doc:
    line = _pick_record(doc, draw)
    if line is None:
        return doc
    fields = doc.fields(line)
    j = draw(len(fields))
    fields[j] = fields[j] + "\x00" * (1 + draw(3))
    return doc.with_line(line, fields, f"NUL line {line} field {j}")


def ragged(doc: Doc, draw: Draw) -> Doc:
    """A row with a value missing, one too many, or an unquoted comma in a name."""
    line = _pick_record(doc, draw)
    if line is None:
        return doc
    fields = doc.fields(line)
    kind = draw(3)
    if kind == 0 and len(fields) > 1:
        del fields[draw(len(fields))]
    elif kind == 1:
        fields.insert(draw(len(fields) + 1), "extra")
    elif len(fields) > 1:
        fields[1] = fields[1] + doc.delimiter + " Jr"
    else:  # a one-value line (a trailer): one value more
        fields.append("Jr")
    return doc.with_line(line, fields, f"ragged ({kind}) line {line}")


def blank_lines(doc: Doc, draw: Draw) -> Doc:
    """Empty lines anywhere after the header (also at the end): not records."""
    at = 1 + draw(len(doc.lines))
    n = 1 + draw(3)
    lines = list(doc.lines)
    lines[at:at] = [""] * n
    ends = None if doc.ends is None else doc.ends[:at] + (doc.ends[at - 1],) * n + doc.ends[at:]
    strays = tuple(s + n if s >= at else s for s in doc.strays)
    return dataclasses.replace(doc, lines=tuple(lines), ends=ends, strays=strays,
                               notes=doc.notes + (f"{n} blank lines at {at}",))


def empty_record(doc: Doc, draw: Draw) -> Doc:
    """A line of delimiters only: a record with every value blank (one more record)."""
    at = 1 + draw(len(doc.lines))
    lines = list(doc.lines)
    lines.insert(at, doc.delimiter * (len(doc.fields(0)) - 1))
    ends = None if doc.ends is None else doc.ends[:at] + (doc.ends[at - 1],) + doc.ends[at:]
    strays = tuple(s + 1 if s >= at else s for s in doc.strays)
    return dataclasses.replace(doc, lines=tuple(lines), records=doc.records + 1, ends=ends, strays=strays,
                               notes=doc.notes + (f"empty record at {at}",))


def line_ends(doc: Doc, draw: Draw) -> Doc:
    """CRLF and LF mixed (or CR only: an old Mac export)."""
    kind = draw(3)
    if kind == 2:
        return dataclasses.replace(doc, ends=("\r",) * len(doc.lines), notes=doc.notes + ("CR line ends",))
    ends = tuple("\r\n" if (kind == 1 or draw(2)) else "\n" for _ in doc.lines)
    return dataclasses.replace(doc, ends=ends, notes=doc.notes + (f"CRLF mix ({kind})",))


def no_final_newline(doc: Doc, draw: Draw) -> Doc:
    return dataclasses.replace(doc, final_newline=False, notes=doc.notes + ("no final newline",))


def date_sentinel(doc: Doc, draw: Draw) -> Doc:
    """Open-ended placeholders, Excel serials (in and out of range), impossible dates."""
    line = _pick_record(doc, draw)
    if line is None:
        return doc
    fields = doc.fields(line)
    names = [name.strip() for name in doc.fields(0)]
    col = names.index("Date of Birth") if "Date of Birth" in names else -1
    if not 0 <= col < len(fields):
        return doc
    fields[col] = SENTINELS[draw(len(SENTINELS))]
    return doc.with_line(line, fields, f"date {fields[col]!r} line {line}")


def huge_field(doc: Doc, draw: Draw) -> Doc:
    line = _pick_record(doc, draw)
    if line is None:
        return doc
    fields = doc.fields(line)
    j = draw(len(fields))
    value = "Xenophon" * (1 + draw(40_000))  # up to 320 KB in one value
    fields[j] = value
    return doc.with_line(line, fields, f"huge value ({len(value)} chars) line {line} field {j}",
                         values=doc.values + (value[:40],))


def duplicate_record(doc: Doc, draw: Draw) -> Doc:
    line = _pick_record(doc, draw)
    if line is None:
        return doc
    lines = list(doc.lines)
    lines.insert(line + 1, lines[line])
    ends = None if doc.ends is None else doc.ends[:line + 1] + (doc.ends[line],) + doc.ends[line + 1:]
    strays = tuple(s + 1 if s > line else s for s in doc.strays)
    if line in doc.strays:  # the copy is a second stray right after the first: keep them apart
        return doc
    copied = doc.local_id(line)  # the copy is rejected (duplicate_local_id): which row is staged is not ours to say
    return dataclasses.replace(doc, lines=tuple(lines), records=doc.records + 1, ends=ends, strays=strays,
                               expect=tuple(e for e in doc.expect if e[0] != copied),
                               notes=doc.notes + (f"line {line} twice",))


def trailer(doc: Doc, draw: Draw) -> Doc:
    """A 'Total rows: N' line after the data: read as one more (ragged) record."""
    lines = list(doc.lines) + [f"Total rows: {doc.records}"]
    ends = None if doc.ends is None else doc.ends + (doc.ends[-1],)
    return dataclasses.replace(doc, lines=tuple(lines), records=doc.records + 1, ends=ends,
                               notes=doc.notes + ("trailer line",))


def truncate(doc: Doc, draw: Draw) -> Doc:
    """The file cut off inside its last record (a copy interrupted)."""
    lines = doc.data_lines()
    if not lines:
        return doc
    last = lines[-1]
    keep = 1 + draw(max(1, len(doc.lines[last]) - 1))
    cut = list(doc.lines[:last + 1])
    gone = doc.local_id(last)
    cut[last] = cut[last][:keep]
    ends = None if doc.ends is None else doc.ends[:last + 1]
    # the cut record is still a record (perhaps ragged); blank lines after it are gone
    return dataclasses.replace(doc, lines=tuple(cut), final_newline=False, ends=ends,
                               expect=tuple(e for e in doc.expect if e[0] != gone),
                               notes=doc.notes + (f"cut after {keep} chars of line {last}",))


def encoding(doc: Doc, draw: Draw) -> Doc:
    """A byte-order mark, the whole file as UTF-16 (Excel's 'Unicode text') or cp1252."""
    enc = ["utf-8-sig", "utf-16", "cp1252"][draw(3)]
    return dataclasses.replace(doc, encoding=enc, notes=doc.notes + (enc,))


# --- header oddities --------------------------------------------------------------------------

def header_spaces(doc: Doc, draw: Draw) -> Doc:
    """Spaces around header names (an export padding its columns)."""
    names = [f" {n} " if draw(2) else n for n in doc.fields(0)]
    return doc.with_line(0, names, "header padded", allowed=doc.allowed | EXIT_EITHER)


def extra_column(doc: Doc, draw: Draw) -> Doc:
    """An unmapped column added to every row (at the end)."""
    lines = [doc.lines[0] + doc.delimiter + "Keyworker"]
    lines += [line + doc.delimiter + "kw" if line else line for line in doc.lines[1:]]
    return dataclasses.replace(doc, lines=tuple(lines), notes=doc.notes + ("extra column",))


def reorder_columns(doc: Doc, draw: Draw) -> Doc:
    width = len(doc.fields(0))
    order = list(range(width))[::-1] if draw(2) else list(range(1, width)) + [0]

    def move(line: str) -> str:
        parts = line.split(doc.delimiter)
        return doc.delimiter.join(parts[i] for i in order) if len(parts) == width else line

    return dataclasses.replace(doc, lines=tuple(move(line) if line else line for line in doc.lines),
                               notes=doc.notes + ("columns reordered",))


def header_repeated(doc: Doc, draw: Draw) -> Doc:
    """Two exports concatenated: the header line again among the data (one more record)."""
    lines = doc.data_lines()
    at = lines[draw(len(lines))] if lines else 1
    new = list(doc.lines)
    new.insert(at, doc.lines[0])
    ends = None if doc.ends is None else doc.ends[:at] + (doc.ends[0],) + doc.ends[at:]
    strays = tuple(s + 1 if s >= at else s for s in doc.strays)
    return dataclasses.replace(doc, lines=tuple(new), records=doc.records + 1, ends=ends, strays=strays,
                               notes=doc.notes + (f"header again at {at}",))


def delimiter(doc: Doc, draw: Draw) -> Doc:
    """The whole file with another delimiter (semicolon: a European Excel; tab; pipe)."""
    new = [";", "\t", "|"][draw(3)]
    if any(new in line for line in doc.lines):
        return doc
    lines = tuple(line.replace(doc.delimiter, new) for line in doc.lines)
    return dataclasses.replace(doc, lines=lines, delimiter=new, allowed=doc.allowed | EXIT_EITHER,
                               notes=doc.notes + (f"delimiter {new!r}",))


def header_missing(doc: Doc, draw: Draw) -> Doc:
    """The header line left out: the first record reads as the header. The error must not
    print that record's values (a child's name) as 'columns seen'."""
    if doc.records == 0 or len(doc.lines) < 2 or doc.lines[1] in ("", doc.lines[0]):
        return doc  # (a header repeated right after itself would still be a header)
    ends = None if doc.ends is None else doc.ends[1:]
    return dataclasses.replace(doc, lines=doc.lines[1:], records=doc.records - 1, ends=ends, allowed=EXIT_ERROR,
                               strays=tuple(s - 1 for s in doc.strays if s > 1),
                               notes=doc.notes + ("header missing",))


def header_only(doc: Doc, draw: Draw) -> Doc:
    return dataclasses.replace(doc, lines=doc.lines[:1], records=0, ends=None if doc.ends is None else doc.ends[:1],
                               strays=(), allowed=doc.allowed | EXIT_EITHER, notes=doc.notes + ("header only",))


def empty_file(doc: Doc, draw: Draw) -> Doc:
    return dataclasses.replace(doc, lines=("",), records=0, final_newline=False, ends=None, strays=(),
                               allowed=EXIT_EITHER, notes=doc.notes + ("empty file",))


# Every mutation, by name. The first group keeps the file readable (exit 0 expected); the
# header group may make it unreadable (exit 2 with Error/Fix allowed).
ROW_MUTATIONS: dict[str, Callable[[Doc, Draw], Doc]] = {
    "stray_quote": stray_quote, "quote_inside_value": quote_inside_value, "bad_byte": bad_byte,
    "accented_names": accented_names,
    "nul_byte": nul_byte, "ragged": ragged, "blank_lines": blank_lines, "empty_record": empty_record,
    "line_ends": line_ends, "no_final_newline": no_final_newline, "date_sentinel": date_sentinel,
    "huge_field": huge_field, "duplicate_record": duplicate_record, "trailer": trailer,
    "extra_column": extra_column, "reorder_columns": reorder_columns, "header_repeated": header_repeated,
}
FILE_MUTATIONS: dict[str, Callable[[Doc, Draw], Doc]] = {
    "encoding": encoding, "header_spaces": header_spaces, "delimiter": delimiter, "truncate": truncate,
}
FATAL_MUTATIONS: dict[str, Callable[[Doc, Draw], Doc]] = {
    "header_missing": header_missing, "header_only": header_only, "empty_file": empty_file,
}
ALL = {**ROW_MUTATIONS, **FILE_MUTATIONS, **FATAL_MUTATIONS}


# --- known bugs (each with a strict xfail in test_fuzz_found.py) ----------------------------

def known_gap(doc: Doc) -> str | None:
    """Why a combined CSV case would hit a known bug (None: it should hold). Every bug the
    fuzz suite found so far is fixed (test_fuzz_found.py); a new one gets a line here that
    names it, and its own strict xfail there, until it is fixed."""
    return None
