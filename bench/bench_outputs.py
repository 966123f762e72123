"""Benchmark: what checking a completion record costs a reader, next to reading the files.

    python bench/bench_outputs.py [--pairs 2000000] [--records 200000] [--workdir DIR]

Writes a LINKED-like directory through ``stairs_link.schema.outputs.output_unit`` (the writer
`link` uses): clusters.parquet (``--records`` rows), pairs.parquet (``--pairs`` rows with the
columns `link` keeps), model.json, summary.json. Then, side by side:

1. ``verify_output`` as readers run it (bytes and Parquet rows of every file, sha256 of the
   files up to ``HASH_LIMIT``);
2. the same with every file hashed (``HASH_LIMIT`` raised above the largest file);
3. reading the files as `build` does (``pyarrow.parquet.read_table`` of clusters and pairs).

Prints seconds and MB/s. The reference is (3): checking should cost a small share of it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

import stairs_link.schema.outputs as outputs


def write_linked(directory: Path, n_pairs: int, n_records: int) -> None:
    rng = np.random.default_rng(7)
    keys = np.array([f"site:sys:{i:08d}" for i in range(n_records)], dtype=object)
    with outputs.output_unit(directory, "link") as unit:
        pd.DataFrame({"record_key": keys, "cluster_id": rng.integers(0, n_records // 2, n_records).astype(str),
                      "cluster_size": rng.integers(1, 4, n_records)}).to_parquet(unit.path("clusters.parquet"))
        i, j = rng.integers(0, n_records, n_pairs), rng.integers(0, n_records, n_pairs)
        frame = pd.DataFrame({"record_key_l": keys[i], "record_key_r": keys[j],
                              "match_weight": rng.normal(0, 8, n_pairs), "match_probability": rng.random(n_pairs),
                              "linked": rng.random(n_pairs) > 0.5})
        for k in range(8):
            frame[f"gamma_c{k}"] = rng.integers(0, 4, n_pairs).astype(np.int8)
            frame[f"bf_c{k}"] = rng.normal(0, 3, n_pairs).astype(np.float32)
        frame.to_parquet(unit.path("pairs.parquet"))
        unit.path("model.json").write_text("{}", encoding="utf-8")
        unit.path("summary.json").write_text("{}", encoding="utf-8")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2_000_000)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        linked = Path(tmp) / "linked"
        write_linked(linked, args.pairs, args.records)
        sizes = {p.name: p.stat().st_size for p in linked.iterdir() if p.is_file()}
        total_mb = sum(sizes.values()) / 1e6
        print(f"LINKED: {args.records:,} records, {args.pairs:,} pairs; files "
              + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(sizes.items())))
        default = timed(lambda: outputs.verify_output(linked, "link"))
        limit = outputs.HASH_LIMIT
        outputs.HASH_LIMIT = 1 << 60
        try:
            full = timed(lambda: outputs.verify_output(linked, "link"))
        finally:
            outputs.HASH_LIMIT = limit
        read = timed(lambda: (pq.read_table(linked / "clusters.parquet"), pq.read_table(linked / "pairs.parquet")))
        print(f"{'':34}{'seconds':>9}{'MB/s':>9}")
        label = f"verify (hash files <= {limit >> 20} MB)"
        print(f"{label:34}{default:9.3f}{total_mb / default:9.0f}")
        print(f"{'verify (hash every file)':34}{full:9.3f}{total_mb / full:9.0f}")
        print(f"{'reference: read clusters + pairs':34}{read:9.3f}{total_mb / read:9.0f}")
        print(f"checking costs {default / read:.0%} of reading with the default limit, {full / read:.0%} hashing all")


if __name__ == "__main__":
    main()
