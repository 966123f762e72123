"""Keyed tokens for direct identifiers (NHS number, UPN, PNC ID, local ids, record keys).

``token = hex(HMAC-SHA256(K_domain, value))[:length]`` with ``K_domain = HMAC-SHA256(K,
"stairs-link/token/v1/" + domain)``. Without the key a token cannot be reversed by trying
every possible NHS number (an unkeyed hash of a 10-digit number falls to brute force in
seconds); the per-domain subkey makes the same value in two fields (an NHS number and a
local id that happens to equal it) give unrelated tokens.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

import numpy as np
import pandas as pd

from stairs_link.errors import PrivacyError

TOKEN_LENGTH = 32  # hex characters = 128 bits: collisions negligible for any realistic table
_DOMAIN_RE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < 16:
        raise PrivacyError("pseudonymisation key missing or too short", reason="bad_key",
                           fix="load the key with stairs_link.privacy.load_key(KEYFILE)")


def domain_key(key: bytes, purpose: str, domain: str) -> bytes:
    """Subkey for one purpose (``token``, ``bloom``) and one field: HMAC-SHA256(key, label)."""
    _check_key(key)
    if not _DOMAIN_RE.match(domain):
        raise PrivacyError(f"invalid domain label '{domain}'", reason="bad_domain",
                           fix="use lower-case letters, digits and _ . : - (e.g. 'nhs_number')")
    return hmac.digest(key, f"stairs-link/{purpose}/v1/{domain}".encode("utf-8"), "sha256")


def keyed_token(s: Any, key: bytes, domain: str, *, length: int = TOKEN_LENGTH) -> pd.Series:
    """HMAC-SHA256 tokens (hex, ``length`` characters) of a column; nulls stay null.

    Values are hashed as their UTF-8 text, so standardise them first (``9434765919``, not
    ``943 476 5919``). One HMAC per distinct value, mapped back to the rows.
    """
    if not 16 <= length <= 64:
        raise PrivacyError(f"token length {length} out of range", reason="bad_token_length",
                           fix="use 16 to 64 hex characters (default 32)")
    subkey = domain_key(key, "token", domain)
    s = s if isinstance(s, pd.Series) else pd.Series(s)
    text = s.astype("string")
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    digests = np.array(
        [hmac.digest(subkey, u.encode("utf-8"), "sha256").hex()[:length] for u in uniques.tolist()]
        + [None],
        dtype=object,
    )
    return pd.Series(digests[codes], index=s.index, dtype="string[pyarrow]")  # -1 -> last = None


__all__ = ["TOKEN_LENGTH", "domain_key", "keyed_token"]
