"""Fixtures for the integrate tests (the hand-made world is in integrate_world.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from integrate_world import write_world


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, list[Path]]:
    return write_world(tmp_path)
