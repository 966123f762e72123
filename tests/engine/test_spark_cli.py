"""`stairs-link link --engine spark`: same LINKED directory as the embedded engine from several
staged directories, --explain-blocking on Spark, and a clean message without pyspark."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from stairs_link.cli import cli
from stairs_link.schema import write_staged
from stairs_link.synth import person_records


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    person, _ = person_records(40, 5)
    root = tmp_path_factory.mktemp("staged")
    dirs = []
    for system, part in person.groupby("source_system"):  # several inputs: record order spans them
        write_staged(root / system, {"person": part})
        dirs.append(str(root / system))
    config = root / "linkage.yaml"
    config.write_text(yaml.safe_dump({"u_sample_pairs": 20_000}), encoding="utf-8")
    return dirs, str(config)


def test_link_engine_spark_writes_the_embedded_result(spark, staged, tmp_path, monkeypatch):
    dirs, config = staged
    monkeypatch.setenv("STAIRS_LINK_SPARK_MASTER", "local[2]")
    runner = CliRunner()
    embedded = runner.invoke(cli, ["link", *dirs, "--out", str(tmp_path / "e"), "--config", config, "-q"])
    assert embedded.exit_code == 0, embedded.output
    result = runner.invoke(cli, ["link", *dirs, "--out", str(tmp_path / "s"), "--config", config, "-q",
                                 "--engine", "spark"])
    assert result.exit_code == 0, result.output
    for name in ("clusters.parquet", "pairs.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "s" / name), pd.read_parquet(tmp_path / "e" / name),
                                      check_dtype=False)
    for name in ("linkage.html", "review.html"):  # the workbench pages, drawn from equal data
        assert _page_data(tmp_path / "s" / name) == _page_data(tmp_path / "e" / name), name
    explain = runner.invoke(cli, ["link", *dirs, "--out", str(tmp_path / "x"), "--config", config,
                                  "--engine", "spark", "--explain-blocking"])
    expected = runner.invoke(cli, ["link", *dirs, "--out", str(tmp_path / "x"), "--config", config,
                                   "--explain-blocking"])
    assert explain.exit_code == 0, explain.output
    assert explain.output == expected.output


def _page_data(path):
    text = path.read_text(encoding="utf-8")
    start = text.index('id="page-data">') + len('id="page-data">')
    return json.loads(text[start:text.index("</script>", start)])


def test_link_engine_spark_without_pyspark_says_how_to_install(staged, tmp_path, no_pyspark):
    dirs, config = staged
    result = CliRunner().invoke(cli, ["link", *dirs, "--out", str(tmp_path / "s"), "--engine", "spark"])
    assert result.exit_code == 2
    assert 'pip install "stairs-link[spark]"' in result.output
    assert "Traceback" not in result.output


def test_link_engine_spark_reads_and_writes_urls(spark, staged, tmp_path, monkeypatch):
    """Object-store style URLs (file:// here): staged inputs read by Spark, outputs as datasets
    plus model.json, review.csv and summary.json written through pyarrow's filesystems."""
    dirs, config = staged
    monkeypatch.setenv("STAIRS_LINK_SPARK_MASTER", "local[2]")
    runner = CliRunner()
    embedded = runner.invoke(cli, ["link", *dirs, "--out", str(tmp_path / "e"), "--config", config, "-q"])
    assert embedded.exit_code == 0, embedded.output
    out = tmp_path / "url-out"
    result = runner.invoke(cli, ["link", *[f"file://{d}" for d in dirs], "--out", f"file://{out}",
                                 "--config", config, "-q", "--engine", "spark"])
    assert result.exit_code == 0, result.output
    assert (out / "clusters.parquet").is_dir()  # a dataset of part files
    clusters = pd.read_parquet(out / "clusters.parquet")
    expected = pd.read_parquet(tmp_path / "e" / "clusters.parquet")
    pd.testing.assert_frame_equal(clusters.sort_values("record_key").reset_index(drop=True),
                                  expected.sort_values("record_key").reset_index(drop=True), check_dtype=False)
    for name in ("model.json", "review.csv", "summary.json"):
        assert (out / name).stat().st_size > 0, name
    assert not (out / "linkage.html").exists()  # not written to a URL (`stairs-link explain` on a copy)
    assert json.loads((out / "summary.json").read_text())["children"] == expected["cluster_id"].nunique()


def test_embedded_engine_refuses_urls(staged, tmp_path):
    dirs, _ = staged
    result = CliRunner().invoke(cli, ["link", f"file://{dirs[0]}", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "is a URL: that needs --engine spark" in result.output
