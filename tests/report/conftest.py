"""Fixtures for the report tests (the generator-based world is in tests/integrate/synthetic_world.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the generator-based world is shared with the integrate tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrate"))
from synthetic_world import write_synthetic_world  # noqa: E402

from stairs_link.integrate import build


@pytest.fixture(scope="module")
def synthetic_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    linked, staged = write_synthetic_world(root)
    build(linked, staged, root / "dataset")
    return root / "dataset"
