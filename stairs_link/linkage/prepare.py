"""Record features for blocking and comparison, computed once per UNIQUE value.

Every feature is an integer code per record (-1 = missing) plus the array of distinct values
the codes index. Folding, phonetic coding and validation run on the distinct values only
(tens of thousands even for a million records) and are mapped back by the codes, so the
per-record work is numpy indexing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jellyfish
import numpy as np
import pandas as pd

from stairs_link import standardise as std
from stairs_link.errors import LinkageError
from stairs_link.linkage.bloom_comparisons import minhash_key_codes
from stairs_link.standardise.dates import as_seconds
from stairs_link.standardise.text import fold_name

MISSING = -1


ARROW_STRING = pd.StringDtype("pyarrow")  # .str methods run as Arrow compute kernels


def _norm(values: pd.Series) -> pd.Series:
    """Generic matching form: trimmed, upper case, internal whitespace collapsed."""
    return values.astype(ARROW_STRING).str.strip().str.upper().str.replace(r"\s+", " ", regex=True)


def _fold(values: pd.Series) -> pd.Series:
    # fold_name: Arrow kernels, accents/punctuation
    return fold_name(values.astype(ARROW_STRING)).astype(ARROW_STRING)


def _compact(values: pd.Series) -> pd.Series:
    """Identifier form: upper case without spaces or hyphens."""
    return _norm(values).str.replace(r"[\s-]+", "", regex=True)


def _outward(values: pd.Series) -> pd.Series:
    """Postcode outward code: everything before the last three characters (the inward code)."""
    compact = _compact(values)
    return compact.where(compact.str.len() > 3).str[:-3]


_PHONETIC: dict[str, Callable[[str], str]] = {
    "metaphone": jellyfish.metaphone,
    "soundex": jellyfish.soundex,
    "nysiis": jellyfish.nysiis,
}


def _validator(name: str) -> Callable[[pd.Series], pd.Series]:
    """The standardiser checking an identifier's check digit, returning a valid-flag series."""
    func = getattr(std, name, None)
    if func is None:
        raise LinkageError(f"identifier validator '{name}' is not available in stairs_link.standardise",
                           reason="bad_config", fix="remove `validator` from the comparison")

    def valid(values: pd.Series) -> pd.Series:
        result = func(values)
        return result.value.notna().to_numpy()

    return valid


