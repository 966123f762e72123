"""`adapt`: one site system's export + its mapping -> staged canonical Parquet, rejects, manifest.

Files are read in batches and each table is written incrementally (``pq.ParquetWriter``), so
memory stays bounded however large the export. Same inputs give byte-identical tables: no
wall-clock time goes into the data (``extracted_at`` comes from the option, the mapping or an
export column), files are read in sorted order, and batch boundaries depend only on the data.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link import __version__
from stairs_link import progress as progress_report
from stairs_link import standardise as std
from stairs_link.adapt.pseudonymise_step import SitePseudonymiser
from stairs_link.adapt.transform import TEXT, SeenIds, TableContext, _dates, _raw, transform_batch
from stairs_link.errors import InputFileError, MappingError, Problem
from stairs_link.io.base import DEFAULT_BLOCK_BYTES, Batch, FileInfo
from stairs_link.io.readers import open_export
from stairs_link.mapping.loader import load_mapping
from stairs_link.mapping.model import NESTED_FORMATS, FieldSpec, Mapping, SourceSpec, TableSpec
from stairs_link.privacy.tokens import keyed_token
from stairs_link.schema.io import to_arrow
from stairs_link.schema.outputs import file_record, locks_output, publishing, write_atomic
from stairs_link.schema.tables import SCHEMA_VERSION, TABLES, arrow_schema

if TYPE_CHECKING:
    from stairs_link.adapt.pseudonymise_step import SitePseudonymiser
    from stairs_link.privacy import PrivacyParams


IDENTIFIER_CODES = "identifier_codes"


class _BackgroundWrites:
    """Parquet writes on one background thread, in submission order, at most ``depth``
    pending: Arrow releases the GIL while encoding and compressing, so on two cores the
    next batch is transformed while the last one is written. Memory stays bounded."""

    def __init__(self, depth: int = 2) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stairs-link-parquet")
        self._pending: list = []
        self._depth = depth

    def write(self, writer: pq.ParquetWriter, table: pa.Table) -> None:
        self._pending.append(self._pool.submit(writer.write_table, table))
        while len(self._pending) > self._depth:
            self._pending.pop(0).result()  # re-raises a write error here

    def finish(self) -> None:
        try:
            while self._pending:
                self._pending.pop(0).result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class AdaptResult:
    """What `adapt` wrote: the manifest (also in ``out_dir/manifest.json``) and table paths."""

    out_dir: Path
    manifest: dict
    tables: list[Path] = field(default_factory=list)
    rejects: Path | None = None


def _parse_extracted_at(value: str, origin: str) -> dt.date:
    try:
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        raise MappingError(f"extracted_at '{value}' is not an ISO 8601 date or date-time", reason="bad_extracted_at",
                           file=origin, fix="write it like 2026-03-31 or 2026-03-31T09:00:00") from None


def find_files(source: SourceSpec, inputs: list[Path], table: str, mapping: Mapping) -> list[tuple[Path, str]]:
    """Files selected by a table's globs: (path, name used in provenance), sorted, no repeats.

    A directory input is searched with each glob (relative to it); a file input is taken when
    its name matches a glob. The provenance name is the path relative to its input directory.
    """
    found: dict[Path, str] = {}
    seen: set[Path] = set()
    present: list[str] = []
    for item in inputs:
        if item.is_dir():
            for pattern in source.files:
                for path in sorted(item.glob(pattern)):
                    if path.is_file() and path.resolve() not in seen:
                        seen.add(path.resolve())
                        name = path.relative_to(item).as_posix()
                        # two input folders holding the same file name: keep provenance distinct
                        found[path] = f"{item.name}/{name}" if name in found.values() else name
            present += sorted(p.relative_to(item).as_posix() for p in item.rglob("*") if p.is_file())
        elif item.is_file():
            present.append(item.name)
            if any(fnmatch.fnmatch(item.name, pattern) for pattern in source.files) and item.resolve() not in seen:
                seen.add(item.resolve())
                found[item] = item.name
        else:
            raise InputFileError("input not found", reason="missing_input", file=str(item),
                                 fix="give an export file or the directory that holds the export")
    if not found:
        close = difflib.get_close_matches(source.files[0], present, n=1, cutoff=0.3)
        raise MappingError(
            f"no input file matches {', '.join(repr(f) for f in source.files)} for table '{table}'"
            + (f"; did you mean '{close[0]}'?" if close else ""),
            reason="no_matching_file", file=str(mapping.path),
            fix=f"adjust tables.{table}.source.files in the mapping, or pass the right export; files seen: "
                + (", ".join(present[:20]) or "none"),
        )
    return sorted(((p, name) for p, name in found.items()), key=lambda t: t[1])


def _closest(name: str, options: list[str]) -> list[str]:
    """The best spelling match, plus a second one only if it is as good ('FORENAME_1' or 'FORENAME_2')."""
    scored = sorted(((difflib.SequenceMatcher(None, name, o).ratio(), o) for o in options), reverse=True)
    scored = [t for t in scored if t[0] >= 0.5]
    if not scored:
        return []
    return sorted(o for r, o in scored[:2] if r >= scored[0][0] - 0.02)


def check_columns(header: list[str], mapping: Mapping, table: str, path: Path) -> list[Problem]:
    """Every column the mapping names for ``table`` that the file's header lacks."""
    problems = []
    fields = [(n, s) for n, s in mapping.tables[table].fields.items() if s.from_table is None]
    fields += [(f"person.{s.name}", s) for s in mapping.borrowed_fields(table)]
    for name, spec in fields:
        for column in spec.columns:
            if column not in header:
                close = _closest(column, header)
                if not close:
                    lowered = {h.lower().replace(" ", ""): h for h in header}
                    hit = lowered.get(column.lower().replace(" ", ""))
                    close = [hit] if hit else []
                problems.append(Problem(
                    reason="missing_column", file=spec.origin or str(mapping.path), line=spec.line, column=column,
                    message=f"column '{column}' (for {table}.{name}) not found in {path.name}"
                            + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""),
                    fix="correct the column name in the mapping, or ask the site for an export with this column",
                ))
    return problems


