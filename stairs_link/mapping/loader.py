"""Loading a mapping file: safe YAML with line numbers, templates, whole-file validation.

Nothing in a mapping is executed: YAML is composed with PyYAML's SafeLoader and turned into
plain dicts/lists/strings here. Every problem in the file (and its templates) is collected and
reported at once, each with its file, line and a suggested fix.
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import jsonschema
import yaml

from stairs_link.errors import MappingError, Problem
from stairs_link.io import extension_formats
from stairs_link.io.paths import PathSyntaxError, parse_path
from stairs_link.mapping.builtin_maps import BUILTIN_MAPS
from stairs_link.mapping.jsonschema import SCHEMA_PATH
from stairs_link.mapping.model import (
    DEFAULT_EARLIEST,
    DEFAULT_OPEN_ENDED,
    FORMATS,
    GENERATED_IF_MISSING,
    NAME_FIELDS,
    NESTED_FORMATS,
    UNKNOWN_CODE,
    FieldSpec,
    Mapping,
    SourceSpec,
    TableSpec,
    field_kind,
    mappable_fields,
)
from stairs_link.mapping.synonyms import synonym_for
from stairs_link.resources import data_dir
from stairs_link.schema.codes import CODE_LISTS, SETTING_TYPE, SYSTEM_KIND
from stairs_link.schema.tables import TABLES

Path_ = tuple[Any, ...]
TEMPLATE_DIR = "_templates"
EXTENSION_FORMATS = extension_formats()  # from the registered readers (stairs_link.io)


@dataclass
class _Doc:
    """A YAML document as plain data, with where each key was written: path -> (file, line)."""

    data: Any
    marks: dict[Path_, tuple[str, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    templates: list[tuple[str, str]] = field(default_factory=list)


# Keys whose values are numbers or booleans; every other scalar is kept as the text written,
# so a column called NO, a code 01 or a date 2026-01-31 is not turned into False, 1 or a date
# by YAML 1.1's implicit typing. A null (empty value or ~) stays null: it removes an
# inherited entry. Inside code maps even null is text.
TYPED_KEYS = frozenset({"header_row", "excel_serial", "ignore_case", "mapping_version", "footer_rows"})


def _scalar(node: yaml.ScalarNode, key: Any, in_codes: bool) -> Any:
    """A scalar as plain data (see TYPED_KEYS)."""
    tag = node.tag.rsplit(":", 1)[-1]
    if in_codes:
        return node.value
    if tag == "null":
        return None
    if key in TYPED_KEYS:
        if tag == "bool":
            return node.value.lower() in ("true", "yes", "on")
        if tag == "int":
            try:
                return int(node.value)
            except ValueError:
                return node.value
    return node.value


def _to_data(node: yaml.Node, path: Path_, origin: str, doc: _Doc, in_codes: bool = False) -> Any:
    doc.marks[path] = (origin, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in result:
                doc.problems.append(Problem(
                    reason="duplicate_key", file=origin, line=key_node.start_mark.line + 1,
                    message=f"key '{key}' appears twice in the same block; the later one would silently win",
                    fix="remove or rename one of them",
                ))
            result[key] = _to_data(value_node, (*path, key), origin, doc, in_codes or key == "codes")
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(item, (*path, i), origin, doc, in_codes) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, path[-1] if path else None, in_codes)
    return None  # pragma: no cover - aliases are resolved by compose


def _read_yaml(path: Path) -> _Doc:
    """Compose ``path`` safely; a syntax error becomes a MappingError with its line."""
    origin = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MappingError("mapping file not found", reason="missing_mapping", file=origin,
                           fix="check the path; mappings live in mappings/<site_id>/<system>.yaml") from None
    except UnicodeDecodeError as exc:
        raise MappingError(f"mapping file is not UTF-8 text ({exc.reason})", reason="bad_encoding", file=origin,
                           fix="save the mapping as UTF-8") from None
    _check_yaml_size(text, origin)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise MappingError(
            f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
            reason="yaml_syntax", file=origin, line=None if mark is None else mark.line + 1,
            fix="check indentation and put values containing ':', '#' or '%' in quotes, e.g. '%d/%m/%Y'",
        ) from None
    doc = _Doc(data=None)
    doc.data = {} if node is None else _to_data(node, (), origin, doc)
    return doc


MAX_YAML_ALIASES = 20  # a mapping has no use for many; a "billion laughs" file has thousands
MAX_YAML_DEPTH = 30  # mappings nest about 6 deep


def _check_yaml_size(text: str, origin: str) -> None:
    """Refuse YAML built to blow up when loaded: more than MAX_YAML_ALIASES aliases (each can
    repeat a whole block: 9 levels of 9 aliases are 387 million nodes) or nesting deeper than
    MAX_YAML_DEPTH. Counted on the parser's events, before any node is built."""
    aliases = depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_YAML_ALIASES:
                    raise MappingError(f"more than {MAX_YAML_ALIASES} YAML aliases (*name)", reason="yaml_too_complex",
                                       file=origin, line=event.start_mark.line + 1,
                                       fix="write the repeated blocks out, or use `extends:` with a template")
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise MappingError(f"YAML nested more than {MAX_YAML_DEPTH} levels deep", reason="yaml_too_complex",
                                       file=origin, line=event.start_mark.line + 1,
                                       fix="a mapping nests about 6 levels; check the file is a stairs-link mapping")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return  # reported with its line by compose below


