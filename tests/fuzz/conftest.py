"""The fuzz suite's generated world, built once per session (see fuzz_world.py)."""

from __future__ import annotations

import pytest
from fuzz_world import World, build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("fuzz"))
