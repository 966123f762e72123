"""The indicator tests' 2,000-child world, analysed once for all analysis tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "indicators"))

from indicator_world import build_world  # noqa: E402


@pytest.fixture(scope="session")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from stairs_link.analysis import write_analysis

    root = tmp_path_factory.mktemp("analysis_world")
    dataset = build_world(root, 600, 11)
    write_analysis(dataset, root / "analysis")
    return dataset, root / "analysis"
