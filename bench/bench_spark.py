"""Embedded engine vs Spark engine, side by side, on N synthetic person records.

The person table and its truth are generated (``stairs_link.synth.person_records``) and
written to a staged directory first, outside any timing. Each engine then runs in its own
fresh Python process (``--worker``) so neither benefits from the other's imports or caches:

* embedded: ``stairs_link.linkage.pipeline.link`` (numpy/pandas, one process);
* spark:    ``stairs_link.engine.spark.link.spark_link`` with master ``--master``
            (default local[2], i.e. the two cores of this machine).

Per engine: wall time of the worker process, the engine's own stage timings, pair counts
(candidate pairs per rule, compared, kept, linked) and pairwise precision / recall / F1 from
``stairs_link.linkage.evaluate.evaluate_clusters``; and whether both gave identical cluster_ids.

Usage (from the repository root):
    python bench/bench_spark.py                         # 1,000,000 records
    python bench/bench_spark.py --records 100000 --json /tmp/spark_100k.json
    python bench/bench_spark.py --children 2000         # size by children instead
    python bench/bench_spark.py --records 100000 --pseudonymised   # privacy mode (Bloom, MinHash)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RECORDS_PER_CHILD = 4.2  # measured on stairs_link.synth.person_records; only sizes the request


def _worker(engine: str, staged: Path, out: Path, master: str, driver_memory: str, partitions: int,
            pseudonymised: bool = False) -> None:
    """Run one engine on ``staged`` into ``out``; print a JSON line with its summary."""
    from stairs_link.linkage import LinkageConfig

    config = LinkageConfig.preset("pseudonymised") if pseudonymised else LinkageConfig()
    start = time.perf_counter()
    if engine == "embedded":
        from stairs_link.linkage.pipeline import link

        result = link([staged], out, config=config, progress=True)
        summary = result.summary
    else:
        from stairs_link.engine.spark.link import spark_link
        from stairs_link.engine.spark.session import spark_session

        spark = spark_session(master, shuffle_partitions=partitions,
                              conf={"spark.driver.memory": driver_memory,
                                    "spark.sql.autoBroadcastJoinThreshold": "-1"})
        result = spark_link([staged], out, config=config, spark=spark, progress=True)
        summary = result.summary
        spark.stop()
    summary["worker_seconds"] = round(time.perf_counter() - start, 2)
    print("RESULT " + json.dumps(summary, default=str), flush=True)


def _run(engine: str, staged: Path, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", engine, "--staged", str(staged), "--out", str(out),
           "--master", args.master, "--driver-memory", args.driver_memory, "--partitions", str(args.partitions)]
    cmd += ["--pseudonymised"] if args.pseudonymised else []
    start = time.perf_counter()
    # stage progress lines (stderr) pass through; the result line is read from stdout
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
    wall = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{engine} worker failed (exit {proc.returncode})")
    summary = json.loads(lines[-1][len("RESULT "):])
    summary["wall_seconds"] = round(wall, 2)
    return summary


def _score(out: Path, truth) -> dict[str, Any]:
    import pandas as pd

    from stairs_link.linkage.evaluate import evaluate_clusters

    clusters = pd.read_parquet(out / "clusters.parquet")
    result = evaluate_clusters(clusters, truth)
    return {"precision": result["precision"], "recall": result["recall"], "f1": result["f1"],
            "clusters": clusters}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="approximate number of person records")
    parser.add_argument("--children", type=int, default=None, help="number of synthetic children (overrides --records)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="12g", help="Spark driver memory (local mode: all of Spark)")
    parser.add_argument("--partitions", type=int, default=16, help="spark.sql.shuffle.partitions")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--pseudonymised", action="store_true",
                        help="pseudonymise the records first (fixed bench key) and link with the pseudonymised preset")
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    parser.add_argument("--worker", choices=("embedded", "spark"), help=argparse.SUPPRESS)
    parser.add_argument("--staged", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.staged, args.out, args.master, args.driver_memory, args.partitions,
                args.pseudonymised)
        return

    from stairs_link.schema import write_staged
    from stairs_link.synth import person_records

    children = args.children or max(1, int(round(args.records / RECORDS_PER_CHILD)))
    t = time.perf_counter()
    person, truth = person_records(children, args.seed)
    print(f"{len(person):,} records of {children:,} children generated in {time.perf_counter() - t:.0f} s",
          flush=True)
    if args.pseudonymised:  # a fixed, public bench key: synthetic data only
        from stairs_link.privacy import pseudonymise_frame

        t = time.perf_counter()
        plain_keys = person["record_key"].to_numpy()
        person = pseudonymise_frame("person", person, bytes(range(32)))
        # record keys become tokens: carry the truth over, row by row
        new_key = dict(zip(plain_keys, person["record_key"].to_numpy()))
        truth = truth.assign(record_key=truth["record_key"].map(new_key))
        print(f"pseudonymised in {time.perf_counter() - t:.0f} s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="stairs_bench_spark_"))
    staged = work / "staged"
    entry = {}
    if args.pseudonymised:  # the record linkage checks (key id, scheme) before linking encodings
        from stairs_link.privacy import pseudonymisation_manifest

        entry = {"pseudonymisation": pseudonymisation_manifest(bytes(range(32)))}
    write_staged(staged, {"person": person}, manifest=entry)
    del person
    results: dict[str, dict[str, Any]] = {}
    engines = ["spark"] if args.skip_embedded else ["embedded", "spark"]
    for engine in engines:
        print(f"running {engine} ...", flush=True)
        summary = _run(engine, staged, work / engine, args)
        score = _score(work / engine, truth)
        results[engine] = {"summary": summary, **score}
    same = None
    if len(results) == 2:
        a, b = results["embedded"]["clusters"], results["spark"]["clusters"]
        same = bool(a["record_key"].tolist() == b["record_key"].tolist()
                    and a["cluster_id"].tolist() == b["cluster_id"].tolist())
    _print_table(results, same, args)
    if args.json:
        out = {"records": int(len(truth)), "children": children, "master": args.master,
               "pseudonymised": args.pseudonymised,
               "identical_cluster_ids": same,
               "engines": {k: {kk: vv for kk, vv in v.items() if kk != "clusters"} for k, v in results.items()}}
        args.json.write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")


def _print_table(results: dict[str, dict[str, Any]], same: bool | None, args: argparse.Namespace) -> None:
    engines = list(results)
    head = f"{'':34}" + "".join(f"{e + (' ' + args.master if e == 'spark' else ''):>22}" for e in engines)
    print(head)

    def row(label: str, values: list[Any]) -> None:
        print(f"{label:34}" + "".join(f"{v:>22}" for v in values))

    s = {e: results[e]["summary"] for e in engines}
    row("records", [f"{s[e]['records']:,}" for e in engines])
    for stage in ["read", "blocking plan", "blocking and comparison", "training", "scoring", "clustering", "total"]:
        row(f"  {stage} s", [f"{s[e]['timings_seconds'].get(stage, float('nan')):.1f}" for e in engines])
    row("worker process wall s", [f"{s[e]['wall_seconds']:.1f}" for e in engines])
    first = s[engines[0]]
    for rule in first["candidate_pairs_by_rule"]:
        row(f"  pairs {rule}"[:34], [f"{s[e]['candidate_pairs_by_rule'][rule]:,}" for e in engines])
    for key in ["compared_pairs", "kept_pairs", "linked_pairs", "children"]:
        row(key, [f"{s[e][key]:,}" for e in engines])
    for key in ["precision", "recall", "f1"]:
        row(f"pairwise {key}", [f"{results[e][key]:.4f}" for e in engines])
    if same is not None:
        print(f"identical cluster_ids: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
