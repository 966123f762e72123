"""Forgetting the encodings once linkage is done (``stairs-link link ... --forget-encodings``).

Whoever holds Bloom-filter encodings can attack them (docs/privacy.md, measured by
``bench/bench_attacks.py``). A linkage unit needs them only while it links: afterwards the
clusters (``cluster_id`` per record key) and the clear analysis columns are all ``build`` and the
evaluation use. :func:`forget_encodings` nulls every ``*_bf`` column of a pseudonymised staged
directory's ``person.parquet`` (the file is rewritten beside itself and swapped in, so a
crash leaves the old file or the new one, never half of each) and records in
``manifest.json`` that, and when, the encodings were forgotten. Keyed identifier tokens stay:
without the key they carry no structure to attack, and ``build`` needs them.

Rewriting a file does not wipe the disk blocks the old copy used: hold staged data on an
encrypted volume and destroy that (or its key) when the project ends (docs/privacy.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stairs_link.errors import PrivacyError
from stairs_link.privacy.pseudonymise import BLOOM_COLUMNS
from stairs_link.schema.io import replace_staged_tables


def forget_encodings(staged_dir: Path) -> list[str]:
    """Null the Bloom-filter encodings of one pseudonymised staged directory; returns the
    columns that held any. A plain (not pseudonymised) directory is refused: it holds the
    plaintext itself, and forgetting encodings would wrongly suggest it is now safe."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    staged_dir = Path(staged_dir)
    manifest_path = staged_dir / "manifest.json"
    person_path = staged_dir / "person.parquet"
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PrivacyError(f"cannot read the manifest ({exc})", reason="bad_manifest", file=str(manifest_path),
                           fix="pass staged directories written by `stairs-link adapt --pseudonymise`") from None
    entry = manifest.get("pseudonymisation")
    if not entry:
        raise PrivacyError("this staged directory is not pseudonymised: it holds plain names and dates, so "
                           "there are no encodings to forget", reason="not_pseudonymised", file=str(manifest_path),
                           fix="delete plain staged data itself when linkage is done; --forget-encodings is for "
                               "pseudonymised input")
    try:
        table = pq.read_table(person_path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise PrivacyError(f"cannot read person.parquet ({exc})", reason="bad_table", file=str(person_path),
                           fix="re-run adapt for this system") from None
    forgotten = []
    for column in BLOOM_COLUMNS:
        if column in table.column_names:
            i = table.column_names.index(column)
            if table.column(i).null_count < len(table):
                forgotten.append(column)
            table = table.set_column(i, table.schema.field(i), pa.nulls(len(table), table.schema.field(i).type))
    previous = entry.get("encodings_forgotten") or {}
    entry["encodings_forgotten"] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "columns": sorted(set(previous.get("columns", [])) | set(forgotten)),
    }
    # the person table changes, so its record in the manifest (the completion record) does too:
    # both replaced under the lock and the publishing marker, the manifest last
    replace_staged_tables(staged_dir, {"person": table}, command="link --forget-encodings",
                          manifest={"pseudonymisation": entry})
    return forgotten


__all__ = ["forget_encodings"]
