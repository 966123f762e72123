"""Issue 12's list of tracebacks for user or environment errors, each through the real CLI on
a small pipeline built from the generator's exports: every one ends in exit 0 (the input is
fine) or in one `Error: ... Fix: ...` line with exit 2 — never a traceback, and never the
catch-all for exceptions no check anticipated ("unexpected X (a stairs-link bug ...)").

docs/hostile-cases.md lists which test covers which case of the issue."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from stairs_link.cli import cli
from stairs_link.resources import data_dir
from stairs_link.synth import write_exports

SYSTEMS = [("yoi-riverbank", "systmone"), ("yoi-riverbank", "nomis")]


def _run(*args: object):  # noqa: ANN202
    return CliRunner().invoke(cli, [str(a) for a in args])


def _clean(result, codes: tuple[int, ...] = (2,)) -> str:  # noqa: ANN001
    """The result ended in an allowed exit code, with no traceback; exit 2 is one Error/Fix line."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in codes, result.output
    assert "Traceback" not in result.output
    if result.exit_code != 2:
        return ""
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Fix:" in errors[0], result.output
    assert "a stairs-link bug" not in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | list[Path]]:
    """Two adapted systems of a 20-child generated world, linked and built (about 10 s)."""
    root = tmp_path_factory.mktemp("issue12")
    write_exports(root / "gen", 20, 3)
    staged = []
    for site, system in SYSTEMS:
        out = root / "staged" / f"{site}-{system}"
        result = _run("adapt", data_dir("mappings") / site / f"{system}.yaml", root / "gen" / "exports" / site / system,
                      "--out", out, "-q")
        assert result.exit_code == 0, result.output
        staged.append(out)
    assert _run("link", *staged, "--out", root / "linked", "-q").exit_code == 0
    assert _run("build", root / "linked", *staged, "--out", root / "dataset", "-q").exit_code == 0
    import pandas as pd

    truth = pd.read_parquet(root / "gen" / "truth" / "records.parquet")
    linked_keys = pd.read_parquet(root / "linked" / "clusters.parquet")["record_key"]
    truth[truth["record_key"].isin(linked_keys)].to_parquet(root / "truth.parquet")  # the linked systems' truth
    blocker = root / "a-file.txt"
    blocker.write_text("not a directory", encoding="utf-8")
    return {"root": root, "staged": staged, "linked": root / "linked", "dataset": root / "dataset",
            "unwritable": blocker / "out"}  # below a file: unwritable even for root


# Every command that writes: on the code before issue 12 the first ten ended in a traceback
# (NotADirectoryError; the issue counted "9 of 11"), the last three already held.
UNWRITABLE = {
    "adapt": lambda p, out: ["adapt", data_dir("mappings") / "yoi-riverbank" / "systmone.yaml",
                             p["root"] / "gen" / "exports" / "yoi-riverbank" / "systmone", "--out", out],
    "check": lambda p, out: ["check", *p["staged"], "--out", out],
    "link": lambda p, out: ["link", *p["staged"], "--out", out],
    "build": lambda p, out: ["build", p["linked"], *p["staged"], "--out", out],
    "report": lambda p, out: ["report", p["dataset"], "--out", out / "report.html"],
    "indicators": lambda p, out: ["indicators", p["dataset"], "--out", out],
    "analysis": lambda p, out: ["analysis", p["dataset"], "--out", out],
    "evaluate": lambda p, out: ["evaluate", p["linked"], "--truth", p["root"] / "truth.parquet", "-o", out / "e.json"],
    "mapping new": lambda p, out: ["mapping", "new", p["root"] / "gen" / "exports" / "yoi-riverbank" / "systmone",
                                   "--kind", "health", "--site", "yoi-riverbank", "--out", out / "m.yaml"],
    "demo": lambda p, out: ["demo", "--out", out],
    "synth": lambda p, out: ["synth", "--children", "3", "--out", out],
    "explain": lambda p, out: ["explain", p["linked"], "--out", out],
    "key new": lambda p, out: ["key", "new", "--out", out / "site.key"],
}


@pytest.mark.parametrize("command", list(UNWRITABLE))
def test_unwritable_out_is_one_line(pipeline, command: str) -> None:
    line = _clean(_run(*UNWRITABLE[command](pipeline, pipeline["unwritable"]), "-q"))
    assert "a-file.txt" in line


def test_binary_model_through_link(pipeline) -> None:
    model = pipeline["root"] / "model.json"
    model.write_bytes(bytes(range(256)) * 4)
    line = _clean(_run("link", *pipeline["staged"], "--out", pipeline["root"] / "l2", "--model", model, "-q"))
    assert "model.json" in line


