"""`adapt --pseudonymise`: pseudonymise each batch before it is written, so no plaintext
identifier, name, date of birth or postcode ever reaches the staged directory.

It applies :func:`stairs_link.privacy.pseudonymise_frame` to every staged batch and every
rejects batch, as docs/privacy.md ("Integration") prescribes. Dates of birth of the person
rows seen so far are kept in memory only (plain record key -> date) to give ``episode`` its
``age_at_admission``; ``adapt`` stages ``person`` first in this mode so they are all known.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from stairs_link.privacy import PrivacyParams, dob_by_record_key, pseudonymisation_manifest, pseudonymise_frame
from stairs_link.privacy.pseudonymise import with_pseudonymisation_metadata

WITHHELD_MESSAGE = "message withheld in pseudonymised output: it quoted the raw value"


class SitePseudonymiser:
    """Pseudonymises the batches of one ``adapt`` run under one key (see module docstring)."""

    def __init__(self, key: bytes, params: PrivacyParams | None = None) -> None:
        self._key = key
        self.params = params or PrivacyParams()
        self._dob_parts: list[pd.Series] = []
        self._dob: pd.Series | None = None

    def staged(self, table: str, frame: pd.DataFrame) -> pd.DataFrame:
        """The pseudonymised form of one staged batch of ``table``."""
        if table == "person" and "date_of_birth" in frame:
            self._dob_parts.append(dob_by_record_key(frame))
            self._dob = None
        dob = self.dob() if table == "episode" else None
        return pseudonymise_frame(table, frame, self._key, self.params, dob=dob)

    def dob(self) -> pd.Series | None:
        """Plain record key -> date of birth of every person row staged so far (memory only)."""
        if self._dob is None and self._dob_parts:
            dob = pd.concat(self._dob_parts)
            self._dob = dob[~dob.index.duplicated()]
        return self._dob

    def rejects(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rejects with ``raw_value`` nulled and any message quoting the raw value withheld
        (the rejects of identifiers, names and dates hold exactly the personal data)."""
        out = pseudonymise_frame("rejects", frame, self._key, self.params)
        if "raw_value" in frame and "message" in frame and len(frame):
            raw = frame["raw_value"].astype("string").fillna("")
            message = frame["message"].astype("string").fillna("")
            # rejects are few rows; a zip over them is cheap
            quoted = [bool(v.strip()) and v.strip() in m for v, m in zip(raw.tolist(), message.tolist())]
            out.loc[quoted, "message"] = WITHHELD_MESSAGE
        return out

    def schema(self, schema: pa.Schema) -> pa.Schema:
        """A staged table's Parquet schema carrying the scheme, parameters and key id in its
        metadata (``stairs_link.pseudonymisation``), so the files say how they were encoded
        even without their manifest (linkage checks it: docs/privacy.md)."""
        return with_pseudonymisation_metadata(schema, pseudonymisation_manifest(self._key, self.params))

    def manifest(self) -> dict[str, Any]:
        """The manifest entry: scheme, parameters, key id; never the key."""
        entry = pseudonymisation_manifest(self._key, self.params)
        entry["rejects"] = "raw_value nulled; messages that quoted it withheld"
        return entry


__all__ = ["SitePseudonymiser", "WITHHELD_MESSAGE"]
