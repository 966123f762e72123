"""One 2,000-child synthetic world, built once for all indicator tests (about 15 s)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from indicator_world import build_world  # noqa: E402

N_CHILDREN = 2000
SEED = 7


@pytest.fixture(scope="session")
def world_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_world(tmp_path_factory.mktemp("indicator_world"), N_CHILDREN, SEED)