@pytest.mark.parametrize("encoding", ["utf-16", "rot13"])
def test_encoding_option_that_cannot_read_the_export(pipeline, encoding: str) -> None:
    site, system = SYSTEMS[0]
    line = _clean(_run("adapt", data_dir("mappings") / site / f"{system}.yaml", pipeline["root"] / "gen" / "exports" / site /
                       system, "--out", pipeline["root"] / f"enc-{encoding}", "--encoding", encoding, "-q"))
    assert "patients.csv" in line


# --- small hand-made exports (synthetic) -------------------------------------------------

MAPPING = """\
site_id: sch-oak
setting_type: SCH
system_kind: health
source_system: systmone
extracted_at: '2026-01-31'
tables:
  person:
    source: {{files: 'patients.csv'{source}}}
    fields:
      local_id: PatientID
      given_name: Forename
      family_name: Surname
      date_of_birth: {{column: DOB, formats: ['%Y-%m-%d']{dob}}}
      sex: {{column: Gender, codes: nhs_gender_code, unknown_codes: keep_unknown}}
"""
HEADER = "PatientID,Forename,Surname,DOB,Gender\n"


def _stage(tmp_path: Path, rows: str, name: str = "s", source: str = "", dob: str = "") -> tuple[Path, object]:
    (tmp_path / f"{name}.yaml").write_text(MAPPING.format(source=source, dob=dob), encoding="utf-8")
    export = tmp_path / f"{name}-export"
    export.mkdir()
    (export / "patients.csv").write_text(HEADER + rows, encoding="utf-8")
    result = _run("adapt", tmp_path / f"{name}.yaml", export, "--out", tmp_path / name, "-q")
    return tmp_path / name, result


def test_delimiter_of_two_characters_through_adapt(tmp_path: Path) -> None:
    # was: passed `mapping check`, then a TypeError in adapt
    _, result = _stage(tmp_path, "1,Ann,Lee,2009-01-02,2\n", source=", delimiter: 'ab'")
    assert "delimiter" in _clean(result)


def test_report_and_indicators_on_a_dataset_without_stays(tmp_path: Path) -> None:
    # person records only, no episodes: was a KeyError in the pathways indicators (report, indicators)
    staged, result = _stage(tmp_path, "1,Ann,Lee,2008-12-31,2\n2,Bob,Ray,2009-01-02,1\n3,Ann,Lee,2009-03-04,2\n")
    _clean(result, (0,))
    _clean(_run("link", staged, "--out", tmp_path / "linked", "-q"), (0,))
    _clean(_run("build", tmp_path / "linked", staged, "--out", tmp_path / "dataset", "-q"), (0,))
    _clean(_run("report", tmp_path / "dataset", "--out", tmp_path / "report.html", "-q"), (0,))
    assert (tmp_path / "report.html").stat().st_size > 1000
    _clean(_run("indicators", tmp_path / "dataset", "--out", tmp_path / "indicators", "-q"), (0,))


def test_date_of_birth_9999_12_31_in_staged_parquet(tmp_path: Path) -> None:
    # kept on purpose (open_ended: [] turns the placeholder list off): every later stage copes
    staged, result = _stage(tmp_path, "1,Ann,Lee,9999-12-31,2\n2,Bob,Ray,2009-01-02,1\n", dob=", open_ended: []")
    _clean(result, (0,))
    import pyarrow.parquet as pq

    assert str(pq.read_table(staged / "person.parquet").column("date_of_birth")[0]) == "9999-12-31"
    _clean(_run("check", staged, "--out", tmp_path / "check", "-q"), (0, 1))  # a DOB in the future may fail a check
    _clean(_run("link", staged, "--out", tmp_path / "linked", "-q"), (0,))
    _clean(_run("build", tmp_path / "linked", staged, "--out", tmp_path / "dataset", "-q"), (0,))
    _clean(_run("report", tmp_path / "dataset", "--out", tmp_path / "report.html", "-q"), (0,))
    _clean(_run("analysis", tmp_path / "dataset", "--out", tmp_path / "analysis", "-q"), (0,))


def test_build_on_zero_records(tmp_path: Path) -> None:
    # was: "unexpected ValueError: merge on object and float64 columns" (the catch-all)
    staged, result = _stage(tmp_path, "")  # a header-only export: 0 records, a valid adapt
    _clean(result, (0,))
    _clean(_run("link", staged, "--out", tmp_path / "linked", "-q"), (0,))
    line = _clean(_run("build", tmp_path / "linked", staged, "--out", tmp_path / "dataset", "-q"), (2,))
    assert "no person records" in line
    assert not (tmp_path / "dataset" / "children.parquet").exists()


def test_mapping_new_on_a_header_only_csv_drafts_from_the_header(tmp_path: Path) -> None:
    # was: StopIteration (a traceback), then the catch-all
    (tmp_path / "patients.csv").write_text(HEADER, encoding="utf-8")
    out = tmp_path / "m.yaml"
    _clean(_run("mapping", "new", tmp_path / "patients.csv", "--kind", "health", "--site", "sch-oak", "--out", out), (0,))
    text = out.read_text(encoding="utf-8")
    assert "local_id: PatientID" in text and "given_name: Forename" in text