def require_columns(info: FileInfo, mapping: Mapping, table: str, path: Path) -> None:
    """MappingError listing every column the mapping names for ``table`` that the file lacks."""
    if info.format in NESTED_FORMATS:
        return  # field paths: an absent element is a null; paths matching no record are warned about
    if info.header:
        problems = check_columns(info.header, mapping, table, path)
        if problems:
            raise MappingError(f"{len(problems)} column(s) named by the mapping are missing from the export",
                               reason="missing_column", file=str(path), fix="see each problem below",
                               problems=problems)


def _rejects_frame(bad_rows: list[tuple[int, str, str, str]], source_file: str, table: str, mapping_id: str) -> pd.DataFrame:
    return pd.DataFrame({
        "source_file": source_file,
        "source_row": np.array([b[0] for b in bad_rows], dtype="int64"),
        "table": table,
        "column": None,
        "raw_value": [b[2] for b in bad_rows],
        "reason": [b[1] for b in bad_rows],
        "message": [b[3] for b in bad_rows],
        "row_rejected": True,
        "mapping_id": mapping_id,
    })


@locks_output("adapt")
def adapt(
    mapping_path: str | Path,
    inputs: list[Path] | list[str],
    out_dir: str | Path,
    *,
    extracted_at: str | None = None,
    encoding: str | None = None,
    progress: bool = False,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    pseudonymise_key: bytes | None = None,
    privacy_params: PrivacyParams | None = None,
    show_values: bool = False,
) -> AdaptResult:
    """Adapt one site system's export with its mapping; see module docstring and
    docs/mapping-format.md. Raises MappingError / InputFileError for anything the user must fix.

    With ``pseudonymise_key`` (from ``stairs_link.privacy.load_key``) every batch is
    pseudonymised before it is written (docs/privacy.md): tokens, Bloom encodings, no plaintext.

    Raw values (unknown codes) appear in the manifest and in errors only with
    ``show_values=True`` and never when pseudonymising: otherwise each is a label ``#`` +
    16 hex characters (:func:`value_labels`), with its count.
    """
    mapping = load_mapping(mapping_path)
    inputs = [Path(p) for p in inputs]
    out_dir = Path(out_dir)
    stamp = extracted_at if extracted_at is not None else mapping.extracted_at
    reference = _parse_extracted_at(stamp, "--extracted-at" if extracted_at else str(mapping.path)) if stamp else None

    plan = adapt_plan(mapping, inputs)
    pseudo = None
    if pseudonymise_key is not None:
        pseudo = SitePseudonymiser(pseudonymise_key, privacy_params)
    labels = value_labels(mapping, show_values=show_values, key=pseudonymise_key)
    warnings = start_warnings(mapping, reference)
    borrowed, borrowed_notes = borrowed_values(mapping, plan, stamp, extracted_at, reference, encoding)
    out_dir.mkdir(parents=True, exist_ok=True)
    partial: list[Path] = []
    sources: list[dict] = []
    checksums: dict[str, dict] = {}
    table_rows: dict[str, int] = {}
    rejects_path = out_dir / "rejects.parquet"
    rejects_tmp = out_dir / "rejects.parquet.partial"
    rejects_schema = arrow_schema("rejects") if pseudo is None else pseudo.schema(arrow_schema("rejects"))
    rejects_writer = pq.ParquetWriter(rejects_tmp, rejects_schema, compression="zstd")
    partial.append(rejects_tmp)
    rejects_total = 0
    writers: list[pq.ParquetWriter] = [rejects_writer]
    background = _BackgroundWrites()
    persons = SeenIds() if "person" in plan else None  # the person table's local ids, for orphan_event
    try:
        for table, files in plan.items():
            spec = mapping.tables[table]
            tmp = out_dir / f"{table}.parquet.partial"
            partial.append(tmp)
            schema = arrow_schema(table) if pseudo is None else pseudo.schema(arrow_schema(table))
            writer = pq.ParquetWriter(tmp, schema, compression="zstd")
            writers.append(writer)
            table_rows[table] = 0
            seen = SeenIds()
            for path, name in files:
                source, info = _adapt_file(path, name, table, mapping, ctx_args={
                    **context_args(spec, stamp, extracted_at, reference), "seen": seen, "persons": persons,
                    **({"borrowed": borrowed} if table == "person" else {}), "labels": labels,
                }, encoding=encoding, block_bytes=block_bytes, writers=(writer, rejects_writer),
                    background=background, pseudo=pseudo, progress=progress)
                checksums[name] = checksum_entry(name, info)
                table_rows[table] += source["rows_staged"]
                rejects_total += source.pop("rejects")
                sources.append(source)
            if table == "person":
                persons = seen
        background.finish()
        for writer in writers:
            writer.close()
    except BaseException:
        try:
            background.finish()
        except Exception:  # noqa: BLE001 - the first error is the one to report
            pass
        for writer in writers:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - cleaning up after the real error
                pass
        for path in partial:
            path.unlink(missing_ok=True)
        raise
    if (out_dir / "manifest.json").exists():
        # A previous adapt wrote here: drop its tables this mapping does not fill, so the
        # folder never mixes two runs (only canonical table files are touched).
        for table in TABLES:
            if table not in plan:
                (out_dir / f"{table}.parquet").unlink(missing_ok=True)
    # The manifest is the completion record: it goes first and comes back last, so a run
    # killed while publishing leaves tables without a manifest, which no later stage reads.
    with publishing(out_dir):
        return _publish(out_dir, plan, mapping, stamp, checksums, sources, table_rows, rejects_total, warnings,
                        borrowed_notes, pseudo, rejects_tmp, rejects_path)


