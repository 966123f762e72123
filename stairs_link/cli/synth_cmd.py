"""`stairs-link synth`: write a deterministic synthetic set of site exports + ground truth."""

from __future__ import annotations

from pathlib import Path

import click

from stairs_link.cli.common import StairsCommand, echo_progress, emit, json_option, quiet_option


@click.command(cls=StairsCommand)
@click.option("--children", "n_children", type=click.IntRange(min=1, max=800_000), default=300, show_default=True,
              help="Number of synthetic children in the world.")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed; same seed, same files.")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write exports/, truth/ and systems.json into (exports/ and truth/ are replaced).")
@click.option("--years", default=None, metavar="YEAR,YEAR,...",
              help="Also write annual extracts of these years (e.g. 2023,2024,2025) under OUT/extracts/, "
                   "each the world as known on 31 December, taken on 31 January after.")
@click.option("--style", type=click.Choice(["cumulative", "year-only", "both"]), default="both", show_default=True,
              help="With --years: each extract holds everything so far (cumulative), or that year's "
                   "activity only (year-only), or write both.")
@click.option("--formats", "with_formats", is_flag=True,
              help="Also write OUT/formats/: the same records as FHIR (Bundle, NDJSON), CTF XML, SSDA903 and a "
                   "UTF-16 export with a footer, with their truth (see formats/formats.json).")
@quiet_option
@json_option
def synth(n_children: int, seed: int, out_dir: Path, years: str | None, style: str, with_formats: bool, quiet: bool,
          as_json: bool = False) -> None:
    """Generate synthetic site-system exports with realistic damage and their ground truth.

    \b
    Writes OUT/exports/<site>/<system>/..., OUT/systems.json (how to read each export)
    and OUT/truth/ (records.parquet: record -> true child; pathway.parquet: true stays;
    stay_records.parquet: stay -> records holding it; formulations.parquet;
    bad_rows.parquet: rows made deliberately bad). All data is synthetic; the same
    --children and --seed always give byte-identical files.

    \b
    With --years, OUT/extracts/<style>/<year>/exports/... and systems.json hold the annual
    extracts (stays open across a cut-off, values recorded later; no bad rows), and
    OUT/truth/extracts.parquet and edits.parquet say which records each extract holds and
    which values an earlier extract lacks. See docs/dataset.md (year after year).

    \b
    Example:
      stairs-link synth --children 300 --out synth
      stairs-link synth --children 300 --out synth --years 2023,2024,2025 --style year-only
    """
    from stairs_link.errors import StairsLinkError
    from stairs_link.synth import write_exports

    chosen: tuple[int, ...] = ()
    if years is not None:
        from stairs_link.synth.extracts import check_years

        try:
            chosen = check_years([int(y) for y in years.replace(" ", "").split(",") if y])
        except ValueError as exc:
            raise click.BadParameter(str(exc).replace("invalid literal for int() with base 10", "not a year"),
                                     param_hint="--years") from None
    try:
        write_exports(out_dir, n_children, seed, progress=lambda m: echo_progress(m, quiet=quiet))
        if chosen:
            from stairs_link.synth.extracts import STYLES, write_extract_exports

            styles = STYLES if style == "both" else (style,)
            write_extract_exports(out_dir, n_children, seed, chosen, styles,
                                  progress=lambda m: echo_progress(m, quiet=quiet))
        if with_formats:
            from stairs_link.synth.formats import write_format_exports

            echo_progress(f"wrote {write_format_exports(out_dir, n_children, seed)}", quiet=quiet)
    except OSError as exc:
        raise StairsLinkError(
            f"cannot write the synthetic data ({exc.strerror or exc})",
            reason="cannot_write_output",
            file=str(exc.filename or out_dir),
            fix="choose an --out directory you can write to, with free disk space",
        ) from None
    emit({"out": str(out_dir), "children": n_children, "seed": seed,
          "exports": str(out_dir / "exports"), "truth": str(out_dir / "truth"),
          "extract_years": list(chosen) if chosen else []},
         [str(out_dir)], as_json=as_json)
