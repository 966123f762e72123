"""`adapt --engine spark`: the same staged tables, rejects and manifest as the embedded engine.

CSV exports are cut into many tiny byte ranges here (``block_bytes`` of a few hundred bytes),
so record boundaries, row numbering across ranges, ragged rows, blank lines, quoted newlines
and duplicate local ids in different ranges are all exercised. Sample systems: a subset that
covers every format and layout (cp1252 with pipes, cp1252 with semicolons, UTF-8 with a BOM,
plain UTF-8 with four tables, XLSX, JSON); tests/adapt checks all 18 on the embedded engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from _helpers import SYSTMONE_PERSON_MAPPING
from click.testing import CliRunner

from stairs_link.adapt import adapt
from stairs_link.adapt.blocks import split_csv
from stairs_link.cli import cli
from stairs_link.engine import EngineError
from stairs_link.errors import MappingError
from stairs_link.io.csv import count_csv_rows

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SYSTEMS = ["yoi-northgate/nomis", "sch-moorside/arbor", "sch-oakfield/sims", "sch-oakfield/systmone",
                  "stc-kestrel/carenotes", "sch-oakfield/case-manager"]

MAPPING = SYSTMONE_PERSON_MAPPING + """\
      nhs_number: NHS Number
  episode:
    source: {{files: "stays.csv"}}
    fields:
      local_id: PatientID
      episode_id: StayID
      admission_date: {{column: Admitted, formats: ['%d/%m/%Y']}}
