"""Tests for stairs_link.linkage.evaluate with hand-computable examples."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from stairs_link.errors import LinkageError, StairsLinkError
from stairs_link.linkage.evaluate import attach_columns, evaluate_clusters, format_report


def _frames(pred: dict[str, str], true: dict[str, str], **extra: dict[str, str]):
    clusters = pd.DataFrame({"record_key": list(pred), "cluster_id": list(pred.values())})
    truth = pd.DataFrame({"record_key": list(true), "true_child_id": list(true.values())})
    for column, values in extra.items():
        truth[column] = truth["record_key"].map(values)
    return clusters, truth


def _brute_force(clusters: pd.DataFrame, truth: pd.DataFrame) -> tuple[float, float]:
    """Pairwise precision and recall by enumerating every pair (small inputs only)."""
    m = clusters.merge(truth, on="record_key")
    pred, true = set(), set()
    for (i, a), (j, b) in itertools.combinations(m.iterrows(), 2):
        if a["cluster_id"] == b["cluster_id"]:
            pred.add((i, j))
        if a["true_child_id"] == b["true_child_id"]:
            true.add((i, j))
    return len(pred & true) / len(pred), len(pred & true) / len(true)


def test_pairwise_and_bcubed_hand_example():
    # predicted {a,b,c},{d}; true {a,b},{c,d}
    clusters, truth = _frames({"a": "P1", "b": "P1", "c": "P1", "d": "P2"},
                              {"a": "T1", "b": "T1", "c": "T2", "d": "T2"})
    r = evaluate_clusters(clusters, truth)
    assert r["predicted_pairs"] == 3 and r["true_pairs"] == 2 and r["true_positive_pairs"] == 1
    assert r["precision"] == pytest.approx(1 / 3)
    assert r["recall"] == pytest.approx(1 / 2)
    assert r["f1"] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    # B-cubed per record: a,b: P=2/3 R=1; c: P=1/3 R=1/2; d: P=1 R=1/2
    assert r["bcubed_precision"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    assert r["bcubed_recall"] == pytest.approx((1 + 1 + 1 / 2 + 1 / 2) / 4)
    assert r["true_children"] == 2 and r["predicted_children"] == 2
    assert r["children_exactly_recovered"] == 0


def test_perfect_and_all_singletons():
    keys = list("abcdef")
    true = dict(zip(keys, ["T1", "T1", "T1", "T2", "T2", "T3"]))
    clusters, truth = _frames({k: v.replace("T", "P") for k, v in true.items()}, true)
    r = evaluate_clusters(clusters, truth)
    assert (r["precision"], r["recall"], r["f1"]) == (1.0, 1.0, 1.0)
    assert r["bcubed_f1"] == 1.0 and r["children_exactly_recovered"] == 3

    singletons, _ = _frames({k: f"S{k}" for k in keys}, true)
    r = evaluate_clusters(singletons, truth)
    assert r["predicted_pairs"] == 0 and r["precision"] is None  # undefined, not faked
    assert r["recall"] == 0.0 and r["f1"] is None
    assert r["bcubed_precision"] == 1.0
    assert r["bcubed_recall"] == pytest.approx((3 * 1 / 3 + 2 * 1 / 2 + 1) / 6)


def test_matches_brute_force_on_random_partition():
    rng = np.random.default_rng(7)
    keys = [f"k{i}" for i in range(60)]
    true = {k: f"T{t}" for k, t in zip(keys, rng.integers(0, 20, len(keys)))}
    pred = {k: f"P{p}" for k, p in zip(keys, rng.integers(0, 15, len(keys)))}
    clusters, truth = _frames(pred, true)
    r = evaluate_clusters(clusters, truth)
    p, rc = _brute_force(clusters, truth)
    assert r["precision"] == pytest.approx(p)
    assert r["recall"] == pytest.approx(rc)


def test_subgroup_recall_child_attribute():
    # Child T1 (group x) has 3 records, 1 link found of 3 true pairs; child T2 (group y)
    # has 2 records, found. Child T3 (group y) is a singleton (no pairs).
    clusters, truth = _frames(
        {"a": "P1", "b": "P1", "c": "P2", "d": "P3", "e": "P3", "f": "P4"},
        {"a": "T1", "b": "T1", "c": "T1", "d": "T2", "e": "T2", "f": "T3"},
        ethnic_group={"a": "x", "b": "x", "c": "x", "d": "y", "e": "y", "f": "y"},
    )
    r = evaluate_clusters(clusters, truth, by=["ethnic_group"])
    g = r["by"]["ethnic_group"]["groups"]
    assert g["x"] == {"records": 3, "true_children": 1, "true_pairs": 3, "found_pairs": 1,
                      "predicted_pairs": 1, "recall": pytest.approx(1 / 3), "precision": 1.0}
    assert g["y"]["true_pairs"] == 1 and g["y"]["found_pairs"] == 1 and g["y"]["recall"] == 1.0
    assert g["y"]["true_children"] == 2
    assert r["by"]["ethnic_group"]["recall_gap"] == pytest.approx(2 / 3)


def test_subgroup_record_attribute_counts_cross_group_pairs_for_both():
    # One child, records at sites s1, s1, s2: true pairs touching s1 = 3, touching s2 = 2.
    # Predicted: {a,c} together, b alone -> the found pair (a,c) touches both sites.
    # Also a false merge of d (s2, other child) into cluster with a, c.
    clusters, truth = _frames(
        {"a": "P1", "b": "P2", "c": "P1", "d": "P1"},
        {"a": "T1", "b": "T1", "c": "T1", "d": "T2"},
        site_id={"a": "s1", "b": "s1", "c": "s2", "d": "s2"},
    )
    r = evaluate_clusters(clusters, truth, by=["site_id"])
    s1, s2 = (r["by"]["site_id"]["groups"][s] for s in ("s1", "s2"))
    assert (s1["true_pairs"], s1["found_pairs"]) == (3, 1)
    assert (s2["true_pairs"], s2["found_pairs"]) == (2, 1)
    # predicted pairs: (a,c),(a,d),(c,d); touching s1: (a,c),(a,d); touching s2: all three
    assert (s1["predicted_pairs"], s2["predicted_pairs"]) == (2, 3)
    assert s2["precision"] == pytest.approx(1 / 3)


def test_missing_values_form_own_group_and_small_groups_excluded_from_gap():
    clusters, truth = _frames(
        {"a": "P1", "b": "P1", "c": "P2", "d": "P3", "e": "P4", "f": "P4"},
        {"a": "T1", "b": "T1", "c": "T2", "d": "T2", "e": "T3", "f": "T3"},
        sex={"a": "1", "b": "1", "c": None, "d": None, "e": "2", "f": "2"},
    )
    r = evaluate_clusters(clusters, truth, by=["sex"], min_true_pairs=2)
    groups = r["by"]["sex"]["groups"]
    assert groups["(missing)"]["recall"] == 0.0
    assert r["by"]["sex"]["recall_gap"] is None  # every group has 1 true pair < 2
    r = evaluate_clusters(clusters, truth, by=["sex"])
    assert r["by"]["sex"]["recall_gap"] == 1.0
    text = format_report(r)
    assert "recall gap" in text and "(missing)" in text


def test_record_sets_must_match():
    clusters, truth = _frames({"a": "P1", "b": "P1"}, {"a": "T1", "b": "T1", "c": "T2"})
    with pytest.raises(LinkageError, match="1 truth record") as info:
        evaluate_clusters(clusters, truth, truth_file="truth.parquet")
    assert info.value.row == 2 and info.value.column == "record_key"
    clusters, truth = _frames({"a": "P1", "z": "P1"}, {"a": "T1"})
    with pytest.raises(LinkageError, match="not in the truth"):
        evaluate_clusters(clusters, truth)


def test_bad_inputs_raise_clear_errors():
    clusters, truth = _frames({"a": "P1", "b": "P1"}, {"a": "T1", "b": "T1"})
    with pytest.raises(LinkageError, match="more than once"):
        evaluate_clusters(pd.concat([clusters, clusters.iloc[:1]]), truth)
    with pytest.raises(LinkageError, match="no column 'cluster_id'"):
        evaluate_clusters(clusters.rename(columns={"cluster_id": "cid"}), truth)
    with pytest.raises(LinkageError, match="empty value"):
        evaluate_clusters(clusters.assign(cluster_id=[None, "P1"]), truth)
    with pytest.raises(LinkageError, match="by 'ethnic_group'"):
        evaluate_clusters(clusters, truth, by=["ethnic_group"])


def test_attach_columns_from_record_key_and_staged(tmp_path):
    truth = pd.DataFrame({"record_key": ["s1:sys:1", "s2:sys:2"], "true_child_id": ["T", "T"]})
    out = attach_columns(truth, ["site_id"])
    assert out["site_id"].tolist() == ["s1", "s2"]
    staged = tmp_path / "staged"
    staged.mkdir()
    pd.DataFrame({"record_key": ["s1:sys:1", "s2:sys:2"], "ethnicity": ["A", "N"]}).to_parquet(
        staged / "person.parquet")
    out = attach_columns(truth, ["ethnicity"], staged=[staged])
    assert out["ethnicity"].tolist() == ["A", "N"]
    with pytest.raises(LinkageError, match="cannot evaluate by 'postcode'"):
        attach_columns(truth, ["postcode"], staged=[staged])


# --------------------------------------------------------------------------- CLI

def _write_linked(tmp_path, clusters: pd.DataFrame, truth: pd.DataFrame):
    from stairs_link.linkage import write_linked

    linked = write_linked(tmp_path / "linked", clusters)  # published with its completion record, as `link` does
    truth_dir = tmp_path / "truth"
    truth_dir.mkdir()
    truth.to_parquet(truth_dir / "records.parquet")
    return linked, truth_dir


def test_cli_evaluate_prints_table_and_writes_json(tmp_path):
    import json

    from click.testing import CliRunner

    from stairs_link.cli.link_cmd import evaluate

    clusters, truth = _frames(
        {"s1:a:1": "P1", "s1:a:2": "P1", "s2:b:3": "P1", "s2:b:4": "P2"},
        {"s1:a:1": "T1", "s1:a:2": "T1", "s2:b:3": "T2", "s2:b:4": "T2"},
        ethnic_group={"s1:a:1": "White", "s1:a:2": "White", "s2:b:3": "Black", "s2:b:4": "Black"},
    )
    linked, truth_dir = _write_linked(tmp_path, clusters, truth)
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(evaluate, [str(linked), "--truth", str(truth_dir), "--by", "ethnic_group",
                                           "--by", "site_id", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "pairwise                0.3333    0.5000" in result.output
    assert "by ethnic_group:" in result.output and "by site_id:" in result.output
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["precision"] == pytest.approx(1 / 3)
    assert saved["by"]["ethnic_group"]["groups"]["Black"]["recall"] == 0.0
    assert saved["by"]["site_id"]["groups"]["s1"]["true_pairs"] == 1


def test_cli_evaluate_user_error_is_clean(tmp_path):
    from click.testing import CliRunner

    from stairs_link.cli.link_cmd import evaluate

    clusters, truth = _frames({"a": "P1", "b": "P1"}, {"a": "T1", "b": "T1", "c": "T2"})
    linked, truth_dir = _write_linked(tmp_path, clusters, truth)
    result = CliRunner().invoke(evaluate, [str(linked), "--truth", str(truth_dir / "records.parquet")])
    assert result.exit_code == 2
    assert "row 2, column 'record_key': 1 truth record(s) are not in clusters" in result.output
    assert "Traceback" not in result.output


def test_evaluate_real_linkage_on_synthetic_records():
    """End to end on the project's generator: the engine's clusters score sensibly."""
    from stairs_link.linkage import link_table
    from stairs_link.synth import person_records

    person, truth = person_records(150, 3)
    clusters = link_table(person).clusters
    r = evaluate_clusters(clusters, truth, by=["ethnic_group", "sex"])
    assert r["records"] == len(person)
    assert r["true_children"] == truth["true_child_id"].nunique()
    assert 0.8 < r["f1"] <= 1.0  # a working engine on easy data; a broken one fails this
    groups = r["by"]["ethnic_group"]["groups"]
    assert sum(g["records"] for g in groups.values()) == len(person)


def test_exclude_unlinked_truth_counts_what_it_leaves_out():
    clusters, truth = _frames({"a": "P1", "b": "P1"}, {"a": "T1", "b": "T1", "c": "T1"})
    r = evaluate_clusters(clusters, truth, exclude_unlinked_truth=True)
    assert r["truth_records_excluded"] == 1 and r["records"] == 2
    assert r["true_pairs"] == 1 and r["recall"] == 1.0
    assert "truth records left out" in format_report(r)
    # a clustered record missing from the truth is still an error
    clusters, truth = _frames({"a": "P1", "z": "P1"}, {"a": "T1", "c": "T1"})
    with pytest.raises(LinkageError, match="not in the truth"):
        evaluate_clusters(clusters, truth, exclude_unlinked_truth=True)


def test_loaders_find_files_and_explain_bad_ones(tmp_path):
    from stairs_link.linkage.evaluate import load_clusters, load_truth

    with pytest.raises(LinkageError, match="clusters table not found") as info:
        load_clusters(tmp_path / "clusters.parquet")
    assert info.value.file.endswith("clusters.parquet")
    (tmp_path / "clusters.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(LinkageError, match="not a readable Parquet file"):
        load_clusters(tmp_path / "clusters.parquet")
    with pytest.raises(StairsLinkError) as refused:  # a directory: only one a finished `link` wrote whole
        load_clusters(tmp_path)
    assert refused.value.reason == "old_output_format" and "re-run `stairs-link link`" in refused.value.fix
    synth_out = tmp_path / "synth"
    (synth_out / "truth").mkdir(parents=True)
    pd.DataFrame({"record_key": ["a"], "true_child_id": ["T"]}).to_parquet(synth_out / "truth" / "records.parquet")
    for given in (synth_out, synth_out / "truth", synth_out / "truth" / "records.parquet"):
        frame, path = load_truth(given)
        assert path.endswith("records.parquet") and frame["record_key"].tolist() == ["a"]


def test_cli_evaluate_refuses_a_linked_dir_from_before_the_cluster_id_rename(tmp_path):
    from click.testing import CliRunner

    from stairs_link.cli.link_cmd import evaluate

    clusters, truth = _frames({"a": "P1", "b": "P1"}, {"a": "T1", "b": "T1"})
    linked, truth_dir = _write_linked(tmp_path, clusters, truth)
    old = pd.read_parquet(linked / "clusters.parquet").rename(columns={"cluster_id": "child_id"})
    old.to_parquet(linked / "clusters.parquet")  # given as a file (a directory changed since its record is refused)
    result = CliRunner().invoke(evaluate, [str(linked / "clusters.parquet"), "--truth", str(truth_dir)])
    assert result.exit_code == 2, result.output
    assert "column 'child_id'" in result.output and "written by an older stairs-link" in result.output
    assert "Fix: re-run `stairs-link link`" in result.output
    assert "Traceback" not in result.output