def _publish(out_dir: Path, plan: dict, mapping: Mapping, stamp: str | None, checksums: dict, sources: list[dict],
             table_rows: dict[str, int], rejects_total: int, warnings: list[str], borrowed_notes: Any,
             pseudo: SitePseudonymiser | None, rejects_tmp: Path, rejects_path: Path) -> AdaptResult:
    """Rename the finished tables into place and write the manifest (the completion record,
    with each file's rows, bytes and sha256) last, atomically."""
    (out_dir / "manifest.json").unlink(missing_ok=True)
    written = []
    for table in plan:
        final = out_dir / f"{table}.parquet"
        (out_dir / f"{table}.parquet.partial").replace(final)
        written.append(final)
    rejects_tmp.replace(rejects_path)
    orphans = orphan_counts(list(plan), sources)
    manifest = build_manifest(mapping, stamp, checksums, sources, table_rows, rejects_total, orphans, warnings)
    if borrowed_notes:
        manifest["person_fields_from_other_tables"] = borrowed_notes
    if pseudo is not None:
        manifest["pseudonymisation"] = pseudo.manifest()
    for entry in [*manifest["tables"].values(), manifest["rejects"]]:
        entry.update(file_record(out_dir / entry["file"]))
    write_atomic(out_dir / "manifest.json", manifest_text(manifest))
    return AdaptResult(out_dir=out_dir, manifest=manifest, tables=written, rejects=rejects_path)


