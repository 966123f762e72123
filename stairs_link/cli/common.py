"""Shared CLI plumbing: turning StairsLinkError into clean messages, shared options.

Conventions every command keeps (docs/cli.md):

* ``-o/--out`` names what the command writes (a directory or a file);
* ``-q/--quiet`` turns off progress messages and bars (stderr); the result still goes to stdout;
* ``--json`` prints the command's summary as one JSON document on stdout instead of the lines
  for people (for scripts and schedulers); progress and warnings stay on stderr;
* exit codes: 0 done, 1 a check failed, 2 usage or input error (see :data:`EXIT_CODES`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from stairs_link.errors import StairsLinkError

F = TypeVar("F", bound=Callable[..., Any])

#: The exit-code paragraph every command's --help ends with.
EXIT_CODES = ("Exit codes: 0 done; 1 a check failed (the output says which); 2 usage or input error "
              "(a bad option, a missing or unreadable file: the message names it and says how to fix it).")



def debug_requested() -> bool:
    """``stairs-link --debug ...``: show tracebacks instead of one-line errors."""
    import os

    return "--debug" in sys.argv[1:2] or os.environ.get("STAIRS_LINK_DEBUG") == "1"


def one_line(exc: BaseException) -> click.ClickException:
    """The one-line ``Error: ... Fix: ...`` (exit code 2) for any exception: a StairsLinkError
    as it is, an environment error (disk full, read-only, memory, nesting) translated, and
    anything else (a bug, or input not yet checked) named with how to see the traceback."""
    from stairs_link.errors import from_exception

    known = exc if isinstance(exc, StairsLinkError) else from_exception(exc)
    if known is not None:
        text = str(known)
    else:
        detail = str(exc).splitlines()[0] if str(exc) else ""
        text = (f"unexpected {type(exc).__name__}" + (f": {detail}" if detail else "")
                + " (a stairs-link bug, or input it does not check yet). Fix: re-run with "
                "`stairs-link --debug ...` to see the traceback, and report it")
    error = click.ClickException(text)
    error.exit_code = 2
    return error


def run_cli(group: click.Group) -> None:
    """Run ``group``; user and environment errors become a one-line message and exit code 2,
    never a traceback (``--debug`` shows it)."""
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
        if debug_requested():
            raise
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except (Exception, MemoryError, RecursionError) as exc:  # noqa: BLE001 - the last line of defence
        if debug_requested():
            raise
        one_line(exc).show()
        sys.exit(2)


def user_error(exc: StairsLinkError) -> click.ClickException:
    """Wrap a StairsLinkError for commands run through click's own machinery (CliRunner)."""
    return click.ClickException(str(exc))


class StairsCommand(click.Command):
    """A click command that turns StairsLinkError into a ClickException (exit code 1 -> 2),
    accepts -h, and ends its --help with the exit codes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("epilog", EXIT_CODES)
        settings = kwargs.setdefault("context_settings", {})
        settings.setdefault("help_option_names", ["-h", "--help"])
        super().__init__(*args, **kwargs)

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's signature
        from stairs_link.cli.progress_bars import reporting

        try:
            with reporting(quiet=bool(ctx.params.get("quiet"))):  # progress bars for library stages
                return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (Exception, MemoryError, RecursionError) as exc:  # noqa: BLE001 - one line, never a traceback
            root = ctx.find_root()
            if root.params.get("debug") or debug_requested():
                raise
            raise one_line(exc) from None


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


def quiet_option(f: F) -> F:
    """``-q/--quiet``: no progress messages or bars on stderr (the result still goes to stdout)."""
    return click.option("-q", "--quiet", is_flag=True,
                        help="No progress messages or bars on stderr; the result still goes to stdout.")(f)


def json_option(f: F) -> F:
    """``--json``: the command's summary as JSON on stdout, instead of the lines for people."""
    return click.option("--json", "as_json", is_flag=True,
                        help="Print the summary as JSON on stdout (for scripts), instead of the lines for people.")(f)


def emit(summary: dict[str, Any], lines: list[str], *, as_json: bool) -> None:
    """The command's result on stdout: ``summary`` as JSON with ``--json``, else ``lines``."""
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=False, default=_jsonable, ensure_ascii=False))
        return
    for line in lines:
        click.echo(line)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def safe_console() -> None:
    """Never crash on a console that cannot show a character (a cp1252 Windows console, a
    pipe with an ASCII locale): such characters are printed as ``?`` instead. Files the
    commands write are always UTF-8 whatever the console."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (stream.encoding or "").lower().replace("-", "") not in ("utf8", "utf8sig"):
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):  # a detached or closed stream: nothing to protect
                pass
