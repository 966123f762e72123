"""Checking a valid mapping against a real export: files, columns, codes, values.

Files and columns are checked first, for every table, so all such problems are reported
together. If they are fine, the export is adapted into a temporary directory and the manifest
tells which codes the value maps do not know and how many values do not parse; nothing is
kept and no personal data is printed (only codes and counts).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from stairs_link.errors import Problem, StairsLinkError
from stairs_link.mapping.model import Mapping


def check_files_and_columns(mapping: Mapping, export: Path, *,
                            encoding: str | None = None) -> tuple[list[Problem], list[str]]:
    """Files each table's globs select, and columns the mapping names that they lack.
    Works on a partial mapping too (see ``validate_mapping(lenient=True)``)."""
    from stairs_link.adapt.readers import read_header
    from stairs_link.adapt.run import check_columns, find_files

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


def check_against(mapping: Mapping, export: Path, *, encoding: str | None = None) -> tuple[list[Problem], list[str]]:
    """Problems (each with file, line, fix) and informational notes for ``mapping`` on ``export``."""
    from stairs_link.adapt.run import adapt

    problems, notes = check_files_and_columns(mapping, export, encoding=encoding)
    if problems:
        return problems, notes
    with tempfile.TemporaryDirectory(prefix="stairs-link-check-") as tmp:
        try:
            result = adapt(mapping.path, [export], Path(tmp), encoding=encoding)
        except StairsLinkError as exc:
            return [Problem(reason=exc.reason, message=exc.message, file=exc.file, row=exc.row,
                            column=exc.column, line=exc.line, fix=exc.fix), *exc.problems], notes
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
                else:
                    notes.append("  note: " + text + " (reported in rejects.parquet when adapting)")
    return problems, notes


def _table_line(mapping: Mapping, table: str) -> int | None:
    fields = mapping.tables[table].fields
    lines = [f.line for f in fields.values() if f.line]
    return min(lines) if lines else None
