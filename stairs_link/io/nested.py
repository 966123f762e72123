"""Readers for nested exports: JSON documents (FHIR Bundles), NDJSON (FHIR bulk export), XML (CTF).

All three stream: a JSON document's record list is read item by item with ijson, NDJSON line
by line, XML with a safe ``iterparse`` (defusedxml: no DTD entities, no external references),
so memory is bounded by one batch of records, not by the file. The sha256 and byte count are
of that one pass (the bytes read are hashed as they go by, :class:`~stairs_link.io.base.HashingReader`),
and a file that changed while it was read is refused (``source_changed``).

A mapping's columns are field paths (:mod:`stairs_link.io.paths`); each batch's frame has one
text column per path used. A record where a path gives an object or several values cannot be
staged: it becomes a bad row (reason ``not_a_scalar`` / ``several_values``) naming the path and
the fix, never JSON text in a canonical column. A record that is not an object, a JSON line
that does not parse, a record (JSON or XML) nested deeper than :data:`MAX_DEPTH` levels
(``too_deep``; its deep part is never built), or one repeating a key the mapping reads
(``duplicate_key``) is a bad row too; nesting that deep outside the records is an error.

XML records become plain data first (``{'@attr': ..., 'Child': text or {...}, '#text': ...}``;
a repeated child becomes a list), so the same paths work on JSON and XML.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stairs_link.errors import InputFileError
from stairs_link.io.arrow_paths import NOT_SCALAR, ShapeError, evaluate_arrow, key_tree, schema_for
from stairs_link.io.base import Batch, FileInfo, HashingReader, Reader, ReadOptions, register
from stairs_link.io.paths import (
    NOT_A_SCALAR,
    SEVERAL_VALUES,
    TEXT_KEY,
    FieldPath,
    PathSyntaxError,
    compile_path,
    parse_path,
    problem_fix,
)

TEXT = pd.StringDtype("pyarrow")
BATCH_RECORDS = 50_000
SAMPLE_RECORDS = 1_000  # records looked at to list the paths present (for mapping check/new)
ARROW_BLOCK_BYTES = 16 << 20  # NDJSON fast path: bytes of lines Arrow parses per batch
MAX_DEPTH = 64  # a record nesting deeper than this: a bad row (too_deep); the document outside records: an error
try:  # orjson parses NDJSON lines 2-3x faster; the standard library is the fallback
    import orjson

    _loads: Any = orjson.loads
    _JSONError: tuple[type[Exception], ...] = (orjson.JSONDecodeError, UnicodeDecodeError)
except ImportError:  # pragma: no cover - orjson is declared, but keep working without it
    _loads = json.loads
    _JSONError = (json.JSONDecodeError, UnicodeDecodeError)


def key_chains(record: Any, prefix: str = "", out: dict[str, None] | None = None, depth: int = 0) -> dict[str, None]:
    """The key paths present in a record, selectors left out ('name.given', 'identifier.system')."""
    out = {} if out is None else out
    if depth > MAX_DEPTH:
        return out
    if isinstance(record, list):
        for item in record:
            key_chains(item, prefix, out, depth + 1)
    elif isinstance(record, dict):
        for key, value in record.items():
            if key == TEXT_KEY:
                continue
            name = f"{prefix}{key}"
            out.setdefault(name, None)
            key_chains(value, f"{name}.", out, depth + 1)
    return out


def path_keys(path: FieldPath) -> str:
    """The key chain of a path ('name[use=official].given[1:]' -> 'name.given')."""
    return ".".join(step.name for step in path.steps if hasattr(step, "name"))


def parse_paths(columns: Iterable[str], path: Path) -> dict[str, FieldPath]:
    parsed = {}
    for column in columns:
        try:
            parsed[column] = parse_path(column)
        except PathSyntaxError as exc:
            raise InputFileError(str(exc), reason="bad_path", file=str(path), column=column,
                                 fix="write the path as in docs/mapping-format.md, e.g. name[use=official].family") from None
    return parsed


class RecordBatcher:
    """Turns (record number, record) pairs into :class:`Batch` objects of path values."""

    def __init__(self, paths: dict[str, FieldPath], absolute: dict[str, str | None] | None = None,
                 batch_records: int = BATCH_RECORDS, keep: list | None = None) -> None:
        self.columns = list(paths)
        self.relative = [(c, compile_path(p)) for c, p in paths.items() if not p.absolute]
        self.absolute_cols = [c for c, p in paths.items() if p.absolute]
        self.absolute = absolute if absolute is not None else {}
        self.batch_records = batch_records
        self.kept = keep  # a list to collect the first batch's records in (for `mapping new`)
        self.filled = dict.fromkeys(self.columns, 0)  # records where each path gave a value
        self._reset()

    def _reset(self) -> None:
        self.values: dict[str, list[str]] = {c: [] for c in self.columns}
        self.numbers: list[int] = []
        self.bad: list[tuple[int, str, str, str]] = []
        self.skipped = 0

    def add_bad(self, number: int, reason: str, message: str) -> None:
        self.bad.append((number, reason, "", message))

    def add(self, number: int, record: Any) -> None:
        if not isinstance(record, dict):
            self.add_bad(number, "not_a_record", "item is not a record ({...} or an element); row not staged. "
                                                 "Fix: check `records_path:` selects the list of records")
            return
        if self.kept is not None and len(self.kept) < self.batch_records:
            self.kept.append(record)
        row = []
        for column, run in self.relative:
            text, problem = run(record)
            if problem:
                self.add_bad(number, problem,
                             f"field path '{column}' gives {'an object' if problem == NOT_A_SCALAR else 'several values'}"
                             f" here, not one value; row not staged. Fix: the mapping probably selects the wrong "
                             f"field: {problem_fix(column, problem)}")
                return
            row.append(text)
        for (column, _), text in zip(self.relative, row):
            self.values[column].append(text or "")
            if text:
                self.filled[column] += 1
        for column in self.absolute_cols:
            text = self.absolute.get(column)
            self.values[column].append(text or "")
            if text:
                self.filled[column] += 1
        self.numbers.append(number)

    @property
    def size(self) -> int:
        return len(self.numbers) + len(self.bad)

    def flush(self) -> Batch:
        frame = pd.DataFrame({c: pd.Series(v, dtype=TEXT) for c, v in self.values.items()})
        batch = Batch(frame, np.array(self.numbers, dtype=np.int64), self.bad)
        batch.skipped = self.skipped
        self._reset()
        return batch


def _batches(records: Iterator[tuple[int, Any]], batcher: RecordBatcher, info: FileInfo,
             stream: HashingReader | None) -> Iterator[Batch]:
    """Batches from numbered records; at the end fills info.unmatched, and info.sha256 and
    info.size from ``stream`` (the bytes the records were parsed from)."""
    try:
        for number, record in records:
            if record is _SKIP:
                batcher.skipped += 1
                continue
            if isinstance(record, _Bad):
                batcher.add_bad(number, record.reason, record.message)
            else:
                batcher.add(number, record)
            if batcher.size >= batcher.batch_records:
                yield batcher.flush()
        yield batcher.flush()
        if stream is not None:
            stream.finish(info)
        info.unmatched = [c for c, n in batcher.filled.items() if n == 0]
    finally:
        close = getattr(records, "close", None)
        if close:
            close()
        if stream is not None:
            stream.close()


class _Bad:
    def __init__(self, reason: str, message: str) -> None:
        self.reason, self.message = reason, message


_SKIP = object()


def _sampled(records: Iterator[tuple[int, Any]], info: FileInfo) -> Iterator[tuple[int, Any]]:
    """Records as they go by; the key paths of the first SAMPLE_RECORDS go to info.header."""
    chains: dict[str, None] = {}
    for seen, (number, record) in enumerate(records):
        if seen < SAMPLE_RECORDS and isinstance(record, dict):
            before = len(chains)
            key_chains(record, out=chains)
            if len(chains) > before:
                info.header = list(chains)
        yield number, record


def _open(path: Path, fmt: str) -> tuple[FileInfo, HashingReader]:
    info = FileInfo(path=path, name=path.name, sha256="", size=path.stat().st_size, format=fmt, encoding="utf-8")
    if info.size == 0:
        raise InputFileError("the file is empty", reason="empty_file", file=str(path), row=0,
                             fix="re-export it; an export with no records still has its outer structure")
    return info, HashingReader.open(path)


def _where(source: ReadOptions, path: Path):  # noqa: ANN202 - a predicate or None
    """The source's ``records_where`` filter (records not matching are skipped, counted)."""
    if not source.records_where:
        return None
    tests = [(compile_path(parse_paths([k], path)[k]), str(v)) for k, v in source.records_where.items()]

    def keep(record: Any) -> bool:
        return all(run(record)[0] == value for run, value in tests)

    return keep


