"""Small-number suppression for published counts.

The NHS Digital rule used for Hospital Episode Statistics since 2018 (and in the domain
README): 0 stays 0; 1 to ``threshold`` (7) becomes ``*``; every other count is rounded to the
nearest ``rounding`` (5), halves rounded up. Rounding the larger counts too stops a
suppressed cell being recovered by subtracting published totals. Trusted research
environments often use ``threshold=10``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stairs_link.errors import PrivacyError

SUPPRESSED = "*"


def _check(threshold: int, rounding: int) -> None:
    if threshold < 0 or rounding < 1:
        raise PrivacyError(f"bad suppression settings (threshold={threshold}, rounding={rounding})",
                           reason="bad_disclosure_params", fix="use threshold >= 0 and rounding >= 1")


def suppress_count(n: int, threshold: int = 7, rounding: int = 5) -> str:
    """One count as it may be published: ``0 -> "0"``, ``3 -> "*"``, ``12 -> "10"``, ``13 -> "15"``."""
    return str(suppress_counts(np.array([n]), threshold, rounding)[0])


def suppress_counts(counts: Any, threshold: int = 7, rounding: int = 5) -> Any:
    """Vectorised :func:`suppress_count`. A Series gives a string Series (same index, null
    stays null); an array or list gives an object array of str."""
    _check(threshold, rounding)
    is_series = isinstance(counts, pd.Series)
    values = pd.Series(counts) if not is_series else counts
    numeric = pd.to_numeric(values, errors="coerce")
    bad = (values.notna() & numeric.isna()) | (numeric < 0) | (numeric.notna() & (numeric % 1 != 0))
    if bad.any():
        first = values[bad].index[0]
        row = int(first) if isinstance(first, (int, np.integer)) else None
        raise PrivacyError("counts must be whole numbers >= 0", reason="bad_count", row=row,
                           fix="pass raw counts, before any rounding or formatting")
    n = numeric.to_numpy(dtype="float64", na_value=np.nan)
    rounded = np.floor(n / rounding + 0.5) * rounding
    out = np.where(
        n == 0, "0",
        np.where(n <= threshold, SUPPRESSED, np.char.mod("%d", np.nan_to_num(rounded).astype(np.int64))),
    ).astype(object)
    out[np.isnan(n)] = None
    if is_series:
        return pd.Series(out, index=counts.index, dtype="string")
    return out
