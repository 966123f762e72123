"""Layers only look down: the layer order is written once, in docs/architecture.md (## Layers),
and every import of the package's own modules, inside functions too, is checked against it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "stairs_link"
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def read_layers(text: str) -> dict[str, int]:
    """unit name -> layer number, from the numbered list under ``## Layers``."""
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    layers: dict[str, int] = {}
    for number, names in re.findall(r"^(\d+)\. [^:\n]+: (.+)$", section, flags=re.M):
        for name in re.findall(r"`([^`]+)`", names):
            assert name not in layers, f"{name} is listed in two layers"
            layers[name] = int(number)
    return layers


def units(package: Path) -> set[str]:
    """Top-level modules and sub-packages of ``package`` (``__init__`` for the package itself)."""
    found = {p.stem for p in package.glob("*.py")}
    found |= {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    return found


def _unit(module: str, names: list[str], all_units: set[str]) -> list[str]:
    """The units an import of ``module`` (``from module import names``) reaches."""
    parts = module.split(".")
    if parts[0] != "stairs_link":
        return []
    if len(parts) > 1:
        return [parts[1]]
    # from stairs_link import x: a unit if x is a module or package, else the package's __init__
    return [name if name in all_units else "__init__" for name in names]


def _module_name(path: Path, package: Path) -> list[str]:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def upward_imports(package: Path, layers: dict[str, int]) -> list[str]:
    """Every import (module level or inside a function) of a unit in the same or a higher
    layer than the importing module's own, as ``file:line: a (layer) imports b (layer)``."""
    all_units = units(package)
    problems = []
    for path in sorted(package.rglob("*.py")):
        parts = _module_name(path, package)
        own = parts[1] if len(parts) > 1 else "__init__"
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                reached = [u for alias in node.names for u in _unit(alias.name, [], all_units)]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:  # relative: resolve against this module's package
                    base = parts if is_package else parts[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join([*base, *([module] if module else [])])
                reached = _unit(module, [a.name for a in node.names], all_units)
            else:
                continue
            for target in reached:
                if target != own and layers[target] >= layers[own]:
                    problems.append(f"{path.relative_to(package.parent)}:{node.lineno}: {own} (layer "
                                    f"{layers[own]}) imports {target} (layer {layers[target]})")
    return problems


def test_every_unit_of_the_package_has_a_layer() -> None:
    layers = read_layers(ARCHITECTURE.read_text(encoding="utf-8"))
    assert units(PACKAGE) - set(layers) == set(), "add these to docs/architecture.md ## Layers"
    assert set(layers) - units(PACKAGE) == set(), "listed in docs/architecture.md but not in the package"


def test_no_module_imports_its_own_layer_or_above() -> None:
    layers = read_layers(ARCHITECTURE.read_text(encoding="utf-8"))
    assert upward_imports(PACKAGE, layers) == []


def test_the_check_finds_an_upward_import_hidden_in_a_function(tmp_path: Path) -> None:
    package = tmp_path / "stairs_link"
    for name in ("low", "high"):
        (package / name).mkdir(parents=True)
        (package / name / "__init__.py").write_text("", encoding="utf-8")
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "high" / "ok.py").write_text("from stairs_link.low import x\nfrom . import ok\n", encoding="utf-8")
    (package / "low" / "bad.py").write_text(
        "def f():\n    from stairs_link.high.ok import y\n    return y\n", encoding="utf-8")
    (package / "low" / "bad2.py").write_text("from ..high import ok\n", encoding="utf-8")
    layers = {"__init__": 1, "low": 2, "high": 3}
    assert upward_imports(package, layers) == [
        "stairs_link/low/bad.py:2: low (layer 2) imports high (layer 3)",
        "stairs_link/low/bad2.py:1: low (layer 2) imports high (layer 3)",
    ]
    assert read_layers("# x\n\n## Layers\n\n1. a: `low`, `__init__`\n2. b: `high`\n\n## Next\n3. c: `z`\n") \
        == {"low": 1, "__init__": 1, "high": 2}
