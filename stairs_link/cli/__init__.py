"""The `stairs-link` command line: a thin layer over the pipeline stages.

Each command lives in its own module under ``stairs_link.cli`` and is imported only when it
runs, so `stairs-link --help` and light commands start fast (great-expectations, pyarrow
compute and the linkage engine are loaded only by the commands that need them).
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from stairs_link import __version__

# command name -> "module:attribute" of its click command, in pipeline order.
COMMANDS = {
    "synth": "stairs_link.cli.synth_cmd:synth",
    "mapping": "stairs_link.cli.mapping_cmd:mapping",
    "adapt": "stairs_link.cli.adapt_cmd:adapt",
    "check": "stairs_link.cli.check_cmd:check",
    "coverage": "stairs_link.cli.check_cmd:coverage",
    "link": "stairs_link.cli.link_cmd:link",
    "evaluate": "stairs_link.cli.link_cmd:evaluate",
    "explain": "stairs_link.cli.explain_cmd:explain",
    "build": "stairs_link.cli.build_cmd:build",
    "report": "stairs_link.cli.build_cmd:report",
    "indicators": "stairs_link.cli.indicators_cmd:indicators",
    "analysis": "stairs_link.cli.analysis_cmd:analysis",
    "demo": "stairs_link.cli.demo_cmd:demo",
    "key": "stairs_link.cli.key_cmd:key",
}

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

EPILOG = """\b
Every command: -o/--out what it writes, -q/--quiet no progress on stderr, --json its summary
as JSON on stdout; exit codes 0 done, 1 a check failed, 2 usage or input error.
Also `python -m stairs_link`. Reference: docs/cli.md.

\b
Shell completion (bash; zsh and fish: use zsh_source / fish_source):
  eval "$(_STAIRS_LINK_COMPLETE=bash_source stairs-link)"    # add to ~/.bashrc
"""


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._available(name)]

    @staticmethod
    def _available(name: str) -> bool:
        module = COMMANDS[name].split(":")[0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not self._available(cmd_name):
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS, epilog=EPILOG)
@click.version_option(__version__, prog_name="stairs-link")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error instead of the one-line message.")
def cli(debug: bool) -> None:
    """stairs-link: one record per child from the systems of England's secure estate.

    \b
    The pipeline, one command per step:
      synth     make synthetic site exports (for trying things out and tests)
      adapt     map one site system's export onto the canonical schema
      check     quality-check staged (or linked) data; coverage: fields per site
      link      find each child's records across systems and sites
      explain   linkage.html and review.html for a linked directory
      build     one record per child, with episodes, transitions and more
      report    an HTML report for evaluators, disclosure-controlled
      indicators the evaluation's indicators as one tidy table
      analysis  de-identified analysis tables + codebook (CSV, DuckDB, Stata, SPSS)
      demo      all of the above on the bundled sample data
    """


def main() -> None:
    from stairs_link.cli.common import run_cli, safe_console

    safe_console()
    run_cli(cli)
