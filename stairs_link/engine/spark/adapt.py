"""`adapt --engine spark`: the embedded adapter's code run as Spark tasks, same output.

How the work is split (the driver plans and gathers small figures; tasks read and transform):

1. Driver: the mapping, the file plan, and for each CSV its streaming checksum/encoding
   pass, header and a second streaming pass (:func:`stairs_link.adapt.blocks.split_csv`)
   that cuts it into byte ranges of about ``block_bytes`` (default: one range per task
   slot, 4-64 MB each) at record boundaries. A file whose quoting is irregular stays one
   range (exactly the embedded read; the manifest's ``spark.not_split`` says why).
2. Spark stage "count": every range but the last of a split file is parsed (one column
   converted) to count its data rows; the driver turns the counts into row offsets, so
   ``source_row`` is numbered as the embedded reader numbers it (blank lines are not rows,
   ragged rows take their number).
3. Spark stage "adapt": one task per CSV range, and one per XLSX or JSON file (openpyxl
   cannot split a workbook and the embedded JSON reader loads the file whole anyway). Each
   runs the embedded per-batch code (:func:`stairs_link.adapt.run.process_batch`, i.e.
   ``transform_batch``) and writes its staged and rejects parts with
   :func:`stairs_link.engine.spark.parts.write_part`, named so that name order is the
   embedded row order; it returns only counts and unknown-code / invalid-value counters.
4. Person local ids staged in more than one task: Spark finds the later rows (window over
   ``local_id`` in part order) and rewrites just the affected parts, moving those rows to
   rejects with the embedded engine's reason and message (first staged row wins).
5. Orphan event rows (an event whose person row was not staged): a left anti join in Spark
   finds them, and just the affected parts are rewritten, moving those rows to rejects as
   ``orphan_event`` with the embedded engine's entry (which checks each batch against the
   person ids staged first). Then the driver publishes the parts (one file per table in a
   local directory, a dataset directory per table for a URL) and writes manifest.json.

The manifest equals the embedded one except for two added keys, ``engine`` ("spark") and
``spark`` (master, task count, ranges per file, files not split and why, person rows
moved to rejects by step 4), and the order of
rejects within one file (sorted by source row within each range; the embedded engine writes
a batch's unreadable rows before its transform rejects). When an export has several
problems, the one reported can differ: every CSV is checked on the driver (encoding, header,
mapped columns) before any task runs, then the first task error in row order is raised. A
CSV that pyarrow cannot parse at all is reported with the row count of its range's start.
Unknown-code counters are gathered to the driver per range (bounded by the distinct unknown
values, which the manifest needs to list them).

Inputs must be paths that the driver and every executor can read (in local mode, this
machine; on a real cluster, storage every node mounts). The output may be a local directory
or a URL pyarrow understands (``file://``, ``s3://``, ``hdfs://`` where configured).
Pseudonymised adapt (``--pseudonymise``) is refused: it runs on the embedded engine only.
"""

from __future__ import annotations

import pickle
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from stairs_link.adapt.blocks import CsvSplit, split_csv
from stairs_link.adapt.run import (
    AdaptResult,
    _parse_extracted_at,
    adapt_plan,
    add_counts,
    build_manifest,
    checksum_entry,
    context_args,
    manifest_text,
    orphan_counts,
    process_batch,
    require_columns,
    source_entry,
    start_warnings,
    value_labels,
)
from stairs_link.adapt.transform import DUPLICATE_MESSAGE, ORPHAN_EVENT, ORPHAN_MESSAGE, SeenIds, TableContext
from stairs_link.engine import EngineError
from stairs_link.engine.spark.parts import (
    filesystem,
    is_url,
    list_parts,
    part_name,
    publish,
    remove,
    staging_dir,
    write_part,
)
from stairs_link.engine.spark.session import require_pyspark, spark_session
from stairs_link.errors import MappingError, StairsLinkError
from stairs_link.io.base import DEFAULT_BLOCK_BYTES
from stairs_link.io.csv import count_csv_rows, csv_batches, open_csv
from stairs_link.io.readers import open_export
from stairs_link.mapping.loader import load_mapping
from stairs_link.mapping.model import Mapping
from stairs_link.progress import message as progress_message
from stairs_link.schema.io import to_arrow
from stairs_link.schema.tables import TABLES, arrow_schema

# pyspark is imported inside functions: optional and slow to import (engine/spark/__init__.py)

