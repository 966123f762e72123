"""`stairs-link demo`: the whole pipeline on the bundled sample data, in one command.

adapt every sample system -> check -> link -> build -> report. Sample exports and mappings
are the repository's ``sample_data/`` and ``mappings/`` (an installed wheel carries a copy of
both, see ``stairs_link.resources``); if the sample exports are absent, the sample is
regenerated with the project's generator (seed 42, same size) into DIR/sample_data first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import click

from stairs_link.cli.common import StairsCommand, echo_progress, emit, json_option, quiet_option
from stairs_link.errors import StairsLinkError
from stairs_link.resources import data_dir

SAMPLE_DIR = data_dir("sample_data")
MAPPINGS_DIR = data_dir("mappings")
SAMPLE_SEED = 42
SAMPLE_CHILDREN = 300  # the bundled sample_data/ (docs: ~300 children, seed 42)


@dataclass
class DemoResult:
    """Where the demo wrote everything, and what it found on the way."""

    out_dir: Path
    staged_dirs: list[Path] = field(default_factory=list)
    check_passed: bool | None = None
    n_children: int = 0
    transitions_share: float | None = None
    linkage_f1: float | None = None
    key_file: Path | None = None
    seconds: float = 0.0


def sample_locations(out_dir: Path, *, progress: bool = True) -> tuple[Path, Path]:
    """(sample data dir holding exports/, mappings dir); regenerate the sample if it is absent."""
    sample, mappings = SAMPLE_DIR, MAPPINGS_DIR
    if not mappings.is_dir():
        raise StairsLinkError(
            "the sample mappings were not found: this installation of stairs-link is incomplete",
            reason="no_mappings",
            file=str(mappings),
            fix="reinstall stairs-link from its wheel or sdist, or run from a source checkout "
                "(`pip install -e .`)",
        )
    if not (sample / "exports").is_dir():
        from stairs_link.synth import write_exports

        sample = out_dir / "sample_data"
        echo_progress(f"sample data not found; generating it (seed {SAMPLE_SEED}) into {sample}", quiet=not progress)
        write_exports(sample, SAMPLE_CHILDREN, SAMPLE_SEED)
    return sample, mappings


def sample_systems(sample: Path, mappings: Path) -> list[tuple[str, str, Path, Path]]:
    """(site, system, mapping file, export dir) for every sample export that has a mapping."""
    systems = []
    for export_dir in sorted((sample / "exports").glob("*/*")):
        if not export_dir.is_dir():
            continue
        site, system = export_dir.parent.name, export_dir.name
        mapping = mappings / site / f"{system}.yaml"
        if not mapping.exists():
            raise StairsLinkError(
                "sample export has no mapping",
                reason="no_mapping",
                file=str(mapping),
                fix=f"add a mapping for {site}/{system} (stairs-link mapping new ...)",
            )
        systems.append((site, system, mapping, export_dir))
    if not systems:
        raise StairsLinkError("no sample exports found", reason="no_sample", file=str(sample / "exports"),
                              fix="regenerate the sample with `stairs-link synth`")
    return systems


def _demo_key(out_dir: Path) -> tuple[Path, bytes]:
    """DIR/key (created if absent, owner-only): outside staged/, linked/ and dataset/."""
    from stairs_link.privacy import load_key, new_key_file

    path = out_dir / "key"
    if not path.exists():
        new_key_file(path)
    return path, load_key(path)


def _pseudonymised_truth(truth: Path, out_dir: Path, key: bytes) -> Path:
    """The sample's truth with record keys mapped to the pseudonymised ones (needs the key),
    written to DIR/truth: record_key, true_child_id, ethnic_group, sex, and the true pathway."""
    import shutil

    import pandas as pd

    from stairs_link.privacy.record_keys import pseudonymised_record_keys

    target = out_dir / "truth"
    target.mkdir(parents=True, exist_ok=True)
    records = pd.read_parquet(truth / "records.parquet", columns=["record_key", "true_child_id", "ethnic_group", "sex"])
    records["record_key"] = pseudonymised_record_keys(records["record_key"], key)
    records.to_parquet(target / "records.parquet", index=False)
    shutil.copyfile(truth / "pathway.parquet", target / "pathway.parquet")
    return target


def run_demo(out_dir: Path, *, progress: bool = True, pseudonymise: bool = False) -> DemoResult:
    """Run every stage on the sample data into ``out_dir``; progress lines go to stderr.

    With ``pseudonymise`` a key is created in ``out_dir/key`` and every system is adapted with
    ``--pseudonymise``: no plain name, date of birth, postcode or identifier reaches
    ``staged/``, ``linked/`` or ``dataset/``; linking uses the Bloom encodings and tokens."""
    from stairs_link.adapt import adapt
    from stairs_link.integrate import build
    from stairs_link.linkage import link
    from stairs_link.quality import check
    from stairs_link.report import render_report

    start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out_dir=out_dir)

    def step(message: str) -> None:
        echo_progress(f"[{time.perf_counter() - start:5.1f}s] {message}", quiet=not progress)

    sample, mappings = sample_locations(out_dir, progress=progress)
    systems = sample_systems(sample, mappings)
    key = None
    if pseudonymise:
        result.key_file, key = _demo_key(out_dir)
    step(f"adapting {len(systems)} site systems from {sample / 'exports'}"
         + (" (pseudonymised)" if pseudonymise else ""))
    for site, system, mapping, export_dir in systems:
        staged = out_dir / "staged" / site / system
        adapted = adapt(mapping, [export_dir], staged, pseudonymise_key=key)
        sources = adapted.manifest.get("sources", [])
        staged_rows = sum(int(s.get("rows_staged", 0)) for s in sources)
        rejected_rows = sum(int(s.get("rows_rejected", 0)) for s in sources)
        step(f"  {site}/{system}: {staged_rows} rows staged, {rejected_rows} rejected")
        result.staged_dirs.append(staged)
    step("checking staged data")
    checked = check(result.staged_dirs, out_dir / "check")
    result.check_passed = bool(checked.passed)
    step("linking records across systems and sites")
    link(result.staged_dirs, out_dir / "linked", progress=False)
    step("building one record per child")
    built = build(out_dir / "linked", list[str | Path](result.staged_dirs), out_dir / "dataset")
    result.n_children = built.n_children
    truth = sample / "truth"
    if (truth / "pathway.parquet").exists() and (truth / "records.parquet").exists():
        from stairs_link.integrate.evaluate import compare_dataset

        if key is not None:
            truth = _pseudonymised_truth(truth, out_dir, key)
        result.transitions_share = compare_dataset(out_dir / "dataset", truth).share_reproduced
        result.linkage_f1 = _linkage_f1(out_dir / "linked", truth)
        from stairs_link.linkage.evaluate import load_truth
        from stairs_link.linkage.workbench import write_pages

        write_pages(out_dir / "linked", truth=load_truth(truth)[0])  # again, with blocking recall of true pairs
    step("writing the report")
    render_report(out_dir / "dataset", out_dir / "report.html")
    result.seconds = time.perf_counter() - start
    step("done")
    return result


def _linkage_f1(linked: Path, truth: Path) -> float | None:
    """Pairwise F1 of the demo's clusters against the truth (records rejected by adapt left out)."""
    from stairs_link.linkage.evaluate import evaluate_clusters, load_clusters, load_truth

    clusters, _ = load_clusters(linked)
    records, _ = load_truth(truth)
    return evaluate_clusters(clusters, records, exclude_unlinked_truth=True)["f1"]


