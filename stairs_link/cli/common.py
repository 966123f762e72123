"""Shared CLI plumbing: turning StairsLinkError into clean messages, shared options."""

from __future__ import annotations

import sys

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
