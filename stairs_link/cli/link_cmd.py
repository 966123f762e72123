"""`stairs-link link`: find each child's records across systems and sites.

The linkage engine (numpy, rapidfuzz, scipy) is imported inside the command, so
`stairs-link --help` stays fast.
"""

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

# -h works even when a command is invoked on its own (click caches the help option on the
# command, so a standalone invocation would otherwise fix it to --help only).
HELP = {"help_option_names": ["-h", "--help"]}


@click.command(cls=StairsCommand, context_settings=HELP)
@click.argument("staged", nargs=-1, required=True, type=DirOrURL())
@click.option("-o", "--out", "out_dir", required=True, type=DirOrURL(exists=False),
              help="Directory to write clusters.parquet, pairs.parquet, model.json, review.csv, summary.json, "
                   "linkage.html and review.html (with --engine spark also an object-store URL).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Linkage configuration (YAML): comparisons, blocking rules, thresholds.")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A model.json from an earlier run: score with it, without retraining.")
@click.option("--decisions", "decisions_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Reviewer decisions CSV (record_key_l, record_key_r, decision = match / non-match / unsure; "
                   "rows with no decision are skipped), e.g. exported from review.html.")
@click.option("--threshold-from-decisions", is_flag=True,
              help="Link at the threshold the --decisions suggest (the one classifying the most decided pairs "
                   "correctly; needs 10+ decisions of both kinds, else the configured threshold is kept).")
@click.option("--explain-blocking", is_flag=True,
              help="Count the pairs each blocking rule would create, print them and stop.")
@click.option("--previous", "previous", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              metavar="DATASET",
              help="Incremental linkage: score the new STAGED records against the children of DATASET (an "
                   "earlier `stairs-link build`), comparing only pairs that hold a new record; its children "
                   "keep their records. Uses DATASET/linkage/model.json unless --model or --config is given.")
@click.option("--max-pairs", type=click.IntRange(min=1), default=None,
              help="Stop before running if blocking would create more candidate pairs than this.")
@click.option("--forget-encodings", is_flag=True,
              help="Pseudonymised input only: once linkage has written its outputs, null the Bloom-filter "
                   "encodings (*_bf) in each STAGED person.parquet, keeping record keys, tokens and the clear "
                   "columns build needs (docs/privacy.md, 'Holding and destroying encodings').")
@quiet_option
@json_option
@click.option("--engine", type=click.Choice(["embedded", "spark"]), default="embedded", show_default=True,
              help="embedded: this machine; spark: a Spark cluster, same results (needs "
                   "pip install \"stairs-link[spark]\"; see docs/scaling.md).")
@click.option("--spark-master", envvar="STAIRS_LINK_SPARK_MASTER", default=None, metavar="URL",
              help="Spark master for --engine spark (default: $STAIRS_LINK_SPARK_MASTER, else local[*]).")
