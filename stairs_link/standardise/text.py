"""Names: the recorded form (whitespace tidied) and the matching form (folded), and splitting
a full-name field into given, middle and family names.

All work is done by Arrow compute kernels (utf8proc normalisation, RE2 regexes) on the whole
column at once; no per-row Python.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stairs_link.errors import StairsLinkError
from stairs_link.standardise._common import arrow_of, as_series, from_arrow, on_distinct, squeeze

# Letters that Unicode NFKD does not decompose into an ASCII base letter + marks, with their
# conventional ASCII transliteration (as in ICAO 9303 machine-readable zones and most
# record-linkage name cleaners). Other scripts (Arabic, Cyrillic, CJK, ...) are kept as
# upper-cased letters rather than destroyed, so a name is never lost by folding.
_LETTER_FOLDS = {
    "ß": "SS", "ẞ": "SS", "Ø": "O", "ø": "O", "Ł": "L", "ł": "L", "Đ": "D", "đ": "D",
    "Æ": "AE", "æ": "AE", "Œ": "OE", "œ": "OE", "Þ": "TH", "þ": "TH", "Ð": "D", "ð": "D",
    "ı": "I", "Ħ": "H", "ħ": "H",
}

_LETTER_FOLDS_RE = "[" + "".join(_LETTER_FOLDS) + "]"

# Name particles that belong to the family name ("van der Berg", "De La Cruz", "bin Said").
_PARTICLES = (
    "van|von|der|den|ter|ten|de|del|della|dei|degli|di|da|das|dos|do|du|la|le|los|las|"
    "bin|binti|bint|ibn|ben|al|el|abu|st|ap|ní|nic|mac|mc"
)

# Courtesy titles some systems put in the name field ("Master" is still used for boys in NHS
# records); removed before splitting so they never become a given name.
_TITLE_RE = r"(?i)(^|,) ?(?:mr|mrs|miss|ms|mx|mstr|master|dr)\.? "

SPLIT_STYLES = ("family_comma_given", "given_family", "family_given")


def tidy_text(s: Any) -> pd.Series:
    """Recorded form: strip, collapse internal whitespace to one space, blank -> null.

    ``"  Mary   Ann "`` -> ``"Mary Ann"``. Case, accents and punctuation are kept as recorded.
    """
    s = as_series(s)
    return from_arrow(squeeze(arrow_of(s)), s.index)


def _fold(arr: pa.Array) -> pa.Array:
    arr = pc.utf8_normalize(arr, form="NFKD")
    arr = pc.replace_substring_regex(arr, r"\p{Mn}+", "")  # combining accents, after NFKD
    if pc.any(pc.match_substring_regex(arr, _LETTER_FOLDS_RE)).as_py():
        for letter, ascii_form in _LETTER_FOLDS.items():
            arr = pc.replace_substring(arr, letter, ascii_form)
    arr = pc.utf8_upper(arr)
    # Apostrophes and dots join ("O'Brien" -> OBRIEN, "St. John" -> ST JOHN);
    # hyphens, underscores, commas, slashes and brackets separate ("Smith-Jones" -> SMITH JONES).
    arr = pc.replace_substring_regex(arr, r"['\x{2018}\x{2019}\x{02BC}\x{0060}\x{00B4}.]", "")
    arr = pc.replace_substring_regex(arr, r"[\p{Pd}_,/()\[\]&+]", " ")
    arr = pc.replace_substring_regex(arr, r"[^\p{L}\s]", "")  # digits, symbols: not name content
    return squeeze(arr)


def fold_name(s: Any) -> pd.Series:
    """Matching form of a name: accents dropped, upper case, punctuation folded, blank -> null.

    ``"O'Brien"`` -> ``"OBRIEN"``, ``"José-María"`` -> ``"JOSE MARIA"``,
    ``"  smith   jones "`` -> ``"SMITH JONES"``. Latin-script names come out as ASCII; names in
    other scripts are upper-cased but kept (transliteration would guess).
    """
    s = as_series(s)
    return from_arrow(on_distinct(arrow_of(s), _fold), s.index)


def _split_pattern(style: str) -> str:
    family = rf"(?:(?:{_PARTICLES}) )*[^ ,]+"
    if style == "family_comma_given":
        return r"^(?P<family_name>[^,]+?) ?, ?(?P<given_name>[^ ,]+)(?: (?P<middle_names>[^,]+))?$"
    if style == "given_family":
        return rf"(?i)^(?P<given_name>[^ ,]+)(?: (?P<middle_names>[^,]+?))??(?: (?P<family_name>{family}))$"
    if style == "family_given":
        return rf"(?i)^(?P<family_name>{family}) (?P<given_name>[^ ,]+)(?: (?P<middle_names>[^,]+))?$"
    raise StairsLinkError(
        f"unknown name style '{style}'",
        reason="unknown_name_style",
        fix=f"use one of: {', '.join(SPLIT_STYLES)}",
    )


def split_full_name(s: Any, style: str) -> pd.DataFrame:
    """Split a full-name column into ``given_name``, ``middle_names``, ``family_name``.

    ``style`` is how the export writes names: ``"family_comma_given"`` (``"SMITH, John Paul"``),
    ``"given_family"`` (``"John Paul Smith"``) or ``"family_given"`` (``"SMITH John"``).
    Family-name particles stay with the family name (``"Anna van der Berg"`` -> family
    ``"van der Berg"``); a leading title (Mr, Mrs, Miss, Ms, Mx, Master, Dr) is dropped.
    Parts keep their recorded form (whitespace tidied). A non-blank value that does not fit
    the style (a single word, a stray comma) gives nulls and ``invalid`` True; blank or null
    gives nulls and ``invalid`` False.
    """
    s = as_series(s)
    pattern = _split_pattern(style)
    tidy = squeeze(arrow_of(s))
    # null struct where the pattern does not match
    parts = on_distinct(
        tidy, lambda a: pc.extract_regex(pc.replace_substring_regex(a, _TITLE_RE, r"\1"), pattern)
    )
    out = {}
    for name in ("given_name", "middle_names", "family_name"):
        field = pc.struct_field(parts, name)
        field = pc.if_else(pc.equal(field, ""), pa.scalar(None, pa.string()), field)
        out[name] = from_arrow(squeeze(field), s.index)
    invalid = pc.and_(pc.is_valid(tidy), pc.is_null(parts))
    out["invalid"] = pd.Series(invalid.to_numpy(zero_copy_only=False), index=s.index, dtype=bool)
    return pd.DataFrame(out, index=s.index)
