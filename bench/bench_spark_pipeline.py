"""Embedded engine vs Spark engine for `adapt` and `build`, side by side, on a synthetic world.

(`bench/bench_spark.py` does the same for `link`.) A synthetic world of N children is written
as the 18 site-system exports (`stairs_link.synth.write_exports`, outside any timing); then,
each in a fresh Python process so neither engine benefits from the other's imports or caches:

* adapt: all 18 site systems with their mappings in `mappings/`, by ``stairs_link.adapt.adapt``
  (embedded) and ``stairs_link.engine.spark.adapt.spark_adapt`` (one SparkSession, master
  ``--master``, default local[2] = the two cores of this machine);
* link: once, embedded, on the embedded staged tables (both builds read the same clusters);
* build: ``stairs_link.integrate.build`` vs ``stairs_link.engine.spark.build.spark_build``.

Printed per stage and engine: wall time of the worker process (interpreter, imports and, for
Spark, JVM and session start included), the stage's own seconds, peak resident memory of the
worker's process tree (the local Spark JVM is a child of the worker, so it is included;
polled with psutil every 20 ms) and whether the two engines wrote equal tables.

Usage (from the repository root; needs the `bench` and `spark` extras):
    python bench/bench_spark_pipeline.py                      # 20,000 children
    python bench/bench_spark_pipeline.py --children 100000 --json /tmp/pipeline_100k.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import run_measured  # noqa: E402 - bench/ is on sys.path just above

DATASET_TABLES = ["children", "episodes", "formulations", "incidents", "education", "measures", "stays",
                  "transitions", "id_history", "record_map"]
STAGED_TABLES = ["person", "episode", "formulation", "incident", "education", "measure"]


def _systems(exports: Path) -> list[tuple[str, str]]:
    return [(site.name, system.name) for site in sorted(exports.iterdir()) if site.is_dir()
            for system in sorted(site.iterdir()) if system.is_dir()]


def _session(args: argparse.Namespace) -> Any:
    from stairs_link.engine.spark.session import spark_session

    return spark_session(args.master, shuffle_partitions=args.partitions,
                         conf={"spark.driver.memory": args.driver_memory})


def _worker(args: argparse.Namespace) -> None:
    """One (stage, engine) run; prints a RESULT line with its own timing."""
    stage, engine = args.worker.split("-")
    work = args.work
    spark = _session(args) if engine == "spark" else None
    start = time.perf_counter()
    figures: dict[str, Any] = {}
    if stage == "adapt":
        from stairs_link.adapt import adapt
        from stairs_link.engine.spark.adapt import spark_adapt

        rows = 0
        for site, system in _systems(work / "synth" / "exports"):
            mapping = REPO / "mappings" / site / f"{system}.yaml"
            export = [work / "synth" / "exports" / site / system]
            out = work / engine / "staged" / f"{site}-{system}"
            if engine == "spark":
                result = spark_adapt(mapping, export, out, spark=spark)
            else:
                result = adapt(mapping, export, out)
            rows += sum(s["rows_in"] for s in result.manifest["sources"])
        figures["rows_in"] = rows
    else:
        staged = sorted((work / "embedded" / "staged").iterdir())
        out = work / engine / "dataset"
        if engine == "spark":
            from stairs_link.engine.spark.build import spark_build

            result = spark_build(work / "linked", staged, out, spark=spark)
        else:
            from stairs_link.integrate import build

            result = build(work / "linked", staged, out)
        figures.update(children=result.n_children, records=result.n_records)
        stages = json.loads((out / "build.json").read_text(encoding="utf-8")).get("timings_seconds")
        if stages:
            figures["stages"] = stages
    figures["seconds"] = round(time.perf_counter() - start, 2)
    if spark is not None:
        spark.stop()
    print("RESULT " + json.dumps(figures), flush=True)


def _run(worker: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run a worker process, measuring the peak RSS of its process tree."""
    cmd = [sys.executable, __file__, "--worker", worker, "--work", str(args.work), "--master", args.master,
           "--partitions", str(args.partitions), "--driver-memory", args.driver_memory]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    run = run_measured(cmd, cwd=str(REPO), env=env, capture_stderr=False)  # progress lines pass through
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("RESULT ")]
    if run.returncode != 0 or not lines:
        raise SystemExit(f"{worker} failed (exit {run.returncode})")
    return {**json.loads(lines[-1][len("RESULT "):]), "wall_seconds": round(run.wall_seconds, 2),
            "peak_gb": round(run.peak_rss_bytes / 1e9, 2)}


