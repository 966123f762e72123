"""Dates and date-times as exports write them: explicit formats, Excel serial numbers and
two-digit years resolved sensibly for children.

Each format is applied to the whole column at once (``pd.to_datetime(format=...,
errors="coerce")``), each later format only to the rows still unparsed, so the cost is one
vectorised pass per format, never a per-row loop.

Results are ``datetime64[s]``, never nanoseconds: a nanosecond timestamp ends in 2262, and
exports write 31/12/9999 (Excel serial 2958465) for "still open". Values pandas cannot hold
in nanoseconds are parsed again with pyarrow's ``strptime`` (seconds, years 1-9999), so the
whole range up to 9999-12-31 reads as written, never wrapped round to a wrong date.
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
_EXCEL_EARLY_BASE = np.datetime64("1899-12-31", "s")
_EXCEL_BASE = np.datetime64("1899-12-30", "s")
UNIT = "datetime64[s]"  # every parsed value: seconds reach 9999-12-31, nanoseconds stop in 2262
NAT = np.datetime64("NaT", "s")
# what ISO8601 means for the pyarrow retry of values out of pandas' nanosecond range
_NS_FIRST = pd.Timestamp.min.ceil("D").to_pydatetime()
_NS_LAST = pd.Timestamp.max.floor("D").to_pydatetime()
_ISO_RETRY = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")

_OFFSET_RE = r"(?:Z|[+-]\d{2}:?\d{2})$"
_NUMBER_RE = r"\d+(?:\.\d+)?"


def as_seconds(values: Any) -> pd.Series:
    """Staged dates or date-times (``datetime.date`` objects from date32, datetime64 of any
    unit) as ``datetime64[s]``: every later stage uses this instead of ``pd.to_datetime``,
    whose nanosecond result overflows on 9999-12-31."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("Europe/London").dt.tz_localize(None)
    return series.astype(UNIT)


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
    out = pd.Series(NAT, index=text.index, dtype=UNIT)
    if (~aware).any():
        out[~aware] = pd.to_datetime(values[~aware], format=fmt_arg, errors="coerce").astype(UNIT)
        retry = (~aware) & out.isna() & text.notna()
        if retry.any() and "%z" not in fmt and "%Z" not in fmt:
            out[retry] = _strptime_seconds(text[retry], _ISO_RETRY if fmt == ISO_8601 else (fmt,))
    if aware.any():
        parsed = pd.to_datetime(values[aware], format=fmt_arg, errors="coerce", utc=True)
        out[aware] = parsed.dt.tz_convert("Europe/London").dt.tz_localize(None).astype(UNIT)
    return out