MIN_AUTO_BLOCK = 4 << 20
MAX_AUTO_BLOCK = 64 << 20


def spark_adapt(mapping_path: str | Path, inputs: list[Path] | list[str], out_dir: str | Path, *,
                master: str | None = None, extracted_at: str | None = None, encoding: str | None = None,
                progress: bool = False, spark: Any = None, block_bytes: int | None = None,
                pseudonymise_key: bytes | None = None, show_values: bool = False) -> AdaptResult:
    """Adapt one site system's export on Spark; same tables, rejects and manifest as
    :func:`stairs_link.adapt.adapt` (see the module docstring for the split and the
    differences). ``out_dir`` may be a URL; ``spark`` an existing SparkSession.
    ``block_bytes``: CSV range size (default: :func:`auto_block_bytes` for the session's
    task slots, e.g. 2 for local[2])."""
    if pseudonymise_key is not None:
        raise EngineError("pseudonymised adapt is not available on the Spark engine",
                          reason="unsupported_on_spark", fix="use --engine embedded with --pseudonymise")
    require_pyspark()
    mapping = load_mapping(mapping_path)
    borrowed = [s.name for t in mapping.tables.values() for s in t.fields.values() if s.from_table]
    if borrowed:  # partial: the embedded engine's pre-pass (adapt.run.borrowed_values) is not split yet
        raise MappingError(f"person field(s) {', '.join(borrowed)} read from another table (`from_table:`) are "
                           "not supported by --engine spark yet", reason="unsupported_option",
                           file=str(mapping.path), fix="adapt this system with the embedded engine (no --engine)")
    inputs = [Path(p) for p in inputs]
    stamp = extracted_at if extracted_at is not None else mapping.extracted_at
    reference = _parse_extracted_at(stamp, "--extracted-at" if extracted_at else str(mapping.path)) if stamp else None
    plan = adapt_plan(mapping, inputs)
    warnings = start_warnings(mapping, reference)
    labels = value_labels(mapping, show_values=show_values)
    files, infos = _open_files(mapping, plan, stamp, extracted_at, reference, encoding, labels)
    spark = spark or spark_session(master)
    tasks, not_split = _split_files(files, block_bytes, _cores(spark))
    _say(progress, f"{len(tasks)} task(s) for {len(files)} file(s)")
    out = str(out_dir)
    staging = staging_dir(out)
    try:
        _number_rows(spark, tasks, progress)
        _say(progress, "adapting")
        results = _run_tasks(spark, _adapt_task, tasks, mapping, staging)
        _raise_first_error(results)
        moved = _move_cross_task_duplicates(spark, mapping, staging) if "person" in plan else {}
        orphaned = _move_orphan_events(spark, mapping, staging, list(plan))
        sources, checksums, table_rows, rejects_total = _gather(plan, tasks, results, infos, moved, labels, orphaned)
        orphans = orphan_counts(list(plan), sources)
        written, rejects_dest = _publish(out, staging, list(plan))
    finally:
        remove(staging)
    manifest = build_manifest(mapping, stamp, checksums, sources, table_rows, rejects_total, orphans, warnings)
    manifest["engine"] = "spark"
    manifest["spark"] = {
        "master": spark.sparkContext.master,
        "tasks": len(tasks),
        "ranges": dict(Counter(t["name"] for t in tasks if t["kind"] == "csv")),
        "not_split": not_split,
        "cross_task_duplicates": sum(moved.values()),
    }
    fs, inner = filesystem(out)
    with fs.open_output_stream(f"{inner}/manifest.json") as stream:
        stream.write(manifest_text(manifest).encode("utf-8"))
    return AdaptResult(out_dir=Path(out) if not is_url(out) else out, manifest=manifest,  # type: ignore[arg-type]
                       tables=written, rejects=rejects_dest)


def _say(progress: bool, message: str) -> None:
    if progress:
        progress_message(f"  spark adapt: {message}")


