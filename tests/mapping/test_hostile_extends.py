"""Issue 12, item 11: `extends:` is confined to the `_templates/` folders, as `files:` is to the export."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from mapping_data import GOOD

from stairs_link.cli import cli
from stairs_link.mapping import load_mapping, validate_mapping

TEMPLATE = GOOD.replace("site_id: sch-oak\nsetting_type: SCH\n", "")


def _site(root: Path, extends: str) -> Path:
    """A site mapping in root/mappings/sch-oak/ extending ``extends``; a valid template sits
    outside every _templates/ folder at root/outside/x.yaml (what an escape would reach)."""
    (root / "outside").mkdir(parents=True, exist_ok=True)
    (root / "outside" / "x.yaml").write_text(TEMPLATE, encoding="utf-8")
    (root / "mappings" / "_templates").mkdir(parents=True, exist_ok=True)
    (root / "mappings" / "_templates" / "sys.yaml").write_text(TEMPLATE, encoding="utf-8")
    site = root / "mappings" / "sch-oak" / "m.yaml"
    site.parent.mkdir(parents=True, exist_ok=True)
    site.write_text(f"# site mapping\nextends: {extends}\nsite_id: sch-oak\nsetting_type: SCH\n", encoding="utf-8")
    return site


@pytest.mark.parametrize("name", ["../../outside/x", "../../../outside/x", "..\\..\\outside\\x", "ABSOLUTE",
                                  "C:/outside/x", "sys/../../../outside/x"])
def test_extends_outside_templates_is_refused(tmp_path: Path, name: str) -> None:
    if name == "ABSOLUTE":
        name = str(tmp_path / "outside" / "x")  # was: accepted, the file read from anywhere
    site = _site(tmp_path, name)
    mapping, problems = validate_mapping(site)
    assert mapping is None
    bad = [p for p in problems if p.reason == "bad_extends"]  # the rest: what the template would have given
    assert len(bad) == 1 and bad[0].file == str(site) and bad[0].line == 2, problems
    assert "outside the _templates/ folders" in bad[0].message and "available: " in bad[0].fix
    assert "sys" in bad[0].fix
    assert not any(str(p.file).endswith("x.yaml") for p in problems)  # nothing was read from there


def test_extends_inside_templates_still_works(tmp_path: Path) -> None:
    mapping = load_mapping(_site(tmp_path, "sys"))
    assert [name for name, _ in mapping.templates] == ["sys"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_symlink_out_of_templates_is_not_a_template(tmp_path: Path) -> None:
    site = _site(tmp_path, "link")
    (tmp_path / "mappings" / "_templates" / "link.yaml").symlink_to(tmp_path / "outside" / "x.yaml")
    _, problems = validate_mapping(site)
    bad = [p for p in problems if p.reason == "bad_extends"]
    assert len(bad) == 1 and "a link to a file elsewhere" in bad[0].message, problems
    assert not any(str(p.file).endswith("x.yaml") for p in problems)


def test_cli_names_reason_file_line_and_fix(tmp_path: Path) -> None:
    site = _site(tmp_path, "../../outside/x")
    result = CliRunner().invoke(cli, ["mapping", "check", str(site)])
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if "extends:" in x)
    assert f"{site}, line 2: `extends: ../../outside/x` points outside the _templates/ folders" in line
    assert "Fix: name a template by its file name" in line
    adapt = CliRunner().invoke(cli, ["adapt", str(site), str(tmp_path), "--out", str(tmp_path / "staged")])
    assert adapt.exit_code == 2 and "Traceback" not in adapt.output and "points outside" in adapt.output
    assert not (tmp_path / "staged" / "person.parquet").exists()


def test_files_patterns_with_backslash_escapes_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace('source: {files: "patients*.csv"}', "source: {files: '..\\\\exports\\\\patients*.csv'}")
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    _, problems = validate_mapping(path)
    assert [p.reason for p in problems] == ["bad_source"], problems
