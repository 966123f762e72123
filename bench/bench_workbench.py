"""What writing the workbench pages (linkage.html, review.html) adds to a linkage run.

Links a synthetic world (``stairs_link.synth.person_records``), writes the LINKED files, then
the pages, and prints the two side by side (wall and CPU seconds, page sizes, pairs embedded)
for each size, so the pages' cost is read against the linkage's own on the same machine.

    python bench/bench_workbench.py                   # 20,000 and 50,000 children
    python bench/bench_workbench.py --children 5000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def run(children: int, seed: int, root: Path) -> dict[str, float | int]:
    from stairs_link.linkage import link_table
    from stairs_link.linkage.pipeline import write_outputs
    from stairs_link.linkage.workbench import write_pages
    from stairs_link.synth import person_records

    person, truth = person_records(children, seed)
    wall, cpu = time.perf_counter(), time.process_time()
    out = link_table(person)
    link_wall, link_cpu = time.perf_counter() - wall, time.process_time() - cpu
    linked = root / f"linked-{children}"
    write_outputs(out, linked)
    wall, cpu = time.perf_counter(), time.process_time()
    pages = write_pages(linked, truth=truth)
    pages_wall, pages_cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"children": children, "records": len(person), "kept_pairs": len(out.pairs),
            "link_wall": link_wall, "link_cpu": link_cpu, "pages_wall": pages_wall, "pages_cpu": pages_cpu,
            "review_pairs": pages.review_pairs, "waterfall_pairs": pages.waterfall_pairs,
            "linkage_kb": pages.linkage_html.stat().st_size // 1024,
            "review_kb": pages.review_html.stat().st_size // 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", default="20000,50000", help="comma-separated world sizes")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    header = (f"{'children':>9} {'records':>9} {'kept pairs':>11} | {'link wall':>9} {'link cpu':>8} | "
              f"{'pages wall':>10} {'pages cpu':>9} {'pages/link cpu':>14} | {'review':>6} {'waterfall':>9} "
              f"{'linkage.html':>12} {'review.html':>11}")
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.children.split(",")):
            r = run(n, args.seed, Path(tmp))
            print(f"{r['children']:>9,} {r['records']:>9,} {r['kept_pairs']:>11,} | {r['link_wall']:>8.1f}s "
                  f"{r['link_cpu']:>7.1f}s | {r['pages_wall']:>9.1f}s {r['pages_cpu']:>8.1f}s "
                  f"{r['pages_cpu'] / r['link_cpu']:>14.0%} | {r['review_pairs']:>6,} {r['waterfall_pairs']:>9,} "
                  f"{r['linkage_kb']:>10,}KB {r['review_kb']:>9,}KB")


if __name__ == "__main__":
    main()
