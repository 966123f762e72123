"""Pseudonymise staged canonical tables at the site, before anything leaves it.

* Direct identifiers (NHS number, UPN, PNC ID, prison number, LA child id, local ids, episode
  ids) become keyed tokens (:mod:`stairs_link.privacy.tokens`).
* ``record_key`` becomes ``<site_id>:<source_system>:<token of the old record key>`` in every
  table, so event tables still join to their person rows and later stages still see the site.
* Names, date of birth and postcode become Bloom-filter encodings in new binary columns
  ``given_name_bf``, ``family_name_bf``, ``dob_bf``, ``postcode_bf``; the plaintext columns
  (and ``middle_names``) are nulled. ``year_of_birth`` is kept, and ``age_at_admission`` (whole
  years) is added to ``episode`` when its person rows are present.
* ``rejects.raw_value`` is nulled (it holds the plaintext of the values that failed).

Given and family names share one filter space ("name") on purpose, so the linker can still
detect a given/family swap by comparing across the two columns; dates and postcodes each
have their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from stairs_link.privacy.bloom import DATE_PARAMS, NAME_PARAMS, POSTCODE_PARAMS, BloomParams, bloom_encode
from stairs_link.privacy.keys import SecretKey
from stairs_link.privacy.tokens import TOKEN_LENGTH, keyed_token

SCHEME = "stairs-link-pseudonymised-v1"

# column -> token domain (the column name itself: one subkey per column)
TOKEN_COLUMNS = ("nhs_number", "upn", "pnc_id", "prison_number", "la_child_id", "local_id", "episode_id")
NULLED_COLUMNS = ("given_name", "middle_names", "family_name", "date_of_birth", "postcode")
BLOOM_COLUMNS = {  # new column -> (source column, filter space)
    "given_name_bf": ("given_name", "name"),
    "family_name_bf": ("family_name", "name"),
    "dob_bf": ("date_of_birth", "date_of_birth"),
    "postcode_bf": ("postcode", "postcode"),
}


@dataclass(frozen=True)
class PrivacyParams:
    """Everything that shapes the pseudonymised output (and nothing secret)."""

    token_length: int = TOKEN_LENGTH
    name: BloomParams = field(default=NAME_PARAMS)
    date_of_birth: BloomParams = field(default=DATE_PARAMS)
    postcode: BloomParams = field(default=POSTCODE_PARAMS)

    def bloom_for(self, space: str) -> BloomParams:
        return {"name": self.name, "date_of_birth": self.date_of_birth, "postcode": self.postcode}[space]

    def to_dict(self) -> dict[str, Any]:
        return {
            "token_length": self.token_length,
            "bloom": {"name": self.name.to_dict(), "date_of_birth": self.date_of_birth.to_dict(),
                      "postcode": self.postcode.to_dict()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrivacyParams:
        bloom = data.get("bloom", {})
        return cls(
            token_length=int(data.get("token_length", TOKEN_LENGTH)),
            name=BloomParams.from_dict(bloom["name"]) if "name" in bloom else NAME_PARAMS,
            date_of_birth=BloomParams.from_dict(bloom["date_of_birth"]) if "date_of_birth" in bloom else DATE_PARAMS,
            postcode=BloomParams.from_dict(bloom["postcode"]) if "postcode" in bloom else POSTCODE_PARAMS,
        )


def _new_record_key(frame: pd.DataFrame, key: bytes, length: int) -> pd.Series:
    token = keyed_token(frame["record_key"], key, "record_key", length=length)
    return (frame["site_id"].astype("string") + ":" + frame["source_system"].astype("string") + ":" + token)


def _yyyymmdd(dates: pd.Series) -> pd.Series:
    """Dates -> ``YYYYMMDD`` text with Arrow's strftime (pandas' is a per-row loop)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.strftime(pa.array(dates.to_numpy(dtype="datetime64[s]"), from_pandas=True), format="%Y%m%d")
    return pd.Series(pd.arrays.ArrowStringArray(text), index=dates.index)


