"""Checking a valid mapping against a real export (`stairs-link mapping check --against`):
files, columns, codes, values. It lives in ``adapt``, not ``mapping``, because it adapts the
export (a dry run); the mapping layer itself never imports ``adapt``.

Files and columns are checked first, for every table, so all such problems are reported
together. If they are fine, the export is adapted into a temporary directory and the manifest
tells which codes the value maps do not know and how many values do not parse; nothing is
kept and no personal data is printed (only codes and counts).
"""

from __future__ import annotations

import difflib
import tempfile
from pathlib import Path

from stairs_link.adapt.run import adapt, check_columns, find_files
from stairs_link.errors import Problem, StairsLinkError
from stairs_link.io.nested import path_keys, sample_records
from stairs_link.io.paths import NOT_A_SCALAR, compile_path, parse_path, problem_fix
from stairs_link.io.readers import read_header
from stairs_link.mapping.mistakes import find_mistakes, manifest_counts, value_map_mistakes
from stairs_link.mapping.model import NESTED_FORMATS, Mapping
from stairs_link.schema.io import read_table


def check_files_and_columns(mapping: Mapping, export: Path, *,
                            encoding: str | None = None) -> tuple[list[Problem], list[str]]:
    """Files each table's globs select, and columns the mapping names that they lack.
    Works on a partial mapping too (see ``validate_mapping(lenient=True)``)."""
    problems: list[Problem] = []
    notes: list[str] = []
    for table, spec in mapping.tables.items():
        try:
            files = find_files(spec.source, [export], table, mapping)
        except StairsLinkError as exc:
            problems.append(Problem(reason=exc.reason, message=exc.message, file=exc.file, fix=exc.fix,
                                    line=_table_line(mapping, table)))
            continue
        for path, name in files:
            if spec.source.format in NESTED_FORMATS:
                try:
                    info, records = sample_records(path, spec.source)
                except StairsLinkError as exc:
                    problems.append(Problem(reason=exc.reason, message=exc.message, file=exc.file, row=exc.row,
                                            column=exc.column, line=exc.line, fix=exc.fix))
                    continue
                notes.append(f"{table}: {name} ({info.format}, {len(info.header)} key paths in the first "
                             f"{len(records):,} records)")
                problems += check_paths(info.header, records, mapping, table, path)
                continue
            try:
                info = read_header(path, spec.source, encoding=encoding)
            except StairsLinkError as exc:
                problems.append(Problem(reason=exc.reason, message=exc.message, file=exc.file, row=exc.row,
                                        column=exc.column, line=exc.line, fix=exc.fix))
                continue
            notes.append(f"{table}: {name} ({info.format}"
                         + (f", {info.encoding}" if info.encoding else "")
                         + (f", delimiter {info.delimiter!r}" if info.delimiter else "")
                         + f", {len(info.header)} columns)")
            problems += check_columns(info.header, mapping, table, path)
    return problems, notes


def check_against(mapping: Mapping, export: Path, *, encoding: str | None = None,
                  show_values: bool = False) -> tuple[list[Problem], list[str]]:
    """Problems (each with file, line, fix) and informational notes for ``mapping`` on ``export``."""
    problems, notes = check_files_and_columns(mapping, export, encoding=encoding)
    if problems:
        return problems, notes
    with tempfile.TemporaryDirectory(prefix="stairs-link-check-") as tmp:
        try:
            result = adapt(mapping.path, [export], Path(tmp), encoding=encoding, show_values=show_values)
        except StairsLinkError as exc:
            return [Problem(reason=exc.reason, message=exc.message, file=exc.file, row=exc.row,
                            column=exc.column, line=exc.line, fix=exc.fix), *exc.problems], notes
        mistakes = distribution_warnings(mapping, Path(tmp), result.manifest)
    for source in result.manifest["sources"]:
        notes.append(f"{source['table']}: {source['file']}: {source['rows_in']:,} rows, "
                     f"{source['rows_staged']:,} would be staged, {source['rows_rejected']:,} rejected")
        for field, codes in source["unknown_codes"].items():
            spec = mapping.tables[source["table"]].fields.get(field)
            listed = ", ".join(f"'{c}' x{n}" for c, n in sorted(codes.items(), key=lambda t: -t[1])[:15])
            # Not a problem: the field's policy (reject / keep_unknown) handles them, and adapt
            # reports each one; under `fail`, adapt above would have raised instead.
            notes.append(f"  warning: {mapping.path.name}, line {spec.line if spec else '?'}: {source['file']}: "
                         f"codes not in the value map of {source['table']}.{field}: {listed} "
                         f"(unknown_codes: {spec.unknown_codes if spec else '?'}; add them to `codes:` if they are real)")
        for field, reasons in source["invalid_values"].items():
            spec = mapping.tables[source["table"]].fields.get(field)
            for reason, count in reasons.items():
                share = count / max(source["rows_in"], 1)
                text = f"{source['file']}: {count:,} value(s) of {source['table']}.{field} fail ({reason})"
                if reason.startswith("unparseable") and share > 0.2:
                    problems.append(Problem(reason=reason, file=str(mapping.path), line=spec.line if spec else None,
                                            column=spec.label if spec else None,
                                            message=text + f", {share:.0%} of rows: the format is probably wrong",
                                            fix="check `decimal:` and the column against the export's values"
                                            if reason == "unparseable_number" else
                                            "check `formats:` against the export's values"))
                elif reason.startswith("invalid_") and share > 0.5:
                    problems.append(Problem(reason=reason, file=str(mapping.path), line=spec.line if spec else None,
                                            column=spec.label if spec else None,
                                            message=text + f", {share:.0%} of rows: the mapping probably selects "
                                                           f"the wrong column for {field}",
                                            fix=f"check which export column holds {field} (a source system rarely "
                                                "gets most identifiers wrong)"))
                else:
                    notes.append("  note: " + text + " (reported in rejects.parquet when adapting)")
    notes += mistakes
    return problems, notes


