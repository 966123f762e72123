"""`stairs-link synth`: write a deterministic synthetic set of site exports + ground truth."""

from __future__ import annotations

from pathlib import Path

import click

from stairs_link.cli.common import StairsCommand, echo_progress


@click.command(cls=StairsCommand)
@click.option("--children", "n_children", type=click.IntRange(min=1, max=800_000), default=300, show_default=True,
              help="Number of synthetic children in the world.")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed; same seed, same files.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write exports/, truth/ and systems.json into (exports/ and truth/ are replaced).")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
def synth(n_children: int, seed: int, out_dir: Path, quiet: bool) -> None:
    """Generate synthetic site-system exports with realistic damage and their ground truth.

    \b
    Writes OUT/exports/<site>/<system>/..., OUT/systems.json (how to read each export)
    and OUT/truth/ (records.parquet: record -> true child; pathway.parquet: true stays;
    stay_records.parquet: stay -> records holding it; formulations.parquet;
    bad_rows.parquet: rows made deliberately bad). All data is synthetic; the same
    --children and --seed always give byte-identical files.
    """
    from stairs_link.errors import StairsLinkError
    from stairs_link.synth import write_exports

    try:
        write_exports(out_dir, n_children, seed, progress=lambda m: echo_progress(m, quiet=quiet))
    except OSError as exc:
        raise StairsLinkError(
            f"cannot write the synthetic data ({exc.strerror or exc})",
            reason="cannot_write_output",
            file=str(exc.filename or out_dir),
            fix="choose an --out directory you can write to, with free disk space",
        ) from None
    click.echo(str(out_dir))
