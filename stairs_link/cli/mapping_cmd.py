"""`stairs-link mapping check|new`: validate a mapping (optionally against an export), draft one."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from stairs_link.cli.common import EXIT_CODES, StairsCommand, emit, json_option, quiet_option

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


@click.group(context_settings=CONTEXT_SETTINGS, epilog=EXIT_CODES)
def mapping() -> None:
    """Check a mapping file, or draft one from an export's header."""


@mapping.command(cls=StairsCommand)
@click.argument("mapping_file", metavar="MAPPING", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--against", "export", type=click.Path(exists=True, path_type=Path),
              help="An export (file or directory) to check the mapping against: files, columns, codes, dates.")
@click.option("--encoding", help="Force the text encoding of the export (default: the mapping's, else detected).")
@click.option("--show-values", is_flag=True,
              help="With --against: list unknown codes as written (default: labels #<hash> with counts).")
@quiet_option
@json_option
def check(mapping_file: Path, export: Path | None, encoding: str | None, quiet: bool = False,
          as_json: bool = False, show_values: bool = False) -> None:
    """Report every problem in MAPPING at once, each with file, line and a suggested fix.

    With --against, also check that the export has the files and columns the mapping names,
    and count codes the value maps do not know and values that do not parse. Exit code 1 when
    there are problems.
    """
    from stairs_link.adapt.check import check_against, check_files_and_columns
    from stairs_link.mapping.loader import is_template, validate_mapping

    spec, problems = validate_mapping(mapping_file, lenient=True)
    notes: list[str] = []
    if spec is not None and export is not None and not problems:
        problems, notes = check_against(spec, export, encoding=encoding, show_values=show_values)
    elif spec is not None and export is not None:
        # the valid part of the mapping is checked against the export in the same pass;
        # codes and values are checked once the whole mapping is valid
        more, notes = check_files_and_columns(spec, export, encoding=encoding)
        problems = problems + more
        notes.append("(codes and values in the export are checked once the mapping itself is valid)")
    elif export is not None and is_template(mapping_file):
        notes.append("(a template is checked against an export through a site mapping that extends it)")
    template = is_template(mapping_file)
    summary = {"mapping": str(mapping_file), "against": None if export is None else str(export),
               "ok": not problems, "template": template, "problems": [str(p) for p in problems], "notes": notes}
    lines = list(notes)
    if problems:
        lines.append(f"{mapping_file}: {len(problems)} problem(s)")
        lines += [f"  - {problem}" for problem in problems]
    elif template:
        lines.append(f"{mapping_file}: OK (template)")
    else:
        lines.append(f"{mapping_file}: OK" + (f" against {export}" if export else ""))
    emit(summary, lines, as_json=as_json)
    if problems:
        sys.exit(1)


@mapping.command(cls=StairsCommand)
@click.argument("export", type=click.Path(exists=True, path_type=Path))
@click.option("--kind", required=True, type=click.Choice(["health", "operations", "education", "social_care"]),
              help="Kind of source system.")
@click.option("--site", required=True, help="Site id, e.g. sch-oakfield.")
@click.option("--system", "source_system", help="Source system name (default: the export directory's name).")
@click.option("--setting", "setting_type", type=click.Choice(["SCH", "STC", "YOI"]),
              help="Setting type (default: from the site id prefix).")
@click.option("--out", "-o", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the draft here, as UTF-8 (default: print it).")
@quiet_option
@json_option
def new(export: Path, kind: str, site: str, source_system: str | None, setting_type: str | None,
        out_file: Path | None, quiet: bool = False, as_json: bool = False) -> None:
    """Draft a mapping from EXPORT (a file or a directory of files) for a developer to finish.

    Column names are fuzzy-matched to canonical fields (with synonyms such as DOB, D.O.B,
    pers_forename); date formats and code lists are guessed from the values. Everything
    uncertain is marked TODO. Then run `stairs-link mapping check FILE --against EXPORT`.
    """
    from stairs_link.mapping.scaffold import draft_mapping

    text = draft_mapping(export, kind=kind, site_id=site, source_system=source_system, setting_type=setting_type,
                         out_file=out_file)
    todos = text.count("TODO")
    if out_file is None:
        if as_json:
            emit({"out": None, "export": str(export), "todos": todos, "draft": text}, [], as_json=True)
        else:
            click.echo(text, nl=False)
        return
    if out_file.exists():
        error = click.ClickException(f"{out_file} exists; not overwriting it (delete it or choose another --out)")
        error.exit_code = 2
        raise error
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(text, encoding="utf-8")
    emit({"out": str(out_file), "export": str(export), "todos": todos},
         [f"wrote draft mapping {out_file}; finish the TODOs, then run "
          f"`stairs-link mapping check {out_file} --against {export}`"], as_json=as_json)
