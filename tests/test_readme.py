"""The README's quick start is the front door: keep its two commands working and in step with CI."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def quickstart_command(marker: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- quickstart:{marker} -->\s*```\s*\n(.+?)\n```", text, re.S)
    assert match, f"README has no quickstart:{marker} block"
    lines = [line for line in match.group(1).splitlines() if line.strip()]
    assert len(lines) == 1, "each quick-start step is exactly one command"
    return lines[0].strip()


def test_ci_runs_the_readme_test_command():
    command = quickstart_command("test")
    ci_script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert command in ci_script.splitlines(), "CI must run exactly the README's test command"


def test_main_command_installs_then_runs_the_demo():
    install, run = [part.strip() for part in quickstart_command("main").split("&&")]
    assert install == "pip install -e ."
    assert run.startswith("stairs-link demo --out ")
