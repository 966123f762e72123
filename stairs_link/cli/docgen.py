"""docs/cli.md, generated from every command's --help (a test keeps it in sync).

    python -m stairs_link.cli.docgen            # rewrite docs/cli.md
    python -m stairs_link.cli.docgen --check    # exit 1 if docs/cli.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from stairs_link.cli import cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
WIDTH = 100  # help is wrapped at this width whatever the terminal, so the page is stable

INTRO = """# Command-line reference

Generated from `--help` by `python -m stairs_link.cli.docgen`; do not edit by hand
(`tests/test_cli_docs.py` fails when this page and the commands differ).

## Conventions (every command)

- `-o/--out`: what the command writes (a directory or a file); `mapping check` writes nothing.
- `-q/--quiet`: no progress messages or progress bars on stderr. The command's result still
  goes to stdout. Progress bars (adapt: rows per file; check: suites; link: pairs compared
  against the blocking plan's total, random pairs for u, pairs scored; build: tables written;
  `--engine spark`: Spark's own stage bars) appear only when stderr is a terminal, so logs
  and pipes never hold bar characters.
- `--json`: the command's summary as one JSON document on stdout, instead of the lines for
  people, for scripts and schedulers. Progress and warnings stay on stderr.
- Exit codes: `0` done; `1` a check failed (`check`: a critical quality check;
  `mapping check`: a problem in the mapping); `2` usage or input error (a bad option, a
  missing, unreadable or invalid file: the message names it and says how to fix it).
- `stairs-link` and `python -m stairs_link` are the same program (the second works where
  the scripts folder is not on PATH, e.g. some Windows machines).
- Files for people are written for Excel as well as for programs: `review.csv` and
  `coverage.csv` are UTF-8 with a byte-order mark. Console output never fails on a console
  that cannot show a character (e.g. cp1252): such characters print as `?`.

## Shell completion

click's completion, for bash, zsh and fish; add the line to your shell's start-up file:

```
eval "$(_STAIRS_LINK_COMPLETE=bash_source stairs-link)"      # ~/.bashrc
eval "$(_STAIRS_LINK_COMPLETE=zsh_source stairs-link)"       # ~/.zshrc
_STAIRS_LINK_COMPLETE=fish_source stairs-link | source       # ~/.config/fish/completions/stairs-link.fish
```
"""


def _commands(command: click.Command, ctx: click.Context, path: list[str]):
    """(command path, help text) for ``command`` and every subcommand, depth first."""
    yield path, command.get_help(ctx)
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None:
                continue
            sub_ctx = _context(sub, name, ctx)
            yield from _commands(sub, sub_ctx, [*path, name])


def _context(command: click.Command, name: str, parent: click.Context | None) -> click.Context:
    settings = {**command.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    return click.Context(command, info_name=name, parent=parent, **settings)


def render() -> str:
    root = _context(cli, "stairs-link", None)
    parts = [INTRO]
    for path, text in _commands(cli, root, ["stairs-link"]):
        parts.append(f"## `{' '.join(path)}`\n\n```\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in argv:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python -m stairs_link.cli.docgen", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
