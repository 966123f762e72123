"""`stairs-link adapt MAPPING INPUT... --out DIR`: one site system's export -> staged Parquet."""

from __future__ import annotations

from pathlib import Path

import click

from stairs_link.cli.common import DirOrURL, StairsCommand, emit, json_option, quiet_option, require_local


@click.command(cls=StairsCommand)
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", "out_dir", required=True, type=DirOrURL(exists=False),
              help="Directory for <table>.parquet, rejects.parquet and manifest.json (with --engine spark "
                   "also a URL such as s3://bucket/staged/site-system: one dataset directory per table).")
@click.option("--extracted-at", help="When the export was taken (ISO 8601, e.g. 2026-03-31); overrides the mapping.")
@click.option("--encoding", help="Force the text encoding of every input (default: the mapping's, else detected).")
@quiet_option
@json_option
@click.option("--pseudonymise", is_flag=True,
              help="Write pseudonymised tables (keyed tokens, Bloom encodings, no plain names, dates of birth, "
                   "postcodes or identifiers); needs --key-file. See docs/privacy.md.")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Secret key for --pseudonymise (from `stairs-link key new`); never sent with the data.")
@click.option("--show-values", is_flag=True,
              help="List unknown codes as written in the manifest and in errors (default: labels #<hash> with "
                   "counts, so no raw value, which may be personal data, leaves the tables; never with "
                   "--pseudonymise).")
@click.option("--engine", type=click.Choice(["embedded", "spark"]), default="embedded", show_default=True,
              help="embedded: this machine; spark: Spark tasks read and map the export, same results (needs "
                   "pip install \"stairs-link[spark]\"; inputs must be readable by every Spark node).")
@click.option("--spark-master", envvar="STAIRS_LINK_SPARK_MASTER", default=None, metavar="URL",
              help="Spark master for --engine spark (default: $STAIRS_LINK_SPARK_MASTER, else local[*]).")
def adapt(mapping: Path, inputs: tuple[Path, ...], out_dir: Path | str, extracted_at: str | None,
          encoding: str | None, quiet: bool, pseudonymise: bool = False, key_file: Path | None = None,
          engine: str = "embedded", spark_master: str | None = None, as_json: bool = False,
          show_values: bool = False) -> None:
    """Map one site system's export onto the canonical schema.

    INPUT is an export file or the directory holding the export; the mapping's `files:`
    patterns pick the files for each table. Writes DIR/<table>.parquet for each table the
    mapping fills, DIR/rejects.parquet (everything that did not fit, with the reason) and
    DIR/manifest.json (rows in/staged/rejected per file, checksums).

    \b
    Example:
      stairs-link adapt mappings/sch-oakfield/systmone.yaml sample_data/exports/sch-oakfield/systmone --out staged/sch-oakfield-systmone
      stairs-link adapt mappings/sch-oakfield/systmone.yaml sample_data/exports/sch-oakfield/systmone --out staged/sch-oakfield-systmone --engine spark --spark-master "local[2]"
    """
    require_local(engine, **{"--out": out_dir})
    key = None
    if pseudonymise or key_file is not None:
        if not (pseudonymise and key_file is not None):
            raise click.UsageError("--pseudonymise and --key-file go together (create a key with `stairs-link key new`)")
        from stairs_link.privacy import load_key

        key = load_key(key_file)
    if engine == "spark":  # imported here so the CLI stays fast and pyspark stays optional
        if key is not None:
            from stairs_link.engine import EngineError

            raise EngineError("pseudonymised adapt is not available on the Spark engine",
                              reason="unsupported_on_spark", fix="use --engine embedded with --pseudonymise")
        from stairs_link.engine.spark.session import require_pyspark

        require_pyspark()
        from stairs_link.engine.spark.adapt import spark_adapt

        result = spark_adapt(mapping, list(inputs), out_dir, master=spark_master, extracted_at=extracted_at,
                             encoding=encoding, progress=not quiet, show_values=show_values)
    else:
        from stairs_link.adapt import adapt as run_adapt

        result = run_adapt(mapping, list(inputs), out_dir, extracted_at=extracted_at, encoding=encoding,
                           progress=not quiet, pseudonymise_key=key,
                           show_values=show_values)
    manifest = result.manifest
    lines = [f"mapping {manifest['mapping']['id']} -> {out_dir}"]
    sources = []
    for source in manifest["sources"]:
        line = (f"  {source['table']:<11} {source['file']}: {source['rows_in']:,} rows in, "
                f"{source['rows_staged']:,} staged, {source['rows_rejected']:,} rejected"
                + (f", {source['rows_skipped']:,} skipped" if source.get("rows_skipped") else ""))
        unknown = sum(sum(c.values()) for c in source["unknown_codes"].values())
        invalid = sum(sum(c.values()) for c in source["invalid_values"].values())
        if unknown or invalid:
            line += f" ({unknown:,} unknown codes, {invalid:,} invalid values reported)"
        for field, codes in source.get("identifier_codes", {}).items():
            line += f"; {field}: " + ", ".join(f"{code} x{n:,}" for code, n in codes.items())
        lines.append(line)
        sources.append({"table": source["table"], "file": source["file"], "rows_in": source["rows_in"],
                        "rows_staged": source["rows_staged"], "rows_rejected": source["rows_rejected"],
                        "rows_skipped": source.get("rows_skipped", 0),
                        "unknown_codes": unknown, "invalid_values": invalid})
    lines.append(f"  rejects.parquet: {manifest['rejects']['rows']:,} entries; manifest.json written")
    if "pseudonymisation" in manifest:
        lines.append(f"  pseudonymised with key id {manifest['pseudonymisation']['key_id']} (the key is not written)")
    emit({"out": str(out_dir), "mapping": manifest["mapping"]["id"], "sources": sources,
          "rejects": manifest["rejects"]["rows"], "pseudonymised": "pseudonymisation" in manifest,
          "warnings": list(manifest["warnings"]), "manifest": f"{out_dir}/manifest.json"},
         lines, as_json=as_json)
    for warning in manifest["warnings"]:
        click.echo(f"warning: {warning}", err=True)
