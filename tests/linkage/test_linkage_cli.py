"""`stairs-link link`: outputs on disk, --explain-blocking, --max-pairs, --model, --decisions."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from linkage_data import stage_person_systems

from stairs_link.cli import cli


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    dirs, config, person, _ = stage_person_systems(tmp_path_factory.mktemp("staged"))
    return dirs, config, len(person)


def _run(args):
    return CliRunner().invoke(cli, args)


def test_link_writes_every_output(staged, tmp_path):
    dirs, config, n = staged
    out = tmp_path / "linked"
    result = _run(["link", *dirs, "--out", str(out), "--config", config, "-q"])
    assert result.exit_code == 0, result.output
    for name in ("clusters.parquet", "pairs.parquet", "model.json", "review.csv", "summary.json"):
        assert (out / name).exists(), name
    clusters = pd.read_parquet(out / "clusters.parquet")
    assert list(clusters.columns) == ["record_key", "cluster_id", "cluster_size"] and len(clusters) == n
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["records"] == n and "total" in summary["timings_seconds"]
    assert (out / "review.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # BOM, for Excel
    review = pd.read_csv(out / "review.csv", dtype=str, encoding="utf-8-sig")
    assert {"record_key_l", "record_key_r", "match_probability", "decision"} <= set(review.columns)

    # --model reloads and scores without retraining: identical results
    again = tmp_path / "again"
    result = _run(["link", *dirs, "--out", str(again), "--model", str(out / "model.json"), "-q"])
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_parquet(again / "clusters.parquet"), clusters)
    pd.testing.assert_frame_equal(pd.read_parquet(again / "pairs.parquet"), pd.read_parquet(out / "pairs.parquet"))

    # decisions survive re-runs: the same decisions file gives the same override every time
    pairs = pd.read_parquet(out / "pairs.parquet")
    linked = pairs[pairs["linked"]].iloc[0]
    decisions = tmp_path / "decisions.csv"
    pd.DataFrame({"record_key_l": [linked.record_key_l], "record_key_r": [linked.record_key_r],
                  "decision": ["non-match"]}).to_csv(decisions, index=False)
    for run in ("d1", "d2"):
        result = _run(["link", *dirs, "--out", str(tmp_path / run), "--model", str(out / "model.json"),
                       "--decisions", str(decisions), "-q"])
        assert result.exit_code == 0, result.output
        child = pd.read_parquet(tmp_path / run / "clusters.parquet").set_index("record_key")["cluster_id"]
        assert child[linked.record_key_l] != child[linked.record_key_r]


def test_explain_blocking_counts_pairs_and_stops(staged, tmp_path):
    dirs, config, _ = staged
    out = tmp_path / "x"
    result = _run(["link", *dirs, "--out", str(out), "--config", config, "--explain-blocking"])
    assert result.exit_code == 0, result.output
    assert "dob_given_initial" in result.output and "total" in result.output
    assert not out.exists()


def test_max_pairs_guard_names_the_rule_to_tighten(staged, tmp_path):
    dirs, config, _ = staged
    result = _run(["link", *dirs, "--out", str(tmp_path / "y"), "--config", config, "--max-pairs", "5"])
    assert result.exit_code == 2
    assert "more than the limit of 5" in result.output and "tighten blocking rule" in result.output


def test_missing_person_table_is_a_clean_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _run(["link", str(empty), "--out", str(tmp_path / "z")])
    assert result.exit_code == 2
    assert "person" in result.output and "Traceback" not in result.output


def test_link_json_summary_on_stdout(staged, tmp_path):
    """--json: stdout is the summary (the one summary.json holds), nothing else."""
    dirs, config, n = staged
    out = tmp_path / "linked"
    result = CliRunner().invoke(cli, ["link", *dirs, "-o", str(out), "--config", config, "-q", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    saved = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert printed["out"] == str(out) and printed["records"] == n
    assert {k: printed[k] for k in ("records", "children", "linked_pairs", "review_pairs")} == \
        {k: saved[k] for k in ("records", "children", "linked_pairs", "review_pairs")}



def test_link_stage_timings_reach_stderr_through_the_progress_interface(staged, tmp_path):
    """linkage reports through stairs_link.progress (it never imports the CLI); the CLI
    installs the reporter that writes those lines to stderr, and -q silences them."""
    dirs, config, _ = staged
    loud = CliRunner().invoke(cli, ["link", *dirs, "--out", str(tmp_path / "a"), "--config", config])
    assert loud.exit_code == 0, loud.output
    assert "link: training done in" in loud.stderr and "link: training done in" not in loud.stdout
    quiet = CliRunner().invoke(cli, ["link", *dirs, "--out", str(tmp_path / "b"), "--config", config, "-q"])
    assert quiet.exit_code == 0 and "done in" not in quiet.stderr