def _same_staged(work: Path) -> bool:
    """Staged tables equal (rejects compared as sorted rows: their order within a file may differ)."""
    import pyarrow.parquet as pq

    for directory in sorted((work / "embedded" / "staged").iterdir()):
        other = work / "spark" / "staged" / directory.name
        for table in STAGED_TABLES:
            left, right = directory / f"{table}.parquet", other / f"{table}.parquet"
            if left.exists() != right.exists() or (left.exists() and not pq.read_table(left).equals(pq.read_table(right))):
                return False
        keys = ["source_file", "source_row", "column", "reason"]
        a, b = (pq.read_table(d / "rejects.parquet").to_pandas().sort_values(keys).reset_index(drop=True)
                for d in (directory, other))
        if not a.equals(b):
            return False
    return True


def _same_dataset(work: Path) -> bool:
    import pyarrow.parquet as pq

    return all(pq.read_table(work / "spark" / "dataset" / f"{t}.parquet").equals(
        pq.read_table(work / "embedded" / "dataset" / f"{t}.parquet")) for t in DATASET_TABLES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=20_000, help="synthetic children in the world")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="8g", help="Spark driver memory (local mode: all of Spark)")
    parser.add_argument("--partitions", type=int, default=16, help="spark.sql.shuffle.partitions")
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return

    from stairs_link.synth import write_exports

    args.work = Path(tempfile.mkdtemp(prefix="stairs_bench_pipeline_"))
    t = time.perf_counter()
    write_exports(args.work / "synth", args.children, args.seed)
    print(f"{args.children:,} children's exports written in {time.perf_counter() - t:.0f} s to {args.work}",
          flush=True)
    results: dict[str, dict[str, Any]] = {}
    for engine in ("embedded", "spark"):
        print(f"adapt, {engine} ...", flush=True)
        results[f"adapt-{engine}"] = _run(f"adapt-{engine}", args)
    same_staged = _same_staged(args.work)
    print("link (embedded, once, for both builds) ...", flush=True)
    from stairs_link.linkage import link

    link(sorted((args.work / "embedded" / "staged").iterdir()), args.work / "linked")
    for engine in ("embedded", "spark"):
        print(f"build, {engine} ...", flush=True)
        results[f"build-{engine}"] = _run(f"build-{engine}", args)
    same_dataset = _same_dataset(args.work)

    print(f"\n{'':30}{'embedded':>14}{'spark ' + args.master:>22}")
    for stage in ("adapt", "build"):
        e, s = results[f"{stage}-embedded"], results[f"{stage}-spark"]
        print(stage)
        print(f"{'  stage s':30}{e['seconds']:>14.1f}{s['seconds']:>22.1f}")
        print(f"{'  worker process wall s':30}{e['wall_seconds']:>14.1f}{s['wall_seconds']:>22.1f}")
        print(f"{'  peak GB (process tree)':30}{e['peak_gb']:>14.2f}{s['peak_gb']:>22.2f}")
        for name, value in s.get("stages", {}).items():
            print(f"{'    ' + name + ' s':30}{'':>14}{value:>22.1f}")
    print(f"rows read by adapt: {results['adapt-embedded']['rows_in']:,}; "
          f"children built: {results['build-embedded']['children']:,} from "
          f"{results['build-embedded']['records']:,} records")
    print(f"equal staged tables: {'yes' if same_staged else 'NO'}; equal datasets: {'yes' if same_dataset else 'NO'}")
    if args.json:
        args.json.write_text(json.dumps({"children": args.children, "master": args.master, "results": results,
                                         "equal_staged": same_staged, "equal_dataset": same_dataset}, indent=2),
                             encoding="utf-8")


if __name__ == "__main__":
    main()
