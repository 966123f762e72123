"""Year three linked incrementally against last year's dataset, next to a full re-link.

The generator's world is written as three annual extracts (2023-2025, ``--style`` year-only by
default: each year's export holds that year's activity). Years one and two are linked and
built first (``link``, then ``link --previous`` and ``build --previous``), outside any timing,
giving the dataset of year two (about 100,000 children with the default ``--children``).
Then, each in its own fresh process pinned to two cores, with wall time and the peak resident
memory of the process tree (bench/measure.py):

* **incremental**: ``link STAGED-2025... --previous DATASET-2`` (new and changed records scored
  against the dataset's children, with its model);
* **full re-link**: ``link STAGED-2023... STAGED-2024... STAGED-2025...`` (every extract, the
  latest version of each record), with the same model so only the pairs compared differ;

and, with ``--with-build``, the two builds that follow (``build --previous DATASET-2`` of
the incremental result, one build of every extract from the full re-link). The clusters of
the two linkages are compared (children with identical record sets).

Usage (from the repository root):
    python bench/bench_years.py                      # ~112,500 children -> ~100k in year two
    python bench/bench_years.py --children 3000 --workdir /tmp/years   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import run_measured  # noqa: E402 - bench/ is on sys.path just above

YEARS = (2023, 2024, 2025)


def _dirs(work: Path, style: str, year: int) -> list[Path]:
    return sorted(p for p in (work / "staged" / style / str(year)).glob("*/*") if p.is_dir())


def _pin_two_cores() -> None:
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, cores)


def worker(kind: str, work: Path, style: str) -> None:
    """One measured run; prints a JSON line with its own timing."""
    _pin_two_cores()
    from stairs_link.integrate import build
    from stairs_link.linkage.pipeline import link

    model = work / "dataset-2" / "linkage" / "model.json"
    every = [d for year in YEARS for d in _dirs(work, style, year)]
    started = time.perf_counter()
    if kind == "incremental":
        result = link(_dirs(work, style, YEARS[-1]), work / "linked-3", previous=work / "dataset-2")
        info = {"records": result.summary["records"], "compared_pairs": result.summary["compared_pairs"],
                "children": result.summary["children"], **result.summary["incremental"]}
    elif kind == "full":
        result = link(every, work / "linked-full", model_path=model)
        info = {"records": result.summary["records"], "compared_pairs": result.summary["compared_pairs"],
                "children": result.summary["children"]}
    elif kind == "build-incremental":
        built = build(work / "linked-3", _dirs(work, style, YEARS[-1]), work / "dataset-3", previous=work / "dataset-2")
        info = {"children": built.n_children, "stays": built.n_stays, "moves": built.n_transitions}
    elif kind == "build-full":
        built = build(work / "linked-full", every, work / "dataset-full")
        info = {"children": built.n_children, "stays": built.n_stays, "moves": built.n_transitions}
    else:
        raise SystemExit(f"unknown worker {kind}")
    info["own_seconds"] = round(time.perf_counter() - started, 2)
    info["ru_maxrss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(info))


def prepare(work: Path, n_children: int, seed: int, style: str) -> dict:
    """Extracts, and the linked + built years one and two (not timed for the comparison)."""
    from stairs_link.integrate import build
    from stairs_link.linkage.pipeline import link
    from stairs_link.synth.extracts import write_staged_extracts

    started = time.perf_counter()
    write_staged_extracts(work / "staged", n_children, seed, YEARS, styles=(style,))
    generated = time.perf_counter() - started
    link(_dirs(work, style, YEARS[0]), work / "linked-1")
    build(work / "linked-1", _dirs(work, style, YEARS[0]), work / "dataset-1")
    link(_dirs(work, style, YEARS[1]), work / "linked-2", previous=work / "dataset-1")
    second = build(work / "linked-2", _dirs(work, style, YEARS[1]), work / "dataset-2", previous=work / "dataset-1")
    return {"generate_seconds": round(generated, 1), "prepare_seconds": round(time.perf_counter() - started, 1),
            "dataset_2_children": second.n_children, "dataset_2_records": second.n_records}


def _agreement(work: Path) -> tuple[int, int]:
    import pandas as pd

    def partition(path: Path) -> set[frozenset[str]]:
        frame = pd.read_parquet(path)
        label = "cluster_id" if "cluster_id" in frame.columns else "child_id"
        return {frozenset(g) for _, g in frame.groupby(label)["record_key"]}

    a, b = partition(work / "linked-3" / "clusters.parquet"), partition(work / "linked-full" / "clusters.parquet")
    return len(a & b), len(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=112_500,
                        help="children in the world (default gives ~100k children in year two's dataset)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--style", choices=["year-only", "cumulative"], default="year-only")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the files here (default: a temp dir)")
    parser.add_argument("--with-build", action="store_true", help="also time the two builds that follow")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.workdir, args.style)
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_years_"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"preparing {args.children:,} children, {args.style} extracts {YEARS} under {work} ...", flush=True)
    setup = prepare(work, args.children, args.seed, args.style)
    print(f"year two's dataset: {setup['dataset_2_children']:,} children, {setup['dataset_2_records']:,} records "
          f"(generated in {setup['generate_seconds']} s, prepared in {setup['prepare_seconds']} s)", flush=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = {}
    kinds = ["incremental", "full"] + (["build-incremental", "build-full"] if args.with_build else [])
    for kind in kinds:
        measured = run_measured([sys.executable, __file__, "--worker", kind, "--workdir", str(work),
                                 "--style", args.style], cwd=str(REPO), env=env)
        if measured.returncode:
            raise SystemExit(f"{kind} failed:\n{measured.stderr}")
        info = json.loads(measured.stdout.strip().splitlines()[-1])
        info["wall_seconds"] = round(measured.wall_seconds, 2)
        info["peak_rss_gb"] = round(max(measured.peak_rss_bytes, info.pop("ru_maxrss_bytes")) / 1e9, 2)
        runs[kind] = info
        print(f"  {kind}: {info}", flush=True)
    same, total = _agreement(work)
    inc, full = runs["incremental"], runs["full"]
    print()
    print(f"Year three ({args.style}) against year two's dataset of {setup['dataset_2_children']:,} children, "
          f"2 cores ({os.cpu_count()} on the machine):")
    print(f"{'':24}{'incremental':>14}{'full re-link':>14}{'ratio':>8}")
    for label, key in [("records", "records"), ("pairs compared", "compared_pairs"), ("link s (own)", "own_seconds"),
                       ("wall s (process)", "wall_seconds"), ("peak GB", "peak_rss_gb")]:
        a, b = inc[key], full[key]
        ratio = f"{b / a:.1f}x" if a else "-"
        print(f"{label:<24}{a:>14,}{b:>14,}{ratio:>8}" if isinstance(a, int) else
              f"{label:<24}{a:>14}{b:>14}{ratio:>8}")
    print(f"new + changed records scored: {inc['new_records']:,} + {inc['records_in_a_new_version']:,}; "
          f"kept as linked: {inc['records_kept_as_linked']:,}")
    print(f"children identical in both linkages: {same:,} of {total:,} ({same / total:.2%})")
    if args.with_build:
        bi, bf = runs["build-incremental"], runs["build-full"]
        print(f"build --previous: {bi['wall_seconds']} s, {bi['peak_rss_gb']} GB; one build of every extract: "
              f"{bf['wall_seconds']} s, {bf['peak_rss_gb']} GB; stays {bi['stays']:,} vs {bf['stays']:,}, "
              f"moves {bi['moves']:,} vs {bf['moves']:,}")
    if args.json:
        args.json.write_text(json.dumps({"setup": setup, "runs": runs, "identical_children": [same, total],
                                         "children": args.children, "style": args.style}, indent=2),
                             encoding="utf-8")


if __name__ == "__main__":
    main()
