"""Field paths into nested records (FHIR JSON, NDJSON, XML): a small FHIRPath-like subset.

A path names one value inside a record, step by step::

    name[use=official|use=usual|0].family      first official name, else usual, else the first
    identifier[system=https://fhir.nhs.uk/Id/nhs-number].value
    extension[url=https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory]
        .valueCodeableConcept.coding[0].code
    name[0].given[1:]                          every given name after the first, joined
    BasicDetails/MiddleNames   @id   /CTfile/Header/SourceSchool/LEA     (XML)

Semantics follow FHIRPath's collections: each step maps over every value the previous step
gave (a key on a list looks inside each element), ``[i]`` picks the i-th (0-based, negative
from the end), ``[a:b]`` a slice (whose values are joined with the field's ``join``),
``[key=value]`` keeps elements whose ``key`` equals ``value``, and ``[x|y|z]`` tries each
selector in turn and keeps the first that selects anything (a fallback order). FHIRPath's
own ``.where(key='value')`` and ``.first()`` are accepted and mean ``[key=value]`` and
``[0]``. ``/`` separates steps as ``.`` does (XML habit); a leading ``/`` makes a path
absolute (XML: a value outside the record, such as the CTF header's LA, usable in every row).

A path whose result is no value gives null; one that ends on an object, or on several values
without a slice, is not a scalar: :func:`evaluate` says which, so the adapter can count a
reject and ``mapping check --against`` can call it a mapping error, never staging JSON text.
Pure functions over dict/list/str data; nothing here reads files.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

NOT_A_SCALAR = "not_a_scalar"  # the path ends on an object (a JSON {...} or an XML element with children)
SEVERAL_VALUES = "several_values"  # the path gives more than one value and has no slice to join them
TEXT_KEY = "#text"  # an XML element's own text, beside its '@attribute' keys

_WHERE = re.compile(r"\.where\(\s*([A-Za-z0-9_.@-]+)\s*=\s*'([^']*)'\s*\)")
_FIRST = re.compile(r"\.first\(\)")


class PathSyntaxError(ValueError):
    """A field path that does not follow the grammar above (the message says where)."""


@dataclass(frozen=True)
class Key:
    name: str


@dataclass(frozen=True)
class Index:
    at: int


@dataclass(frozen=True)
class Slice:
    start: int | None
    stop: int | None


@dataclass(frozen=True)
class Filter:
    key: tuple[str, ...]
    value: str


Selector = Index | Slice | Filter


@dataclass(frozen=True)
class Choice:
    """``[a|b|c]``: the first selector that selects anything."""

    options: tuple[Selector, ...]


Step = Key | Choice


@dataclass(frozen=True)
class FieldPath:
    text: str
    steps: tuple[Step, ...]
    absolute: bool = False

    @property
    def joins(self) -> bool:
        """True when a slice makes several values one (joined) value."""
        return any(isinstance(s, Choice) and any(isinstance(o, Slice) for o in s.options) for s in self.steps)

    @property
    def nested(self) -> bool:
        """True when the path goes below the top level of a record (needs the path evaluator)."""
        return self.absolute or len(self.steps) > 1


def looks_like_path(text: str) -> bool:
    """Whether a mapping's column text uses path syntax (brackets, FHIRPath, '/', dots)."""
    return any(c in text for c in "[]/.@") or ".where(" in text


def _selector(text: str, path: str) -> Selector:
    body = text.strip()
    if re.fullmatch(r"-?\d+", body):
        return Index(int(body))
    m = re.fullmatch(r"(-?\d*)\s*:\s*(-?\d*)", body)
    if m:
        return Slice(int(m[1]) if m[1] else None, int(m[2]) if m[2] else None)
    if "=" in body:
        key, value = body.split("=", 1)
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if not key or not re.fullmatch(r"[A-Za-z0-9_@#-]+(\.[A-Za-z0-9_@#-]+)*", key):
            raise PathSyntaxError(f"'{path}': filter '[{text}]' needs a key name before '=', e.g. [use=official]")
        return Filter(tuple(key.split(".")), value)
    raise PathSyntaxError(f"'{path}': '[{text}]' is not an index ([0]), a slice ([1:]) or a filter ([use=official])")


