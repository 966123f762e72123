"""Fixtures shared by several test folders."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "indicators"))


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist registers it too; registered here so the marks below are known without it
    config.addinivalue_line("markers", "xdist_group(name): tests pytest-xdist runs in one worker")
    main = sys.modules["__main__"]
    if hasattr(config, "workerinput") and getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        # An xdist worker runs under `python -c`: its __main__ has neither __spec__ nor
        # __file__, which pyspark.sql.connect (imported by great-expectations when pyspark is
        # installed) takes for pyspark's own doctest run, printing "Skipping doctests" and
        # calling sys.exit(0) in the middle of `stairs-link check`. The spec `python -m` gives
        # (named __main__, which multiprocessing ignores) tells it this is not that run.
        import importlib.machinery

        main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)


def _session_fixtures(item: pytest.Item) -> set[str]:
    """The session-scoped fixtures of this test tree (not pytest's own) ``item`` uses."""
    info = getattr(item, "_fixtureinfo", None)
    return {name for name, defs in (info.name2fixturedefs.items() if info else [])
            if defs and defs[-1].scope == "session" and defs[-1].baseid}  # baseid "": a plugin's


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Work units for pytest-xdist (``-n 2 --dist loadgroup``, pyproject's addopts): the tests
    of one module run in one worker (its module-scoped fixtures are set up once), and the tests
    sharing a session-scoped fixture of this tree, directly or through another (the
    SparkSession of tests/engine; the indicator world below and the analysis tables built on
    it), run in one worker, so it is started or built once per run. Those shared groups, the
    longest units, are handed out first (``--no-loadscope-reorder`` keeps this order)."""
    uses = {item.nodeid: _session_fixtures(item) for item in items}
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    for names in uses.values():  # fixtures used by one test end up in one group
        for name in names:
            parent[root(name)] = root(min(names))
    groups: dict[str, list[str]] = {}
    for name in sorted(parent):
        groups.setdefault(root(name), []).append(name)
    shared_first: list[pytest.Item] = []
    rest: list[pytest.Item] = []
    for item in items:
        names = uses[item.nodeid]
        if not item.get_closest_marker("xdist_group"):
            group = "+".join(groups[root(min(names))]) if names else item.nodeid.split("::", 1)[0]
            item.add_marker(pytest.mark.xdist_group(group))
        (shared_first if names else rest).append(item)
    if hasattr(config, "workerinput"):  # an xdist worker; a run in one process keeps its order
        items[:] = shared_first + rest


@pytest.fixture(scope="session")
def world_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2,000-child synthetic world linked and built once per test session (about 15 s), for
    the indicator and analysis tests (tests/indicators/indicator_world.py)."""
    from indicator_world import N_CHILDREN, SEED, build_world

    return build_world(tmp_path_factory.mktemp("indicator_world"), N_CHILDREN, SEED)