FIELD_SOURCES = ("column", "columns", "value")


def _merge(base: _Doc, over: _Doc) -> _Doc:
    """Deep-merge ``over`` onto ``base``: mappings merge key by key, anything else replaces;
    a key set to null in ``over`` removes it.

    Field blocks merge too: a site writing ``date_of_birth: DOB`` over a template's
    ``{column: Birth, formats: [...]}`` changes the column and keeps the formats; giving one of
    ``column``/``columns``/``value`` replaces whichever of them the template had."""
    marks = dict(base.marks)

    def merge(a: Any, b: Any, path: Path_) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            out = dict(a)
            for key, value in b.items():
                sub = (*path, key)
                if value is None and key in out and path and path[-1] in ("fields", "tables"):
                    del out[key]
                    continue
                if path and path[-1] == "fields" and isinstance(out.get(key), dict):
                    value = {"column": value} if isinstance(value, str) else value
                    if isinstance(value, dict) and any(k in value for k in FIELD_SOURCES):
                        out[key] = {k: v for k, v in out[key].items()
                                    if k not in FIELD_SOURCES and not (k == "join" and "columns" not in value)}
                out[key] = merge(out.get(key), value, sub) if key in out else value
                if key not in a or not isinstance(a.get(key), dict) or not isinstance(value, dict):
                    for mark_path in [p for p in marks if p[: len(sub)] == sub]:
                        del marks[mark_path]
            return out
        return b

    data = merge(base.data, over.data, ())
    marks.update(over.marks)
    return _Doc(data=data, marks=marks, problems=base.problems + over.problems,
                templates=base.templates + over.templates)


def _template_folders(start: Path) -> list[Path]:
    """``_templates`` folders above the mapping, then the bundled one (mappings/_templates: the
    standard layouts such as FHIR, CTF and SSDA903, usable from a mapping anywhere)."""
    folders = [folder / TEMPLATE_DIR for folder in [start.parent, *start.parent.parents]]
    return [f for f in [*folders, data_dir("mappings") / TEMPLATE_DIR] if f.is_dir()]


def escapes_folder(name: str) -> bool:
    """True when ``name`` (a ``files:`` pattern or an ``extends:`` template name) is not a plain
    path inside its folder: absolute, with a drive or anchor, or with a ``..`` part, written
    with either slash (a mapping written on Windows is read on Linux and the other way)."""
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    return bool(posix.is_absolute() or posix.anchor or windows.anchor or windows.drive
                or ".." in posix.parts or ".." in windows.parts)


