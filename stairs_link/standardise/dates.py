"""Dates and date-times as exports write them: explicit formats, Excel serial numbers and
two-digit years resolved sensibly for children.

Each format is applied to the whole column at once (``pd.to_datetime(format=...,
errors="coerce")``), each later format only to the rows still unparsed, so the cost is one
vectorised pass per format, never a per-row loop.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from stairs_link.errors import StairsLinkError
from stairs_link.standardise._common import Standardised, as_series, tidy_strings

ISO_8601 = "ISO8601"
TWO_DIGIT_YEAR_POLICIES = ("past",)

# Excel's 1900 date system counts 1900-01-01 as serial 1 and, copying a Lotus 1-2-3 bug,
# treats 1900 as a leap year, so serial 60 is the non-existent 1900-02-29 and every serial
# from 61 on is one day "ahead". Hence: serial <= 59 -> 1899-12-31 + serial; serial 60 is
# invalid; serial >= 61 -> 1899-12-30 + serial. Source: Microsoft, "Excel incorrectly assumes
# that the year 1900 is a leap year" (KB 214326). The upper bound is 9999-12-31.
_EXCEL_MAX_SERIAL = 2958465
_EXCEL_EARLY_BASE = np.datetime64("1899-12-31", "ns")
_EXCEL_BASE = np.datetime64("1899-12-30", "ns")

_OFFSET_RE = r"(?:Z|[+-]\d{2}:?\d{2})$"
_NUMBER_RE = r"\d+(?:\.\d+)?"


def _check_policy(two_digit_years: str) -> None:
    if two_digit_years not in TWO_DIGIT_YEAR_POLICIES:
        raise StairsLinkError(
            f"unknown two-digit-year policy '{two_digit_years}'",
            reason="unknown_two_digit_year_policy",
            fix=f"use one of: {', '.join(TWO_DIGIT_YEAR_POLICIES)}",
        )


def _to_datetime(text: pd.Series, fmt: str) -> pd.Series:
    """One format over a text column; zone-aware values become Europe/London local time."""
    values = text.astype(object)
    fmt_arg = "ISO8601" if fmt == ISO_8601 else fmt
    if fmt == ISO_8601 or "%z" in fmt or "%Z" in fmt:
        aware = text.str.contains(_OFFSET_RE, regex=True).fillna(False).astype(bool)
    else:
        aware = pd.Series(False, index=text.index)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if (~aware).any():
        out[~aware] = pd.to_datetime(values[~aware], format=fmt_arg, errors="coerce")
    if aware.any():
        parsed = pd.to_datetime(values[aware], format=fmt_arg, errors="coerce", utc=True)
        out[aware] = parsed.dt.tz_convert("Europe/London").dt.tz_localize(None)
    return out


def _resolve_two_digit_years(parsed: pd.Series, reference_date: dt.date | None) -> pd.Series:
    """Re-assign the century of dates parsed with ``%y``.

    With ``reference_date``: the latest date with those two year digits on or before it (a
    child's DOB ``03/04/09`` read in 2026 is 2009, never 2109 or 1909). Without one: the
    2000-pivot rule, ``yy <= current yy`` -> 20yy else 19yy (pandas' own pivot is 69, which
    would put a 2069 birth date in the data).
    """
    ok = parsed.notna()
    if not ok.any():
        return parsed
    p = parsed[ok]
    yy = (p.dt.year % 100).to_numpy()
    if reference_date is None:
        current_yy = dt.date.today().year % 100
        year = np.where(yy <= current_yy, 2000 + yy, 1900 + yy)
    else:
        ref = pd.Timestamp(reference_date)
        year = ref.year - ((ref.year - yy) % 100)
    parts = pd.DataFrame({
        "year": year, "month": p.dt.month.to_numpy(), "day": p.dt.day.to_numpy(),
        "hour": p.dt.hour.to_numpy(), "minute": p.dt.minute.to_numpy(),
        "second": p.dt.second.to_numpy(),
    }, index=p.index)
    resolved = pd.to_datetime(parts, errors="coerce")  # 29 Feb in a non-leap century -> NaT
    if reference_date is not None:
        later = resolved > pd.Timestamp(reference_date) + pd.Timedelta(days=1) - pd.Timedelta(1)
        if later.any():
            parts.loc[later, "year"] -= 100
            resolved[later] = pd.to_datetime(parts[later], errors="coerce")
    out = parsed.copy()
    out[ok] = resolved
    return out


def _excel_serials(text: pd.Series) -> pd.Series:
    """Numeric strings as Excel 1900-system serials (fractions are the time of day)."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    numeric = text.str.fullmatch(_NUMBER_RE).fillna(False).astype(bool)
    if not numeric.any():
        return out
    serial = pd.to_numeric(text[numeric].astype(object)).to_numpy(dtype="float64")
    days = np.floor(serial)
    usable = (days >= 1) & (days <= _EXCEL_MAX_SERIAL) & (days != 60)
    base = np.where(days < 60, _EXCEL_EARLY_BASE, _EXCEL_BASE)
    nanos = np.round((serial - days) * 86400) * 1_000_000_000
    stamps = base + days.astype("int64").astype("timedelta64[D]") + nanos.astype("timedelta64[ns]")
    values = pd.Series(np.where(usable, stamps, np.datetime64("NaT")), index=text[numeric].index)
    out[numeric] = values.astype("datetime64[ns]")
    return out


def _split_datetime_objects(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Spreadsheet readers hand over real date/datetime objects mixed with text; convert
    those directly and return (already parsed, remaining raw values)."""
    parsed = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if s.dtype != object:
        return parsed, s
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("string", "empty", "integer", "floating", "mixed-integer-float", "decimal"):
        return parsed, s
    # Mixed object column (xlsx): type test per element, but only on object columns, which
    # come from spreadsheet readers and are small.
    is_dt = s.map(lambda v: isinstance(v, (dt.date, np.datetime64))).astype(bool)
    if is_dt.any():
        # Spreadsheet cells carry no time zone: read them as wall-clock values.
        values = pd.to_datetime(s[is_dt].astype(object), errors="coerce", utc=True)
        parsed[is_dt] = values.dt.tz_localize(None)
        s = s.where(~is_dt, None)
    return parsed, s


def _parse(
    s: Any, formats: list[str] | None, excel_serial: bool, two_digit_years: str,
    reference_date: dt.date | None, *, keep_time: bool, reason: str,
) -> Standardised:
    _check_policy(two_digit_years)
    s = as_series(s)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        value = s.dt.tz_convert("Europe/London").dt.tz_localize(None) if s.dt.tz else s
        value = value.astype("datetime64[ns]")
        value = value.dt.floor("s") if keep_time else value.dt.normalize()
        return Standardised(value, pd.Series(False, index=s.index), reason)
    out, rest = _split_datetime_objects(s)
    text = tidy_strings(rest)
    present = text.notna().to_numpy()
    # Exports repeat the same dates (birth dates, admission days) many times: parse each
    # distinct text once and map the result back to the rows.
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    parsed = _parse_distinct(pd.Series(uniques, dtype=text.dtype), formats, excel_serial, reference_date)
    # no distinct text (every value blank): nothing to look up, all NaT
    values = parsed.to_numpy() if len(parsed) else np.array([np.datetime64("NaT", "ns")])
    from_text = np.where(codes >= 0, values[np.maximum(codes, 0)], np.datetime64("NaT", "ns"))
    out = out.where(out.notna(), pd.Series(from_text, index=s.index, dtype="datetime64[ns]"))
    out = out.dt.floor("s") if keep_time else out.dt.normalize()
    invalid = pd.Series(present & out.isna().to_numpy(), index=s.index, dtype=bool)
    return Standardised(out, invalid, reason)


def _parse_distinct(text: pd.Series, formats: list[str] | None, excel_serial: bool,
                    reference_date: dt.date | None) -> pd.Series:
    """Formats in order, each on the values still unparsed, then Excel serials."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for fmt in formats or [ISO_8601]:
        todo = out.isna()
        if not todo.any():
            break
        parsed = _to_datetime(text[todo], fmt)
        if "%y" in fmt:
            parsed = _resolve_two_digit_years(parsed, reference_date)
        out[todo] = parsed
    if excel_serial:
        todo = out.isna()
        if todo.any():
            out[todo] = _excel_serials(text[todo])
    return out


def parse_dates(
    s: Any,
    formats: list[str] | None = None,
    *,
    excel_serial: bool = False,
    two_digit_years: str = "past",
    reference_date: dt.date | None = None,
) -> Standardised:
    """Parse a column of dates; ``value`` is ``datetime64[ns]`` at midnight (cast to date32).

    ``formats`` are strptime formats tried in order, each on the rows still unparsed
    (``None`` -> ISO 8601 only, ``"ISO8601"`` may also appear in the list). With
    ``excel_serial`` True, numbers and numeric strings left over are read as Excel
    1900-system serials. Two-digit years (``%y``) follow ``two_digit_years="past"``: the
    century that puts the date on or before ``reference_date`` (pass the extraction date so
    results never depend on the day the code runs); without ``reference_date``, the 2000-pivot
    rule ``yy <= current yy -> 20yy else 19yy``. Reason for invalid rows: ``unparseable_date``.

    >>> parse_dates(pd.Series(["03/04/09"]), ["%d/%m/%y"], reference_date=dt.date(2026, 1, 1)).value[0]
    Timestamp('2009-04-03 00:00:00')
    """
    return _parse(s, formats, excel_serial, two_digit_years, reference_date,
                  keep_time=False, reason="unparseable_date")


def parse_datetimes(
    s: Any,
    formats: list[str] | None = None,
    *,
    excel_serial: bool = False,
    two_digit_years: str = "past",
    reference_date: dt.date | None = None,
) -> Standardised:
    """Like :func:`parse_dates` but keeps the time of day (floored to whole seconds, the
    canonical ``timestamp[s]``). Zone-aware values become Europe/London local time.
    Reason for invalid rows: ``unparseable_datetime``."""
    return _parse(s, formats, excel_serial, two_digit_years, reference_date,
                  keep_time=True, reason="unparseable_datetime")