def _pseudonymise_person(frame: pd.DataFrame, key: bytes, params: PrivacyParams) -> pd.DataFrame:
    from stairs_link.standardise import fold_name

    out = frame.copy()
    dob = pd.to_datetime(frame["date_of_birth"], errors="coerce") if "date_of_birth" in frame else None
    for new, (source, space) in BLOOM_COLUMNS.items():
        if source not in frame:
            continue
        if source == "date_of_birth":
            text = _yyyymmdd(dob)
        elif source == "postcode":
            text = frame[source].astype("string")
        else:
            text = fold_name(frame[source])
        out[new] = bloom_encode(text, key, space, params.bloom_for(space))
    if dob is not None:
        out["year_of_birth"] = dob.dt.year.astype("Int32")
    for column in NULLED_COLUMNS:
        if column in out:
            out[column] = pd.Series([None] * len(out), index=out.index, dtype=object if column == "date_of_birth" else "string")
    return out


def pseudonymise_tables(
    tables: dict[str, pd.DataFrame], key: bytes, params: PrivacyParams | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Pseudonymised copies of staged canonical tables, and the manifest entry describing them.

    ``tables`` maps table name (``person``, ``episode``, ..., optionally ``rejects``) to its
    frame; the input frames are not modified. The manifest entry records the scheme, the
    parameters and the key's public fingerprint (``key_id``), never the key.
    """
    params = params or PrivacyParams()
    length = params.token_length
    out: dict[str, pd.DataFrame] = {}
    tokenised: set[str] = set()
    for name, frame in tables.items():
        if name == "rejects":
            rejects = frame.copy()
            if "raw_value" in rejects:
                rejects["raw_value"] = pd.Series([None] * len(rejects), index=rejects.index, dtype="string")
            out[name] = rejects
            continue
        new = _pseudonymise_person(frame, key, params) if name == "person" else frame.copy()
        for column in TOKEN_COLUMNS:
            if column in new:
                new[column] = keyed_token(frame[column], key, column, length=length)
                tokenised.add(column)
        if {"record_key", "site_id", "source_system"} <= set(frame.columns):
            new["record_key"] = _new_record_key(frame, key, length)
            tokenised.add("record_key")
        out[name] = new
    if "episode" in tables and "person" in tables and "date_of_birth" in tables["person"]:
        person = tables["person"]
        dob = pd.Series(pd.to_datetime(person["date_of_birth"], errors="coerce").to_numpy(),
                        index=person["record_key"].to_numpy())
        dob = dob[~dob.index.duplicated()]
        episode = tables["episode"]
        born = pd.to_datetime(episode["record_key"].map(dob), errors="coerce")
        admitted = pd.to_datetime(episode["admission_date"], errors="coerce")
        years = admitted.dt.year - born.dt.year
        before_birthday = (admitted.dt.month < born.dt.month) | (
            (admitted.dt.month == born.dt.month) & (admitted.dt.day < born.dt.day))
        out["episode"]["age_at_admission"] = (years - before_birthday.astype("Int64")).astype("Int32").to_numpy()
    manifest = {
        "scheme": SCHEME,
        "key_id": SecretKey(key).key_id,
        "token": {"algorithm": "HMAC-SHA256, per-column subkey", "length": length,
                  "columns": sorted(tokenised)},
        "bloom_columns": {new: {"source": src, "space": space} for new, (src, space) in BLOOM_COLUMNS.items()},
        "nulled_columns": list(NULLED_COLUMNS) + (["rejects.raw_value"] if "rejects" in tables else []),
        "derived_columns": ["year_of_birth"] + (["episode.age_at_admission"] if "episode" in tables else []),
        "params": params.to_dict(),
    }
    return out, manifest


__all__ = ["BLOOM_COLUMNS", "NULLED_COLUMNS", "SCHEME", "TOKEN_COLUMNS", "PrivacyParams", "pseudonymise_tables"]