def _find_template(name: str, start: Path) -> Path | None:
    """The template ``name`` in the first ``_templates`` folder holding it."""
    for folder in _template_folders(start):
        candidate = folder / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    return None


def _outside_templates(template: Path) -> bool:
    """A template file that is really elsewhere (a symbolic link out of its ``_templates``)."""
    return not template.resolve().is_relative_to(template.parent.resolve())


def _available_templates(start: Path) -> list[str]:
    return sorted({p.stem for folder in _template_folders(start) for p in folder.glob("*.yaml")})


def _resolve(path: Path, chain: tuple[Path, ...] = ()) -> _Doc:
    doc = _read_yaml(path)
    if not isinstance(doc.data, dict):
        raise MappingError("a mapping file must be a set of 'key: value' lines", reason="not_a_mapping",
                           file=str(path), line=1, fix="start from `stairs-link mapping new` or a template")
    name = doc.data.get("extends")
    if name is None:
        return doc
    origin, line = doc.marks.get(("extends",), (str(path), None))
    escapes = escapes_folder(str(name))
    template = None if escapes else _find_template(str(name), path)
    if escapes or (template is not None and _outside_templates(template)):
        doc.problems.append(Problem(
            reason="bad_extends", file=origin, line=line,
            message=f"`extends: {name}` points outside the {TEMPLATE_DIR}/ folders (a template must be a file in one"
                    + ("; this one is a link to a file elsewhere)" if template is not None else ")"),
            fix=f"name a template by its file name without .yaml (e.g. `extends: systmone`) and put it in a "
                f"{TEMPLATE_DIR}/ folder beside or above the mapping; available: "
                + (", ".join(_available_templates(path)) or "none"),
        ))
        return doc
    if template is None:
        options = _available_templates(path)
        close = difflib.get_close_matches(str(name), options, n=1)
        doc.problems.append(Problem(
            reason="unknown_template", file=origin, line=line,
            message=f"template '{name}' not found in any {TEMPLATE_DIR}/ folder above the mapping",
            fix=(f"did you mean '{close[0]}'? " if close else "") + f"available: {', '.join(options) or 'none'}",
        ))
        return doc
    if template.resolve() in chain:
        raise MappingError(f"templates extend each other in a loop ({name})", reason="template_loop",
                           file=origin, line=line, fix="remove one of the `extends:` lines")
    base = _resolve(template, (*chain, path.resolve()))
    base.templates.append((str(name), hashlib.sha256(template.read_bytes()).hexdigest()))
    merged = _merge(base, doc)
    merged.data.pop("extends", None)
    return merged


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def _locate(doc: _Doc, path: Path_) -> tuple[str | None, int | None]:
    for cut in range(len(path), -1, -1):
        if tuple(path[:cut]) in doc.marks:
            return doc.marks[tuple(path[:cut])]
    return None, None


def suggest(name: str, options: list[str]) -> str | None:
    """Closest option to ``name``: a known synonym first, then difflib's closest spelling."""
    hit = synonym_for(name, options)
    if hit:
        return hit
    close = difflib.get_close_matches(str(name), options, n=1, cutoff=0.6)
    return close[0] if close else None


