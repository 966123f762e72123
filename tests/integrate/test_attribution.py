"""Events attributed to stays (integrate/attribution.py) and the stay coverage flags in a build."""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import pyarrow.parquet as pq

from stairs_link.integrate import build
from stairs_link.integrate.attribution import attribute_to_stays

STAYS = pd.DataFrame({
    "child_id": ["A", "A", "A", "B"],
    "stay_id": ["A:s1:1", "A:s1:2", "A:s2:1", "B:s1:1"],
    "site_id": ["s1", "s1", "s2", "s1"],
    "admission_date": [date(2023, 1, 10), date(2023, 6, 1), date(2023, 3, 2), date(2023, 2, 1)],
    "discharge_date": [date(2023, 3, 1), None, date(2023, 5, 31), date(2023, 2, 20)],
})


def test_each_event_gets_the_stay_whose_dates_contain_it_or_a_rule_saying_why_not():
    events = pd.DataFrame({
        "child_id": ["A", "A", "A", "A", "A", "A", "A", "B", "C"],
        "site_id": ["s1", "s1", "s1", "s1", "s1", "s2", "s3", "s1", "s1"],
        "when": [date(2023, 1, 10), date(2023, 3, 1), date(2023, 1, 9), date(2023, 4, 1), date(2024, 9, 9),
                 date(2023, 4, 4), date(2023, 4, 4), date(2023, 2, 21), date(2023, 2, 2)],
    })
    stay_id, rule = attribute_to_stays(events, STAYS, "when")
    assert stay_id.tolist() == ["A:s1:1", "A:s1:1", None, None, "A:s1:2", "A:s2:1", None, None, None]
    assert rule.tolist() == ["in_stay", "in_stay", "before_admission", "between_stays", "in_stay", "in_stay",
                             "no_stay_at_site", "after_discharge", "no_stay_at_site"]


def test_an_incident_time_counts_by_its_calendar_day():
    events = pd.DataFrame({"child_id": ["B", "B"], "site_id": ["s1", "s1"],
                           "at": [datetime(2023, 2, 20, 22, 30), datetime(2023, 2, 21, 0, 5)]})
    stay_id, rule = attribute_to_stays(events, STAYS, "at")
    assert stay_id.tolist() == ["B:s1:1", None]
    assert rule.tolist() == ["in_stay", "after_discharge"]


def test_build_writes_stay_ids_coverage_and_counts(world, tmp_path):
    linked, staged = world
    build(linked, staged, tmp_path / "ds")
    formulations = pq.read_table(tmp_path / "ds" / "formulations.parquet").to_pandas()
    # child B's formulation (2023-06-01) is at yoi-b during the open stay from 2023-04-01
    assert formulations["stay_rule"].tolist() == ["in_stay"] * 3
    assert formulations["stay_id"].notna().all()
    episodes = pq.read_table(tmp_path / "ds" / "episodes.parquet").to_pandas()
    assert episodes["stay_id"].notna().all()
    stays = pq.read_table(tmp_path / "ds" / "stays.parquet").to_pandas().set_index("stay_id")
    # A's sch-a stay was recorded by a health (systmone) and an operations (carelog) system
    a_sch = stays[(stays["site_id"] == "sch-a") & (stays["admission_date"] == date(2023, 1, 10))].iloc[0]
    assert a_sch["recorded_by_health"] and a_sch["recorded_by_operations"]
    assert not a_sch["recorded_by_education"] and not a_sch["recorded_by_social_care"]
    # an open stay is observed until its latest extract date
    b_open = stays[stays["discharge_date"].isna()].iloc[0]
    assert b_open["observed_until"] == date(2024, 2, 1)
    summary = json.loads((tmp_path / "ds" / "build.json").read_text(encoding="utf-8"))
    assert summary["events_outside_stays"]["formulation"] == {}
    assert summary["data_as_at"]["as_at"] == "2024-02-01"
    assert summary["data_as_at"]["extracts"]["sch-a:systmone"] == "2024-01-01"