def _filtered(records: Iterator[tuple[int, Any]], keep: Any) -> Iterator[tuple[int, Any]]:
    for number, record in records:
        if keep is not None and isinstance(record, dict) and not keep(record):
            yield number, _SKIP
        else:
            yield number, record


# ------------------------------------------------------------------------------------------
# NDJSON: one JSON record per line (FHIR bulk data export)
# ------------------------------------------------------------------------------------------

def _ndjson_records(handle: Any, skip: int = 0, number: int = 0, chains: frozenset[str] = frozenset(),
                    line: int = 0) -> Iterator[tuple[int, Any]]:
    """(record number, record) per non-blank line, after skipping ``skip`` non-blank lines
    (``number`` records and ``line`` lines come before ``handle``'s first).
    A line nested deeper than :data:`MAX_DEPTH`, or repeating a key on a chain in ``chains``
    (what the mapping reads), is a bad row (``too_deep`` / ``duplicate_key``)."""
    for line_no, text in enumerate(handle, start=line + 1):
        if not text.strip():
            continue  # blank lines (a trailing newline) are not records
        if skip:
            skip -= 1
            continue
        number += 1
        try:
            record = _loads(text)
        except _JSONError as exc:
            yield number, _Bad("bad_json_line", f"line {line_no} is not a JSON record ({type(exc).__name__}: "
                                                f"{str(exc).splitlines()[0][:80]}); row not staged. Fix: "
                                                "re-export the file, each line must be one complete JSON object")
            continue
        problem = record_problem(record, text, chains)
        yield number, record if problem is None else _Bad(*problem)