class Features:
    """Lazily computed, cached per-record integer codes for one person table."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame.reset_index(drop=True)
        self.n = len(self.frame)
        self._cache: dict[tuple, Any] = {}  # per-key shapes differ (codes and uniques, signatures, ...)
        self._dates: dict[str, dict[str, np.ndarray]] = {}
        self._valid: dict[tuple[str, str | None], np.ndarray] = {}

    def column(self, name: str) -> pd.Series:
        if name not in self.frame.columns:
            raise LinkageError(f"column '{name}' named in the linkage configuration is not in the person table",
                               reason="missing_column", column=name,
                               fix="add the column to the input or remove it from the configuration")
        return self.frame[name]

    def _raw(self, column: str, null_values: tuple[str, ...] = ()) -> tuple[np.ndarray, pd.Series]:
        key = ("raw", column, null_values)
        if key not in self._cache:
            series = self.column(column)
            if null_values:
                series = series.astype(ARROW_STRING)
                series = series.mask(series.str.strip().str.lower().isin([v.lower() for v in null_values]))
            first = series.dropna().head(1).tolist()
            if first and isinstance(first[0], str):
                try:  # Arrow dictionary encoding: much faster than hashing Python objects
                    series = series.astype(ARROW_STRING)
                except (TypeError, ValueError):
                    pass  # not all strings: factorize the objects as they are
            codes, uniques = pd.factorize(series, use_na_sentinel=True)
            self._cache[key] = (codes.astype(np.int32), pd.Series(uniques))
        return self._cache[key]

    def strings(self, column: str, form: str = "norm", null_values: tuple[str, ...] = ()
                ) -> tuple[np.ndarray, np.ndarray]:
        """(codes, distinct values) of ``column`` in matching form ``form``.

        Forms: norm (trim/upper), fold (names: accents and punctuation), compact (identifiers:
        no spaces or hyphens), outward (postcode district), metaphone/soundex/nysiis (of the
        folded name), first1-3 (first letters of the folded name). Blank results are missing.
        """
        key = ("str", column, form, null_values)
        if key in self._cache:
            return self._cache[key]
        codes, uniques = self._raw(column, null_values)
        if form in ("norm", "compact") and len(uniques) and isinstance(uniques.iloc[0], bytes):
            # Bloom encodings (pseudonymised mode): equal when their bytes are equal
            result = (codes, np.asarray(uniques, dtype=object))
            self._cache[key] = result
            return result
        if pd.api.types.is_datetime64_any_dtype(uniques) or not (
                pd.api.types.is_string_dtype(uniques) or pd.api.types.is_object_dtype(uniques)):
            uniques = uniques.astype(ARROW_STRING)
        if form == "norm":
            mapped = _norm(uniques)
        elif form == "fold":
            mapped = _fold(uniques)
        elif form == "compact":
            mapped = _compact(uniques)
        elif form == "outward":
            mapped = _outward(uniques)
        elif form in _PHONETIC:
            folded_codes, folded = self.strings(column, "fold", null_values)
            func = _PHONETIC[form]
            # jellyfish works one string at a time: run it on distinct folded values only.
            ph = np.array([func(v) if v else "" for v in folded], dtype=object)
            ph = pd.Series(ph, dtype=ARROW_STRING).mask(lambda s: s == "")
            result = self._refactor(folded_codes, ph)
            self._cache[key] = result
            return result
        elif form in ("first1", "first2", "first3"):
            mapped = _fold(uniques).str.replace(" ", "", regex=False).str[: int(form[-1])]
        else:
            raise LinkageError(f"unknown transform '{form}' for column '{column}'", reason="bad_config",
                               column=column, fix="see docs/linkage.md for the key transforms")
        result = self._refactor(codes, pd.Series(mapped, dtype=ARROW_STRING))
        self._cache[key] = result
        return result

    @staticmethod
    def _refactor(codes: np.ndarray, mapped: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Re-code records through a mapping of their distinct values (blank -> missing)."""
        mapped = mapped.mask(mapped.str.len() == 0)
        new_codes, new_uniques = pd.factorize(mapped, use_na_sentinel=True)
        lookup = np.append(new_codes.astype(np.int32), np.int32(MISSING))  # index -1 -> missing
        return lookup[codes], np.asarray(new_uniques, dtype=object)

    def dates(self, column: str) -> dict[str, np.ndarray]:
        """Date parts as int32 arrays: days since epoch, year, month, day, and a valid mask."""
        if column not in self._dates:
            series = self.column(column)
            if not _is_date(series) and series.notna().any():
                raise LinkageError(f"column '{column}' is compared as a date but holds {series.dtype} values",
                                   reason="bad_type", column=column,
                                   fix="stage it as a date (canonical type date32) before linking")
            day = as_seconds(series).to_numpy().astype("datetime64[D]")
            valid = ~np.isnat(day)
            day = np.where(valid, day, np.datetime64("1970-01-01"))
            month = day.astype("datetime64[M]")
            year = day.astype("datetime64[Y]")
            self._dates[column] = {
                "valid": valid,
                "days": day.astype(np.int64),
                "year": np.where(valid, year.astype(np.int32) + 1970, 0).astype(np.int32),
                "month": np.where(valid, (month - year).astype(np.int32) + 1, 0).astype(np.int32),
                "day": np.where(valid, (day - month).astype(np.int32) + 1, 0).astype(np.int32),
            }
        return self._dates[column]

    def missing(self, column: str) -> np.ndarray:
        """True per record where ``column`` is empty (null, blank, or an unreadable date)."""
        if _is_date(self.column(column)):
            return ~self.dates(column)["valid"]
        return self.strings(column, "norm")[0] < 0

    def valid_identifier(self, column: str, validator: str | None) -> np.ndarray:
        """Per distinct compact value of ``column``: True when it passes its check digit."""
        key = (column, validator)
        if key not in self._valid:
            _, uniques = self.strings(column, "compact")
            if validator is None or len(uniques) == 0:
                flags = np.ones(len(uniques), dtype=bool)
            else:
                flags = np.asarray(_validator(validator)(pd.Series(uniques, dtype="string")), dtype=bool)
            self._valid[key] = flags
        return self._valid[key]

    def key_codes(self, key: str, validators: dict[str, str | None]) -> np.ndarray:
        """Blocking-key codes for ``column[:transform]`` (int64, -1 missing)."""
        column, _, transform = key.partition(":")
        if transform.startswith("minhash"):  # MinHash band of a Bloom encoding (pseudonymised mode)
            return minhash_key_codes(self, column, transform)
        if "|" in column:
            return self._unordered_key(column.split("|"), transform or "norm")
        series = self.column(column)
        if transform in ("year", "month", "day", "swapfree") or (transform == "" and _is_date(series)):
            parts = self.dates(column)
            if transform == "swapfree":  # year + {day, month} in either order
                lo = np.minimum(parts["month"], parts["day"]).astype(np.int64)
                hi = np.maximum(parts["month"], parts["day"]).astype(np.int64)
                values = parts["year"].astype(np.int64) * 10000 + lo * 100 + hi
            else:
                values = parts["days"] if transform == "" else parts[transform]
            return np.where(parts["valid"], values, MISSING).astype(np.int64)
        if transform == "valid":
            codes, _ = self.strings(column, "compact")
            ok = self.valid_identifier(column, validators.get(column))
            ok_rec = np.append(ok, False)[codes]  # code -1 -> False
            return np.where(ok_rec, codes, MISSING).astype(np.int64)
        form = transform or "norm"
        codes, _ = self.strings(column, form)
        return codes.astype(np.int64)


    def _unordered_key(self, columns: list[str], form: str) -> np.ndarray:
        """Key for ``a|b:form``: the unordered set of the columns' values, so a given/family
        swap blocks with the unswapped record. Values of all columns are coded in one shared
        space, then each record's codes are sorted: integer work only."""
        coded = [self.strings(column, form) for column in columns]
        shared, _ = pd.factorize(pd.Series(np.concatenate([u for _, u in coded]), dtype=object))
        offsets = np.cumsum([0] + [len(u) for _, u in coded])
        parts = []
        for (codes, uniques), start in zip(coded, offsets):
            lookup = np.append(shared[start:start + len(uniques)], -1)  # code -1 stays missing
            parts.append(lookup[codes].astype(np.int64))
        stacked = np.sort(np.stack(parts, axis=1), axis=1)
        missing = (stacked < 0).any(axis=1)
        width = np.int64(max(int(stacked.max(initial=0)) + 1, 1))
        combined = np.zeros(self.n, dtype=np.int64)
        for k in range(stacked.shape[1]):
            combined = combined * width + np.maximum(stacked[:, k], 0)
        codes, _ = pd.factorize(combined)
        return np.where(missing, MISSING, codes).astype(np.int64)


def _is_date(series: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    sample = series.dropna().head(20)
    return len(sample) > 0 and sample.map(lambda v: hasattr(v, "toordinal")).all()
