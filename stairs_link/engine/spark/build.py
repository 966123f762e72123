"""``build`` on Spark: the embedded build's dataset, computed bucket by bucket of children.

Everything in the dataset except the child ids is computed child by child, so:

1. the staged tables, clusters and pairs are read by Spark (each staged row keeps its file and
   row number, as the embedded reader numbers them); the input checks of the embedded build run
   as Spark queries and raise the same errors (only the offending rows reach the driver); event
   rows of no staged person are counted as the embedded build counts them (those rows are
   gathered to the driver) and left out, as there;
2. child ids: without ``previous``, the smallest record_key of each cluster is hashed in Spark
   (SHA-256, as ``integrate.ids``); clusters whose ids collide, and the few that a re-hash then
   touches, are resolved on the driver by the embedded ``_fresh_ids``, so the result is exactly
   the embedded one. With ``previous`` the global matching of ``integrate.ids`` runs ON THE
   DRIVER over (record_key, cluster) and the previous record map only (partial scale-out:
   O(records) memory on the driver for those two columns);
3. children are range-bucketed by child_id (boundaries from a sample of ids), so bucket order
   is child_id order; every staged table and the within-child pairs are shuffled into buckets
   (Parquet partitioned by bucket, under a hidden folder of the output);
4. one Spark task per bucket runs the embedded per-child code (``dedupe_staged``,
   ``assemble_children``: survivorship, nesting, stays, transitions, link summary) and writes
   its parts with :func:`stairs_link.engine.spark.parts.write_part`; the driver publishes them
   in bucket order (one local file per table, or a dataset directory for a URL) and sums the
   small per-bucket counts for build.json. record_map.parquet (sorted by record_key) is written
   by range-partitioned Spark tasks the same way.

What reaches the driver: staged file schemas, per-file row counts of clusters/pairs, the
colliding clusters, a sample of about 200 child ids per bucket, each bucket's counts, and the
first offending rows when a check fails. With ``previous``: (record_key, cluster) of every record
and the id history (see 2.).

The outputs equal the embedded engine's (same rows in the same order, same Arrow types; tested
with schema metadata too); build.json adds ``engine``, ``buckets`` and ``timings_seconds``.
The pandas metadata of children.parquet is that of the first bucket's part, so it could differ
from the embedded file's only where that bucket holds nothing but nulls in a column. Where the
embedded reader would fail on a staged file lacking an optional canonical column, this one reads
the column as nulls. ``previous`` must be a local directory.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link import errors
from stairs_link.engine.spark import parts
from stairs_link.engine.spark.session import spark_session
from stairs_link.errors import IntegrationError, SchemaError, StairsLinkError
from stairs_link.integrate import ids as id_rules
from stairs_link.integrate.build import (
    DATASET_FILES,
    EVENT_OUTPUTS,
    LINKAGE_FILES,
    BuildResult,
    _history_arrow,
    _load_previous,
    assemble_children,
    build_summary,
    count_events,
    merge_extract_dates,
)
from stairs_link.integrate.inputs import (
    EVENT_TABLES,
    count_orphans,
    dedupe_staged,
    duplicate_record_error,
    null_cluster_error,
    orphan_summary,
    unclustered_error,
    unstaged_error,
)
from stairs_link.integrate.survivorship import FIELDS, OPTIONAL_FIELDS
from stairs_link.integrate.transitions import TransitionRules
from stairs_link.linkage.shared import Clock
from stairs_link.schema import arrow_schema
from stairs_link.schema.io import verify_staged
from stairs_link.schema.linked import CLUSTER_ID, check_cluster_columns
from stairs_link.schema.outputs import output_unit, verify_linked
from stairs_link.schema.tables import SCHEMA_VERSION, SCHEMA_VERSION_KEY, columns_of

# pyspark is imported inside functions: optional and slow to import (engine/spark/__init__.py)

STAGED_TABLES = ["person", *EVENT_TABLES]

#: Spark SQL type of each canonical Arrow type (to add a missing optional column as nulls).
_SPARK_TYPES = {pa.string(): "string", pa.int64(): "bigint", pa.int32(): "int", pa.date32(): "date",
                pa.float64(): "double", pa.bool_(): "boolean", pa.timestamp("s"): "timestamp_ntz",
                pa.binary(): "binary"}

#: children per bucket aimed at (a bucket's tables are held by one task in pandas).
CHILDREN_PER_BUCKET = 20_000


@dataclass(frozen=True)
class _Job:
    """What a bucket task needs (pickled to the executors)."""

    shuffled: str
    staging: str
    rules: TransitionRules
    fields: tuple[str, ...]
    has_pairs: bool
    history: bool


def spark_build(
    linked_dir: str | Path,
    staged_dirs: list[str | Path],
    out_dir: str | Path,
    *,
    master: str | None = None,
    previous: str | Path | None = None,
    readmission_days: int = 90,
    formulation_days: int = 28,
    transfer_days: int = 3,
    merge_gap_days: int = 1,
    young_adult_age: float = 17.75,
    spark: Any = None,
    progress: bool = False,
    buckets: int | None = None,
) -> BuildResult:
    """``stairs-link build --engine spark``: the dataset of ``integrate.build`` (see the module
    docstring). Inputs and ``out_dir`` may be local paths or URLs Spark and pyarrow both read
    (``previous`` must be local: it is read on the driver). ``buckets``: number of child
    buckets (default: about one per 20,000 children, at least spark.sql.shuffle.partitions).

    Local inputs are refused unless their completion records are valid (staged manifests,
    LINKED's complete.json); a local ``out_dir`` is written as one unit like the embedded
    build's (staging folder inside it, complete.json last: schema/outputs.py)."""
    for directory in staged_dirs:
        if not parts.is_url(str(directory)):
            verify_staged(Path(directory))
    verify_linked(linked_dir)
    options = {"master": master, "previous": previous, "readmission_days": readmission_days,
               "formulation_days": formulation_days, "transfer_days": transfer_days,
               "merge_gap_days": merge_gap_days, "young_adult_age": young_adult_age, "spark": spark,
               "progress": progress, "buckets": buckets}
    out = _text(out_dir)
    if parts.is_url(out):  # an object store cannot rename: written in place, as before
        return _spark_build(linked_dir, staged_dirs, out, out, **options)
    with output_unit(Path(out), "build", owned=DATASET_FILES) as unit:
        return _spark_build(linked_dir, staged_dirs, str(unit.staging), out, **options)


def _spark_build(
    linked_dir: str | Path,
    staged_dirs: list[str | Path],
    out: str,
    shown: str,
    *,
    master: str | None,
    previous: str | Path | None,
    readmission_days: int,
    formulation_days: int,
    transfer_days: int,
    merge_gap_days: int,
    young_adult_age: float,
    spark: Any,
    progress: bool,
    buckets: int | None,
) -> BuildResult:
    """:func:`spark_build` writing into ``out`` (the unit's staging folder for a local output),
    reporting ``shown`` as the dataset's directory."""
    start = time.perf_counter()
    clock = Clock(progress, label="build")
    rules = TransitionRules(merge_gap_days=merge_gap_days, transfer_days=transfer_days,
                            readmission_days=readmission_days, formulation_days=formulation_days,
                            young_adult_age=young_adult_age)
    linked = _text(linked_dir)
    spark = spark or spark_session(master)
    clock.lap("spark session")

    tables = {name: _read_staged(spark, name, staged_dirs) for name in STAGED_TABLES}
    orphans, orphans_dropped = _orphan_events(tables)
    clusters = _read_clusters(spark, linked)
    _check_cover(tables["person"], clusters, linked)
    fields = _resolved_fields(tables["person"])
    clock.lap("checks")

    history = None
    if previous is None:
        record_map = _fresh_child_ids(clusters)
    else:  # the global matching with the previous dataset runs on the driver (see docstring)
        prev_map, prev_history = _load_previous(previous)
        frame = clusters.select("record_key", CLUSTER_ID).toPandas()
        mapping, history = id_rules.assign_child_ids(frame, prev_map, prev_history)
        record_map = spark.createDataFrame(mapping, "record_key string, child_id string")
    record_map = record_map.persist()
    n_children = record_map.select("child_id").distinct().count()
    clock.lap("child ids")

    n_buckets = buckets or max(int(spark.conf.get("spark.sql.shuffle.partitions")),
                               math.ceil(n_children / CHILDREN_PER_BUCKET))
    n_buckets = max(1, min(n_buckets, n_children))
    bucketed = _bucket(record_map, n_children, n_buckets).persist()

    fs, inner = parts.filesystem(out)
    fs.create_dir(inner, recursive=True)
    shuffled = f"{out}/.spark-build-{uuid.uuid4().hex[:12]}"
    staging = parts.staging_dir(out)
    try:
        has_pairs = _shuffle(tables, bucketed, _read_pairs(spark, linked), shuffled)
        clock.lap("shuffle into buckets")
        job = _Job(shuffled, staging, rules, tuple(fields), has_pairs, history is None)
        stats = (spark.sparkContext.parallelize(range(n_buckets), n_buckets)
                 .map(lambda b: _run_bucket(b, job)).collect())
        _raise_bucket_error(stats)
        clock.lap("children")
        files = _publish(stats, staging, out)
        if history is not None:
            parts.write_part(_history_arrow(history), f"{staging}/id_history.parquet", parts.part_name(0))
            _publish_one(staging, "id_history.parquet", out)
        _write_record_map(record_map, staging, out)
        files += ["id_history.parquet", "record_map.parquet"]
        files += _copy_linkage(linked, out)
        clock.lap("publish")
    finally:
        parts.remove(shuffled)
        parts.remove(staging)
        for frame in (record_map, bucketed, clusters, *tables.values()):
            frame.unpersist()

    kinds: dict[str, int] = {}
    for s in stats:
        for k, v in s["kinds"].items():
            kinds[k] = kinds.get(k, 0) + v
    if history is None:
        id_events = {"created": n_children}
    else:
        id_events = count_events(history.loc[history["run"] == history["run"].max(), "event"])
    result = BuildResult(
        out_dir=Path(shown) if not parts.is_url(shown) else shown,  # type: ignore[arg-type]
        n_children=sum(s["n_children"] for s in stats),
        n_records=sum(s["n_records"] for s in stats),
        n_events={t: sum(s["n_events"].get(t, 0) for s in stats) for t in EVENT_TABLES},
        n_stays=sum(s["n_stays"] for s in stats),
        n_transitions=sum(s["n_transitions"] for s in stats),
        id_events=id_events,
        duplicates_dropped={t: sum(s["dropped"].get(t, 0) for s in stats) + orphans_dropped.get(t, 0)
                            for t in STAGED_TABLES},
        files=files,
        orphan_events=orphan_summary(orphans),
        # each bucket supersedes with the embedded code (dedupe_staged); the per-file breakdown,
        # extract order and data periods of the embedded build are not gathered here
        extracts_combined={"computed": False,
                           "note": "--engine spark: several extracts are superseded per bucket as the embedded "
                                   "engine does; only the total dropped per table is reported "
                                   "(duplicates_dropped). No person_records.parquet is written, so this dataset "
                                   "cannot be the --previous of an incremental link or a multi-year build"},
    )
    assert result.n_children == n_children
    stay_rules: dict[str, dict[str, int]] = {t: {} for t in EVENT_TABLES}
    for s in stats:
        for table, counts in s["stay_rules"].items():
            for rule, n in counts.items():
                stay_rules[table][rule] = stay_rules[table].get(rule, 0) + n
    stay_rules = {t: dict(sorted(r.items())) for t, r in stay_rules.items()}
    extracts = merge_extract_dates([s["extracts"] for s in stats])
    summary = build_summary(result, rules, kinds, stay_rules, extracts) | {
        "engine": "spark", "buckets": n_buckets,
        "timings_seconds": clock.timings | {"total": round(time.perf_counter() - start, 3)}}
    with fs.open_output_stream(f"{inner}/build.json") as stream:
        stream.write(json.dumps(summary, indent=2).encode("utf-8"))
    return result


def _text(path: str | Path) -> str:
    """A local path as text (as the embedded engine writes it), or a URL unchanged."""
    return str(path).rstrip("/") if parts.is_url(path) else str(Path(path))


def _join(base: str, name: str) -> str:
    return f"{base}/{name}" if parts.is_url(base) else str(Path(base) / name)


def _exists(path: str, directory: bool = False) -> bool:
    from pyarrow import fs as pafs

    fs, inner = parts.filesystem(path)
    kind = fs.get_file_info(inner).type
    return kind == pafs.FileType.Directory if directory else kind != pafs.FileType.NotFound


# ---------------------------------------------------------------- reading and checking inputs


def _staged_files(staged_dirs: list[str | Path], name: str) -> list[tuple[int, str]]:
    """(directory index, file) of table ``name`` in each staged directory that has it, after
    the embedded reader's checks (directory and person table present, schema readable)."""
    if not staged_dirs:
        raise IntegrationError("no staged directories given", reason="no_staged",
                               fix="pass the directories written by `stairs-link adapt` after the LINKED directory")
    found = []
    for index, directory in enumerate(staged_dirs):
        directory = _text(directory)
        if not _exists(directory, directory=True):
            raise IntegrationError("staged directory not found", reason="missing_staged", file=directory,
                                   fix="pass directories written by `stairs-link adapt`")
        if not _exists(_join(directory, "person.parquet")):
            raise IntegrationError(
                "staged directory has no person.parquet", reason="missing_person", file=directory,
                fix="every staged directory needs the person table its events refer to; re-run `stairs-link adapt`")
        path = _join(directory, f"{name}.parquet")
        if _exists(path):
            _check_schema(path, name)
            found.append((index, path))
    return found


def _check_schema(path: str, table: str) -> None:
    """The checks of ``schema.read_table`` on the file's schema alone (no data read)."""
    fs, inner = parts.filesystem(path)
    try:
        schema = pq.read_schema(inner, filesystem=fs)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SchemaError(f"not a readable Parquet file ({exc})", reason="corrupt_parquet", file=path,
                          fix="re-create it with `stairs-link adapt`; do not edit Parquet files by hand") from None
    version = (schema.metadata or {}).get(SCHEMA_VERSION_KEY)
    if version is not None and version.decode() != SCHEMA_VERSION:
        raise SchemaError(
            f"written with canonical schema version {version.decode()}, "
            f"this stairs-link reads version {SCHEMA_VERSION}",
            reason="schema_version", file=path,
            fix="re-run `stairs-link adapt` with this version of stairs-link on the original export")
    missing = [c.name for c in columns_of(table) if c.required and c.name not in schema.names]
    if missing:
        raise SchemaError(f"required column(s) missing from table '{table}': {', '.join(missing)}",
                          reason="missing_column", file=path, column=missing[0])


def _read_staged(spark: Any, name: str, staged_dirs: list[str | Path]) -> Any:
    """Table ``name`` of every staged directory as one Spark DataFrame: the canonical columns
    (a column missing from a file reads as nulls), ``_staged_file``/``_staged_row`` as the
    embedded reader sets them, ``_dir`` (directory index) and ``_rank`` (index of the file's
    first appearance, which the embedded de-duplication ranks by)."""
    from pyspark.sql import functions as F

    ddl = ", ".join(f"`{f.name}` {_SPARK_TYPES[f.type]}" for f in arrow_schema(name))
    found = _staged_files(staged_dirs, name)
    if not found:  # no staged directory has this table
        return spark.createDataFrame([], f"{ddl}, _staged_file string, _staged_row long, _dir int, _rank int")
    unique = list(dict.fromkeys(path for _, path in found))
    # one scan for all files (a select per file costs hundreds of JVM calls); the schema is
    # given, so a column a file lacks reads as nulls and reading starts no Spark job
    data = spark.read.schema(ddl).parquet(*unique)
    # Spark names a row's file by URI: decode it to the form _normal gives the paths
    uri = F.regexp_replace(F.col("_metadata.file_path"), r"\+", "%2B")
    key = F.url_decode(F.regexp_replace(uri, "^file:/+", "/"))
    data = data.select(*[F.col(f"`{f.name}`") for f in arrow_schema(name)], key.alias("_key"),
                       F.col("_metadata.row_index").cast("long").alias("_staged_row"))
    # one row per occurrence: a directory passed twice is read twice, as the embedded reader does
    rows = [(_normal(path), path, index, unique.index(path)) for index, path in found]
    files = spark.createDataFrame(rows, "_key string, _staged_file string, _dir int, _rank int")
    return data.join(F.broadcast(files), "_key").drop("_key")


def _normal(path: str) -> str:
    """A file path in the form of the decoded Spark file URIs: absolute local path, or
    ``scheme://host/path`` for a remote URL."""
    import os
    from urllib.parse import unquote, urlparse

    if not parts.is_url(path):
        return os.path.abspath(path)
    parsed = urlparse(path)
    if parsed.scheme == "file":
        return os.path.abspath(unquote(parsed.path))
    return f"{parsed.scheme}://{parsed.netloc}{unquote(parsed.path)}"


def _first(df: Any, order: list[str]) -> Any:
    return df.orderBy(*order).first()


def _orphan_events(tables: dict[str, Any]) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """``integrate.inputs.drop_orphan_events`` on Spark: event rows with no staged person row,
    per table and source, counted after the latest extract of each is kept, and the rows of
    them that an earlier extract repeated (the embedded build counts those in
    ``duplicates_dropped``). The rows themselves never reach a bucket (the shuffle joins
    on the record's child); they are gathered to the driver and superseded there with the
    embedded code (orphans are few unless a mapping is wrong)."""
    from pyspark.sql import functions as F

    keys = tables["person"].select("record_key").distinct()
    every: Any = None
    for name in EVENT_TABLES:  # one query for all tables; the details only when there are some
        keyed = tables[name].select("record_key")
        every = keyed if every is None else every.unionByName(keyed)
    counts: dict[str, dict[str, int]] = {}
    dropped: dict[str, int] = {}
    if not every.join(keys, "record_key", "left_anti").limit(1).count():
        return counts, dropped
    for name in EVENT_TABLES:
        bad = tables[name].join(keys, "record_key", "left_anti")
        if not bad.limit(1).count():
            continue
        columns = [c.name for c in columns_of(name)] + ["_staged_file", "_staged_row"]
        rows = bad.orderBy("_dir", "_staged_row").select(*[F.col(f"`{c}`") for c in columns]).toPandas()
        kept, dropped[name] = dedupe_staged(name, rows)
        counts[name] = count_orphans(kept)
    return counts, dropped


def _with_position(df: Any) -> Any:
    """``df`` (straight from spark.read.parquet) with ``_pos``: the row's position in the table
    as pyarrow reads it (files in path order, rows in file order)."""
    from pyspark.sql import functions as F

    df = df.withColumn("_file", F.col("_metadata.file_path")).withColumn("_row", F.col("_metadata.row_index"))
    counts = sorted((r["_file"], int(r["n"])) for r in df.groupBy("_file").agg(F.count("*").alias("n")).collect())
    offsets, total = [], 0
    for file, n in counts:
        offsets.append((file, total))
        total += n
    table = df.sparkSession.createDataFrame(offsets or [("", 0)], "_file string, _off long")
    return (df.join(F.broadcast(table), "_file").withColumn("_pos", F.col("_off") + F.col("_row"))
            .drop("_file", "_row", "_off"))


def _read_clusters(spark: Any, linked: str) -> Any:
    """load_clusters in Spark: record_key, cluster_id (as text), _pos; same errors."""
    from pyspark.sql import functions as F

    path = _join(linked, "clusters.parquet")
    if not _exists(path):
        raise IntegrationError("clusters.parquet not found in the linked directory", reason="missing_file", file=path,
                               fix="run `stairs-link link STAGED... --out LINKED` first and pass LINKED")
    data = spark.read.parquet(path)
    check_cluster_columns(data.columns, path, IntegrationError)
    for column in ("record_key", CLUSTER_ID):
        if column not in data.columns:
            raise IntegrationError("required column missing from clusters.parquet", reason="missing_column",
                                   file=path, column=column, fix="re-create it with `stairs-link link`")
    data = _with_position(data).select("record_key", CLUSTER_ID, "_pos").persist()
    null = F.col("record_key").isNull() | F.col(CLUSTER_ID).isNull()
    stats = data.agg(F.sum(null.cast("long")).alias("null"), F.count("*").alias("rows"),
                     F.countDistinct("record_key").alias("keys")).first()
    if stats["null"]:
        first = _first(data.where(null), ["_pos"])
        column = "record_key" if first["record_key"] is None else CLUSTER_ID
        raise null_cluster_error(int(stats["null"]), int(first["_pos"]), column, path)
    if stats["keys"] < stats["rows"]:
        counts = data.groupBy("record_key").agg(F.count("*").alias("n")).where("n > 1")
        first = _first(data.join(counts, "record_key"), ["_pos"])
        raise duplicate_record_error(int(stats["rows"] - stats["keys"]), int(first["_pos"]), path)
    return data.withColumn(CLUSTER_ID, F.col(CLUSTER_ID).cast("string"))


def _kept_person(person: Any) -> Any:
    """The person row the embedded de-duplication keeps for each record_key (latest
    extracted_at, nulls first; then staged file name; then staged order)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy("record_key").orderBy(
        F.col("extracted_at").desc_nulls_last(), F.col("_staged_file").desc(), F.col("_dir").desc(),
        F.col("_staged_row").desc())
    return person.withColumn("_k", F.row_number().over(order)).where("_k = 1").drop("_k")


def _check_cover(person: Any, clusters: Any, linked: str) -> None:
    """check_clusters_cover: every staged record clustered, every clustered record staged."""
    from pyspark.sql import functions as F

    staged = person.select("record_key", F.lit(True).alias("staged")).distinct()
    both = staged.join(clusters.select("record_key", F.lit(True).alias("clustered")), "record_key", "full_outer")
    stats = both.agg(F.sum(F.col("clustered").isNull().cast("long")).alias("unclustered"),
                     F.sum(F.col("staged").isNull().cast("long")).alias("unstaged")).first()
    if stats["unclustered"]:
        kept = _kept_person(person.join(clusters.select("record_key"), "record_key", "left_anti"))
        first = _first(kept, ["record_key"])  # the embedded person table is in record_key order
        raise unclustered_error(int(stats["unclustered"]), first["_staged_file"], int(first["_staged_row"]), linked)
    if stats["unstaged"]:
        extra = clusters.join(person.select("record_key"), "record_key", "left_anti")
        raise unstaged_error(int(stats["unstaged"]), int(_first(extra, ["_pos"])["_pos"]), linked)


def _resolved_fields(person: Any) -> list[str]:
    """survivorship.resolved_fields over the whole (de-duplicated) person table."""
    from pyspark.sql import functions as F

    optional = []
    for name in OPTIONAL_FIELDS:
        held = person.where(F.col(name).isNotNull())
        if held.limit(1).count() and _kept_person(person).where(F.col(name).isNotNull()).limit(1).count():
            optional.append(name)
    return [*FIELDS, *optional]


def _read_pairs(spark: Any, linked: str) -> Any:
    """load_pairs in Spark (linked pairs only when marked), with ``_pos``; None without a file."""
    from pyspark.sql import functions as F

    path = _join(linked, "pairs.parquet")
    if not _exists(path):
        return None
    wanted = ["record_key_l", "record_key_r", "match_weight", "match_probability"]
    data = spark.read.parquet(path)
    missing = [c for c in wanted if c not in data.columns]
    if missing:
        raise IntegrationError("required column missing from pairs.parquet", reason="missing_column", file=path,
                               column=missing[0], fix="re-create it with `stairs-link link`")
    data = _with_position(data)
    if "linked" in data.columns:
        data = data.where(F.coalesce(F.col("linked").cast("boolean"), F.lit(False)))
    return data.select(*wanted, "_pos")


# ---------------------------------------------------------------- child ids and buckets


def _fresh_child_ids(clusters: Any) -> Any:
    """record_key -> child_id without a previous dataset: ``ids._hash_id`` of each cluster's
    smallest record_key, in Spark; collisions resolved on the driver exactly as ``_fresh_ids``."""
    from pyspark.sql import functions as F

    digits = id_rules.ID_HEX_DIGITS
    mins = (clusters.groupBy(F.col(CLUSTER_ID).alias("cluster"))
            .agg(F.min("record_key").alias("min_key"))
            .withColumn("cand", F.concat(F.lit("C"), F.substring(F.sha2(F.col("min_key"), 256), 1, digits)))
            .persist())
    shared = mins.groupBy("cand").agg(F.count("*").alias("n")).where("n > 1").select("cand")
    fixed = _resolve_collisions(mins, mins.join(shared, "cand").select("cluster", "min_key").toPandas())
    spark = clusters.sparkSession
    if len(fixed):
        table = spark.createDataFrame(fixed, "cluster string, fixed string")
        mins = mins.join(F.broadcast(table), "cluster", "left").withColumn("cand", F.coalesce("fixed", "cand"))
    ids = mins.select("cluster", F.col("cand").alias("child_id"))
    return clusters.select("record_key", F.col(CLUSTER_ID).alias("cluster")).join(ids, "cluster") \
        .select("record_key", "child_id")


def _resolve_collisions(mins: Any, group: pd.DataFrame) -> pd.DataFrame:
    """Final ids of the clusters in ``group`` (cluster, min_key: those sharing a hash) and of any
    cluster whose first-choice id a re-hash takes, grown until closed: then ``_fresh_ids`` on
    the group equals the embedded global assignment on it (every other cluster keeps its hash)."""
    from pyspark.sql import functions as F

    group = group.copy()
    while len(group):
        ids = id_rules._fresh_ids(group.set_index("cluster")["min_key"], set())
        rehashed = [i for c, i in ids.items() if i != id_rules._hash_id(group.set_index("cluster").at[c, "min_key"])]
        if not rehashed:
            break
        hit = (mins.where(F.col("cand").isin(rehashed)).where(~F.col("cluster").isin(list(group["cluster"])))
               .select("cluster", "min_key").toPandas())
        if hit.empty:
            break
        group = pd.concat([group, hit], ignore_index=True)
    if group.empty:
        return pd.DataFrame({"cluster": pd.Series(dtype=str), "fixed": pd.Series(dtype=str)})
    ids = id_rules._fresh_ids(group.set_index("cluster")["min_key"], set())
    return pd.DataFrame({"cluster": ids.index.astype(str), "fixed": ids.to_numpy()})


def _bucket(record_map: Any, n_children: int, n_buckets: int) -> Any:
    """record_key, child_id, bucket: child_id ranges (boundaries from a sample of the ids), so
    bucket order is child_id order."""
    children = record_map.select("child_id").distinct()
    fraction = min(1.0, 200.0 * n_buckets / max(n_children, 1))
    sample = sorted(r[0] for r in children.sample(False, fraction, seed=11).collect())
    if len(sample) < n_buckets:
        sample = sorted(r[0] for r in children.collect())
    cuts = [sample[(i * len(sample)) // n_buckets] for i in range(1, n_buckets)]
    bounds = np.array(sorted(set(cuts)), dtype=object)

    def assign(batches):
        for batch in batches:
            position = np.searchsorted(bounds, batch["child_id"].to_numpy(dtype=object), side="right")
            yield batch.assign(bucket=position.astype("int32"))

    return record_map.mapInPandas(assign, "record_key string, child_id string, bucket int")


def _shuffle(tables: dict[str, Any], bucketed: Any, pairs: Any, folder: str) -> bool:
    """Write every staged table (rows with child_id) and the within-child pairs, in ONE Spark
    job, as Parquet partitioned by bucket and table (``folder/bucket=B/tbl=NAME``; the tables
    share no column name with different types, so one wide union holds them all). Returns
    whether a pairs file exists."""
    from functools import reduce

    from pyspark.sql import functions as F

    frames = [frame.drop("_rank").join(bucketed, "record_key").withColumn("tbl", F.lit(name))
              for name, frame in tables.items()]
    if pairs is not None:
        left = bucketed.select(F.col("record_key").alias("record_key_l"), F.col("child_id").alias("c_l"), "bucket")
        right = bucketed.select(F.col("record_key").alias("record_key_r"), F.col("child_id").alias("c_r"))
        frames.append(pairs.join(left, "record_key_l").join(right, "record_key_r")
                      .where(F.col("c_l") == F.col("c_r"))
                      .select("record_key_l", "record_key_r", "match_weight", "match_probability", "_pos",
                              "bucket", F.lit("pairs").alias("tbl")))
    union = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
    union.repartition("bucket").write.mode("overwrite").partitionBy("bucket", "tbl").parquet(folder)
    return pairs is not None


# ---------------------------------------------------------------- one bucket (a Spark task)


def _read_bucket(folder: str, bucket: int, name: str, schema: pa.Schema) -> pa.Table:
    """Rows of table ``name`` in one bucket written by :func:`_shuffle`, cast to ``schema``
    (empty if none)."""
    fs, inner = parts.filesystem(f"{folder}/bucket={bucket}/tbl={name}")
    from pyarrow import fs as pafs

    if fs.get_file_info(inner).type != pafs.FileType.Directory:
        return schema.empty_table()
    # the files hold the union of every table's columns: read only this table's
    return pq.read_table(inner, columns=schema.names, filesystem=fs).select(schema.names).cast(schema)


def _staged_frame(job: _Job, name: str, bucket: int) -> pd.DataFrame:
    """One bucket's rows of a staged table, in staged order, typed as ``schema.read_table`` reads them."""
    schema = arrow_schema(name)
    extra = [pa.field("_staged_file", pa.string()), pa.field("_staged_row", pa.int64()),
             pa.field("_dir", pa.int32()), pa.field("child_id", pa.string())]
    full = pa.schema([pa.field(f.name, _parquet_type(f.type)) for f in schema] + extra)
    table = _read_bucket(job.shuffled, bucket, name, full)
    table = table.sort_by([("_dir", "ascending"), ("_staged_row", "ascending")])
    # canonical types and nullability, as pyarrow reads the staged file (timestamps come back
    # from Parquet in ms: the pandas frame must be the one the embedded reader makes)
    canonical = pa.schema([f.with_type(_parquet_type(f.type)) for f in schema] + extra)
    frame = pa.Table.from_arrays(table.columns, schema=canonical).to_pandas()
    return frame.drop(columns=["_dir"])


def _parquet_type(kind: pa.DataType) -> pa.DataType:
    """The Arrow type pyarrow reads back from Parquet for ``kind`` (Parquet has no seconds unit)."""
    if pa.types.is_timestamp(kind) and kind.unit == "s":
        return pa.timestamp("ms", tz=kind.tz)
    return kind


def _run_bucket(bucket: int, job: _Job) -> dict[str, Any]:
    """:func:`_build_bucket`, with an input error (e.g. conflicting extracts of a record) sent
    back to the driver as data, so that it is raised there as the embedded engine raises it
    instead of failing the Spark task with a traceback."""
    try:
        return _build_bucket(bucket, job)
    except StairsLinkError as exc:
        return {"error": {"type": type(exc).__name__, "message": exc.message, "reason": exc.reason,
                          "file": exc.file, "row": exc.row, "column": exc.column, "fix": exc.fix}}


def _raise_bucket_error(stats: list[dict[str, Any]]) -> None:
    """Raise the first input error a bucket reported (see :func:`_run_bucket`)."""
    failed = [s["error"] for s in stats if "error" in s]
    if failed:
        info = dict(failed[0])
        kind = getattr(errors, info.pop("type"), errors.StairsLinkError)
        raise kind(info.pop("message"), **info)


def _build_bucket(bucket: int, job: _Job) -> dict[str, Any]:
    """Build the children of one bucket and write their part of every per-child output."""
    frames = {name: _staged_frame(job, name, bucket) for name in STAGED_TABLES}
    dropped = {}
    person, dropped["person"] = dedupe_staged("person", frames["person"])
    if person.empty:
        return {"n_children": 0, "n_records": 0, "n_events": {}, "n_stays": 0, "n_transitions": 0,
                "kinds": {}, "dropped": dropped, "stay_rules": {}, "extracts": {}}
    events = {}
    for name in EVENT_TABLES:
        kept, dropped[name] = dedupe_staged(name, frames[name].drop(columns=["child_id"]))
        events[name] = kept
    pairs = None
    if job.has_pairs:
        schema = pa.schema([("record_key_l", pa.string()), ("record_key_r", pa.string()),
                            ("match_weight", pa.float64()), ("match_probability", pa.float64()),
                            ("_pos", pa.int64())])
        table = _read_bucket(job.shuffled, bucket, "pairs", schema).sort_by("_pos")
        pairs = table.drop_columns(["_pos"]).to_pandas()
    tables = assemble_children(person, events, pairs, job.rules, fields=list(job.fields))
    name = parts.part_name(bucket)
    for output, data in tables.outputs().items():
        parts.write_part(data, f"{job.staging}/{output}", name)
    if job.history:
        ids = tables.children.column("child_id").to_pylist()
        history = pd.DataFrame({"child_id": ids, "event": "created", "previous_child_ids": [[] for _ in ids],
                                "run": np.ones(len(ids), dtype="int32"), "reason": "first_run"})
        parts.write_part(_history_arrow(history), f"{job.staging}/id_history.parquet", name)
    return {"n_children": tables.children.num_rows, "n_records": len(person),
            "n_events": {t: d.num_rows for t, d in tables.events.items()}, "n_stays": tables.stays.num_rows,
            "n_transitions": tables.transitions.num_rows, "kinds": tables.transition_kinds, "dropped": dropped,
            "stay_rules": tables.stay_rules, "extracts": tables.extracts}


# ---------------------------------------------------------------- publishing


def _publish_one(staging: str, name: str, out: str) -> None:
    found = parts.list_parts(f"{staging}/{name}")
    fs, inner = parts.filesystem(found[0])
    schema = pq.read_schema(inner, filesystem=fs)
    parts.publish(found, _join(out, name), schema)


def _publish(stats: list[dict[str, Any]], staging: str, out: str) -> list[str]:
    """Publish the per-child outputs in bucket order; returns their names (embedded order)."""
    if not any(s["n_children"] for s in stats):
        raise IntegrationError("the staged directories hold no person records", reason="no_records",
                               fix="pass the directories written by `stairs-link adapt`")
    names = [EVENT_OUTPUTS[t][0] for t in EVENT_TABLES] + ["children.parquet", "stays.parquet", "transitions.parquet"]
    for name in names:
        _publish_one(staging, name, out)
    if parts.list_parts(f"{staging}/id_history.parquet"):
        _publish_one(staging, "id_history.parquet", out)
    return names


def _write_record_map(record_map: Any, staging: str, out: str) -> None:
    """record_map.parquet sorted by record_key: range-partitioned Spark tasks write parts in order."""
    folder = f"{staging}/record_map.parquet"

    def write(batches):
        from pyspark import TaskContext

        partition = TaskContext.get().partitionId()
        for index, batch in enumerate(batches):
            table = pa.Table.from_pandas(batch[["record_key", "child_id"]], preserve_index=False)
            parts.write_part(table, folder, parts.part_name(partition, index))
            yield pd.DataFrame({"n": [len(batch)]})

    record_map.orderBy("record_key").mapInPandas(write, "n long").agg({"n": "sum"}).collect()
    _publish_one(staging, "record_map.parquet", out)


def _copy_linkage(linked: str, out: str) -> list[str]:
    """Copy the linkage outputs the report needs into OUT/linkage (files or datasets)."""
    from pyarrow import fs as pafs

    files = []
    out_fs, out_inner = parts.filesystem(_join(out, "linkage"))
    out_fs.create_dir(out_inner, recursive=True)
    for name in LINKAGE_FILES:
        source = _join(linked, name)
        src_fs, src_inner = parts.filesystem(source)
        target = f"{out_inner}/{name}"
        info = out_fs.get_file_info(target)
        if info.type == pafs.FileType.Directory:
            out_fs.delete_dir(target)
        if src_fs.get_file_info(src_inner).type != pafs.FileType.NotFound:
            pafs.copy_files(src_inner, target, source_filesystem=src_fs, destination_filesystem=out_fs)
            files.append(f"linkage/{name}")
        elif info.type == pafs.FileType.File:
            out_fs.delete_file(target)  # left by an earlier build into the same directory
    return files
