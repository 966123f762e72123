"""Realistic, seeded, per-record damage, vectorised over whole columns.

Every rate lives in :class:`DamageConfig` with its default and the reason for it. The rates
describe how records go wrong in administrative systems; they are deliberately *not* tuned
to make any linkage method look good. String damage (typos) works on fixed-width numpy
unicode arrays viewed as code-point matrices, so insert/delete/substitute/transpose run as
array gathers over all damaged records at once, with no per-record Python loop.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class DamageConfig:
    """Per-record damage rates (probability that one record shows the fault).

    Defaults are rough, plausible figures for hand-keyed administrative records of children
    (data-quality audits of NHS and local authority systems typically find a few per cent of
    names or dates of birth differing between systems); they are not measurements.
    """

    given_typo: float = 0.04  # one keying error (insert/delete/substitute/transpose) in the given name
    family_typo: float = 0.04  # the same in the family name
    nickname: float = 0.06  # given name recorded as a short form (where one is known: Alex, Mo, Seun)
    transliteration: float = 0.10  # another spelling of a name with several (Mohammed/Muhammad, Nguyen/Nguyễn)
    name_swap: float = 0.012  # given and family names entered the wrong way round
    alt_family_name: float = 0.45  # for children known by two family names: record uses the other one
    middle_dropped: float = 0.35  # child has a middle name but this record lacks it
    middle_in_given: float = 0.03  # middle name keyed into the given-name field ("John Paul")
    dob_day_month_swap: float = 0.012  # 03/07 keyed as 07/03 (only where the day is <= 12)
    dob_digit_typo: float = 0.015  # one digit of day, month or year wrong
    dob_missing: float = 0.004  # date of birth blank
    sex_missing: float = 0.02  # sex blank or "not known"
    sex_wrong: float = 0.003  # the other sex recorded
    ethnicity_missing: float = 0.08  # not stated / not known
    ethnicity_other_code: float = 0.06  # another code in the same or a neighbouring group
    postcode_moved: float = 0.5  # for children who moved: record holds the newer address
    postcode_typo: float = 0.01  # one character of the postcode wrong
    id_mistyped: float = 0.02  # an identifier keyed with a wrong or transposed digit (fails its check)
    id_wrong_valid: float = 0.002  # a valid identifier of another child (e.g. a sibling's)
    ascii_fold: float = 0.5  # accents lost on entry (systems in cp1252 or ASCII fold always)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


_LOWER = np.frombuffer("abcdefghijklmnopqrstuvwxyz".encode("utf-32-le"), dtype=np.uint32)
_UPPERC = np.frombuffer("ABCDEFGHIJKLMNOPQRSTUVWXYZ".encode("utf-32-le"), dtype=np.uint32)


def _as_matrix(values: np.ndarray, extra: int = 1) -> tuple[np.ndarray, int]:
    """Strings -> (n, width) uint32 code-point matrix, with ``extra`` spare columns."""
    arr = np.asarray(values, dtype=str)
    width = max(arr.dtype.itemsize // 4, 1) + extra
    arr = arr.astype(f"<U{width}")
    return arr.view(np.uint32).reshape(len(arr), width).copy(), width


def _from_matrix(matrix: np.ndarray) -> np.ndarray:
    width = matrix.shape[1]
    return np.ascontiguousarray(matrix).view(f"<U{width}").ravel().astype(object)


def typos(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random keying error per string: substitute, delete, insert or transpose.

    Letters typed keep the case of their neighbour. Strings of length < 2 get an insertion.
    """
    n = len(values)
    if n == 0:
        return np.asarray(values, dtype=object)
    m, width = _as_matrix(values, extra=1)
    length = (m != 0).sum(axis=1)
    op = rng.integers(0, 4, n)
    op = np.where(length < 2, 2, op)
    pos = (rng.random(n) * np.maximum(length - (op == 3), 1)).astype(np.int64)
    rows = np.arange(n)
    ref = m[rows, np.minimum(pos, np.maximum(length - 1, 0))]
    upper = (ref >= 65) & (ref <= 90)
    letter_idx = rng.integers(0, 26, n)
    letter = np.where(upper, _UPPERC[letter_idx], _LOWER[letter_idx])
    # substitution must change the character
    letter = np.where((op == 0) & (letter == ref), np.where(upper, _UPPERC[(letter_idx + 1) % 26],
                                                            _LOWER[(letter_idx + 1) % 26]), letter)
    cols = np.arange(width)[None, :]
    p = pos[:, None]
    src = cols.repeat(n, axis=0)
    src = np.where((op[:, None] == 1) & (cols >= p), np.minimum(cols + 1, width - 1), src)  # delete
    src = np.where((op[:, None] == 2) & (cols > p), cols - 1, src)  # insert
    src = np.where((op[:, None] == 3) & (cols == p), cols + 1, src)  # transpose
    src = np.where((op[:, None] == 3) & (cols == p + 1), cols - 1, src)
    out = np.take_along_axis(m, np.clip(src, 0, width - 1), axis=1)
    out[(op == 1), width - 1] = 0
    sub_or_ins = (op == 0) | (op == 2)
    out[rows[sub_or_ins], pos[sub_or_ins]] = letter[sub_or_ins]
    return _from_matrix(out)


