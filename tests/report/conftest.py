"""Fixtures for the report tests (the generator-based world is in synthetic_world.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic_world import write_synthetic_world

from stairs_link.integrate import build


@pytest.fixture(scope="module")
def synthetic_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    linked, staged = write_synthetic_world(root)
    build(linked, staged, root / "dataset")
    return root / "dataset"