_KEY_END = re.compile(rb'"\s*:')  # ends every key of a JSON text (and, rarely, text inside a string)


def _walk(record: Any) -> int | None:
    """How many keys the record's objects hold, or None when it nests deeper than MAX_DEPTH
    (iterative: a record deeper than Python's stack is no problem)."""
    keys = 0
    stack = [(record, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return None
        items = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict):
            keys += len(value)
        stack.extend((v, depth + 1) for v in items if isinstance(v, (dict, list)))
    return keys


def record_problem(record: Any, line: bytes, chains: frozenset[str]) -> tuple[str, str] | None:
    """(reason, message) when a parsed NDJSON line nests too deep or repeats a key the mapping
    reads, else None. Cheap when neither: parsers keep one value per key, so the line holds a
    repeated key only if it has more key ends (``":``) than the record has keys; only then is
    the line parsed again, keeping every key, to name the repeated one."""
    if not isinstance(record, (dict, list)):
        return None
    keys = _walk(record)
    if keys is None:
        return "too_deep", _TOO_DEEP_MESSAGE
    if not chains or len(_KEY_END.findall(line)) <= keys:
        return None
    found: list[str] = []

    def visit(value: Any, prefix: str) -> None:
        if isinstance(value, list):
            for item in value:
                visit(item, prefix)
        elif isinstance(value, _Pairs):
            found.extend(f"{prefix}{key}" for key in value.repeated if f"{prefix}{key}" in chains)
            for key, item in value.items():
                visit(item, f"{prefix}{key}.")

    visit(json.loads(line, object_pairs_hook=_Pairs.of), "")
    return None if not found else ("duplicate_key", _duplicate_message(found[0]))


class _Pairs(dict):
    """A JSON object that remembers the keys it saw twice (``object_pairs_hook``)."""

    __slots__ = ("repeated",)
    repeated: list[str]

    @classmethod
    def of(cls, pairs: list[tuple[str, Any]]) -> _Pairs:
        out = cls()
        out.repeated = []
        for key, value in pairs:
            if key in out:
                out.repeated.append(key)
            out[key] = value
        return out


def _duplicate_message(chain: str) -> str:
    return (f"key '{chain}' appears twice in one object of the record, so its value is ambiguous; row not "
            "staged. Fix: correct the export (the system that wrote it, or a hand edit, repeated the key)")


def open_ndjson(path: Path, source: ReadOptions, *, encoding: str | None = None, used: list[str] | None = None,
                block_bytes: int = 0, batch_records: int = BATCH_RECORDS, keep: list | None = None) -> tuple[FileInfo, Iterator[Batch]]:
    """Open an NDJSON export: record n is the n-th non-blank line (UTF-8, as the format says).

    Fast path: Arrow's JSON reader parses blocks of lines against a schema holding only what
    the paths touch (typed from the first records), and the paths are evaluated vectorised
    (:mod:`stairs_link.io.arrow_paths`). Records whose shape differs from the sample, or a line
    that does not parse, make the rest of the file go through the per-record reader (the same
    results, more slowly), which reports bad lines as rejects."""
    info, stream = _open(path, "ndjson")
    paths = parse_paths(used or [], path)
    where = {k: parse_paths([k], path)[k] for k in (source.records_where or {})}
    if keep is None and paths:
        with path.open("rb") as handle:
            sample = [r for _, r in zip(range(SAMPLE_RECORDS), _ndjson_records(handle))]
        try:
            schema = schema_for([*paths.values(), *where.values()], [r for _, r in sample])
        except ShapeError:
            schema = None
        if schema is not None and len(schema):
            chains: dict[str, None] = {}
            for _, record in sample[:100]:  # the key paths present, for messages (mapping check reads more)
                if isinstance(record, dict):
                    key_chains(record, out=chains)
            info.header = list(chains)
            return info, _ndjson_arrow(stream, source, paths, where, schema, info, batch_records)
    buffered = io.BufferedReader(stream, buffer_size=1 << 20)
    read = read_chains([*paths.values(), *where.values()])
    numbered = _filtered(_sampled(_ndjson_records(buffered, chains=read), info), _where(source, path))
    return info, _batches(numbered, RecordBatcher(paths, batch_records=batch_records, keep=keep), info, stream)


class _LineBlocks:
    """A stream in blocks of about ``size`` bytes, each ending at a line end (the last may
    not). :meth:`rest` is the stream from a given block on (for the per-record reader), so the
    file is read once: its sha256 (:class:`HashingReader`) covers the bytes staged."""

    def __init__(self, stream: HashingReader, size: int) -> None:
        self.stream, self.size = stream, size
        self.pending = b""  # read, not yet in a block

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.stream.read(self.size):
            data = self.pending + chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                self.pending = data
                continue
            self.pending = data[cut:]
            yield data[:cut]
        if self.pending.strip():
            block, self.pending = self.pending, b""
            yield block

    def rest(self, block: bytes) -> io.BufferedReader:
        """``block``, what was read after it, then the rest of the stream, as one binary file."""
        return io.BufferedReader(_Prefixed(block + self.pending, self.stream), buffer_size=1 << 20)


class _Prefixed(io.RawIOBase):
    """Bytes already read, then the rest of a stream."""

    def __init__(self, head: bytes, stream: Any) -> None:
        self._head, self._stream = memoryview(head), stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


_OPENERS = bytes(1 if b in (0x7B, 0x5B) else 2 if b == 0x0A else 0 for b in range(256))  # for bytes.translate


def _deep_line(block: bytes) -> bool:
    """Whether a line of ``block`` nests deeper than MAX_DEPTH (Arrow parses any depth and
    ignores unread keys, so the fast path checks), vectorised: only a line with more than
    MAX_DEPTH opening brackets can be, and only those lines are counted outside strings
    (:func:`line_depths`). Lines where that count could be wrong (a doubled backslash, so an
    escaped quote may not be) and lines it finds too deep are parsed to be sure."""
    marks = np.frombuffer(block.translate(_OPENERS), dtype=np.uint8)  # '{' '[' -> 1, line feed -> 2
    at = np.flatnonzero(marks)
    kind = marks[at]
    opens = at[kind == 1]
    if opens.size <= MAX_DEPTH:
        return False
    data = np.frombuffer(block, dtype=np.uint8)
    starts = np.concatenate([[0], at[kind == 2] + 1])
    starts = starts[starts < len(data)]
    ends = np.append(starts[1:], len(data))
    per_line = np.diff(np.searchsorted(opens, np.append(starts, len(data))))
    many = np.flatnonzero(per_line > MAX_DEPTH)  # the only lines that can nest that deep
    if not many.size:
        return False
    # those lines, one after another, counted outside strings
    picked = np.concatenate([data[starts[at]:ends[at]] for at in many.tolist()])
    lengths = ends[many] - starts[many]
    depths = line_depths(picked, np.concatenate([[0], np.cumsum(lengths)[:-1]]))
    suspects = set(many[depths > MAX_DEPTH].tolist())
    if b"\\\\" in block:
        backslash = data == 0x5C
        doubled = np.flatnonzero(backslash[:-1] & backslash[1:])
        suspects.update(set((np.searchsorted(starts, doubled, side="right") - 1).tolist()) & set(many.tolist()))
    for at in sorted(suspects):
        try:
            record = _loads(block[starts[at]:ends[at]])
        except _JSONError:
            return True  # the per-record reader says what is wrong with the line
        if isinstance(record, (dict, list)) and _walk(record) is None:
            return True
    return False


def line_depths(data: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per line of ``data`` (bytes as uint8; lines begin at ``starts``), the deepest nesting
    of its brackets outside strings. A quote after a backslash counts as escaped, so a line
    holding a doubled backslash may be miscounted (:func:`_deep_line` parses those). Memory:
    arrays as long as the quotes and brackets, not the bytes."""
    out = np.zeros(len(starts), dtype=np.int64)
    quotes = np.flatnonzero(data == 0x22)
    if quotes.size:
        quotes = quotes[(quotes == 0) | (data[quotes - 1] != 0x5C)]
    brackets = np.flatnonzero((data == 0x7B) | (data == 0x5B) | (data == 0x7D) | (data == 0x5D))
    if not brackets.size:
        return out
    line_of = np.searchsorted(starts, brackets, side="right") - 1
    inside = (np.searchsorted(quotes, brackets) - np.searchsorted(quotes, starts)[line_of]) % 2 == 1
    brackets, line_of = brackets[~inside], line_of[~inside]
    if not brackets.size:
        return out
    step = np.where((data[brackets] == 0x7B) | (data[brackets] == 0x5B), 1, -1)
    depth = np.cumsum(step)
    first = np.flatnonzero(np.r_[True, line_of[1:] != line_of[:-1]])
    out[line_of[first]] = np.maximum.reduceat(depth, first) - (depth[first] - step[first])
    return out


def _ndjson_arrow(stream: HashingReader, source: ReadOptions, paths: dict[str, FieldPath],
                  where: dict[str, FieldPath], schema: Any, info: FileInfo, batch_records: int) -> Iterator[Batch]:
    """Batches of an NDJSON file through Arrow (see open_ndjson); falls back per record on
    the first block Arrow cannot read with the sampled schema (a key repeated on a path
    Arrow reads is such a block), or holding a line nested too deep."""
    import pyarrow as pa
    import pyarrow.json as pajson

    filled = dict.fromkeys(paths, 0)
    done = 0
    # Blocks of whole lines are handed to Arrow one at a time (pyarrow's own streaming JSON
    # reader parses ahead of its consumer, so its memory grows with the file).
    parse = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    failed: bytes | None = None
    blocks = _LineBlocks(stream, ARROW_BLOCK_BYTES)
    lines = 0
    for block in blocks:
        if _deep_line(block):
            failed = block
            break
        try:  # one Arrow block per call: a block size beyond the data, so no record straddles two
            table = pajson.read_json(pa.BufferReader(block), parse_options=parse,
                                     read_options=pajson.ReadOptions(use_threads=False, block_size=len(block) + 1))
        except (pa.ArrowInvalid, pa.ArrowException):
            failed = block  # another shape or a bad line: this block and the rest record by record
            break
        lines += block.count(b"\n")
        if table.num_rows == 0:
            continue
        batch = table.combine_chunks().to_batches()[0]
        n = batch.num_rows
        records = pa.StructArray.from_arrays(batch.columns, names=batch.schema.names)
        numbers = np.arange(done + 1, done + n + 1, dtype=np.int64)
        keep = np.ones(n, dtype=bool)
        for key, fp in where.items():
            text, _ = evaluate_arrow(fp, records)
            wanted = str((source.records_where or {})[key])
            keep &= pa.compute.fill_null(pa.compute.equal(text, wanted), False).to_numpy(zero_copy_only=False)
        skipped = int((~keep).sum())
        columns: dict[str, Any] = {}
        bad_at = np.full(n, -1, dtype=np.int64)
        problems: dict[int, tuple[str, int]] = {}
        for k, (column, fp) in enumerate(paths.items()):
            text, problem = evaluate_arrow(fp, records)
            columns[column] = text
            hit = (problem > 0) & keep & (bad_at < 0)
            bad_at[hit] = k
            for position in np.flatnonzero(hit).tolist():
                problems[position] = (column, int(problem[position]))
        good = keep & (bad_at < 0)
        bad_rows = []
        for row, (column, code) in sorted(problems.items()):
            reason: str = NOT_A_SCALAR if code == NOT_SCALAR else SEVERAL_VALUES
            bad_rows.append((int(numbers[row]), reason, "",
                             f"field path '{column}' gives {'an object' if code == NOT_SCALAR else 'several values'} "
                             f"here, not one value; row not staged. Fix: the mapping probably selects the wrong "
                             f"field: {problem_fix(column, reason)}"))
        mask = pa.array(good)
        frame = pd.DataFrame({c: pd.Series(v.filter(mask).fill_null("").to_pandas(types_mapper={pa.string(): TEXT}.get),
                                           dtype=TEXT) for c, v in columns.items()})
        for column, text in columns.items():
            filled[column] += int(pa.compute.sum(pa.compute.and_(text.is_valid(), mask)).as_py() or 0)
        done += n
        out = Batch(frame.reset_index(drop=True), numbers[good], bad_rows)
        out.skipped = skipped
        yield out
    try:
        if failed is not None:  # the rest record by record, numbered on from where Arrow stopped
            chains = read_chains([*paths.values(), *where.values()])
            rest = _ndjson_records(blocks.rest(failed), number=done, chains=chains, line=lines)
            batcher = RecordBatcher(paths, batch_records=batch_records)
            for batch in _batches(_filtered(rest, _where(source, stream.path or Path())), batcher, info, None):
                yield batch
            for column, count in batcher.filled.items():
                filled[column] += count
        stream.finish(info)
    finally:
        stream.close()
    info.unmatched = [c for c, count in filled.items() if count == 0]


# ------------------------------------------------------------------------------------------
# JSON documents: a list of records at `records_path` (a FHIR Bundle: records_path: entry)
# ------------------------------------------------------------------------------------------

def open_json(path: Path, source: ReadOptions, *, encoding: str | None = None, used: list[str] | None = None,
              block_bytes: int = 0, batch_records: int = BATCH_RECORDS, keep: list | None = None) -> tuple[FileInfo, Iterator[Batch]]:
    """Open a JSON document and stream the records of the list at ``records_path`` (dotted
    keys; none: the document is the list). Records keep their nesting: fields are paths."""
    import ijson

    info, stream = _open(path, "json")
    paths = parse_paths(used or [], path)
    wanted = source.records_path or ""
    big = _big_numbers(path)
    prefix, list_prefix = _exact_prefix(path, wanted, big)
    record_prefix = prefix or (f"{list_prefix}.item" if list_prefix is not None else None)
    where = parse_paths(list(source.records_where or {}), path)
    scan = JsonScan(stream, path, record_prefix, list_prefix, read_chains([*paths.values(), *where.values()]), big)

    def records() -> Iterator[tuple[int, Any]]:
        number = 0
        try:
            if record_prefix is None:  # read on: a syntax error (or too deep a document) is reported first
                for _ in scan.events():
                    pass
            else:
                for number, record in enumerate(ijson.items(scan.events(), record_prefix), start=1):
                    problem = scan.bad.pop(number, None)
                    yield number, record if problem is None else _Bad(*problem)
        except ijson.JSONError as exc:
            line, message = _json_error_line(path), _json_error_kind(exc)
            raise InputFileError(f"not valid JSON after record {number}"
                                 + (f", line {line}" if line else "") + f": {message}",
                                 reason="bad_json", file=str(path), row=number or None, line=line,
                                 fix="re-export the file; it looks cut short or hand-edited") from None
        if not scan.list_seen and prefix is None:
            raise _missing_records(path, source)

    numbered = _filtered(_sampled(records(), info), _where(source, path))
    return info, _batches(numbered, RecordBatcher(paths, batch_records=batch_records, keep=keep), info, stream)


def read_chains(paths: Iterable[FieldPath]) -> frozenset[str]:
    """Every key chain the paths read ('name', 'name.use', 'name.family' for
    name[use=official].family): a duplicated key on one of them changes a staged value."""
    chains: set[str] = set()

    def walk(tree: dict, prefix: str) -> None:
        for key, sub in tree.items():
            chains.add(prefix + key)
            walk(sub, f"{prefix}{key}.")

    walk(key_tree(list(paths)), "")
    return frozenset(chains)


_LONG_DIGITS = re.compile(rb"\d{19}")


def _big_numbers(path: Path) -> bool:
    """Whether the file holds a run of 19 digits or more (a number that may not fit in 64
    bits, which ijson's fast yajl2_c backend refuses as an 'integer overflow': such a file is
    read with ijson's pure-Python backend, slower but exact). Digits inside strings count too
    (the check does not parse), which only costs speed."""
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(8 << 20):
            if _LONG_DIGITS.search(tail + chunk[:32]) or _LONG_DIGITS.search(chunk):
                return True
            tail = chunk[-32:]
    return False


class _Item:
    """Marks an array level in :class:`JsonScan`'s path (a key may be called 'item')."""


_ITEM = _Item()
def _too_deep_outside_records(path: Path, records: int, what: str) -> InputFileError:
    """The error for a JSON or XML document nesting deeper than MAX_DEPTH outside its records
    (``what``: " elements" for XML), after ``records`` records."""
    return InputFileError(f"the document nests{what} deeper than {MAX_DEPTH} levels outside its records "
                          f"(after record {records})", reason="too_deep", file=str(path), row=records or None,
                          fix="re-export the file (no real export nests this deep: it looks damaged or hostile), "
                              "and check `records_path:`")


_TOO_DEEP_MESSAGE = (f"the record nests deeper than {MAX_DEPTH} levels; row not staged. Fix: re-export the file "
                     "(no real export nests this deep: it looks damaged or hostile)")


class JsonScan:
    """ijson's basic events turned into the prefixed events ``ijson.parse`` gives, checking on
    the way what ``ijson`` does not: nesting depth and duplicated keys.

    Prefixes are built only outside the records (inside one they are not needed, and
    building them for a 100,000-deep document costs quadratic time and memory). A record
    nested deeper than :data:`MAX_DEPTH` levels is recorded in ``bad`` (reason ``too_deep``)
    and its deep part is never built (one null stands for it); the document nested deeper
    than that outside the records is an error. A key that appears twice in one object of a
    record, on a key chain in ``chains`` (what the mapping reads), is recorded in ``bad``
    (reason ``duplicate_key``): JSON parsers keep the last value silently. ``bad`` maps the
    record number (1-based, as ``ijson.items`` numbers them) to (reason, message).
    """

    def __init__(self, stream: Any, path: Path, record_prefix: str | None, list_prefix: str | None = None,
                 chains: frozenset[str] = frozenset(), big_numbers: bool | None = None) -> None:
        self.stream, self.path = stream, path
        self.big_numbers = _big_numbers(path) if big_numbers is None else big_numbers
        self.record_prefix, self.list_prefix, self.chains = record_prefix, list_prefix, chains
        self.bad: dict[int, tuple[str, str]] = {}
        self.records = 0
        self.list_seen = False

    def events(self) -> Iterator[tuple[str, str, Any]]:
        import ijson

        path: list[Any] = []  # per open container: its current key, or _ITEM (an array)
        own: list[str] = []  # per open container: its own prefix
        keys: list[set | None] = []  # per open container: the keys seen (objects)
        current = ""  # the prefix of a value event here
        base = -1  # len(path) when the current record started (-1: outside the records)
        backend = ijson.get_backend("python") if self.big_numbers else ijson
        basic = backend.basic_parse(self.stream, use_float=True)
        for event, value in basic:
            if event == "map_key":
                seen = keys[-1]
                if seen is not None:
                    if value in seen and base >= 0:
                        self._duplicate(path[base:-1], value)
                    seen.add(value)
                path[-1] = value
                if base < 0:
                    current = f"{own[-1]}.{value}" if own[-1] else value
                yield own[-1], event, value
            elif event == "start_map" or event == "start_array":
                if base < 0 and current == self.record_prefix:
                    self.records += 1
                    base = len(path)
                if event == "start_array" and base < 0 and current == self.list_prefix:
                    self.list_seen = True
                if base >= 0 and len(path) - base >= MAX_DEPTH:
                    self.bad[self.records] = ("too_deep", _TOO_DEEP_MESSAGE)
                    _skip_subtree(basic)
                    yield current, "null", None  # the deep part, never built
                    continue
                if base < 0 and len(path) >= MAX_DEPTH:
                    raise _too_deep_outside_records(self.path, self.records, "")
                yield current, event, value
                own.append(current)
                if event == "start_map":
                    path.append(None)
                    keys.append(set())
                else:
                    path.append(_ITEM)
                    keys.append(None)
                    if base < 0:
                        current = f"{current}.item" if current else "item"
            elif event == "end_map" or event == "end_array":
                path.pop()
                keys.pop()
                current = own.pop()
                if len(path) == base:
                    base = -1
                yield current, event, value
            else:
                if base < 0 and current == self.record_prefix:
                    self.records += 1  # a scalar where a record belongs (not_a_record)
                yield current, event, value

    def _duplicate(self, within: list[Any], key: str) -> None:
        chain = ".".join([k for k in within if k is not _ITEM and k is not None] + [key])
        if chain in self.chains and self.records not in self.bad:
            self.bad[self.records] = ("duplicate_key", _duplicate_message(chain))


def _skip_subtree(basic: Iterator[tuple[str, Any]]) -> None:
    """Consume basic events up to the end of the container just started (without building it)."""
    depth = 1
    for event, _ in basic:
        if event == "start_map" or event == "start_array":
            depth += 1
        elif event == "end_map" or event == "end_array":
            depth -= 1
            if depth == 0:
                return


def _json_error_kind(exc: Exception) -> str:
    """yajl's description of a syntax error without the text it quotes around the bad byte
    (its later lines, or after an escaped line break in a bytes repr): that text can be a
    child's name."""
    text = str(exc)
    if text.startswith(("b'", 'b"')):
        text = text[2:]
    return re.split(r"\\n|\n", text, maxsplit=1)[0].strip()[:120]


def _strip_items(prefix: str) -> str:
    return ".".join(p for p in prefix.split(".") if p != "item")


def _exact_prefix(path: Path, wanted: str, big_numbers: bool | None = None) -> tuple[str | None, str | None]:
    """ijson's prefix of the records at ``records_path`` (FHIRPath-style: lists are implicit,
    so 'entry.resource' finds 'entry.item.resource'), and the prefix of an empty list there.
    Reads only until the first record; (None, None) if there is none."""
    import ijson

    empty_list = None
    try:
        with path.open("rb") as handle:
            for prefix, event, _ in JsonScan(handle, path, None, big_numbers=big_numbers).events():
                if _strip_items(prefix) != wanted or "item" not in prefix.split("."):
                    if event == "start_array" and _strip_items(prefix) == wanted and empty_list is None:
                        empty_list = prefix
                    continue
                if event == "start_map":
                    return prefix, None
    except ijson.JSONError:
        return None, None  # the streaming pass reports it with its record number
    return None, empty_list


def _json_error_line(path: Path, limit: int = 256 << 20) -> int | None:
    """The line of the first JSON syntax error (the standard parser says; files up to ``limit``)."""
    if path.stat().st_size > limit:
        return None
    try:
        json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        return exc.lineno
    except (UnicodeDecodeError, RecursionError):
        return None
    return None


def _missing_records(path: Path, source: ReadOptions) -> InputFileError:
    """The records path is not a list in this document: say which step is missing and the keys there."""
    import difflib

    steps = source.records_path.split(".") if source.records_path else []
    levels = {".".join(steps[:i]): i for i in range(len(steps) + 1)}
    keys: dict[int, list[str]] = {}
    try:
        with path.open("rb") as handle:
            for prefix, event, value in JsonScan(handle, path, None).events():
                if event == "map_key" and prefix in levels:
                    keys.setdefault(levels[prefix], []).append(value)
    except Exception:  # noqa: BLE001 - only for the message
        pass
    depth = next((i for i, step in enumerate(steps) if step not in keys.get(i, [])), len(steps))
    options = keys.get(depth, [])
    close = difflib.get_close_matches(steps[depth], options, n=1) if depth < len(steps) else []
    where = f" at '{source.records_path}'" if source.records_path else ""
    missing = f" (no key '{steps[depth]}')" if depth < len(steps) else ""
    return InputFileError(
        f"records path{where} not found{missing}: no list of records there"
        + (f"; did you mean '{close[0]}'?" if close else ""), reason="missing_records_path", file=str(path),
        fix="set `records_path:` to the dotted path of the list of records (a FHIR Bundle: entry)"
            + (f"; keys here: {', '.join(options[:20])}" if options else ""))


# ------------------------------------------------------------------------------------------
# XML (DfE Common Transfer File and other XML exports)
# ------------------------------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def element_data(element: Any, depth: int = 0) -> Any:
    """An element as plain data: text for a leaf, else a dict of '@attr', children, '#text'.
    (The reader never passes a record nesting deeper than MAX_DEPTH; the guard is for callers.)"""
    if depth > MAX_DEPTH:
        raise RecursionError
    children = list(element)
    text = (element.text or "").strip()
    if not children and not element.attrib:
        return text or None
    out: dict[str, Any] = {f"@{_local(k)}": v for k, v in element.attrib.items()}
    for child in children:
        tag = _local(child.tag)
        value = element_data(child, depth + 1)
        if value is None:
            continue
        if tag in out:
            if not isinstance(out[tag], list):
                out[tag] = [out[tag]]
            out[tag].append(value)
        else:
            out[tag] = value
    if text:
        out[TEXT_KEY] = text
    return out


def _tag_path(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.replace(".", "/").split("/") if p)


def open_xml(path: Path, source: ReadOptions, *, encoding: str | None = None, used: list[str] | None = None,
             block_bytes: int = 0, batch_records: int = BATCH_RECORDS, keep: list | None = None) -> tuple[FileInfo, Iterator[Batch]]:
    """Open an XML export; records are the elements at ``records_path`` (tags from the root,
    e.g. CTfile/CTFpupilData/Pupil). Absolute field paths (``/CTfile/Header/LEA``) take the
    text of an element outside the records, which must come before the first record."""
    import xml.etree.ElementTree as ET

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    if not source.records_path:
        raise InputFileError("an XML source needs `records_path:` (the element path of one record)",
                             reason="missing_records_path", file=str(path),
                             fix="add e.g. `records_path: CTfile/CTFpupilData/Pupil` to the table's source")
    info, stream = _open(path, "xml")
    info.encoding = None
    paths = parse_paths(used or [], path)
    record_tags = _tag_path(source.records_path)
    absolute_tags = {_tag_path(c.lstrip("/")): c for c, p in paths.items() if p.absolute}
    absolute: dict[str, str | None] = {}
    batcher = RecordBatcher(paths, absolute, batch_records=batch_records, keep=keep)

    def records() -> Iterator[tuple[int, Any]]:
        number = 0
        stack: list[Any] = []
        tags: list[str] = []
        root_seen: str | None = None
        levels = len(record_tags)
        absolute_levels = {len(k) for k in absolute_tags}
        inside = deep = False  # within a record; that record nests deeper than MAX_DEPTH
        try:
            for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=False,
                                            forbid_entities=True, forbid_external=True):
                if event == "start":
                    stack.append(element)
                    tags.append(_local(element.tag))
                    root_seen = root_seen or tags[0]
                    if not inside and len(tags) == levels and tuple(tags) == record_tags:
                        inside, deep = True, False
                    elif inside and len(tags) - levels > MAX_DEPTH:
                        deep = True
                    elif not inside and len(tags) > MAX_DEPTH:
                        raise _too_deep_outside_records(path, number, " elements")
                    continue
                depth = len(tags)
                if inside and depth - levels > MAX_DEPTH:  # never kept: memory stays bounded by the limit
                    element.clear()
                    del stack[-2][-1]
                elif inside and depth == levels:
                    inside = False
                    number += 1
                    if deep:
                        yield number, _Bad("too_deep", _TOO_DEEP_MESSAGE)
                    else:
                        record = element_data(element)
                        yield number, record if isinstance(record, dict) else {TEXT_KEY: record}
                    element.clear()
                    if len(stack) > 1:
                        del stack[-2][-1]  # the record is its parent's last child so far: O(1)
                elif not inside and depth in absolute_levels and (key := tuple(tags)) in absolute_tags:
                    absolute[absolute_tags[key]] = (element.text or "").strip() or None
                stack.pop()
                tags.pop()
        except DefusedXmlException as exc:
            raise InputFileError(f"the XML declares entities or external references ({type(exc).__name__}); "
                                 "refused for safety", reason="unsafe_xml", file=str(path),
                                 fix="export the file without a DTD / entity declarations (a CTF never needs them)") from None
        except ET.ParseError as exc:
            line, column = getattr(exc, "position", (None, None))
            raise InputFileError(f"malformed XML at line {line}, column {column}: {str(exc).split(':')[0]}",
                                 reason="bad_xml", file=str(path), line=line, row=number or None,
                                 fix="re-export the file; it looks cut short or hand-edited") from None
        if number == 0 and root_seen is not None and root_seen != record_tags[0]:
            raise InputFileError(f"records path '{source.records_path}' does not match the document (its root "
                                 f"element is '{root_seen}')", reason="missing_records_path", file=str(path),
                                 fix=f"set `records_path:` to the element path of one record, starting '{root_seen}/'")

    numbered = _filtered(_sampled(records(), info), _where(source, path))
    return info, _batches(numbered, batcher, info, stream)


OPENERS = {"json": open_json, "ndjson": open_ndjson, "xml": open_xml}


def read_header(path: Path, source: ReadOptions, *, encoding: str | None = None) -> FileInfo:
    """The field paths present in the first :data:`SAMPLE_RECORDS` records (``info.header``)."""
    info, batches = OPENERS[source.format or "json"](path, source, encoding=encoding, used=[],
                                                     batch_records=SAMPLE_RECORDS)
    for _ in batches:  # the first records give the paths present (info.header)
        break
    return info


for _name, _extensions in (("json", (".json",)), ("ndjson", (".ndjson", ".jsonl")), ("xml", (".xml",))):
    register(Reader(_name, _extensions, OPENERS[_name], header=read_header, nested=True))


def sample_records(path: Path, source: ReadOptions, n: int = SAMPLE_RECORDS) -> tuple[FileInfo, list[Any]]:
    """The first ``n`` records of a nested export as plain data, and what was learnt opening it
    (``info.header``: the key paths present). For `mapping new` and `mapping check`."""
    kept: list[Any] = []
    info, batches = OPENERS[source.format or "json"](path, source, used=[], batch_records=n, keep=kept)
    for _ in batches:  # one batch of n records is enough
        break
    return info, kept