def adapt_plan(mapping: Mapping, inputs: list[Path]) -> dict[str, list[tuple[Path, str]]]:
    """The files of each table, in the order they are adapted (both engines): the person
    table first, so each event's person row is known (orphan_event) and, pseudonymising,
    the dates of birth that give episodes their age at admission."""
    plan = {table: find_files(spec.source, inputs, table, mapping) for table, spec in mapping.tables.items()}
    return dict(sorted(plan.items(), key=lambda item: item[0] != "person"))


def borrowed_values(mapping: Mapping, plan: dict[str, list[tuple[Path, str]]], stamp: str | None,
                    extracted_at: str | None, reference: dt.date | None,
                    encoding: str | None) -> tuple[dict[str, pd.Series], list[dict]]:
    """Person fields with ``from_table:`` (e.g. SSDA903's HOME_POST on the episodes file): one
    pass over that table's files, keeping per local id the non-blank value of the row with the
    latest ``latest_by`` date (ties and undated rows: the later row in file order). Returns
    local id -> raw value per field (standardised later, as if it were in the person file) and
    the manifest notes: rows read, children with a value, children with differing values."""
    values: dict[str, pd.Series] = {}
    notes: list[dict] = []
    person = mapping.tables.get("person")
    for spec in [] if person is None else [s for s in person.fields.values() if s.from_table]:
        other = mapping.tables[str(spec.from_table)]
        ctx = TableContext(mapping=mapping, table=other, source_file="", source_format="csv",
                           **context_args(other, stamp, extracted_at, reference))
        parts = []
        order = 0
        names = []
        for path, name in plan.get(str(spec.from_table), []):
            names.append(name)
            info, batches = open_export(path, other.source, encoding=encoding,
                                        used=mapping.columns_used(str(spec.from_table)))
            require_columns(info, mapping, str(spec.from_table), path)
            ctx.source_format = info.format
            for batch in batches:
                frame = batch.frame.astype(TEXT).reset_index(drop=True)
                if not len(frame):
                    continue
                ids = std_tidy(_raw(other.fields["local_id"], frame))
                when = _dates(other.fields[str(spec.latest_by)], _raw(other.fields[str(spec.latest_by)], frame),
                              "date", ctx).value
                value = _join_columns(spec, frame)
                parts.append(pd.DataFrame({"id": ids, "when": pd.to_datetime(when), "order": order + np.arange(len(frame)),
                                           "value": value.str.strip()}))
                order += len(frame)
        rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            {"id": pd.Series([], dtype=TEXT), "when": pd.Series([], dtype="datetime64[ns]"),
             "order": pd.Series([], dtype=np.int64), "value": pd.Series([], dtype=TEXT)})
        rows = rows[rows["id"].notna() & (rows["value"].fillna("") != "")]
        latest = rows.sort_values(["id", "when", "order"], na_position="first", kind="stable") \
            .drop_duplicates("id", keep="last")
        values[spec.name] = pd.Series(latest["value"].to_numpy(), index=latest["id"].to_numpy(), dtype=TEXT)
        several = int((rows.groupby("id")["value"].nunique() > 1).sum())
        notes.append({"field": spec.name, "from_table": spec.from_table, "files": names, "column": spec.label,
                      "rule": f"latest {spec.latest_by} with a value", "rows_with_value": int(len(rows)),
                      "children_with_value": int(len(latest)), "children_with_several_values": several})
    return values, notes


