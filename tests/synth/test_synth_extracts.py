"""Annual extracts of the synthetic world: cumulative and year-only, open stays, edits."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from stairs_link.cli import cli
from stairs_link.synth.exports import draw, site_system_frames
from stairs_link.synth.extracts import annual_extracts

YEARS = (2023, 2024, 2025)


@pytest.fixture(scope="module")
def drawn():
    return draw(300, 42)


@pytest.fixture(scope="module")
def both(drawn):
    return {style: annual_extracts(drawn, YEARS, style) for style in ("cumulative", "year-only")}


def _table(extract, name: str) -> pd.DataFrame:
    return pd.concat([frames[name] for _, _, frames in extract.systems if name in frames], ignore_index=True)


def test_last_cumulative_extract_is_the_whole_world(drawn, both):
    last = both["cumulative"].extracts[-1]
    full = list(site_system_frames(drawn))
    for name in ("person", "episode", "incident", "formulation", "education", "measure"):
        want = pd.concat([f[name] for _, _, f in full if name in f], ignore_index=True)
        assert len(_table(last, name)) == len(want), name
    assert last.extracted_at == "2026-01-31T06:00:00"


def test_year_only_extracts_hold_each_year_and_together_everything(both):
    cum, year = both["cumulative"].extracts, both["year-only"].extracts
    assert len(_table(year[0], "person")) == len(_table(cum[0], "person"))  # the first delivery: all so far
    for k in (1, 2):
        assert len(_table(year[k], "person")) < len(_table(cum[k], "person")) / 2
        incidents = pd.to_datetime(_table(year[k], "incident")["incident_at"])
        assert (incidents.dt.year == YEARS[k]).all()
    # the years partition time: every event of the world is in exactly one year-only extract
    for name in ("incident", "formulation", "measure", "education"):
        assert sum(len(_table(e, name)) for e in year) == len(_table(cum[2], name)), name


def test_stays_open_at_a_cut_off_close_in_a_later_extract(both):
    for style, result in both.items():
        first, last = (_table(e, "episode") for e in (result.extracts[0], result.extracts[1]))
        open_then = first[first["discharge_date"].isna()][["record_key", "episode_id"]]
        closed_later = open_then.merge(last[last["discharge_date"].notna()], on=["record_key", "episode_id"])
        assert len(closed_later) >= 10, style
        assert (pd.to_datetime(closed_later["discharge_date"]) > pd.Timestamp("2023-12-31")).all()


def test_earlier_extracts_lack_values_later_ones_hold(both):
    result = both["cumulative"]
    edits = result.edits
    assert set(edits["field"]) >= {"postcode", "nhs_number", "discharge_destination"}
    first, last = (_table(e, "person").set_index("record_key") for e in (result.extracts[0], result.extracts[-1]))
    for row in edits[(edits["year"] == 2023) & (edits["table"] == "person")].itertuples():
        assert pd.isna(first.at[row.record_key, row.field]) and pd.notna(last.at[row.record_key, row.field])


def test_same_seed_same_extracts(drawn, both):
    again = annual_extracts(draw(300, 42), YEARS, "year-only")
    for a, b in zip(again.extracts, both["year-only"].extracts):
        pd.testing.assert_frame_equal(_table(a, "episode"), _table(b, "episode"))
    pd.testing.assert_frame_equal(again.edits, both["year-only"].edits)


def test_cli_writes_annual_extracts(tmp_path):
    result = CliRunner().invoke(cli, ["synth", "--children", "40", "--out", str(tmp_path), "--years",
                                      "2024,2025", "--style", "year-only", "-q"])
    assert result.exit_code == 0, result.output
    root = tmp_path / "extracts" / "year-only"
    assert sorted(p.name for p in root.iterdir()) == ["2024", "2025"]
    assert (root / "2024" / "exports" / "yoi-northgate" / "nomis" / "offenders.txt").exists()
    held = pd.read_parquet(tmp_path / "truth" / "extracts.parquet")
    assert set(held["year"]) == {2024, 2025} and set(held["style"]) == {"year-only"}
    bad = CliRunner().invoke(cli, ["synth", "--out", str(tmp_path), "--years", "2025,2024"])
    assert bad.exit_code == 2 and "years must be distinct and increasing" in bad.output