def test_mapping_new_on_a_text_file_named_xlsx(tmp_path: Path) -> None:
    # was: BadZipFile (a traceback), then the catch-all
    (tmp_path / "patients.xlsx").write_text(HEADER + "1,Ann,Lee,2009-01-02,2\n", encoding="utf-8")
    line = _clean(_run("mapping", "new", tmp_path / "patients.xlsx", "--kind", "health", "--site", "sch-oak",
                       "--out", tmp_path / "m.yaml"))
    assert "patients.xlsx" in line and "XLSX workbook" in line


@pytest.fixture(scope="module")
def replaced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | bytes]:
    """A staged folder whose 30-row tables sit beside the manifest of an earlier 2-row run (what
    `adapt` killed between its renames and its manifest left), and a linked folder for build."""
    root = tmp_path_factory.mktemp("replaced")
    (root / "s.yaml").write_text(MAPPING.format(source="", dob=""), encoding="utf-8")
    for name, n in (("small", 2), ("big", 30)):
        (root / name).mkdir()
        (root / name / "patients.csv").write_text(
            HEADER + "".join(f"{i},Ann{i},Lee,2008-12-{1 + i % 28:02d},2\n" for i in range(n)), encoding="utf-8")
    staged = root / "staged"
    assert _run("adapt", root / "s.yaml", root / "small", "--out", staged, "-q").exit_code == 0
    old = (staged / "manifest.json").read_bytes()
    assert _run("adapt", root / "s.yaml", root / "big", "--out", staged, "-q").exit_code == 0
    assert _run("link", staged, "--out", root / "linked", "-q").exit_code == 0
    return {"root": root, "staged": staged, "old": old}


@pytest.mark.parametrize("manifest", ["older run", "0 bytes"])
@pytest.mark.parametrize("command", ["check", "link", "build"])
def test_tables_beside_an_old_or_empty_manifest_are_refused(replaced, command: str, manifest: str) -> None:
    # was: check PASSED, link and build used the folder
    staged, root = replaced["staged"], replaced["root"]
    good = (staged / "manifest.json").read_bytes()
    (staged / "manifest.json").write_bytes(replaced["old"] if manifest == "older run" else b"")
    try:
        args = {"check": ["check", staged], "link": ["link", staged],
                "build": ["build", root / "linked", staged]}[command]
        line = _clean(_run(*args, "--out", root / f"{command}-{manifest[0]}", "-q"))
        assert "manifest" in line and "adapt" in line
    finally:
        (staged / "manifest.json").write_bytes(good)


def test_mapping_check_against_a_swapped_export_prints_no_value(tmp_path: Path) -> None:
    # the Gender/Surname swap: 30 surnames arrive as sex codes; `mapping check --against`
    # listed them (it has no --pseudonymise: values only with --show-values)
    surnames = [f"Wojciechowska{i:02d}" for i in range(30)]
    (tmp_path / "m.yaml").write_text(MAPPING.format(source="", dob=""), encoding="utf-8")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "patients.csv").write_text(
        "PatientID,Forename,Gender,DOB,Surname\n" + "".join(f"{i},Ann,{s},2009-04-03,1\n" for i, s in enumerate(surnames)),
        encoding="utf-8")
    result = _run("mapping", "check", tmp_path / "m.yaml", "--against", tmp_path / "export")
    _clean(result, (0, 1))
    assert not [s for s in surnames if s in result.output], result.output
    assert "#" in result.output  # the unknown codes are there, as labels
    shown = _run("mapping", "check", tmp_path / "m.yaml", "--against", tmp_path / "export", "--show-values")
    assert surnames[0] in shown.output


@pytest.mark.parametrize("command", ["link", "build", "indicators", "analysis"])
@pytest.mark.parametrize("code, words", [(28, "disk is full"), (30, "read-only")])
def test_disk_full_or_read_only_while_writing_parquet(pipeline, monkeypatch, command: str, code: int,
                                                      words: str) -> None:
    # the "disk full" and "read-only output" beyond adapt (tests/test_error_path.py): every
    # Parquet write of these commands fails as the operating system would fail it
    import pyarrow.parquet as pq

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(code, "simulated", str(pipeline["root"] / "out" / "x.parquet"))

    monkeypatch.setattr(pq, "ParquetWriter", refuse)
    monkeypatch.setattr(pq, "write_table", refuse)
    out = pipeline["root"] / f"full-{command}-{code}"
    line = _clean(_run(*UNWRITABLE[command](pipeline, out)[:-2], "--out", out, "-q"))
    assert words in line, line