def _strptime_seconds(text: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    """pyarrow's vectorised strptime at second resolution (years 1-9999), for the values
    pandas' nanosecond parser cannot hold; each format on the values still unparsed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = pd.Series(NAT, index=text.index, dtype=UNIT)
    for fmt in formats:
        todo = out.isna()
        if not todo.any():
            break
        array = pa.array(text[todo].astype(object), type=pa.string(), from_pandas=True)
        parsed = pc.strptime(array, format=fmt, unit="s", error_is_null=True)
        # pyarrow rolls impossible days over (2009-02-30 -> 03-02) where pandas refuses
        # them: keep only values outside pandas' range that print back as written.
        wide = pc.or_(pc.less(parsed, _NS_FIRST), pc.greater(parsed, _NS_LAST))
        same = pc.equal(pc.strftime(parsed, format=fmt), pc.utf8_trim_whitespace(array))
        parsed = pc.if_else(pc.and_(wide, same), parsed, pa.scalar(None, parsed.type))
        out[todo] = pd.Series(parsed.to_numpy(zero_copy_only=False).astype(UNIT), index=text[todo].index)
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
    # two-digit years land in 1900-2099: inside the nanosecond range, then held as seconds
    resolved = pd.to_datetime(parts, errors="coerce").astype(UNIT)  # 29 Feb in a non-leap century -> NaT
    if reference_date is not None:
        later = resolved > pd.Timestamp(reference_date) + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
        if later.any():
            parts.loc[later, "year"] -= 100
            resolved[later] = pd.to_datetime(parts[later], errors="coerce").astype(UNIT)
    out = parsed.copy()
    out[ok] = resolved
    return out


def _excel_serials(text: pd.Series) -> pd.Series:
    """Numeric strings as Excel 1900-system serials (fractions are the time of day), in
    seconds: serial 2958465 is 9999-12-31, never an overflowed 1816 date."""
    out = pd.Series(NAT, index=text.index, dtype=UNIT)
    numeric = text.str.fullmatch(_NUMBER_RE).fillna(False).astype(bool)
    if not numeric.any():
        return out
    serial = pd.to_numeric(text[numeric].astype(object)).to_numpy(dtype="float64")
    days = np.floor(serial)
    usable = (days >= 1) & (days <= _EXCEL_MAX_SERIAL) & (days != 60)
    base = np.where(days < 60, _EXCEL_EARLY_BASE, _EXCEL_BASE)
    seconds = np.round((serial - days) * 86400)
    days = np.where(usable, days, 0).astype("int64")  # unusable serials never reach the arithmetic
    stamps = base + days.astype("timedelta64[D]") + seconds.astype("int64").astype("timedelta64[s]")
    values = pd.Series(np.where(usable, stamps, NAT), index=text[numeric].index)
    out[numeric] = values.astype(UNIT)
    return out


def _split_datetime_objects(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Spreadsheet readers hand over real date/datetime objects mixed with text; convert
    those directly and return (already parsed, remaining raw values)."""
    parsed = pd.Series(NAT, index=s.index, dtype=UNIT)
    if s.dtype != object:
        return parsed, s
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("string", "empty", "integer", "floating", "mixed-integer-float", "decimal"):
        return parsed, s
    # Mixed object column (xlsx): type test per element, but only on object columns, which
    # come from spreadsheet readers and are small.
    is_dt = s.map(lambda v: isinstance(v, (dt.date, np.datetime64))).astype(bool)
    if is_dt.any():
        # Spreadsheet cells carry no time zone: read them as wall-clock values (numpy at
        # second resolution, so 9999-12-31 stays itself).
        parsed[is_dt] = s[is_dt].map(_object_seconds).astype(UNIT)
        s = s.where(~is_dt, None)
    return parsed, s


def _object_seconds(value: dt.date) -> np.datetime64:
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=None)
    return np.datetime64(value, "s")


def _parse(
    s: Any, formats: list[str] | None, excel_serial: bool, two_digit_years: str,
    reference_date: dt.date | None, *, keep_time: bool, reason: str,
) -> Standardised:
    _check_policy(two_digit_years)
    s = as_series(s)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        value = s.dt.tz_convert("Europe/London").dt.tz_localize(None) if s.dt.tz else s
        value = value.astype(UNIT)
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
    values = parsed.to_numpy(dtype=UNIT) if len(parsed) else np.array([NAT])
    from_text = np.where(codes >= 0, values[np.maximum(codes, 0)], NAT)
    out = out.where(out.notna(), pd.Series(from_text, index=s.index, dtype=UNIT))
    out = out.dt.floor("s") if keep_time else out.dt.normalize()
    invalid = pd.Series(present & out.isna().to_numpy(), index=s.index, dtype=bool)
    return Standardised(out, invalid, reason)


def _parse_distinct(text: pd.Series, formats: list[str] | None, excel_serial: bool,
                    reference_date: dt.date | None) -> pd.Series:
    """Formats in order, each on the values still unparsed, then Excel serials."""
    out = pd.Series(NAT, index=text.index, dtype=UNIT)
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
    """Parse a column of dates; ``value`` is ``datetime64[s]`` at midnight (cast to date32).

    ``formats`` are strptime formats tried in order, each on the rows still unparsed
    (``None`` -> ISO 8601 only, ``"ISO8601"`` may also appear in the list). With
    ``excel_serial`` True, numbers and numeric strings left over are read as Excel
    1900-system serials. Two-digit years (``%y``) follow ``two_digit_years="past"``: the
    century that puts the date on or before ``reference_date`` (pass the extraction date so
    results never depend on the day the code runs); without ``reference_date``, the 2000-pivot
    rule ``yy <= current yy -> 20yy else 19yy``. Reason for invalid rows: ``unparseable_date``.

    >>> parse_dates(pd.Series(["03/04/09"]), ["%d/%m/%y"], reference_date=dt.date(2026, 1, 1)).value[0]
    Timestamp('2009-04-03 00:00:00')
    >>> parse_dates(pd.Series(["2958465"]), [], excel_serial=True).value[0]
    Timestamp('9999-12-31 00:00:00')
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