@click.command(cls=StairsCommand)
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write every stage's output to.")
@click.option("--pseudonymise", is_flag=True,
              help="Run in pseudonymised mode: a key is created in DIR/key, sites' data is pseudonymised "
                   "by adapt, and linkage uses Bloom encodings and keyed tokens (docs/privacy.md).")
@quiet_option
@json_option
def demo(out_dir: Path, quiet: bool, pseudonymise: bool = False, as_json: bool = False) -> None:
    """Run the whole pipeline on the bundled sample data (synthetic) into DIR.

    \b
    adapt every sample system -> DIR/staged/<site>/<system>/
    check                     -> DIR/check/
    link                      -> DIR/linked/
    build                     -> DIR/dataset/
    report                    -> DIR/report.html

    \b
    Example:
      stairs-link demo --out demo-out
      stairs-link demo --pseudonymise --out demo-pseudo
    """
    result = run_demo(out_dir, progress=not quiet, pseudonymise=pseudonymise)
    lines = [f"Demo finished in {result.seconds:.1f}s on synthetic sample data"
             + (" (pseudonymised mode)." if pseudonymise else ".")]
    if result.key_file is not None:
        lines.append(f"  secret key (keep it apart from the data): {result.key_file}")
    lines.append(f"  staged data ({len(result.staged_dirs)} site systems): {out_dir / 'staged'}")
    verdict = "passed" if result.check_passed else "found problems (see the check report)"
    lines.append(f"  quality checks ({verdict}):  {out_dir / 'check'}")
    lines.append(f"  linkage (clusters, pairs, review.csv): {out_dir / 'linked'}")
    lines.append(f"  linkage model and waterfall: {out_dir / 'linked' / 'linkage.html'}")
    lines.append(f"  clerical review in the browser: {out_dir / 'linked' / 'review.html'}")
    lines.append(f"  one record per child ({result.n_children} children): {out_dir / 'dataset'}")
    if result.transitions_share is not None:
        lines.append(f"  transitions matching the generator's true pathways: {result.transitions_share:.1%}")
    if result.linkage_f1 is not None:
        lines.append(f"  linkage pairwise F1 against the generator's truth: {result.linkage_f1:.4f}")
    lines.append(f"  evaluator report: {out_dir / 'report.html'}")
    emit({"out": str(out_dir), "pseudonymised": pseudonymise, "seconds": round(result.seconds, 1),
          "key_file": None if result.key_file is None else str(result.key_file),
          "staged": [str(d) for d in result.staged_dirs], "check_passed": result.check_passed,
          "check": str(out_dir / "check"), "linked": str(out_dir / "linked"), "dataset": str(out_dir / "dataset"),
          "children": result.n_children, "transitions_share": result.transitions_share,
          "linkage_f1": result.linkage_f1, "report": str(out_dir / "report.html")}, lines, as_json=as_json)
