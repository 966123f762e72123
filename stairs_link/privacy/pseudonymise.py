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

from stairs_link.privacy.bloom import (
    DATE_PARAMS,
    NAME_PARAMS,
    POSTCODE_PARAMS,
    V1_DATE_PARAMS,
    V1_NAME_PARAMS,
    V1_POSTCODE_PARAMS,
    BloomParams,
    bloom_encode,
)
from stairs_link.privacy.keys import SecretKey
from stairs_link.privacy.tokens import TOKEN_LENGTH, keyed_token
from stairs_link.standardise import fold_name
from stairs_link.standardise.dates import as_seconds

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

    @property
    def encoding(self) -> dict[str, Any]:
        """The encoding scheme and its version (``{"scheme": "stairs-link-bloom", "version":
        2}``), as the manifest records it; every filter space must use the same one."""
        schemes = {p.scheme for p in (self.name, self.date_of_birth, self.postcode)}
        scheme = schemes.pop() if len(schemes) == 1 else "mixed"
        name, _, version = scheme.rpartition("-v")
        return {"scheme": name or scheme, "version": int(version) if version.isdigit() else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrivacyParams:
        bloom = data.get("bloom", {})

        def params(space: str, default: BloomParams) -> BloomParams:
            return BloomParams.from_dict(bloom[space]) if space in bloom else default

        return cls(
            token_length=int(data.get("token_length", TOKEN_LENGTH)),
            name=params("name", NAME_PARAMS),
            date_of_birth=params("date_of_birth", DATE_PARAMS),
            postcode=params("postcode", POSTCODE_PARAMS),
        )

    @classmethod
    def v1(cls) -> PrivacyParams:
        """The encoding before issue 18 (double hashing, no diffusion): pattern mining recovers
        most names from it (docs/privacy.md). For reading old data and for the attack bench."""
        return cls(name=V1_NAME_PARAMS, date_of_birth=V1_DATE_PARAMS, postcode=V1_POSTCODE_PARAMS)


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
    out = frame.copy()
    dob = as_seconds(frame["date_of_birth"]) if "date_of_birth" in frame else None
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
            dtype = object if column == "date_of_birth" else "string"
            out[column] = pd.Series([None] * len(out), index=out.index, dtype=dtype)
    return out


def dob_by_record_key(person: pd.DataFrame) -> pd.Series:
    """Date of birth indexed by the (plain) record key: what :func:`pseudonymise_frame` needs
    to add ``age_at_admission`` to episode batches. Keep it in memory only, never write it."""
    dob = pd.Series(as_seconds(person["date_of_birth"]).to_numpy(),
                    index=person["record_key"].to_numpy())
    return dob[~dob.index.duplicated()]


def _age_at_admission(episode: pd.DataFrame, dob: pd.Series) -> pd.Series:
    born = as_seconds(episode["record_key"].map(dob))
    admitted = as_seconds(episode["admission_date"])
    years = admitted.dt.year - born.dt.year
    before_birthday = (admitted.dt.month < born.dt.month) | (
        (admitted.dt.month == born.dt.month) & (admitted.dt.day < born.dt.day))
    return (years - before_birthday.astype("Int64")).astype("Int32")


def pseudonymise_frame(
    table: str, frame: pd.DataFrame, key: bytes, params: PrivacyParams | None = None,
    *, dob: pd.Series | None = None,
) -> pd.DataFrame:
    """Pseudonymised copy of one staged table, or of one batch of it (row by row, so a
    streaming adapter can call it per batch). ``table`` is the canonical table name or
    ``"rejects"``. For ``episode``, pass ``dob`` (from :func:`dob_by_record_key` on the plain
    person table) to add ``age_at_admission``."""
    params = params or PrivacyParams()
    if table == "rejects":
        out = frame.copy()
        if "raw_value" in out:
            out["raw_value"] = pd.Series([None] * len(out), index=out.index, dtype="string")
        return out
    out = _pseudonymise_person(frame, key, params) if table == "person" else frame.copy()
    if table == "episode" and dob is not None and {"record_key", "admission_date"} <= set(frame.columns):
        out["age_at_admission"] = _age_at_admission(frame, dob).to_numpy()
    for column in TOKEN_COLUMNS:
        if column in frame:
            out[column] = keyed_token(frame[column], key, column, length=params.token_length)
    if {"record_key", "site_id", "source_system"} <= set(frame.columns):
        out["record_key"] = _new_record_key(frame, key, params.token_length)
    return out


def pseudonymisation_manifest(key: bytes, params: PrivacyParams | None = None) -> dict[str, Any]:
    """The manifest entry for pseudonymised output: scheme, parameters and the key's public
    fingerprint (``key_id``), never the key."""
    params = params or PrivacyParams()
    return {
        "scheme": SCHEME,
        "encoding": params.encoding,
        "key_id": SecretKey(key).key_id,
        "token": {"algorithm": "HMAC-SHA256, per-column subkey", "length": params.token_length,
                  "columns": sorted((*TOKEN_COLUMNS, "record_key"))},
        "bloom_columns": {new: {"source": src, "space": space}
                          for new, (src, space) in BLOOM_COLUMNS.items()},
        "nulled_columns": [*NULLED_COLUMNS, "rejects.raw_value"],
        "derived_columns": ["person.year_of_birth", "episode.age_at_admission"],
        "params": params.to_dict(),
    }


#: Parquet schema-metadata key holding a pseudonymised table's scheme, parameters and key id
METADATA_KEY = b"stairs_link.pseudonymisation"


def metadata_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """What each pseudonymised Parquet file carries in its schema metadata (``METADATA_KEY``):
    the manifest entry's scheme, encoding, key id (the key's public fingerprint, never the key)
    and parameters, so the data says how it was encoded even without its manifest."""
    return {k: entry[k] for k in ("scheme", "encoding", "key_id", "params") if k in entry}


def with_pseudonymisation_metadata(data: Any, entry: dict[str, Any]) -> Any:
    """A pyarrow Table or Schema with :func:`metadata_entry` added to its schema metadata."""
    import json

    import pyarrow as pa

    schema = data if isinstance(data, pa.Schema) else data.schema
    metadata = {**(schema.metadata or {}), METADATA_KEY: json.dumps(metadata_entry(entry), sort_keys=True).encode()}
    return data.with_metadata(metadata) if isinstance(data, pa.Schema) else data.replace_schema_metadata(metadata)


def pseudonymisation_metadata(metadata: dict[bytes, bytes] | None) -> dict[str, Any] | None:
    """The entry :func:`with_pseudonymisation_metadata` wrote, from a Parquet schema's
    metadata (None when absent or unreadable)."""
    import json

    raw = (metadata or {}).get(METADATA_KEY)
    if not raw:
        return None
    try:
        entry = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return entry if isinstance(entry, dict) else None


def pseudonymise_tables(
    tables: dict[str, pd.DataFrame], key: bytes, params: PrivacyParams | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Pseudonymised copies of whole staged tables, and the manifest entry describing them.

    ``tables`` maps table name (``person``, ``episode``, ..., optionally ``rejects``) to its
    frame; the input frames are not modified. ``episode`` gets ``age_at_admission`` when
    ``person`` (with ``date_of_birth``) is among the tables.
    """
    params = params or PrivacyParams()
    person = tables.get("person")
    dob = dob_by_record_key(person) if person is not None and "date_of_birth" in person else None
    out = {name: pseudonymise_frame(name, frame, key, params, dob=dob) for name, frame in tables.items()}
    return out, pseudonymisation_manifest(key, params)


__all__ = [
    "BLOOM_COLUMNS",
    "METADATA_KEY",
    "NULLED_COLUMNS",
    "SCHEME",
    "TOKEN_COLUMNS",
    "PrivacyParams",
    "dob_by_record_key",
    "metadata_entry",
    "pseudonymisation_metadata",
    "pseudonymisation_manifest",
    "pseudonymise_frame",
    "pseudonymise_tables",
    "with_pseudonymisation_metadata",
]
