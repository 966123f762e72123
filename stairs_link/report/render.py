"""`report`: one self-contained, disclosure-controlled HTML file for evaluators.

Every count goes through :func:`stairs_link.privacy.disclosure.suppress_count` before it is
written or drawn, and sits in an element with ``class="count"``; charts are drawn from the same
suppressed strings and list them in ``data-labels``. Percentages are shown only when neither
the numerator nor the rest of the denominator is a small (suppressed) count, so no hidden
count can be worked back from a percentage and a rounded total. The file has no external
resources: styles are inline and pictures are base64 PNGs.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stairs_link.indicators import Params
from stairs_link.privacy.disclosure import suppress_count
from stairs_link.report import plots
from stairs_link.report.evaluation import data_as_at_line, evaluation_sections
from stairs_link.report.tables import (
    Dataset,
    cluster_sizes,
    coverage_by_site,
    formulation_coverage,
    formulation_delay,
    formulation_median_days,
    id_events,
    link_rate_by_system,
    load_dataset,
    moves_by_kind,
    transition_matrix,
    weight_histogram,
)
from stairs_link.templating import render

# The page's layout is in stairs_link/templates/report.html (blocks: _blocks.html, styles:
# report.css); the wording of each section is written below, with the numbers it shows.

@dataclass(frozen=True)
class Disclosure:
    """The disclosure rule in force: counts 1..threshold become "*", others round to ``rounding``."""

    threshold: int = 7
    rounding: int = 5

    def count(self, n: int) -> str:
        return suppress_count(int(n), threshold=self.threshold, rounding=self.rounding)

    def small(self, n: int) -> bool:
        return 0 < int(n) <= self.threshold

    def percent(self, numerator: int, denominator: int) -> str:
        """Whole-number percentage, or "*" when it could reveal a small count."""
        if denominator == 0 or self.small(numerator) or self.small(denominator - numerator):
            return "*"
        return f"{round(100 * numerator / denominator)}%"


class _Page:
    """The report's blocks in order (headings, paragraphs, tables, figures) as plain values;
    templates/report.html turns them into HTML, escaping every text."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, Any]] = []

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append({"kind": "heading", "text": text, "level": level})

    def para(self, text: str, cls: str | None = None) -> None:
        self.blocks.append({"kind": "para", "text": text, "cls": cls})

    def table(self, header: list[str], rows: list[list[tuple[str, str]]], caption: str | None = None) -> None:
        """``rows``: lists of (css class, text); class "label" cells become row headers."""
        self.blocks.append({"kind": "table", "header": header, "rows": rows, "caption": caption})

    def figure(self, png_labels: tuple[str, list[str]], alt: str) -> None:
        png, labels = png_labels
        self.blocks.append({"kind": "figure", "png": png, "labels": labels, "alt": alt})

    def evaluation(self, sections: list[Any], **context: Any) -> None:
        """The evaluation sections (templates/report/evaluation.html; report/evaluation.py)."""
        self.blocks.append({"kind": "evaluation", "sections": sections, **context})

    def render(self, title: str) -> str:
        return render("report.html", title=title, page_blocks=self.blocks)


def render_report(
    dataset_dir: str | Path,
    out: str | Path,
    *,
    threshold: int = 7,
    rounding: int = 5,
    linked_dir: str | Path | None = None,
) -> Path:
    """Write the evaluator report for ``dataset_dir`` to ``out`` (one HTML file) and return its path."""
    data = load_dataset(Path(dataset_dir), Path(linked_dir) if linked_dir is not None else None)
    rule = Disclosure(threshold=threshold, rounding=rounding)
    page = _Page()
    title = "stairs-link: children's pathways through the secure estate"
    page.heading(title, 1)
    page.para(data_as_at_line(dataset_dir), "as-at")
    page.para(
        f"Built from {Path(dataset_dir).name} on {datetime.now(UTC):%Y-%m-%d}. Disclosure control: "
        f"counts from 1 to {threshold} are shown as *, other counts are rounded to the nearest {rounding}, "
        "0 stays 0; percentages are withheld (*) where they could reveal a small count.",
        "note",
    )
    _overview(page, data, rule)
    _coverage(page, data, rule)
    _linkage(page, data, rule)
    _pathways(page, data, rule)
    _formulations(page, data, rule)
    params = Params()
    page.evaluation(evaluation_sections(dataset_dir, threshold, rounding, params), params=params,
                    threshold=threshold, rounding=rounding)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page.render(title), encoding="utf-8")
    return out


def _counts(rule: Disclosure, values: list[int]) -> list[tuple[str, str]]:
    return [("count", rule.count(v)) for v in values]


