"""Linking pseudonymised staged data: Dice levels on Bloom-filter encodings, MinHash blocking
keys on them, and the choice of configuration when the input is pseudonymised.

* Comparison kind ``bloom``: levels ``else < dice>=t_n .. < [swap] < dice>=t_0 < exact``. The
  Dice coefficient of two encodings tracks the bigram similarity of the plaintexts (Schnell,
  Bachteler & Reiher 2009); it is computed once per distinct pair of distinct encodings with
  a vectorised popcount (:func:`stairs_link.privacy.dice_similarity`). With ``other_column``
  a pair whose given name matches the other record's family name (Dice >= the top threshold)
  gets ``swap``, as for plain names (given and family names share one filter space).
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

if TYPE_CHECKING:
    from stairs_link.linkage.config import Comparison, LinkageConfig
    from stairs_link.linkage.prepare import Features

BLOOM_SUFFIX = "_bf"
PLAIN_OF = {"given_name_bf": "given_name", "family_name_bf": "family_name", "dob_bf": "date_of_birth",
            "postcode_bf": "postcode"}
MINHASH_BANDS = 8  # transforms minhash0 .. minhash7
ROWS_PER_BAND = 4  # minima per band: P(same band key) = Jaccard ** 4 (2 gave blocks 8x larger)
MINHASH_MAX_BIT_SHARE = 0.1  # bits set in more records are left out of MinHash (0.1 / 0.4 / 0.6 measured:
# blocking recall 0.9955 / 0.9947 / 0.9947 at 24.8k records, three keys each)
_MINHASH_SEED = 20090941  # public and fixed: same permutations at every recipient
_DICE_CHUNK = 1_000_000  # distinct pairs per Dice block (bounds the (pairs x bytes) temporaries)
MISSING = -1


def is_binary_values(values: Any) -> bool:
    """True when the distinct values of a column are bytes (Bloom encodings)."""
    for v in values:
        if v is not None and not (isinstance(v, float) and np.isnan(v)):
            return isinstance(v, (bytes, bytearray, memoryview))
    return False


def bloom_codes(feats: Features, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(int32 code per record, -1 missing; packed uint8 matrix of the distinct encodings)."""
    key = ("bloom", column)
    if key not in feats._cache:
        from stairs_link.privacy import bloom_matrix

        series = feats.column(column)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        if len(uniques) and not is_binary_values(uniques[:1]):
            raise LinkageError(f"column '{column}' is compared as a Bloom-filter encoding but does not hold bytes",
                               reason="bad_type", column=column,
                               fix="compare *_bf columns written by `stairs-link adapt --pseudonymise` only")
        matrix, _ = bloom_matrix(pd.Series(list(uniques), dtype=object))
        feats._cache[key] = (codes.astype(np.int32), matrix)
    return feats._cache[key]


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    width = np.int64(hi.max() + 1) if len(hi) else np.int64(1)
    inverse, packed = pd.factorize(lo * width + hi)
    return packed // width, packed % width, inverse


def dice_pairs(left: np.ndarray, right: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dice of left[a] vs right[b] row by row (codes >= 0), once per distinct (a, b) pair."""
    from stairs_link.privacy import dice_similarity

    out = np.zeros(len(a), dtype=np.float32)
    if len(a) == 0:
        return out
    if left is right:
        ua, ub, inverse = _unique_pairs(a, b)
    else:  # different value spaces: pairs are ordered
        width = np.int64(max(int(b.max()) + 1, 1))
        inverse, packed = pd.factorize(a.astype(np.int64) * width + b)
        ua, ub = packed // width, packed % width
    sims = np.empty(len(ua), dtype=np.float32)
    for lo in range(0, len(ua), _DICE_CHUNK):
        hi = lo + _DICE_CHUNK
        sims[lo:hi] = dice_similarity(left[ua[lo:hi]], right[ub[lo:hi]])
    return sims[inverse]


def bloom_levels(comp: Comparison) -> list[str]:
    """Level labels of a ``bloom`` comparison, lowest first."""
    top, *low = comp.thresholds
    return ["else", *[f"dice>={t}" for t in reversed(low)], *(["swap"] if comp.other_column else []),
            f"dice>={top}", "exact"]


def compare_bloom(comp: Comparison, feats: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Gamma per pair: exact encoding, Dice thresholds, optional swap with ``other_column``."""
    codes, matrix = bloom_codes(feats, comp.column)
    a, b = codes[i], codes[j]
    missing = (a < 0) | (b < 0)
    exact = (a == b) & ~missing
    todo = ~missing & ~exact
    dice = np.zeros(len(a), dtype=np.float32)
    dice[todo] = dice_pairs(matrix, matrix, a[todo], b[todo])
    conditions = {"exact": exact}
    for t in comp.thresholds:
        conditions[f"dice>={t}"] = todo & (dice >= t)
    if comp.other_column:
        ocodes, omatrix = bloom_codes(feats, comp.other_column)
        oa, ob = ocodes[i], ocodes[j]
        check = todo & (dice < comp.thresholds[0])
        swap = np.zeros(len(a), dtype=bool)
        for mine, theirs in ((a, ob), (b, oa)):
            sel = np.flatnonzero(check & (theirs >= 0))
            swap[sel] |= dice_pairs(matrix, omatrix, mine[sel], theirs[sel]) >= comp.thresholds[0]
        conditions["swap"] = swap
    from stairs_link.linkage.compare import _assign

    return _assign(bloom_levels(comp), conditions, missing)


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
        informative = bits & (share <= MINHASH_MAX_BIT_SHARE)[None, :]
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
    from stairs_link.linkage.config import LinkageConfig

    return LinkageConfig.preset("pseudonymised") if is_pseudonymised(person) else LinkageConfig()


def pseudonymisation_of(staged_dirs: list[Path]) -> dict[str, Any] | None:
    """The common ``pseudonymisation`` manifest entry of the staged directories, or None when
    none is pseudonymised. Mixed plain/pseudonymised input, or different keys or encoding
    parameters, cannot link and are refused."""
    entries: dict[Path, dict | None] = {}
    for directory in staged_dirs:
        try:
            if "://" in str(directory):  # an object-store URL (Spark engine): read through pyarrow's filesystems
                text = read_text(str(directory).rstrip("/") + "/manifest.json")
            else:
                path = Path(directory) / "manifest.json"
                text = path.read_text(encoding="utf-8") if path.is_file() else None
            manifest = json.loads(text) if text else {}
        except (OSError, json.JSONDecodeError):
            manifest = {}  # no readable manifest: judged by its columns later
        entries[directory] = manifest.get("pseudonymisation")
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
    from stairs_link.privacy import PrivacyParams

    return PrivacyParams.from_dict(entry.get("params", {})).encoding


def _scheme_text(encoding: dict[str, Any]) -> str:
    return f"{encoding.get('scheme')} v{encoding.get('version')}"


def config_for_staged(staged_dirs: list[Path]) -> LinkageConfig:
    """Default configuration for staged directories: see :func:`pseudonymisation_of`."""
    from stairs_link.linkage.config import LinkageConfig

    return LinkageConfig.preset("pseudonymised") if pseudonymisation_of(staged_dirs) else LinkageConfig()


__all__ = [
    "MINHASH_BANDS",
    "ROWS_PER_BAND",
    "bit_counts",
    "bloom_codes",
    "bloom_levels",
    "compare_bloom",
    "config_for_person",
    "config_for_staged",
    "dice_pairs",
    "encoding_of",
    "is_pseudonymised",
    "minhash_band",
    "minhash_key_codes",
    "minhash_signature",
    "pseudonymisation_of",
    "set_bit_counts",
]