def std_tidy(raw: pd.Series) -> pd.Series:
    return std.tidy_text(raw).astype(TEXT)


def _join_columns(spec: FieldSpec, frame: pd.DataFrame) -> pd.Series:
    """A borrowed field's raw text in its own table's frame (its columns, joined)."""
    plain = FieldSpec(name=spec.name, columns=spec.columns, join=spec.join)
    return _raw(plain, frame).astype(TEXT).fillna("")


def start_warnings(mapping: Mapping, reference: dt.date | None) -> list[str]:
    """Warnings known before any row is read (both engines)."""
    warnings = []
    uses_two_digit_years = any("%y" in f for spec in mapping.tables.values() for field in spec.fields.values()
                               for f in field.formats or ())
    if reference is None and uses_two_digit_years:
        warnings.append("no extraction date (--extracted-at or `extracted_at:` in the mapping): two-digit years "
                        "were resolved against the current year, so a rerun in a later year may differ")
    return warnings


Labels = Callable[[list[str]], dict[str, str]]


def _hashed(salt: str, values: list[str]) -> dict[str, str]:
    return {v: "#" + hashlib.sha256(f"{salt}\0{v}".encode()).hexdigest()[:16] for v in values}


def _keyed(key: bytes, values: list[str]) -> dict[str, str]:
    tokens = keyed_token(pd.Series(values, dtype="string"), key, "unknown-code", length=16)
    return {v: "#" + str(t) for v, t in zip(values, tokens.tolist())}


def value_labels(mapping: Mapping, *, show_values: bool, key: bytes | None = None) -> Labels | None:
    """How raw values (unknown codes) are named outside the tables: None (as written) only
    when the user asked (``--show-values``) and nothing is pseudonymised; a keyed token under
    the site's key when pseudonymising; else a hash salted with the mapping's sha256 (the
    plain staged tables beside the manifest hold the values anyway, so it hides them from
    people reading the manifest or the console, not from someone holding the tables)."""
    if key is not None:
        return partial(_keyed, bytes(key))
    if show_values:
        return None
    return partial(_hashed, mapping.sha256)


def context_args(spec: TableSpec, stamp: str | None, extracted_at: str | None, reference: dt.date | None) -> dict:
    """The per-table TableContext arguments (``extracted_at`` from the option, else the
    mapping's, unless the table maps an extracted_at column of its own)."""
    return {"extracted_at": stamp if (extracted_at is not None or "extracted_at" not in spec.fields) else None,
            "reference_date": reference}


def checksum_entry(name: str, info: FileInfo) -> dict:
    """The manifest's ``inputs`` entry for one file (call it after the file's rows are read:
    the readers' sha256 and bytes are those of the bytes the rows were parsed from)."""
    entry = {"file": name, "sha256": info.sha256, "bytes": info.size, "format": info.format,
             "encoding": info.encoding, "delimiter": info.delimiter}
    if info.encoding_detail:
        entry["encoding_detail"] = info.encoding_detail
    if info.header_cells:  # header cells read with normalised whitespace: name -> cell as written
        entry["header_cells"] = dict(info.header_cells)
    return entry


