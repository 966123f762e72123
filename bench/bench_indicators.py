"""build + indicators + analysis tables on a synthetic world: time and peak memory, with a reference.

Setup (outside every timing): the generator's world of N children staged as a perfect adapter
would (``stairs_link.synth.canonical_tables`` and ``write_staged``, one staged directory per site
system) and clustered by the truth (linkage is measured by bench_linkage.py / bench_spark.py, not here).
Then, each in a fresh Python process whose process-tree peak RSS is polled (bench/measure.py):

* ``build``: ``stairs_link.integrate.build`` as it is (stays, stay attribution of every event,
  coverage per stay, data as at);
* ``build-reference``: the same build with the stay attribution, coverage and observed-until
  steps replaced by constant columns, i.e. the cost of the build before those steps existed;
  printed beside ``build`` so the added cost is read off in one run;
* ``indicators``: ``stairs-link indicators`` over every definition, --by site_id,setting_type,year
  with margins (what an evaluator runs), written disclosure-controlled;
* ``analysis``: ``stairs-link analysis`` writing every table as Parquet, CSV, DuckDB, Stata and SPSS.

Usage (from the repository root; needs the `bench` extra for psutil):
    python bench/bench_indicators.py                       # 20,000 children
    python bench/bench_indicators.py --children 100000 --json /tmp/indicators_100k.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import run_measured  # noqa: E402 - bench/ is on sys.path just above

STAGES = ["build-reference", "build", "indicators", "analysis"]


def _setup(work: Path, n: int, seed: int) -> list[Path]:
    from stairs_link.linkage import write_linked
    from stairs_link.synth import canonical_tables, truth_clusters, write_staged

    tables, truth = canonical_tables(n, seed)
    staged = write_staged(tables, work / "staged")
    write_linked(work / "linked", truth_clusters(truth))  # with its completion record, as build requires
    return staged


def _worker(stage: str, work: Path) -> None:
    staged = sorted(p.parent for p in (work / "staged").glob("*/*/person.parquet"))
    start = time.perf_counter()
    if stage.startswith("build"):
        from stairs_link.integrate import build as build_module

        if stage == "build-reference":
            import pandas as pd

            module = sys.modules["stairs_link.integrate.build"]

            def no_attribution(events, stays, date_column):
                return (pd.Series(None, index=events.index, dtype=object),
                        pd.Series("in_stay", index=events.index, dtype=object))

            def no_coverage(stays, attributed, kinds):
                return pd.DataFrame({c: False for c in module.COVERAGE_COLUMNS.values()}, index=stays.index)

            module.attribute_to_stays = no_attribution
            module.stay_coverage = no_coverage
            module.observed_until = lambda stays, episodes, extracted: stays["discharge_date"]
        out = work / ("dataset-reference" if stage == "build-reference" else "dataset")
        result = build_module(work / "linked", staged, out)
        detail = f"{result.n_children} children, {result.n_stays} stays, {sum(result.n_events.values())} event rows"
    elif stage == "indicators":
        from stairs_link.indicators import Params, write_indicators

        meta = write_indicators(work / "dataset", work / "indicators", ["site_id", "setting_type", "year"], Params())
        detail = f"{len(meta['definitions'])} indicators, {meta['rows']} rows ({meta['suppressed_rows']} suppressed)"
    else:
        from stairs_link.analysis import write_analysis

        summary = write_analysis(work / "dataset", work / "analysis")
        detail = ", ".join(f"{n} {t}" for t, n in summary["rows"].items())
    print("RESULT " + json.dumps({"seconds": round(time.perf_counter() - start, 2), "detail": detail}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    parser.add_argument("--stages", default=",".join(STAGES),
                        help=f"Comma-separated stages to run, in order (default: {','.join(STAGES)}); "
                             "indicators and analysis need build.")
    parser.add_argument("--worker", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.work)
        return
    with tempfile.TemporaryDirectory(prefix="bench-indicators-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        _setup(work, args.children, args.seed)
        print(f"setup: {args.children} children staged in {time.perf_counter() - t0:.1f} s (not timed below); "
              f"{os.cpu_count()} cores", flush=True)
        rows = []
        env = dict(os.environ, PYTHONPATH=str(REPO))
        for stage in [s for s in args.stages.split(",") if s]:
            m = run_measured([sys.executable, __file__, "--worker", stage, "--work", str(work)], cwd=str(REPO),
                             env=env)
            if m.returncode != 0:
                raise SystemExit(f"{stage} failed:\n{m.stderr}")
            result = json.loads(next(line for line in m.stdout.splitlines() if line.startswith("RESULT "))[7:])
            rows.append({"stage": stage, "stage_seconds": result["seconds"], "process_seconds": round(m.wall_seconds, 2),
                         "peak_gb": round(m.peak_rss_bytes / 1e9, 2), "detail": result["detail"]})
            print(f"  {stage:16} {result['seconds']:8.1f} s stage ({m.wall_seconds:6.1f} s process)  "
                  f"peak {m.peak_rss_bytes / 1e9:5.2f} GB  {result['detail']}", flush=True)
    by = {r["stage"]: r for r in rows}
    if "build" in by and "build-reference" in by:
        ref, new = by["build-reference"], by["build"]
        print(f"\nbuild with stay attribution + coverage: {new['stage_seconds']} s, {new['peak_gb']} GB; reference "
              f"(same build without them, same run): {ref['stage_seconds']} s, {ref['peak_gb']} GB")
    if "build" in by and "indicators" in by:
        print(f"build + indicators: {by['build']['stage_seconds'] + by['indicators']['stage_seconds']:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"children": args.children, "cores": os.cpu_count(), "stages": rows},
                                        indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
