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
from stairs_link.privacy.pseudonymise import (
    PrivacyParams,
    dob_by_record_key,
    pseudonymisation_manifest,
    pseudonymise_frame,
    pseudonymise_tables,
)
from stairs_link.privacy.staged import pseudonymise_staged
from stairs_link.privacy.tokens import TOKEN_LENGTH, domain_key, hmac_sha256_many, keyed_token

__all__ = [
    "DATE_PARAMS",
    "NAME_PARAMS",
    "POSTCODE_PARAMS",
    "TOKEN_LENGTH",
    "BloomParams",
    "KeyFilePermissionWarning",
    "PrivacyParams",
    "SecretKey",
    "bloom_encode",
    "bloom_matrix",
    "dice_similarity",
    "dob_by_record_key",
    "domain_key",
    "hmac_sha256_many",
    "keyed_token",
    "load_key",
    "new_key_file",
    "ngrams",
    "pseudonymisation_manifest",
    "pseudonymise_frame",
    "pseudonymise_staged",
    "pseudonymise_tables",
    "suppress_count",
    "suppress_counts",
]
