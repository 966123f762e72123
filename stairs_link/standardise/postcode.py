"""UK postcodes: normalised to ``OUTWARD INWARD`` and checked for shape.

Shapes (outward + inward): A9 9AA, A99 9AA, A9A 9AA, AA9 9AA, AA99 9AA, AA9A 9AA, and the
special GIR 0AA (ONS / Royal Mail "Postcode Address File" conventions; see
../shared/domain/README.md). Only the format is checked: whether a postcode exists needs the
ONS Postcode Directory, which stairs-link does not ship.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stairs_link.standardise._common import Standardised, arrow_of, as_series, compact, finish, from_arrow

_POSTCODE_RE = r"^(?:[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}|GIR0AA)$"


def _canonical(raw: pa.Array) -> pa.Array:
    clean = compact(raw)  # upper case, every space removed
    shaped = pc.fill_null(pc.match_substring_regex(clean, _POSTCODE_RE), False)
    spaced = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(clean, 0, -3), pc.utf8_slice_codeunits(clean, -3), " "
    )
    return pc.if_else(shaped, spaced, pa.scalar(None, pa.string()))


def postcode(s: Any) -> Standardised:
    """UK postcode -> upper case with one space before the inward code (``"sw1a1aa"`` ->
    ``"SW1A 1AA"``), shape-checked. Reason for invalid rows: ``invalid_postcode``."""
    s = as_series(s)
    raw = arrow_of(s)
    return finish(_canonical(raw), raw, s.index, "invalid_postcode")


def postcode_outward(s: Any) -> pd.Series:
    """Outward code (district) of a postcode, raw or canonical: ``"SW1A 1AA"`` -> ``"SW1A"``.
    Null where the postcode is blank or invalid."""
    s = as_series(s)
    canonical = _canonical(arrow_of(s))
    return from_arrow(pc.utf8_slice_codeunits(canonical, 0, -4), s.index)
