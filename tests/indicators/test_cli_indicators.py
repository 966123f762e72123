"""`stairs-link indicators`: files written, disclosure by default, unsuppressed only on request."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from stairs_link.cli import cli


def test_indicators_command_writes_a_disclosure_controlled_tidy_table(world_dataset, tmp_path):
    out = tmp_path / "ind"
    result = CliRunner().invoke(cli, ["indicators", str(world_dataset), "--by", "site_id,setting_type,year",
                                      "--window", "14", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "written to" in result.output
    raw = (out / "indicators.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    table = pd.read_csv(out / "indicators.csv", encoding="utf-8-sig")
    assert {"definition_id", "site_id", "setting_type", "year", "numerator", "denominator", "value",
            "suppressed"} <= set(table.columns)
    assert not table["publication"].str.contains("NOT FOR PUBLICATION").any()
    shown = table[~table["suppressed"] & table["numerator"].notna()]
    assert (shown["numerator"] % 5 == 0).all() and (shown["denominator"] % 5 == 0).all()
    assert table["suppressed"].any()  # site x year cells of a 2,000-child world include small ones
    assert table.loc[table["suppressed"], "value"].isna().all()
    meta = json.loads((out / "indicators.json").read_text(encoding="utf-8"))
    assert meta["parameters"]["window_days"] == 14 and meta["as_at"] == "2026-01-31"
    assert all(d["source"]["section"] for d in meta["definitions"])
    assert not list(out.glob("*NOT_FOR_PUBLICATION*"))


def test_unsuppressed_only_on_request_and_marked(world_dataset, tmp_path):
    out = tmp_path / "ind"
    result = CliRunner().invoke(cli, ["indicators", str(world_dataset), "--by", "setting_type", "--unsuppressed",
                                      "--indicator", "formulation.*", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["unsuppressed_written"] is True
    raw = pd.read_csv(out / "indicators_unsuppressed_NOT_FOR_PUBLICATION.csv", encoding="utf-8-sig")
    assert (raw["publication"] == "NOT FOR PUBLICATION: unsuppressed counts").all()
    assert set(raw["definition_id"].str.split(".").str[0]) == {"formulation"}
    # a later run without the flag removes the old unsuppressed copy
    CliRunner().invoke(cli, ["indicators", str(world_dataset), "-o", str(out), "-q"])
    assert not list(out.glob("*NOT_FOR_PUBLICATION*"))


def test_bad_requests_are_clean_errors(world_dataset, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["indicators", str(world_dataset), "--by", "colour", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "cannot group by 'colour'" in result.output and "site_id" in result.output
    result = runner.invoke(cli, ["indicators", str(world_dataset), "--category", "oppositional=shouting",
                                 "-o", str(tmp_path)])
    assert result.exit_code == 2 and "unknown incident kind 'shouting'" in result.output
    result = runner.invoke(cli, ["indicators", str(tmp_path), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no build.json" in result.output
    listed = runner.invoke(cli, ["indicators", "--list"])
    assert listed.exit_code == 0 and "formulation.children_with_formulation" in listed.output
