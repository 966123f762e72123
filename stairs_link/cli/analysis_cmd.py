"""`stairs-link analysis`: de-identified analysis tables, codebook and exports from a dataset."""

from __future__ import annotations

import json
from pathlib import Path

import click

from stairs_link.cli.common import StairsCommand, echo_progress, json_option, quiet_option

_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@click.command(cls=StairsCommand)
@click.argument("dataset", type=_DIR)
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write (outside DATASET: the analysis tables live apart from the identifiable data).")
@click.option("--format", "formats", default="csv,duckdb,stata,spss", show_default=True, metavar="LIST",
              help="Exports besides Parquet: any of csv, duckdb, stata, spss (comma-separated).")
@quiet_option
@json_option
def analysis(dataset: Path, out_dir: Path, formats: str, quiet: bool, as_json: bool) -> None:
    """De-identified analysis tables of DATASET, with a codebook, for Excel, Stata, SPSS, R and DuckDB.

    \b
    Writes OUT/csv/*.csv (UTF-8 with BOM), OUT/parquet/*.parquet, OUT/analysis.duckdb,
    OUT/stata/*.dta and OUT/spss/*.sav (value labels), OUT/codebook.md and OUT/datapackage.json
    (Frictionless): one row per child, per stay, per event (with stay_id) and per move; no names,
    dates of birth, identifiers or exact dates. See docs/dataset.md.

    \b
    Example:
      stairs-link analysis dataset/ -o analysis/
      stairs-link analysis dataset/ -o analysis/ --format csv,stata
    """
    from stairs_link.analysis import write_analysis

    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    echo_progress(f"writing analysis tables of {dataset} ...", quiet=quiet or as_json)
    summary = write_analysis(dataset, out_dir, chosen)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    elif not quiet:
        rows = ", ".join(f"{n} {name}" for name, n in summary["rows"].items())
        click.echo(f"{rows}; data as at {summary['data_as_at']}; codebook: {out_dir / 'codebook.md'}")
