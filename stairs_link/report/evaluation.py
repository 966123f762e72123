"""The report's evaluation sections: the indicators of each topic, disclosure-controlled.

Figures come from :mod:`stairs_link.indicators` (the same definitions and the same disclosure
rule as `stairs-link indicators`), by setting type and by site, and are rendered by the jinja2
template ``stairs_link/templates/report/evaluation.html`` through :mod:`stairs_link.templating`
(autoescape on). A suppressed value is shown as a
hatched bar labelled "suppressed", never as an empty bar; a site table whose cells are mostly
suppressed is replaced by a note pointing to the setting-type figures (the next coarser
breakdown). Each figure carries its definition, window, denominator and source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from stairs_link.indicators import ALL, Disclosure, Params, compute, load_frames, publish, select
from stairs_link.indicators.model import Definition
from stairs_link.templating import render

#: report sections: (anchor, heading, indicator id patterns, the evaluation's question)
SECTIONS = [
    ("formulations", "Topic 1: formulations", ["formulation.*"],
     "Did children have multi-agency, co-produced formulations, how many disciplines took part, how were "
     "children involved, and were formulations reviewed?"),
    ("transitions", "Recommendation 5: formulations across moves", [
        "transition.formulation_at_receiving_within_window", "transition.transfer_formulation_at_receiving_within_window",
        "transition.transition_formulation_before_leaving", "transition.any_formulation_before_leaving"],
     "Do formulations move with children as they transition in and out of the secure estate?"),
    ("outcomes", "Outcome measures", ["outcome.*"],
     "How did children's scores change from first to last, and how many were under the clinical cut-off?"),
    ("incidents", "High-risk behaviours and restrictive practices", ["incident.*"],
     "How many children had high-risk behaviours, restraint, separation or hospital visits, and how often per "
     "30 days in custody?"),
    ("education", "Education", ["education.*"], "How many hours of education were offered and attended per week?"),
    ("pathways", "Pathways: re-admission and the young adult estate",
     ["transition.readmitted_within_days", "transition.to_young_adult_estate"],
     "How many children came back after a release, and how many moved on to the young adult estate?"),
    ("coverage", "Which systems recorded each stay (the denominators)", ["coverage.*"],
     "A stay no health system recorded cannot show a formulation: which systems saw each stay?"),
]

#: a site table is shown when at most this share of its cells is suppressed
SITE_TABLE_MAX_SUPPRESSED = 0.5


@dataclass
class Cell:
    value: str  # formatted value, or "suppressed" / "no value"
    n: str  # units, formatted (rounded) or "*"
    suppressed: bool
    width: float | None = None  # bar width in percent of the chart, for percent indicators


@dataclass
class Row:
    definition: Definition
    cells: list[Cell]
    parameters: str


@dataclass
class Section:
    anchor: str
    heading: str
    question: str
    columns: list[str]
    rows: list[Row]
    site_columns: list[str] = field(default_factory=list)
    site_rows: list[Row] = field(default_factory=list)
    site_note: str = ""


def _format(value: float, unit: str) -> str:
    if unit.startswith("percent"):
        return f"{value:.0f}%"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def _n(value: object) -> str:
    return "0" if pd.isna(value) else str(int(value))  # type: ignore[call-overload]


def _cell(row: pd.Series | None, unit: str) -> Cell:
    if row is None or (not bool(row["suppressed"]) and pd.isna(row["value"])):
        return Cell("no value", "0" if row is None else _n(row["n_units"]), False)
    if bool(row["suppressed"]):
        return Cell("suppressed", "*", True, 100.0 if unit.startswith("percent") else None)
    width = float(row["value"]) if unit.startswith("percent") else None
    return Cell(_format(float(row["value"]), unit), _n(row["n_units"]), False, width)


def _rows(table: pd.DataFrame, definitions: list[Definition], column: str, groups: list[str]) -> list[Row]:
    rows = []
    for d in definitions:
        part = table[table["definition_id"] == d.id].set_index(column)
        cells = [_cell(part.loc[g] if g in part.index else None, d.unit) for g in groups]
        parameters = str(part["parameters"].iloc[0]) if len(part) else ""
        rows.append(Row(d, cells, parameters))
    return rows


def evaluation_sections(dataset_dir: str | Path, threshold: int = 7, rounding: int = 5,
                        params: Params | None = None) -> list[Section]:
    """The sections' content: published (disclosure-controlled) indicator values."""
    params = params or Params()
    frames = load_frames(dataset_dir, params.as_at)
    rule = Disclosure(threshold, rounding)
    sections = []
    for anchor, heading, patterns, question in SECTIONS:
        definitions = select(patterns)
        raw = compute(frames, definitions, ["setting_type", "site_id"], params)
        published = publish(raw, definitions, rule)
        by_setting = published[published["level"].isin(["setting_type", ALL])]
        settings = sorted(s for s in by_setting["setting_type"].unique() if s != ALL)
        section = Section(anchor, heading, question, ["all settings", *settings],
                          _rows(by_setting, definitions, "setting_type", [ALL, *settings]))
        by_site = published[published["level"] == "setting_type+site_id"]
        sites = sorted(by_site["site_id"].unique())
        if not sites:
            section.site_note = ("No figures by site: the dataset holds no records these indicators count (no system "
                                 "sent them, or none fall inside a stay).")
        else:
            share = float(by_site["suppressed"].mean())
            if share <= SITE_TABLE_MAX_SUPPRESSED:
                section.site_columns = sites
                section.site_rows = _rows(by_site, definitions, "site_id", sites)
            else:
                section.site_note = (f"By site, {share:.0%} of the figures would be suppressed (too few children "
                                     "per site), so they are not shown: the figures by setting type above are the "
                                     "next coarser breakdown.")
        sections.append(section)
    return sections


def render_evaluation(dataset_dir: str | Path, threshold: int = 7, rounding: int = 5,
                      params: Params | None = None) -> str:
    """The evaluation sections as an HTML fragment (for the report page)."""
    params = params or Params()
    sections = evaluation_sections(dataset_dir, threshold, rounding, params)
    return render("report/evaluation.html", sections=sections, params=params, threshold=threshold,
                  rounding=rounding)


def data_as_at_line(dataset_dir: str | Path) -> str:
    """The report's first-screen line: data as at, extract dates, censor rule (from build.json)."""
    import json

    path = Path(dataset_dir) / "build.json"
    info = (json.loads(path.read_text(encoding="utf-8")).get("data_as_at") or {}) if path.exists() else {}
    if not info.get("as_at"):
        return "Data as at: not recorded (the dataset was built by an earlier version; rebuild it)."
    return (f"Data as at {info['as_at']}: the latest extract of the {len(info.get('extracts') or {})} source "
            f"systems (earliest {info.get('earliest_extract')}). Open stays are followed to their latest extract "
            "date; figures that count time or windows are censored at the as-at date.")
