"""The report is one offline HTML file and every count in it is disclosure-controlled."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from stairs_link.report import render_report, suppressed_values
from stairs_link.report.render import Disclosure


def assert_suppressed(text: str, threshold: int = 7, rounding: int = 5) -> None:
    """A published count is 0, * or a multiple of ``rounding`` no smaller than the smallest
    unsuppressed count (``threshold`` + 1) rounded."""
    smallest = int((threshold + 1) / rounding + 0.5) * rounding
    assert text == "0" or text == "*" or (
        text.isdigit() and int(text) % rounding == 0 and int(text) >= smallest
    ), f"count {text!r} is not disclosure-controlled"


@pytest.fixture(scope="module")
def report_html(synthetic_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    render_report(synthetic_dataset, out)
    return out.read_text(encoding="utf-8")


def test_every_count_and_chart_label_is_suppressed(report_html):
    counts, labels = suppressed_values(report_html)
    assert len(counts) > 50 and len(labels) > 30
    for text in counts:
        assert_suppressed(text)
    for text in labels:
        if text.endswith("%"):
            assert 0 <= int(text[:-1]) <= 100
        else:
            assert_suppressed(text)
    # the data are big enough that rounding, suppression and zeros all occur
    assert {"*", "0"} <= set(counts) and any(c not in {"*", "0"} for c in counts)


def test_every_table_cell_is_classified(report_html):
    # a number can only appear in a count cell (suppressed), a percentage or a median; the
    # evaluation sections' indicator cells are checked in test_report_evaluation.py
    report_html = report_html.split('<section id="evaluation"')[0]
    cells = re.findall(r'<td class="([a-z]+)">([^<]*)</td>', report_html)
    assert len(cells) == report_html.count("<td")
    for cls, text in cells:
        assert cls in {"count", "pct", "stat", "text"}, cls
        if cls == "pct":
            assert text in {"*", "n/a"} or re.fullmatch(r"\d{1,3}%", text), text
        elif cls == "stat":
            assert text == "*" or text.isdigit(), text
        elif cls == "text":
            assert not re.search(r"\d", text), text


def test_raw_totals_do_not_appear(report_html, synthetic_dataset):
    raw = {
        len(pd.read_parquet(synthetic_dataset / "record_map.parquet")),
        len(pd.read_parquet(synthetic_dataset / "transitions.parquet")),
        len(pd.read_parquet(synthetic_dataset / "episodes.parquet")),
        len(pd.read_parquet(synthetic_dataset / "formulations.parquet")),
    }
    unrounded = {n for n in raw if n % 5}
    assert unrounded, "fixture should have totals that are not multiples of 5"
    visible = re.sub(r"base64,[A-Za-z0-9+/=]+", "", report_html)
    for n in unrounded:
        assert not re.search(rf"(?<![0-9]){n}(?![0-9])", visible), n


def test_report_is_self_contained(report_html):
    assert not re.search(r"https?://", report_html)
    srcs = re.findall(r'\bsrc="([^"]*)"', report_html)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<script" not in report_html and "<link" not in report_html
    assert "@import" not in report_html and "url(" not in report_html


def test_report_shows_no_personal_data(report_html, synthetic_dataset):
    children = pd.read_parquet(synthetic_dataset / "children.parquet",
                               columns=["family_name", "nhs_number", "date_of_birth"])
    for name in children["family_name"].dropna().unique()[:50]:
        assert f">{name}<" not in report_html
    for nhs in children["nhs_number"].dropna().unique()[:50]:
        assert nhs not in report_html


def test_sections_present(report_html):
    text = html.unescape(report_html)  # the apostrophe is escaped (&#39; from the template engine)
    for heading in ("Data coverage by site", "Linkage quality", "Children's pathways", "Formulation coverage",
                    "Time to first formulation after admission"):
        assert f">{heading}</h" in text


def test_percentages_hide_small_complements():
    rule = Disclosure(threshold=7, rounding=5)
    assert rule.percent(20, 40) == "50%"
    assert rule.percent(3, 40) == "*"  # small numerator
    assert rule.percent(37, 40) == "*"  # small complement: 3 without one would be recoverable
    assert rule.percent(0, 40) == "0%" and rule.percent(40, 40) == "100%"


def test_linkage_section_uses_pairs_and_review(synthetic_dataset, tmp_path):
    from stairs_link.schema.outputs import output_unit

    linked = tmp_path / "linked"
    weights = [float(w) for w in range(-10, 20)] * 3
    with output_unit(linked, "link") as unit:  # the writer `link` publishes through
        pd.DataFrame({"record_key_l": "a", "record_key_r": "b", "match_weight": weights,
                      "match_probability": 0.5}).to_parquet(unit.path("pairs.parquet"))
        pd.DataFrame({"record_key_l": ["a"] * 12, "record_key_r": ["b"] * 12}).to_csv(unit.path("review.csv"),
                                                                                      index=False)
    out = render_report(synthetic_dataset, tmp_path / "r.html", linked_dir=linked)
    text = out.read_text(encoding="utf-8")
    assert "Bar chart of scored pairs by match weight" in text and "clerical review band" in text
    assert re.search(r'clerical review band</th><td class="count">10<', text)
    assert re.search(r'scored pairs</th><td class="count">90<', text)


def test_report_cli(synthetic_dataset, tmp_path):
    from stairs_link.cli import cli

    out = tmp_path / "cli.html"
    result = CliRunner().invoke(cli, ["report", str(synthetic_dataset), "--out", str(out), "--threshold", "10"])
    assert result.exit_code == 0, result.output
    assert out.exists() and f"report written to {out}" in result.output
    # --threshold 10: counts up to 10 are suppressed, so no 5 and no 10 from 8..10
    counts, labels = suppressed_values(out.read_text(encoding="utf-8"))
    for text in counts + [t for t in labels if not t.endswith("%")]:
        assert_suppressed(text, threshold=10)
    assert "5" not in counts


def test_report_on_missing_dataset_is_a_clean_error(tmp_path):
    from stairs_link.cli import cli

    result = CliRunner().invoke(cli, ["report", str(tmp_path), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "children.parquet not found" in result.output and "stairs-link build" in result.output