def parse_path(text: str) -> FieldPath:
    """Parse a field path; PathSyntaxError says what is wrong and shows the accepted forms."""
    original = text
    source = _FIRST.sub("[0]", _WHERE.sub(lambda m: f"[{m[1]}={m[2]}]", text.strip()))
    if not source:
        raise PathSyntaxError("an empty field path")
    if source.endswith((".", "/")):
        raise PathSyntaxError(f"'{original}': a path cannot end with a separator")
    absolute = source.startswith("/")
    if absolute:
        source = source[1:]
    steps: list[Step] = []
    i, n = 0, len(source)
    name = ""

    def flush() -> None:
        nonlocal name
        if name.strip():
            steps.append(Key(name.strip()))
        name = ""

    while i < n:
        c = source[i]
        if c == "[":
            close = source.find("]", i)
            if close < 0:
                raise PathSyntaxError(f"'{original}': '[' at position {i + 1} is never closed with ']'")
            flush()
            if not steps:
                raise PathSyntaxError(f"'{original}': a selector [...] must follow a name, e.g. name[0]")
            parts = source[i + 1:close].split("|")
            steps.append(Choice(tuple(_selector(p, original) for p in parts)))
            i = close + 1
            continue
        if c == "]":
            raise PathSyntaxError(f"'{original}': ']' at position {i + 1} has no matching '['")
        if c in "./":
            if not name.strip() and (not steps or i + 1 >= n or source[i - 1] in "./"):
                raise PathSyntaxError(f"'{original}': an empty step at position {i + 1} (two separators in a row?)")
            flush()
            i += 1
            continue
        name += c
        i += 1
    flush()
    if not steps or not isinstance(steps[0], Key):
        raise PathSyntaxError(f"'{original}': a path starts with a name, e.g. name[0].family")
    return FieldPath(original, tuple(steps), absolute)


def scalar_text(value: object) -> str | None:
    """A JSON/XML scalar as text (None for a null); objects and lists give None too."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _key_of(node: object, key: tuple[str, ...]) -> str | None:
    for name in key:
        if isinstance(node, list):
            node = node[0] if len(node) == 1 else None
        if not isinstance(node, dict):
            return None
        node = node.get(name)
    if isinstance(node, dict) and TEXT_KEY in node:
        node = node[TEXT_KEY]
    return scalar_text(node)


def _select(selector: Selector, values: list) -> list:
    if isinstance(selector, Index):
        return [values[selector.at]] if -len(values) <= selector.at < len(values) else []
    if isinstance(selector, Slice):
        return values[selector.start:selector.stop]
    return [v for v in values if _key_of(v, selector.key) == selector.value]


def _step(step: Step, values: list) -> list:
    if isinstance(step, Key):
        out: list = []
        name = step.name
        for node in values:
            if isinstance(node, dict):
                value = node.get(name)
                if value is None:
                    continue
                if isinstance(value, list):
                    out.extend(v for v in value if v is not None)
                else:
                    out.append(value)
        return out
    for option in step.options:
        picked = _select(option, values)
        if picked:
            return picked
    return []


def select(path: FieldPath, record: object) -> list:
    """Every value ``path`` reaches in ``record`` (a FHIRPath collection)."""
    values = [record]
    for step in path.steps:
        values = _step(step, values)
        if not values:
            return values
    return values


def _leaf(value: object) -> tuple[str | None, str | None]:
    if isinstance(value, dict):
        if TEXT_KEY in value and all(k == TEXT_KEY or k.startswith("@") for k in value):
            return scalar_text(value[TEXT_KEY]), None
        return None, NOT_A_SCALAR
    return scalar_text(value), None


def compile_path(path: FieldPath, join: str = " ") -> Callable[[object], tuple[str | None, str | None]]:
    """A function record -> (text or None, problem or None) for ``path``.

    problem is NOT_A_SCALAR or SEVERAL_VALUES (the text is then None). Paths of plain keys
    (the common case: ``birthDate``, ``address.postcode``) walk dicts directly; the rest go
    through :func:`select`.
    """
    joins = path.joins

    def _finish(values: list) -> tuple[str | None, str | None]:
        if not values:
            return None, None
        if len(values) == 1 and not joins:
            return _leaf(values[0])
        if not joins:
            return None, NOT_A_SCALAR if any(isinstance(v, dict) and _leaf(v)[1] for v in values) else SEVERAL_VALUES
        texts = []
        for value in values:
            text, problem = _leaf(value)
            if problem:
                return None, problem
            if text:
                texts.append(text)
        return (join.join(texts) or None), None

    keys = [s.name for s in path.steps if isinstance(s, Key)]
    if len(keys) == len(path.steps) and len(keys) == 1:
        only = keys[0]

        def one(record: object) -> tuple[str | None, str | None]:
            value = record.get(only) if isinstance(record, dict) else None
            if isinstance(value, (dict, list)):
                return _finish([value] if isinstance(value, dict) else [v for v in value if v is not None])
            return scalar_text(value), None

        return one
    def run(record: object) -> tuple[str | None, str | None]:
        return _finish(select(path, record))

    return run


def evaluate(path: FieldPath | str, record: object, join: str = " ") -> tuple[str | None, str | None]:
    """One value of ``path`` in ``record`` as text: (text, None), (None, None) for no value, or
    (None, NOT_A_SCALAR / SEVERAL_VALUES). Compile with :func:`compile_path` for many records."""
    parsed = parse_path(path) if isinstance(path, str) else path
    return compile_path(parsed, join)(record)


def problem_fix(path: str, problem: str) -> str:
    """What to write instead, for a path that did not give one scalar."""
    if problem == NOT_A_SCALAR:
        return (f"'{path}' selects an object, not a value: go one step further to the value inside it, "
                "e.g. name[0].family, identifier[system=...].value, address[0].postalCode")
    return (f"'{path}' gives several values: pick one with an index or a filter (e.g. name[0], "
            "name[use=official|0]), or join them with a slice such as given[1:]")
