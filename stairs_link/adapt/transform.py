"""Applying a table's field specs to one batch of export rows: vectorised, nothing lost.

Each batch gives staged canonical rows plus rejects: a value that fails (invalid identifier,
unparseable optional date, unknown code kept as unknown) is nulled or replaced and reported
with ``row_rejected=False``; a row that cannot be staged (required value missing or
unparseable, unknown code under ``reject``, duplicate local id) goes to rejects whole.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from stairs_link import standardise as std
from stairs_link.errors import MappingError
from stairs_link.mapping.model import (
    IDENTIFIER_FIELDS,
    FieldSpec,
    Mapping,
    TableSpec,
    field_kind,
    mappable_fields,
)
from stairs_link.schema.codes import CODE_LISTS

TEXT = pd.StringDtype("pyarrow")
ALL_FAIL_MIN = 10  # at least this many values, all failing, in one batch: blame the mapping, not the source
ISO_DATE_FORMATS = ("%Y-%m-%d",)
ISO_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
DUPLICATE_MESSAGE = ("a person row with this local id was already staged (the first one is kept); row not staged. "
                     "Fix: remove the duplicate from the export, or check the id column is right")
ORPHAN_EVENT = "orphan_event"
ORPHAN_MESSAGE = ("no person row with this local id was staged from this system's person file(s): its person row was "
                  "rejected (see that row's own reject, table person) or is missing from the export; event not "
                  "staged, so the rest of the evaluation can go on without it. Fix: correct the person row in the "
                  "source system (or export the missing person) and re-run adapt")


class SeenIds:
    """The local ids staged so far for one person table, across batches and files.

    A hash set: membership and insertion run at C level (``map(set.__contains__)`` over the
    batch's ids; no Python bytecode per id), O(batch) per batch where re-running ``isin``
    against every id seen so far would be O(ids seen) per batch. Memory: one str per staged
    person row (about 100 MB per million rows).
    """

    def __init__(self) -> None:
        self._ids: set[str] = set()

    def contains(self, ids: pd.Series) -> np.ndarray:
        if not self._ids or len(ids) == 0:
            return np.zeros(len(ids), dtype=bool)
        values = ids.to_numpy(dtype=object, na_value=None)
        return np.fromiter(map(self._ids.__contains__, values), dtype=bool, count=len(values))

    def add(self, ids: pd.Series) -> None:
        self._ids.update(ids.to_numpy(dtype=object, na_value=None))


@dataclass
class TableContext:
    """Everything a batch transform needs besides the rows."""

    mapping: Mapping
    table: TableSpec
    source_file: str
    source_format: str
    extracted_at: str | None
    reference_date: dt.date | None
    seen: SeenIds = field(default_factory=lambda: SeenIds())  # person local ids staged so far
    # event tables: the local ids of the person rows this mapping staged (the person table is
    # adapted first); an event whose id is not among them is an orphan_event reject. None: the
    # mapping fills no person table, so there is nothing to check against here (build checks)
    persons: SeenIds | None = None
    mostly_distinct: set[str] = field(default_factory=set)  # identifier fields not worth factorizing
    # person fields read from another table's files (from_table): local id -> raw value
    borrowed: dict[str, pd.Series] = field(default_factory=dict)
    # how raw values are named in errors (run.value_labels): None shows them as written
    labels: Callable[[list[str]], dict[str, str]] | None = None


@dataclass
class BatchResult:
    staged: pd.DataFrame
    rejects: pd.DataFrame
    rows_in: int
    rows_rejected: int
    unknown_codes: dict[str, Counter] = field(default_factory=dict)
    invalid_values: dict[str, Counter] = field(default_factory=dict)
    # identifier values kept or nulled on purpose, counted: {'upn': {'UN2': 3, 'temporary': 5}}
    identifier_codes: dict[str, Counter] = field(default_factory=dict)
    #: event rows rejected as orphan_event (their person row was not staged)
    orphan_rows: int = 0


class _Collector:
    """Accumulates reject entries for one batch (vectorised: one block per field+reason)."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.blocks: list[pd.DataFrame] = []
        self.row_rejected = np.zeros(len(rows), dtype=bool)

    def add(self, mask: np.ndarray, column: str | None, raw: pd.Series | None, reason: str, message: str,
            *, reject_row: bool) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        if reject_row:
            self.row_rejected |= mask
        self.blocks.append(pd.DataFrame({
            "position": np.flatnonzero(mask),
            "column": column,
            "raw_value": None if raw is None else raw.to_numpy(dtype=object)[mask],
            "reason": reason,
            "message": message,
        }))


def _blank(s: pd.Series) -> np.ndarray:
    return (s.isna() | (s.astype(TEXT).str.strip() == "")).to_numpy(dtype=bool)


def _raw(spec: FieldSpec, frame: pd.DataFrame, ctx: TableContext | None = None) -> pd.Series:
    """The source text of a field: one column, several joined, a constant, or (``from_table``)
    the value another table's file gave this row's local id (see adapt.run.borrowed_values)."""
    n = len(frame)
    if spec.from_table is not None:
        if ctx is None or spec.name not in ctx.borrowed:
            raise RuntimeError(f"bug: no values read for {spec.name} from {spec.from_table}")
        ids = std.tidy_text(_raw(ctx.table.fields["local_id"], frame)).astype(TEXT)
        return ids.map(ctx.borrowed[spec.name]).astype(TEXT).fillna("")
    if spec.value is not None:
        return pd.Series([spec.value] * n, index=frame.index, dtype=TEXT)
    if len(spec.columns) == 1:
        return frame[spec.columns[0]].astype(TEXT)
    parts = [frame[c].astype(TEXT).str.strip().fillna("") for c in spec.columns]
    out = parts[0]
    for part in parts[1:]:
        both = (out != "") & (part != "")
        out = (out + spec.join + part).where(both, out.where(out != "", part))
    return out


def _dates(spec: FieldSpec, raw: pd.Series, kind: str, ctx: TableContext) -> std.Standardised:
    formats = list(spec.formats) if spec.formats else None
    if ctx.source_format == "xlsx":  # cells stored as real dates arrive as ISO text
        extra = ISO_DATETIME_FORMATS if kind == "datetime" else ISO_DATE_FORMATS
        formats = (formats or []) + [f for f in extra if f not in (formats or [])]
    parse = std.parse_datetimes if kind == "datetime" else std.parse_dates
    # Dates repeat a lot (birth dates, admission days): parse each distinct text once.
    return on_distinct(raw, lambda u: parse(u, formats, excel_serial=spec.excel_serial,
                                            two_digit_years=spec.two_digit_years,
                                            reference_date=ctx.reference_date))


def _scatter(values: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """``values[codes]`` with code -1 giving null, as a Series on ``index``."""
    return pd.Series(values.array.take(codes, allow_fill=True), index=index)


def on_distinct(raw: pd.Series, fn):  # noqa: ANN001, ANN201 - returns what fn returns, spread out
    """Apply a standardiser to each distinct value once and spread the result back.

    Names, dates and codes repeat heavily in real exports, so this cuts the regex and
    strptime work by one or two orders of magnitude; results are identical by construction.
    ``fn`` returns a Series, a DataFrame or a Standardised over the distinct values.
    """
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    result = fn(pd.Series(uniques, dtype=TEXT))
    if isinstance(result, std.Standardised):
        invalid = result.invalid.to_numpy(dtype=bool)
        spread = np.zeros(len(codes), dtype=bool) if len(invalid) == 0 else np.where(codes >= 0, invalid[np.maximum(codes, 0)], False)
        return std.Standardised(_scatter(result.value, codes, raw.index), pd.Series(spread, index=raw.index),
                                result.reason)
    if isinstance(result, pd.DataFrame):
        return pd.DataFrame({c: _scatter(result[c], codes, raw.index) for c in result.columns}, index=raw.index)
    return _scatter(result, codes, raw.index)


def _codes(spec: FieldSpec, raw: pd.Series, codes: str, ctx: TableContext, out: _Collector,
           result: BatchResult, required: bool) -> pd.Series:
    """Recode through the value map (or check against the code list) with the field's policy."""
    valid = CODE_LISTS[codes]
    table = spec.codes if spec.codes is not None else {c: c for c in valid}
    if spec.ignore_case:
        table = {str(k).upper(): v for k, v in table.items()}

    def recode(distinct: pd.Series) -> pd.Series:
        key = distinct.str.strip()
        return (key.str.upper() if spec.ignore_case else key).map(table).astype(TEXT)

    mapped = on_distinct(raw, recode)
    blank = _blank(raw)
    unknown = (~blank) & mapped.isna().to_numpy()
    if unknown.any():
        counts = Counter(raw[unknown].astype(str).str.strip().value_counts().to_dict())
        result.unknown_codes.setdefault(spec.name, Counter()).update(counts)
        policy = spec.unknown_codes or "reject"
        shown = ctx.labels([c for c, _ in counts.most_common(10)]) if ctx.labels is not None else None
        listed = ", ".join(f"'{c}' ({n})" if shown is None else f"{shown[c]} ({n})" for c, n in counts.most_common(10))
        if shown is not None:
            listed += " (values hidden: labels, not the codes; --show-values shows them)"
        if policy == "fail":
            first = int(out.rows[np.flatnonzero(unknown)[0]])
            raise MappingError(
                f"code(s) not in the value map of field '{spec.name}': {listed}",
                reason="unknown_code", file=ctx.source_file, row=first, column=spec.label,
                fix="add the code(s) to `codes:` in the mapping, or set `unknown_codes: reject` or `keep_unknown`",
            )
        where = f"the value map for {spec.name}" if spec.codes is not None else f"the {codes} code list"
        if policy == "keep_unknown":
            mapped = mapped.where(~unknown, spec.unknown_value)
            out.add(unknown, spec.label, raw, "unknown_code",
                    f"code not in {where}; recorded as '{spec.unknown_value}', row kept. "
                    "Fix: add the code to `codes:` in the mapping", reject_row=False)
        else:
            out.add(unknown, spec.label, raw, "unknown_code",
                    f"code not in {where}; row not staged (unknown_codes: reject). "
                    "Fix: add the code to `codes:` in the mapping, or correct the export", reject_row=True)
    return mapped


def _convert(spec: FieldSpec, frame: pd.DataFrame, ctx: TableContext, out: _Collector, result: BatchResult,
             split_cache: dict) -> pd.Series:
    column = mappable_fields(ctx.table.name)[spec.name]
    kind = field_kind(column)
    raw = _raw(spec, frame, ctx)
    required = column.required

    def bad(mask: np.ndarray, reason: str, what: str, fix: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            result.invalid_values.setdefault(spec.name, Counter())[reason] += int(mask.sum())
            failing = int(mask.sum())
            if failing >= ALL_FAIL_MIN and failing == int((~_blank(raw)).sum()):
                # every value fails: the likely cause is the mapping (wrong column, format or
                # path), not a source system that got every single value wrong
                fix = (f"every value of {spec.label} in these {failing:,} rows fails, so the mapping probably "
                       f"selects the wrong column or format for {spec.name}: check `column:`"
                       + (" and `formats:`" if kind in ("date", "datetime") else "")
                       + " against the export (stairs-link mapping check --against)")
        if required:
            out.add(mask, spec.label, raw, reason, f"{what}; {spec.name} is required, so the row is not staged. "
                    f"Fix: {fix}", reject_row=True)
        else:
            out.add(mask, spec.label, raw, reason, f"{what}; value nulled, row kept. Fix: {fix}", reject_row=False)

    if kind == "name" and spec.split_name:
        key = (spec.columns, spec.value, spec.split_name)
        if key not in split_cache:
            split_cache[key] = on_distinct(raw, lambda u: std.split_full_name(std.tidy_text(u), spec.split_name))
            parts = split_cache[key]
            invalid = parts["invalid"].fillna(False).to_numpy(dtype=bool)
            if invalid.any():
                result.invalid_values.setdefault("full_name", Counter())["unparseable_name"] += int(invalid.sum())
            out.add(invalid, spec.label, raw, "unparseable_name",
                    f"full name does not fit the style {spec.split_name}; name parts nulled, row kept. "
                    "Fix: correct the name in the export, or change `split_name:`", reject_row=False)
        return split_cache[key][spec.name].astype(TEXT)
    if kind == "identifier":
        fn = getattr(std, IDENTIFIER_FIELDS[spec.name])
        kwargs = {"reference_year": ctx.reference_date.year} if spec.name == "pnc_id" and ctx.reference_date else {}
        if spec.name in ctx.mostly_distinct:  # e.g. NHS numbers: one per child, factorizing is waste
            result_std = fn(raw, **kwargs)
        else:
            result_std = on_distinct(raw, lambda u: fn(u, **kwargs))
            if len(raw) >= 10_000 and raw.nunique(dropna=True) > 0.5 * len(raw):
                ctx.mostly_distinct.add(spec.name)
        if spec.name == "upn":
            _count_upn_codes(raw, result_std, result)
        bad(result_std.invalid.to_numpy(dtype=bool), result_std.reason,
            f"{spec.name} fails its format/check-digit test",
            "correct the identifier in the source system; it is reported here with its raw value")
        return result_std.value.astype(TEXT)
    if kind == "coded":
        assert column.codes is not None  # field_kind says "coded" only for a column with a code list
        return _codes(spec, raw, column.codes, ctx, out, result, required)
    if kind in ("date", "datetime"):
        parsed = _dates(spec, raw, kind, ctx)
        shown = ", ".join(spec.formats) if spec.formats else "ISO 8601 (YYYY-MM-DD)"
        bad(parsed.invalid.to_numpy(dtype=bool), parsed.reason,
            f"could not read a {'date-time' if kind == 'datetime' else 'date'} with format(s) {shown}"
            + (" or as an Excel serial number" if spec.excel_serial else ""),
            "add the export's format to `formats:` in the mapping, or correct the value")
        return _date_limits(spec, parsed.value, raw, required, result, out, bad)
    if kind == "number":
        text = raw.astype(TEXT).str.strip()
        if spec.decimal == ",":
            text = text.str.replace(",", ".", regex=False)
        number = pd.to_numeric(text.where(text != "", None).astype(object), errors="coerce").astype("float64")
        invalid = (~_blank(raw)) & number.isna().to_numpy()
        whole = pa.types.is_integer(column.type)
        if whole:
            fractional = number.notna().to_numpy() & (np.mod(number.fillna(0).to_numpy(), 1) != 0)
            invalid |= fractional
            number = number.where(~fractional)
        bad(invalid, "unparseable_number", "not a number" + (" (whole number expected)" if whole else ""),
            "correct the value in the export")
        return number
    if spec.name in ("local_id", "episode_id"):  # (almost) all distinct: no gain from on_distinct
        return std.tidy_text(raw).astype(TEXT)
    return on_distinct(raw, std.tidy_text).astype(TEXT)


def _count_upn_codes(raw: pd.Series, result_std: std.Standardised, result: BatchResult) -> None:
    """Count the unknown-UPN codes UN1-UN5 (legitimately no UPN: nulled, not invalid) and the
    valid temporary UPNs (kept), so the manifest says how many there were."""
    counter = result.identifier_codes.setdefault("upn", Counter())
    unknown = std.upn_unknown_mask(raw).to_numpy(dtype=bool)
    if unknown.any():
        counter.update(raw[unknown].astype(str).str.strip().str.upper().str.replace(" ", "", regex=False)
                       .value_counts().to_dict())
    value = result_std.value
    temporary = value.notna().to_numpy() & value.astype("string").str[12:13].str.fullmatch(r"[A-Z]").fillna(False).to_numpy(dtype=bool)
    if temporary.any():
        counter["temporary"] += int(temporary.sum())


def _date_limits(spec: FieldSpec, value: pd.Series, raw: pd.Series, required: bool, result: BatchResult,
                 out: _Collector, bad) -> pd.Series:  # noqa: ANN001 - _convert's reporter
    """Open-ended sentinels (9999-12-31 ...) become null, counted in the manifest's
    ``invalid_values`` as ``open_ended_date`` (a required field has no "no date": row
    rejected); values before ``earliest`` are rejected as ``implausible_date``."""
    day = value.dt.normalize()
    if spec.open_ended:
        sentinel = day.isin(np.array(list(spec.open_ended), dtype="datetime64[s]")).to_numpy(dtype=bool)
        if sentinel.any():
            if required:
                bad(sentinel, "open_ended_date", "an open-ended placeholder date (one of "
                    + ", ".join(spec.open_ended) + ") where a real date is needed",
                    "fill in the real date in the source system, or change `open_ended:` in the mapping")
            else:
                result.invalid_values.setdefault(spec.name, Counter())["open_ended_date"] += int(sentinel.sum())
            value = value.where(~sentinel)
    if spec.earliest:
        early = (day < np.datetime64(spec.earliest, "s")).fillna(False).to_numpy(dtype=bool)
        if early.any():
            bad(early, "implausible_date", f"date before {spec.earliest}, the earliest plausible {spec.name}",
                "correct the date in the source system (a typed year?), or set `earliest:` for this field in the "
                "mapping")
            value = value.where(~early)
    return value


def transform_batch(frame: pd.DataFrame, rows: np.ndarray, ctx: TableContext) -> BatchResult:
    """Map one batch of export rows onto canonical table ``ctx.table.name``."""
    spec = ctx.table
    n = len(frame)
    frame = frame.reset_index(drop=True)
    result = BatchResult(staged=pd.DataFrame(), rejects=pd.DataFrame(), rows_in=n, rows_rejected=0)
    out = _Collector(rows)
    values: dict[str, pd.Series] = {}
    split_cache: dict = {}
    fields = mappable_fields(spec.name)
    for name, field_spec in spec.fields.items():
        values[name] = _convert(field_spec, frame, ctx, out, result, split_cache)
        if fields[name].required:
            # blank required values; non-blank ones that failed were reported by _convert
            out.add(_blank(_raw(field_spec, frame, ctx)), field_spec.label, None, "missing_value",
                    f"required field {name} is blank; row not staged. Fix: fill it in the source system",
                    reject_row=True)
    local_id = values["local_id"]
    if spec.name == "person":
        # Later rows with a local id already staged (in this or an earlier batch/file) are
        # rejected: one person row per local id, and the first one seen wins (documented).
        live = ~out.row_rejected
        dup = np.zeros(n, dtype=bool)
        dup[live] = local_id[live].duplicated(keep="first").to_numpy()
        dup |= live & ctx.seen.contains(local_id)
        out.add(dup, spec.fields["local_id"].label, local_id, "duplicate_local_id", DUPLICATE_MESSAGE,
                reject_row=True)
        ctx.seen.add(local_id[~out.row_rejected])
    elif ctx.persons is not None:
        # an event is staged only if its person row was: otherwise build would meet an event
        # of no child. Rows rejected for their own reasons already are not counted again.
        orphan = ~out.row_rejected & ~ctx.persons.contains(local_id)
        out.add(orphan, spec.fields["local_id"].label, local_id, ORPHAN_EVENT, ORPHAN_MESSAGE, reject_row=True)
        result.orphan_rows = int(orphan.sum())
    keep = ~out.row_rejected
    staged = pd.DataFrame({name: series[keep].reset_index(drop=True) for name, series in values.items()})
    m = ctx.mapping
    # == std.record_key(site, system, local_id): local_id is already tidied and never null here
    staged["record_key"] = (f"{m.site_id}:{m.source_system}:" + staged["local_id"].astype(TEXT)).astype(TEXT)
    staged["site_id"] = m.site_id
    staged["setting_type"] = m.setting_type
    staged["source_system"] = m.source_system
    if spec.name == "person":
        staged["system_kind"] = m.system_kind
    else:
        staged = staged.drop(columns=["local_id"])
    if spec.name == "episode" and "episode_id" not in spec.fields:
        staged["episode_id"] = (ctx.source_file + "#" + pd.Series(rows[keep], dtype="int64").astype(str)).astype(TEXT)
    staged["source_file"] = ctx.source_file
    staged["source_row"] = rows[keep].astype("int64")
    if ctx.extracted_at is not None or "extracted_at" not in staged:
        staged["extracted_at"] = ctx.extracted_at
    staged["mapping_id"] = m.id
    result.staged = staged
    result.rows_rejected = int(out.row_rejected.sum())
    if out.blocks:
        blocks = pd.concat(out.blocks, ignore_index=True)
        positions = blocks.pop("position").to_numpy()
        blocks.insert(0, "source_row", rows[positions].astype("int64"))
        blocks.insert(0, "source_file", ctx.source_file)
        blocks.insert(2, "table", spec.name)
        blocks["row_rejected"] = out.row_rejected[positions]
        blocks["mapping_id"] = m.id
        blocks["raw_value"] = blocks["raw_value"].astype(object).where(blocks["raw_value"].notna(), None)
        result.rejects = blocks.sort_values(["source_row"], kind="stable").reset_index(drop=True)
    return result
