"""`stairs-link explain`: write the linkage workbench pages (linkage.html, review.html) for an
existing LINKED directory, e.g. one linked before the pages existed or with ground truth added.
"""

from __future__ import annotations

from pathlib import Path

import click

from stairs_link.cli.common import StairsCommand, emit, json_option, quiet_option

HELP = {"help_option_names": ["-h", "--help"]}


@click.command(cls=StairsCommand, context_settings=HELP)
@click.argument("linked", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory to write linkage.html and review.html to (default: LINKED).")
@click.option("--truth", "truth_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="Ground truth (record_key, true_child_id; a Parquet file or a synth truth directory): "
                   "adds the blocking rules' cumulative recall of true pairs.")
@click.option("--waterfall-pairs", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Pairs embedded for the waterfall search (those nearest the threshold when there are more).")
@quiet_option
@json_option
def explain(linked: Path, out_dir: Path | None, truth_path: Path | None, waterfall_pairs: int, quiet: bool,
            as_json: bool = False) -> None:
    """Write linkage.html (the model, scores, blocking, clusters and a waterfall for any pair)
    and review.html (clerical review by keyboard) for LINKED, a directory written by `link`.

    Both pages are single offline files holding record keys (and, in review.html, the values of
    the pairs under review): working pages, not published outputs.

    \b
    Example:
      stairs-link explain linked
      stairs-link explain linked -o pages --truth synth/truth
    """
    import json

    from stairs_link.linkage.workbench import write_pages

    truth = None
    if truth_path is not None:
        from stairs_link.linkage.evaluate import load_truth

        truth = load_truth(truth_path)[0]
    pages = write_pages(linked, out_dir, truth=truth, max_pairs=waterfall_pairs)
    summary = json.loads((linked / "summary.json").read_text(encoding="utf-8"))
    emit({"linkage_html": str(pages.linkage_html), "review_html": str(pages.review_html),
          "review_pairs": pages.review_pairs, "waterfall_pairs": pages.waterfall_pairs,
          "decision_estimates": summary.get("decision_estimates")},
         [f"linkage model, scores and waterfall: {pages.linkage_html}",
          f"clerical review ({pages.review_pairs} pairs): {pages.review_html}"], as_json=as_json)
