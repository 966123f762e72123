"""Attacks on Bloom-filter encodings by someone who holds the encodings but not the key.

These exist so that an encoding can be *measured*: ``bench/bench_attacks.py`` runs them on
synthetic data at several sizes, ``tests/privacy/test_attacks.py`` checks that they break
the old encoding and not the default one, and a linkage unit can run them on its own
encodings before it releases them. They live in the package (not in ``bench/``) because the
test and the benchmark both need them and an audit of real encodings is a legitimate use.

The attacker's knowledge is the strongest realistic one (see docs/privacy.md): the encoded
columns, the public encoding parameters from the manifest, the clear columns (sex, year of
birth, ...) and a list of values in use in a comparable population, with their frequencies.
Never the key.

* :func:`frequency_attack`: the most frequent encoding is the most frequent public value, and
  so on down the ranks (Kuzu, Kantarcioglu, Durham & Malin 2011), optionally within strata of
  a clear column (year of birth for dates).
* :func:`pattern_mining_attack`, after Christen, Ranbaduge, Vatsalan & Schnell (2018),
  "Precise and fast cryptanalysis for Bloom filter based privacy-preserving record linkage":
  bit positions set together in every encoding that holds one n-gram are mined into *atoms*
  (each the ``k`` positions of one n-gram; see :func:`mine_atoms`); atoms are labelled with n-grams by matching their co-occurrence
  graph to the public list's n-gram co-occurrence graph: a conditional frequency alignment
  gives seeds, seeded graph matching of co-occurrence profiles (scipy's linear assignment)
  labels the rest, and a value-level hard-EM checks the labels against whole values (scipy's
  ``quadratic_assignment`` was tried and labelled under 10% of the atoms); each encoding's
  set of labelled atoms is then matched against the candidate values (the public list, all
  dates of the record's clear year of birth) and, for non-positional n-grams, rebuilt as a
  string by chaining its bigrams when no candidate fits exactly. Balanced filters are undone
  first: every bit has an exact complement partner, and the sparser one of each pair is kept.

The number a benchmark reports is :func:`reidentification_rate`: the share of records whose
value the attacker names exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stairs_link.privacy.bloom import BloomParams, bloom_matrix, ngrams


@dataclass
class AttackReport:
    """What one attack produced: a guess per record (None = no guess) per attacked column,
    and what the attacker saw on the way (for the benchmark's notes)."""

    guesses: list[np.ndarray]
    atoms: int = 0
    labelled: int = 0
    seconds: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)


def reidentification_rate(guesses: np.ndarray, truth: Any) -> float:
    """Share of records (with a true value) whose value the attacker guessed exactly."""
    truth = pd.Series(truth).astype("string").to_numpy(dtype=object, na_value=None)
    has = np.array([t is not None for t in truth])
    if not has.any():
        return 0.0
    right = np.array([g is not None and g == t for g, t in zip(guesses, truth, strict=True)])
    return float((right & has).sum() / has.sum())


# --------------------------------------------------------------------------- frequency

