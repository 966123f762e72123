"""docs/indicators.md is generated from the registry and names a source for every definition."""

from __future__ import annotations

from pathlib import Path

import pytest

from stairs_link.indicators import registry
from stairs_link.indicators.docs import render

ROOT = Path(__file__).resolve().parents[2]
# shared/ stands beside the checkout (CI, /work/main) or beside its parent (a worktree under
# /work/wt/); the first that exists is read
REPORT = next((p for p in (base / "shared" / "context" / "000_39b8bae7e4aa9f4a.txt"
                           for base in (ROOT.parent, ROOT.parent.parent)) if p.exists()),
              ROOT.parent / "shared" / "context" / "000_39b8bae7e4aa9f4a.txt")


def test_docs_are_generated_from_the_registry():
    assert (ROOT / "docs" / "indicators.md").read_text(encoding="utf-8") == render(), \
        "docs/indicators.md is out of date: run python -m stairs_link.indicators.docs"


def test_every_definition_cites_a_section_and_words_of_the_evaluation():
    for definition in registry().values():
        assert definition.source.section and len(definition.source.quote) > 20, definition.id


def test_quotes_are_the_report_s_own_words():
    if not REPORT.exists():
        pytest.skip("evaluation report not present (project context, not in the repository)")
    text = " ".join(REPORT.read_text(encoding="utf-8").replace("*", "").split())
    for definition in registry().values():
        quote = " ".join(definition.source.quote.split())
        assert quote in text, f"{definition.id}: quote not found in the evaluation report"
