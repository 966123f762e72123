"""`stairs-link build` (one record per child) and `stairs-link report` (evaluator HTML)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from stairs_link.cli.common import (
    DirOrURL,
    StairsCommand,
    echo_progress,
    emit,
    json_option,
    quiet_option,
    require_local,
)

_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@click.command(cls=StairsCommand)
@click.argument("linked", type=DirOrURL())
@click.argument("staged", nargs=-1, required=True, type=DirOrURL())
@click.option("-o", "--out", "out_dir", required=True, type=DirOrURL(exists=False),
              help="Dataset directory to write (with --engine spark also a URL such as s3a://bucket/dataset: "
                   "one dataset directory per table).")
@click.option("--previous", type=_DIR, default=None,
              help="Dataset of an earlier run: continuing children keep their child_id, and its years are "
                   "carried into the new dataset (the latest extract of each record and event wins).")
@click.option("--readmission-days", type=click.IntRange(min=0), default=90, show_default=True,
              help="A return within this many days of a release is a re-admission.")
@click.option("--formulation-days", type=click.IntRange(min=0), default=28, show_default=True,
              help="Window after arrival for a formulation at the receiving setting.")
@click.option("--transfer-days", type=click.IntRange(min=0), default=3, show_default=True,
              help="A next admission within this many days of a discharge is a transfer.")
@quiet_option
@json_option
@click.option("--engine", type=click.Choice(["embedded", "spark"]), default="embedded", show_default=True,
              help="embedded: this machine; spark: a Spark cluster, same dataset (needs "
                   "pip install \"stairs-link[spark]\"; see docs/scaling.md).")
@click.option("--spark-master", envvar="STAIRS_LINK_SPARK_MASTER", default=None, metavar="URL",
              help="Spark master for --engine spark (default: $STAIRS_LINK_SPARK_MASTER, else local[*]).")
def build(linked: Path | str, staged: tuple[Path | str, ...], out_dir: Path | str, previous: Path | None,
          readmission_days: int, formulation_days: int, transfer_days: int, quiet: bool, engine: str = "embedded",
          spark_master: str | None = None, as_json: bool = False) -> None:
    """One record per child from LINKED (clusters) and the STAGED directories it linked.

    \b
    Writes DATASET/children.parquet (one row per child, nested events), episodes/formulations/
    incidents/education/measures.parquet, stays.parquet, transitions.parquet,
    id_history.parquet and record_map.parquet. See docs/dataset.md.

    \b
    Example:
      stairs-link build linked/ staged/*/* --out dataset/ --previous last_year/dataset/
      stairs-link build linked/ staged/*/* --out dataset/ --engine spark --spark-master 'local[4]'
    """
    require_local(engine, LINKED=linked, STAGED=staged, **{"--out": out_dir})
    rules: dict[str, Any] = {"previous": previous, "readmission_days": readmission_days, "formulation_days": formulation_days,
             "transfer_days": transfer_days}
    echo_progress(f"building from {len(staged)} staged directories ...", quiet=quiet)
    if engine == "spark" and previous is not None and (Path(previous) / "person_records.parquet").exists():
        raise click.UsageError("--engine spark cannot yet carry a previous dataset's years into a new one "
                               "(multi-year build); run this build on the embedded engine, or build every "
                               "year's extracts together with --engine spark")
    if engine == "spark":  # imported here so the CLI stays fast and pyspark stays optional
        from stairs_link.engine.spark.session import require_pyspark

        require_pyspark()
        from stairs_link.engine.spark.build import spark_build

        result = spark_build(linked, list(staged), out_dir, master=spark_master, progress=not quiet, **rules)
    else:
        from stairs_link.integrate import build as run_build

        result = run_build(linked, list(staged), out_dir, **rules)
    events = ", ".join(f"{v} {k}" for k, v in result.id_events.items())
    lines = [f"{result.n_children} children from {result.n_records} records; {result.n_stays} stays, "
             f"{result.n_transitions} moves; ids: {events}"]
    combined = result.extracts_combined or {}
    dropped = sum(result.duplicates_dropped.values())
    if dropped:
        click.echo(f"{dropped} row(s) of earlier or repeated extracts dropped: the latest version of each record "
                   "and event is kept; see build.json")
    orphans = result.orphan_events or {}
    if orphans.get("total"):
        where = "; ".join(f"{table}: " + ", ".join(f"{n} from {source}" for source, n in by.items())
                          for table, by in orphans["tables"].items())
        click.echo(f"warning: {orphans['total']} event row(s) have no person row in the staged directories "
                   f"(orphan_event) and were left out of the dataset ({where}); the rest was built. Fix: re-run "
                   "`stairs-link adapt` for those systems (it rejects such rows and says why); see build.json",
                   err=True)
    if previous is not None and combined.get("previous_years_carried") is False:
        click.echo(f"note: {previous} holds no person_records.parquet (built by an older version or --engine "
                   "spark): its child ids are continued, its years are not carried into this dataset")
    if combined.get("records_carried"):
        lines.append(f"{combined['records_carried']} record(s) of the previous dataset carried with their child")
    lines.append(f"dataset written to {out_dir}")
    emit({"out": str(out_dir), "children": result.n_children, "records": result.n_records, "stays": result.n_stays,
          "transitions": result.n_transitions, "id_events": dict(result.id_events),
          "duplicates_dropped": dict(result.duplicates_dropped), "extracts_combined": combined,
          "orphan_events": orphans,
          "build_json": f"{out_dir}/build.json"}, lines, as_json=as_json)


@click.command(cls=StairsCommand)
@click.argument("dataset", type=_DIR)
@click.option("-o", "--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write.")
@click.option("--threshold", type=click.IntRange(min=0), default=7, show_default=True,
              help="Counts from 1 to this are shown as *.")
@click.option("--rounding", type=click.IntRange(min=1), default=5, show_default=True,
              help="Other counts are rounded to the nearest multiple of this.")
@click.option("--linked", "linked_dir", type=_DIR, default=None,
              help="Linkage directory (default: the copy build kept in DATASET/linkage).")
@quiet_option
@json_option
def report(dataset: Path, out_file: Path, threshold: int, rounding: int, linked_dir: Path | None,
           quiet: bool = False, as_json: bool = False) -> None:
    """A self-contained, disclosure-controlled HTML report on DATASET for evaluators.

    \b
    Example:
      stairs-link report dataset/ --out report.html --threshold 10
    """
    from stairs_link.report import render_report

    echo_progress(f"writing the report on {dataset} ...", quiet=quiet)
    path = render_report(dataset, out_file, threshold=threshold, rounding=rounding, linked_dir=linked_dir)
    emit({"report": str(path), "dataset": str(dataset), "threshold": threshold, "rounding": rounding},
         [f"report written to {path}"], as_json=as_json)
