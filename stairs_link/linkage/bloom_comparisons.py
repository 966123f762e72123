"""Linking pseudonymised staged data: Dice levels on Bloom-filter encodings, MinHash blocking
keys on them, and the choice of configuration when the input is pseudonymised.

* Comparison kind ``bloom`` (Dice levels): :mod:`stairs_link.linkage.comparisons.bloom`,
  whose functions are re-exported here.
* Blocking transform ``minhash<b>``: band ``b`` of a MinHash signature over the set bits of
  the encoding (Broder 1997): ``ROWS_PER_BAND`` minima under fixed public permutations of the
  bit positions. Two encodings share a band with probability ``J ** ROWS_PER_BAND``, J their
  Jaccard similarity, so near-identical names block together without any plaintext. Bits
  set in more than ``MINHASH_MAX_BIT_SHARE`` of the records are left out first. The
  permutations need no key: they only reorder bits the recipient already holds.
* :func:`config_for_staged` / :func:`config_for_person`: pseudonymised input (``*_bf``
  columns, plain names and dates null) gets the bundled ``pseudonymised`` preset; staged
  directories pseudonymised under different keys or parameters are refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stairs_link.errors import LinkageError
from stairs_link.io.store import read_text
from stairs_link.linkage.comparisons.bloom import (  # the bloom kind; re-exported for older imports
    bloom_codes,
    bloom_levels,
    compare_bloom,
    dice_pairs,
)
from stairs_link.linkage.config import LinkageConfig
from stairs_link.privacy import PrivacyParams

if TYPE_CHECKING:  # annotations only: prepare imports this module (MinHash blocking keys)
    from stairs_link.linkage.prepare import Features

BLOOM_SUFFIX = "_bf"
PLAIN_OF = {"given_name_bf": "given_name", "family_name_bf": "family_name", "dob_bf": "date_of_birth",
            "postcode_bf": "postcode"}
MINHASH_BANDS = 8  # transforms minhash0 .. minhash7
ROWS_PER_BAND = 4  # minima per band: P(same band key) = Jaccard ** 4 (2 gave blocks 8x larger)
MINHASH_MAX_BIT_SHARE = 0.1  # bits set in more records are left out of MinHash (0.1 / 0.4 / 0.6 measured:
# blocking recall 0.9955 / 0.9947 / 0.9947 at 24.8k records, three keys each)
MINHASH_MIN_KEPT = 0.05  # fewer of the set bits under that share: keep the less common half instead
# (max_bit_share). Measured (10k: v1 30-47% pass, v2 names about 1%, v2 dates 13-15%): at 99.8k
# records v2 blocking 5.75M -> 3.12M pairs, blocking recall 0.9953 -> 0.9951 (v1: 2.75M, 0.9950)
_MINHASH_SEED = 20090941  # public and fixed: same permutations at every recipient
MISSING = -1


def _permutations(bits: int) -> np.ndarray:
    rng = np.random.Generator(np.random.PCG64(_MINHASH_SEED + bits))
    return np.stack([rng.permutation(bits) for _ in range(MINHASH_BANDS * ROWS_PER_BAND)])


def bit_counts(feats: Features, column: str) -> tuple[np.ndarray, int]:
    """(records with each bit set, records with an encoding) for ``column``: what the
    informative-bit rule of MinHash needs. Sums of these over parts of a table give the whole
    table's figures exactly (integers), which is how the Spark engine computes them."""
    codes, matrix = bloom_codes(feats, column)
    bits = np.unpackbits(matrix, axis=1).astype(np.int64)  # distinct encodings only
    weight = np.bincount(codes[codes >= 0], minlength=len(bits)).astype(np.int64)
    return weight @ bits, int(weight.sum())  # no encoding: (0,) @ (0, bits) = zeros(bits)


def set_bit_counts(feats: Features, column: str, counts: np.ndarray, records: int) -> None:
    """Make :func:`minhash_signature` on ``feats`` use a whole table's bit counts (from
    :func:`bit_counts` summed over its parts) instead of this part's own."""
    feats._cache[("minhash_bit_counts", column)] = (np.asarray(counts, np.int64), int(records))


