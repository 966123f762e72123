"""``link`` on Spark: the embedded engine's model, configuration and results, at cluster scale.

Stage by stage (compare ``stairs_link.linkage.pipeline.link_table``):

1. records get a dense index in input order (the embedded engine's row positions);
2. blocking keys are computed per partition by the embedded ``Features`` (``keys.py``); each
   rule's candidate pairs come from a Spark equi-join on its key; a pair found by an earlier
   rule is dropped by comparing the earlier rules' keys (as the embedded engine does);
3. comparison levels come from the embedded kernels run on batches of pairs (mapInPandas);
4. EM: only the (pattern, rule mask) counts reach the driver, where the embedded ``fit_m`` and
   ``estimate_prior`` run on them; u comes from the SAME random pairs as the embedded engine
   (``pipeline._random_pairs`` with the configured seed), compared in Spark;
5. scoring, deterministic pass, conflicts and decisions run per batch (``kernels.score_batches``);
6. clustering: connected components of accepted edges by min-label propagation in Spark, then
   the embedded constrained union-find per bucket of components (applyInPandas); cluster_ids
   are numbered by each cluster's smallest record key, as ``pipeline._clusters_frame`` does.

Nothing proportional to the number of records or pairs is collected to the driver except the
review sheet (pairs in the uncertainty band) and the u sample's pattern counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from stairs_link.engine.spark.graph import connected_components, with_row_index
from stairs_link.engine.spark.kernels import PAIR_ORDER, cluster_bucket, compare_batches, score_batches
from stairs_link.engine.spark.keys import (
    MINHASH_MISSING_VALUE,
    SEP,
    SET_SEP,
    minhash_columns,
    part_specs,
    partition_bit_counts,
    record_keys,
    record_keys_schema,
)
from stairs_link.engine.spark.session import spark_session
from stairs_link.errors import LinkageError
from stairs_link.io.store import is_url, write_text
from stairs_link.linkage import shared
from stairs_link.linkage.blocking import BlockingPlan
from stairs_link.linkage.bloom_comparisons import check_config_fits, pseudonymisation_of
from stairs_link.linkage.config import LinkageConfig
from stairs_link.linkage.model import FSModel, estimate_u, pattern_base, unpack
from stairs_link.linkage.pipeline import LINK_FILES, LINKED_DATA, _random_pairs, _review, load_model
from stairs_link.linkage.review import read_decisions, unsure_pairs
from stairs_link.schema.io import check_completion
from stairs_link.schema.outputs import COMPLETE_FORMAT, COMPLETE_NAME, output_unit
from stairs_link.schema.tables import columns_of

# pyspark is imported inside functions: optional and slow to import (engine/spark/__init__.py)


@dataclass
class SparkLinkOutput:
    """Result of a Spark linkage run: Spark DataFrames for the large outputs."""

    clusters: Any  # Spark DataFrame: record_key, cluster_id, cluster_size (in input order)
    pairs: Any  # Spark DataFrame: the embedded pairs.parquet columns, sorted as it is
    model: dict[str, Any]
    summary: dict[str, Any]
    review: pd.DataFrame
    explain: str = ""
    cached: list[Any] = field(default_factory=list)  # DataFrames this run persisted

    def release(self) -> None:
        """Unpersist what the run cached, once its outputs are written: a long-lived session
        (a notebook, a test session) would otherwise keep every run's records and pairs.
        ``clusters`` and ``pairs`` stay usable (recomputed if read again)."""
        for frame in self.cached:
            frame.unpersist()
        self.cached.clear()


def read_person_spark(spark: Any, staged_dirs: list[str | Path]) -> Any:
    """person.parquet of every staged directory (local paths or URLs Spark can read),
    concatenated in the given order, as one Spark DataFrame."""
    if not staged_dirs:
        raise LinkageError("no staged directories given", reason="no_input",
                           fix="pass one or more directories written by `stairs-link adapt`")
    frames = []
    for d in staged_dirs:
        path = str(d).rstrip("/") + "/person.parquet"
        if not is_url(path) and not Path(path).exists():
            raise LinkageError("table 'person' not found", reason="missing_table", file=path,
                               fix="run `stairs-link adapt` first, or point at the directory that holds it")
        if not is_url(path):  # its manifest must be a valid completion record (as read_table checks)
            check_completion(Path(path), pq.read_metadata(path).num_rows)
        frames.append(spark.read.parquet(path))
    person = frames[0]
    for f in frames[1:]:
        person = person.unionByName(f, allowMissingColumns=True)
    return person


def _check_person(person: Any, config: LinkageConfig) -> None:
    """Same checks and messages as the embedded engine: key present, not null, unique."""
    from pyspark.sql import functions as F

    key = config.record_key
    if key not in person.columns:
        raise shared.missing_record_key_error(key)
    null = person.where(F.col(key).isNull()).agg(F.min("idx")).first()[0]
    if null is not None:
        raise shared.null_record_key_error(key, int(null) + 1)
    dup = (person.groupBy(key).agg(F.count("*").alias("c"), F.min("idx").alias("first"))
           .where("c > 1"))
    if dup.limit(1).count():
        stats = dup.agg(F.sum(F.col("c") - 1).alias("extra")).first()
        later = (person.join(dup, key).where(F.col("idx") > F.col("first"))
                 .orderBy("idx").select("idx", key).first())
        raise shared.duplicate_record_key_error(key, later[1], int(stats["extra"]), int(later[0]) + 1)


def _replacements(keys: Any, specs: list, first_row: Any) -> dict[str, str]:
    """What a missing key part counts as when ordering groups (see ``keys.py``)."""
    from pyspark.sql import functions as F

    aggs = []
    for s in specs:
        if s.kind == "str":
            aggs.append(F.min(F.when(F.col(s.name).isNotNull(), F.struct("idx", s.name))).alias(s.name))
        elif s.kind == "valid":
            c = f"c{s.rule}_{s.part}"
            aggs.append(F.min(F.when(F.col(c).isNotNull(), F.struct("idx", c))).alias(s.name))
        elif s.kind == "set":
            c = f"u{s.rule}_{s.part}_0"
            aggs.append(F.min(F.when(F.col(c).isNotNull(), F.struct("idx", c))).alias(s.name))
            for t in range(1, len(s.columns)):
                c = f"u{s.rule}_{s.part}_{t}"
                aggs.append(F.min(F.when(F.col(c).isNotNull(), F.struct("idx", c))).alias(f"{s.name}_{t}"))
    firsts = keys.agg(*aggs).first().asDict() if aggs else {}
    reps: dict[str, str] = {}
    for s in specs:
        if s.kind == "date":
            reps[s.name] = "0"
        elif s.kind == "minhash":
            reps[s.name] = MINHASH_MISSING_VALUE
        elif s.kind in ("str", "valid"):
            hit = firsts.get(s.name)
            reps[s.name] = "" if hit is None else hit[1]
        else:
            # shared code 0 = the first value of the first column that has any value
            s0 = ""
            for t in range(len(s.columns)):
                hit = firsts.get(s.name if t == 0 else f"{s.name}_{t}")
                if hit is not None:
                    s0 = hit[1]
                    break
            own = [first_row[f"u{s.rule}_{s.part}_{t}"] for t in range(len(s.columns))]
            reps[s.name] = SET_SEP.join(sorted(s0 if v is None else v for v in own))
    return reps


def _bit_totals(person: Any, specs: list) -> dict[str, tuple[np.ndarray, int]]:
    """Whole-table bit counts of every Bloom column a MinHash key is taken from: summed from
    per-partition counts (a few rows per partition reach the driver), so every partition
    leaves out the same common bits as the embedded engine does on the whole table."""
    columns = minhash_columns(specs)
    if not columns:
        return {}

    def run(batches):
        for pdf in batches:
            yield partition_bit_counts(pdf, columns)

    rows = person.select(*columns).mapInPandas(run, "column string, records long, counts array<long>").collect()
    totals: dict[str, tuple[np.ndarray, int]] = {}
    for row in rows:
        counts, records = totals.get(row["column"], (0, 0))
        totals[row["column"]] = (np.asarray(row["counts"], np.int64) + counts, records + int(row["records"]))
    return totals


def _blocking_table(spark: Any, person: Any, config: LinkageConfig, date_columns: set[str]) -> tuple[Any, Any]:
    """(wide, long) blocking tables. wide: per record idx, each rule's key k<r> (null when a
    part is missing), when_missing flags miss<r>, tf values tfv<k> and cannot-link identifier
    values idv<k>. long: one row per (record, rule with a key): idx, r, key, g (the group's
    position in the embedded engine's order), wm (rule has when_missing), m (record lacks it)."""
    from pyspark.sql import functions as F

    specs = part_specs(config, date_columns)
    schema = record_keys_schema(config, specs)
    cfg = config
    totals = _bit_totals(person, specs)

    def run(batches):
        for pdf in batches:
            yield record_keys(pdf, cfg, specs, totals)

    keys = person.mapInPandas(run, schema).persist()
    first = keys.where("idx = 0").first()
    reps = _replacements(keys, specs, first) if first is not None else {}
    cols = [F.col("idx")]
    entries = []
    for r, rule in enumerate(config.blocking):
        parts = [s for s in specs if s.rule == r]
        present = F.lit(True)
        for s in parts:
            present = present & F.col(s.name).isNotNull()
        cols.append(F.when(present, F.concat_ws(SEP, *[F.col(s.name) for s in parts])).alias(f"k{r}"))
        pseudo = F.concat_ws(SEP, *[F.coalesce(F.col(s.name), F.lit(reps.get(s.name, ""))) for s in parts])
        miss = F.col(f"miss{r}") if rule.when_missing is not None else F.lit(False)
        entries.append(F.struct(F.lit(r).cast("long").alias("r"), F.col(f"k{r}").alias("key"),
                                pseudo.alias("pseudo"), F.lit(rule.when_missing is not None).alias("wm"),
                                miss.alias("m")))
    extra = [c for c in keys.columns if c.startswith(("miss", "tfv", "idv"))]
    base = keys.select(*cols, *extra, F.array(*entries).alias("entries")).localCheckpoint()
    keys.unpersist()
    wide = base.drop("entries")
    flat = base.select("idx", F.explode("entries").alias("e")).select("idx", "e.*")
    order = flat.groupBy("r", F.col("pseudo").alias("key")).agg(F.min("idx").alias("g"))
    long = (flat.where(F.col("key").isNotNull()).drop("pseudo").join(order, ["r", "key"])
            .localCheckpoint())
    return wide, long


def _plan(long: Any, config: LinkageConfig) -> BlockingPlan:
    """Pairs per rule before de-duplication, from group sizes (as ``blocking.plan_blocking``)."""
    from pyspark.sql import functions as F

    groups = long.groupBy("r", "key").agg(F.count("*").cast("long").alias("s"),
                                          F.sum(F.col("m").cast("long")).alias("m"))
    rows = groups.groupBy("r").agg(
        F.sum(F.col("s") * (F.col("s") - 1) / 2).cast("long").alias("all"),
        F.sum(F.col("m") * (F.col("s") - F.col("m")) + F.col("m") * (F.col("m") - 1) / 2).cast("long").alias("miss"),
        F.max("s").alias("largest")).collect()
    by_rule = {int(row["r"]): row for row in rows}
    counts, largest = {}, {}
    for r, rule in enumerate(config.blocking):
        row = by_rule.get(r)
        counts[rule.name] = 0 if row is None else int(row["all"] if rule.when_missing is None else row["miss"])
        largest[rule.name] = 0 if row is None else int(row["largest"])
    return BlockingPlan(config.blocking, [], counts, largest, [])


def _rule_mask(config: LinkageConfig) -> Any:
    """Spark expression: bit r set where the l/r records agree on rule r's key."""
    from pyspark.sql import functions as F

    mask = F.lit(0).cast("long")
    for r, rule in enumerate(config.blocking):
        agree = F.coalesce(F.col(f"l.k{r}") == F.col(f"r.k{r}"), F.lit(False))
        if rule.when_missing is not None:
            agree = agree & (F.col(f"l.miss{r}") | F.col(f"r.miss{r}"))
        mask = mask + F.when(agree, F.lit(1 << r)).otherwise(F.lit(0))
    return mask


def _candidate_pairs(wide: Any, long: Any, config: LinkageConfig) -> Any:
    """(i, j, mask, o_r, o_g, o_x, o_y) for every candidate pair, each once (first rule),
    from one equi-join of the long key table on (rule, key)."""
    from pyspark.sql import functions as F

    left = long.select(F.col("idx").alias("i"), "r", "key", "g", "wm", F.col("m").alias("mi"))
    right = long.select(F.col("idx").alias("j"), "r", "key", F.col("m").alias("mj"))
    pairs = (left.join(right, ["r", "key"]).where(F.col("i") < F.col("j"))
             .where(~F.col("wm") | F.col("mi") | F.col("mj")))
    wm, mi = F.col("wm"), F.col("mi")
    # embedded order: regular rules group by group (key code order), then (i, j); when_missing
    # rules by the record lacking the column, then its partner
    pairs = pairs.select(
        "i", "j", F.col("r").alias("o_r"),
        F.when(wm, F.when(mi, F.col("i")).otherwise(F.col("j"))).otherwise(F.col("g")).alias("o_g"),
        F.when(wm, F.when(mi, F.col("j")).otherwise(F.col("i"))).otherwise(F.col("i")).alias("o_x"),
        F.when(wm, F.lit(0).cast("long")).otherwise(F.col("j")).alias("o_y"))
    mask_cols = [c for c in wide.columns if c.startswith(("k", "miss"))]
    ll = wide.select("idx", *mask_cols).alias("l")
    rr = wide.select("idx", *mask_cols).alias("r")
    joined = (pairs.join(ll, F.col("i") == F.col("l.idx")).join(rr, F.col("j") == F.col("r.idx"))
              .withColumn("mask", _rule_mask(config)))
    earlier = F.expr("mask & (shiftleft(CAST(1 AS BIGINT), CAST(o_r AS INT)) - 1)")
    return joined.where(earlier == 0).select("i", "j", "mask", *PAIR_ORDER)


def _with_records(pairs: Any, records: Any, columns: list[str], left_extra: list[str]) -> Any:
    from pyspark.sql import functions as F

    left = records.select(F.col("idx").alias("i"), *[F.col(c).alias(f"l_{c}") for c in columns],
                          *[F.col(c) for c in left_extra])
    right = records.select(F.col("idx").alias("j"), *[F.col(c).alias(f"r_{c}") for c in columns])
    return pairs.join(left, "i").join(right, "j")


def _compare(pairs: Any, records: Any, config: LinkageConfig, columns: list[str], carry: list[str],
             carry_types: dict[str, str], left_extra: list[str]) -> Any:
    joined = _with_records(pairs, records, columns, left_extra)
    schema = ", ".join(f"{c} {carry_types[c]}" for c in carry) + ", code long"
    cfg = config

    def run(batches):
        yield from compare_batches(batches, cfg, columns, carry)

    return joined.mapInPandas(run, schema)


def _decision_pairs_spark(spark: Any, decisions: pd.DataFrame | None, person: Any, config: LinkageConfig
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """As ``pipeline._decision_pairs``: decisions as (i, j, is_match), i < j, plus the count of
    unknown keys; the record-key lookup is a Spark join (decisions are few)."""
    if decisions is None or len(decisions) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=bool), 0
    from pyspark.sql import functions as F

    wanted = pd.DataFrame({"k": pd.unique(pd.concat([decisions["record_key_l"].astype(str),
                                                      decisions["record_key_r"].astype(str)]))})
    found = (person.select(F.col(config.record_key).alias("k"), "idx")
             .join(F.broadcast(spark.createDataFrame(wanted)), "k").toPandas())
    lookup = pd.Series(found["idx"].to_numpy(np.int64), index=found["k"].to_numpy())
    a = lookup.reindex(decisions["record_key_l"].astype(str)).fillna(-1).to_numpy(np.int64)
    b = lookup.reindex(decisions["record_key_r"].astype(str)).fillna(-1).to_numpy(np.int64)
    return shared.decision_pairs(a, b, decisions, np.int64)


def spark_link_table(spark: Any, person: Any, config: LinkageConfig | None = None, *,
                     model: dict | None = None, decisions: pd.DataFrame | None = None,
                     progress: bool = False) -> SparkLinkOutput:
    """Link a person table given as a Spark DataFrame (row order = record order). Same
    arguments and results as :func:`stairs_link.linkage.link_table`."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    clock = shared.Clock(progress, label="link (spark)")
    fs: FSModel | None = None
    if model is not None:
        fs, config = FSModel.from_dict(model)
    config = config or LinkageConfig()
    comps = config.comparisons
    base = pattern_base(comps)
    used = {col for c in comps for col in c.columns()} | {col for r in config.blocking for col in r.columns()}
    absent = sorted(c.name for c in columns_of("person") if c.name in used and c.name not in person.columns)
    for name in absent:  # a canonical column absent from the table is all-null (schema contract)
        person = person.withColumn(name, F.lit(None).cast("string"))
    missing_cols = sorted(c for c in used if c not in person.columns)
    if missing_cols:
        raise LinkageError(f"column '{missing_cols[0]}' named in the linkage configuration is not in the person table",
                           reason="missing_column", column=missing_cols[0],
                           fix="add the column to the input or remove it from the configuration")
    if config.record_key not in person.columns:
        raise shared.missing_record_key_error(config.record_key)
    keep_cols = [config.record_key, *sorted(used)]
    if config.cannot_link_same_source:
        keep_cols += [c for c in config.source_columns if c not in keep_cols]
    records = with_row_index(person.select(*keep_cols)).persist()
    n = records.count()
    _check_person(records, config)
    date_columns = {f.name for f in records.schema.fields if isinstance(f.dataType, (T.DateType, T.TimestampType))}
    columns = sorted(used)
    table, long = _blocking_table(spark, records, config, date_columns)
    plan = _plan(long, config)
    plan.check(config.max_pairs)
    clock.lap("blocking plan")

    # term frequencies: share of records with each value (pipeline._tf_tables), on the left record
    tf_ks = [k for k, c in enumerate(comps) if c.term_frequency]
    recs = records
    for k in tf_ks:
        freq = (table.where(F.col(f"tfv{k}").isNotNull()).groupBy(f"tfv{k}").agg(F.count("*").alias("cnt")))
        total = float(max(table.where(F.col(f"tfv{k}").isNotNull()).count(), 1))
        freq = freq.select(f"tfv{k}", (F.col("cnt").cast("double") / F.lit(total)).alias(f"tff{k}"))
        recs = recs.join(table.select("idx", f"tfv{k}").join(freq, f"tfv{k}", "left").select("idx", f"tff{k}"),
                         "idx", "left")
    recs = recs.persist()
    tf_cols = [f"tff{k}" for k in tf_ks]

    di, dj, dmatch, unknown_decisions = _decision_pairs_spark(spark, decisions, records, config)
    cand = _candidate_pairs(table, long, config)
    carry = ["i", "j", "mask", *PAIR_ORDER, *tf_cols]
    types = {c: "long" for c in ["i", "j", "mask", *PAIR_ORDER]} | {c: "double" for c in tf_cols}
    if len(di):  # decided pairs no blocking rule finds: compare them too (found_by "decision")
        dec = spark.createDataFrame(pd.DataFrame({"i": di, "j": dj, "o_g": np.arange(len(di), dtype=np.int64)}))
        m_cols = [c for c in table.columns if c.startswith(("k", "miss"))]
        dec = (dec.join(table.select("idx", *m_cols).alias("l"), F.col("i") == F.col("l.idx"))
               .join(table.select("idx", *m_cols).alias("r"), F.col("j") == F.col("r.idx"))
               .withColumn("mask", _rule_mask(config)).where("mask = 0")
               .select("i", "j", "mask", F.lit(len(config.blocking)).cast("long").alias("o_r"), "o_g",
                       F.lit(0).cast("long").alias("o_x"), F.lit(0).cast("long").alias("o_y")))
        cand = cand.unionByName(dec)
    compared = _compare(cand, recs, config, columns, carry, types, tf_cols).persist()
    # EM sees blocked pairs only (decided extra pairs have o_r = number of rules), as embedded
    counted = (compared.groupBy("code", "mask", (F.col("o_r") < len(config.blocking)).alias("blocked"))
               .agg(F.count("*").alias("n")).toPandas())
    n_pairs = int(counted["n"].sum())
    patterns = counted[counted["blocked"]].drop(columns="blocked")
    patterns = patterns.sort_values(["code", "mask"], ignore_index=True)  # as the embedded groupby
    patterns = patterns.astype({"code": np.int64, "mask": np.uint32, "n": np.int64})
    clock.lap("blocking and comparison")

    total_pairs = n * (n - 1) / 2
    if fs is None:
        ri, rj = _random_pairs(n, config.u_sample_pairs, config.seed)
        sample = spark.createDataFrame(pd.DataFrame({"i": ri.astype(np.int64), "j": rj.astype(np.int64),
                                                     "mask": np.zeros(len(ri), np.int64)}))
        for col in PAIR_ORDER:
            sample = sample.withColumn(col, F.lit(0).cast("long"))
        u_codes = (_compare(sample, records, config, columns, ["i", "j", "mask", *PAIR_ORDER],
                            {c: "long" for c in ["i", "j", "mask", *PAIR_ORDER]}, [])
                   .groupBy("code").agg(F.count("*").alias("n")).toPandas())
        # level counts are sums of integers: expanding the counts gives estimate_u its exact input
        gamma_u = np.repeat(unpack(u_codes["code"].to_numpy(np.int64), len(comps), base),
                            u_codes["n"].to_numpy(np.int64), axis=0)
        u = estimate_u(gamma_u, comps)
        fs = shared.fit_model(patterns, config, u, base, total_pairs,
                              {"u_sample_pairs": int(len(ri)), "records": n, "blocked_pairs": n_pairs})
        clock.lap("training")

    dec_ids = pd.Series(dmatch, index=di.astype(np.int64) * n + dj) if len(di) else pd.Series(dtype=bool)
    det_ks = [k for k, c in enumerate(comps) if c.name in config.deterministic_identifiers]
    score_schema = ("i long, j long, " + ", ".join(f"{c} long" for c in PAIR_ORDER)
                    + ", match_weight double, match_probability double, deterministic boolean, "
                    "identifier_conflict boolean, decision string, linked boolean, keep boolean, "
                    "order_weight double, forced boolean, "
                    + "".join(f"sus{k} boolean, " for k in det_ks)
                    + ", ".join(f"gamma_{c.name} byte, bf_{c.name} float" for c in comps))
    model_fs, cfg = fs, config

    def run_score(batches):
        yield from score_batches(batches, model_fs, cfg, n, tf_ks, dec_ids)

    scored = compared.mapInPandas(run_score, score_schema).persist()
    counts_row = scored.agg(F.sum(F.col("deterministic").cast("long")),
                            F.sum(F.col("identifier_conflict").cast("long"))).first()
    counters = {"deterministic_links": int(counts_row[0] or 0), "deterministic_conflicts": int(counts_row[1] or 0)}
    compared.unpersist()  # scored (kept or accepted pairs only) is materialised: free the memory
    clock.lap("scoring")

    # ---- clustering: distributed components, embedded constrained union-find per bucket ----
    edges = scored.where("linked").select("i", "j", "order_weight", "forced", *PAIR_ORDER).persist()
    comp = connected_components(edges).persist()
    ident_ks = [k for k, c in enumerate(comps) if c.name in config.cannot_link_identifiers]
    node = comp.withColumnRenamed("v", "idx").join(table.select("idx", *[f"idv{k}" for k in ident_ks]), "idx")
    for k in ident_ks:
        if k in det_ks:  # records of identifier-conflict pairs do not impose that identifier
            sus = (scored.where(f"sus{k}").select(F.col("i").alias("idx"))
                   .union(scored.where(f"sus{k}").select(F.col("j").alias("idx"))).distinct()
                   .withColumn(f"s{k}", F.lit(True)))
            node = (node.join(sus, "idx", "left")
                    .withColumn(f"idv{k}", F.when(F.col(f"s{k}").isNull(), F.col(f"idv{k}"))).drop(f"s{k}"))
    if config.cannot_link_same_source:
        node = node.join(records.select("idx", *config.source_columns), "idx")
    buckets = int(spark.conf.get("spark.sql.shuffle.partitions"))
    node = node.withColumn("bucket", F.col("c") % buckets).localCheckpoint()
    bedges = (edges.join(comp.select(F.col("v").alias("i"), "c"), "i")
              .withColumn("bucket", F.col("c") % buckets).localCheckpoint())
    forbidden = pd.DataFrame({"i": di[~dmatch], "j": dj[~dmatch]}) if len(di) else pd.DataFrame({"i": [], "j": []})

    def run_cluster(recs_pdf: pd.DataFrame, edges_pdf: pd.DataFrame) -> pd.DataFrame:
        return cluster_bucket(recs_pdf, edges_pdf, cfg, ident_ks, forbidden)

    clustered = (node.groupBy("bucket").cogroup(bedges.groupBy("bucket"))
                 .applyInPandas(run_cluster, "idx long, ckey long, components long, conflicted long, refused long")
                 .persist())
    stats = clustered.where("idx = -1").agg(F.sum("components"), F.sum("conflicted"), F.sum("refused")).first()
    on_edges = clustered.where("idx >= 0").count()
    cstats = {"components": int(stats[0] or 0) + (n - on_edges),
              "conflicted_components": int(stats[1] or 0), "edges_refused": int(stats[2] or 0)}
    labelled = (records.select("idx", F.col(config.record_key).alias("record_key"))
                .join(clustered.where("idx >= 0").select("idx", "ckey"), "idx", "left")
                .withColumn("ckey", F.coalesce("ckey", "idx")))
    sizes = labelled.groupBy("ckey").agg(F.min("record_key").alias("first"),
                                         F.count("*").cast("int").alias("cluster_size"))
    ranked = with_row_index(sizes.orderBy("first"), "rank")
    clusters = (labelled.join(ranked.select("ckey", "rank", "cluster_size"), "ckey")
                .withColumn("cluster_id", F.concat(F.lit("child-"), F.lpad(F.col("rank").cast("string"), 7, "0")))
                .orderBy("idx").select("record_key", "cluster_id", "cluster_size").persist())
    children = ranked.count()
    clock.lap("clustering")

    names = [r.name for r in config.blocking] + ["decision"]
    name_of = F.element_at(F.array(*[F.lit(x) for x in names]), (F.col("o_r") + 1).cast("int"))
    keys = records.select("idx", F.col(config.record_key).alias("key"))
    kept = scored.where("keep")
    pairs = (kept.join(keys.withColumnRenamed("idx", "i").withColumnRenamed("key", "record_key_l"), "i")
             .join(keys.withColumnRenamed("idx", "j").withColumnRenamed("key", "record_key_r"), "j")
             .withColumn("found_by", name_of)
             .orderBy(F.desc("match_weight"), *PAIR_ORDER)
             .select("record_key_l", "record_key_r", "match_weight", "match_probability", "found_by",
                     "deterministic", "identifier_conflict", "decision", "linked",
                     *[x for c in comps for x in (f"gamma_{c.name}", f"bf_{c.name}")]))
    review = _review_spark(kept, records, config, decisions)
    summary = _summary(kept, clusters, ranked, plan, n_pairs, counters, fs, clock, cstats, config, len(di),
                       unknown_decisions, n, children)
    decided = kept.where(F.col("decision").isNotNull()).select("match_probability", "decision").toPandas()
    shared.add_decision_figures(summary, decisions, decided["match_probability"].to_numpy(),
                                (decided["decision"] == "match").to_numpy(), config.link_threshold)
    summary["absent_columns_treated_as_empty"] = absent
    return SparkLinkOutput(clusters, pairs, fs.to_dict(config), summary, review, plan.explain(),
                           cached=[records, recs, scored, edges, comp, clustered, clusters])


def _review_spark(kept: Any, records: Any, config: LinkageConfig, decisions: pd.DataFrame | None = None
                  ) -> pd.DataFrame:
    """The review sheet (pairs in the uncertainty band or with identifier conflicts, without a
    decision): only those pairs and their records reach the driver, then ``pipeline._review``."""
    from pyspark.sql import functions as F

    lo, hi = config.review_band
    p = F.col("match_probability")
    band = (p >= lo) & (p < hi) & ~F.col("deterministic")
    rows = (kept.where((band | F.col("identifier_conflict")) & F.col("decision").isNull())
            .select("i", "j", "match_weight", "match_probability", "deterministic", "identifier_conflict",
                    "decision", *PAIR_ORDER,
                    *[x for c in config.comparisons for x in (f"gamma_{c.name}", f"bf_{c.name}")]).toPandas())
    rows = rows.sort_values(PAIR_ORDER, ignore_index=True)  # embedded row order before its sort
    columns = list(dict.fromkeys(col for c in config.comparisons for col in c.columns()))
    ids = np.unique(np.r_[rows["i"].to_numpy(np.int64), rows["j"].to_numpy(np.int64)])
    if len(ids):
        wanted = records.sparkSession.createDataFrame(pd.DataFrame({"idx": ids}))
        person = records.join(F.broadcast(wanted), "idx").toPandas().sort_values("idx", ignore_index=True)
    else:
        person = pd.DataFrame({"idx": np.zeros(0, np.int64), **{c: [] for c in columns}})
    rows["i"] = np.searchsorted(person["idx"].to_numpy(np.int64), rows["i"].to_numpy(np.int64))
    rows["j"] = np.searchsorted(person["idx"].to_numpy(np.int64), rows["j"].to_numpy(np.int64))
    keys = person[config.record_key].to_numpy() if len(person) else np.zeros(0, object)
    rows.insert(0, "record_key_l", keys[rows["i"].to_numpy()] if len(rows) else pd.Series(dtype=str))
    rows.insert(1, "record_key_r", keys[rows["j"].to_numpy()] if len(rows) else pd.Series(dtype=str))
    return _review(rows, person, config, unsure_pairs(decisions))


def _summary(kept, clusters, ranked, plan, n_pairs, counters, fs, clock, cstats, config, n_decisions,
             unknown_decisions, n, children) -> dict[str, Any]:
    """summary.json with the keys of ``pipeline._summary``, from Spark aggregates."""
    from pyspark.sql import functions as F

    names = [r.name for r in config.blocking] + ["decision"]
    found = {names[int(r["o_r"])]: int(r["n"]) for r in kept.groupBy("o_r").agg(F.count("*").alias("n")).collect()}
    found = dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))
    agg = kept.agg(F.count("*"), F.sum(F.col("linked").cast("long"))).first()
    dist = {int(r["cluster_size"]): int(r["n"]) for r in
            ranked.groupBy("cluster_size").agg(F.count("*").alias("n")).collect()}
    large_df = (clusters.where(F.col("cluster_size") > config.max_cluster_size)
                .select("cluster_id", "cluster_size").distinct())
    large_count = large_df.count()
    large = large_df.orderBy(F.desc("cluster_size"), "cluster_id").limit(100).collect()  # the 100 largest
    return {
        "records": n,
        "children": children,
        "candidate_pairs_by_rule": plan.counts,
        "compared_pairs": n_pairs,
        "kept_pairs": int(agg[0] or 0),
        "kept_pairs_found_by_rule": found,
        "linked_pairs": int(agg[1] or 0),
        "deterministic_links": counters["deterministic_links"],
        "deterministic_conflicts": counters["deterministic_conflicts"],
        "review_pairs": None,
        "decisions": shared.decisions_summary(n_decisions, unknown_decisions),
        "thresholds": shared.thresholds_summary(config),
        "prior_match_probability": fs.prior,
        "clustering": cstats,
        "cluster_size_distribution": {str(k): v for k, v in sorted(dist.items())},
        "large_cluster_count": int(large_count),
        "large_clusters": [{"cluster_id": r["cluster_id"], "size": int(r["cluster_size"])} for r in large],
        "max_cluster_size": config.max_cluster_size,
        "timings_seconds": clock.timings,
        "engine": "spark",
    }


def spark_link(staged_dirs: list[str | Path], out_dir: str | Path, *, master: str | None = None,
               config_path: Path | None = None, model_path: Path | None = None,
               decisions_path: Path | None = None, progress: bool = False,
               config: LinkageConfig | None = None, spark: Any = None) -> SparkLinkOutput:
    """``stairs-link link --engine spark``: read staged person tables with Spark, link, write
    LINKED. Local output: the same files as the embedded engine. Object-store output (a URL):
    clusters.parquet and pairs.parquet as Spark datasets (directories of part files that
    pyarrow, pandas and DuckDB read as one table)."""
    start = time.perf_counter()
    spark = spark or spark_session(master)
    if config is None and config_path:
        config = LinkageConfig.from_yaml(config_path)
    model = None
    if model_path is not None:
        model, _ = load_model(model_path)
        model = shared.model_with_overrides(model, config)
    decisions = read_decisions(decisions_path) if decisions_path else None
    chosen = FSModel.from_dict(model)[1] if model is not None else config
    if chosen is not None:  # a plain configuration on pseudonymised records would link nothing
        check_config_fits(chosen, pseudonymisation_of([Path(d) for d in staged_dirs]) is not None,
                          str(model_path or config_path or "") or None)
    person = read_person_spark(spark, list(staged_dirs))
    result = spark_link_table(spark, person, config, model=model, decisions=decisions, progress=progress)
    out = str(out_dir).rstrip("/")
    if is_url(out):  # an object store has no rename: the completion record is written last instead
        write_spark_outputs(result, out)
        result.release()
        result.summary["timings_seconds"]["total"] = round(time.perf_counter() - start, 3)
        write_text(out + "/summary.json", shared.json_text(result.summary))
        write_text(out + "/" + COMPLETE_NAME, shared.json_text(url_record(out, LINKED_DATA)))
        return result
    # local: one unit like the embedded engine's (staging folder, publishing, complete.json)
    with output_unit(Path(out), "link", owned=LINK_FILES) as unit:
        write_spark_outputs(result, unit.staging)
        result.release()
        result.summary["timings_seconds"]["total"] = round(time.perf_counter() - start, 3)
        # written last, once, so its total includes writing the other outputs
        write_text(unit.path("summary.json"), shared.json_text(result.summary))
    return result


def url_record(out: str, names: tuple[str, ...]) -> dict:
    """complete.json for a URL output (object stores cannot rename, so nothing is staged; the
    record, written last, lists the files with bytes where they are single files)."""
    import datetime as dt

    from stairs_link import __version__
    from stairs_link.io.store import filesystem

    fs, inner = filesystem(out)
    files = {}
    for name in names:
        info = fs.get_file_info(f"{inner}/{name}")
        files[name] = {"file": name, **({"bytes": info.size} if info.type.name == "File" else {"dataset": True})}
    return {"format": COMPLETE_FORMAT, "command": "link", "stairs_link_version": __version__,
            "completed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "files": files}


def write_single_parquet(df: Any, path: Path) -> None:
    """Write a Spark DataFrame as ONE local Parquet file, rows in order (the LINKED contract
    other stages read with pyarrow): one task writes it (coalesce keeps a sorted order)."""
    import shutil

    tmp = path.parent / f".{path.name}.spark-tmp"
    df.coalesce(1).write.mode("overwrite").parquet(str(tmp))
    parts = sorted(tmp.glob("part-*.parquet"))
    if path.is_dir():
        shutil.rmtree(path)
    if parts:
        parts[0].replace(path)
    else:  # an empty result: Spark wrote no part file; write the schema alone
        df.limit(0).toPandas().to_parquet(path, index=False)
    shutil.rmtree(tmp, ignore_errors=True)


def write_spark_outputs(result: SparkLinkOutput, out_dir: str | Path) -> None:
    """clusters.parquet and pairs.parquet written by Spark, row order kept: one file each in a
    local directory (one task writes it), a Spark dataset (directory of part files) for a URL;
    model.json and review.csv by the driver through pyarrow's filesystems (they are small).
    summary.json is the caller's to write, once its figures are final (see spark_link)."""
    out = str(out_dir).rstrip("/")
    result.summary["review_pairs"] = int(len(result.review))
    if is_url(out):
        result.clusters.write.mode("overwrite").parquet(out + "/clusters.parquet")
        result.pairs.write.mode("overwrite").parquet(out + "/pairs.parquet")
    else:
        path = Path(out)
        path.mkdir(parents=True, exist_ok=True)
        write_single_parquet(result.clusters, path / "clusters.parquet")
        write_single_parquet(result.pairs, path / "pairs.parquet")
    write_text(f"{out}/model.json", shared.json_text(result.model))
    write_text(f"{out}/review.csv", "\ufeff" + result.review.to_csv(index=False))  # BOM as the embedded engine


def spark_explain_blocking(staged_dirs: list[str | Path], config: LinkageConfig, *, master: str | None = None,
                           spark: Any = None) -> tuple[int, BlockingPlan]:
    """(records, plan): the pairs each blocking rule would create, counted in Spark from key
    group sizes (no pairs built), as ``stairs-link link --explain-blocking`` prints them."""
    from pyspark.sql import types as T

    spark = spark or spark_session(master)
    person = read_person_spark(spark, list(staged_dirs))
    used = {col for c in config.comparisons for col in c.columns()} | {
        col for r in config.blocking for col in r.columns()}
    from pyspark.sql import functions as F

    for name in sorted(c.name for c in columns_of("person") if c.name in used and c.name not in person.columns):
        person = person.withColumn(name, F.lit(None).cast("string"))
    records = with_row_index(person.select(*sorted(used & set(person.columns))))
    date_columns = {f.name for f in records.schema.fields if isinstance(f.dataType, (T.DateType, T.TimestampType))}
    _, long = _blocking_table(spark, records, config, date_columns)
    return records.count(), _plan(long, config)
