"""Vectorised generation of synthetic identifiers with valid check characters.

The generator needs hundreds of thousands of identifiers at once, so the check rules are
applied here with numpy over digit matrices. They are the same rules as the scalar helpers
in ``stairs_link.standardise`` (the synth tests cross-check the two); sources:

* NHS number: modulus 11, weights 10..2 on digits 1-9 (NHS Data Dictionary, "NHS NUMBER").
  We draw from the 999 000 0000 - 999 999 9999 range, which NHS England reserves for test
  data and never issues to patients: valid under modulus 11, clearly synthetic.
* UPN: DfE "Unique Pupil Numbers (UPN)" guidance, check letter = alphabet[sum(value x
  position, positions 2-13) mod 23], alphabet ABCDEFGHJKLMNPQRTUVWXYZ.
* PNC ID: check letter = "ZABCDEFGHJKLMNPQRTUVWXY"[int(YY + 7-digit serial) mod 23]
  (Home Office PNC user manual, as summarised in shared/domain/README.md).
* Prison (NOMIS) number: format A9999AA, no public check character.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
PNC_ALPHABET = "ZABCDEFGHJKLMNPQRTUVWXY"
_UPPER = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Integer array -> (n, width) matrix of its decimal digits, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values.astype(np.int64)[:, None] // powers) % 10


def zfill(values: np.ndarray, width: int) -> np.ndarray:
    """Integer array -> zero-padded decimal strings (object array)."""
    return pd.Series(values.astype(np.int64).astype(str), dtype=object).str.zfill(width).to_numpy(dtype=object)


def nhs_check_digits(first_nine: np.ndarray) -> np.ndarray:
    """Modulus-11 check digit for 9-digit integers; -1 where the number cannot be valid (10)."""
    digits = _digits(first_nine, 9)
    total = digits @ np.arange(10, 1, -1)
    check = 11 - total % 11
    check = np.where(check == 11, 0, check)
    return np.where(check == 10, -1, check)


def draw_nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct valid NHS numbers from the 999 test range (object array of str)."""
    # About 1 in 11 prefixes gives check 10 (invalid); oversample then keep the first n valid.
    size = min(1_000_000, int(n * 1.2) + 50)
    if n > 900_000:
        raise ValueError("the 999 test range holds about 909,000 valid NHS numbers")
    prefixes = 999_000_000 + rng.choice(1_000_000, size=size, replace=False)
    check = nhs_check_digits(prefixes)
    good = prefixes[check >= 0][:n]
    while len(good) < n:  # pragma: no cover - only for n close to the range size
        raise ValueError("not enough NHS numbers drawn")
    return zfill(good * 10 + check[check >= 0][:n], 10)


def upn_check_letters(body: np.ndarray) -> np.ndarray:
    """UPN check letters for 12-digit bodies (positions 2-13, all numeric here)."""
    digits = _digits(body, 12)
    total = digits @ np.arange(2, 14)
    return np.array(list(UPN_ALPHABET))[total % 23]


def draw_upns(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct valid permanent UPNs (LA 201-938, establishment, year 09-18, serial)."""
    la = rng.integers(201, 939, size=n)
    estab = rng.integers(1000, 7000, size=n)
    year = rng.integers(9, 19, size=n)
    serial = rng.integers(0, 1000, size=n)
    body = ((la * 10_000 + estab) * 100 + year) * 1000 + serial
    body = dedupe(rng, body, lambda k: (rng.integers(201, 939, k) * 10**9 + rng.integers(1000, 7000, k) * 10**5
                                          + rng.integers(9, 19, k) * 1000 + rng.integers(0, 1000, k)))
    return (upn_check_letters(body).astype(object) + zfill(body, 12))


def pnc_check_letters(yy: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """PNC check letters from 2-digit years and 7-digit serials."""
    return np.array(list(PNC_ALPHABET))[(yy.astype(np.int64) * 10_000_000 + serial) % 23]


def draw_pnc_ids(rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
    """Distinct valid PNC ids ``YYYY/NNNNNNNC`` for the given 4-digit years (object array)."""
    n = len(years)
    serial = rng.integers(1, 10_000_000, size=n)
    key = dedupe(rng, years.astype(np.int64) * 10**7 + serial,
                  lambda k: 2015 * 10**7 + rng.integers(1, 10_000_000, k))
    years, serial = key // 10**7, key % 10**7
    letters = pnc_check_letters(years % 100, serial)
    return years.astype(str).astype(object) + "/" + zfill(serial, 7) + letters.astype(object)


def draw_prison_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct NOMIS-format prison numbers ``A9999AA``."""
    def draw(k: int) -> np.ndarray:
        return (rng.integers(0, 26, k) * 10_000 + rng.integers(0, 10_000, k)) * 676 + rng.integers(0, 676, k)

    code = dedupe(rng, draw(n), draw)
    first, rest = code // (10_000 * 676), code % (10_000 * 676)
    num, tail = rest // 676, rest % 676
    return (_UPPER[first].astype(object) + zfill(num, 4) + _UPPER[tail // 26].astype(object)
            + _UPPER[tail % 26].astype(object))


def dedupe(rng: np.random.Generator, values: np.ndarray, redraw) -> np.ndarray:  # noqa: ANN001
    """Replace repeated values (keeping the first occurrence) by fresh draws until all distinct."""
    values = values.copy()
    for _ in range(100):
        _, first = np.unique(values, return_index=True)
        dup = np.ones(len(values), dtype=bool)
        dup[first] = False
        if not dup.any():
            return values
        values[dup] = redraw(int(dup.sum()))
    raise RuntimeError("could not draw distinct identifiers")  # pragma: no cover