def _overview(page: _Page, data: Dataset, rule: Disclosure) -> None:
    page.heading("Overview")
    t = data.transitions
    rows = [
        [("label", "children"), *_counts(rule, [len(data.children)])],
        [("label", "source records linked into them"), *_counts(rule, [len(data.sources)])],
        [("label", "stays (episodes of several systems merged)"), *_counts(rule, [len(data.stays)])],
        [("label", "moves in the children's pathways"), *_counts(rule, [len(t)])],
    ]
    page.table(["", "count"], rows)


def _coverage(page: _Page, data: Dataset, rule: Disclosure) -> None:
    page.heading("Data coverage by site")
    page.para("What each site sent: the kinds of system, and how many records, children, stays and events.")
    cov = coverage_by_site(data)
    count_columns = ["records", "children", "stays", "formulations", "incidents", "education", "measures"]
    rows = [
        [("label", str(r["site_id"])), ("text", str(r["setting_type"])), ("text", str(r["system_kinds"])),
         *_counts(rule, [int(r[c]) for c in count_columns])]
        for _, r in cov.iterrows()
    ]
    page.table(["site", "setting type", "system kinds", *count_columns], rows)


LINK_RATE_MIN_RECORDS = 10  # a rate of fewer records is not shown (it would disclose small counts)


def _linkage(page: _Page, data: Dataset, rule: Disclosure) -> None:
    page.heading("Linkage quality")
    sizes = cluster_sizes(data)
    labels = [rule.count(v) for v in sizes["children"]]
    page.para("How many source records were linked into each child. Large clusters can be false matches; "
              "single records can be missed matches.")
    page.table(["records per child", "children"],
               [[("label", s), ("count", c)] for s, c in zip(sizes["records per child"], labels, strict=True)])
    page.figure(plots.bar_chart(list(sizes["records per child"]), labels, title="Children by number of linked records",
                                xlabel="children"), "Bar chart of children by number of linked records")
    rates = link_rate_by_system(data)
    page.para("Link rate per site system: the share of its records linked to a record of another site system. "
              "A system at 0% linked to nothing else: check its mapping (`stairs-link mapping check --against`) "
              "and whether its records have enough fields to link (the check report's person.linking_fields).")
    shown = rates["records"] >= LINK_RATE_MIN_RECORDS
    page.table(["site / system", "kind", "records", "linked to another system", "link rate"],
               [[("label", f"{r['site_id']} / {r['source_system']}"), ("text", str(r["system_kind"])),
                 *_counts(rule, [int(r["records"]), int(r["linked"])]),
                 ("pct", f"{r['link_rate']:.0%}" if ok else "n/a")]
                for ok, (_, r) in zip(shown, rates.iterrows(), strict=True)])
    isolated = rates[shown & (rates["linked"] == 0)]
    if len(isolated):
        page.para("Linked to nothing else: " + ", ".join(f"{r['site_id']} / {r['source_system']}"
                                                        for _, r in isolated.iterrows())
                  + ". Their records may select the wrong fields or have too few fields to link.", "note")
    if data.pairs is None:
        page.para("No linkage pairs were found (pass --linked LINKED, or build from a linkage run that wrote "
                  "pairs.parquet), so the match-weight distribution is not shown.", "note")
    else:
        hist = weight_histogram(data.pairs)
        labels = [rule.count(v) for v in hist["pairs"]]
        page.para("Scored record pairs by match weight (log2 Bayes factor): true matches gather at high weights, "
                  "non-matches at low weights; pairs in between are the uncertain ones.")
        page.figure(plots.bar_chart(list(hist["match weight"]), labels, title="Scored pairs by match weight",
                                    xlabel="pairs"), "Bar chart of scored pairs by match weight")
        page.table(["match weight", "pairs"],
                   [[("label", w), ("count", c)] for w, c in zip(hist["match weight"], labels, strict=True)])
    review_rows = [[("label", "scored pairs"), *_counts(rule, [0 if data.pairs is None else len(data.pairs)])]]
    if data.review is not None:
        review_rows.append([("label", "pairs in the clerical review band"), *_counts(rule, [len(data.review)])])
    else:
        page.para("No review.csv was found, so the size of the clerical review band is not shown.", "note")
    page.table(["", "count"], review_rows)
    band = ((data.linkage_summary or {}).get("thresholds") or {}).get("review_band")
    if isinstance(band, list) and len(band) == 2:
        page.para(f"Review band: pairs with a match probability from {band[0]} to {band[1]} are listed for "
                  "clerical review.", "note")
    events = id_events(data)
    if len(events) and data.id_history is not None:
        run = int(data.id_history["run"].max())
        page.para(f"Stable child ids (build run {run}): how each child's id came about; 'continued' children keep "
                  "the id they had in the previous dataset, merges and splits are listed in id_history.parquet.")
        page.table(["id", "children"], [[("label", e), ("count", rule.count(n))]
                                        for e, n in zip(events["event"], events["children"], strict=True)])