def source_entry(table: str, name: str, counts: dict, unknown: dict[str, Counter],
                 invalid: dict[str, Counter], labels: Labels | None = None) -> dict:
    """The manifest's ``sources`` entry for one file; checks that every row read was staged
    or rejected (the manifest's conservation law). ``counts`` keeps its ``rejects`` key.
    Unknown codes are listed by ``labels`` (None: as written, only with --show-values)."""
    counts.setdefault("rows_skipped", 0)
    codes: dict[str, dict[str, int]] = {}
    for key in [k for k in counts if k.startswith(f"{IDENTIFIER_CODES}:")]:
        _, field_name, code = key.split(":", 2)
        codes.setdefault(field_name, {})[code] = counts.pop(key)
    if codes:
        counts["identifier_codes"] = {n: dict(sorted(c.items())) for n, c in sorted(codes.items())}
    if counts["rows_in"] != counts["rows_staged"] + counts["rows_rejected"] + counts["rows_skipped"]:
        raise RuntimeError(f"bug: rows not conserved for {name}: {counts}")
    return {
        "table": table, "file": name, **counts,
        "unknown_codes": {f: _listable(c, labels) for f, c in sorted(unknown.items())},
        "invalid_values": {f: dict(sorted(c.items())) for f, c in sorted(invalid.items())},
    }


def build_manifest(mapping: Mapping, stamp: str | None, checksums: dict[str, dict], sources: list[dict],
                   table_rows: dict[str, int], rejects_total: int, orphans: dict[str, int],
                   warnings: list[str]) -> dict:
    """manifest.json's content (both engines); adds the orphan-row, unmatched-path and
    line-count warnings to ``warnings``."""
    warnings.extend(line_warnings(sources))
    warnings.extend(encoding_warnings(list(checksums.values())))
    for source in sources:
        if source.get("last_row_ragged"):
            warnings.append(f"{source['file']}: the last row ({source['last_row_ragged']:,}) does not fit the header "
                            "(ragged_row): if it is a footer such as 'Total rows: N', add `footer_rows: 1` to the "
                            "table's source so it is skipped and counted, not rejected")
        for column in source.get("unmatched_paths", []):
            warnings.append(f"{source['file']}: field path '{column}' ({source['table']}) gave no value in any of "
                            f"its {source['rows_in']:,} records: the mapping probably selects the wrong field "
                            "(run `stairs-link mapping check --against` for the paths present)")
    for table, count in orphans.items():
        if count:
            warnings.append(f"{count:,} {table} row(s) moved to rejects as orphan_event: their local id has no "
                            "staged person row (the person row was rejected, or is missing from the person "
                            "file); the other rows are staged and build proceeds. See rejects.parquet")
    return {
        "stairs_link_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "mapping": {"id": mapping.id, "file": mapping.path.name, "sha256": mapping.sha256,
                    "templates": [{"name": n, "sha256": s} for n, s in mapping.templates]},
        "site_id": mapping.site_id,
        "setting_type": mapping.setting_type,
        "system_kind": mapping.system_kind,
        "source_system": mapping.source_system,
        "extracted_at": stamp,
        "inputs": [checksums[k] for k in sorted(checksums)],
        "sources": sources,
        "tables": {t: {"file": f"{t}.parquet", "rows": n} for t, n in table_rows.items()},
        "rejects": {"file": "rejects.parquet", "rows": rejects_total},
        "orphan_event_rows": orphans,
        "warnings": warnings,
    }


def line_warnings(sources: list[dict]) -> list[str]:
    """A warning per CSV whose rows were rejected for a quote imbalance, or whose physical
    line count the records read do not explain (quoted line breaks and blank lines aside)."""
    out = []
    for source in sources:
        lines = source.get("lines")
        if not lines:
            continue
        if lines.get("quote_imbalance_records"):
            out.append(f"{source['file']}: {lines['quote_imbalance_records']:,} row(s) rejected for quote_imbalance "
                       "(a stray or unclosed quote that would have swallowed the rows after it); the other rows "
                       "were read normally. See rejects.parquet for their line numbers")
        if lines.get("unexplained_line_difference"):
            out.append(f"{source['file']}: {lines['physical_lines']:,} physical lines, {lines['records']:,} records "
                       f"read: {lines['unexplained_line_difference']:,} line(s) not explained by the header, blank "
                       "lines or quoted line breaks. Check the file's line ends and quoting")
    return out


