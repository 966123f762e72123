"""Named value maps a mapping can use by name (``codes: dfe_to_nhs_ethnicity``).

Each map turns a source system's codes into a canonical code list's codes. Keys are matched
after stripping whitespace and (unless ``ignore_case: false``) case-insensitively.
Sources: shared/domain/README.md (NHS Data Dictionary PERSON STATED GENDER CODE and ETHNIC
CATEGORY; DfE census ethnicity codes, mapped in stairs_link.schema.codes).
"""

from __future__ import annotations

from stairs_link.schema.codes import DFE_TO_NHS_ETHNICITY, ETHNICITY

BUILTIN_MAPS: dict[str, tuple[str, dict[str, str]]] = {
    # name: (canonical code list it produces, map)
    "dfe_to_nhs_ethnicity": ("ethnicity", dict(DFE_TO_NHS_ETHNICITY)),
    "nhs_ethnicity": ("ethnicity", {code: code for code in ETHNICITY}),
    # NHS Data Dictionary PERSON STATED GENDER CODE: 1 male, 2 female, 9 indeterminate, X not known.
    "nhs_gender_code": ("sex", {"1": "male", "2": "female", "9": "indeterminate", "X": "unknown", "0": "unknown"}),
    "sex_letters": (
        "sex",
        {"M": "male", "F": "female", "I": "indeterminate", "U": "unknown", "X": "unknown",
         "MALE": "male", "FEMALE": "female", "UNKNOWN": "unknown", "NOT KNOWN": "unknown"},
    ),
}
