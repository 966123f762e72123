"""`stairs-link link`: find each child's records across systems and sites.

The linkage engine (numpy, rapidfuzz, scipy) is imported inside the command, so
`stairs-link --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from stairs_link.cli.common import StairsCommand, echo_progress


@click.command(cls=StairsCommand)
@click.argument("staged", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write clusters.parquet, pairs.parquet, model.json, review.csv, summary.json.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Linkage configuration (YAML): comparisons, blocking rules, thresholds.")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A model.json from an earlier run: score with it, without retraining.")
@click.option("--decisions", "decisions_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Reviewer decisions CSV (record_key_l, record_key_r, decision = match/non-match).")
@click.option("--explain-blocking", is_flag=True,
              help="Count the pairs each blocking rule would create, print them and stop.")
@click.option("--max-pairs", type=click.IntRange(min=1), default=None,
              help="Stop before running if blocking would create more candidate pairs than this.")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
def link(staged: tuple[Path, ...], out_dir: Path, config_path: Path | None, model_path: Path | None,
         decisions_path: Path | None, explain_blocking: bool, max_pairs: int | None, quiet: bool) -> None:
    """Link the person records of STAGED directories into children (one child_id each).

    \b
    Example:
      stairs-link link staged/oakfield-systmone staged/oakfield-nomis --out linked
      stairs-link link staged/* --out linked --explain-blocking
      stairs-link link staged/* --out linked --model linked/model.json --decisions reviewed.csv
    """
    import dataclasses

    from stairs_link.linkage import LinkageConfig
    from stairs_link.linkage.blocking import plan_blocking
    from stairs_link.linkage.pipeline import link as run_link
    from stairs_link.linkage.pipeline import load_model, read_person
    from stairs_link.linkage.prepare import Features

    config = LinkageConfig.from_yaml(config_path) if config_path else None
    if model_path is not None:
        config = load_model(model_path)[1]
    config = config or LinkageConfig()
    if max_pairs is not None:
        config = dataclasses.replace(config, max_pairs=max_pairs)
    if explain_blocking:
        person = read_person(list(staged))
        plan = plan_blocking(config, Features(person))
        click.echo(f"{len(person):,} records")
        click.echo(plan.explain())
        plan.check(config.max_pairs)
        return
    result = run_link(list(staged), out_dir, config=config, model_path=model_path,
                      decisions_path=decisions_path, progress=not quiet)
    s = result.summary
    echo_progress(
        f"{s['records']:,} records -> {s['children']:,} children; {s['linked_pairs']:,} linked pairs "
        f"({s['deterministic_links']:,} by shared identifier, {s['deterministic_conflicts']:,} identifier "
        f"conflicts held back); {s['review_pairs']:,} pairs for review; written to {out_dir}",
        quiet=quiet)
    if s["large_clusters"]:
        echo_progress(f"warning: {len(s['large_clusters'])} cluster(s) larger than {s['max_cluster_size']} "
                      "records (see summary.json large_clusters)", quiet=quiet)


# evaluate command: see below
