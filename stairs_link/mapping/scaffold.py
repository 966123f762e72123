"""`mapping new`: draft a mapping from an export for a developer to finish.

Column names are matched to canonical fields by known synonyms first, then by rapidfuzz
similarity to the synonyms; a table is guessed from each file's name. Date formats are guessed
from the values (the format that parses the most of the first rows) and code maps are drafted
from the distinct codes seen, so the developer only fills in the canonical codes. Everything
uncertain carries a TODO. Only column names, formats and codes go into the draft, never values
that could identify a child.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz, process

from stairs_link.errors import MappingError
from stairs_link.io.base import FileInfo, close_batches, extension_formats, sha256_and_encoding
from stairs_link.io.csv import detect_delimiter
from stairs_link.io.nested import sample_records
from stairs_link.io.paths import parse_path, scalar_text, select
from stairs_link.io.readers import open_export
from stairs_link.io.xlsx import load_workbook
from stairs_link.mapping.builtin_maps import BUILTIN_MAPS
from stairs_link.mapping.jsonschema import SCHEMA_PATH
from stairs_link.mapping.model import NAME_FIELDS, SourceSpec, field_kind, mappable_fields
from stairs_link.mapping.synonyms import SYNONYMS, normalise_header, synonym_for
from stairs_link.schema.codes import CODE_LISTS

TABLE_HINTS = {
    "person": ["patient", "person", "pupil", "child", "client", "prisoner", "offender", "student", "header", "people",
               "demographic", "young"],
    "episode": ["episode", "stay", "admission", "movement", "placement", "booking", "custody", "registration",
                "spell"],
    "formulation": ["formulation"],
    "incident": ["incident", "restraint", "event", "behaviour", "occurrence"],
    "education": ["education", "attendance", "timetable", "learning"],
    "measure": ["measure", "outcome", "score", "ors", "assessment", "questionnaire"],
}
DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y", "%d-%b-%y", "%d-%b-%Y", "%d.%m.%Y", "%Y%m%d", "%d %b %Y",
                "%m/%d/%Y"]
DATETIME_FORMATS = ["%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
                    "%d/%m/%Y %H:%M:%S", "%d-%b-%y %H:%M", "%d/%m/%y %H:%M"]
FULL_NAME = ["name", "full name", "patient name", "child name", "pupil name", "client name", "person name"]
SETTINGS = {"sch": "SCH", "stc": "STC", "yoi": "YOI"}
SAMPLE_ROWS = 2000
MAX_DRAFT_CODES = 40  # more distinct values than this and a column is not treated as codes


def guess_table(file_name: str) -> str:
    stem = normalise_header(Path(file_name).stem)
    for table, hints in TABLE_HINTS.items():
        if any(h in stem for h in hints):
            return table
    return "person"


def match_columns(header: list[str], table: str) -> dict[str, tuple[str, int]]:
    """canonical field -> (export column, score 0-100), each column used at most once."""
    fields = list(mappable_fields(table))
    choices: dict[str, str] = {}
    for field in fields:
        for synonym in [field.replace("_", " "), *SYNONYMS.get(field, [])]:
            choices.setdefault(synonym, field)
    scored: list[tuple[int, str, str]] = []
    for column in header:
        exact = synonym_for(column, fields)
        if exact:
            scored.append((100, column, exact))
            continue
        hit = process.extractOne(normalise_header(column), list(choices), scorer=fuzz.token_sort_ratio, score_cutoff=75)
        if hit:
            scored.append((int(hit[1]), column, choices[hit[0]]))
    result: dict[str, tuple[str, int]] = {}
    used: set[str] = set()
    for score, column, field in sorted(scored, key=lambda t: -t[0]):
        if field not in result and column not in used:
            result[field] = (column, score)
            used.add(column)
    return result


def _guess_formats(values: pd.Series, datetime: bool) -> tuple[str | None, bool, float]:
    """Best format for the sample, whether values look like Excel serials, and the share parsed."""
    text = values.astype(str).str.strip()
    text = text[text != ""]
    if text.empty:
        return None, False, 0.0
    if text.str.fullmatch(r"\d{4,5}(\.\d+)?").mean() > 0.5:
        return None, True, 1.0
    best, share = None, 0.0
    for fmt in DATETIME_FORMATS + DATE_FORMATS if datetime else DATE_FORMATS:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce").notna().mean()
        if parsed > share:
            best, share = fmt, float(parsed)
    return best, False, share


def _schema_ref(out_file: Path | None) -> str:
    """Path to the shipped JSON Schema, relative to where the draft is written if possible."""
    if out_file is None:
        return SCHEMA_PATH.as_posix()
    try:
        return Path(os.path.relpath(SCHEMA_PATH, Path(out_file).resolve().parent)).as_posix()
    except ValueError:  # another drive on Windows
        return SCHEMA_PATH.as_posix()


def guess_records_path(path: Path) -> str | None:
    """Dotted path to the longest list of records ({...}) in a JSON export, e.g. 'data.youngPeople'."""
    import json

    _, encoding = sha256_and_encoding(path, "auto")
    if encoding is None:
        return None
    try:
        doc = json.loads(path.read_text(encoding=encoding))
    except json.JSONDecodeError:
        return None
    best: tuple[int, str | None] = (-1, None)
    stack: list[tuple[object, str]] = [(doc, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, list) and node and all(isinstance(r, dict) for r in node[:50]):
            best = max(best, (len(node), where), key=lambda t: t[0])
        elif isinstance(node, dict):
            stack += [(value, f"{where}.{key}" if where else str(key)) for key, value in node.items()]
    return best[1] or None


def _workbook(path: Path):  # noqa: ANN202
    """The workbook, read-only; a file that is not one (a text export named .xlsx, a cut-short
    copy) or a zip bomb is an input error naming the file, as `adapt` reports it
    (:func:`stairs_link.io.xlsx.load_workbook`)."""
    return load_workbook(path)


def sheet_names(path: Path) -> list[str]:
    book = _workbook(path)
    names = list(book.sheetnames)
    book.close()
    return names


def guess_header_row(path: Path, fmt: str, sheet_name: str | None = None) -> tuple[int, str | None]:
    """(header row, sheet): the first of the top 15 rows with the most non-empty cells,
    skipping title lines that some systems put above the header."""
    if fmt == "json":
        return 1, None
    if fmt == "xlsx":
        book = _workbook(path)
        sheet = book[sheet_name] if sheet_name else book.worksheets[0]
        counts = [sum(c is not None for c in row) for row in sheet.iter_rows(max_row=15, values_only=True)]
        title = sheet.title
        book.close()
    else:
        _, encoding = sha256_and_encoding(path, "auto")
        if encoding is None:
            return 1, None
        with path.open("r", encoding=encoding, newline="") as handle:
            head = [line for _, line in zip(range(15), handle)]
        delimiter = detect_delimiter(max(head, key=lambda line: max(line.count(d) for d in ",;|\t")))
        counts = [sum(bool(c.strip()) for c in line.split(delimiter)) for line in head]
        title = None
    if not counts:
        return 1, title
    return counts.index(max(counts)) + 1, title


def _time_partner(date_column: str, header: list[str]) -> str | None:
    """'INCIDENT_TIME' for 'INCIDENT_DATE': a time column sharing the date column's stem."""
    stem = normalise_header(date_column).replace("date", "").strip()
    for column in header:
        name = normalise_header(column)
        if column != date_column and "time" in name and name.replace("time", "").strip() == stem:
            return column
    return None