def frequency_attack(encodings: pd.Series, public: pd.Series, strata: pd.Series | None = None,
                     public_strata: pd.Series | None = None) -> AttackReport:
    """Rank-align distinct encodings with public values by frequency (within strata if given).

    Ties in either ranking are broken arbitrarily (stably), as an attacker would have to."""
    start = time.perf_counter()
    enc = _as_bytes(encodings)
    strata = pd.Series([None] * len(enc)) if strata is None else pd.Series(strata).reset_index(drop=True)
    public = pd.Series(public).reset_index(drop=True).astype("string")
    public_strata = (pd.Series([None] * len(public)) if public_strata is None
                     else pd.Series(public_strata).reset_index(drop=True))
    guesses = np.full(len(enc), None, dtype=object)
    frame = pd.DataFrame({"enc": enc, "stratum": strata.astype("string").fillna("~")})
    pub = pd.DataFrame({"value": public, "stratum": public_strata.astype("string").fillna("~")}).dropna()
    ranked_public = {s: g["value"].value_counts(sort=True).index.tolist() for s, g in pub.groupby("stratum")}
    for stratum, group in frame[frame["enc"].notna()].groupby("stratum"):
        values = ranked_public.get(stratum, [])
        counts = group["enc"].value_counts(sort=True)
        lookup = dict(zip(counts.index, values, strict=False))
        guesses[group.index.to_numpy()] = group["enc"].map(lookup).to_numpy(dtype=object)
    guesses = np.array([g if isinstance(g, str) else None for g in guesses], dtype=object)
    return AttackReport([guesses], seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------- pattern mining

def _as_bytes(s: pd.Series) -> pd.Series:
    values = pd.Series(s).reset_index(drop=True).astype(object)
    return values.where(values.notna(), None).map(lambda v: bytes(v) if v is not None else None)


def _distinct_bits(columns: Sequence[pd.Series]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Distinct encodings over all columns as a bool matrix, their record counts, and the
    code (row of the matrix, -1 missing) of every record of every column."""
    pooled = pd.concat([_as_bytes(c) for c in columns], ignore_index=True)
    codes, uniques = pd.factorize(pooled, use_na_sentinel=True)
    matrix, _ = bloom_matrix(pd.Series(list(uniques), dtype=object))
    bits = np.unpackbits(matrix, axis=1).astype(bool)
    weights = np.bincount(codes[codes >= 0], minlength=len(bits)).astype(np.float64)
    out, at = [], 0
    for c in columns:
        out.append(codes[at:at + len(c)])
        at += len(c)
    return bits, weights, out


def undo_balanced(bits: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, bool]:
    """If every encoding has the same number of ones and the bit columns pair up into exact
    complements (a balanced filter: the filter plus its permuted complement), keep the sparser
    column of each pair: that is the original filter, permuted. Otherwise return ``bits``."""
    ones = bits.sum(axis=1)
    if len(bits) < 2 or ones.min() != ones.max() or bits.shape[1] % 2:
        return bits, False
    n = len(bits)
    share = bits.sum(axis=0)
    # orient every column towards its sparser form (exactly half set: first bit 0)
    flip = (share > n - share) | ((share * 2 == n) & bits[0])
    oriented = np.packbits(np.where(flip[None, :], ~bits, bits).T, axis=1)
    _, group = np.unique(oriented, axis=0, return_inverse=True)
    group = group.ravel()
    as_is = np.bincount(group[~flip], minlength=group.max() + 1)
    flipped = np.bincount(group[flip], minlength=group.max() + 1)
    if not np.array_equal(as_is, flipped):  # not every column has its complement: not balanced
        return bits, False
    keep = np.flatnonzero(~flip)
    return bits[:, keep], True


def _pack_columns(bits: np.ndarray) -> np.ndarray:
    """Bit columns packed into uint64 words: (positions, ceil(n / 64))."""
    n = len(bits)
    padded = np.zeros((bits.shape[1], -(-n // 64) * 64), dtype=bool)
    padded[:, :n] = bits.T
    return np.packbits(padded, axis=1, bitorder="little").view(np.uint64)


def _popcount(words: np.ndarray) -> np.ndarray:
    return np.bitwise_count(words).sum(axis=-1, dtype=np.int64)


def _distinct_atoms(atoms: list[tuple[np.ndarray, np.ndarray]], target: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """One atom per n-gram: atoms closest to the expected size first; an atom sharing half its
    positions with one already kept is the same n-gram (or it joined with others) and is
    dropped."""
    order = sorted(range(len(atoms)), key=lambda i: (abs(len(atoms[i][0]) - target), -_popcount(atoms[i][1])))
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    for i in order:
        members, support = atoms[i]
        mine = set(members.tolist())
        if any(len(mine.intersection(other.tolist())) * 2 > min(len(mine), len(other)) for other, _ in kept):
            continue
        kept.append((members, support))
    return kept


def mine_atoms(bits: np.ndarray, min_bits: int = 2, min_support: int = 2, rounds: int = 6,
               seed: int = 8, max_bits: int | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Atoms: sets of bit positions that are set together in exactly the encodings holding one
    n-gram (its ``k`` positions, less the ones another n-gram also sets).

    Mining from seeds: a position p and the ``seed`` positions set together with it most often
    are, for the n-gram that sets p most often, that n-gram's other positions; the encodings
    with all of them set are the encodings holding it (its support), and the positions set in
    every one of those encodings are the atom. Each round seeds every position on what the
    atoms found so far do not explain (its residual column), so less frequent n-grams are
    found after the frequent ones.
    Returns the presence matrix (encodings x atoms) and each atom's positions."""
    n, width = bits.shape
    if n < min_support:
        return np.zeros((n, 0), dtype=bool), []
    cols = _pack_columns(bits)
    universal: np.ndarray = np.asarray(bits.all(axis=0), dtype=bool)
    explained = np.zeros_like(cols)
    found: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
    for _ in range(rounds):
        residual = cols & ~explained
        res_count = _popcount(residual)
        if res_count.max(initial=0) < min_support:
            break
        unpacked = np.unpackbits(residual.view(np.uint8), axis=1, bitorder="little")[:, :n].astype(np.float32)
        co = unpacked @ unpacked.T
        # partners by Jaccard, so that positions set almost everywhere (the century digits of
        # every date of birth) are not everybody's partner
        size = np.diag(co).copy()
        co = co / np.maximum(size[:, None] + size[None, :] - co, 1)
        np.fill_diagonal(co, -1)
        new = 0
        for p in np.flatnonzero(res_count >= min_support):
            partners = np.argsort(-co[p], kind="stable")[:seed]
            support = np.bitwise_and.reduce(cols[[p, *partners]], axis=0)
            size = _popcount(support)
            if size < min_support:
                continue
            members = np.flatnonzero(_popcount(cols & support) == size)
            if not universal[members].all():  # positions set in every encoding join every atom
                members = members[~universal[members]]
            if len(members) < min_bits or (max_bits and len(members) > max_bits):
                continue
            key = np.packbits(np.isin(np.arange(width), members)).tobytes()
            if key not in found:
                found[key] = (members, support)
                new += 1
        for members, support in found.values():
            explained[members] |= support
        if not new:
            break
    atoms = _distinct_atoms(list(found.values()), target=(min_bits + (max_bits or 2 * min_bits)) / 2)
    if not atoms:
        return np.zeros((n, 0), dtype=bool), []
    presence = np.stack([np.unpackbits(support.view(np.uint8), bitorder="little")[:n].astype(bool)
                         for _, support in atoms], axis=1)
    return presence, [members for members, _ in atoms]


def _cooccurrence(presence: np.ndarray, weights: np.ndarray) -> np.ndarray:
    p = presence.astype(np.float64)
    total = max(weights.sum(), 1.0)
    return (p.T * weights) @ p / total


def _public_grams(public: pd.Series, params: BloomParams) -> tuple[list[str], np.ndarray, np.ndarray]:
    counts = pd.Series(public).dropna().astype(str).value_counts()
    gram_lists = [ngrams(v, params) for v in counts.index]
    vocabulary = sorted({g for grams in gram_lists for g in grams})
    gram_id = {g: i for i, g in enumerate(vocabulary)}
    presence = np.zeros((len(counts), len(vocabulary)), dtype=bool)
    for row, grams in enumerate(gram_lists):
        presence[row, [gram_id[g] for g in grams]] = True
    return vocabulary, presence, counts.to_numpy(dtype=np.float64)


def label_atoms(atom_presence: np.ndarray, weights: np.ndarray, public: pd.Series,
                params: BloomParams, min_weight: float = 2.0, rounds: int = 20,
                known: np.ndarray | None = None, known_grams: Sequence[str] = ()) -> list[str | None]:
    """A label (n-gram) per atom by conditional frequency alignment (the labelling step of
    Christen et al. 2018): the most frequent atom among the encodings is the most frequent
    n-gram among the public values; both sides are then split (encodings with / without that
    atom, values with / without that n-gram) and each half is aligned the same way, so that
    deeper down the rarer n-grams meet in small, distinctive contexts (e.g. "AN" among the
    names that end in "N"). Each alignment is a vote weighted by the records involved; the
    labels are the best one-to-one assignment of the votes (linear assignment), then refined
    by seeded graph matching (:func:`_profile_labels`) and a value-level hard-EM.

    ``known`` (encodings x ``known_grams``): n-grams the attacker can read off the clear
    columns (the year digits of a date of birth, from the clear year of birth); an atom present
    in the same encodings as one of them (Jaccard >= 0.95) gets its label first, as a seed."""
    from scipy.optimize import linear_sum_assignment

    vocabulary, gram_presence, gram_weights = _public_grams(public, params)
    n_atoms, n_grams = atom_presence.shape[1], len(vocabulary)
    if n_atoms == 0 or n_grams == 0:
        return [None] * n_atoms
    votes = np.zeros((n_atoms, n_grams))
    total_e, total_p = max(weights.sum(), 1.0), max(gram_weights.sum(), 1.0)
    stack = [(np.arange(len(atom_presence)), np.arange(len(gram_presence)),
              np.ones(n_atoms, dtype=bool), np.ones(n_grams, dtype=bool))]
    while stack:
        enc, pub, free_a, free_g = stack.pop()
        w_e, w_p = weights[enc], gram_weights[pub]
        if w_e.sum() < min_weight or w_p.sum() < min_weight or not free_a.any() or not free_g.any():
            continue
        share_a = np.where(free_a, w_e @ atom_presence[enc], -1.0) / w_e.sum()
        share_g = np.where(free_g, w_p @ gram_presence[pub], -1.0) / w_p.sum()
        a, g = int(share_a.argmax()), int(share_g.argmax())
        if share_a[a] <= 0 or share_g[g] <= 0:
            continue
        votes[a, g] += min(w_e.sum() / total_e, w_p.sum() / total_p)
        has_a, has_g = atom_presence[enc, a], gram_presence[pub, g]
        fa, fg = free_a.copy(), free_g.copy()
        fa[a], fg[g] = False, False
        stack.append((enc[has_a], pub[has_g], fa, fg))
        if share_a[a] < 1.0 and share_g[g] < 1.0:
            stack.append((enc[~has_a], pub[~has_g], fa, fg))
    rows, cols = linear_sum_assignment(votes, maximize=True)
    label = np.full(n_atoms, -1)
    label[rows] = np.where(votes[rows, cols] > 0, cols, -1)
    mass = np.zeros(n_atoms)
    mass[rows] = votes[rows, cols]
    if known is not None and len(known_grams):
        gram_id = {g: i for i, g in enumerate(vocabulary)}
        a, k = atom_presence.astype(np.float64) * weights[:, None], known.astype(np.float64)
        inter = a.T @ k
        union = a.sum(axis=0)[:, None] + (k * weights[:, None]).sum(axis=0)[None, :] - inter
        jaccard = inter / np.maximum(union, 1e-12)
        for atom in range(n_atoms):
            best = int(jaccard[atom].argmax())
            if jaccard[atom, best] >= 0.95 and known_grams[best] in gram_id:
                label[label == gram_id[known_grams[best]]] = -1
                label[atom] = gram_id[known_grams[best]]
                mass[atom] = 1e6 + jaccard[atom, best]
    label = _profile_labels(atom_presence, weights, gram_presence, gram_weights, label, mass)
    label = _refine_labels(atom_presence, weights, gram_presence, label, rounds)
    return [vocabulary[g] if g >= 0 else None for g in label]


def _profile_labels(atoms: np.ndarray, weights: np.ndarray, grams: np.ndarray, gram_weights: np.ndarray,
                    label: np.ndarray, mass: np.ndarray, first: int = 12, rounds: int = 12) -> np.ndarray:
    """Seeded graph matching: the atoms labelled with the most vote mass are seeds; every atom
    gets the n-gram whose co-occurrence profile with the seeds' n-grams (P(seed | n-gram) in
    the public list) is nearest to its own with the seed atoms (L1, plus the log-frequency
    difference), by linear assignment; the most confident matches (largest margin to the
    second-best n-gram) join the seeds, and so on until every atom is a seed."""
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    def conditional(presence: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        co = _cooccurrence(presence, w)
        freq = np.diag(co).copy()
        return co / np.maximum(freq[:, None], 1e-12), freq

    cond_a, freq_a = conditional(atoms, weights)
    cond_g, freq_g = conditional(grams, gram_weights)
    log_gap = np.abs(np.log(freq_a + 1e-6)[:, None] - np.log(freq_g + 1e-6)[None, :])
    seeds = [int(a) for a in np.argsort(-mass) if label[a] >= 0][:first]
    for _ in range(rounds):
        if not seeds:
            break
        cost = cdist(cond_a[:, seeds], cond_g[:, label[seeds]], "cityblock") + 0.5 * log_gap
        rows, cols = linear_sum_assignment(cost)
        new = np.full(len(label), -1)
        new[rows] = cols
        ordered = np.sort(cost, axis=1)
        margin = np.full(len(label), -np.inf)
        margin[rows] = (ordered[rows, 1] if cost.shape[1] > 1 else 0) - cost[rows, cols]
        margin[rows] = np.where(cost[rows, cols] <= ordered[rows, 0] + 1e-12, margin[rows], -np.inf)
        grow = max(len(seeds) * 3 // 2, len(seeds) + 4)
        label = np.where(new >= 0, new, label)
        seeds = [int(a) for a in np.argsort(-margin) if np.isfinite(margin[a]) and label[a] >= 0][:grow]
        if len(seeds) >= len(label):
            break
    return label


def _refine_labels(atoms: np.ndarray, weights: np.ndarray, grams: np.ndarray, label: np.ndarray,
                   rounds: int) -> np.ndarray:
    """Hard-EM on whole values: match every encoding to the public value whose n-grams best
    cover its labelled atoms (Dice), then relabel each atom with the n-gram the matched values
    hold most often where the atom is present (one-to-one, linear assignment). A value-level
    check the labels must pass, so that early mistakes of the frequency splitting are undone."""
    from scipy.optimize import linear_sum_assignment

    a = atoms.astype(np.float32)
    g = grams.astype(np.float32)
    g_size = g.sum(axis=1)
    chunk = max(1, 20_000_000 // max(len(g), 1))
    for _ in range(rounds):
        onehot = np.zeros((a.shape[1], g.shape[1]), dtype=np.float32)
        ok = label >= 0
        onehot[np.flatnonzero(ok), label[ok]] = 1.0
        mapped = a @ onehot  # encodings x grams: the n-grams their atoms are labelled with
        size = a.sum(axis=1)
        best = np.empty(len(a), dtype=np.int64)
        for lo in range(0, len(a), chunk):
            inter = mapped[lo:lo + chunk] @ g.T
            dice = 2 * inter / np.maximum(size[lo:lo + chunk, None] + g_size[None, :], 1)
            best[lo:lo + chunk] = dice.argmax(axis=1)
        votes = (a.T * weights) @ g[best]
        rows, cols = linear_sum_assignment(votes, maximize=True)
        new = np.full(len(label), -1)
        new[rows] = np.where(votes[rows, cols] > 0, cols, -1)
        if np.array_equal(new, label):
            break
        label = new
    return label


def chain_bigrams(grams: set[str]) -> str | None:
    """The string whose space-padded bigram set is ``grams``, if the bigrams chain from a
    leading to a trailing space through every bigram once (Hierholzer); else None."""
    if not grams or any(len(g) != 2 for g in grams):
        return None
    out_edges: dict[str, list[str]] = {}
    for g in sorted(grams):
        out_edges.setdefault(g[0], []).append(g[1])
    if " " not in out_edges:
        return None
    stack, path = [" "], []
    edges = {k: list(v) for k, v in out_edges.items()}
    while stack:
        node = stack[-1]
        if edges.get(node):
            stack.append(edges[node].pop())
        else:
            path.append(stack.pop())
    path.reverse()
    if len(path) != len(grams) + 1 or path[-1] != " " or path[0] != " ":
        return None
    text = "".join(path[1:-1])
    return text or None


def _match(labelled: np.ndarray, label_names: list[str], candidates: list[str], params: BloomParams,
           cand_strata: np.ndarray | None, rec_strata: np.ndarray | None, chain: bool) -> np.ndarray:
    """Best candidate per row of ``labelled`` (rows x labels): Jaccard of the row's label set
    with the candidate's n-grams among the labels; None when no candidate scores >= 0.6 and
    chaining does not rebuild the value."""
    out = np.full(len(labelled), None, dtype=object)
    if not candidates or labelled.shape[1] == 0:
        return out
    label_id = {g: i for i, g in enumerate(label_names)}
    cand = np.zeros((len(candidates), len(label_names)), dtype=np.float32)
    for row, value in enumerate(candidates):
        ids = [label_id[g] for g in ngrams(value, params) if g in label_id]
        cand[row, ids] = 1.0
    cand_size = cand.sum(axis=1)
    rows = labelled.astype(np.float32)
    row_size = rows.sum(axis=1)
    chunk = max(1, 20_000_000 // max(len(candidates), 1))
    for lo in range(0, len(rows), chunk):
        hi = min(lo + chunk, len(rows))
        inter = rows[lo:hi] @ cand.T
        union = row_size[lo:hi, None] + cand_size[None, :] - inter
        score = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        if cand_strata is not None and rec_strata is not None:
            score = np.where(cand_strata[None, :] == rec_strata[lo:hi, None], score, -1.0)
        best = score.argmax(axis=1)
        top = score[np.arange(hi - lo), best]
        for r in range(hi - lo):
            if top[r] >= 1.0 - 1e-9:
                out[lo + r] = candidates[best[r]]
                continue
            rebuilt = chain_bigrams({label_names[i] for i in np.flatnonzero(rows[lo + r])}) if chain else None
            if rebuilt:
                out[lo + r] = rebuilt
            elif top[r] >= 0.6:
                out[lo + r] = candidates[best[r]]
    return out


def pattern_mining_attack(
    columns: Sequence[pd.Series], params: BloomParams, public: pd.Series, *,
    candidates: Callable[[np.ndarray], tuple[list[str], np.ndarray | None]] | None = None,
    strata: Sequence[pd.Series] | None = None,
    known_grams: Callable[[str], list[str]] | None = None,
) -> AttackReport:
    """Pattern-mining attack on the encodings of one filter space (several columns pooled, as
    given and family names share one space).

    ``public``: values in use in a comparable population (one entry per record, so its
    frequencies count). ``candidates``: for fields whose values can be enumerated (dates),
    a function of the records' strata returning (candidate values, stratum per candidate);
    by default the distinct public values. ``strata``: a clear column per attacked column
    (year of birth for dates) that candidates must agree with. ``known_grams``: the n-grams a
    stratum gives away (the positional year digits of a year of birth), used to label atoms.
    """
    start = time.perf_counter()
    bits, weights, codes = _distinct_bits(columns)
    notes: dict[str, Any] = {"distinct_encodings": len(bits)}
    bits, balanced = undo_balanced(bits, weights)
    notes["balanced_undone"] = balanced
    presence, _ = mine_atoms(bits, min_bits=max(2, params.k // 2), max_bits=params.k * 3 // 2,
                             seed=max(1, params.k // 2))
    known, known_list = None, []
    if known_grams is not None and strata is not None:
        stratum_of = np.full(len(bits), "~", dtype=object)
        for col_codes, col_strata in zip(codes, strata, strict=True):
            values = pd.Series(col_strata).astype("string").fillna("~").to_numpy(dtype=object)
            stratum_of[col_codes[col_codes >= 0]] = values[col_codes >= 0]
        per_stratum = {st: known_grams(st) for st in set(stratum_of)}
        known_list = sorted({g for grams in per_stratum.values() for g in grams})
        index = {g: i for i, g in enumerate(known_list)}
        known = np.zeros((len(bits), len(known_list)), dtype=bool)
        for row, st in enumerate(stratum_of):
            known[row, [index[g] for g in per_stratum[st]]] = True
    labels = (label_atoms(presence, weights, public, params, known=known, known_grams=known_list)
              if presence.shape[1] else [])
    keep = [i for i, g in enumerate(labels) if g is not None]
    label_names = [str(labels[i]) for i in keep]
    labelled = presence[:, keep]
    chain = not params.positional and params.ngram == 2
    guesses = []
    for col, col_codes in enumerate(codes):
        record_strata = None if strata is None else pd.Series(strata[col]).astype("string").fillna("~").to_numpy()
        # one guess per distinct (encoding, stratum)
        key = pd.DataFrame({"code": col_codes, "stratum": record_strata if record_strata is not None else "~"})
        pairs, inverse = np.unique(key.to_numpy(dtype=str), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        pair_codes = pairs[:, 0].astype(np.int64)
        pair_strata = pairs[:, 1]
        if candidates is None:
            cand = pd.Series(public).dropna().astype(str).unique().tolist()
            cand_strata = None
        else:
            cand, cand_strata = candidates(np.unique(pair_strata))
        rows = np.where(pair_codes[:, None] >= 0, labelled[np.maximum(pair_codes, 0)], False)
        found = _match(rows, label_names, cand, params, cand_strata,
                       pair_strata if cand_strata is not None else None, chain)
        found[pair_codes < 0] = None
        guesses.append(found[inverse])
    return AttackReport(guesses, atoms=presence.shape[1], labelled=len(keep),
                        seconds=time.perf_counter() - start, notes=notes)


def year_digits(year: str) -> list[str]:
    """The positional digits of ``YYYYMMDD`` that a clear year of birth gives away."""
    return [f"{i}:{d}" for i, d in enumerate(str(year))] if str(year).isdigit() and len(str(year)) == 4 else []


def dates_of_years(years: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Every ``YYYYMMDD`` date of the given years (strings; "~" and non-years skipped), and
    the year of each: the candidates for a date-of-birth attack given the clear year."""
    values, strata = [], []
    for y in years:
        if not str(y).isdigit():
            continue
        days = pd.date_range(f"{int(y)}-01-01", f"{int(y)}-12-31", freq="D").strftime("%Y%m%d").tolist()
        values += days
        strata += [str(y)] * len(days)
    return values, np.array(strata, dtype=object)


__all__ = [
    "AttackReport",
    "chain_bigrams",
    "dates_of_years",
    "year_digits",
    "frequency_attack",
    "label_atoms",
    "mine_atoms",
    "pattern_mining_attack",
    "reidentification_rate",
    "undo_balanced",
]