def link(staged: tuple[Path, ...], out_dir: Path, config_path: Path | None, model_path: Path | None,
         decisions_path: Path | None, explain_blocking: bool, max_pairs: int | None, quiet: bool,
         engine: str = "embedded", spark_master: str | None = None, previous: Path | None = None,
         as_json: bool = False, forget_encodings: bool = False,
         threshold_from_decisions: bool = False) -> None:
    """Link the person records of STAGED directories into children (one cluster_id each).

    \b
    Example:
      stairs-link link staged/oakfield-systmone staged/oakfield-nomis --out linked
      stairs-link link staged/* --out linked --explain-blocking
      stairs-link link staged/* --out linked --model linked/model.json --decisions reviewed.csv
      stairs-link link staged-2025/* --previous dataset-2024 --out linked-2025
      stairs-link link outbox/* --out linked --forget-encodings
      stairs-link link staged/* --out linked --decisions decisions.csv --threshold-from-decisions
      stairs-link link s3a://bucket/staged/a s3a://bucket/staged/b --out s3a://bucket/linked --engine spark
    """
    import dataclasses

    from stairs_link.linkage import LinkageConfig
    from stairs_link.linkage.blocking import plan_blocking
    from stairs_link.linkage.pipeline import link as run_link
    from stairs_link.linkage.pipeline import load_model, read_person
    from stairs_link.linkage.prepare import Features

    require_local(engine, STAGED=staged, **{"--out": out_dir})
    if previous is not None and engine == "spark":
        raise click.UsageError("--previous (incremental linkage) runs on the embedded engine only; "
                               "with --engine spark link every year's extracts together instead")
    if forget_encodings:
        from stairs_link.linkage.bloom_comparisons import pseudonymisation_of

        if any("://" in str(d) for d in staged):
            raise click.UsageError("--forget-encodings needs local STAGED directories (not URLs)")
        if explain_blocking:
            raise click.UsageError("--forget-encodings cannot be combined with --explain-blocking")
        if pseudonymisation_of(list(staged)) is None:
            raise click.UsageError("--forget-encodings is for pseudonymised staged directories (adapt "
                                   "--pseudonymise); these are plain")
    config = LinkageConfig.from_yaml(config_path) if config_path else None
    if model_path is None and previous is not None and config_path is None \
            and (previous / "linkage" / "model.json").exists():
        model_path = previous / "linkage" / "model.json"
    if model_path is not None:
        config = load_model(model_path)[1]
    if config is None:  # pseudonymised staged data (manifests say so) -> the `pseudonymised` preset
        from stairs_link.linkage.bloom_comparisons import config_for_staged

        config = config_for_staged(list(staged))
    if max_pairs is not None:
        config = dataclasses.replace(config, max_pairs=max_pairs)
    if engine == "spark":  # imported here so the CLI stays fast and pyspark stays optional
        from stairs_link.engine.spark.session import require_pyspark

        require_pyspark()
        from stairs_link.engine.spark.link import spark_explain_blocking, spark_link

        if explain_blocking:
            records, plan = spark_explain_blocking(list(staged), config, master=spark_master)
            _explain(records, plan, config.max_pairs, as_json=as_json)
            return
        if threshold_from_decisions:
            raise click.UsageError("--threshold-from-decisions works with the embedded engine only")
        result: Any = spark_link(list(staged), out_dir, master=spark_master, config=config, model_path=model_path,
                            decisions_path=decisions_path, progress=not quiet)
        if isinstance(out_dir, Path):  # local output: the workbench pages too
            from stairs_link.linkage.workbench import write_pages

            write_pages(out_dir)
        else:
            echo_progress("linkage.html and review.html are not written to a URL: copy the directory and run "
                          "`stairs-link explain` on it", quiet=quiet)
    elif explain_blocking:
        new = None
        if previous is not None:
            from stairs_link.linkage.pipeline import read_previous
            from stairs_link.schema.extracts import Superseded

            person = read_person(list(staged), Superseded(), earlier=read_previous(previous).person)
            new = (person["_staged_file"] != str(previous / "person_records.parquet")).to_numpy()
            person = person.drop(columns=["_staged_file"])
        else:
            person = read_person(list(staged))
        plan = plan_blocking(config, Features(person), new)
        _explain(len(person), plan, config.max_pairs, as_json=as_json)
        return
    else:
        result = run_link(list(staged), out_dir, config=config, model_path=model_path,
                          decisions_path=decisions_path, progress=not quiet, previous=previous,
                          threshold_from_decisions=threshold_from_decisions)
    s = result.summary
    dropped = s.get("extracts", {})
    superseded, repeated = sum(dropped.get("superseded", {}).values()), sum(dropped.get("repeated", {}).values())
    if superseded or repeated:
        echo_progress(f"several extracts of a system: {superseded:,} earlier version(s) of a record superseded, "
                      f"{repeated:,} identical cop(ies) dropped (see summary.json extracts)", quiet=quiet)
    if "incremental" in s:
        inc = s["incremental"]
        echo_progress(f"incremental: {inc['new_records']:,} new and {inc['records_in_a_new_version']:,} changed "
                      f"record(s) scored against {inc['previous_children']:,} children of {previous}; "
                      f"{inc['records_kept_as_linked']:,} records kept as linked; {s['compared_pairs']:,} pairs "
                      "compared", quiet=quiet)
    lines = [f"{s['records']:,} records -> {s['children']:,} children; {s['linked_pairs']:,} linked pairs "
             f"({s['deterministic_links']:,} by shared identifier, {s['deterministic_conflicts']:,} identifier "
             f"conflicts held back); {s['review_pairs']:,} pairs for review; written to {out_dir}"]
    forgotten: dict[str, list[str]] = {}
    if forget_encodings:  # only once every output is written: a failed run keeps its input intact
        from stairs_link.privacy.forget import forget_encodings as forget

        forgotten = {str(d): forget(Path(d)) for d in staged}
        lines += [f"encodings forgotten in {d}: {', '.join(c) or 'none held any'}" for d, c in forgotten.items()]
    emit({"out": str(out_dir), **s, **({"encodings_forgotten": forgotten} if forget_encodings else {})}, lines,
         as_json=as_json)
    estimates = s.get("decision_estimates") or {}
    if estimates.get("labelled_pairs"):
        p, r = estimates["precision"], estimates["recall"]
        echo_progress(f"decisions at threshold {s['thresholds']['link_threshold']:g}: precision "
                      f"{p['successes']}/{p['trials']} (95% CI {_ci(p)}), recall {r['successes']}/{r['trials']} "
                      f"(95% CI {_ci(r)}) among {estimates['labelled_pairs']} decided pairs", quiet=quiet)
    if s["large_cluster_count"]:
        click.echo(f"warning: {s['large_cluster_count']} cluster(s) larger than {s['max_cluster_size']} "
                   "records (see summary.json large_clusters)", err=True)


