"""Fixtures shared by several test folders."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "indicators"))


@pytest.fixture(scope="session")
def world_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2,000-child synthetic world linked and built once per test session (about 15 s), for
    the indicator and analysis tests (tests/indicators/indicator_world.py)."""
    from indicator_world import N_CHILDREN, SEED, build_world

    return build_world(tmp_path_factory.mktemp("indicator_world"), N_CHILDREN, SEED)
