"""`stairs-link check` on hand-made staged tables: a clean one passes, a corrupted copy fails
and names each broken column; examples are masked unless --show-values."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner
from conftest import make_tables, write_staged

from stairs_link.cli import cli
from stairs_link.quality import check


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check", *args])
    return result.exit_code, result.output


def test_clean_staged_passes(clean_staged: Path, tmp_path: Path) -> None:
    code, output = _run(str(clean_staged), "--out", str(tmp_path / "report"))
    assert code == 0, output
    assert "PASSED: 0 critical" in output
    report = json.loads((tmp_path / "report" / "check.json").read_text(encoding="utf-8"))
    assert report["passed"] is True
    # every expectation of every table is in the report, with its result
    tables = {r["table"] for r in report["results"]}
    assert {"person", "episode", "formulation", "incident", "education", "measure"} <= tables
    assert all("success" in r and "severity" in r for r in report["results"])
    assert (tmp_path / "report" / "check.html").read_text(encoding="utf-8").count("Passed") >= 1


def _corrupt(tmp_path: Path) -> Path:
    tables = make_tables()
    person = tables["person"]
    person.loc[1, "record_key"] = person.loc[0, "record_key"]  # duplicate record_key
    person.loc[2, "date_of_birth"] = dt.date(2030, 1, 5)  # after extracted_at (2024-03-31)
    person.loc[3, "nhs_number"] = "9434765918"  # fails modulus 11 (9434765919 is valid)
    return write_staged(tmp_path / "staged_bad", tables)


def test_corrupted_copy_fails_and_names_each_broken_column(tmp_path: Path) -> None:
    bad = _corrupt(tmp_path)
    code, output = _run(str(bad), "--out", str(tmp_path / "report"))
    assert code == 1, output
    assert "FAILED" in output
    report = json.loads((tmp_path / "report" / "check.json").read_text(encoding="utf-8"))
    failed = {r["check_id"]: r for r in report["results"] if not r["success"] and r["severity"] == "critical"}
    assert failed["person.record_key.unique"]["columns"] == ["record_key"]
    assert failed["person.record_key.unique"]["unexpected_count"] == 2
    assert "date_of_birth" in failed["person.date_of_birth.not_after_extraction"]["columns"]
    assert failed["person.date_of_birth.not_after_extraction"]["unexpected_count"] == 1
    assert failed["person.nhs_number.check_digit"]["columns"] == ["nhs_number"]
    assert failed["person.nhs_number.check_digit"]["examples"][0]["source_row"] == 4
    for column in ("person.record_key", "person.date_of_birth", "person.nhs_number"):
        assert column in output
    html = (tmp_path / "report" / "check.html").read_text(encoding="utf-8")
    for column in ("record_key", "date_of_birth", "nhs_number"):
        assert f"<b>{column}</b>" in html
    # masked by default: the bad NHS number never appears, its masked form does
    assert "9434765918" not in html and "9434765918" not in json.dumps(report)
    assert "94*******8" in html
    assert "2030-**-**" in html


def test_show_values_reveals_real_values(tmp_path: Path) -> None:
    bad = _corrupt(tmp_path)
    code, _ = _run(str(bad), "--out", str(tmp_path / "report"), "--show-values")
    assert code == 1
    html = (tmp_path / "report" / "check.html").read_text(encoding="utf-8")
    assert "9434765918" in html and "2030-01-05" in html


def test_warnings_alone_never_fail(tmp_path: Path) -> None:
    person = make_tables()["person"]
    person["postcode"] = None  # completeness warning
    person["ethnicity"] = None
    staged = write_staged(tmp_path / "staged", {"person": person})
    result = check([staged], tmp_path / "report")
    warned = {o.check_id for o in result.results if not o.success}
    assert {"person.postcode.completeness", "person.ethnicity.completeness"} <= warned
    assert result.passed


def test_event_checks_catch_dates_codes_and_orphans(tmp_path: Path) -> None:
    tables = {k: v for k, v in make_tables().items() if k in ("person", "episode", "measure")}
    episode, measure = tables["episode"], tables["measure"]
    episode.loc[0, "discharge_date"] = dt.date(2022, 1, 1)  # before admission
    episode.loc[1, "legal_basis"] = "<J1>"  # SSDA903 code not mapped (and HTML to escape)
    episode.loc[2, "record_key"] = "sch-oakfield:systmone:NOBODY"
    measure.loc[0, "score"] = 55.0  # ORS is 0-40
    staged = write_staged(tmp_path / "staged", tables)
    result = check([staged], tmp_path / "report")
    failed = {o.check_id: o for o in result.results if not o.success}
    assert failed["episode.admission_before_discharge"].unexpected_count == 1
    assert failed["episode.legal_basis.in_code_list"].unexpected_values == [{"value": "<J1>", "count": 1}]
    html = (tmp_path / "report" / "check.html").read_text(encoding="utf-8")
    assert "&lt;J1&gt;" in html and "<J1>" not in html
    assert failed["episode.record_key.person_known"].unexpected_count == 1
    assert failed["measure.score.in_instrument_range"].unexpected_count == 1
    assert not result.passed


def test_duplicate_record_key_across_directories(tmp_path: Path) -> None:
    person = {"person": make_tables()["person"]}
    one = write_staged(tmp_path / "a", person)
    two = write_staged(tmp_path / "b", person)  # the same export staged twice
    result = check([one, two], tmp_path / "report")
    unique = next(o for o in result.results if o.check_id == "person.record_key.unique")
    assert not unique.success and unique.unexpected_count == 12
    assert unique.by_source == {str(one): 6, str(two): 6}
    assert {e["directory"] for e in unique.examples} <= {str(one), str(two)}
    # same file name and row numbers in two directories are not duplicates of each other
    provenance = next(o for o in result.results if o.check_id == "person.source_row.unique")
    assert provenance.success
    assert not result.passed
