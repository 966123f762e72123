"""Every command keeps the CLI conventions (docs/cli.md): -o/--out where it writes,
-q/--quiet, --json (summary as JSON on stdout), exit codes in --help; docs/cli.md is the
generated reference; output never crashes on a narrow console encoding."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from stairs_link.cli import cli, docgen

ROOT = Path(__file__).resolve().parents[1]
# commands that write nothing (so have no -o/--out)
WRITES_NOTHING = {("mapping", "check")}


def _leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            yield from _leaf_commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


LEAVES = dict(_leaf_commands(cli))


def _options(command: click.Command) -> set[str]:
    return {opt for param in command.params if isinstance(param, click.Option) for opt in param.opts}


@pytest.mark.parametrize("path", list(LEAVES), ids=" ".join)
def test_every_command_has_quiet_json_out_and_exit_codes(path: tuple[str, ...]) -> None:
    command = LEAVES[path]
    options = _options(command)
    assert {"-q", "--quiet", "--json"} <= options
    if path not in WRITES_NOTHING:
        assert {"-o", "--out"} <= options
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())  # help is wrapped to the terminal's width
    assert "Exit codes: 0 done; 1 a check failed" in text and "2 usage or input error" in text


def test_cli_reference_is_generated_from_help() -> None:
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == docgen.render(), \
        "docs/cli.md is out of date: run python -m stairs_link.cli.docgen"
    for path in LEAVES:
        assert f"## `stairs-link {' '.join(path)}`" in docgen.render()


def test_usage_error_exits_2() -> None:
    result = CliRunner().invoke(cli, ["link", "--no-such-option"])
    assert result.exit_code == 2


def test_key_new_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["key", "new", "-o", str(tmp_path / "k.key"), "--json", "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["key_file"] == str(tmp_path / "k.key") and len(summary["key_id"]) >= 8
    assert result.stderr == ""  # -q: not even the keep-it-secret reminder


def test_mapping_check_json_ok_and_failed(tmp_path: Path) -> None:
    good = ROOT / "mappings" / "sch-oakfield" / "systmone.yaml"
    result = CliRunner().invoke(cli, ["mapping", "check", str(good), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) | {"problems": []} == {
        "mapping": str(good), "against": None, "ok": True, "template": False, "problems": [], "notes": []}
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text(encoding="utf-8").replace("site_id:", "site_idd:", 1), encoding="utf-8")
    result = CliRunner().invoke(cli, ["mapping", "check", str(bad), "--json"])
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["ok"] is False and summary["problems"]


def test_mapping_new_existing_out_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("x", encoding="utf-8")
    export = ROOT / "sample_data" / "exports" / "sch-oakfield" / "systmone"
    result = CliRunner().invoke(cli, ["mapping", "new", str(export), "--kind", "health", "--site", "sch-oakfield",
                                      "-o", str(tmp_path / "m.yaml")])
    assert result.exit_code == 2 and "not overwriting" in result.output


def test_console_that_cannot_show_a_character_does_not_crash(tmp_path: Path) -> None:
    """cp1252 (a Windows console) has no 'ę': `mapping new` printed to it used to raise
    UnicodeEncodeError; the character now prints as '?' and the file written with -o keeps it."""
    export = tmp_path / "patients.csv"
    export.write_text("Patient ID,Forename,Surname,DOB,Gender,Notatkę\n1,Łukasz,Wójcik,01/02/2008,M,x\n",
                      encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    args = [sys.executable, "-m", "stairs_link", "mapping", "new", str(export), "--kind", "health",
            "--site", "sch-x"]
    done = subprocess.run(args, capture_output=True, env=env)
    assert done.returncode == 0, done.stderr.decode("cp1252", "replace")
    assert b"Traceback" not in done.stderr
    assert "Notatk?" in done.stdout.decode("cp1252")
    done = subprocess.run([*args, "-o", str(tmp_path / "m.yaml")], capture_output=True, env=env)
    assert done.returncode == 0
    assert "Notatkę" in (tmp_path / "m.yaml").read_text(encoding="utf-8")


def test_shell_completion_as_documented() -> None:
    """docs/cli.md's completion line: click's completion completes commands and options."""
    env = {**os.environ, "_STAIRS_LINK_COMPLETE": "bash_complete", "COMP_WORDS": "stairs-link li", "COMP_CWORD": "1"}
    done = subprocess.run([sys.executable, "-m", "stairs_link"], capture_output=True, text=True, env=env)
    assert "plain,link" in done.stdout.splitlines()
    env |= {"COMP_WORDS": "stairs-link link --js", "COMP_CWORD": "2"}
    done = subprocess.run([sys.executable, "-m", "stairs_link"], capture_output=True, text=True, env=env)
    assert "plain,--json" in done.stdout.splitlines()
    assert "_STAIRS_LINK_COMPLETE=bash_source stairs-link" in (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
