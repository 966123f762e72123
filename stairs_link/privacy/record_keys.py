"""Pseudonymised record keys for evaluation: ground truth (which holds plain record keys)
mapped onto the record keys that ``adapt --pseudonymise`` writes, so a pseudonymised run can
be scored. Only whoever holds the key can do this (it is the same keyed token)."""

from __future__ import annotations

import pandas as pd

from stairs_link.errors import PrivacyError
from stairs_link.privacy.pseudonymise import PrivacyParams
from stairs_link.privacy.tokens import keyed_token


def pseudonymised_record_keys(record_keys: pd.Series, key: bytes, params: PrivacyParams | None = None) -> pd.Series:
    """``site:system:local`` -> ``site:system:<token of the whole plain key>``, as
    :func:`stairs_link.privacy.pseudonymise_frame` writes them (same index, nulls kept)."""
    params = params or PrivacyParams()
    text = record_keys.astype("string")
    parts = text.str.split(":", n=2, expand=True)
    if parts.shape[1] < 3 or (text.notna() & parts[2].isna()).any():
        bad = text.notna() & (parts[2].isna() if parts.shape[1] >= 3 else True)
        row = int(bad.to_numpy().nonzero()[0][0]) + 1
        raise PrivacyError("record key is not site_id:source_system:local_id", reason="bad_record_key",
                           row=row, column="record_key", fix="pass record keys as written by `stairs-link adapt`")
    token = keyed_token(text, key, "record_key", length=params.token_length)
    return parts[0] + ":" + parts[1] + ":" + token


__all__ = ["pseudonymised_record_keys"]