def _pathways(page: _Page, data: Dataset, rule: Disclosure) -> None:
    page.heading("Children's pathways")
    page.para("Moves between settings: admission from the community, transfer between settings, release to the "
              "community, re-admission within the window, and moves to the young adult estate. Episodes that "
              "several systems of one setting recorded for the same stay are merged first, so they are not moves.")
    matrix = transition_matrix(data)
    cells = [[rule.count(v) for v in row] for row in matrix.to_numpy().tolist()]
    page.figure(
        plots.flow_chart(list(matrix.index), list(matrix.columns), cells,
                         title="Where children move from (left) and to (right)"),
        "Flow diagram of moves between kinds of setting",
    )
    page.figure(
        plots.heatmap(list(matrix.index), list(matrix.columns), cells, title="Moves from one kind of setting to another",
                      xlabel="to", ylabel="from"),
        "Heat map of moves between kinds of setting",
    )
    page.table(["from \\ to", *[c.replace("_", " ") for c in matrix.columns]],
               [[("label", str(r).replace("_", " ")), *[("count", c) for c in row]]
                for r, row in zip(matrix.index, cells, strict=True)])
    kinds = moves_by_kind(data)
    rows = []
    for _, r in kinds.iterrows():
        sending = r["kind"] in {"transfer", "release", "young_adult_estate"}
        receiving = r["kind"] in {"transfer", "admission", "readmission"}
        rows.append([
            ("label", r["kind"].replace("_", " ")),
            ("count", rule.count(r["moves"])),
            ("count", rule.count(r["children"])),
            ("pct", rule.percent(int(r["formulation_before"]), int(r["moves"])) if sending else "n/a"),
            ("pct", rule.percent(int(r["formulation_at_receiving"]), int(r["moves"])) if receiving else "n/a"),
        ])
    page.para("Do formulations move with the child? For each kind of move: the share with a formulation at the "
              "sending setting before the move, and the share with a formulation at the receiving setting soon "
              "after arrival (window set at build time, --formulation-days).")
    page.table(["kind of move", "moves", "children", "formulation before the move",
                "formulation at the receiving setting"], rows)


def _formulations(page: _Page, data: Dataset, rule: Disclosure) -> None:
    page.heading("Formulation coverage")
    cov = formulation_coverage(data)
    page.para("Stays with at least one formulation recorded at the setting during the stay, by kind of setting "
              "and year of admission.")
    rows = []
    for _, r in cov.iterrows():
        rows.append([("label", f"{r['setting_type']} {int(r['year'])}"),
                     ("count", rule.count(r["stays"])), ("count", rule.count(r["with_formulation"])),
                     ("pct", rule.percent(int(r["with_formulation"]), int(r["stays"])))])
    page.table(["setting type and year", "stays", "with a formulation", "share"], rows)
    years = sorted(cov["year"].unique().tolist())
    series = {}
    for setting, part in cov.groupby("setting_type"):
        by_year = part.set_index("year")
        series[str(setting)] = [
            rule.percent(int(by_year.loc[y, "with_formulation"]), int(by_year.loc[y, "stays"]))
            if y in by_year.index else "*" for y in years
        ]
    if years:
        page.figure(plots.grouped_bars([str(y) for y in years], series, title="Stays with a formulation",
                                       ylabel="share of stays", percent=True),
                    "Bar chart of the share of stays with a formulation by year and kind of setting")
        page.para("* marks a share withheld to protect a small count.", "note")

    page.heading("Time to first formulation after admission", 3)
    delay = formulation_delay(data)
    settings = [c for c in delay.columns if c != "time to first formulation"]
    cells = {s: [rule.count(v) for v in delay[s]] for s in settings}
    page.table(["time to first formulation", *settings],
               [[("label", band), *[("count", cells[s][i]) for s in settings]]
                for i, band in enumerate(delay["time to first formulation"])])
    if settings:
        page.figure(plots.grouped_bars(list(delay["time to first formulation"]), cells,
                                       title="Stays by time from admission to first formulation", ylabel="stays"),
                    "Bar chart of stays by time from admission to first formulation")
    medians = formulation_median_days(data)
    rows = [[("label", str(r["setting_type"])), ("count", rule.count(r["stays"])),
             ("stat", f"{r['median']:.0f}" if r["stays"] > rule.threshold else "*")]
            for _, r in medians.iterrows()]
    page.table(["setting type", "stays with a formulation", "median days to it"], rows)


def suppressed_values(report_html: str) -> tuple[list[str], list[str]]:
    """(texts of every class="count" element, every chart label) of a report, for checking."""
    counts = re.findall(r'class="count">([^<]*)<', report_html)
    labels: list[str] = []
    for raw in re.findall(r"data-labels='([^']*)'", report_html):
        labels.extend(json.loads(html.unescape(raw)))
    return counts, labels


__all__ = ["Disclosure", "render_report", "suppressed_values"]
