"""The 2,000-child world (tests/conftest.py) analysed once for all analysis tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def analysed(world_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from stairs_link.analysis import write_analysis

    out = tmp_path_factory.mktemp("analysis") / "analysis"
    write_analysis(world_dataset, out)
    return world_dataset, out
