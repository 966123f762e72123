"""Every command has help text and the CLI starts fast (heavy libraries load lazily)."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from stairs_link.cli import COMMANDS, cli


def test_every_command_is_installed():
    missing = [name for name in COMMANDS if not cli._available(name)]
    assert missing == [], f"commands listed in COMMANDS without a module: {missing}"


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, prefix + (name,))


@pytest.mark.parametrize("path", [p for p, _ in _all_commands(cli)], ids=" ".join)
def test_every_command_has_help(path):
    result = CliRunner().invoke(cli, [*path, "-h"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    command = dict(_all_commands(cli))[path]
    assert (command.help or "").strip(), f"`stairs-link {' '.join(path)}` has no help text"


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from click.testing import CliRunner; from stairs_link.cli import cli;"
        "CliRunner().invoke(cli, ['--help']);"
        "heavy = [m for m in ('great_expectations', 'matplotlib', 'duckdb', 'splink') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