"""
HEADER = "PatientID,Forename,Surname,DOB,Gender,NHS Number\n"


def _patients(n: int = 90) -> str:
    """Synthetic rows with every awkward layout the reader handles, spread over the file."""
    lines = [HEADER]
    for i in range(1, n + 1):
        pid = {50: 3, 70: 10, 80: 10}.get(i, i)  # 50, 80: later duplicates; 70: row 10 was rejected
        forename = '"Anne\nMarie"' if i % 17 == 0 else ('"O""Neil"' if i % 13 == 0 else f"Kid{i}")
        surname = '"Smith, Jr"' if i % 7 == 0 else "Smith"
        gender = "Q" if i == 10 else str(1 + i % 2)
        nhs = "9434765919" if i % 5 == 0 else ""
        end = "\r\n" if i % 9 == 0 else "\n"
        lines.append(f"{pid},{forename},{surname},0{1 + i % 9}/04/2009,{gender},{nhs}{end}")
        if i % 11 == 0:
            lines.append("\n")  # blank lines are not rows
        if i % 19 == 0:
            lines.append(f"{500 + i},too,few\n" if i % 2 else f"{500 + i},a,b,c,1,2,extra\n")  # ragged rows
    return "".join(lines)


@pytest.fixture
def export(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "patients_a.csv").write_bytes(_patients().encode("utf-8"))
    (folder / "patients_b.csv").write_bytes((HEADER + "3,Again,Smith,01/01/2009,1,\n200,New,Smith,01/01/2009,2,\n")
                                            .encode("utf-8"))
    stays = ["PatientID,StayID,Admitted\n"] + [f"{i},S{i},01/0{1 + i % 9}/2024\n" for i in range(1, 40)]
    stays += ["999,S999,01/01/2024\n", "5,S1000,\n"]  # an orphan stay and a rejected one
    (folder / "stays.csv").write_text("".join(stays), encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING.format(sex_policy="reject", source_extra=""), encoding="utf-8")
    return mapping, folder


def _sorted(path: Path | str, keys: list[str]) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values(keys, kind="stable").reset_index(drop=True)


def assert_same_output(embedded: Path, spark_out: Path | str, e_manifest: dict, s_manifest: dict) -> None:
    """Equal tables and rejects (compared after sorting), equal manifests but the engine keys."""
    s_manifest = dict(s_manifest)
    assert s_manifest.pop("engine") == "spark"
    s_manifest.pop("spark")
    # the embedded completion record also has each file's bytes and sha256 (the engines'
    # Parquet files hold the same rows but are not byte-identical)
    e_manifest = json.loads(json.dumps(e_manifest))
    for entry in [*e_manifest["tables"].values(), e_manifest["rejects"]]:
        assert entry.pop("bytes") > 0 and len(entry.pop("sha256")) == 64
    assert s_manifest == e_manifest
    for source in s_manifest["sources"]:
        assert source["rows_in"] == source["rows_staged"] + source["rows_rejected"]
    for table in e_manifest["tables"]:
        pd.testing.assert_frame_equal(_sorted(f"{spark_out}/{table}.parquet", ["source_file", "source_row"]),
                                      _sorted(embedded / f"{table}.parquet", ["source_file", "source_row"]))
        written = Path(f"{spark_out}/{table}.parquet")
        first = sorted(written.glob("part-*.parquet"))[0] if written.is_dir() else written  # URL: a dataset
        assert pq.read_schema(first).metadata == pq.read_schema(embedded / f"{table}.parquet").metadata
    keys = ["source_file", "source_row", "column", "reason"]
    pd.testing.assert_frame_equal(_sorted(f"{spark_out}/rejects.parquet", keys),
                                  _sorted(embedded / "rejects.parquet", keys))


def test_split_ranges_parse_like_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(_patients().encode("utf-8"))
    split = split_csv(path, header_row=1, delimiter=",", encoding="utf-8", block_bytes=200)
    assert split.note is None and len(split.ranges) > 10
    data = path.read_bytes()
    assert split.ranges[0][0] == 0 and split.ranges[-1][1] == len(data)
    names = HEADER.strip().split(",")
    whole = count_csv_rows(path, path=path, names=names, delimiter=",", encoding="utf-8", skip_rows=1)
    counted = 0
    import pyarrow as pa

    for start, end in split.ranges:
        assert start == 0 or data[start - 1:start] == b"\n"
        counted += count_csv_rows(pa.BufferReader(data[start:end]), path=path, names=names, delimiter=",",
                                  encoding="utf-8", skip_rows=1 if start == 0 else 0)
    assert counted == whole == 90 + 4  # 90 rows and 4 ragged ones; blank lines are not rows


@pytest.mark.parametrize("preamble", ["", "Exported 31/03/2026 by \"report\" tool\r\n"])
def test_ranges_read_like_the_whole_file(tmp_path: Path, preamble: str) -> None:
    """The Spark tasks' reads (csv_batches on a byte range with a row offset) give the same
    rows, numbers and ragged-row rejects as the embedded read of the whole file (also with
    a title line above the header: header_row 2)."""
    import pyarrow as pa

    from stairs_link.io.csv import csv_batches

    path = tmp_path / "p.csv"
    path.write_bytes((preamble + _patients()).encode("utf-8"))
    header_row = 2 if preamble else 1
    names = HEADER.strip().split(",")
    options = {"path": path, "names": names, "delimiter": ",", "encoding": "utf-8"}

    def collect(batches) -> tuple[pd.DataFrame, list]:
        batches = list(batches)
        frame = pd.concat([b.frame.assign(row=b.source_rows) for b in batches], ignore_index=True)
        return frame, [b for batch in batches for b in batch.bad_rows]

    whole, whole_bad = collect(csv_batches(path, skip_rows=header_row, **options))
    data = path.read_bytes()
    ranges = split_csv(path, header_row=header_row, delimiter=",", encoding="utf-8", block_bytes=60).ranges
    assert len(ranges) > 30
    parts, bad, offset = [], [], 0
    for start, end in ranges:
        skip = header_row if start == 0 else 0
        frame, ragged = collect(csv_batches(pa.BufferReader(data[start:end]), skip_rows=skip, row_offset=offset,
                                            **options))
        parts.append(frame)
        bad += ragged
        offset += count_csv_rows(pa.BufferReader(data[start:end]), skip_rows=skip, **options)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    assert bad == whole_bad and len(bad) == 4
    assert whole.loc[whole.Forename.str.contains("\n"), "row"].tolist() == [17 + 0, 34 + 1, 51 + 2, 68 + 3, 85 + 4]


@pytest.mark.parametrize("text, note", [
    ('1,ab"c,x\n2,d,e\n' * 30, "a quote inside an unquoted value"),
    ('1,"ab"c,x\n2,d,e\n' * 30, "text after a closing quote"),
    ('1,b,c\n' * 30 + '2,"unterminated,x\n', "an odd number of quotes"),
])
def test_irregular_quoting_is_not_split(tmp_path: Path, text: str, note: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text("a,b,c\n" + text, encoding="utf-8")
    split = split_csv(path, header_row=1, delimiter=",", encoding="utf-8", block_bytes=20)
    assert split.ranges == [(0, path.stat().st_size)]
    assert split.note is not None and split.note.startswith(note)


def test_many_ranges_give_the_embedded_result(spark, export, tmp_path: Path) -> None:
    from stairs_link.engine.spark.adapt import spark_adapt

    mapping, folder = export
    embedded = adapt(mapping, [folder], tmp_path / "e")
    result = spark_adapt(mapping, [folder], tmp_path / "s", spark=spark, block_bytes=700)
    assert_same_output(tmp_path / "e", tmp_path / "s", embedded.manifest, result.manifest)
    info = result.manifest["spark"]
    assert info["ranges"]["patients_a.csv"] >= 4 and info["not_split"] == {}
    assert info["cross_task_duplicates"] >= 2  # patients_b id 3, and row 52 (id 3 first staged at row 3)
    rejects = pd.read_parquet(tmp_path / "s" / "rejects.parquet")
    dup = rejects[rejects.reason == "duplicate_local_id"]
    # data line i is row i + i // 19 (a ragged row follows every 19th line and takes a number)
    assert sorted(zip(dup.source_file, dup.source_row)) == [("patients_a.csv", 52), ("patients_a.csv", 84),
                                                             ("patients_b.csv", 1)]
    person = pd.read_parquet(tmp_path / "s" / "person.parquet")
    assert person.loc[person.local_id == "10", "source_row"].tolist() == [73]  # first STAGED row wins
    assert (rejects.reason == "ragged_row").sum() == 4
    assert result.manifest["orphan_event_rows"] == {"episode": 1}
    assert any("1 episode row(s) moved to rejects as orphan_event" in w for w in result.manifest["warnings"])
    orphan = rejects[rejects.reason == "orphan_event"]
    assert orphan[["source_file", "source_row", "raw_value"]].values.tolist() == [["stays.csv", 40, "999"]]


@pytest.mark.parametrize("system", SAMPLE_SYSTEMS)
def test_sample_system_gives_the_embedded_result(spark, system: str, tmp_path: Path) -> None:
    from stairs_link.engine.spark.adapt import spark_adapt

    mapping = ROOT / "mappings" / f"{system}.yaml"
    export = ROOT / "sample_data" / "exports" / system
    embedded = adapt(mapping, [export], tmp_path / "e")
    result = spark_adapt(mapping, [export], tmp_path / "s", spark=spark, block_bytes=4000)
    assert_same_output(tmp_path / "e", tmp_path / "s", embedded.manifest, result.manifest)
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == sorted(p.name for p in (tmp_path / "e").iterdir())


def test_url_output_is_dataset_directories(spark, export, tmp_path: Path) -> None:
    from stairs_link.engine.spark.adapt import spark_adapt

    mapping, folder = export
    embedded = adapt(mapping, [folder], tmp_path / "e")
    result = spark_adapt(mapping, [folder], f"file://{tmp_path}/s", spark=spark, block_bytes=1500)
    assert (tmp_path / "s" / "person.parquet").is_dir()
    assert len(list((tmp_path / "s" / "person.parquet").glob("part-*.parquet"))) > 1
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == result.manifest
    assert_same_output(tmp_path / "e", tmp_path / "s", embedded.manifest, manifest)


def test_fail_policy_error_from_a_task_names_the_embedded_row(spark, export, tmp_path: Path) -> None:
    from stairs_link.engine.spark.adapt import spark_adapt

    mapping, folder = export
    mapping.write_text(MAPPING.format(sex_policy="fail", source_extra=""), encoding="utf-8")
    with pytest.raises(MappingError) as embedded:
        adapt(mapping, [folder], tmp_path / "e")
    with pytest.raises(MappingError) as on_spark:
        spark_adapt(mapping, [folder], tmp_path / "s", spark=spark, block_bytes=700)
    assert str(on_spark.value) == str(embedded.value)
    assert on_spark.value.row == 10
    assert not any(p.name.startswith(".spark-parts") for p in (tmp_path / "s").iterdir())


def test_pseudonymised_adapt_is_refused(export, tmp_path: Path) -> None:
    from stairs_link.engine.spark.adapt import spark_adapt

    mapping, folder = export
    with pytest.raises(EngineError, match="not available on the Spark engine"):
        spark_adapt(mapping, [folder], tmp_path / "s", pseudonymise_key=b"k" * 32)


def test_cli_engine_spark_matches_embedded(spark, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STAIRS_LINK_SPARK_MASTER", "local[2]")
    mapping = str(ROOT / "mappings" / "yoi-riverbank" / "nomis.yaml")
    export = str(ROOT / "sample_data" / "exports" / "yoi-riverbank" / "nomis")
    runner = CliRunner()
    embedded = runner.invoke(cli, ["adapt", mapping, export, "--out", str(tmp_path / "e"), "-q"])
    assert embedded.exit_code == 0, embedded.output
    result = runner.invoke(cli, ["adapt", mapping, export, "--out", str(tmp_path / "s"), "-q", "--engine", "spark"])
    assert result.exit_code == 0, result.output
    assert result.output.replace(str(tmp_path / "s"), "OUT") == embedded.output.replace(str(tmp_path / "e"), "OUT")
    e_manifest = json.loads((tmp_path / "e" / "manifest.json").read_text(encoding="utf-8"))
    s_manifest = json.loads((tmp_path / "s" / "manifest.json").read_text(encoding="utf-8"))
    assert s_manifest["spark"]["master"] == "local[2]"
    assert_same_output(tmp_path / "e", tmp_path / "s", e_manifest, s_manifest)


def test_cli_engine_spark_without_pyspark_says_how_to_install(export, tmp_path: Path, no_pyspark) -> None:
    mapping, folder = export
    result = CliRunner().invoke(cli, ["adapt", str(mapping), str(folder), "--out", str(tmp_path / "s"),
                                      "--engine", "spark"])
    assert result.exit_code == 2
    assert result.output == ('Error: the Spark engine needs the optional package pyspark, which is not installed '
                             'Fix: install it with: pip install "stairs-link[spark]"\n')
    assert not (tmp_path / "s").exists()


def test_cli_url_out_needs_the_spark_engine(export, tmp_path: Path) -> None:
    mapping, folder = export
    result = CliRunner().invoke(cli, ["adapt", str(mapping), str(folder), "--out", f"file://{tmp_path}/s"])
    assert result.exit_code == 2
    assert "is a URL: that needs --engine spark" in result.output


def test_a_batch_whose_dates_are_all_blank_adapts(export, tmp_path: Path) -> None:
    """A range (or embedded batch) holding only blank dates: the rows are rejected as
    missing_value, not a crash (this once raised IndexError in standardise.dates)."""
    mapping, folder = export
    (folder / "stays.csv").write_text("PatientID,StayID,Admitted\n1,S1,\n2,S2,\n", encoding="utf-8")
    result = adapt(mapping, [folder], tmp_path / "e")
    episode = next(s for s in result.manifest["sources"] if s["table"] == "episode")
    assert (episode["rows_in"], episode["rows_staged"], episode["rows_rejected"]) == (2, 0, 2)
    rejects = pd.read_parquet(tmp_path / "e" / "rejects.parquet")
    assert rejects[rejects.table == "episode"].reason.tolist() == ["missing_value", "missing_value"]


def test_auto_range_size_keeps_every_core_busy_within_bounds() -> None:
    from stairs_link.engine.spark.adapt import MAX_AUTO_BLOCK, MIN_AUTO_BLOCK, auto_block_bytes

    assert auto_block_bytes(82 << 20, 2) == 41 << 20  # two ranges for two cores
    assert auto_block_bytes(1 << 20, 2) == MIN_AUTO_BLOCK  # small files: one range
    assert auto_block_bytes(100 << 30, 200) == MAX_AUTO_BLOCK  # huge files: many 64 MB ranges


def test_cli_pseudonymise_with_spark_is_refused_cleanly(export, tmp_path: Path) -> None:
    from stairs_link.privacy.keys import new_key_file

    mapping, folder = export
    key = new_key_file(tmp_path / "site.key")
    result = CliRunner().invoke(cli, ["adapt", str(mapping), str(folder), "--out", str(tmp_path / "s"),
                                      "--engine", "spark", "--pseudonymise", "--key-file", str(key)])
    assert result.exit_code == 2
    assert result.output == ("Error: pseudonymised adapt is not available on the Spark engine "
                             "Fix: use --engine embedded with --pseudonymise\n")
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(("encoding", "end"), [("utf-8", "\n"), ("utf-16", "\r")])
def test_quote_imbalanced_file_gives_the_embedded_result(spark, export, tmp_path: Path, encoding: str,
                                                         end: str) -> None:
    """Issue 12: stray and unclosed quotes are rejected as quote_imbalance by both engines,
    and the rows between them are staged (the file is read whole, those records skipped);
    also in UTF-16 (scanned as its UTF-8 transcoding) with bare CR line ends (old Mac)."""
    from stairs_link.engine.spark.adapt import spark_adapt

    mapping, folder = export
    rows = [f"{300 + i},Kid{i},Smith,01/04/2009,1,{end}" for i in range(60)]
    rows[5] = f'305,"Anna,Smith,01/04/2009,1,{end}'  # stray quote, "closed" 40 rows later by another
    rows[45] = f'345,"Bob,Smith,01/04/2009,2,{end}'
    rows[50] = f'350,Ann,"Lee\nSmith",01/04/2009,2,{end}'  # a real quoted line break
    rows[58] = f'358,Cy,"Smith,01/04/2009,1,{end}'  # unclosed
    (folder / "patients_c.csv").write_bytes((HEADER.replace("\n", end) + "".join(rows)).encode(encoding))
    embedded = adapt(mapping, [folder], tmp_path / "e")
    result = spark_adapt(mapping, [folder], tmp_path / "s", spark=spark, block_bytes=300)
    assert_same_output(tmp_path / "e", tmp_path / "s", embedded.manifest, result.manifest)
    assert result.manifest["spark"]["not_split"]["patients_c.csv"].endswith("rejected for quote_imbalance")
    rejects = pd.read_parquet(tmp_path / "s" / "rejects.parquet")
    stray = rejects[rejects.reason == "quote_imbalance"]
    assert sorted(stray.source_row) == [6, 46, 59]
    source = next(s for s in result.manifest["sources"] if s["file"] == "patients_c.csv")
    assert source["rows_in"] == 60 and source["rows_staged"] == 57
    assert source["lines"]["quoted_line_breaks"] == 1 and source["lines"]["unexplained_line_difference"] == 0
