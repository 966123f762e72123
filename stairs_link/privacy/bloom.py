"""Bloom-filter encodings of quasi-identifiers (names, dates, postcodes) for linkage without
plaintext, after Schnell, Bachteler & Reiher (2009), "Privacy-preserving record linkage using
Bloom filters", BMC Med Inform Decis Mak 9:41, and the CLKs of clkhash/anonlink.

A value is cut into n-grams (bigrams of the space-padded string by default: ``"SMITH"`` ->
`` S, SM, MI, IT, TH, H ``); each distinct n-gram sets ``k`` of ``length`` bits, at positions
from keyed double hashing ``(h1 + i * h2) mod length`` (Kirsch & Mitzenmacher 2006), where
``h1, h2`` are the first two 64-bit words of HMAC-SHA256(field key, n-gram). The field key is
derived from the secret key and the field name, so each field has its own filter space and
nobody without the key can compute the filter of a guessed name. Two encodings are compared
with the Dice coefficient of their bits, which tracks the n-gram similarity of the plaintexts.

Scheme v2 (the default, issue 18): the positions of an n-gram are ``k`` independent keyed
draws (*random hashing*, Ranbaduge & Schnell 2020), not the arithmetic progression of double
hashing that lets an attacker enumerate every n-gram's positions, and the filter then goes
through a keyed *linear diffusion* layer (Armknecht, Heng & Schnell 2023): output bit ``j`` is
the XOR of ``diffusion`` input bits chosen by the key. No output bit belongs to one n-gram any
more, so the bit positions that always occur together, on which pattern-mining attacks rest,
are gone; Dice similarity is kept (one differing n-gram changes about ``diffusion`` times as
many output bits, so Dice drops a little faster). Scheme v1 (double hashing, no diffusion) is
still read and written when a manifest asks for it.

Optional: ``flip=f`` (BLIP, Alaggan, Gambs & Kermarrec 2012; Schnell & Borgs 2016): every
stored bit is flipped with probability ``f``, afresh for each record, so equal values no
longer give equal encodings (the frequency of an encoding says nothing) at the price of the
"exact" comparison level and of blocking on whole encodings (docs/privacy.md measures it).

Optional hardening: ``balanced=True`` appends the complement of the filter and shuffles the
2 x length bits with a keyed permutation (Schnell & Borgs 2016, "Randomized response and
balanced Bloom filters for privacy preserving record linkage", ICDM Workshops), so every
encoding has exactly ``length`` ones and the bit count no longer reveals the value's length.

Encoding works on the distinct values and distinct n-grams of a column (one HMAC per distinct
n-gram); bit setting, packing and Dice are numpy over whole matrices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stairs_link.errors import PrivacyError
from stairs_link.privacy.tokens import domain_key, hmac_sha256_many

_CHUNK = 65_536  # distinct values encoded per block: bounds the (chunk x length) bit matrix
DIFFUSION = 3  # chosen by bench/bench_attacks.py and bench/bench_privacy.py (docs/privacy.md)
SCHEME_V1 = "stairs-link-bloom-v1"
SCHEME_V2 = "stairs-link-bloom-v2"


@dataclass(frozen=True)
class BloomParams:
    """Encoding parameters for one field; written to the manifest, never with the key.

    ``length`` bits per filter (multiple of 64), ``k`` bit positions per n-gram, ``ngram`` size,
    ``positional`` n-grams carry their position (good for fixed-layout dates ``YYYYMMDD``:
    a day-month swap keeps the year's bits), ``pad`` adds ``ngram - 1`` spaces at both ends
    so first and last letters count, ``balanced`` as in the module docstring.
    """

    length: int = 1024
    k: int = 20
    ngram: int = 2
    positional: bool = False
    pad: bool = True
    balanced: bool = False
    hashing: str = "random"  # "random" (v2) or "double" (v1)
    diffusion: int = DIFFUSION  # input bits XORed into each output bit; 0 = none (v1)
    flip: float = 0.0  # BLIP: each stored bit flipped with this probability, fresh per record

    def __post_init__(self) -> None:
        problems = []
        if self.length < 64 or self.length % 64:
            problems.append("length must be a multiple of 64, at least 64")
        if not 1 <= self.k <= 64:
            problems.append("k must be 1-64")
        if not 1 <= self.ngram <= 5:
            problems.append("ngram must be 1-5")
        if self.hashing not in ("random", "double"):
            problems.append("hashing must be 'random' or 'double'")
        if not 0 <= self.diffusion <= 16:
            problems.append("diffusion must be 0-16")
        if not 0.0 <= self.flip < 0.5:
            problems.append("flip must be at least 0 and below 0.5")
        if problems:
            raise PrivacyError("invalid Bloom-filter parameters: " + "; ".join(problems),
                               reason="bad_bloom_params", fix="see docs/privacy.md for sensible values")

    @property
    def bits(self) -> int:
        """Bits in the stored encoding (doubled when balanced)."""
        return self.length * (2 if self.balanced else 1)

    @property
    def nbytes(self) -> int:
        return self.bits // 8

    @property
    def scheme(self) -> str:
        """``stairs-link-bloom-v1`` (double hashing, no diffusion: the encoding before issue
        18) or ``stairs-link-bloom-v2`` (anything else)."""
        return SCHEME_V1 if self.hashing == "double" and self.diffusion == 0 and not self.flip else SCHEME_V2

    def blip_epsilon(self) -> float | None:
        """Differential-privacy parameter of the bit flipping for one n-gram added or removed
        (Alaggan, Gambs & Kermarrec 2012): that changes at most ``k`` filter bits, each feeding
        ``diffusion`` stored bits, so ``epsilon = k * max(diffusion, 1) * ln((1 - f) / f)``.
        None without flipping."""
        import math

        if not self.flip:
            return None
        return self.k * max(self.diffusion, 1) * math.log((1 - self.flip) / self.flip)

    def to_dict(self) -> dict[str, Any]:
        hashing = "HMAC-SHA256 double hashing" if self.hashing == "double" else "HMAC-SHA256 random hashing"
        return {"scheme": self.scheme, "hash": hashing, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BloomParams:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if data.get("scheme", SCHEME_V1) == SCHEME_V1:  # v1 manifests predate these fields
            values.setdefault("hashing", "double")
            values.setdefault("diffusion", 0)
        return cls(**values)


# Sensible defaults per kind of field. Names and postcodes: padded bigrams. Dates: positional
# unigrams of YYYYMMDD (8 grams x k bits).
NAME_PARAMS = BloomParams()
DATE_PARAMS = BloomParams(ngram=1, positional=True, pad=False)
POSTCODE_PARAMS = BloomParams()
# The encoding before issue 18 (scheme v1), kept for old manifests and for the attack benchmark.
V1_NAME_PARAMS = BloomParams(hashing="double", diffusion=0)
V1_DATE_PARAMS = BloomParams(ngram=1, positional=True, pad=False, hashing="double", diffusion=0)
V1_POSTCODE_PARAMS = BloomParams(hashing="double", diffusion=0)


def ngrams(value: str, params: BloomParams) -> list[str]:
    """The distinct n-grams of one value (``"ANN"`` -> `` A, AN, NN, N `` for padded bigrams)."""
    q = params.ngram
    if params.positional:
        return [f"{i}:{value[i:i + q]}" for i in range(max(len(value) - q + 1, 0))]
    text = (" " * (q - 1) + value + " " * (q - 1)) if params.pad else value
    return list(dict.fromkeys(text[i:i + q] for i in range(max(len(text) - q + 1, 0))))


def _gram_positions(grams: list[str], subkey: bytes, params: BloomParams) -> np.ndarray:
    """(n_grams, k) bit positions: keyed double hashing (v1), or ``k`` independent positions
    drawn by a generator seeded with the n-gram's HMAC (random hashing, v2)."""
    if not grams:
        return np.zeros((0, params.k), dtype=np.int64)
    digests = hmac_sha256_many(subkey, (g.encode("utf-8") for g in grams))
    if params.hashing == "random":
        seeds = np.frombuffer(digests, dtype=np.uint32).reshape(len(grams), 8)
        return np.stack([np.random.Generator(np.random.PCG64(s)).integers(0, params.length, params.k)
                         for s in seeds]).astype(np.int64)
    words = np.frombuffer(digests, dtype="<u8").reshape(len(grams), 4)
    m = np.uint64(params.length)
    h1 = (words[:, 0] % m).astype(np.int64)
    h2 = (words[:, 1] % np.uint64(params.length - 1)).astype(np.int64) + 1  # never 0
    return (h1[:, None] + np.arange(params.k, dtype=np.int64)[None, :] * h2[:, None]) % params.length


def _permutation(key: bytes, field: str, params: BloomParams) -> np.ndarray:
    seed = int.from_bytes(domain_key(key, "bloom-permutation", field), "little")
    return np.random.Generator(np.random.PCG64(seed)).permutation(params.bits)


@lru_cache(maxsize=64)
def _diffusion_taps(key: bytes, field: str, params: BloomParams) -> np.ndarray:
    """(length, diffusion) input positions XORed into each output bit, drawn under the key."""
    seed = int.from_bytes(domain_key(key, "bloom-diffusion", field), "little")
    rng = np.random.Generator(np.random.PCG64(seed))
    return np.stack([rng.choice(params.length, params.diffusion, replace=False) for _ in range(params.length)])


def diffuse(bits: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Linear diffusion of a (rows x length) bool matrix: output bit j = XOR of bits taps[j]."""
    out = bits[:, taps[:, 0]].copy()
    for t in range(1, taps.shape[1]):
        out ^= bits[:, taps[:, t]]
    return out


def _encode_unique(values: list[str], key: bytes, field: str, params: BloomParams) -> np.ndarray:
    """Packed filters (n, nbytes) uint8 for distinct non-null values."""
    subkey = domain_key(key, "bloom", field)
    gram_lists = [ngrams(v, params) for v in values]
    vocabulary = list(dict.fromkeys(g for grams in gram_lists for g in grams))
    gram_id = {g: i for i, g in enumerate(vocabulary)}
    positions = _gram_positions(vocabulary, subkey, params)
    lengths = np.fromiter((len(g) for g in gram_lists), dtype=np.int64, count=len(values))
    ids = np.fromiter((gram_id[g] for grams in gram_lists for g in grams), dtype=np.int64,
                      count=int(lengths.sum()))
    owner = np.repeat(np.arange(len(values)), lengths)
    perm = _permutation(key, field, params) if params.balanced else None
    taps = _diffusion_taps(key, field, params) if params.diffusion else None
    out = np.empty((len(values), params.nbytes), dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    for lo in range(0, len(values), _CHUNK):
        hi = min(lo + _CHUNK, len(values))
        sel = slice(starts[lo], starts[hi])
        bits = np.zeros((hi - lo, params.length), dtype=bool)
        rows = np.repeat(owner[sel] - lo, params.k)
        bits[rows, positions[ids[sel]].ravel()] = True
        if taps is not None:
            bits = diffuse(bits, taps)
        if perm is not None:
            bits = np.concatenate([bits, ~bits], axis=1)[:, perm]
        out[lo:hi] = np.packbits(bits, axis=1)
    return out


def bloom_encode(s: Any, key: bytes, field: str, params: BloomParams = NAME_PARAMS) -> pd.Series:
    """Bloom-filter encodings of a text column: an Arrow-backed ``binary`` column holding
    ``params.nbytes`` bytes per row (the packed bits), null where the value is null or blank.

    Pass the matching form of the value (``fold_name`` for names, ``YYYYMMDD`` for dates,
    the canonical postcode); ``field`` names the filter space (``"given_name"``,
    ``"date_of_birth"``), so the same text in two fields encodes differently.
    """
    s = s if isinstance(s, pd.Series) else pd.Series(s)
    text = s.astype("string").str.strip()
    text = text.where(text != "")
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    packed = _encode_unique(uniques.tolist(), key, field, params)
    valid = codes >= 0
    rows = packed[np.where(valid, codes, 0)] if len(packed) else np.zeros((len(s), params.nbytes), np.uint8)
    if params.flip:  # BLIP: fresh randomness per record, never reproducible (not from the key)
        import secrets

        rng = np.random.default_rng(secrets.randbits(128))
        rows = rows.copy()
        for lo in range(0, len(rows), 8192):  # bounds the (rows x bits) float temporary
            hi = min(lo + 8192, len(rows))
            rows[lo:hi] ^= np.packbits(rng.random((hi - lo, params.bits), dtype=np.float32) < params.flip, axis=1)
        rows[~valid] = 0
    validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    arr = pa.Array.from_buffers(pa.binary(params.nbytes), len(s),
                                [validity, pa.py_buffer(np.ascontiguousarray(rows).tobytes())])
    # Variable-width ``binary`` rather than ``fixed_size_binary``: pandas cannot rebuild a
    # fixed_size_binary ArrowDtype from Parquet metadata, so the column would not read back.
    return pd.Series(pd.arrays.ArrowExtensionArray(arr.cast(pa.binary())), index=s.index)


def bloom_matrix(s: Any, nbytes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Encodings column -> (packed uint8 matrix (n, nbytes), valid mask); null rows are zeros.

    Accepts the Arrow column from :func:`bloom_encode` or an object column of ``bytes`` (as
    read back from Parquet by plain ``to_pandas``)."""
    if isinstance(s, pd.Series):
        if isinstance(s.dtype, pd.ArrowDtype):
            arr = pa.array(s.array)
        else:
            values = s.astype(object).where(s.notna(), None)
            arr = pa.array(values.tolist(), type=pa.binary())
    else:
        arr = pa.array(s) if not isinstance(s, pa.Array) else s
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_fixed_size_binary(arr.type):
        width = arr.type.byte_width
    else:
        lengths = set(pc.unique(pc.binary_length(arr.drop_null())).to_pylist())
        if len(lengths) > 1 or (nbytes is not None and lengths and lengths != {nbytes}):
            raise PrivacyError("Bloom-filter encodings of different lengths in one column",
                               reason="bad_bloom_column", fix="encode every site with the same parameters")
        width = lengths.pop() if lengths else (nbytes or 0)
        arr = arr.cast(pa.binary(width)) if width else arr
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    matrix = np.zeros((len(arr), width), dtype=np.uint8)
    if width and valid.any():
        filled = arr.filter(pa.array(valid))
        data = np.frombuffer(filled.buffers()[1], dtype=np.uint8)
        start = filled.offset * width
        matrix[valid] = data[start:start + len(filled) * width].reshape(len(filled), width)
    return matrix, valid


_POPCOUNT_TABLE = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _popcount(x: np.ndarray) -> np.ndarray:
    """Set bits per row of a packed matrix: ``np.bitwise_count`` on uint64 words (numpy >= 2),
    else a 256-entry byte lookup table (numpy 1.26, still allowed by pyproject)."""
    x = np.ascontiguousarray(x)
    if hasattr(np, "bitwise_count"):
        if x.shape[-1] % 8 == 0:
            x = x.view(np.uint64)
        return np.bitwise_count(x).sum(axis=-1, dtype=np.int64)
    return _POPCOUNT_TABLE[x].sum(axis=-1, dtype=np.int64)


def dice_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dice coefficient 2|A and B| / (|A| + |B|) row by row of two packed uint8 matrices
    (or a matrix and one filter, broadcast). Two empty filters give 0.0."""
    a = np.atleast_2d(np.asarray(a, dtype=np.uint8))
    b = np.atleast_2d(np.asarray(b, dtype=np.uint8))
    if a.shape[-1] != b.shape[-1]:
        raise PrivacyError("Bloom filters of different lengths cannot be compared",
                           reason="bad_bloom_column", fix="encode every site with the same parameters")
    both = _popcount(a & b)
    total = _popcount(a) + _popcount(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2.0 * both / np.maximum(total, 1), 0.0)