def guess_code(code: str, valid: list[str]) -> str | None:
    """A canonical code the export code plausibly abbreviates ('SENT' -> 'sentenced'), if
    exactly one fits; the developer confirms every guess (they are marked TODO)."""
    key = normalise_header(code).replace(" ", "")
    if not key:
        return None
    hits = [v for v in valid if normalise_header(v).replace(" ", "").startswith(key)]
    if len(hits) == 1:
        return hits[0]
    best = process.extractOne(key, {v: normalise_header(v) for v in valid}, scorer=fuzz.ratio, score_cutoff=85)
    return best[2] if best else None


def _yaml_str(value: str) -> str:
    if any(ord(c) < 32 or c in "\x7f\ufeff" or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        import json  # control characters (a NUL from a misread encoding): a double-quoted escape

        return json.dumps(value, ensure_ascii=True)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ .-]*", value) and value.lower() not in (
            "yes", "no", "on", "off", "true", "false", "null", "y", "n"):
        return value
    return "'" + value.replace("'", "''") + "'"


def _field_lines(field: str, column: str, score: int, sample: pd.DataFrame, kind: str, codes: str | None) -> list[str]:
    todo = "" if score >= 95 else f"  # TODO check: matched '{column}' with score {score}"
    col = _yaml_str(column)
    values = sample[column] if column in sample else pd.Series([], dtype=object)
    if kind in ("date", "datetime"):
        fmt, serial, share = _guess_formats(values, kind == "datetime")
        if serial:
            return [f"      {field}: {{column: {col}, excel_serial: true}}{todo}"]
        if fmt:
            note = todo or (f"  # TODO check: '{fmt}' read {share:.0%} of sampled values" if share < 0.99 else "")
            return [f"      {field}: {{column: {col}, formats: ['{fmt}']}}{note}"]
        return [f"      {field}: {{column: {col}, formats: ['TODO %d/%m/%Y']}}  # TODO: no common date format fits"]
    if kind == "coded" and codes:
        distinct = {str(v).strip() for v in values if str(v).strip()}
        if len(distinct) > MAX_DRAFT_CODES:  # not a code column (or a wrongly matched one): copy nothing
            return [f"      {field}: {{column: {col}, unknown_codes: reject}}  # TODO: {len(distinct)} distinct "
                    "values in the first rows: is this really a code column? add `codes:`"]
        seen = sorted(distinct)
        valid = CODE_LISTS[codes]
        for name, (produces, table) in sorted(BUILTIN_MAPS.items()):
            upper = {k.upper() for k in table}
            missing = [s for s in seen if s.upper() not in upper]
            if produces == codes and seen and len(missing) <= max(1, len(seen) // 5):
                note = f"  # TODO codes seen but not in {name}: {', '.join(missing)}" if missing else ""
                return [f"      {field}: {{column: {col}, codes: {name}, unknown_codes: keep_unknown}}{todo}{note}"]
        if seen and all(s in valid for s in seen):
            return [f"      {field}: {{column: {col}, unknown_codes: reject}}{todo}  # values already canonical"]
        lines = [f"      {field}:{todo}", f"        column: {col}",
                 "        unknown_codes: reject  # TODO: reject, keep_unknown or fail",
                 f"        codes:  # TODO: the canonical code for each export code; canonical: {', '.join(valid)}"]
        for code in seen:
            guess = guess_code(code, list(valid))
            lines.append(f"          {_yaml_str(code)}: " + (f"{_yaml_str(guess)}  # TODO check (guessed)" if guess else "TODO"))
        return lines or ["          TODO: TODO"]
    if kind == "number":
        text = values.astype(str).str.strip()
        text = text[text != ""]
        if len(text) and text.str.fullmatch(r"-?\d+,\d+").any() and not text.str.contains(r"\.").any():
            return [f"      {field}: {{column: {col}, decimal: ','}}{todo}  # decimal commas seen"]
    return [f"      {field}: {col}{todo}"]


def draft_mapping(export: Path, *, kind: str, site_id: str, source_system: str | None = None,
                  setting_type: str | None = None, out_file: Path | None = None) -> str:
    """The text of a draft mapping for ``export`` (a file or a directory of export files)."""
    export = Path(export)
    if export.is_dir():
        everything = sorted(p for p in export.rglob("*") if p.is_file())
        files = [p for p in everything if p.suffix.lower() in SUPPORTED]
        skipped = [p for p in everything if p.suffix.lower() not in SUPPORTED]
    else:
        files, skipped = [export], []
        if export.suffix.lower() not in SUPPORTED:
            raise MappingError(f"the format of {export.name} ({export.suffix or 'no extension'}) is not supported",
                               reason="unsupported_format", file=str(export), fix=unsupported_fix(export))
    system = source_system or (export.name if export.is_dir() else export.stem).lower().replace("_", "-")
    setting = setting_type or SETTINGS.get(site_id.split("-")[0].lower(), "TODO")
    lines = [
        f"# yaml-language-server: $schema={_schema_ref(out_file)}",
        f"# Draft made by `stairs-link mapping new` from {export.name}. Finish every TODO, then run",
        "#   stairs-link mapping check THIS_FILE --against EXPORT",
        "# Format: docs/mapping-format.md",
        "mapping_version: 1",
        f"site_id: {site_id}",
        f"setting_type: {setting}" + ("  # TODO: SCH, STC or YOI" if setting == "TODO" else ""),
        f"system_kind: {kind}",
        f"source_system: {system}",
        "tables:",
    ]
    for path in skipped:
        lines.insert(4, f"# not drafted: {path.name}: format not supported ({unsupported_fix(path)})")
    if len(files) == 1 and files[0].suffix.lower() in (".json", ".ndjson", ".jsonl", ".xml"):
        known = known_format_draft(files[0], lines, export)
        if known is not None:
            return _checked_yaml(known, export)
    done: set[str] = set()
    order = list(TABLE_HINTS)
    # one unit per file, or per sheet of a workbook (several tables can share one workbook)
    units: list[tuple[Path, str | None, str]] = []
    for path in files:
        if path.suffix.lower() == ".xlsx":
            names = sheet_names(path)
            units += [(path, name, guess_table(name if len(names) > 1 else path.name)) for name in names]
        else:
            units.append((path, None, guess_table(path.name)))
    for path, sheet_name, table in sorted(units, key=lambda u: (order.index(u[2]), u[0].name)):
        label = path.name + (f" (sheet {sheet_name})" if sheet_name else "")
        if table in done:
            lines.append(f"  # TODO: {label} also looks like a '{table}' file; add it to that table's `files:`")
            continue
        fmt = SUPPORTED[path.suffix.lower()]
        header_row, sheet = guess_header_row(path, fmt, sheet_name)
        records_path = guess_records_path(path) if fmt == "json" else guess_xml_records(path) if fmt == "xml" else None
        source = SourceSpec(files=(path.name,), format=fmt, header_row=header_row, sheet=sheet,
                            records_path=records_path)
        if fmt in ("json", "ndjson", "xml"):
            info, sample = nested_sample(path, source)
        else:
            info, batches = open_export(path, source, used=[])
            first = next(iter(batches), None) if info.header else None  # a header-only file has no batch
            sample = first.frame.head(SAMPLE_ROWS) if first is not None else pd.DataFrame(columns=info.names or [])
            if fmt == "xlsx":
                close_batches(batches)
        done.add(table)
        rel = path.relative_to(export).as_posix() if export.is_dir() else path.name
        source_line = f"    source: {{files: {_yaml_str(rel)}"
        if sheet:
            source_line += f", sheet: {_yaml_str(sheet)}"
        if header_row != 1:
            source_line += f", header_row: {header_row}"
        if info.encoding and info.encoding not in ("utf-8",):
            source_line += f", encoding: {info.encoding}"
        if info.delimiter and info.delimiter != ",":
            source_line += ", delimiter: '\\t'" if info.delimiter == "\t" else f", delimiter: '{info.delimiter}'"
        if records_path:
            source_line += f", records_path: {records_path}"
        source_line += "}"
        why = f"the sheet name {sheet_name} of {path.name}" if sheet_name else f"the file name {path.name}"
        lines += [f"  {table}:  # guessed from {why}", source_line, "    fields:"]
        matched = match_columns(info.header, table)
        columns = mappable_fields(table)
        name_column = next((c for c in info.header if normalise_header(c) in FULL_NAME), None)
        used_extra: set[str] = set()
        for field, column in columns.items():
            if field in matched:
                col, score = matched[field]
                time_col = _time_partner(col, info.header) if field_kind(column) == "datetime" else None
                if time_col:
                    guessed, _, _ = _guess_formats(sample[col], False) if col in sample else (None, False, 0)
                    fmt = guessed or "%d/%m/%Y"
                    lines.append(f"      {field}: {{columns: [{_yaml_str(col)}, {_yaml_str(time_col)}], join: ' ', "
                                 f"formats: ['{fmt} %H:%M', '{fmt}']}}  # TODO check: date and time in two columns")
                    used_extra.add(time_col)
                    continue
                lines += _field_lines(field, col, score, sample, field_kind(column), column.codes)
            elif field in NAME_FIELDS and name_column:
                style = "family_comma_given" if name_column in sample and sample[name_column].astype(str).str.contains(",").mean() > 0.5 else "given_family"
                lines.append(f"      {field}: {{column: {_yaml_str(name_column)}, split_name: {style}}}  # TODO check the style")
            elif column.required and field not in ("episode_id", "extracted_at"):
                lines.append(f"      {field}: TODO  # required: which column holds {field}?")
        used = {m[0] for m in matched.values()} | ({name_column} if name_column else set()) | used_extra
        unused = [c for c in info.header if c not in used]
        if unused:
            lines.append(f"      # columns not mapped: {', '.join(unused)}")
    return _checked_yaml("\n".join(lines) + "\n", export)


SUPPORTED = extension_formats()  # extension -> format, from the registered readers (stairs_link.io)
NOT_SUPPORTED_HINTS = {
    ".xls": "save it from Excel as .xlsx (Excel Workbook)",
    ".ods": "save it as .xlsx or CSV",
    ".sav": "export it as CSV (SPSS: File > Export > CSV)",
    ".dta": "export it as CSV",
    ".mdb": "export the tables as CSV",
    ".accdb": "export the tables as CSV",
    ".pdf": "ask the system for a data export (CSV, XLSX, JSON or XML), not a report",
    ".docx": "ask the system for a data export (CSV, XLSX, JSON or XML), not a document",
    ".zip": "unzip it and point `mapping new` at the folder",
}


def unsupported_fix(path: Path) -> str:
    """What to do with a file whose format stairs-link does not read."""
    hint = NOT_SUPPORTED_HINTS.get(path.suffix.lower(), "ask the system for a CSV, XLSX, JSON, NDJSON or XML export")
    return f"{hint}; supported: {', '.join(sorted(set(SUPPORTED)))}"


def _checked_yaml(text: str, export: Path) -> str:
    """The draft, proved to be valid YAML (a draft that is not would only fail later, obscurely)."""
    import yaml

    # control characters left (in comments naming unmapped columns) are shown escaped: a NUL
    # is what a UTF-16 export read as one byte per character looks like
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", text)
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as exc:  # pragma: no cover - _yaml_str quotes everything unusual
        raise MappingError(f"the draft for {export.name} would not be valid YAML ({exc})", reason="bad_draft",
                           file=str(export), fix="check the export's encoding (set --encoding) and report this") from None
    return text


def nested_sample(path: Path, source: SourceSpec) -> tuple[FileInfo, pd.DataFrame]:
    """(info, sample frame) of a JSON/NDJSON/XML export: one column per leaf key path seen,
    holding the first value of that path in each sampled record."""

    info, records = sample_records(path, source, SAMPLE_ROWS)
    chains = list(info.header)
    leaves = [c for c in chains if not any(o.startswith(c + ".") for o in chains)]
    info.header = leaves

    parsed = {c: parse_path(c) for c in leaves}
    columns = {}
    for column, fp in parsed.items():
        values = []
        for record in records:
            found = select(fp, record)
            values.append(scalar_text(found[0]) or "" if found else "")
        columns[column] = values
    return info, pd.DataFrame(columns, dtype=object)


def guess_xml_records(path: Path) -> str | None:
    """The element path repeated most often below the root (the records), e.g. 'CTfile/CTFpupilData/Pupil'."""
    from collections import Counter

    from defusedxml.ElementTree import iterparse

    counts: Counter = Counter()
    tags: list[str] = []
    try:
        for n, (event, element) in enumerate(iterparse(str(path), events=("start", "end"))):
            if event == "start":
                tags.append(element.tag.rsplit("}", 1)[-1])
                continue
            if len(tags) >= 2 and len(element):
                counts["/".join(tags)] += 1
            tags.pop()
            if n > 200_000:
                break
    except Exception:  # noqa: BLE001 - a draft only; adapt reports the real error with its line
        return None
    if not counts:
        return None
    best = max(counts.values())
    return min((p for p, c in counts.items() if c == best), key=lambda p: p.count("/"))


TEMPLATE_DRAFTS = {
    "fhir_bundle": ("uk-core-fhir-patient-bundle", "health",
                    "a FHIR R4 Bundle of UK Core Patient resources"),
    "fhir_ndjson": ("uk-core-fhir-patient-ndjson", "health",
                    "FHIR Patient resources, one per line (bulk data NDJSON)"),
    "ctf": ("ctf-pupil", "education", "a DfE Common Transfer File (CTF) pupil file"),
}


def detect_known_format(path: Path) -> str | None:
    """'fhir_bundle', 'fhir_ndjson' or 'ctf' when the file is one of these standard layouts."""
    suffix = path.suffix.lower()
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    text = head.decode("utf-8", "replace")
    if suffix == ".xml":
        import re as _re

        root = _re.search(r"<([A-Za-z_][\w.-]*)[\s>]", _re.sub(r"<\?.*?\?>|<!--.*?-->", "", text, flags=_re.S))
        return "ctf" if root and root.group(1) == "CTfile" else None
    if suffix in (".ndjson", ".jsonl"):
        first = text.splitlines()[0] if text else ""
        return "fhir_ndjson" if '"resourceType"' in first and '"Patient"' in first else None
    compact = re.sub(r"\s", "", text[:4096])
    if '"resourceType":"Bundle"' in compact and '"resourceType":"Patient"' in re.sub(r"\s", "", text):
        return "fhir_bundle"
    return None


def known_format_draft(path: Path, lines: list[str], export: Path) -> str | None:
    """A few-line draft extending a bundled template, for FHIR Patient and CTF files."""
    known = detect_known_format(path)
    if known is None:
        return None
    template, kind, what = TEMPLATE_DRAFTS[known]
    head = [line for line in lines if not line.startswith(("tables:", "system_kind:", "source_system:"))]
    system = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("source_system:")), "")
    kind_line = next(line for line in lines if line.startswith("system_kind:"))
    given_kind = kind_line.split(":", 1)[1].strip()
    rel = path.relative_to(export).as_posix() if export.is_dir() else path.name
    body = [
        f"# {path.name} is {what}: this draft extends the bundled template '{template}'",
        f"# (mappings/_templates/{template}.yaml); change only what differs at this site.",
        f"extends: {template}",
        *head[4:],
        f"system_kind: {given_kind}" + (f"  # TODO check: {template} is usually {kind}" if given_kind != kind else ""),
        f"source_system: {system}",
        "tables:",
        "  person:",
        f"    source: {{files: {_yaml_str(rel)}}}",
    ]
    return "\n".join(head[:4] + body) + "\n"