def encoding_warnings(inputs: list[dict]) -> list[str]:
    """A warning per file read as UTF-8 with a few bytes read as cp1252, or whose encoding
    was guessed; each names the real byte, offset and line of the first ones."""
    out = []
    for entry in inputs:
        detail = entry.get("encoding_detail") or {}
        if detail.get("invalid_utf8_bytes"):
            first = detail["first_invalid"][0]
            out.append(f"{entry['file']}: read as UTF-8, but {detail['invalid_utf8_bytes']:,} byte(s) are not UTF-8 and "
                       f"were read as cp1252 (first: byte {first['byte']} at offset {first['offset']}, line "
                       f"{first['line']}; all listed in the manifest's inputs). Check those rows, or set `encoding:`")
        elif detail.get("chosen_by") == "guessed by charset-normalizer":
            out.append(f"{entry['file']}: neither UTF-8 nor cp1252; read as {entry['encoding']}, guessed by "
                       f"charset-normalizer with confidence {detail['confidence']}. Set `encoding:` if you know it")
    return out


def manifest_text(manifest: dict) -> str:
    """manifest.json as written (UTF-8, indented, one trailing newline)."""
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def _adapt_file(path: Path, name: str, table: str, mapping: Mapping, *, ctx_args: dict, encoding: str | None,
                block_bytes: int, writers: tuple[pq.ParquetWriter, pq.ParquetWriter],
                background: _BackgroundWrites, pseudo: SitePseudonymiser | None, progress: bool) -> tuple[dict, FileInfo]:
    """Adapt one export file into ``table``; returns its manifest entry and what was learnt
    opening it. Checks that every column the mapping names is there before reading rows."""
    spec = mapping.tables[table]
    info, batches = open_export(path, spec.source, encoding=encoding, used=mapping.columns_used(table),
                                block_bytes=block_bytes)
    require_columns(info, mapping, table, path)
    ctx = TableContext(mapping=mapping, table=spec, source_file=name, source_format=info.format, **ctx_args)
    counts = {"rows_in": 0, "rows_staged": 0, "rows_rejected": 0, "rows_skipped": 0, "rejects": 0}
    unknown: dict[str, Counter] = {}
    invalid: dict[str, Counter] = {}
    last_row, last_ragged = 0, 0
    with progress_report.stage(f"adapt {table}: {name}", unit="rows") as bar:
        for batch in batches:
            ragged = [b[0] for b in batch.bad_rows if b[1] == "ragged_row"]
            last_row = max([last_row, *ragged, *(batch.source_rows[-1:].tolist())])
            last_ragged = max([last_ragged, *ragged])
            _adapt_batch(batch, ctx, table, writers[0], writers[1], counts, unknown, invalid, mapping.id,
                         background, pseudo)
            bar.advance(len(batch.frame))
            if progress and not progress_report.bars_shown():
                print(f"  {table}: {name}: {counts['rows_in']:,} rows read", file=sys.stderr)
    entry = source_entry(table, name, counts, unknown, invalid, ctx_args.get("labels"))
    if last_ragged and last_ragged == last_row and not spec.source.footer_rows:
        # a trailer such as 'Total rows: 131' is ragged in a delimited file: say so (rejects.parquet
        # has the row; its own fix, "correct the row", is the wrong advice for a footer)
        entry["last_row_ragged"] = int(last_row)
    if info.unmatched and counts["rows_in"]:
        entry["unmatched_paths"] = list(info.unmatched)
    if info.quotes is not None:
        entry["lines"] = info.quotes.manifest(counts["rows_in"], info.header_lines)
    return entry, info


MAX_LISTED_CODES = 50


def _listable(codes: Counter, labels: Labels | None = None) -> dict[str, int]:
    """Unknown codes with their counts (each as its label unless values are shown), unless
    there are so many distinct ones that the column is probably not a code at all (a mapping
    error): then only counts, so no free text (which could be personal data) is copied."""
    if len(codes) <= MAX_LISTED_CODES:
        if labels is None:
            return dict(sorted(codes.items()))
        named = labels(list(codes))
        return dict(sorted((named[c], n) for c, n in codes.items()))
    return {f"(not listed: {len(codes)} distinct values; is this the right column?)": sum(codes.values())}