def digit_typos(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Change one digit (or transpose two adjacent differing digits) in each string."""
    n = len(values)
    if n == 0:
        return np.asarray(values, dtype=object)
    m, width = _as_matrix(values, extra=0)
    is_digit = (m >= 48) & (m <= 57)
    count = is_digit.sum(axis=1)
    target = (rng.random(n) * np.maximum(count, 1)).astype(np.int64)
    # column of the target-th digit in each row
    rank = np.cumsum(is_digit, axis=1) - 1
    col = np.argmax(is_digit & (rank == target[:, None]), axis=1)
    rows = np.arange(n)
    old = m[rows, col] - 48
    new = (old + rng.integers(1, 10, n)) % 10 + 48
    out = m.copy()
    has = count > 0
    out[rows[has], col[has]] = new[has]
    # a third of the errors are transpositions of adjacent different digits instead
    nxt = np.minimum(col + 1, width - 1)
    swap = has & (rng.random(n) < 1 / 3) & is_digit[rows, nxt] & (m[rows, nxt] != m[rows, col]) & (nxt != col)
    out[rows[swap], col[swap]] = m[rows[swap], nxt[swap]]
    out[rows[swap], nxt[swap]] = m[rows[swap], col[swap]]
    return _from_matrix(out)


def lookup_variant(values: np.ndarray, table: dict[str, tuple[str, ...]], rng: np.random.Generator) -> np.ndarray:
    """Replace each value that has variants in ``table`` by one of them, chosen at random.

    Values without variants are returned unchanged. Vectorised via an index lookup.
    """
    keys = sorted(table)  # sorted: independent of dict insertion order
    counts = np.array([len(table[k]) for k in keys])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = np.array([v for k in keys for v in table[k]], dtype=object)
    idx = pd.Index(keys).get_indexer(pd.Series(values, dtype=object).fillna("").to_numpy())
    found = idx >= 0
    choice = offsets[np.maximum(idx, 0)] + (rng.random(len(values)) * counts[np.maximum(idx, 0)]).astype(np.int64)
    out = np.asarray(values, dtype=object).copy()
    out[found] = flat[choice[found]]
    return out


def has_variant(values: np.ndarray, table: dict[str, tuple[str, ...]]) -> np.ndarray:
    return pd.Index(sorted(table)).get_indexer(pd.Series(values, dtype=object).fillna("").to_numpy()) >= 0


def fold_ascii(values: np.ndarray) -> np.ndarray:
    """Drop diacritics (Wójcik -> Wojcik), computed once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    folded = np.array(
        [unicodedata.normalize("NFKD", u).encode("ascii", "ignore").decode("ascii") for u in uniques],
        dtype=object,
    )
    out = np.asarray(values, dtype=object).copy()
    ok = codes >= 0
    out[ok] = folded[codes[ok]]
    return out


def damage_dates(days: np.ndarray, swap: np.ndarray, typo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply day-month swaps and one-digit typos to dates given as int days since 1970-01-01."""
    dt = days.astype("datetime64[D]")
    y = dt.astype("datetime64[Y]").astype(np.int64) + 1970
    mo = dt.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (dt - dt.astype("datetime64[M]")).astype(np.int64) + 1
    swap = swap & (d <= 12) & (d != mo)
    d2, mo2 = np.where(swap, mo, d), np.where(swap, d, mo)
    part = rng.integers(0, 3, len(days))
    delta = rng.choice(np.array([-10, -1, 1, 10]), len(days))
    d2 = np.where(typo & (part == 0), np.clip(d2 + delta, 1, 28), d2)
    mo2 = np.where(typo & (part == 1), np.clip(mo2 + np.sign(delta), 1, 12), mo2)
    y2 = np.where(typo & (part == 2), y + np.sign(delta), y)
    months = ((y2 - 1970) * 12 + (mo2 - 1)).astype("datetime64[M]")
    month_len = ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64)
    out = months.astype("datetime64[D]") + np.minimum(d2, month_len) - 1
    return out.astype(np.int64)