def _describe(path: Path_) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _schema_problems(doc: _Doc) -> list[Problem]:
    problems: list[Problem] = []
    errors = sorted(_validator().iter_errors(doc.data), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        _explain(error, doc, problems)
    return problems


def _explain(error: jsonschema.ValidationError, doc: _Doc, problems: list[Problem]) -> None:
    """Turn one JSON Schema error into problems a non-programmer can act on."""
    path = tuple(error.absolute_path)
    if error.validator == "anyOf" and isinstance(error.instance, dict):
        # A field block: report what is wrong inside the block, not "matches no alternative".
        inner = [e for e in error.context if e.validator != "type"]
        if inner:
            for sub in inner:
                _explain(sub, doc, problems)
            return
    if error.validator == "anyOf" and isinstance(error.instance, str):
        enums = [e for e in error.context if e.validator == "enum"]  # e.g. a built-in map name
        if enums:
            _explain(enums[0], doc, problems)
            return
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        for key in error.instance:
            if key in allowed:
                continue
            origin, line = _locate(doc, (*path, key))
            if len(path) == 3 and path[0] == "tables" and path[2] == "fields":
                what = f"unknown canonical field '{key}' in table '{path[1]}'"
            elif len(path) == 1 and path[0] == "tables":
                what = f"unknown canonical table '{key}'"
            else:
                what = f"unknown key '{key}' under {_describe(path)}"
            close = suggest(key, allowed)
            problems.append(Problem(
                reason="unknown_key", file=origin, line=line,
                message=what + (f"; did you mean '{close}'?" if close else ""),
                fix=f"use one of: {', '.join(allowed)}",
            ))
        return
    origin, line = _locate(doc, path)
    message = f"{_describe(path)}: {error.message}"
    fix = None
    if error.validator == "enum":
        allowed_values = [str(o) for o in error.validator_value]
        closest = difflib.get_close_matches(str(error.instance), allowed_values, n=1, cutoff=0.5)
        message = f"'{error.instance}' is not allowed for {_describe(path)}" + (
            f"; did you mean '{closest[0]}'?" if closest else "")
        fix = f"use one of: {', '.join(allowed_values)}"
    elif error.validator == "anyOf" and len(path) >= 2 and path[-2] == "fields":
        message = f"field '{path[-1]}' must be a column name, or a block with `column:`/`columns:`/`value:`"
        fix = "write e.g. `date_of_birth: DOB` or `date_of_birth: {column: DOB, formats: ['%d/%m/%Y']}`"
    elif error.validator == "pattern":
        fix = "use lower-case letters, digits and '-' (e.g. sch-oakfield)"
    problems.append(Problem(reason="schema", file=origin, line=line, message=message, fix=fix))


def _field_spec(table: str, name: str, raw: Any, doc: _Doc, problems: list[Problem]) -> FieldSpec | None:
    """Turn one field entry into a FieldSpec, adding a Problem for each thing wrong with it."""
    path = ("tables", table, "fields", name)
    origin, line = _locate(doc, path)

    def problem(message: str, fix: str | None = None, key: str | None = None) -> None:
        o, ln = _locate(doc, (*path, key)) if key else (origin, line)
        problems.append(Problem(reason="bad_field", file=o, line=ln,
                                message=f"table '{table}', field '{name}': {message}", fix=fix))

    columns = mappable_fields(table)
    column = columns[name]
    kind = field_kind(column)
    if isinstance(raw, str):
        raw = {"column": raw}
    if not isinstance(raw, dict):
        return None  # reported by the JSON Schema
    given = [k for k in ("column", "columns", "value") if k in raw]
    if len(given) != 1:
        problem("needs exactly one of `column:`, `columns:` or `value:`" + (f" (has {', '.join(given)})" if given else ""),
                "name the export column that holds this field, e.g. `column: DOB`")
        return None
    cols = (raw["column"],) if "column" in raw else tuple(raw.get("columns") or ())
    if "join" in raw and "columns" not in raw:
        problem("`join:` only applies to `columns:` (several columns joined)", "remove `join:` or use `columns:`", "join")
    if "split_name" in raw and name not in NAME_FIELDS:
        problem("`split_name:` only applies to given_name, middle_names and family_name", "remove `split_name:`",
                "split_name")
    date_keys = [k for k in ("formats", "excel_serial", "two_digit_years", "open_ended", "earliest") if k in raw]
    if date_keys and kind not in ("date", "datetime"):
        problem(f"`{date_keys[0]}:` only applies to date fields", f"remove `{date_keys[0]}:`", date_keys[0])
    for fmt in raw.get("formats") or ():
        if isinstance(fmt, str) and "%" not in fmt:
            problem(f"date format '{fmt}' has no % codes", "write formats with strptime codes, e.g. '%d/%m/%Y'",
                    "formats")
    if ("from_table" in raw or "latest_by" in raw) and table != "person":
        problem("`from_table:` / `latest_by:` only apply to person fields", "remove them", "from_table")
    elif "latest_by" in raw and "from_table" not in raw:
        problem("`latest_by:` needs `from_table:`", "add `from_table: episode` (the table whose file holds the column)",
                "latest_by")
    elif "from_table" in raw and "value" in raw:
        problem("a constant (`value:`) cannot come from another table", "remove `from_table:`", "from_table")


    for key in ("open_ended", "earliest"):
        for value in (raw.get(key) or ()) if key == "open_ended" else ([raw[key]] if raw.get(key) else []):
            try:
                dt.date.fromisoformat(str(value))
            except ValueError:
                problem(f"`{key}:` value '{value}' is not an ISO date", "write dates as YYYY-MM-DD, e.g. 9999-12-31",
                        key)
    if "decimal" in raw and kind != "number":
        problem("`decimal:` only applies to number fields", "remove `decimal:`", "decimal")
    codes = raw.get("codes")
    codes_name = None
    code_map: dict[str, str] | None = None
    unknown_value = raw.get("unknown_value")
    if kind == "coded":
        assert column.codes is not None  # field_kind says "coded" only for a column with a code list
        valid = CODE_LISTS[column.codes]
        if isinstance(codes, str):
            if codes in BUILTIN_MAPS:
                produces, code_map = BUILTIN_MAPS[codes]
                codes_name = codes
                if produces != column.codes:
                    problem(f"built-in map '{codes}' produces {produces} codes, not {column.codes}",
                            f"use a map for {column.codes}", "codes")
        elif isinstance(codes, dict):
            code_map = {str(k): str(v) for k, v in codes.items()}
            for source_code, target in code_map.items():
                if target not in valid:
                    close = difflib.get_close_matches(target, list(valid), n=1, cutoff=0.5)
                    o, ln = _locate(doc, (*path, "codes", source_code))
                    problems.append(Problem(
                        reason="bad_code", file=o, line=ln,
                        message=f"table '{table}', field '{name}': '{source_code}' maps to '{target}', "
                                f"which is not in the {column.codes} code list" + (f"; did you mean '{close[0]}'?" if close else ""),
                        fix=f"use one of: {', '.join(valid)}",
                    ))
        if "value" in raw and str(raw["value"]) not in valid and code_map is None:
            problem(f"constant '{raw['value']}' is not a {column.codes} code", f"use one of: {', '.join(valid)}", "value")
        policy = raw.get("unknown_codes")
        if policy is None and "value" not in raw:
            problem("coded field needs an explicit `unknown_codes:` policy",
                    "add `unknown_codes: reject` (row to rejects), `keep_unknown` (counted, reported) or `fail`")
        if policy == "keep_unknown":
            unknown_value = unknown_value if unknown_value is not None else UNKNOWN_CODE.get(column.codes)
            if unknown_value is None:
                problem(f"the {column.codes} code list has no 'unknown' code, so keep_unknown needs `unknown_value:`",
                        "add e.g. `unknown_value: other`, or use `unknown_codes: reject`", "unknown_codes")
        if unknown_value is not None and str(unknown_value) not in valid:
            problem(f"unknown_value '{unknown_value}' is not a {column.codes} code", f"use one of: {', '.join(valid)}",
                    "unknown_value")
    else:
        for key in ("codes", "unknown_codes", "unknown_value"):
            if key in raw:
                problem(f"`{key}:` only applies to coded fields", f"remove `{key}:`", key)
    return FieldSpec(
        name=name,
        columns=tuple(str(c) for c in cols),
        join=str(raw.get("join", " ")),
        value=None if "value" not in raw else str(raw["value"]),
        split_name=raw.get("split_name"),
        formats=None if raw.get("formats") is None else tuple(str(f) for f in raw["formats"]),
        excel_serial=bool(raw.get("excel_serial", False)),
        two_digit_years=str(raw.get("two_digit_years", "past")),
        open_ended=DEFAULT_OPEN_ENDED if raw.get("open_ended") is None else tuple(str(d) for d in raw["open_ended"]),
        earliest=str(raw["earliest"]) if raw.get("earliest") is not None else DEFAULT_EARLIEST.get(name),
        codes=code_map,
        codes_name=codes_name,
        unknown_codes=raw.get("unknown_codes"),
        unknown_value=None if unknown_value is None else str(unknown_value),
        ignore_case=bool(raw.get("ignore_case", True)),
        decimal=str(raw.get("decimal", ".")),
        from_table=raw.get("from_table"),
        latest_by=raw.get("latest_by"),
        line=line,
        origin=origin,
    )


def _source_spec(table: str, raw: dict[str, Any], doc: _Doc, problems: list[Problem]) -> SourceSpec | None:
    path = ("tables", table, "source")
    files = raw.get("files")
    files = (files,) if isinstance(files, str) else tuple(files or ())
    for pattern in files:
        if escapes_folder(str(pattern)):
            origin, line = _locate(doc, (*path, "files"))
            problems.append(Problem(reason="bad_source", file=origin, line=line,
                                    message=f"table '{table}': files pattern '{pattern}' must be relative to the export folder",
                                    fix="write just the file name or glob, e.g. 'patients*.csv'; pass the folder to adapt"))
    fmt = raw.get("format")
    if fmt is None and files:
        guessed = {EXTENSION_FORMATS.get(Path(f).suffix.lower()) for f in files}
        if len(guessed) == 1 and None not in guessed:
            fmt = guessed.pop()
        else:
            origin, line = _locate(doc, (*path, "files"))
            problems.append(Problem(reason="unknown_format", file=origin, line=line,
                                    message=f"table '{table}': cannot tell the file format from {list(files)}",
                                    fix=f"add `format:` with one of {', '.join(FORMATS)}"))
    encoding = str(raw.get("encoding", "auto"))
    if encoding != "auto":
        try:
            codecs.lookup(encoding)
        except LookupError:
            origin, line = _locate(doc, (*path, "encoding"))
            problems.append(Problem(reason="unknown_encoding", file=origin, line=line,
                                    message=f"table '{table}': unknown encoding '{encoding}'",
                                    fix="use auto, utf-8, utf-8-sig or cp1252"))
    for key, needed in (("sheet", ("xlsx",)), ("records_path", ("json", "xml")), ("delimiter", ("csv",)),
                        ("records_where", NESTED_FORMATS)):
        if key in raw and fmt is not None and fmt not in needed:
            origin, line = _locate(doc, (*path, key))
            problems.append(Problem(reason="bad_source", file=origin, line=line,
                                    message=f"table '{table}': `{key}:` only applies to {' or '.join(needed)} files",
                                    fix=f"remove `{key}:`"))
    if fmt == "xml" and not raw.get("records_path"):
        origin, line = _locate(doc, path)
        problems.append(Problem(reason="missing_records_path", file=origin, line=line,
                                message=f"table '{table}': an XML source needs `records_path:`",
                                fix="add the element path of one record, e.g. `records_path: CTfile/CTFpupilData/Pupil`"))
    delimiter = raw.get("delimiter")
    if delimiter == "\\t":
        delimiter = "\t"
    if delimiter is not None and (len(str(delimiter)) != 1 or str(delimiter) in ('"', "\n", "\r")):
        origin, line = _locate(doc, (*path, "delimiter"))
        problems.append(Problem(reason="bad_delimiter", file=origin, line=line,
                                message=f"table '{table}': delimiter {delimiter!r} is not one character",
                                fix="write one character: ',', ';', '|' or '\\t' (tab)"))
        delimiter = None
    if not files:
        return None
    return SourceSpec(files=files, format=fmt, encoding=encoding, delimiter=delimiter, sheet=raw.get("sheet"),
                      header_row=int(raw.get("header_row", 1)), records_path=raw.get("records_path"),
                      records_where=None if not isinstance(raw.get("records_where"), dict)
                      else {str(k): str(v) for k, v in raw["records_where"].items()},
                      footer_rows=int(raw.get("footer_rows") or 0))


def _borrowed_problems(table: str, spec: FieldSpec, raw_tables: dict[str, Any]) -> list[Problem]:
    """A person field ``from_table:`` another table: that table must be mapped, and
    ``latest_by:`` must be one of its date fields."""
    other = raw_tables.get(str(spec.from_table)) if isinstance(raw_tables, dict) else None
    where = f"table '{table}', field '{spec.name}'"
    if not isinstance(other, dict):
        return [Problem(reason="bad_field", file=spec.origin, line=spec.line,
                        message=f"{where}: from_table '{spec.from_table}' is not mapped in this file",
                        fix=f"map tables.{spec.from_table} (its source and local_id), or remove `from_table:`")]
    fields: dict[str, Any] = other["fields"] if isinstance(other.get("fields"), dict) else {}
    if spec.latest_by is None:
        return [Problem(reason="bad_field", file=spec.origin, line=spec.line,
                        message=f"{where}: a child may have several rows in {spec.from_table}; say which value wins",
                        fix="add `latest_by: <a date field of that table>`, e.g. latest_by: admission_date")]
    columns = mappable_fields(str(spec.from_table))
    if spec.latest_by not in columns or field_kind(columns[spec.latest_by]) not in ("date", "datetime") \
            or spec.latest_by not in fields:
        dates = [n for n in fields if n in columns and field_kind(columns[n]) in ("date", "datetime")]
        return [Problem(reason="bad_field", file=spec.origin, line=spec.line,
                        message=f"{where}: latest_by '{spec.latest_by}' is not a mapped date field of {spec.from_table}",
                        fix=f"use one of: {', '.join(dates) or '(map a date field there first)'}")]
    return []


def _path_problems(table: str, fields: dict[str, FieldSpec], source: SourceSpec) -> list[Problem]:
    """Field paths of a nested source that do not parse, each with the accepted forms."""
    problems = []
    for name, spec in fields.items():
        for column in spec.columns:
            try:
                parsed = parse_path(column)
            except PathSyntaxError as exc:
                problems.append(Problem(reason="bad_path", file=spec.origin, line=spec.line, column=column,
                                        message=f"table '{table}', field '{name}': {exc}",
                                        fix="write a path such as name[use=official|0].family, "
                                            "identifier[system=...].value, given[1:] (docs/mapping-format.md)"))
                continue
            if parsed.absolute and source.format != "xml":
                problems.append(Problem(reason="bad_path", file=spec.origin, line=spec.line, column=column,
                                        message=f"table '{table}', field '{name}': an absolute path ('/...') "
                                                "only applies to XML (a value outside the record)",
                                        fix="write the path from the record, without the leading '/'"))
    return problems


def _build(doc: _Doc, path: Path, *, lenient: bool = False) -> tuple[Mapping | None, list[Problem]]:
    problems = list(doc.problems) + _schema_problems(doc)
    data = doc.data if isinstance(doc.data, dict) else {}
    top = {}
    for key, valid in (("site_id", None), ("setting_type", SETTING_TYPE), ("system_kind", SYSTEM_KIND),
                       ("source_system", None)):
        if key not in data:
            problems.append(Problem(reason="missing_key", file=str(path), line=1,
                                    message=f"`{key}:` is missing",
                                    fix=f"add `{key}: ...`" + (f" (one of {', '.join(valid)})" if valid else "")))
        top[key] = str(data.get(key, ""))
    tables: dict[str, TableSpec] = {}
    raw_tables = data.get("tables")
    if not isinstance(raw_tables, dict) or not any(isinstance(v, dict) for v in raw_tables.values()):
        problems.append(Problem(reason="no_tables", file=str(path), line=_locate(doc, ("tables",))[1] or 1,
                                message="the mapping fills no canonical table",
                                fix=f"add `tables:` with at least one of {', '.join(TABLES)}"))
        raw_tables = {}
    for table, raw in raw_tables.items():
        if table not in TABLES or not isinstance(raw, dict):
            continue
        origin, line = _locate(doc, ("tables", table))
        source_raw = raw.get("source")
        source = _source_spec(table, source_raw, doc, problems) if isinstance(source_raw, dict) else None
        if not isinstance(source_raw, dict):
            problems.append(Problem(reason="missing_source", file=origin, line=line,
                                    message=f"table '{table}' has no `source:`",
                                    fix="add `source: {files: 'name*.csv'}`"))
        raw_fields: dict[str, Any] = raw["fields"] if isinstance(raw.get("fields"), dict) else {}
        allowed = mappable_fields(table)
        fields: dict[str, FieldSpec] = {}
        for name, value in raw_fields.items():
            if name in allowed and value is not None:
                spec = _field_spec(table, name, value, doc, problems)
                if spec is not None:
                    fields[name] = spec
        for name, column in allowed.items():
            if column.required and name not in raw_fields and name not in GENERATED_IF_MISSING:
                problems.append(Problem(
                    reason="missing_field", file=origin, line=line,
                    message=f"table '{table}': required field '{name}' is not mapped",
                    fix=f"add `{name}: <export column>` under tables.{table}.fields",
                ))
        for spec in fields.values():
            if spec.from_table is not None:
                problems += _borrowed_problems(table, spec, raw_tables)
        if source is not None and source.format in NESTED_FORMATS:
            problems += _path_problems(table, fields, source)
        if source is not None:
            tables[table] = TableSpec(name=table, source=source, fields=fields,
                                      duplicates=str(raw.get("duplicates", "reject_later")))
    problems.sort(key=lambda p: (p.file or "", p.line or 0))
    if problems and not lenient:
        return None, problems
    raw_bytes = path.read_bytes()
    mapping = Mapping(
        id=str(data.get("id") or f"{top['site_id']}/{top['source_system']}"),
        path=path,
        site_id=top["site_id"],
        setting_type=top["setting_type"],
        system_kind=top["system_kind"],
        source_system=top["source_system"],
        tables=tables,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        extracted_at=None if data.get("extracted_at") is None else str(data["extracted_at"]),
        templates=tuple(doc.templates),
        description=data.get("description"),
    )
    return mapping, problems


def is_template(path: str | Path) -> bool:
    """Templates live in a ``_templates`` folder and leave out the site's own keys."""
    return Path(path).parent.name == TEMPLATE_DIR


def validate_mapping(path: str | Path, *, lenient: bool = False) -> tuple[Mapping | None, list[Problem]]:
    """Validate a whole mapping file; return the mapping (None if invalid) and every problem.

    ``lenient=True`` also returns the usable part of an invalid mapping (the fields that are
    valid), so `mapping check --against` can check its files and columns in the same pass;
    such a partial mapping must never be used to adapt.

    A template (a file in ``_templates/``) is checked the same way except that the keys a
    site mapping supplies (``site_id``, ``setting_type``) may be missing; it never yields a
    Mapping, only its problems.
    """
    path = Path(path)
    try:
        doc = _resolve(path)
    except MappingError as exc:
        return None, [Problem(reason=exc.reason, message=exc.message, file=exc.file, line=exc.line, fix=exc.fix)]
    if is_template(path) and isinstance(doc.data, dict):
        doc.data.setdefault("site_id", "template-site")
        doc.data.setdefault("setting_type", "SCH")
        _, problems = _build(doc, path)
        return None, problems
    return _build(doc, path, lenient=lenient)


def load_mapping(path: str | Path) -> Mapping:
    """Load and validate a mapping; raise MappingError listing every problem if it is invalid."""
    mapping, problems = validate_mapping(path)
    if mapping is None and not problems and is_template(path):
        raise MappingError("this is a template, not a site mapping", reason="template", file=str(path),
                           fix=f"write mappings/<site_id>/<system>.yaml with `extends: {Path(path).stem}`, "
                               "site_id and setting_type, and use that")
    if mapping is None:
        raise MappingError(
            f"mapping has {len(problems)} problem(s)", reason="invalid_mapping", file=str(path),
            fix="fix each problem listed (run `stairs-link mapping check` to see them again)",
            problems=problems,
        )
    return mapping
