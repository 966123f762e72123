"""The Spark engine gives the embedded engine's results: same clusters and child_ids, same pairs
(levels, weights, probabilities, flags), same model, review sheet and summary counts.

Runs with master local[2] (Java 17 and pyspark only); skipped with a reason when either is
missing. One SparkSession for the whole test session (see conftest.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stairs_link.linkage import LinkageConfig, link_table
from stairs_link.synth import person_records

CONFIG = LinkageConfig(u_sample_pairs=200_000)


@pytest.fixture(scope="module")
def world() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small synthetic world with identifier conflicts planted, so constrained clustering
    has work to do: a second valid NHS number on one record of several multi-record children
    (taken from another child), so their components hold two different valid numbers."""
    person, truth = person_records(150, 11)
    person = person.copy()
    merged = person.merge(truth[["record_key", "true_child_id"]], on="record_key")
    has_nhs = merged[merged["nhs_number"].notna()]
    big = has_nhs.groupby("true_child_id").filter(lambda g: len(g) >= 3)
    children = big["true_child_id"].drop_duplicates().iloc[:6].tolist()
    donors = has_nhs[~has_nhs["true_child_id"].isin(children)].drop_duplicates("true_child_id")
    for child, donor in zip(children, donors["nhs_number"].iloc[:6]):
        row = big.index[big["true_child_id"] == child][0]
        person.loc[row, "nhs_number"] = donor
    return person, truth


@pytest.fixture(scope="module")
def decisions(world) -> pd.DataFrame:
    """A match decision on a pair no blocking rule finds, a non-match on a linked pair, a
    decision naming an unknown record key."""
    person = world[0]
    embedded = link_table(person, CONFIG)
    linked = embedded.pairs[embedded.pairs["linked"] & ~embedded.pairs["deterministic"]].iloc[0]
    keys = person["record_key"].tolist()
    return pd.DataFrame({
        "record_key_l": [keys[0], linked.record_key_l, "nobody:x:1"],
        "record_key_r": [keys[-1], linked.record_key_r, keys[1]],
        "decision": ["match", "non-match", "match"],
    })


def _spark_run(spark, person, tmp_path, decisions=None, model=None):
    """Run the Spark engine end to end: staged person.parquet in, LINKED directory out."""
    from stairs_link.engine.spark.link import spark_link
    from stairs_link.schema import write_staged

    staged = tmp_path / "staged"
    write_staged(staged, {"person": person})
    out = tmp_path / "linked"
    result = None
    if model is not None:
        path = tmp_path / "model.json"
        path.write_text(json.dumps(model), encoding="utf-8")
        result = spark_link([staged], out, model_path=path, spark=spark)
    else:
        dpath = None
        if decisions is not None:
            dpath = tmp_path / "decisions.csv"
            decisions.to_csv(dpath, index=False, encoding="utf-8")
        result = spark_link([staged], out, config=CONFIG, decisions_path=dpath, spark=spark)
    return result, out


