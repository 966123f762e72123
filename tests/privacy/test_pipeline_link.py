"""Linking pseudonymised data: Bloom Dice levels, MinHash blocking keys, preset selection,
key checks, and accuracy against plain linkage on synthetic records (issue 6)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stairs_link.errors import LinkageError
from stairs_link.linkage import LinkageConfig, link_table
from stairs_link.linkage.bloom_comparisons import (
    compare_bloom,
    config_for_person,
    is_pseudonymised,
    minhash_key_codes,
    pseudonymisation_of,
)
from stairs_link.linkage.config import Comparison
from stairs_link.linkage.evaluate import evaluate_clusters
from stairs_link.linkage.prepare import Features
from stairs_link.privacy import pseudonymise_frame
from stairs_link.privacy.keys import SecretKey
from stairs_link.privacy.record_keys import pseudonymised_record_keys

KEY = SecretKey(bytes(range(1, 33)))


def _names_frame(pairs: list[tuple[str | None, str | None]]) -> pd.DataFrame:
    n = len(pairs)
    plain = pd.DataFrame({
        "record_key": [f"s:x:{k}" for k in range(n)], "site_id": "s", "source_system": "x",
        "given_name": [p[0] for p in pairs], "family_name": [p[1] for p in pairs],
    })
    return pseudonymise_frame("person", plain, KEY)


def test_bloom_levels_exact_typo_swap_missing():
    frame = _names_frame([("JONATHAN", "SMITH"), ("JONATHAN", "SMITH"), ("JONATHON", "SMITH"),
                          ("SMITH", "JONATHAN"), ("KWAME", "OSEI"), (None, "SMITH")])
    comp = Comparison("given_name", "bloom", "given_name_bf", other_column="family_name_bf",
                      thresholds=(0.95, 0.85, 0.7))
    levels = comp.levels()
    assert levels == ["else", "dice>=0.7", "dice>=0.85", "swap", "dice>=0.95", "exact"]
    i = np.array([0, 0, 0, 0, 0], dtype=np.int32)
    j = np.array([1, 2, 3, 4, 5], dtype=np.int32)
    gamma = compare_bloom(comp, Features(frame), i, j)
    labels = [levels[g] if g >= 0 else "missing" for g in gamma]
    assert labels[0] == "exact"
    assert labels[1] in ("dice>=0.7", "dice>=0.85")  # one letter changed in 8
    assert labels[2] == "swap"
    assert labels[3] == "else"
    assert labels[4] == "missing"


def test_minhash_bands_agree_for_equal_and_mostly_for_similar_names():
    frame = _names_frame([("CHRISTOPHER", "A"), ("CHRISTOPHER", "B"), ("CHRISTOPHR", "C"),
                          ("MOHAMMED", "D"), (None, "E")])
    feats = Features(frame)
    keys = np.stack([minhash_key_codes(feats, "given_name_bf", f"minhash{b}") for b in range(8)], axis=1)
    assert (keys[0] == keys[1]).all()
    assert (keys[4] == -1).all()
    assert (keys[0] == keys[3]).sum() == 0  # an unrelated name shares none here
    with pytest.raises(LinkageError):
        minhash_key_codes(feats, "given_name_bf", "minhash9")
    # A band is 4 minima, so a near-identical name (Jaccard J of the encodings) shares it with
    # probability J**4: over these one-letter-or-so variants, several share a band and the
    # shared bands outnumber those of unrelated pairs by far.
    pairs = [("CHRISTOPHER", "CHRISTOPHR"), ("JONATHAN", "JONATHON"), ("KATHERINE", "CATHERINE"),
             ("MOHAMMED", "MOHAMED"), ("ELIZABETH", "ELISABETH"), ("STEPHEN", "STEVEN"),
             ("ALEXANDER", "ALEXANDRA"), ("NICHOLAS", "NICOLAS"), ("MATTHEW", "MATHEW"),
             ("REBECCA", "REBEKAH"), ("PHILIP", "PHILLIP"), ("JACQUELINE", "JACKELINE")]
    names = [n for pair in pairs for n in pair]
    feats = Features(_names_frame([(n, "A") for n in names]))
    keys = np.stack([minhash_key_codes(feats, "given_name_bf", f"minhash{b}") for b in range(8)], axis=1)
    near = [(keys[2 * i] == keys[2 * i + 1]).sum() for i in range(len(pairs))]
    unrelated = [(keys[2 * i] == keys[(2 * i + 5) % len(names)]).sum() for i in range(len(pairs))]
    assert sum(n > 0 for n in near) >= 3, near
    assert sum(near) > 3 * max(sum(unrelated), 1), (near, unrelated)


def test_minhash_keeps_the_less_common_half_of_diffused_encodings(monkeypatch):
    import stairs_link.linkage.bloom_comparisons as bc
    from stairs_link.linkage.blocking import count_pairs
    from stairs_link.privacy import PrivacyParams
    from stairs_link.synth import person_records

    person, _ = person_records(400, 1)
    shares = {}
    for scheme, params in (("v1", PrivacyParams.v1()), ("v2", PrivacyParams())):
        counts, records = bc.bit_counts(Features(pseudonymise_frame("person", person, KEY, params)), "given_name_bf")
        shares[scheme] = counts / records
    # v1: many set bits are rare, the 10% rule stands; v2 (diffusion): hardly any bit is under
    # 10%, so the rule keeps the bits at or under the median share instead
    assert bc.max_bit_share(shares["v1"]) == bc.MINHASH_MAX_BIT_SHARE
    used = shares["v2"][shares["v2"] > 0]
    assert bc.max_bit_share(shares["v2"]) == pytest.approx(float(np.median(used)))
    assert bc.max_bit_share(shares["v2"]) > 0.2
    # ... which makes v2's bands more selective than the fixed 10% rule (most signatures
    # falling back to all their bits)
    enc = pseudonymise_frame("person", person, KEY, PrivacyParams())

    def pairs() -> int:
        feats, total = Features(enc), 0
        for column in ("given_name_bf", "family_name_bf"):
            for b in range(3):
                key = minhash_key_codes(feats, column, f"minhash{b}")
                total += count_pairs(np.where(key >= 0, pd.factorize(key)[0], -1))
        return total

    adaptive = pairs()
    monkeypatch.setattr(bc, "MINHASH_MIN_KEPT", 0.0)  # the fixed 10% rule alone
    assert adaptive < 0.8 * pairs()


def test_preset_is_picked_for_pseudonymised_tables_only():
    from stairs_link.synth import person_records

    person, _ = person_records(40, 3)
    pseudo = pseudonymise_frame("person", person, KEY)
    assert is_pseudonymised(pseudo) and not is_pseudonymised(person)
    assert any(c.kind == "bloom" for c in config_for_person(pseudo).comparisons)
    assert not any(c.kind == "bloom" for c in config_for_person(person).comparisons)


def _f1(person: pd.DataFrame, truth: pd.DataFrame, config: LinkageConfig | None) -> tuple[float, dict]:
    out = link_table(person, config)
    return evaluate_clusters(out.clusters, truth)["f1"], out.model


def test_pseudonymised_linkage_close_to_plain_on_synthetic_records():
    from stairs_link.synth import person_records

    person, truth = person_records(600, 11)
    plain_f1, _ = _f1(person, truth, None)
    pseudo = pseudonymise_frame("person", person, KEY)
    pseudo_truth = truth.assign(record_key=pseudonymised_record_keys(truth["record_key"], KEY))
    pseudo_f1, model = _f1(pseudo, pseudo_truth, None)  # config chosen from the table
    print(f"\nsynthetic {len(person)} records: plain F1 {plain_f1:.4f}, pseudonymised F1 {pseudo_f1:.4f}")
    assert {c["kind"] for c in model["config"]["comparisons"]} >= {"bloom", "identifier", "exact"}
    assert pseudo_f1 > 0.97
    assert plain_f1 - pseudo_f1 < 0.01  # target (bench): within 0.005; a small sample is noisier


def test_a_different_key_links_nothing_across_keys():
    """Records encoded under two keys share no token or filter: linked only within a key."""
    from stairs_link.synth import person_records

    person, _ = person_records(150, 5)
    other = SecretKey(bytes(range(100, 132)))
    first = pseudonymise_frame("person", person, KEY)
    second = pseudonymise_frame("person", person.assign(record_key="k2:" + person["record_key"]), other)
    both = pd.concat([first, second], ignore_index=True)
    config = config_for_person(first)
    clusters = link_table(both, config).clusters
    origin = np.where(clusters["record_key"].str.startswith("k2:"), 2, 1)
    mixed = pd.Series(origin).groupby(clusters["cluster_id"].to_numpy()).nunique()
    assert (mixed == 1).all()


def _staged_dir(path: Path, entry: dict | None) -> Path:
    path.mkdir(parents=True)
    manifest = {"site_id": "s"} | ({"pseudonymisation": entry} if entry else {})
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return path


def test_staged_dirs_with_mixed_modes_or_keys_are_refused(tmp_path):
    entry = {"key_id": "aaaa", "params": {"token_length": 32}}
    a = _staged_dir(tmp_path / "a", entry)
    assert pseudonymisation_of([a, _staged_dir(tmp_path / "b", dict(entry))]) == entry
    with pytest.raises(LinkageError, match="different keys"):
        pseudonymisation_of([a, _staged_dir(tmp_path / "c", {**entry, "key_id": "bbbb"})])
    with pytest.raises(LinkageError, match="different encoding parameters"):
        pseudonymisation_of([a, _staged_dir(tmp_path / "d", {**entry, "params": {"token_length": 16}})])
    with pytest.raises(LinkageError, match="pseudonymised and others are not"):
        pseudonymisation_of([a, _staged_dir(tmp_path / "e", None)])
    assert pseudonymisation_of([_staged_dir(tmp_path / "f", None)]) is None


def test_staged_dirs_of_different_encoding_schemes_are_refused(tmp_path):
    """Manifests record the encoding scheme and version; v1 (before issue 18) and v2 do not mix."""
    from stairs_link.linkage.bloom_comparisons import encoding_of
    from stairs_link.privacy import PrivacyParams, pseudonymisation_manifest

    new = pseudonymisation_manifest(KEY)
    assert new["encoding"] == {"scheme": "stairs-link-bloom", "version": 2}
    old = {**new, "params": PrivacyParams.v1().to_dict()}
    del old["encoding"]  # manifests written before issue 18 have no "encoding" entry
    assert encoding_of(old) == {"scheme": "stairs-link-bloom", "version": 1}
    a, b = _staged_dir(tmp_path / "a", new), _staged_dir(tmp_path / "b", old)
    with pytest.raises(LinkageError, match="different encoding schemes") as info:
        pseudonymisation_of([a, b])
    assert info.value.reason == "different_encoding_scheme"
    assert "stairs-link-bloom v2" in str(info.value) and "stairs-link-bloom v1" in str(info.value)