def distribution_warnings(mapping: Mapping, staged: Path, manifest: dict) -> list[str]:
    """The distribution checks of `stairs-link check` (``stairs_link.mapping.mistakes``) on the
    tables just adapted: one warning line per finding (shares and canonical codes, no value),
    with the mapping line of the field."""
    findings = list(value_map_mistakes(mapping))
    for table in manifest["tables"]:
        frame = read_table(staged / f"{table}.parquet", table)
        unknown, rows = manifest_counts(manifest, table)
        findings += find_mistakes(table, frame, setting_type=mapping.setting_type, unknown_codes=unknown,
                                  rows_read=rows, system_kind=mapping.system_kind)
    lines = []
    for finding in findings:
        spec = mapping.tables[finding.table].fields.get(finding.field)
        lines.append(f"  warning: {mapping.path.name}, line {spec.line if spec and spec.line else '?'}: "
                     f"{mapping.site_id}:{mapping.source_system} {finding.table}.{finding.field}: {finding.message} "
                     f"({finding.check_id}). Fix: {finding.fix}")
    return lines


def check_paths(chains: list[str], records: list, mapping: Mapping, table: str, path: Path) -> list[Problem]:
    """Field paths of a nested source checked on its first records: a path whose keys occur in
    none of them (with the closest key path that does), and a path that gives an object or
    several values where one value belongs (a mapping error: adapt would reject those rows)."""
    problems: list[Problem] = []
    present = set(chains)
    fields = [(n, s) for n, s in mapping.tables[table].fields.items() if s.from_table is None]
    fields += [(f"person.{s.name}", s) for s in mapping.borrowed_fields(table)]
    for name, spec in fields:
        for column in spec.columns:
            parsed = parse_path(column)
            if parsed.absolute:
                continue  # a value outside the records (an XML header): adapt reads it on the way
            keys = path_keys(parsed)
            if records and keys not in present:
                close = difflib.get_close_matches(keys, chains, n=1, cutoff=0.5)
                problems.append(Problem(
                    reason="missing_path", file=spec.origin or str(mapping.path), line=spec.line, column=column,
                    message=f"field path '{column}' (for {table}.{name}): no '{keys}' in the first {len(records):,} "
                            f"records of {path.name}" + (f"; did you mean a path through '{close[0]}'?" if close else ""),
                    fix="correct the path in the mapping (docs/mapping-format.md, field paths); "
                        "key paths present: " + ", ".join(chains[:25])))
                continue
            run = compile_path(parsed, spec.join)
            found = [problem for problem in (run(r)[1] for r in records if isinstance(r, dict)) if problem]
            if found:
                problem = found[0]
                problems.append(Problem(
                    reason=problem, file=spec.origin or str(mapping.path), line=spec.line, column=column,
                    message=f"field path '{column}' (for {table}.{name}) gives "
                            f"{'an object' if problem == NOT_A_SCALAR else 'several values'} where one value "
                            f"belongs, in {len(found):,} of the first {len(records):,} records of {path.name}",
                    fix=problem_fix(column, problem)))
    return problems


def _table_line(mapping: Mapping, table: str) -> int | None:
    fields = mapping.tables[table].fields
    lines = [f.line for f in fields.values() if f.line]
    return min(lines) if lines else None
