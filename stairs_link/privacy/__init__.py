"""Privacy primitives: secret keys, keyed tokens, Bloom-filter encodings, disclosure control.

See docs/privacy.md for the threat model and what each piece protects against.
"""

from __future__ import annotations

from stairs_link.privacy.bloom import (
    DATE_PARAMS,
    NAME_PARAMS,
    POSTCODE_PARAMS,
    BloomParams,
    bloom_encode,
    bloom_matrix,
    dice_similarity,
    ngrams,
)
from stairs_link.privacy.disclosure import suppress_count, suppress_counts
from stairs_link.privacy.keys import KeyFilePermissionWarning, SecretKey, load_key, new_key_file
from stairs_link.privacy.tokens import TOKEN_LENGTH, domain_key, keyed_token

__all__ = [
    "DATE_PARAMS",
    "NAME_PARAMS",
    "POSTCODE_PARAMS",
    "TOKEN_LENGTH",
    "BloomParams",
    "KeyFilePermissionWarning",
    "SecretKey",
    "bloom_encode",
    "bloom_matrix",
    "dice_similarity",
    "domain_key",
    "keyed_token",
    "load_key",
    "new_key_file",
    "ngrams",
    "suppress_count",
    "suppress_counts",
]