def max_bit_share(share: np.ndarray) -> float:
    """The largest share of records a bit may be set in and still enter MinHash.

    ``MINHASH_MAX_BIT_SHARE`` (10%) while at least ``MINHASH_MIN_KEPT`` of the bits set in
    any record pass it (scheme v1: 40-60% of them do). Diffused encodings (scheme v2) set
    almost every bit in a quarter of the records, so hardly any bit passes (about 1% for
    names) and most signatures would fall back to all their bits, which makes the bands far
    less selective; there the less common half is kept instead (bits set in at most the
    median share of the bits set anywhere). Only the whole table's counts decide, so the Spark
    engine (which sums them over partitions) keeps the same bits."""
    used = share[share > 0]
    if not len(used) or (used <= MINHASH_MAX_BIT_SHARE).mean() >= MINHASH_MIN_KEPT:
        return MINHASH_MAX_BIT_SHARE
    return max(MINHASH_MAX_BIT_SHARE, float(np.median(used)))


def minhash_signature(feats: Features, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(code per record, -1 missing; MinHash minima per distinct encoding, MINHASH_BANDS x
    ROWS_PER_BAND columns; True where an encoding has no bit left to hash)."""
    key = ("minhash", column)
    if key not in feats._cache:
        codes, matrix = bloom_codes(feats, column)
        bits = np.unpackbits(matrix, axis=1).astype(bool)  # distinct encodings only
        counts, records = feats._cache.get(("minhash_bit_counts", column)) or bit_counts(feats, column)
        # Bits set in most records (e.g. the "20" of every year of birth) say nothing and,
        # as minima, would put everyone in one block: leave them out of the signature.
        share = counts.astype(np.float64) / max(float(records), 1.0)
        informative = bits & (share <= max_bit_share(share))[None, :]
        none_left = ~informative.any(axis=1)  # e.g. every bit common in a tiny table: keep all
        informative[none_left] = bits[none_left]
        bits = informative
        perms = _permutations(bits.shape[1])
        # first set bit under each permutation = argmax of the permuted bit rows
        mins = np.stack([bits[:, p].argmax(axis=1) for p in perms], axis=1).astype(np.int64)
        empty = ~bits.any(axis=1)
        feats._cache[key] = (codes, mins, empty)
    return feats._cache[key]


def minhash_band(transform: str, column: str) -> int:
    """The band number of a ``minhash<b>`` transform (a clear error for an unknown one)."""
    band = int(transform[len("minhash"):]) if transform[len("minhash"):].isdigit() else -1
    if not 0 <= band < MINHASH_BANDS:
        raise LinkageError(f"unknown blocking transform '{transform}'", reason="bad_config", column=column,
                           fix=f"use minhash0 .. minhash{MINHASH_BANDS - 1}")
    return band


def minhash_key_codes(feats: Features, column: str, transform: str) -> np.ndarray:
    """Blocking-key codes (int64, -1 missing) for ``column:minhash<b>``."""
    band = minhash_band(transform, column)
    codes, mins, empty = minhash_signature(feats, column)
    width = np.int64(mins.max(initial=0) + 1)
    cols = mins[:, band * ROWS_PER_BAND:(band + 1) * ROWS_PER_BAND]
    combined = np.zeros(len(mins), dtype=np.int64)
    for k in range(cols.shape[1]):
        combined = combined * width + cols[:, k]
    combined[empty] = MISSING
    lookup = np.append(combined, MISSING)
    return lookup[codes].astype(np.int64)


# ---- choosing the configuration ------------------------------------------------------------

def is_pseudonymised(person: pd.DataFrame) -> bool:
    """True when the person table holds Bloom encodings and no plain names or dates of birth."""
    encoded = [c for c in PLAIN_OF if c in person.columns and person[c].notna().any()]
    if not encoded:
        return False
    plain = [PLAIN_OF[c] for c in encoded if PLAIN_OF[c] in person.columns]
    return not any(person[c].notna().any() for c in plain)


def config_for_person(person: pd.DataFrame) -> LinkageConfig:
    """The default configuration for this person table: the ``pseudonymised`` preset when the
    table is pseudonymised, else the plain defaults."""
    return LinkageConfig.preset("pseudonymised") if is_pseudonymised(person) else LinkageConfig()


def _manifest_entry(directory: Path | str) -> tuple[dict | None, bool]:
    """(the manifest's ``pseudonymisation`` entry, whether a readable manifest was found)."""
    try:
        if "://" in str(directory):  # an object-store URL (Spark engine): read through pyarrow's filesystems
            text = read_text(str(directory).rstrip("/") + "/manifest.json")
        else:
            path = Path(directory) / "manifest.json"
            text = path.read_text(encoding="utf-8") if path.is_file() else None
        manifest = json.loads(text) if text else None
    except (OSError, ValueError, RecursionError):
        manifest = None  # no readable manifest: judged by the tables' metadata and columns
    if not isinstance(manifest, dict):
        return None, False
    entry = manifest.get("pseudonymisation")
    return (entry if isinstance(entry, dict) and entry else None), True


def _person_schema_and_sample(directory: Path | str) -> tuple[Any, pd.DataFrame | None]:
    """person.parquet's Arrow schema and its first rows (for recognising encodings), or (None,
    None) when there is no readable person table (the readers report that)."""
    import pyarrow.parquet as pq

    from stairs_link.io.store import filesystem

    try:
        fs, inner = filesystem(str(directory).rstrip("/") + "/person.parquet")
        handle = pq.ParquetFile(inner, filesystem=fs) if "://" in str(directory) else \
            pq.ParquetFile(Path(directory) / "person.parquet")
        names = [c for c in (*PLAIN_OF, *PLAIN_OF.values(), "year_of_birth", "nhs_number", "local_id")
                 if c in handle.schema_arrow.names]
        sample = next(handle.iter_batches(batch_size=DETECT_ROWS, columns=names), None) if names else None
        return handle.schema_arrow, (sample.to_pandas() if sample is not None else None)
    except Exception:  # noqa: BLE001 - missing or unreadable: not for this function to report
        return None, None


#: rows of person.parquet read to recognise pseudonymised data from its columns
DETECT_ROWS = 2_000


def encodings_in_data(sample: pd.DataFrame | None) -> list[str]:
    """The columns of a person-table sample that show it is pseudonymised, whatever its
    manifest says: Bloom-filter columns (``*_bf``, binary) holding values while the plain column
    they replace is empty, or identifiers that are all keyed tokens (lower-case hex of the
    token length) with names and dates of birth empty."""
    if sample is None or not len(sample):
        return []
    found = [c for c in PLAIN_OF if c in sample and sample[c].notna().any()
             and not (PLAIN_OF[c] in sample and sample[PLAIN_OF[c]].notna().any())]
    plain_empty = all(not (c in sample and sample[c].notna().any()) for c in ("given_name", "family_name",
                                                                             "date_of_birth"))
    if plain_empty:
        for column in ("nhs_number", "local_id"):
            values = sample[column].dropna().astype(str) if column in sample else pd.Series(dtype=str)
            if len(values) and values.str.fullmatch(r"[0-9a-f]{16,64}").all() and values.str.len().nunique() == 1:
                found.append(column)
    return found


def pseudonymisation_of(staged_dirs: list[Path]) -> dict[str, Any] | None:
    """The common pseudonymisation entry of the staged directories, or None when none is
    pseudonymised. Each directory's entry is its manifest's, else the one its person table
    carries in its Parquet metadata (``stairs_link.pseudonymisation``, written by adapt
    --pseudonymise); a manifest and metadata naming different keys or schemes are refused
    (``pseudonymisation_disagrees``), and so is data recognisably pseudonymised (Bloom or token
    columns) with neither (``pseudonymisation_unrecorded``: its key cannot be checked).
    Mixed plain/pseudonymised input, or different keys or encoding parameters, cannot link
    and are refused. Messages name folders and key ids (public fingerprints), never keys."""
    from stairs_link.privacy.pseudonymise import pseudonymisation_metadata

    entries: dict[Path, dict | None] = {}
    for directory in staged_dirs:
        from_manifest, _ = _manifest_entry(directory)
        schema, sample = _person_schema_and_sample(directory)
        from_data = pseudonymisation_metadata(schema.metadata if schema is not None else None)
        if from_manifest and from_data:
            for field_name in ("key_id", "scheme"):
                if from_data.get(field_name) != from_manifest.get(field_name):
                    raise LinkageError(
                        f"manifest.json and person.parquet disagree on how this directory was pseudonymised "
                        f"({field_name} {from_manifest.get(field_name)} in the manifest, {from_data.get(field_name)} "
                        "in the table's metadata): the manifest belongs to another run",
                        reason="pseudonymisation_disagrees", file=str(directory),
                        fix="re-run `stairs-link adapt --pseudonymise` for this system into an empty directory")
        entry = from_manifest or from_data
        if entry is None:
            columns = encodings_in_data(sample)
            if columns:
                raise LinkageError(
                    f"this staged directory is pseudonymised (its {', '.join(columns)} column(s) hold keyed "
                    "encodings), but neither its manifest.json nor its tables record the scheme and key id, so "
                    "the key cannot be checked against the other directories' and the plain preset would link "
                    "nothing", reason="pseudonymisation_unrecorded", file=str(directory),
                    fix="re-run `stairs-link adapt --pseudonymise --key-file KEY` for this system (it records the "
                        "key id in manifest.json and in every table)")
        entries[directory] = entry
    marked = {d: e for d, e in entries.items() if e}
    if not marked:
        return None
    if len(marked) != len(entries):
        plain = next(d for d, e in entries.items() if not e)
        raise LinkageError("some staged directories are pseudonymised and others are not; they cannot be linked",
                           reason="mixed_pseudonymisation", file=str(plain),
                           fix="adapt every site system with --pseudonymise and the same --key-file")
    first_dir, first = next(iter(marked.items()))
    for directory, entry in marked.items():
        if entry.get("encodings_forgotten"):
            raise LinkageError(f"the encodings of this staged directory were forgotten after an earlier linkage "
                               f"({entry['encodings_forgotten'].get('at')}); there is nothing left to link on",
                               reason="encodings_forgotten", file=f"{directory}/manifest.json",
                               fix="link with the clusters of that run, or ask the site for a new pseudonymised "
                                   "delivery")
        mine, theirs = encoding_of(entry), encoding_of(first)
        if mine != theirs:
            raise LinkageError(f"staged directories use different encoding schemes ({_scheme_text(mine)} here, "
                               f"{_scheme_text(theirs)} in {first_dir}); encodings of different schemes do not "
                               f"compare", reason="different_encoding_scheme", file=f"{directory}/manifest.json",
                               fix="re-run adapt --pseudonymise with the same stairs-link version (the same "
                                   "scheme) at every site; docs/privacy.md says which scheme to use")
        if entry.get("key_id") != first.get("key_id"):
            raise LinkageError(f"staged directories were pseudonymised with different keys (key id "
                               f"{entry.get('key_id')} here, {first.get('key_id')} in {first_dir})",
                               reason="different_keys", file=f"{directory}/manifest.json",
                               fix="every site must pseudonymise with the same key file (compare key ids)")
        if entry.get("params") != first.get("params"):
            raise LinkageError(f"staged directories were pseudonymised with different encoding parameters "
                               f"(compare with {first_dir})", reason="different_params",
                               file=f"{directory}/manifest.json",
                               fix="re-run adapt --pseudonymise at every site with the same parameters")
    return first


def encoding_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The encoding scheme and version of a manifest's ``pseudonymisation`` entry; manifests
    written before the entry had an ``encoding`` field are scheme v1 (double hashing)."""
    if entry.get("encoding"):
        return dict(entry["encoding"])
    return PrivacyParams.from_dict(entry.get("params", {})).encoding


def _scheme_text(encoding: dict[str, Any]) -> str:
    return f"{encoding.get('scheme')} v{encoding.get('version')}"


def config_for_staged(staged_dirs: list[Path]) -> LinkageConfig:
    """Default configuration for staged directories: see :func:`pseudonymisation_of`."""
    return LinkageConfig.preset("pseudonymised") if pseudonymisation_of(staged_dirs) else LinkageConfig()


def uses_encodings(config: LinkageConfig) -> bool:
    """True when the configuration compares Bloom encodings (the ``pseudonymised`` preset)."""
    return any(col in PLAIN_OF for c in config.comparisons for col in c.columns())


def check_config_fits(config: LinkageConfig, pseudonymised: bool, where: str | None = None) -> None:
    """Refuse a configuration that compares plain names and dates on pseudonymised records
    (they are empty there: every pair would disagree, nothing would link, and the run would
    still "succeed")."""
    if pseudonymised and not uses_encodings(config):
        raise LinkageError("the staged records are pseudonymised (Bloom encodings, no plain names or dates of "
                           "birth) but the linkage configuration compares plain columns: it would link nothing",
                           reason="plaintext_config_on_pseudonymised", file=where,
                           fix="drop --config to use the `pseudonymised` preset, or write your configuration as a "
                               "copy of stairs_link/linkage/data/presets/pseudonymised.yaml (it compares the "
                               "*_bf encodings)")


__all__ = [
    "MINHASH_BANDS",
    "ROWS_PER_BAND",
    "bit_counts",
    "bloom_codes",
    "bloom_levels",
    "compare_bloom",
    "config_for_person",
    "check_config_fits",
    "config_for_staged",
    "dice_pairs",
    "encoding_of",
    "encodings_in_data",
    "is_pseudonymised",
    "minhash_band",
    "minhash_key_codes",
    "minhash_signature",
    "pseudonymisation_of",
    "set_bit_counts",
    "uses_encodings",
]
