"""The two template-rendered pages, check.html and the evaluator report, in real headless
Chromium (Debian's /usr/bin/chromium via Playwright; no browser download): styles applied
(the CSS reached the browser as CSS, not escaped text), pictures decode, values with markup
characters show as text and run nothing, and the page asks for nothing beyond itself.

Without Chromium these tests skip locally and FAIL in CI (CI=true), where .ci/run installs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _helpers import launch_chromium

from stairs_link.quality.html import render_html
from stairs_link.quality.results import CRITICAL, WARNING, CheckResult, Outcome
from stairs_link.report import render_report


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as b:
        yield b


def _open(browser, path: Path):  # noqa: ANN001, ANN202
    """The page at ``path``, with every request it made and every script error it raised."""
    page = browser.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, requests, errors


def _check_result() -> CheckResult:
    failed = Outcome(
        check_id="person.upn.format", scope="table", source="staged/site-a", table="person",
        expectation_type="expect_column_values_to_match_regex", columns=["upn"], severity=CRITICAL,
        success=False, title="'upn' is a valid UPN", why="A wrong UPN <b>cannot</b> link.",
        fix="Correct the UPN in the export & re-run adapt.", element_count=40, unexpected_count=3,
        unexpected_percent=7.5,
        examples=[{"source_file": "pupils.csv", "source_row": 4, "values": {"upn": "<script>alert(1)</script>"}}],
        by_source={"staged/site-a": 3},
    )
    warned = Outcome(
        check_id="person.sex.codes", scope="table", source="staged/site-a", table="person",
        expectation_type="expect_column_values_to_be_in_set", columns=["sex"], severity=WARNING,
        success=False, title="'sex' uses the canonical codes", why="Unknown codes are not compared.",
        fix="Map the code in the mapping's codes:.", unexpected_values=[{"value": "X", "count": 2}],
    )
    passed = Outcome(
        check_id="person.record_key.not_null", scope="table", source="staged/site-a", table="person",
        expectation_type="expect_column_values_to_not_be_null", columns=["record_key"], severity=CRITICAL,
        success=True, title="'record_key' is filled in on every row",
    )
    return CheckResult(results=[failed, warned, passed], sources=["staged/site-a"])


def test_check_page_in_chromium(browser, tmp_path: Path) -> None:
    path = tmp_path / "check.html"
    path.write_text(render_html(_check_result(), show_values=True), encoding="utf-8")
    page, requests, errors = _open(browser, path)
    assert requests == [path.as_uri()] and errors == []
    verdict = page.locator(".verdict")
    assert verdict.inner_text() == "Not ready: 1 critical problem(s) must be fixed; 1 warning(s)."
    assert verdict.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(253, 236, 234)"  # check.css
    cards = page.locator(".card")
    assert cards.count() == 2
    first = cards.nth(0)
    assert first.evaluate("e => getComputedStyle(e).borderLeftColor") == "rgb(198, 40, 40)"  # critical
    assert "Expected: 'upn' is a valid UPN — table person, column upn" in first.inner_text()
    assert "A wrong UPN <b>cannot</b> link." in first.inner_text()  # shown as text, not markup
    assert first.locator("td", has_text="<script>alert(1)</script>").count() == 1
    assert page.evaluate("document.scripts.length") == 0
    assert "X" in cards.nth(1).locator("code").inner_text()
    assert page.locator("details summary").inner_text() == "1 checks"


def test_report_in_chromium(browser, synthetic_dataset: Path, tmp_path: Path) -> None:
    path = render_report(synthetic_dataset, tmp_path / "report.html")
    page, requests, errors = _open(browser, path)
    assert errors == [] and all(r == path.as_uri() or r.startswith("data:image/png") for r in requests)
    assert page.evaluate("getComputedStyle(document.body).maxWidth") == "960px"  # report.css: 60rem
    headings = page.locator("h2").all_inner_texts()
    assert headings[:2] == ["Overview", "Data coverage by site"] and "Children's pathways" in headings
    images = page.locator("figure img")
    assert images.count() >= 5
    assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    cell = page.locator("td.count").first
    assert cell.evaluate("e => getComputedStyle(e).textAlign") == "right"
