"""docs/adding-a-site.md's FHIR and CTF walkthrough is run for real: every command shown is run
again (in a fresh folder) and every output line shown must appear, with the exit code shown."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from stairs_link.cli import cli

DOC = Path(__file__).resolve().parents[1] / "docs" / "adding-a-site.md"


def walkthrough() -> list[tuple[list[str], list[str], int]]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- walkthrough:formats -->\s*```\s*\n(.+?)\n```", text, re.S)
    assert block, "adding-a-site.md has no walkthrough:formats block"
    steps: list[tuple[list[str], list[str], int]] = []
    for line in block.group(1).splitlines():
        if line.startswith("$ stairs-link "):
            steps.append((shlex.split(line[len("$ stairs-link "):]), [], -1))
        elif line.startswith("exit "):
            args, shown, _ = steps[-1]
            steps[-1] = (args, shown, int(line.split()[1]))
        elif line.strip():
            steps[-1][1].append(line)
    return steps


def test_formats_walkthrough_runs_as_documented(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    steps = walkthrough()
    assert len(steps) >= 6
    runner = CliRunner()
    for args, shown, code in steps:
        result = runner.invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == code, (args, result.output)
        for line in shown:
            assert line in result.output.splitlines(), (args, line, result.output)
