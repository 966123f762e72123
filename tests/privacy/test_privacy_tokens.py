"""Keyed tokens: determinism, domain separation, cross-site consistency, cross-key unlinkability."""

from __future__ import annotations

import hashlib
import re

import pandas as pd
import pytest

from stairs_link.errors import PrivacyError
from stairs_link.privacy import keyed_token

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))


def test_tokens_are_hex_fixed_length_and_nulls_stay_null() -> None:
    s = pd.Series(["9434765919", None, "9434765919", "H801200001001"], index=[7, 8, 9, 10])
    out = keyed_token(s, KEY_A, "nhs_number")
    assert out.index.tolist() == [7, 8, 9, 10]
    assert pd.isna(out.iloc[1])
    assert out.iloc[0] == out.iloc[2] != out.iloc[3]
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) for t in out.dropna())
    assert len(keyed_token(s, KEY_A, "nhs_number", length=64).iloc[0]) == 64


def test_token_is_not_an_unkeyed_hash() -> None:
    token = keyed_token(pd.Series(["9434765919"]), KEY_A, "nhs_number").iloc[0]
    assert token != hashlib.sha256(b"9434765919").hexdigest()[:32]


def test_domain_separation() -> None:
    s = pd.Series(["9434765919"])
    assert keyed_token(s, KEY_A, "nhs_number").iloc[0] != keyed_token(s, KEY_A, "local_id").iloc[0]


def test_same_key_links_across_sites_different_key_does_not() -> None:
    site_1 = pd.Series(["9434765919", "4010232137", "9990000018", None])
    site_2 = pd.Series(["4010232137", "9434765919", "9990000026"])
    t1 = set(keyed_token(site_1, KEY_A, "nhs_number").dropna())
    t2 = set(keyed_token(site_2, KEY_A, "nhs_number").dropna())
    assert len(t1 & t2) == 2  # the two shared NHS numbers meet
    t2_other_key = set(keyed_token(site_2, KEY_B, "nhs_number").dropna())
    assert t1.isdisjoint(t2_other_key)


def test_bad_arguments() -> None:
    s = pd.Series(["1"])
    for bad_key in (b"", b"short", "not bytes"):
        with pytest.raises(PrivacyError):
            keyed_token(s, bad_key, "nhs_number")  # type: ignore[arg-type]
    with pytest.raises(PrivacyError):
        keyed_token(s, KEY_A, "NHS Number")
    with pytest.raises(PrivacyError):
        keyed_token(s, KEY_A, "nhs_number", length=8)


def test_numeric_and_empty_input() -> None:
    assert keyed_token(pd.Series([], dtype=object), KEY_A, "x").empty
    numeric = keyed_token(pd.Series([12, 12]), KEY_A, "local_id")
    assert numeric.iloc[0] == keyed_token(pd.Series(["12"]), KEY_A, "local_id").iloc[0]


@pytest.mark.parametrize("key_len", [16, 32, 64, 65, 100])
def test_fast_hmac_matches_standard_library(key_len: int) -> None:
    import hmac

    from stairs_link.privacy.tokens import hmac_sha256_many

    key = bytes((7 * i + 3) % 256 for i in range(key_len))
    messages = [b"", b"9434765919", "José".encode(), b"x" * 200]
    expected = b"".join(hmac.digest(key, m, "sha256") for m in messages)
    assert hmac_sha256_many(key, messages) == expected