def _assert_same_pairs(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for column in a.columns:
        x, y = a[column].reset_index(drop=True), b[column].reset_index(drop=True)
        if column.startswith(("gamma_", "bf_")) or x.dtype.kind in "fiub":
            np.testing.assert_array_equal(x.to_numpy(), y.to_numpy(), err_msg=column)
        else:
            assert x.astype(object).where(x.notna(), None).tolist() == \
                y.astype(object).where(y.notna(), None).tolist(), column


def test_spark_link_equals_embedded(spark, world, decisions, tmp_path):
    from stairs_link.linkage.review import read_decisions

    person = world[0]
    out, linked = _spark_run(spark, person, tmp_path, decisions)
    embedded = link_table(person, CONFIG, decisions=read_decisions(tmp_path / "decisions.csv"))
    # the planted conflicts really exercise constrained clustering, and the decisions apply
    assert embedded.summary["clustering"]["conflicted_components"] > 0
    assert embedded.summary["clustering"]["edges_refused"] > 0
    assert embedded.summary["decisions"] == {"given": 3, "applied": 2, "unknown_record_keys": 1,
                                              "unsure": 0}
    assert "decision" in set(embedded.pairs["found_by"])
    # the LINKED directory as written (Spark Parquet datasets read as one table each)
    clusters = pd.read_parquet(linked / "clusters.parquet")
    pairs = pd.read_parquet(linked / "pairs.parquet")
    pd.testing.assert_frame_equal(clusters, embedded.clusters.reset_index(drop=True), check_dtype=False)
    _assert_same_pairs(embedded.pairs, pairs)
    assert json.loads((linked / "model.json").read_text(encoding="utf-8")) == \
        json.loads(json.dumps(embedded.model))
    review = pd.read_csv(linked / "review.csv", dtype=str, keep_default_na=False)
    expected = embedded.review.reset_index(drop=True)
    assert list(review.columns) == list(expected.columns) and len(review) == len(expected)
    assert review["record_key_l"].tolist() == expected["record_key_l"].astype(str).tolist()
    summary = json.loads((linked / "summary.json").read_text(encoding="utf-8"))
    same = ["records", "children", "candidate_pairs_by_rule", "compared_pairs", "kept_pairs",
            "kept_pairs_found_by_rule", "linked_pairs", "deterministic_links", "deterministic_conflicts",
            "decisions", "thresholds", "prior_match_probability", "clustering", "cluster_size_distribution",
            "large_cluster_count"]
    expected_summary = json.loads(json.dumps(embedded.summary))
    for key in same:
        assert summary[key] == expected_summary[key], key
    assert out.explain == embedded.explain


def test_spark_scores_with_a_saved_model(spark, world, tmp_path):
    person = world[0]
    embedded = link_table(person, CONFIG)
    out, linked = _spark_run(spark, person, tmp_path, model=embedded.model)
    clusters = pd.read_parquet(linked / "clusters.parquet")
    pd.testing.assert_frame_equal(clusters, embedded.clusters.reset_index(drop=True), check_dtype=False)
    _assert_same_pairs(embedded.pairs, pd.read_parquet(linked / "pairs.parquet"))
    assert out.model["comparisons"] == embedded.model["comparisons"]


def test_duplicate_record_key_is_a_clear_error(spark, world):
    from stairs_link.engine.spark.link import spark_link_table
    from stairs_link.errors import LinkageError

    person = world[0].iloc[:20].copy()
    person.loc[7, "record_key"] = person.loc[3, "record_key"]
    with pytest.raises(LinkageError) as err:
        spark_link_table(spark, spark.createDataFrame(person), CONFIG)
    assert err.value.reason == "duplicate_key" and err.value.row == 8


def test_missing_pyspark_says_how_to_install(no_pyspark):
    from stairs_link.engine import EngineError
    from stairs_link.engine.spark.session import require_pyspark

    with pytest.raises(EngineError) as err:
        require_pyspark()
    assert 'pip install "stairs-link[spark]"' in str(err.value)


def test_pseudonymised_linkage_equals_embedded(spark, world, tmp_path):
    """Privacy mode on Spark: Bloom-encoding comparisons, token identifiers and MinHash band
    blocking keys (whose informative bits depend on the WHOLE table's bit shares, summed over
    partitions) give the embedded engine's pairs and clusters."""
    from stairs_link.engine.spark.link import spark_link
    from stairs_link.privacy import pseudonymisation_manifest, pseudonymise_frame
    from stairs_link.schema import write_staged

    config = LinkageConfig.preset("pseudonymised")
    assert any(k.partition(":")[2].startswith("minhash") for r in config.blocking for k in r.keys)
    person = pseudonymise_frame("person", world[0], bytes(range(32)))
    # several staged inputs, so the table really is split across Spark partitions; each
    # records its pseudonymisation (linkage refuses encodings nobody recorded)
    entry = {"pseudonymisation": pseudonymisation_manifest(bytes(range(32)))}
    staged = []
    for n, part in enumerate(np.array_split(np.arange(len(person)), 3)):
        write_staged(tmp_path / f"staged{n}", {"person": person.iloc[part]}, manifest=entry)
        staged.append(tmp_path / f"staged{n}")
    embedded = link_table(person.reset_index(drop=True), config)
    assert embedded.summary["linked_pairs"] > 100
    assert any(name.startswith("family_dob_band") for name in embedded.pairs["found_by"].unique())
    spark_link(staged, tmp_path / "linked", config=config, spark=spark)
    clusters = pd.read_parquet(tmp_path / "linked" / "clusters.parquet")
    pd.testing.assert_frame_equal(clusters, embedded.clusters.reset_index(drop=True), check_dtype=False)
    _assert_same_pairs(embedded.pairs, pd.read_parquet(tmp_path / "linked" / "pairs.parquet"))


def test_minhash_keys_need_the_whole_tables_bit_counts(world):
    """Why the Spark engine sums bit counts over partitions first: computed on a part of the
    table alone, MinHash keys leave out other bits and differ from the embedded engine's."""
    from stairs_link.engine.spark.keys import minhash_columns, part_specs, partition_bit_counts, record_keys
    from stairs_link.privacy import pseudonymise_frame

    config = LinkageConfig.preset("pseudonymised")
    person = pseudonymise_frame("person", world[0], bytes(range(32))).reset_index(drop=True)
    person.insert(0, "idx", np.arange(len(person)))
    specs = part_specs(config, {"date_of_birth"})
    columns = minhash_columns(specs)
    whole = partition_bit_counts(person, columns).set_index("column")
    totals = {c: (np.asarray(whole.loc[c, "counts"]), int(whole.loc[c, "records"])) for c in columns}
    names = [s.name for s in specs if s.kind == "minhash"]
    part = person.iloc[: len(person) // 4]
    own = record_keys(part, config, specs)[names]
    shared_counts = record_keys(part, config, specs, totals)[names]
    expected = record_keys(person, config, specs)[names].iloc[: len(part)]
    pd.testing.assert_frame_equal(shared_counts, expected)
    assert not own.equals(expected)
