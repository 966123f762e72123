"""Shared CLI plumbing: turning StairsLinkError into clean messages, shared options."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from stairs_link.errors import StairsLinkError


def run_cli(group: click.Group) -> None:
    """Run ``group``; user errors become a message and exit code 2, never a traceback."""
    try:
        # With standalone_mode=False click returns ctx.exit()'s code instead of exiting.
        exit_code = group.main(standalone_mode=False, prog_name="stairs-link")
        sys.exit(exit_code if isinstance(exit_code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except StairsLinkError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


def user_error(exc: StairsLinkError) -> click.ClickException:
    """Wrap a StairsLinkError for commands run through click's own machinery (CliRunner)."""
    return click.ClickException(str(exc))


class StairsCommand(click.Command):
    """A click command that turns StairsLinkError into a ClickException (exit code 1 -> 2)."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's signature
        try:
            return super().invoke(ctx)
        except StairsLinkError as exc:
            error = click.ClickException(str(exc))
            error.exit_code = 2
            raise error from None


def echo_progress(message: str, *, quiet: bool = False) -> None:
    """Progress lines go to stderr so stdout stays clean for pipes."""
    if not quiet:
        click.echo(message, err=True)


class DirOrURL(click.ParamType):
    """An existing local directory (as a Path), or an object-store URL such as
    ``s3a://bucket/staged/site-a`` kept as text for the Spark engine (which reads it on the
    cluster; the embedded engine refuses URLs with :func:`require_local`)."""

    name = "DIR|URL"

    def __init__(self, exists: bool = True) -> None:
        self.exists = exists

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201 - click's signature
        if isinstance(value, str) and "://" in value:
            return value
        return click.Path(exists=self.exists, file_okay=False, path_type=Path).convert(value, param, ctx)


def require_local(engine: str, **paths: object) -> None:
    """URLs work only with ``--engine spark``: say so, naming the option, for any other engine."""
    if engine == "spark":
        return
    for option, value in paths.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        url = next((v for v in values if isinstance(v, str) and "://" in v), None)
        if url is not None:
            raise click.UsageError(f"{option} {url} is a URL: that needs --engine spark (the embedded engine "
                                   "reads and writes local directories; or copy the data to one)")