def orphan_counts(tables: list[str], sources: list[dict]) -> dict[str, int]:
    """The manifest's ``orphan_event_rows``: per event table, the rows rejected as
    orphan_event (every event table, 0 included, when the mapping fills person; else {})."""
    if "person" not in tables:
        return {}
    return {table: sum(s.get("orphan_event_rows", 0) for s in sources if s["table"] == table)
            for table in tables if table != "person"}


@dataclass
class BatchOutput:
    """One batch adapted: the staged table and the rejects tables (in write order), with counts."""

    staged: pa.Table | None
    rejects: list[pa.Table]
    rows_in: int
    rows_staged: int
    rows_rejected: int
    unknown_codes: dict[str, Counter]
    invalid_values: dict[str, Counter]
    rows_skipped: int = 0
    identifier_codes: dict[str, Counter] = field(default_factory=dict)
    orphan_rows: int = 0


def process_batch(batch: Batch, ctx: TableContext, table: str, mapping_id: str,
                  pseudo: SitePseudonymiser | None = None) -> BatchOutput:
    """Adapt one batch (both engines): unreadable rows to rejects, then ``transform_batch``."""
    n_bad = len(batch.bad_rows)
    out = BatchOutput(None, [], len(batch.frame) + n_bad + batch.skipped, 0, n_bad, {}, {}, batch.skipped)
    if n_bad:
        frame = _rejects_frame(batch.bad_rows, ctx.source_file, table, mapping_id)
        frame = pseudo.rejects(frame) if pseudo is not None else frame
        out.rejects.append(to_arrow("rejects", frame))
    if len(batch.frame) == 0:
        return out
    result = transform_batch(batch.frame.astype(TEXT), batch.source_rows, ctx)
    out.rows_staged = len(result.staged)
    out.rows_rejected += result.rows_rejected
    if len(result.staged):
        staged = pseudo.staged(table, result.staged) if pseudo is not None else result.staged
        out.staged = to_arrow(table, staged)
    if len(result.rejects):
        rejects = pseudo.rejects(result.rejects) if pseudo is not None else result.rejects
        out.rejects.append(to_arrow("rejects", rejects))
    out.unknown_codes = result.unknown_codes
    out.invalid_values = result.invalid_values
    out.identifier_codes = result.identifier_codes
    out.orphan_rows = result.orphan_rows
    return out


def add_counts(output: BatchOutput, counts: dict, unknown: dict[str, Counter], invalid: dict[str, Counter]) -> None:
    """Add one batch's figures to a file's running totals."""
    counts["rows_in"] += output.rows_in
    counts["rows_staged"] += output.rows_staged
    counts["rows_rejected"] += output.rows_rejected
    counts["rows_skipped"] = counts.get("rows_skipped", 0) + output.rows_skipped
    for name, c in output.identifier_codes.items():  # flat numeric keys: both engines sum counts as numbers
        for code, n in c.items():
            key = f"{IDENTIFIER_CODES}:{name}:{code}"
            counts[key] = counts.get(key, 0) + n
    counts["rejects"] += sum(t.num_rows for t in output.rejects)
    if output.orphan_rows:  # only when there are some: a file's entry says orphan_event_rows then
        counts["orphan_event_rows"] = counts.get("orphan_event_rows", 0) + output.orphan_rows
    for name, c in output.unknown_codes.items():
        unknown.setdefault(name, Counter()).update(c)
    for name, c in output.invalid_values.items():
        invalid.setdefault(name, Counter()).update(c)


def _adapt_batch(batch: Batch, ctx: TableContext, table: str, writer: pq.ParquetWriter,
                 rejects_writer: pq.ParquetWriter, counts: dict, unknown: dict, invalid: dict, mapping_id: str,
                 background: _BackgroundWrites, pseudo: SitePseudonymiser | None = None) -> None:
    output = process_batch(batch, ctx, table, mapping_id, pseudo)
    add_counts(output, counts, unknown, invalid)
    if len(batch.bad_rows):
        background.write(rejects_writer, output.rejects[0])
    if output.staged is not None:
        background.write(writer, output.staged)
    for rejects in output.rejects[1 if len(batch.bad_rows) else 0:]:
        background.write(rejects_writer, rejects)