def _explain(records: int, plan: Any, max_pairs: int | None, *, as_json: bool) -> None:
    """--explain-blocking: the plan (text, or JSON with --json), then stop if it is too big."""
    text = plan.explain()
    emit({"records": records, "max_pairs": max_pairs, "explain": text}, [f"{records:,} records", text],
         as_json=as_json)
    plan.check(max_pairs)


def _ci(rate: dict) -> str:
    """A summary.json rate's 95% interval as text ("-" when undefined)."""
    return f"{rate['ci95'][0]:.0%}-{rate['ci95'][1]:.0%}" if rate["ci95"] else "-"


# evaluate command: see below


@click.command(cls=StairsCommand, context_settings=HELP)
@click.argument("linked", type=click.Path(exists=True, path_type=Path))
@click.option("--truth", "truth_path", required=True, type=click.Path(exists=True, path_type=Path),
              help="Ground truth: a Parquet file (record_key, true_child_id, ...) or a synth truth "
                   "directory holding records.parquet.")
@click.option("--by", "by", multiple=True,
              help="Report recall by this column (repeatable), e.g. --by ethnic_group --by sex --by site_id. "
                   "Taken from the truth, else the staged person tables (--staged), else (site_id, "
                   "source_system) the record_key.")
@click.option("--staged", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Staged directories (person.parquet) to take --by columns from (repeatable).")
@click.option("--min-true-pairs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Groups with fewer true pairs are listed but left out of the recall gap.")
@click.option("--exclude-unlinked-truth", is_flag=True,
              help="Score only truth records that reached linkage (e.g. when adapt rejected rows); "
                   "the number left out is reported. Without it, differing record sets are an error.")
@click.option("-o", "--out", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the full result as JSON to this file.")
@quiet_option
@json_option
def evaluate(linked: Path, truth_path: Path, by: tuple[str, ...], staged: tuple[Path, ...],
             min_true_pairs: int, exclude_unlinked_truth: bool, json_path: Path | None, quiet: bool = False,
             as_json: bool = False) -> None:
    """Score LINKED/clusters.parquet against ground truth: pairwise and B-cubed precision,
    recall and F1, and recall by subgroup so linkage bias is visible.

    \b
    Example:
      stairs-link evaluate linked --truth synth/truth --by ethnic_group --by sex --by site_id
    """
    import json

    from stairs_link.linkage.evaluate import attach_columns, evaluate_clusters, format_report, load_clusters, load_truth

    clusters, clusters_file = load_clusters(linked)
    truth, truth_file = load_truth(truth_path)
    truth = attach_columns(truth, by, clusters=clusters, staged=staged)
    result = evaluate_clusters(clusters, truth, by, min_true_pairs=min_true_pairs,
                               exclude_unlinked_truth=exclude_unlinked_truth,
                               clusters_file=clusters_file, truth_file=truth_file)
    emit(result, [format_report(result)], as_json=as_json)
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2), encoding="utf-8")
        echo_progress(f"written to {json_path}", quiet=quiet)
