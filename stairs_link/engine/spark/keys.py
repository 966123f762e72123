"""Per-record blocking keys and features, computed inside Spark tasks with the embedded engine's
:class:`~stairs_link.linkage.prepare.Features` on each partition.

The embedded engine codes values per table (``pd.factorize``); codes are local to a table, so
Spark needs the VALUES instead: each key part becomes the string the embedded code stands for
(a folded name, a phonetic code, a date as an integer, ...). Records agree on a key exactly
when the embedded codes agree, because every transform works value by value.

Group order. The embedded engine emits the pairs of a rule group by group in the order of the
group's key code, i.e. the first appearance (record index) of the key among the records; a
record lacking a key part takes the part's code 0 there (``np.maximum(codes, 0)`` in
``blocking.rule_key``), so it can make a group appear earlier. :func:`part_specs` records what
code 0 stands for per part kind, so Spark can reproduce that order exactly (it decides the
order of equal-weight edges in constrained clustering, see ``link.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stairs_link.linkage.bloom_comparisons import (
    ROWS_PER_BAND,
    bit_counts,
    minhash_band,
    minhash_signature,
    set_bit_counts,
)
from stairs_link.linkage.comparisons.bloom import is_binary_values
from stairs_link.linkage.config import LinkageConfig
from stairs_link.linkage.prepare import Features
from stairs_link.linkage.shared import tf_form

SEP = "\x1f"  # between key parts
SET_SEP = "\x1e"  # between the values of an unordered (a|b) key part
DATE_TRANSFORMS = ("year", "month", "day", "swapfree")


@dataclass(frozen=True)
class PartSpec:
    """One blocking-key part ``column[:transform]``.

    kind: ``str`` (a string form; missing -> the first record's non-missing value),
    ``date`` (an integer; missing -> 0), ``valid`` (a valid identifier's compact form;
    missing -> the first non-missing compact value, valid or not), ``set`` (unordered
    values of several columns; missing -> record 0's value, see ``prepare._unordered_key``)
    or ``minhash`` (a band of a Bloom encoding's MinHash signature as its minima,
    ``"m0,m1,m2,m3"``; missing -> all minima 0, the raw code 0 of
    ``bloom_comparisons.minhash_key_codes``, whose codes are not factorized).
    """

    rule: int
    part: int
    key: str
    kind: str
    columns: tuple[str, ...]
    form: str

    @property
    def name(self) -> str:
        return f"p{self.rule}_{self.part}"


def part_specs(config: LinkageConfig, date_columns: set[str]) -> list[PartSpec]:
    """Every key part of every blocking rule, with its kind (dates known from the table schema)."""
    specs = []
    for r, rule in enumerate(config.blocking):
        for q, key in enumerate(rule.keys):
            column, _, transform = key.partition(":")
            if transform.startswith("minhash"):
                minhash_band(transform, column)  # an unknown band is a configuration error, as embedded
                specs.append(PartSpec(r, q, key, "minhash", (column,), transform))
            elif "|" in column:
                specs.append(PartSpec(r, q, key, "set", tuple(column.split("|")), transform or "norm"))
            elif transform in DATE_TRANSFORMS or (transform == "" and column in date_columns):
                specs.append(PartSpec(r, q, key, "date", (column,), transform))
            elif transform == "valid":
                specs.append(PartSpec(r, q, key, "valid", (column,), "compact"))
            else:
                specs.append(PartSpec(r, q, key, "str", (column,), transform or "norm"))
    return specs


def _values(feats: Features, column: str, form: str, null_values: tuple[str, ...] = ()) -> np.ndarray:
    """Object array: the form's value per record, None where missing."""
    codes, uniques = feats.strings(column, form, null_values)
    values = np.asarray(uniques, dtype=object)
    if is_binary_values(values):  # a Bloom encoding (pseudonymised mode): its bytes as hex text
        values = np.array([bytes(v).hex() for v in values], dtype=object)
    out = np.append(values, None)[codes]  # code -1 -> None
    return out


def _date_values(feats: Features, column: str, transform: str) -> np.ndarray:
    parts = feats.dates(column)
    if transform == "swapfree":
        lo = np.minimum(parts["month"], parts["day"]).astype(np.int64)
        hi = np.maximum(parts["month"], parts["day"]).astype(np.int64)
        values = parts["year"].astype(np.int64) * 10000 + lo * 100 + hi
    else:
        values = parts["days"] if transform == "" else parts[transform]
    text = pd.Series(values.astype(np.int64)).astype(str).to_numpy(dtype=object)
    return np.where(parts["valid"], text, None)


def _set_value(columns: list[np.ndarray]) -> np.ndarray:
    """Unordered combination of several value arrays (None if any is None)."""
    stacked = pd.DataFrame({k: c for k, c in enumerate(columns)})
    missing = stacked.isna().any(axis=1).to_numpy()
    filled = stacked.fillna("")
    ordered = np.sort(filled.to_numpy(dtype=str), axis=1)
    joined = pd.Series(ordered[:, 0], dtype=object)
    for k in range(1, ordered.shape[1]):
        joined = joined + SET_SEP + ordered[:, k]
    return np.where(missing, None, joined.to_numpy(dtype=object))


def minhash_columns(specs: list[PartSpec]) -> list[str]:
    """Bloom-encoding columns that MinHash blocking keys are taken from."""
    return sorted({s.columns[0] for s in specs if s.kind == "minhash"})


def partition_bit_counts(pdf: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per column: how many of this partition's records set each bit of the
    encoding, and how many have one (summed over partitions: the whole table's counts)."""
    feats = Features(pdf)
    rows = []
    for column in columns:
        counts, records = bit_counts(feats, column)
        if records:  # a partition without any encoding of this column adds nothing
            rows.append({"column": column, "records": records, "counts": counts.tolist()})
    return pd.DataFrame(rows, columns=["column", "records", "counts"])


def _minhash_values(feats: Features, column: str, transform: str) -> np.ndarray:
    """Object array: the band's minima as text, None where the record has no encoding or no
    bit to hash (exactly where ``minhash_key_codes`` gives -1)."""
    band = minhash_band(transform, column)
    codes, mins, empty = minhash_signature(feats, column)
    cols = mins[:, band * ROWS_PER_BAND:(band + 1) * ROWS_PER_BAND]
    text = pd.Series(cols[:, 0].astype(str), dtype=object)
    for k in range(1, cols.shape[1]):
        text = text + "," + cols[:, k].astype(str)
    per_encoding = np.where(empty, None, text.to_numpy(dtype=object))
    return np.append(per_encoding, None)[codes]


MINHASH_MISSING_VALUE = ",".join(["0"] * ROWS_PER_BAND)


def record_keys(pdf: pd.DataFrame, config: LinkageConfig, specs: list[PartSpec],
                bit_totals: dict[str, tuple[np.ndarray, int]] | None = None) -> pd.DataFrame:
    """Per record (``idx``): every key part's value, the aux values needed for group order
    (``c*`` compact forms, ``u*`` per-column values of unordered parts), the ``when_missing``
    flags, term-frequency values and cannot-link identifier values. ``bit_totals``: the
    whole table's bit counts per MinHash column (a partition's own would pick other bits)."""
    feats = Features(pdf.drop(columns=["idx"]))
    for column, (counts, records) in (bit_totals or {}).items():
        set_bit_counts(feats, column, counts, records)
    validators = {c.column: c.validator for c in config.comparisons if c.kind == "identifier"}
    out: dict[str, np.ndarray] = {"idx": pdf["idx"].to_numpy(np.int64)}
    for s in specs:
        if s.kind == "date":
            out[s.name] = _date_values(feats, s.columns[0], s.form)
        elif s.kind == "valid":
            compact = _values(feats, s.columns[0], "compact")
            codes, _ = feats.strings(s.columns[0], "compact")
            ok = np.append(feats.valid_identifier(s.columns[0], validators.get(s.columns[0])), False)[codes]
            out[s.name] = np.where(ok, compact, None)
            out[f"c{s.rule}_{s.part}"] = compact
        elif s.kind == "minhash":
            out[s.name] = _minhash_values(feats, s.columns[0], s.form)
        elif s.kind == "set":
            cols = [_values(feats, c, s.form) for c in s.columns]
            out[s.name] = _set_value(cols)
            for t, values in enumerate(cols):
                out[f"u{s.rule}_{s.part}_{t}"] = values
        else:
            out[s.name] = _values(feats, s.columns[0], s.form)
    for r, rule in enumerate(config.blocking):
        if rule.when_missing is not None:
            out[f"miss{r}"] = feats.missing(rule.when_missing)
    for k, c in enumerate(config.comparisons):
        if c.term_frequency:
            out[f"tfv{k}"] = _values(feats, c.column, tf_form(c.kind), c.null_values)
        if c.name in config.cannot_link_identifiers:
            codes, _ = feats.strings(c.column, "compact", c.null_values)
            ok = np.append(feats.valid_identifier(c.column, c.validator), False)[codes]
            out[f"idv{k}"] = np.where(ok, _values(feats, c.column, "compact", c.null_values), None)
    return pd.DataFrame(out)


def record_keys_schema(config: LinkageConfig, specs: list[PartSpec]) -> str:
    """Spark DDL schema of :func:`record_keys` output."""
    cols = ["idx long"]
    for s in specs:
        cols.append(f"{s.name} string")
        if s.kind == "valid":
            cols.append(f"c{s.rule}_{s.part} string")
        if s.kind == "set":
            cols += [f"u{s.rule}_{s.part}_{t} string" for t in range(len(s.columns))]
    cols += [f"miss{r} boolean" for r, rule in enumerate(config.blocking) if rule.when_missing is not None]
    for k, c in enumerate(config.comparisons):
        if c.term_frequency:
            cols.append(f"tfv{k} string")
        if c.name in config.cannot_link_identifiers:
            cols.append(f"idv{k} string")
    return ", ".join(cols)
