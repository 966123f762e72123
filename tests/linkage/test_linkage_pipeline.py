"""End to end: accuracy on a small synthetic world, deterministic pass, model reload, decisions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stairs_link.errors import LinkageError
from stairs_link.linkage import LinkageConfig, link_table
from stairs_link.linkage.review import excel_safe, read_decisions
from stairs_link.synth import person_records

FAST = LinkageConfig(u_sample_pairs=200_000)


@pytest.fixture(scope="module")
def world():
    person, truth = person_records(150, 11)
    return person, truth


@pytest.fixture(scope="module")
def linked(world):
    return link_table(world[0], FAST)


def pairwise_f1(clusters: pd.DataFrame, truth: pd.DataFrame) -> tuple[float, float, float]:
    """Pairwise precision, recall, F1 from cell sizes (computed here, independently of evaluate)."""
    frame = clusters.merge(truth[["record_key", "true_child_id"]], on="record_key")

    def pairs(sizes: pd.Series) -> int:
        return int((sizes * (sizes - 1) // 2).sum())

    tp = pairs(frame.groupby(["cluster_id", "true_child_id"]).size())
    precision = tp / pairs(frame.groupby("cluster_id").size())
    recall = tp / pairs(frame.groupby("true_child_id").size())
    return precision, recall, 2 * precision * recall / (precision + recall)


def test_end_to_end_accuracy_on_small_synthetic_world(world, linked):
    person, truth = world
    assert len(linked.clusters) == len(person)
    assert linked.clusters["record_key"].is_unique
    precision, recall, f1 = pairwise_f1(linked.clusters, truth)
    assert precision >= 0.97 and recall >= 0.95 and f1 >= 0.97, (precision, recall, f1)
    sizes = linked.clusters.groupby("cluster_id").size()
    assert (linked.clusters["cluster_size"].to_numpy() == sizes.reindex(linked.clusters["cluster_id"]).to_numpy()).all()


def test_outputs_explain_every_link(linked):
    pairs = linked.pairs
    config = FAST
    for c in config.comparisons:
        assert f"gamma_{c.name}" in pairs and f"bf_{c.name}" in pairs
    bf = pairs[[f"bf_{c.name}" for c in config.comparisons]].sum(axis=1)
    prior = linked.model["prior"]
    np.testing.assert_allclose(pairs["match_weight"], np.log2(prior / (1 - prior)) + bf, atol=1e-3)
    np.testing.assert_allclose(pairs["match_probability"], 1 / (1 + 2 ** -pairs["match_weight"]), rtol=1e-9)
    assert set(pairs["found_by"]) <= {r.name for r in config.blocking} | {"decision"}
    summary = linked.summary
    assert summary["records"] == len(linked.clusters)
    assert sum(int(k) * v for k, v in summary["cluster_size_distribution"].items()) == summary["records"]
    assert set(summary["candidate_pairs_by_rule"]) == {r.name for r in config.blocking}
    assert {"blocking and comparison", "training", "scoring", "clustering"} <= set(summary["timings_seconds"])


def test_model_reload_scores_identically(world, linked):
    again = link_table(world[0], model=linked.model)
    pd.testing.assert_frame_equal(again.clusters, linked.clusters)
    pd.testing.assert_frame_equal(again.pairs, linked.pairs)
    assert again.model == linked.model


def _pair(given, family, dob, nhs, key):
    return {"record_key": key, "site_id": "s", "source_system": "x", "local_id": key, "given_name": given,
            "family_name": family, "date_of_birth": dob, "sex": "male", "nhs_number": nhs}


def test_deterministic_pass_links_shared_nhs_unless_demographics_conflict():
    d = dt.date(2008, 5, 17)
    rows = [_pair("William", "Okafor", d, "9434765919", "a"),
            _pair("Bill", "Okafr", dt.date(2008, 5, 18), "9434765919", "b"),  # variant + typos: link
            _pair("Zainab", "Hussain", dt.date(2003, 1, 2), "4010232137", "c"),
            _pair("Peter", "Lindqvist", dt.date(2011, 9, 30), "4010232137", "d")]  # conflicts: held back
    rng = np.random.default_rng(0)
    filler = [_pair(f"N{k}", f"F{k}", dt.date(2000 + k % 12, 1 + k % 12, 1 + k % 28), None, f"z{k}")
              for k in range(200)]
    person = pd.DataFrame(rows + filler).sample(frac=1, random_state=int(rng.integers(100)))
    out = link_table(person, dataclasses.replace(FAST, u_sample_pairs=10_000))
    child = out.clusters.set_index("record_key")["cluster_id"]
    assert child["a"] == child["b"]
    assert child["c"] != child["d"]
    assert out.summary["deterministic_conflicts"] == 1
    review = out.review.set_index(["record_key_l", "record_key_r"])
    conflict = review.loc[[k for k in review.index if set(k) == {"c", "d"}]]
    assert (conflict["reason"] == "identifier_conflict").all()


def test_decisions_override_the_model(world, linked):
    clusters = linked.clusters.set_index("record_key")["cluster_id"]
    pairs = linked.pairs
    strong = pairs[pairs["linked"] & (pairs["match_probability"] > 0.999)].iloc[0]
    # a pair no rule would link: two records of different children
    keys = linked.clusters.drop_duplicates("cluster_id")["record_key"].to_numpy()
    a, b = keys[0], keys[1]
    assert clusters[a] != clusters[b]
    decisions = pd.DataFrame({"record_key_l": [strong.record_key_l, a], "record_key_r": [strong.record_key_r, b],
                              "decision": ["non-match", "match"]})
    out = link_table(world[0], model=linked.model, decisions=decisions)
    child = out.clusters.set_index("record_key")["cluster_id"]
    assert child[strong.record_key_l] != child[strong.record_key_r]
    assert child[a] == child[b]
    decided = out.pairs[out.pairs["decision"].notna()]
    assert set(decided["decision"]) == {"match", "non-match"}
    assert out.summary["decisions"]["applied"] == 2
    # decided pairs leave the review sheet
    assert not ((out.review["record_key_l"] == a) & (out.review["record_key_r"] == b)).any()


def test_decisions_file_errors_name_row_and_column(tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_text("record_key_l,record_key_r,decision\na,b,match\nc,d,perhaps\n", encoding="utf-8")
    with pytest.raises(LinkageError) as err:
        read_decisions(path)
    assert err.value.row == 2 and err.value.column == "decision"
    path.write_text("record_key_l,decision\na,match\n", encoding="utf-8")
    with pytest.raises(LinkageError, match="record_key_r"):
        read_decisions(path)


def test_review_cells_never_start_a_formula():
    frame = pd.DataFrame({"a": ["=HYPERLINK(1)", "+1", "-2", "@x", "ok", None], "n": [1, 2, 3, 4, 5, 6]})
    safe = excel_safe(frame)
    assert safe["a"].tolist()[:5] == ["'=HYPERLINK(1)", "'+1", "'-2", "'@x", "ok"]
    assert pd.isna(safe["a"].iloc[5]) and safe["n"].tolist() == [1, 2, 3, 4, 5, 6]


def test_bad_input_is_a_clear_error(world):
    person = world[0]
    with pytest.raises(LinkageError) as err:
        link_table(pd.concat([person.head(3), person.head(1)]), FAST)
    assert err.value.reason == "duplicate_key" and err.value.row == 4
    comps = tuple(dataclasses.replace(c, column="dob") if c.name == "date_of_birth" else c
                  for c in FAST.comparisons)
    cfg = dataclasses.replace(FAST, comparisons=comps)
    with pytest.raises(LinkageError) as err:
        link_table(person, cfg)
    assert err.value.column == "dob"


def test_config_yaml_roundtrip_and_unknown_keys(tmp_path):
    import json

    import yaml

    path = tmp_path / "linkage.yaml"
    path.write_text(yaml.safe_dump(json.loads(FAST.to_json())), encoding="utf-8")
    assert LinkageConfig.from_yaml(path) == FAST
    path.write_text("link_treshold: 0.9\n", encoding="utf-8")
    with pytest.raises(LinkageError) as err:
        LinkageConfig.from_yaml(path)
    assert "link_treshold" in str(err.value) and "link_threshold" in str(err.value)


def test_config_errors_list_every_problem():
    from stairs_link.linkage import Comparison

    with pytest.raises(LinkageError) as err:
        LinkageConfig(comparisons=(Comparison("d", "date", "date_of_birth", term_frequency=True),
                                   Comparison("x", "fuzzy", "x")),
                      deterministic_identifiers=(), cannot_link_identifiers=())
    text = str(err.value)
    assert "term_frequency is not supported for dates" in text and "unknown kind 'fuzzy'" in text


def test_large_clusters_are_reported(world):
    out = link_table(world[0], dataclasses.replace(FAST, max_cluster_size=2))
    sizes = out.clusters.drop_duplicates("cluster_id")["cluster_size"]
    assert out.summary["large_cluster_count"] == int((sizes > 2).sum()) > 0
    assert all(c["size"] > 2 for c in out.summary["large_clusters"])


def test_degenerate_data_trains_and_links():
    """Levels that never occur (no swaps, no typos), a constant column and an empty column:
    training must not crash or underflow (Splink 5 fails here), and weights stay finite."""
    rows = []
    letters = np.array(list("ABCDEFGHIJKLMNOPRSTUVWY"))
    rng = np.random.default_rng(8)
    for k in range(150):
        given, family = ("".join(rng.choice(letters, 6)) for _ in range(2))
        base = {"site_id": "s", "source_system": "x", "given_name": given, "family_name": family,
                "date_of_birth": dt.date(2000 + k % 10, 1 + k % 12, 1 + k % 28), "sex": "male", "postcode": None}
        rows.append({**base, "record_key": f"a{k}", "local_id": f"a{k}"})
        rows.append({**base, "record_key": f"b{k}", "local_id": f"b{k}"})  # exact duplicate
    out = link_table(pd.DataFrame(rows), dataclasses.replace(FAST, u_sample_pairs=20_000))
    for c in out.model["comparisons"]:
        assert all(np.isfinite(c["weight"])) and all(0 < m <= 1 for m in c["m"]), c["name"]
    child = out.clusters.set_index("record_key")["cluster_id"]
    assert all(child[f"a{k}"] == child[f"b{k}"] for k in range(150))
    assert out.clusters["cluster_id"].nunique() == 150
