"""`stairs-link key`: make the secret key used to pseudonymise identifiers at the site."""

from __future__ import annotations

from pathlib import Path

import click

from stairs_link.cli.common import EXIT_CODES, StairsCommand, emit, json_option, quiet_option


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES)
def key() -> None:
    """Secret keys for pseudonymised mode (keyed tokens and Bloom-filter encodings).

    Every site that must link with the others uses the SAME key, shared out of band (never
    with the data). See docs/privacy.md.
    """


@key.command("new", cls=StairsCommand)
@click.option("-o", "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Key file to create (refuses to overwrite). Keep it away from the data.")
@quiet_option
@json_option
def new(out: Path, quiet: bool = False, as_json: bool = False) -> None:
    """Create a random 256-bit key file readable only by you.

    The key itself is never printed; only its public fingerprint (key id), which sites can
    compare to check they hold the same key.
    """
    from stairs_link.privacy.keys import load_key, new_key_file  # lazy: keeps --help fast

    path = new_key_file(out)
    key_id = load_key(path).key_id
    emit({"key_file": str(path), "key_id": key_id}, [f"Wrote a new secret key to {path} (key id {key_id})."],
         as_json=as_json)
    if not quiet:
        click.echo("Keep it secret: share it only with the sites that must link, by a separate "
                   "secure channel, never together with the data.", err=True)
