"""Review sheet and decisions (blank rows, unsure, level labels and weights, BOM), precision and
recall from decisions with Wilson intervals, the threshold they suggest, and `stairs-link
explain`. The pages in a browser: test_workbench_browser.py."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from linkage_data import stage_person_systems

from stairs_link.cli import cli
from stairs_link.errors import LinkageError
from stairs_link.linkage import LinkageConfig, link_table
from stairs_link.linkage.review import decision_estimates, level_labels, read_decisions, wilson_interval
from stairs_link.linkage.workbench.data import read_linked, review_order, review_page_data
from stairs_link.synth import person_records

FAST = LinkageConfig(u_sample_pairs=100_000)


@pytest.fixture(scope="module")
def world():
    return person_records(120, 7)


@pytest.fixture(scope="module")
def linked(world):
    return link_table(world[0], FAST)


def test_decisions_file_skips_blank_rows_and_accepts_unsure(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("record_key_l,record_key_r,decision\r\na,b,Match\r\nc,d,\r\n,,\r\ne,f,unsure\r\n"
                     .encode("utf-8-sig"))
    frame = read_decisions(path)
    assert frame.values.tolist() == [["a", "b", "match"], ["e", "f", "unsure"]]
    path.write_text("record_key_l,record_key_r,decision\na,b,match\nc,d,\ne,f,maybe\n", encoding="utf-8")
    with pytest.raises(LinkageError, match="'match', 'non-match' or 'unsure'") as err:
        read_decisions(path)
    assert err.value.row == 3 and err.value.column == "decision"  # the data row, blank rows counted
    path.write_text("record_key_l,record_key_r,decision\n,b,match\n", encoding="utf-8")
    with pytest.raises(LinkageError, match="record key is blank") as err:
        read_decisions(path)
    assert err.value.row == 1


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval written out (Wilson 1927), to check the library call."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_decision_estimates_precision_recall_and_wilson_intervals():
    assert wilson_interval(0, 0) is None
    for k, n in ((0, 5), (7, 9), (20, 20)):
        assert wilson_interval(k, n) == pytest.approx(_wilson(k, n), abs=1e-9)
    prob = np.array([0.9, 0.8, 0.7, 0.6, 0.55, 0.45, 0.4, 0.3, 0.25, 0.2, 0.1, 0.05])
    match = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    est = decision_estimates(prob, match, 0.5)
    # linked at 0.5: 5 pairs, 4 of them labelled match; 5 labelled matches, 4 linked
    assert est["precision"]["successes"] == 4 and est["precision"]["trials"] == 5
    assert est["recall"]["successes"] == 4 and est["recall"]["trials"] == 5
    assert est["precision"]["estimate"] == pytest.approx(0.8)
    assert est["precision"]["ci95"] == [round(x, 4) for x in _wilson(4, 5)]
    # best threshold: linking from 0.45 up classifies 11 of 12 correctly (only the 0.6 pair is wrong)
    assert est["suggested_threshold"] == pytest.approx(0.45)
    assert est["suggested_threshold_correct"] == 11
    few = decision_estimates(prob[:5], match[:5], 0.5)
    assert few["suggested_threshold"] is None  # fewer than 10 decisions


def test_review_sheet_has_level_label_and_partial_weight_per_comparison(linked):
    review = linked.review
    assert len(review) > 0
    pairs = linked.pairs.set_index(["record_key_l", "record_key_r"])
    rows = pairs.loc[list(zip(review["record_key_l"], review["record_key_r"]))]
    for c in FAST.comparisons:
        labels = level_labels(rows[f"gamma_{c.name}"], c.levels())
        assert review[f"{c.name}_level"].tolist() == labels.tolist()
        assert review[f"{c.name}_weight"].to_numpy() == pytest.approx(rows[f"bf_{c.name}"].to_numpy(), abs=0.006)
    assert set(level_labels(np.array([-1, 0]), ["else", "exact"])) == {"missing", "else"}


def test_unsure_is_left_to_the_model_and_stays_on_the_sheet(world, linked):
    review = linked.review
    (a, b), (c, d) = review[["record_key_l", "record_key_r"]].to_numpy()[:2]
    decisions = pd.DataFrame({"record_key_l": [a, d, c], "record_key_r": [b, c, d],
                              "decision": ["unsure", "match", "unsure"]})  # c-d: the later row (unsure) wins
    out = link_table(world[0], model=linked.model, decisions=decisions)
    assert out.summary["decisions"] == {"given": 2, "applied": 0, "unknown_record_keys": 0, "unsure": 2}
    marked = out.review.set_index(["record_key_l", "record_key_r"])["decision"]
    assert marked[(a, b)] == "unsure" and marked[(c, d)] == "unsure"
    pd.testing.assert_frame_equal(out.clusters, linked.clusters)  # unsure changes nothing


def test_decisions_give_estimates_and_can_choose_the_threshold(world, linked):
    person, truth = world
    child = truth.set_index("record_key")["true_child_id"]
    pairs = linked.pairs
    near = pairs.iloc[(pairs["match_probability"] - 0.5).abs().argsort()[:80:2]]  # every other pair labelled
    truly = child.reindex(near["record_key_l"]).to_numpy() == child.reindex(near["record_key_r"]).to_numpy()
    decisions = pd.DataFrame({"record_key_l": near["record_key_l"], "record_key_r": near["record_key_r"],
                              "decision": np.where(truly, "match", "non-match")})
    out = link_table(person, model=linked.model, decisions=decisions)
    est = out.summary["decision_estimates"]
    assert est["labelled_pairs"] == 40 and est["labelled_matches"] == int(truly.sum())
    linked_at = near["match_probability"].to_numpy() >= 0.5
    assert est["precision"]["trials"] == int(linked_at.sum())
    assert est["precision"]["successes"] == int((linked_at & truly).sum())
    assert est["threshold_from_decisions"] == "off"
    assert out.summary["thresholds"]["link_threshold"] == 0.5
    chosen = link_table(person, model=linked.model, decisions=decisions, threshold_from_decisions=True)
    t = chosen.summary["thresholds"]["link_threshold"]
    assert est["suggested_threshold"] is not None and t == pytest.approx(est["suggested_threshold"]) and t != 0.5
    assert chosen.summary["decision_estimates"]["threshold_from_decisions"] == "applied"
    assert chosen.model["config"]["link_threshold"] == pytest.approx(t)
    # undecided pairs between the two thresholds are linked under one and not the other
    lo, hi = sorted((0.5, t))
    p = chosen.pairs
    between = p["decision"].isna() & ~p["deterministic"] & (p["match_probability"] >= lo) & (p["match_probability"] < hi)
    assert between.any()
    assert (p.loc[between, "linked"] == (t < 0.5)).all()
    few = link_table(person, model=linked.model, decisions=decisions.head(5), threshold_from_decisions=True)
    assert few.summary["decision_estimates"]["threshold_from_decisions"] == "not enough decisions"
    assert few.summary["thresholds"]["link_threshold"] == 0.5


def test_review_order_nearest_the_threshold_then_largest_effect():
    distance = np.array([0.2, -0.4, 3.5, 0.9, -1.2])
    impact = np.array([2, 9, 40, 5, 3])
    # whole bits from the threshold: 0,0,3,0,1 -> the three within a bit by impact, then 1, then 3
    assert review_order(distance, impact).tolist() == [1, 3, 0, 4, 2]


@pytest.fixture(scope="module")
def linked_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain")
    dirs, config, _, truth = stage_person_systems(root)
    truth.to_parquet(root / "truth.parquet")
    result = CliRunner().invoke(cli, ["link", *dirs, "--out", str(root / "linked"), "--config", config, "-q"])
    assert result.exit_code == 0, result.output
    return root


def test_link_writes_both_pages_and_a_bom_review_sheet(linked_dir):
    linked = linked_dir / "linked"
    for name in ("linkage.html", "review.html"):
        text = (linked / name).read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>") and 'id="page-data"' in text
    assert (linked / "review.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    data = review_page_data(read_linked(linked))
    review = pd.read_csv(linked / "review.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert sorted((p["l"], p["r"]) for p in data["pairs"]) == sorted(zip(review.record_key_l, review.record_key_r))


def test_explain_writes_pages_elsewhere_with_truth_and_json(linked_dir, tmp_path):
    out = tmp_path / "pages"
    result = CliRunner().invoke(cli, ["explain", str(linked_dir / "linked"), "-o", str(out), "--truth",
                                      str(linked_dir / "truth.parquet"), "--json", "-q"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["linkage_html"] == str(out / "linkage.html") and (out / "review.html").exists()
    text = (out / "linkage.html").read_text(encoding="utf-8")
    start = text.index('id="page-data">') + len('id="page-data">')
    data = json.loads(text[start:text.index("</script>", start)])
    recall = data["blocking"]["truth"]["recall"]
    assert recall == sorted(recall) and 0.9 < recall[-1] <= 1.0  # cumulative, and blocking finds most


def test_explain_on_a_directory_that_is_not_linked_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(cli, ["explain", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a linked directory: no complete.json" in result.output and "Traceback" not in result.output
    assert "Fix: re-run `stairs-link link`" in result.output


def test_review_page_keeps_the_most_informative_pairs_when_capped(linked_dir):
    linked = read_linked(linked_dir / "linked")
    full = review_page_data(linked)
    assert len(full["pairs"]) == full["review_sheet_pairs"] == len(linked.review) >= 3
    capped = review_page_data(linked, max_pairs=2)
    assert capped["review_sheet_pairs"] == len(linked.review)
    assert capped["pairs"] == full["pairs"][:2]


def test_excel_unsafe_undoes_excel_safe():
    from stairs_link.linkage.review import excel_safe, excel_unsafe

    values = pd.Series(["=SUM(A1)", "-3", "+44 20", "@x", "plain", "'quoted", None], dtype="string")
    back = excel_unsafe(excel_safe(pd.DataFrame({"v": values}))["v"])
    assert back.tolist() == values.tolist()


def test_cluster_figures_match_the_clusters_table(linked_dir):
    from stairs_link.linkage.workbench.data import linkage_page_data

    linked = read_linked(linked_dir / "linked")
    data = linkage_page_data(linked)["clusters"]
    clusters = linked.clusters
    size = clusters.drop_duplicates(linked.cluster_column).set_index(linked.cluster_column)["cluster_size"]
    assert dict(data["size_distribution"]) == size.value_counts().to_dict()
    assert [r["size"] for r in data["largest"]] == sorted(size, reverse=True)[:len(data["largest"])]
    assert data["conflicted"], "the small world has clusters joined through weak pairs"
    for r in data["conflicted"]:
        assert r["size"] == size[r["id"]]
        assert r["weak_pairs"] + r["identifier_conflicts"] > 0
    systems = clusters["record_key"].str.split(":").str[:2].str.join(":")
    singles = (clusters["cluster_size"] == 1).groupby(systems).sum()
    assert {r["system"]: r["unlinked"] for r in data["unlinked"]} == singles.to_dict()
    assert sum(r["records"] for r in data["unlinked"]) == len(clusters)
