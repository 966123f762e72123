"""Packaging stays honest: declared dependencies are the imported ones, the wheel bundles the
repository's data directories, one version. (.ci/run builds the wheel, installs it in a fresh
venv and byte-compares the bundled copies with the repository; these are the cheap checks.)"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

from stairs_link import __version__, resources

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# import name -> distribution name, where they differ
DIST_OF = {"yaml": "pyyaml", "great_expectations": "great-expectations",
           "charset_normalizer": "charset-normalizer"}
# imported only by the Spark engine, which needs the `spark` extra (checked below)
OPTIONAL = {"pyspark": "spark"}


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def _imported_top_level(package: Path) -> set[str]:
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found.update(name.split(".")[0] for name in names)
    return {name for name in found if name not in sys.stdlib_module_names and name != "stairs_link"}


def test_runtime_dependencies_are_exactly_the_imported_packages() -> None:
    imported = _imported_top_level(ROOT / "stairs_link")
    needed = {DIST_OF.get(name, name).lower() for name in imported if name not in OPTIONAL}
    declared = {_requirement_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert needed - declared == set(), "imported by stairs_link but not declared"
    assert declared - needed == set(), "declared but imported nowhere in stairs_link"


def test_optional_imports_have_their_extra() -> None:
    imported = _imported_top_level(ROOT / "stairs_link")
    extras = PYPROJECT["project"]["optional-dependencies"]
    for name, extra in OPTIONAL.items():
        if name in imported:
            assert DIST_OF.get(name, name) in {_requirement_name(r) for r in extras[extra]}


def test_setup_py_bundles_what_resources_reads_and_the_sdist_carries_it() -> None:
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    bundled = next(ast.literal_eval(node.value) for node in tree.body
                   if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "BUNDLED")
    assert tuple(bundled) == resources.BUNDLED
    grafts = re.findall(r"^graft (\S+)$", (ROOT / "MANIFEST.in").read_text(encoding="utf-8"), re.M)
    assert set(resources.BUNDLED) <= set(grafts)
    for name in resources.BUNDLED:
        assert (ROOT / name).is_dir()


def test_data_dir_prefers_a_wheels_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resources.data_dir("mappings") == ROOT / "mappings"  # a checkout: the repository's
    (tmp_path / "mappings").mkdir()
    monkeypatch.setattr(resources, "BUNDLE_DIR", tmp_path)
    assert resources.data_dir("mappings") == tmp_path / "mappings"
    assert resources.data_dir("expectations") == ROOT / "expectations"  # not bundled here
    with pytest.raises(ValueError, match="one of mappings"):
        resources.data_dir("secrets")


def test_one_version_and_spdx_license() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "stairs_link.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    assert project["license"] == "MIT"
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")


def test_test_imports_are_declared() -> None:
    """Every third-party package a test imports is a runtime dependency or in the test extra
    (a fresh CI machine installs only those: an undeclared one fails collection there)."""
    local = {p.stem for p in (ROOT / "tests").rglob("*.py")}
    imported = _imported_top_level(ROOT / "tests") - local
    project = PYPROJECT["project"]
    declared = {_requirement_name(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    missing = {DIST_OF.get(name, name).lower() for name in imported} - declared
    assert missing == set(), "imported by tests but in neither the dependencies nor the test extra"
