"""The committed suites match the builder, load in GX, and carry severity/why/fix."""

from __future__ import annotations

import json

import pytest

from stairs_link.quality.suites import (
    SUITES_DIR,
    VARIANTS,
    build_suite,
    load_suite,
    render_suite,
    suite_path,
)
from stairs_link.schema.tables import TABLES

EVERY_SUITE = [(table, variant) for variant in VARIANTS for table in TABLES]


@pytest.mark.parametrize(("table", "variant"), EVERY_SUITE)
def test_committed_suite_matches_builder(table: str, variant: str) -> None:
    path = suite_path(table, variant)
    assert path.read_text(encoding="utf-8") == render_suite(table, variant), (
        f"{path} is stale: run `python -m stairs_link.quality.suites`")


@pytest.mark.parametrize(("table", "variant"), EVERY_SUITE)
def test_every_expectation_has_severity_why_fix(table: str, variant: str) -> None:
    suite = load_suite(table, variant=variant)
    ids = [e["meta"]["check_id"] for e in suite["expectations"]]
    assert len(ids) == len(set(ids))
    for exp in suite["expectations"]:
        meta = exp["meta"]
        assert meta["severity"] in ("critical", "warning")
        assert exp["severity"] == meta["severity"]
        assert meta["why"] and meta["fix"] and meta["columns"]
        if meta["category"] == "completeness":
            assert meta["severity"] == "warning" and 0 < exp["kwargs"]["mostly"] <= 1


@pytest.mark.parametrize(("table", "variant"), EVERY_SUITE)
def test_suite_covers_code_lists_and_required_columns(table: str, variant: str) -> None:
    suite = build_suite(table, variant)
    checked = {e["kwargs"].get("column") for e in suite["expectations"]
               if e["type"] == "expect_column_values_to_be_in_set"}
    required = {e["kwargs"]["column"] for e in suite["expectations"]
                if e["type"] == "expect_column_values_to_not_be_null" and e["meta"]["severity"] == "critical"}
    for column in TABLES[table]:
        if column.codes:
            assert column.name in checked
        if column.required:
            assert column.name in required


def test_suites_load_in_great_expectations() -> None:
    from great_expectations.core.expectation_suite import ExpectationSuite

    for table, variant in EVERY_SUITE:
        suite = ExpectationSuite(**json.loads(suite_path(table, variant).read_text(encoding="utf-8")))
        assert len(suite.expectations) == len(build_suite(table, variant)["expectations"])


def test_edited_suite_without_meta_is_a_clear_error(tmp_path) -> None:
    from stairs_link.errors import QualityError

    suite = build_suite("measure")
    del suite["expectations"][0]["meta"]["severity"]
    suite["expectations"][1]["meta"]["check_id"] = suite["expectations"][2]["meta"]["check_id"]
    (tmp_path / "measure.json").write_text(json.dumps(suite), encoding="utf-8")
    with pytest.raises(QualityError) as info:
        load_suite("measure", tmp_path)
    message = str(info.value)
    assert "measure.json" in message and "lacks severity" in message and "repeats check_id" in message
    with pytest.raises(QualityError, match="not found"):
        load_suite("episode", tmp_path)


def test_pseudonymised_person_suite_swaps_plaintext_checks_for_token_and_encoding_checks() -> None:
    plain = {e["meta"]["check_id"] for e in build_suite("person")["expectations"]}
    pseudo = {e["meta"]["check_id"]: e for e in build_suite("person", "pseudonymised")["expectations"]}
    for name in ("nhs_number", "upn", "pnc_id"):
        assert f"person.{name}.check_digit" in plain and f"person.{name}.check_digit" not in pseudo
        assert pseudo[f"person.{name}.token_format"]["meta"]["severity"] == "critical"
    assert "person.prison_number.format" not in pseudo and "person.date_of_birth.age_at_admission" not in pseudo
    for name in ("given_name_bf", "family_name_bf", "dob_bf", "postcode_bf"):
        assert pseudo[f"person.{name}.filter_length"]["meta"]["severity"] == "critical"
        assert pseudo[f"person.{name}.completeness"]["meta"]["severity"] == "warning"
    assert not any(i.startswith(("person.given_name.completeness", "person.date_of_birth.completeness",
                                 "person.date_of_birth.not_after")) for i in pseudo)
    episode = {e["meta"]["check_id"] for e in build_suite("episode", "pseudonymised")["expectations"]}
    assert "episode.age_at_admission.range" in episode
    assert "episode.age_at_admission.range" not in {
        e["meta"]["check_id"] for e in build_suite("episode")["expectations"]}
    assert SUITES_DIR / "pseudonymised" / "person.json" == suite_path("person", "pseudonymised")