def _open_files(mapping: Mapping, plan: dict[str, list[tuple[Path, str]]], stamp: str | None,
                extracted_at: str | None, reference: Any, encoding: str | None, labels: Any = None) -> tuple[list[dict], dict[str, dict]]:
    """One entry per input file, in embedded order. CSV files are checked on the driver
    (encoding, header, mapped columns) before Spark starts; XLSX and JSON in their task."""
    files: list[dict] = []
    infos: dict[str, dict] = {}
    for table_index, (table, found) in enumerate(plan.items()):
        spec = mapping.tables[table]
        common = {"table": table, "table_index": table_index,
                  "ctx_args": {**context_args(spec, stamp, extracted_at, reference), "labels": labels}}
        for file_index, (path, name) in enumerate(found):
            base = {**common, "file_index": file_index, "path": str(path), "name": name}
            if (spec.source.format or "csv") != "csv":
                files.append({**base, "kind": "file", "block_index": 0, "encoding": encoding})
                continue
            info, _ = open_csv(path, spec.source, encoding=encoding, used=mapping.columns_used(table))
            require_columns(info, mapping, table, path)
            infos[name] = checksum_entry(name, info)
            files.append({**base, "kind": "csv", "names": info.names, "delimiter": info.delimiter,
                          "encoding": info.encoding, "header_row": info.header_lines, "size": info.size,
                          "quotes": info.quotes})
    return files, infos


