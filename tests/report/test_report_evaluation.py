"""The report's evaluation sections, in real headless Chromium: data as at on the first screen,
one section per topic with definitions, suppressed values drawn hatched and labelled (never an
empty bar), percentages suppressed with the counts they come from, the coarser breakdown offered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _helpers import launch_chromium

from stairs_link.report import render_report
from stairs_link.report.evaluation import SECTIONS, evaluation_sections


@pytest.fixture(scope="module")
def report_file(synthetic_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evaluation") / "report.html"
    render_report(synthetic_dataset, out)
    return out


@pytest.fixture(scope="module")
def page(report_file: Path):
    with launch_chromium() as browser:
        tab = browser.new_page(viewport={"width": 1280, "height": 800})
        tab.goto(report_file.as_uri())
        tab.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")  # draw every bar
        yield tab


def test_data_as_at_is_on_the_first_screen(page):
    as_at = page.locator("p.as-at")
    assert "Data as at 2026-01-31" in as_at.inner_text() or "Data as at" in as_at.inner_text()
    box = as_at.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 800  # visible without scrolling


def test_a_section_per_topic_with_definitions(page):
    for anchor, heading, _, _ in SECTIONS:
        section = page.locator(f"#topic-{anchor}")
        assert section.count() == 1, anchor
        assert section.locator("h2").inner_text() == heading
        assert section.locator("details.definitions dd").count() == section.locator("table.indicators").first.locator(
            "tbody tr").count()
        text = section.locator("details.definitions").text_content()
        assert "Denominator:" in text and "Source:" in text


def test_suppressed_values_are_hatched_and_labelled_never_empty_bars(page):
    cells = page.locator("td.indicator")
    assert cells.count() > 100
    suppressed = page.locator("td.indicator.suppressed")
    assert suppressed.count() > 0  # a 300-child world has small cells
    for i in range(min(suppressed.count(), 40)):
        cell = suppressed.nth(i)
        assert cell.get_attribute("data-n") == "*"  # the share is withheld with its count
        svg = cell.locator("svg.bar.suppressed")
        if svg.count():  # percent indicators draw a bar
            assert svg.get_attribute("aria-label") == "suppressed"
            assert svg.locator("line").count() >= 5 and "suppressed" in svg.text_content()
            box = svg.bounding_box()
            assert box and box["width"] >= 90  # drawn full width, hatched: not an empty bar
    # every drawn (unsuppressed) bar has a filled part as wide as its percentage
    for svg in page.locator("td.indicator.shown svg.bar").all()[:60]:
        label = svg.get_attribute("aria-label")
        width = float(svg.locator("rect.fill").get_attribute("width"))
        assert label.endswith("%") and abs(width - float(label[:-1])) <= 0.6


def test_shown_counts_are_disclosure_controlled(page):
    for cell in page.locator("td.indicator.shown").all():
        n = cell.get_attribute("data-n")
        assert n == "0" or (n.isdigit() and int(n) % 5 == 0 and int(n) >= 10), n


def test_site_breakdown_or_the_note_pointing_to_the_coarser_one(page):
    for anchor, *_ in SECTIONS:
        section = page.locator(f"#topic-{anchor}")
        assert section.locator("details.by-site").count() + section.locator("p.site-note").count() == 1, anchor


def test_too_small_site_cells_give_way_to_the_coarser_breakdown(synthetic_dataset):
    # 300 children over 18 sites: with the usual threshold (7) the formulation figures by site
    # are mostly publishable; with a threshold of 100 most are not, and the section says to use
    # the setting-type figures instead of printing a page of "suppressed"
    usual = {s.anchor: s for s in evaluation_sections(synthetic_dataset, threshold=7)}
    strict = {s.anchor: s for s in evaluation_sections(synthetic_dataset, threshold=100)}
    assert usual["formulations"].site_rows and not usual["formulations"].site_note
    assert not strict["formulations"].site_rows
    assert "next coarser breakdown" in strict["formulations"].site_note
    assert strict["formulations"].rows  # the setting-type figures are still there


def test_fragment_is_autoescaped_and_self_contained(report_file):
    html = report_file.read_text(encoding="utf-8")
    section = html.split('<section id="evaluation"')[1]
    assert "<script" not in section and "url(" not in section and not re.search(r"https?://", section)
