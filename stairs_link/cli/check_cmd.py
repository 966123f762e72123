"""`stairs-link check` and `stairs-link coverage`: quality of staged (and linked) data."""

from __future__ import annotations

from pathlib import Path

import click

from stairs_link.cli.common import StairsCommand, echo_progress, emit, json_option, quiet_option

_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@click.command(cls=StairsCommand)
@click.argument("directories", nargs=-1, required=True, type=_DIR, metavar="STAGED...")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for check.json and check.html.")
@click.option("--show-values", is_flag=True, default=False,
              help="Show real values in the examples (personal data!). Default: masked values "
                   "and row numbers only.")
@click.option("--max-cluster-size", type=click.IntRange(min=2), default=None,
              help="Largest plausible number of records for one child (linked checks; default 20).")
@quiet_option
@json_option
def check(directories: tuple[Path, ...], out_dir: Path, show_values: bool,
          max_cluster_size: int | None, quiet: bool, as_json: bool = False) -> None:
    """Check staged directories against the quality rules; exit 1 if a critical check fails.

    \b
    STAGED... are `stairs-link adapt` output folders. Add a `stairs-link link` output folder
    (with clusters.parquet) to also check the linkage: contradictions within one child and
    oversized clusters. Writes check.html (for people) and check.json to the --out folder.
    Exit code: 0 no critical problem (warnings never count), 1 a critical check failed,
    2 the input cannot be checked (missing person table, corrupt file, other schema version).

    
    Example:
      stairs-link check staged/sch-oakfield-systmone --out report
      stairs-link check staged/* linked --out report
    """
    from stairs_link.quality import check as run_check

    echo_progress(f"checking {len(directories)} director{'y' if len(directories) == 1 else 'ies'}...",
                  quiet=quiet)
    result = run_check(list(directories), out_dir, show_values=show_values,
                       max_cluster_size=max_cluster_size)
    counts = result.counts()
    lines = []
    failures = []
    for outcome in result.failures:
        count = outcome.unexpected_count
        rows = "" if count is None else f" for {count} {outcome.unit}"
        columns = ", ".join(outcome.columns) or "-"
        lines.append(f"{outcome.severity.upper():8} {outcome.table}.{columns}: expected "
                     f"{outcome.title}; failed{rows}  [{outcome.source}]")
        failures.append({"severity": outcome.severity, "table": outcome.table, "columns": list(outcome.columns),
                         "expected": outcome.title, "unexpected_count": count, "unit": outcome.unit,
                         "source": outcome.source})
    verdict = "PASSED" if result.passed else "FAILED"
    lines.append(f"{verdict}: {counts['critical_failed']} critical, {counts['warnings']} warning(s), "
                 f"{counts['passed']}/{counts['checks']} checks passed in {result.seconds:.1f}s. "
                 f"Report: {out_dir / 'check.html'}")
    emit({"passed": bool(result.passed), "counts": counts, "failures": failures, "seconds": result.seconds,
          "report": str(out_dir / "check.html"), "json": str(out_dir / "check.json")}, lines, as_json=as_json)
    if not result.passed:
        raise SystemExit(1)  # run_cli drops the code of ctx.exit(1) (standalone_mode=False)


@click.command(cls=StairsCommand)
@click.argument("directories", nargs=-1, required=True, type=_DIR, metavar="STAGED...")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for coverage.parquet, coverage.csv and coverage.png.")
@quiet_option
@json_option
def coverage(directories: tuple[Path, ...], out_dir: Path, quiet: bool = False, as_json: bool = False) -> None:
    """Which canonical fields each site provides: a site x field completeness matrix.

    Writes coverage.parquet and coverage.csv (share of rows filled, 0 to 1) and a heatmap,
    coverage.png.
    """
    from stairs_link.quality.site_coverage import coverage as run_coverage

    echo_progress(f"coverage of {len(directories)} director{'y' if len(directories) == 1 else 'ies'}...",
                  quiet=quiet)
    matrix = run_coverage(list(directories), out_dir)
    emit({"sites": int(matrix.shape[0]), "fields": int(matrix.shape[1]), "csv": str(out_dir / "coverage.csv"),
          "parquet": str(out_dir / "coverage.parquet"), "png": str(out_dir / "coverage.png")},
         [f"{matrix.shape[0]} site(s) x {matrix.shape[1]} fields -> {out_dir / 'coverage.csv'}, "
          f"{out_dir / 'coverage.png'}"], as_json=as_json)
