"""Kind ``date``: exact / day-month swap / one-digit typo / one day, month or year off."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from stairs_link.linkage.comparisons.base import Comparison, ComparisonKind, _assign, register

if TYPE_CHECKING:
    from stairs_link.linkage.prepare import Features


def date_levels(comp: Comparison) -> list[str]:
    """exact > day-month swap > one-digit typo > one day, month or year off."""
    return ["else", "one_unit_off", "one_digit", "day_month_swap", "exact"]


def _digits_differing(x: np.ndarray, y: np.ndarray, width: int = 8) -> np.ndarray:
    diff = np.zeros(len(x), dtype=np.int8)
    for k in range(width):
        p = 10 ** k
        diff += ((x // p) % 10 != (y // p) % 10)
    return diff


def compare_date(comp: Comparison, feats: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    parts = feats.dates(comp.column)
    missing = ~(parts["valid"][i] & parts["valid"][j])
    yl, yr = parts["year"][i], parts["year"][j]
    ml, mr = parts["month"][i], parts["month"][j]
    dl, dr = parts["day"][i], parts["day"][j]
    same_y, same_m, same_d = yl == yr, ml == mr, dl == dr
    exact = same_y & same_m & same_d
    swap = same_y & (ml == dr) & (dl == mr) & ~exact
    # A one-digit difference lies within one of year, month, day: only those pairs are checked.
    one_part = (same_y.astype(np.int8) + same_m + same_d) == 2
    one_digit = np.zeros(len(yl), dtype=bool)
    sel = np.flatnonzero(one_part)
    ymd_l = yl[sel].astype(np.int64) * 10000 + ml[sel] * 100 + dl[sel]
    ymd_r = yr[sel].astype(np.int64) * 10000 + mr[sel] * 100 + dr[sel]
    one_digit[sel] = _digits_differing(ymd_l, ymd_r) == 1
    off = ((same_m & same_d & (np.abs(yl - yr) == 1))
           | (same_y & same_d & (np.abs(ml - mr) == 1))
           | (same_y & same_m & (np.abs(dl - dr) == 1))
           | (np.abs(parts["days"][i] - parts["days"][j]) == 1))
    conditions = {"exact": exact, "day_month_swap": swap, "one_digit": one_digit, "one_unit_off": off}
    return _assign(comp.levels(), conditions, missing)


register(ComparisonKind("date", date_levels, compare_date, role="name_date", term_frequency=False))
