"""Identifiers: NHS number, UPN, PNC ID, CRO number, prison number, and the record key.

Each validator cleans the raw text (case, spaces), checks the shape with an RE2 regex over the
whole column, then computes check digits with numpy on an (n, width) byte matrix taken
straight from the Arrow buffer. Invalid values are nulled in ``value`` and flagged in
``invalid`` so the caller can report the raw value (issue 2: never silently dropped).
Sources of the check rules are cited at each function; see also ../shared/domain/README.md.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stairs_link.standardise._common import (
    Standardised,
    arrow_of,
    as_series,
    char_matrix,
    compact,
    finish,
    from_arrow,
    squeeze,
)

_NULL_STR = pa.scalar(None, pa.string())


def _matches(arr: pa.Array, pattern: str) -> np.ndarray:
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False)


def _scatter(sub: pa.Array, idx: np.ndarray, n: int) -> pa.Array:
    """Place ``sub`` (values for rows ``idx``) into a length-``n`` array, null elsewhere."""
    where = np.full(n, -1, dtype=np.int64)
    where[idx] = np.arange(len(idx))
    return sub.take(pa.array(where, mask=where < 0))


# --------------------------------------------------------------------------- NHS number
# NHS Data Dictionary, "NHS NUMBER": digits 1-9 weighted 10..2, check = 11 - (sum mod 11),
# 11 -> 0, 10 -> the number is invalid; the check must equal digit 10.
_NHS_WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)


def nhs_check_digit(nine_digits: str) -> int | None:
    """Modulus-11 check digit for the first nine digits of an NHS number; None when the
    remainder gives 10 (no valid number starts with those nine digits)."""
    if not re.fullmatch(r"\d{9}", nine_digits):
        raise ValueError("nhs_check_digit needs exactly nine digits")
    total = int(np.dot(np.frombuffer(nine_digits.encode("ascii"), np.uint8) - 48, _NHS_WEIGHTS))
    check = 11 - total % 11
    return None if check == 10 else (0 if check == 11 else check)


def _nhs_valid(clean: pa.Array) -> np.ndarray:
    shaped = _matches(clean, r"^\d{10}$")
    idx = np.flatnonzero(shaped)
    m = char_matrix(clean.take(pa.array(idx)), 10).astype(np.int64) - 48
    check = 11 - (m[:, :9] @ _NHS_WEIGHTS) % 11
    check[check == 11] = 0
    ok = (check != 10) & (check == m[:, 9])
    # Ten identical digits (0000000000, 1111111111, ...) pass modulus 11 but are never issued;
    # they are placeholders typed into mandatory fields and would falsely link every child who
    # carries one.
    ok &= ~np.all(m == m[:, :1], axis=1)
    valid = np.zeros(len(clean), dtype=bool)
    valid[idx] = ok
    return valid


def nhs_number(s: Any) -> Standardised:
    """NHS number -> 10 digits, modulus-11 checked; spaces and dashes are ignored.

    ``"943 476 5919"`` -> ``"9434765919"``. Reason for invalid rows: ``invalid_nhs_number``.
    """
    s = as_series(s)
    raw = arrow_of(s)
    clean = pc.replace_substring_regex(raw, r"[\s\p{Z}\x{200B}\x{FEFF}\p{Pd}]", "")
    canonical = pc.if_else(pa.array(_nhs_valid(clean)), clean, _NULL_STR)
    return finish(canonical, raw, s.index, "invalid_nhs_number")


def valid_nhs_number_mask(s: Any) -> pd.Series:
    """True where the value is a valid NHS number (after removing spaces and dashes)."""
    s = as_series(s)
    clean = pc.replace_substring_regex(arrow_of(s), r"[\s\p{Z}\x{200B}\x{FEFF}\p{Pd}]", "")
    return pd.Series(_nhs_valid(clean), index=s.index)


# --------------------------------------------------------------------------- UPN
# DfE, "Unique pupil numbers (UPN): guidance for schools and local authorities", Annex A:
# 13 characters; check letter in position 1 = alphabet[sum(value x position, positions 2-13)
# mod 23]; digits count at face value, letters (position 13 of a temporary UPN) as their
# index in the 23-letter alphabet (no I, O, S).
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
UPN_UNKNOWN_CODES = ("UN1", "UN2", "UN3", "UN4", "UN5")
_UPN_VALUE = np.full(256, 0, dtype=np.int64)
_UPN_VALUE[48:58] = np.arange(10)
for _i, _c in enumerate(UPN_ALPHABET):
    _UPN_VALUE[ord(_c)] = _i
_UPN_ALPHABET_BYTES = np.frombuffer(UPN_ALPHABET.encode("ascii"), dtype=np.uint8)
_UPN_WEIGHTS = np.arange(2, 14, dtype=np.int64)
_UPN_LETTER = "[A-HJ-NP-RT-Z]"


def upn_check_letter(twelve: str) -> str:
    """Check letter for positions 2-13 of a UPN (12 characters: 11 digits then a digit or
    alphabet letter)."""
    if not re.fullmatch(r"\d{11}[0-9A-HJ-NP-RT-Z]", twelve):
        raise ValueError("upn_check_letter needs 11 digits then a digit or UPN alphabet letter")
    values = _UPN_VALUE[np.frombuffer(twelve.encode("ascii"), dtype=np.uint8)]
    return UPN_ALPHABET[int(values @ _UPN_WEIGHTS) % 23]


def _upn_clean(s: pd.Series) -> pa.Array:
    return compact(arrow_of(s))


def upn(s: Any) -> Standardised:
    """Unique Pupil Number -> 13 upper-case characters with a valid check letter.

    The unknown-UPN codes UN1-UN5 are legitimate ("no UPN, for this reason"): they give a
    null ``value`` but are NOT invalid; count them with :func:`upn_unknown_mask`.
    Reason for invalid rows: ``invalid_upn``.
    """
    s = as_series(s)
    raw = arrow_of(s)
    clean = compact(raw)
    shaped = _matches(clean, rf"^{_UPN_LETTER}\d{{11}}[0-9A-HJ-NP-RT-Z]$")
    idx = np.flatnonzero(shaped)
    m = char_matrix(clean.take(pa.array(idx)), 13)
    check = _UPN_ALPHABET_BYTES[(_UPN_VALUE[m[:, 1:]] @ _UPN_WEIGHTS) % 23]
    valid = np.zeros(len(clean), dtype=bool)
    valid[idx] = check == m[:, 0]
    canonical = pc.if_else(pa.array(valid), clean, _NULL_STR)
    unknown = pc.is_in(clean, value_set=pa.array(UPN_UNKNOWN_CODES))
    return finish(canonical, raw, s.index, "invalid_upn", not_invalid=unknown)


def upn_temporary(s: Any) -> pd.Series:
    """True where the value is a valid *temporary* UPN (a letter in position 13).

    Schools issue a temporary UPN to a pupil whose permanent UPN is not known yet; the same
    child later carries the permanent one. A temporary UPN is a valid identifier (kept and
    staged), but it is no evidence against a different permanent UPN: linkage uses
    :func:`upn_permanent`, so the two never make a cannot-link conflict.
    """
    s = as_series(s)
    value = upn(s).value
    text = value.astype("string")
    temporary = text.str[12:13].str.fullmatch(r"[A-Z]").fillna(False)
    return pd.Series(temporary.to_numpy(dtype=bool), index=s.index, dtype=bool)


def upn_permanent(s: Any) -> Standardised:
    """:func:`upn`, with valid temporary UPNs given a null value (not invalid): the validator
    linkage uses, so a temporary UPN neither blocks, agrees nor conflicts with another UPN."""
    result = upn(s)
    temporary = upn_temporary(s)
    return Standardised(result.value.where(~temporary.to_numpy(), None), result.invalid, result.reason)


def upn_unknown_mask(s: Any) -> pd.Series:
    """True where the value is one of the unknown-UPN codes UN1-UN5."""
    s = as_series(s)
    unknown = pc.fill_null(pc.is_in(compact(arrow_of(s)), value_set=pa.array(UPN_UNKNOWN_CODES)), False)
    return pd.Series(unknown.to_numpy(zero_copy_only=False), index=s.index, dtype=bool)


# --------------------------------------------------------------------------- PNC ID
# Police National Computer id, YYYY/NNNNNNNC: check letter =
# "ZABCDEFGHJKLMNPQRTUVWXY"[int(YY + serial padded to 7 digits) mod 23]
# (same rule as MoJ's hmpps-person-record PNCIdValidator). Short forms (2-digit year,
# unpadded serial, no slash) are accepted and canonicalised.
PNC_ALPHABET = "ZABCDEFGHJKLMNPQRTUVWXY"
_PNC_ALPHABET_BYTES = np.frombuffer(PNC_ALPHABET.encode("ascii"), dtype=np.uint8)
_PNC_RE = (
    r"^(?:(?P<y4>\d{4})/(?P<s1>\d{1,7})|(?P<y2>\d{2})/(?P<s2>\d{1,7})"
    r"|(?P<y4b>\d{4})(?P<s3>\d{7})|(?P<y2b>\d{2})(?P<s4>\d{7}))(?P<check>[A-Z])$"
)


def pnc_check_letter(yy: str, serial7: str) -> str:
    """PNC check letter from the 2-digit year and the serial (padded to 7 digits)."""
    if not (re.fullmatch(r"\d{2}", yy) and re.fullmatch(r"\d{1,7}", serial7)):
        raise ValueError("pnc_check_letter needs a 2-digit year and a serial of up to 7 digits")
    return PNC_ALPHABET[int(yy + serial7.zfill(7)) % 23]


def _join(*parts: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def pnc_id(s: Any, *, reference_year: int | None = None) -> Standardised:
    """PNC ID -> canonical ``YYYY/NNNNNNNC`` with a valid check letter.

    Accepts ``20/1234567Z``, ``2020/123C``, ``20201234567Z``. A 2-digit year YY becomes 20YY
    when YY <= the last two digits of ``reference_year`` (default: this year), else 19YY.
    A year after ``reference_year`` is invalid. Reason for invalid rows: ``invalid_pnc_id``.
    """
    s = as_series(s)
    raw = arrow_of(s)
    clean = compact(raw)
    ref_year = dt.date.today().year if reference_year is None else int(reference_year)
    parts = pc.extract_regex(clean, _PNC_RE)
    idx = np.flatnonzero(pc.is_valid(parts).to_numpy(zero_copy_only=False))
    sub = parts.take(pa.array(idx))
    field = lambda name: pc.struct_field(sub, name)  # noqa: E731 - local shorthand
    year_txt = _join(field("y4"), field("y2"), field("y4b"), field("y2b"))
    serial_txt = _join(field("s1"), field("s2"), field("s3"), field("s4"))
    year = pc.cast(year_txt, pa.int64()).to_numpy(zero_copy_only=False)
    short = pc.utf8_length(year_txt).to_numpy(zero_copy_only=False) == 2
    year = np.where(short, np.where(year <= ref_year % 100, 2000 + year, 1900 + year), year)
    serial = pc.cast(serial_txt, pa.int64()).to_numpy(zero_copy_only=False)
    check = char_matrix(field("check"), 1)[:, 0]
    expected = _PNC_ALPHABET_BYTES[((year % 100) * 10_000_000 + serial) % 23]
    ok = (expected == check) & (year >= 1900) & (year <= ref_year)
    canonical_sub = _join(pa.array(year).cast(pa.string()), pa.array(["/"] * len(idx), type=pa.string()),
                          pc.utf8_lpad(serial_txt, 7, "0"), field("check"))
    canonical_sub = pc.if_else(pa.array(ok), canonical_sub, _NULL_STR)
    return finish(_scatter(canonical_sub, idx, len(clean)), raw, s.index, "invalid_pnc_id")


# --------------------------------------------------------------------------- CRO number
# Criminal Records Office number NNNNNN/YYC: check letter = PNC alphabet[int(YY + serial padded
# to 6 digits) mod 23] (domain README). Canonical form drops the serial's leading zeros, as
# CRO numbers are usually written. The older "SF" fingerprint-only form is not accepted.
_CRO_RE = r"^(?P<serial>\d{1,6})/(?P<yy>\d{2})(?P<check>[A-Z])$"


def cro_check_letter(yy: str, serial6: str) -> str:
    """CRO check letter from the 2-digit year and the serial (padded to 6 digits)."""
    if not (re.fullmatch(r"\d{2}", yy) and re.fullmatch(r"\d{1,6}", serial6)):
        raise ValueError("cro_check_letter needs a 2-digit year and a serial of up to 6 digits")
    return PNC_ALPHABET[int(yy + serial6.zfill(6)) % 23]


def cro_number(s: Any) -> Standardised:
    """CRO number -> ``N/YYC`` (serial without leading zeros) with a valid check letter.
    Reason for invalid rows: ``invalid_cro_number``."""
    s = as_series(s)
    raw = arrow_of(s)
    clean = compact(raw)
    parts = pc.extract_regex(clean, _CRO_RE)
    idx = np.flatnonzero(pc.is_valid(parts).to_numpy(zero_copy_only=False))
    sub = parts.take(pa.array(idx))
    serial = pc.cast(pc.struct_field(sub, "serial"), pa.int64()).to_numpy(zero_copy_only=False)
    yy = pc.cast(pc.struct_field(sub, "yy"), pa.int64()).to_numpy(zero_copy_only=False)
    check = char_matrix(pc.struct_field(sub, "check"), 1)[:, 0]
    ok = _PNC_ALPHABET_BYTES[(yy * 1_000_000 + serial) % 23] == check
    canonical_sub = _join(pa.array(serial).cast(pa.string()), pa.array(["/"] * len(idx), type=pa.string()),
                          pc.struct_field(sub, "yy"), pc.struct_field(sub, "check"))
    canonical_sub = pc.if_else(pa.array(ok), canonical_sub, _NULL_STR)
    return finish(_scatter(canonical_sub, idx, len(clean)), raw, s.index, "invalid_cro_number")


# --------------------------------------------------------------------------- prison number
# NOMIS prison number: one letter, four digits, two letters (e.g. G5555TT). No public check
# digit, so only the shape is validated.


def prison_number(s: Any) -> Standardised:
    """Prison (NOMIS) number -> ``A9999AA`` upper case. Reason: ``invalid_prison_number``."""
    s = as_series(s)
    raw = arrow_of(s)
    clean = compact(raw)
    canonical = pc.if_else(pa.array(_matches(clean, r"^[A-Z]\d{4}[A-Z]{2}$")), clean, _NULL_STR)
    return finish(canonical, raw, s.index, "invalid_prison_number")


# --------------------------------------------------------------------------- record key


def record_key(site_id: Any, source_system: Any, local_id: Any) -> pd.Series:
    """``f"{site_id}:{source_system}:{local_id}"`` for scalars or Series (broadcast).

    Parts are whitespace-tidied; a null or blank part gives a null key (the caller reports it:
    ``record_key`` is required). ``local_id`` may itself contain ``:`` as it comes last.
    """
    series = [p for p in (site_id, source_system, local_id) if isinstance(p, pd.Series)]
    index = series[0].index if series else pd.RangeIndex(1)
    n = len(index)

    def part(p: Any) -> pa.Array:
        if isinstance(p, pd.Series):
            if len(p) != n:
                raise ValueError("record_key: Series arguments must have the same length")
            return squeeze(arrow_of(p.reset_index(drop=True)))
        text = None if p is None or (isinstance(p, float) and np.isnan(p)) else str(p)
        return squeeze(pa.array([text] * n, type=pa.string()))

    key = pc.binary_join_element_wise(part(site_id), part(source_system), part(local_id), ":")
    return from_arrow(key, index)


__all__ = [
    "PNC_ALPHABET",
    "UPN_ALPHABET",
    "UPN_UNKNOWN_CODES",
    "cro_check_letter",
    "cro_number",
    "nhs_check_digit",
    "nhs_number",
    "pnc_check_letter",
    "pnc_id",
    "prison_number",
    "record_key",
    "upn",
    "upn_check_letter",
    "upn_unknown_mask",
    "valid_nhs_number_mask",
]
