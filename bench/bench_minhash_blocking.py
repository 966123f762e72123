"""Blocking of the ``pseudonymised`` preset on v1 and v2 encodings: candidate pairs and
blocking recall, with the MinHash informative-bit rule of v2 on and off (issue 18).

Blocking only (no comparisons, no EM): how many pairs each scheme makes ``link`` compare, and
which share of the true matching pairs (ground truth of ``stairs_link.synth``) they contain.
``v2 (10% rule only)`` sets ``MINHASH_MIN_KEPT = 0``: the rule before the median fallback.

Usage (from the repository root):
    python bench/bench_minhash_blocking.py --sizes 10k,100k
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_linkage import RECORDS_PER_CHILD, parse_size  # noqa: E402


def true_pairs(person: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """lo * n + hi for every pair of records of the same child."""
    child = truth.set_index("record_key")["true_child_id"].reindex(person["record_key"]).to_numpy()
    codes, _ = pd.factorize(child)
    n = len(person)
    out = []
    order = np.argsort(codes, kind="stable")
    for group in np.split(order, np.flatnonzero(np.diff(codes[order])) + 1):
        g = np.sort(group).astype(np.int64)
        a, b = np.triu_indices(len(g), 1)
        out.append(g[a] * n + g[b])
    return np.unique(np.concatenate(out)) if out else np.zeros(0, np.int64)


def blocked(enc: pd.DataFrame) -> np.ndarray:
    from stairs_link.linkage import LinkageConfig
    from stairs_link.linkage.blocking import blocked_pairs, plan_blocking
    from stairs_link.linkage.prepare import Features

    n = len(enc)
    plan = plan_blocking(LinkageConfig.preset("pseudonymised"), Features(enc))
    found = [np.minimum(i, j).astype(np.int64) * n + np.maximum(i, j) for i, j, _, _ in blocked_pairs(plan, 2_000_000)]
    return np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10k")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    import stairs_link.linkage.bloom_comparisons as bc
    from stairs_link.privacy import PrivacyParams, pseudonymise_frame
    from stairs_link.synth import person_records

    key = bytes(range(32))  # fixed, so v1 and v2 differ by scheme only; never a real key
    default_kept = bc.MINHASH_MIN_KEPT
    print(f"{'records':>8} {'scheme':<20} {'pairs':>11} {'blocking recall':>16} {'seconds':>8}")
    for size in args.sizes.split(","):
        person, truth = person_records(max(1, int(round(parse_size(size) / RECORDS_PER_CHILD))), args.seed)
        tp = true_pairs(person, truth)
        for label, params, kept in (("v1", PrivacyParams.v1(), default_kept),
                                    ("v2 (10% rule only)", PrivacyParams(), 0.0),
                                    ("v2 (default)", PrivacyParams(), default_kept)):
            enc = pseudonymise_frame("person", person, key, params)
            bc.MINHASH_MIN_KEPT = kept
            start = time.perf_counter()
            pairs = blocked(enc)
            seconds = time.perf_counter() - start
            bc.MINHASH_MIN_KEPT = default_kept
            print(f"{len(person):>8,} {label:<20} {len(pairs):>11,} {np.isin(tp, pairs).mean():>16.4f} {seconds:>8.1f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
