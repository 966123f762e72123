"""Bloom-filter encodings and Dice similarity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stairs_link.errors import PrivacyError
from stairs_link.privacy import DATE_PARAMS, BloomParams, bloom_encode, bloom_matrix, dice_similarity, ngrams

KEY = bytes(range(32))
OTHER_KEY = bytes(range(100, 132))


def _bigram_dice(a: str, b: str) -> float:
    ga, gb = set(ngrams(a, BloomParams())), set(ngrams(b, BloomParams()))
    return 2 * len(ga & gb) / (len(ga) + len(gb))


def test_ngrams() -> None:
    assert ngrams("ANN", BloomParams()) == [" A", "AN", "NN", "N "]
    assert ngrams("AAAA", BloomParams()) == [" A", "AA", "A "]  # a set: repeats counted once
    assert ngrams("SMITH", BloomParams(ngram=3)) == ["  S", " SM", "SMI", "MIT", "ITH", "TH ", "H  "]
    assert ngrams("20090403", DATE_PARAMS)[:3] == ["0:2", "1:0", "2:0"]


def test_encode_shape_nulls_blanks_and_determinism() -> None:
    s = pd.Series(["SMITH", None, "", "SMITH", "JONES"], index=list("abcde"))
    out = bloom_encode(s, KEY, "family_name")
    assert out.index.tolist() == list("abcde")
    assert out.dtype == pd.ArrowDtype(pa.binary())
    assert {len(v) for v in out.dropna()} == {128}
    assert out.isna().tolist() == [False, True, True, False, False]
    matrix, valid = bloom_matrix(out)
    assert matrix.shape == (5, 128)
    assert valid.tolist() == [True, False, False, True, True]
    assert (matrix[1] == 0).all()
    assert (matrix[0] == matrix[3]).all()
    again, _ = bloom_matrix(bloom_encode(s, KEY, "family_name"))
    assert (again == matrix).all()
    # bits set: at least one; at most k per distinct bigram, times the diffusion (XOR of inputs)
    bits = np.unpackbits(matrix[0]).sum()
    assert 1 <= bits <= 20 * BloomParams().diffusion * len(ngrams("SMITH", BloomParams()))  # each of k bits feeds ~diffusion outputs


@pytest.mark.parametrize("scheme", ["v1", "v2"])
def test_dice_tracks_plaintext_bigram_similarity(scheme: str) -> None:
    from scipy.stats import spearmanr

    params = BloomParams(hashing="double", diffusion=0) if scheme == "v1" else BloomParams()
    pairs = [("SMITH", "SMYTH"), ("CATHERINE", "KATHERINE"), ("MOHAMMED", "MUHAMMAD"), ("SMITH", "JONES"),
             ("OBRIEN", "OBRIAN"), ("ANNA", "HANNAH")]
    left = bloom_matrix(bloom_encode(pd.Series([a for a, _ in pairs]), KEY, "given_name", params))[0]
    right = bloom_matrix(bloom_encode(pd.Series([b for _, b in pairs]), KEY, "given_name", params))[0]
    dice = dice_similarity(left, right)
    plain = np.array([_bigram_dice(a, b) for a, b in pairs])
    if scheme == "v1":
        # Bloom Dice over-estimates by at most about the filter's fill rate (hash collisions:
        # ~12 bigrams x 20 bits set ~11% of 1024 bits) and keeps the order of the plaintext Dice.
        assert np.all(dice >= plain - 0.02) and np.all(dice - plain < 0.2), (dice, plain)
        assert np.array_equal(np.argsort(dice), np.argsort(plain))
        assert dice[3] < 0.25 < dice[0]
    else:
        # Diffusion (each output bit the XOR of 3 inputs) fills ~25% of the bits, so unrelated
        # names score ~0.3 instead of ~0.1; similar names stay close to their plaintext Dice and
        # the order is kept up to near-ties.
        assert np.all(dice >= plain - 0.05) and np.all(dice - plain < 0.3), (dice, plain)
        assert spearmanr(dice, plain).statistic > 0.9
        assert dice[3] < 0.35 < dice[[0, 1, 2, 4, 5]].min()
    assert dice_similarity(left, left).tolist() == [1.0] * len(pairs)


@pytest.mark.parametrize("params", [BloomParams(hashing="double", diffusion=0), BloomParams()])
def test_key_and_field_separation(params: BloomParams) -> None:
    names = pd.Series(["SMITH", "PATEL", "NGUYEN", "WILLIAMS"])
    base = bloom_matrix(bloom_encode(names, KEY, "family_name", params))[0]
    other_key = bloom_matrix(bloom_encode(names, OTHER_KEY, "family_name", params))[0]
    other_field = bloom_matrix(bloom_encode(names, KEY, "given_name", params))[0]
    # Without the shared key the same name looks like an unrelated one (v1 ~0.1, v2 ~0.3:
    # below every Dice level of the pseudonymised preset)
    limit = 0.3 if params.diffusion == 0 else 0.45
    assert np.all(dice_similarity(base, other_key) < limit)
    assert np.all(dice_similarity(base, other_field) < limit)


def test_balanced_filters_have_constant_weight_and_keep_order() -> None:
    params = BloomParams(balanced=True)
    names = pd.Series(["SMITH", "SMYTH", "JONES", "AL"])
    matrix = bloom_matrix(bloom_encode(names, KEY, "family_name", params))[0]
    assert matrix.shape == (4, 256)
    assert np.bitwise_count(matrix).sum(axis=1).tolist() == [1024] * 4
    sims = dice_similarity(matrix[[0, 0]], matrix[[1, 2]])
    assert sims[0] > sims[1]


def test_matrix_reads_back_from_parquet_as_bytes(tmp_path: Path) -> None:
    enc = bloom_encode(pd.Series(["SMITH", None, "JONES"]), KEY, "family_name")
    frame = pd.DataFrame({"family_name_bf": enc})
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "t.parquet")
    back = pq.read_table(tmp_path / "t.parquet").to_pandas()["family_name_bf"]
    as_bytes = pd.Series(back.tolist(), dtype=object)  # how another tool might hand it over
    m1, v1 = bloom_matrix(enc)
    for other in (back, as_bytes):
        m2, v2 = bloom_matrix(other)
        assert (m1 == m2).all() and (v1 == v2).all()


def test_dice_edge_cases() -> None:
    empty = np.zeros((2, 16), dtype=np.uint8)
    assert dice_similarity(empty, empty).tolist() == [0.0, 0.0]
    one = np.full(16, 255, dtype=np.uint8)
    assert dice_similarity(np.stack([one, empty[0]]), one).tolist() == [1.0, 0.0]  # broadcast
    with pytest.raises(PrivacyError):
        dice_similarity(np.zeros((1, 16), np.uint8), np.zeros((1, 8), np.uint8))


def test_params_validate_and_round_trip() -> None:
    for bad in ({"length": 100}, {"k": 0}, {"ngram": 9}):
        with pytest.raises(PrivacyError):
            BloomParams(**bad)
    params = BloomParams(length=512, k=15, ngram=3, balanced=True)
    described = params.to_dict()
    assert BloomParams.from_dict(described) == params
    assert described["scheme"] == "stairs-link-bloom-v2"
    old = BloomParams(hashing="double", diffusion=0)
    assert old.to_dict()["scheme"] == "stairs-link-bloom-v1" and BloomParams.from_dict(old.to_dict()) == old
    # a manifest written before scheme v2 has neither field: it is read as v1
    legacy = {k: v for k, v in old.to_dict().items() if k not in ("hashing", "diffusion")}
    assert BloomParams.from_dict(legacy) == old


def test_popcount_fallback_matches_bitwise_count(monkeypatch: pytest.MonkeyPatch) -> None:
    from stairs_link.privacy import bloom

    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, size=(50, 128), dtype=np.uint8)
    fast = bloom._popcount(x)
    assert fast.tolist() == np.unpackbits(x, axis=1).sum(axis=1).tolist()
    monkeypatch.delattr(np, "bitwise_count")
    assert bloom._popcount(x).tolist() == fast.tolist()


def test_blip_flips_bits_per_record_and_states_its_epsilon() -> None:
    import math

    params = BloomParams(flip=0.05)
    names = pd.Series(["SMITH"] * 200 + [None])
    matrix, valid = bloom_matrix(bloom_encode(names, KEY, "family_name", params))
    exact = bloom_matrix(bloom_encode(names, KEY, "family_name"))[0]
    assert not valid[-1] and (matrix[-1] == 0).all()
    assert len({m.tobytes() for m in matrix[:-1]}) == 200  # equal names, no equal encodings
    flipped = np.unpackbits(matrix[:-1] ^ exact[:-1], axis=1).mean()
    assert 0.04 < flipped < 0.06
    assert params.blip_epsilon() == pytest.approx(20 * 3 * math.log(0.95 / 0.05))
    assert BloomParams().blip_epsilon() is None
    with pytest.raises(PrivacyError):
        BloomParams(flip=0.5)
