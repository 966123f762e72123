"""Pure, vectorised standardisers: names, dates, identifiers, postcodes.

Every function takes a pandas Series (string or object dtype, nulls allowed; list-likes are
accepted too) and keeps its index. Validators return :class:`Standardised` ``(value, invalid,
reason)`` so a caller can null the bad values AND report their raw form (issue 2).
"""

from __future__ import annotations

from stairs_link.standardise._common import Standardised
from stairs_link.standardise.dates import as_seconds, parse_dates, parse_datetimes
from stairs_link.standardise.identifiers import (
    PNC_ALPHABET,
    UPN_ALPHABET,
    UPN_UNKNOWN_CODES,
    cro_check_letter,
    cro_number,
    nhs_check_digit,
    nhs_number,
    pnc_check_letter,
    pnc_id,
    prison_number,
    record_key,
    upn,
    upn_check_letter,
    upn_permanent,
    upn_temporary,
    upn_unknown_mask,
    valid_nhs_number_mask,
)
from stairs_link.standardise.postcode import postcode, postcode_outward
from stairs_link.standardise.text import SPLIT_STYLES, fold_name, split_full_name, tidy_text

__all__ = [
    "PNC_ALPHABET",
    "SPLIT_STYLES",
    "UPN_ALPHABET",
    "UPN_UNKNOWN_CODES",
    "Standardised",
    "cro_check_letter",
    "cro_number",
    "fold_name",
    "nhs_check_digit",
    "nhs_number",
    "as_seconds",
    "parse_dates",
    "parse_datetimes",
    "pnc_check_letter",
    "pnc_id",
    "postcode",
    "postcode_outward",
    "prison_number",
    "record_key",
    "split_full_name",
    "tidy_text",
    "upn",
    "upn_check_letter",
    "upn_permanent",
    "upn_temporary",
    "upn_unknown_mask",
    "valid_nhs_number_mask",
]
