"""`stairs-link indicators`: the evaluation's indicators from a dataset, as one tidy table."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from stairs_link.cli.common import StairsCommand, echo_progress, json_option, quiet_option

_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


def _categories(values: tuple[str, ...]) -> dict[str, tuple[str, ...]] | None:
    """``NAME=KIND[,KIND...]`` options -> a category mapping over the defaults."""
    from stairs_link.indicators import DEFAULT_CATEGORIES
    from stairs_link.schema.codes import INCIDENT_KIND

    if not values:
        return None
    mapping = dict(DEFAULT_CATEGORIES)
    for value in values:
        name, sep, kinds = value.partition("=")
        if not sep or name not in mapping:
            raise click.BadParameter(f"'{value}': expected NAME=KIND[,KIND...] with NAME one of "
                                     f"{', '.join(mapping)}", param_hint="--category")
        chosen = tuple(k.strip() for k in kinds.split(",") if k.strip())
        bad = [k for k in chosen if k not in INCIDENT_KIND]
        if bad:
            raise click.BadParameter(f"unknown incident kind '{bad[0]}'; use kinds from: {', '.join(INCIDENT_KIND)}",
                                     param_hint="--category")
        mapping[name] = chosen
    return mapping


@click.command(cls=StairsCommand)
@click.argument("dataset", type=_DIR, required=False)
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write indicators.csv, indicators.parquet and indicators.json to.")
@click.option("--by", default="", show_default=False, metavar="COLS",
              help="Comma-separated breakdown, e.g. site_id,setting_type,year (also legal_basis, sex, "
                   "ethnic_group, age_band). Coarser levels down to the total are included.")
@click.option("--indicator", "ids", multiple=True, metavar="ID",
              help="Only these indicators (ids or patterns such as 'formulation.*'); repeatable. Default: all.")
@click.option("--window", "window_days", type=click.IntRange(min=0), default=28, show_default=True,
              help="Days after arrival for 'formulation within N days' (recommendation 5).")
@click.option("--as-at", "as_at", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, metavar="DATE",
              help="Censor date (YYYY-MM-DD): later stays and events are left out, open stays cut there. "
                   "Default: the dataset's data-as-at date (build.json).")
@click.option("--tie-rule", type=click.Choice(["mean", "min", "max", "first_recorded", "last_recorded"]),
              default="mean", show_default=True,
              help="Several outcome scores of a child on its first or last date: how to make one.")
@click.option("--instrument", default="ORS", show_default=True, help="Outcome measure instrument.")
@click.option("--cutoff", type=float, default=28.0, show_default=True,
              help="Clinical cut-off of the instrument (a score under it indicates distress).")
@click.option("--readmission-days", type=click.IntRange(min=0), default=90, show_default=True,
              help="A new stay within this many days of a release is a re-admission.")
@click.option("--category", "categories", multiple=True, metavar="NAME=KIND,...",
              help="Map incident kinds to a high-risk behaviour category, e.g. oppositional=other; repeatable.")
@click.option("--threshold", type=click.IntRange(min=0), default=7, show_default=True,
              help="Counts from 1 to this are suppressed.")
@click.option("--rounding", type=click.IntRange(min=1), default=5, show_default=True,
              help="Other counts are rounded to the nearest multiple of this.")
@click.option("--unsuppressed", is_flag=True,
              help="Also write the unsuppressed table (indicators_unsuppressed_NOT_FOR_PUBLICATION.*); "
                   "every row is marked NOT FOR PUBLICATION.")
@click.option("--no-margins", is_flag=True, help="Only the --by breakdown itself, no coarser levels.")
@click.option("--list", "list_only", is_flag=True, help="List the indicator definitions and exit.")
@quiet_option
@json_option
def indicators(dataset: Path | None, out_dir: Path | None, by: str, ids: tuple[str, ...], window_days: int,
               as_at: datetime | None, tie_rule: str, instrument: str, cutoff: float, readmission_days: int,
               categories: tuple[str, ...], threshold: int, rounding: int, unsuppressed: bool, no_margins: bool,
               list_only: bool, quiet: bool, as_json: bool) -> None:
    """The evaluation's indicators (Topics 1, 4, 5; recommendation 5) from DATASET.

    \b
    Writes OUT/indicators.csv (UTF-8 with BOM), indicators.parquet and indicators.json (the
    definitions, with their source in the evaluation report, and every parameter used).
    The table is disclosure-controlled; --unsuppressed adds a copy marked NOT FOR PUBLICATION.
    See docs/indicators.md.

    \b
    Example:
      stairs-link indicators dataset/ --by site_id,setting_type,year --window 28 -o indicators/
      stairs-link indicators dataset/ --by setting_type --as-at 2025-03-31 --indicator 'formulation.*' -o out/
    """
    from stairs_link.indicators import Disclosure, Params, registry, write_indicators

    if list_only:
        found = registry()
        if as_json:
            from stairs_link.indicators.output import describe_definition

            click.echo(json.dumps([describe_definition(d) for d in found.values()], indent=2, ensure_ascii=False))
        else:
            for definition in found.values():
                click.echo(f"{definition.id}\t{definition.title} ({definition.unit})")
        return
    if dataset is None:
        raise click.UsageError("DATASET is required (the directory written by `stairs-link build`)")
    if out_dir is None:
        raise click.UsageError("-o/--out DIR is required")
    groups = [b.strip() for b in by.split(",") if b.strip()]
    params = Params(window_days=window_days, as_at=as_at.date() if as_at is not None else None,
                    tie_rule=tie_rule, instrument=instrument, cutoff=cutoff, readmission_days=readmission_days,
                    **({"categories": mapping} if (mapping := _categories(categories)) else {}))
    echo_progress(f"computing indicators of {dataset} ...", quiet=quiet or as_json)
    meta = write_indicators(dataset, out_dir, groups, params, list(ids) or None,
                            disclosure=Disclosure(threshold, rounding), unsuppressed=unsuppressed,
                            margins=not no_margins)
    if as_json:
        click.echo(json.dumps({k: v for k, v in meta.items() if k != "definitions"}
                              | {"definitions": [d["id"] for d in meta["definitions"]]}, indent=2))
        return
    if not quiet:
        click.echo(f"{len(meta['definitions'])} indicators, {meta['rows']} rows ({meta['suppressed_rows']} suppressed),"
                   f" as at {meta['as_at']}; written to {out_dir}")
        if unsuppressed:
            click.echo("the unsuppressed table is NOT FOR PUBLICATION: keep it inside the secure environment")