def auto_block_bytes(size: int, parallelism: int) -> int:
    """Range size for a CSV of ``size`` bytes: enough ranges to keep every core busy, each
    between 4 MB (smaller ranges cost more in task overhead than they save) and 64 MB."""
    return max(MIN_AUTO_BLOCK, min(MAX_AUTO_BLOCK, -(-size // max(parallelism, 1))))


def _cores(spark: Any) -> int:
    """Task slots: N for a local[N] master (all CPUs for local[*]), else Spark's default
    parallelism (which stairs-link's session sets for shuffles, not from the cluster size)."""
    import os
    import re

    master = spark.sparkContext.master
    local = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master)
    if local:
        count = local.group(1)
        return int(count) if count and count != "*" else (os.cpu_count() or 1) if count == "*" else 1
    return spark.sparkContext.defaultParallelism


def _split_files(files: list[dict], block_bytes: int | None, parallelism: int) -> tuple[list[dict], dict[str, str]]:
    """One task per CSV byte range and per XLSX/JSON file, in embedded row order."""
    tasks: list[dict] = []
    not_split: dict[str, str] = {}
    for entry in files:
        if entry["kind"] != "csv":
            tasks.append(entry)
            continue
        path = Path(entry["path"])
        size = block_bytes or auto_block_bytes(entry["size"], parallelism)
        quotes = entry.get("quotes")
        if quotes is not None and quotes.stray:  # read whole, skipping those records, as embedded
            split = CsvSplit([(0, entry["size"])], f"{len(quotes.stray)} record(s) rejected for quote_imbalance")
        else:
            split = split_csv(path, header_row=entry["header_row"], delimiter=entry["delimiter"] or ",",
                              encoding=entry["encoding"] or "utf-8", block_bytes=size)
        if split.note:
            not_split[entry["name"]] = split.note
        for block_index, (start, end) in enumerate(split.ranges):
            tasks.append({**entry, "block_index": block_index, "start": start, "end": end,
                          "skip_rows": entry["header_row"] if start == 0 else 0, "row_offset": 0,
                          "last": block_index == len(split.ranges) - 1})
    return tasks, not_split


def _run_tasks(spark: Any, fn: Any, tasks: list[dict], *args: Any) -> list[Any]:
    """``fn(task, *args)`` for each task, one Spark task each (a range of ids, one per
    partition, mapped with mapInPandas); returns the small results in task order. User
    errors (StairsLinkError) come back as values, so the driver can raise the first one."""
    if not tasks:
        return []
    from pyspark.sql.types import BinaryType, LongType, StructField, StructType

    schema = StructType([StructField("id", LongType()), StructField("result", BinaryType())])

    def run(frames):  # noqa: ANN001, ANN202 - pandas iterator in, pandas iterator out
        for frame in frames:
            for task_id in frame["id"].tolist():
                try:
                    result = fn(tasks[task_id], *args)
                except StairsLinkError as exc:
                    result = {"error": exc}
                yield pd.DataFrame({"id": [task_id], "result": [pickle.dumps(result)]})

    rows = spark.range(0, len(tasks), 1, len(tasks)).mapInPandas(run, schema).collect()
    results: list[Any] = [None] * len(tasks)
    for row in rows:
        results[row["id"]] = pickle.loads(row["result"])
    return results


def _raise_first_error(results: list[Any]) -> None:
    for result in results:
        if isinstance(result, dict) and "error" in result:
            raise result["error"]


def _block_bytes(task: dict) -> pa.BufferReader:
    with open(task["path"], "rb") as handle:
        handle.seek(task["start"])
        return pa.BufferReader(handle.read(task["end"] - task["start"]))


def _count_task(task: dict) -> int:
    """Stage "count": data rows in one CSV range, numbered as the embedded reader does."""
    return count_csv_rows(_block_bytes(task), path=Path(task["path"]), names=task["names"],
                          delimiter=task["delimiter"], encoding=task["encoding"], skip_rows=task["skip_rows"])


def _number_rows(spark: Any, tasks: list[dict], progress: bool) -> None:
    """Set each CSV range's ``row_offset``: the data rows of the earlier ranges of its file."""
    counting = [t for t in tasks if t["kind"] == "csv" and not t["last"]]
    if not counting:
        return
    _say(progress, f"counting rows in {len(counting)} range(s)")
    counts = _run_tasks(spark, _count_task, counting)
    _raise_first_error(counts)
    rows = {(t["table_index"], t["file_index"], t["block_index"]): n for t, n in zip(counting, counts)}
    for task in tasks:
        if task["kind"] == "csv":
            key = (task["table_index"], task["file_index"])
            task["row_offset"] = sum(rows[(*key, b)] for b in range(task["block_index"]))


def _adapt_task(task: dict, mapping: Mapping, staging: str) -> dict:
    """Stage "adapt": one CSV range or one XLSX/JSON file through the embedded per-batch code;
    parts written here, figures returned."""
    table = task["table"]
    spec = mapping.tables[table]
    path = Path(task["path"])
    info = None
    if task["kind"] == "csv":
        batches = csv_batches(_block_bytes(task), path=path, names=task["names"], delimiter=task["delimiter"],
                              encoding=task["encoding"], skip_rows=task["skip_rows"],
                              block_bytes=DEFAULT_BLOCK_BYTES, row_offset=task["row_offset"],
                              quotes=task.get("quotes") if task["start"] == 0 and task["last"] else None)
        fmt = "csv"
    else:
        info, batches = open_export(path, spec.source, encoding=task["encoding"], used=mapping.columns_used(table))
        require_columns(info, mapping, table, path)
        fmt = info.format
    ctx = TableContext(mapping=mapping, table=spec, source_file=task["name"], source_format=fmt, seen=SeenIds(),
                       **task["ctx_args"])
    counts = {"rows_in": 0, "rows_staged": 0, "rows_rejected": 0, "rows_skipped": 0, "rejects": 0}
    unknown: dict[str, Counter] = {}
    invalid: dict[str, Counter] = {}
    for batch_index, batch in enumerate(batches):
        output = process_batch(batch, ctx, table, mapping.id)
        add_counts(output, counts, unknown, invalid)
        name = part_name(task["table_index"], task["file_index"], task["block_index"], batch_index)
        if output.staged is not None:
            write_part(output.staged, f"{staging}/{table}", name)
        if output.rejects:
            rejects = pa.concat_tables(output.rejects)
            order = pc.sort_indices(rejects, [("source_row", "ascending")])  # stable
            write_part(rejects.take(order), f"{staging}/rejects", name)
    # after the rows are read: a streaming reader learns the file's sha256 on its one pass
    info_entry = None if info is None else checksum_entry(task["name"], info)
    return {"counts": counts, "unknown": unknown, "invalid": invalid, "info": info_entry}


def _move_cross_task_duplicates(spark: Any, mapping: Mapping, staging: str) -> dict[str, int]:
    """Person rows whose local id a part earlier in row order already staged are moved to
    rejects (as the embedded engine's run-wide SeenIds does); returns rows moved per part.
    Within one task the embedded code has already done this."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    folder = f"{staging}/person"
    parts = list_parts(folder)
    if len({p.rsplit("/", 1)[1].rsplit("-", 1)[0] for p in parts}) <= 1:  # all from one task
        return {}
    staged = spark.read.parquet(folder).select("local_id", "source_row", F.col("_metadata.file_name").alias("part"))
    # ids staged more than once (an aggregation, no sort; usually none), then only their rows
    # are ordered (the join side is tiny, so adaptive execution broadcasts it)
    repeated = staged.groupBy("local_id").count().where(F.col("count") > 1).select("local_id")
    order = Window.partitionBy("local_id").orderBy("part", "source_row")
    later = (staged.join(repeated, "local_id").withColumn("n", F.row_number().over(order))
             .where(F.col("n") > 1).drop("n"))
    found = f"{staging}/duplicates"
    later.write.mode("overwrite").parquet(found)  # fixed input for the rewrite (retries see the same rows)
    label = mapping.tables["person"].fields["local_id"].label
    mapping_id = mapping.id

    def rewrite(rows: pd.DataFrame) -> pd.DataFrame:
        part = str(rows["part"].iloc[0])
        _rewrite_part(staging, "person", part, rows, label, mapping_id)
        return pd.DataFrame({"part": [part], "moved": [len(rows)]})

    later = spark.read.parquet(found)
    if later.isEmpty():
        return {}
    moved = later.groupBy("part").applyInPandas(rewrite, schema="part string, moved long").collect()
    return {row["part"]: int(row["moved"]) for row in moved}


def _move_orphan_events(spark: Any, mapping: Mapping, staging: str, tables: list[str]) -> dict[str, int]:
    """Event rows whose record_key has no staged person row (a left anti join; after the
    cross-task duplicates, which leave the set of person keys as it was) are moved to
    rejects as orphan_event, as the embedded engine does; returns rows moved per part. Only
    when the mapping fills person (else there is nothing to check against, as embedded)."""
    from pyspark.sql import functions as F

    if "person" not in tables:
        return {}
    keys = spark.read.parquet(f"{staging}/person").select("record_key").distinct() \
        if list_parts(f"{staging}/person") else None
    prefix = f"{mapping.site_id}:{mapping.source_system}:"
    mapping_id = mapping.id
    moved: dict[str, int] = {}
    for table in tables:
        if table == "person" or not list_parts(f"{staging}/{table}"):
            continue
        events = spark.read.parquet(f"{staging}/{table}").select(
            "record_key", "source_row", F.col("_metadata.file_name").alias("part"))
        orphans = events if keys is None else events.join(keys, "record_key", "left_anti")
        found = f"{staging}/orphans-{table}"
        orphans.write.mode("overwrite").parquet(found)  # fixed input for the rewrite (retries see the same rows)
        orphans = spark.read.parquet(found)
        if orphans.isEmpty():
            continue
        rewrite = _orphan_rewriter(staging, table, mapping.tables[table].fields["local_id"].label, prefix, mapping_id)
        result = orphans.groupBy("part").applyInPandas(rewrite, schema="part string, moved long").collect()
        moved.update({row["part"]: int(row["moved"]) for row in result})
    return moved


def _orphan_rewriter(staging: str, table: str, label: str, prefix: str, mapping_id: str) -> Any:
    """The grouped-map function moving one part's orphan rows of ``table`` to rejects."""
    def rewrite(rows: pd.DataFrame) -> pd.DataFrame:
        part = str(rows["part"].iloc[0])
        ids = rows["record_key"].astype(str).str.slice(len(prefix))  # the event's local id
        _rewrite_part(staging, table, part, rows.assign(local_id=ids), label, mapping_id, ORPHAN_EVENT, ORPHAN_MESSAGE)
        return pd.DataFrame({"part": [part], "moved": [len(rows)]})

    return rewrite


def _rewrite_part(staging: str, table: str, part: str, rows: pd.DataFrame, label: str, mapping_id: str,
                  reason: str = "duplicate_local_id", message: str = DUPLICATE_MESSAGE) -> None:
    """Drop ``rows`` (source_row, local_id) from one staged part of ``table`` and add them to
    the rejects part of the same name: the embedded engine's ``reason`` entries
    (duplicate_local_id, orphan_event), and the row's other entries marked row_rejected.
    Idempotent (a retried task rewrites the same)."""
    fs, inner = filesystem(f"{staging}/{table}/{part}")
    staged = pq.read_table(inner, filesystem=fs)
    drop = pc.is_in(staged.column("source_row"), value_set=pa.array(rows["source_row"], pa.int64()))
    write_part(staged.filter(pc.invert(drop)), f"{staging}/{table}", part)
    fs, inner = filesystem(f"{staging}/rejects/{part}")
    exists = fs.get_file_info(inner).type != pafs.FileType.NotFound
    rejects = pq.read_table(inner, filesystem=fs).to_pandas() if exists else None
    source_file = staged.column("source_file")[0].as_py()
    new = pd.DataFrame({"source_file": source_file, "source_row": rows["source_row"].astype("int64").to_numpy(),
                        "table": table, "column": label, "raw_value": rows["local_id"].astype(object).to_numpy(),
                        "reason": reason, "message": message, "row_rejected": True,
                        "mapping_id": mapping_id})
    if rejects is not None:
        hit = rejects["source_row"].isin(new["source_row"])
        rejects.loc[hit, "row_rejected"] = True
        done = rejects.loc[hit & (rejects["reason"] == reason), "source_row"]
        new = pd.concat([rejects, new[~new["source_row"].isin(done)]], ignore_index=True)
    new = new.sort_values("source_row", kind="stable").reset_index(drop=True)
    write_part(to_arrow("rejects", new), f"{staging}/rejects", part)


def _gather(plan: dict[str, list[tuple[Path, str]]], tasks: list[dict], results: list[dict],
            infos: dict[str, dict], moved: dict[str, int], labels: Any = None,
            orphaned: dict[str, int] | None = None) -> tuple[list[dict], dict[str, dict], dict[str, int], int]:
    """Per-file manifest entries from the tasks' figures (and the duplicate and orphan rows
    moved to rejects afterwards)."""
    per_file: dict[tuple[int, int], tuple[dict, dict, dict]] = {}
    lines = {(t["table_index"], t["file_index"]): (t["quotes"], t["header_row"]) for t in tasks
             if t.get("quotes") is not None}
    for task, result in zip(tasks, results):
        counts, unknown, invalid = per_file.setdefault(
            (task["table_index"], task["file_index"]),
            ({"rows_in": 0, "rows_staged": 0, "rows_rejected": 0, "rows_skipped": 0, "rejects": 0}, {}, {}))
        for key, value in result["counts"].items():
            counts[key] = counts.get(key, 0) + value
        for name, c in result["unknown"].items():
            unknown.setdefault(name, Counter()).update(c)
        for name, c in result["invalid"].items():
            invalid.setdefault(name, Counter()).update(c)
        if result["info"] is not None:
            infos[task["name"]] = result["info"]
    for kind, parts in (("duplicate", moved), ("orphan", orphaned or {})):
        for part, n in parts.items():  # part-TTTTTT-FFFFFF-BBBBBB-KKKKKK.parquet
            indices = [int(i) for i in part.removesuffix(".parquet").split("-")[1:]]
            counts = per_file[(indices[0], indices[1])][0]
            counts["rows_staged"] -= n
            counts["rows_rejected"] += n
            counts["rejects"] += n
            if kind == "orphan":
                counts["orphan_event_rows"] = counts.get("orphan_event_rows", 0) + n
    sources: list[dict] = []
    table_rows: dict[str, int] = {}
    rejects_total = 0
    for table_index, (table, files) in enumerate(plan.items()):
        table_rows[table] = 0
        for file_index, (_, name) in enumerate(files):
            counts, unknown, invalid = per_file[(table_index, file_index)]
            source = source_entry(table, name, dict(counts), unknown, invalid, labels)
            quotes = lines.get((table_index, file_index))
            if quotes is not None:
                source["lines"] = quotes[0].manifest(counts["rows_in"], quotes[1])
            table_rows[table] += source["rows_staged"]
            rejects_total += source.pop("rejects")
            sources.append(source)
    checksums = {name: infos[name] for name in sorted(infos)}
    return sources, checksums, table_rows, rejects_total


def _publish(out: str, staging: str, tables: list[str]) -> tuple[list[Any], Any]:
    """Publish every table's parts (and the rejects) into ``out``; a table a previous adapt
    left there that this mapping does not fill is removed, as the embedded engine does."""
    fs, inner = filesystem(out)
    fs.create_dir(inner, recursive=True)
    if fs.get_file_info(f"{inner}/manifest.json").type != pafs.FileType.NotFound:
        for table in TABLES:
            if table not in tables:
                stale = fs.get_file_info(f"{inner}/{table}.parquet")
                if stale.type == pafs.FileType.Directory:
                    fs.delete_dir(stale.path)
                elif stale.type == pafs.FileType.File:
                    fs.delete_file(stale.path)
    local = not is_url(out)
    written = []
    for table in [*tables, "rejects"]:
        dest = publish(list_parts(f"{staging}/{table}"), f"{out.rstrip('/')}/{table}.parquet", arrow_schema(table))
        written.append(Path(dest) if local else dest)
    rejects = written.pop()
    return written, rejects
