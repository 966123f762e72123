"""Informal speed of the privacy primitives on ~1M synthetic person records (not a test).

Run from the repo root: ``python tests/privacy/speed_privacy.py [N_CHILDREN]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from stairs_link.privacy import (  # noqa: E402
    DATE_PARAMS,
    bloom_encode,
    bloom_matrix,
    dice_similarity,
    keyed_token,
    pseudonymise_tables,
)
from stairs_link.standardise import fold_name  # noqa: E402
from stairs_link.synth import person_records  # noqa: E402

KEY = bytes(range(32))  # a fixed test key: synthetic data only


def main(n_children: int = 240_000) -> None:
    person, _ = person_records(n_children, 1)
    n = len(person)
    family = fold_name(person["family_name"])
    dob = pd.to_datetime(person["date_of_birth"]).dt.strftime("%Y%m%d")
    rng = np.random.default_rng(0)
    left, right = rng.integers(0, n, n), rng.integers(0, n, n)
    state: dict[str, object] = {}
    runs = {
        "keyed_token(record_key), all distinct": lambda: keyed_token(person["record_key"], KEY, "record_key"),
        "bloom_encode(family_name)": lambda: state.setdefault("enc", bloom_encode(family, KEY, "name")),
        "bloom_encode(dob, positional)": lambda: bloom_encode(dob, KEY, "date_of_birth", DATE_PARAMS),
        "bloom_matrix(family_name_bf)": lambda: state.setdefault("m", bloom_matrix(state["enc"])[0]),
        "dice_similarity, n random pairs": lambda: dice_similarity(state["m"][left], state["m"][right]),
        "pseudonymise_tables(person)": lambda: pseudonymise_tables({"person": person}, KEY),
    }
    print(f"{n:,} synthetic person records")
    for label, run in runs.items():
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        print(f"{label:38s} {elapsed:6.2f} s  {n / elapsed / 1e3:7.0f} k rows/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 240_000)
