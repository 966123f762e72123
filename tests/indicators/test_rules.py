"""Windows, the as-at (censor) date, the tie rule and the category mapping change results the
way docs/indicators.md says, on a hand-made world small enough to count by hand."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from stairs_link.errors import IndicatorError
from stairs_link.indicators import Disclosure, Params, compute, indicators, prepare_frames, publish, select

STAYS = pd.DataFrame({
    "child_id": ["A", "B", "C"], "stay_id": ["A1", "B1", "C1"], "site_id": ["s1", "s1", "s2"],
    "setting_type": ["SCH", "SCH", "YOI"],
    "admission_date": [date(2024, 1, 1), date(2024, 5, 1), date(2024, 6, 20)],
    "discharge_date": [date(2024, 3, 1), None, None],
    "legal_basis": ["remand", "sentenced", "remand"], "discharge_destination": ["community_home", None, None],
    "recorded_by_health": [True, True, True], "recorded_by_operations": [True, True, True],
    "recorded_by_education": [False, False, False], "recorded_by_social_care": [False, False, False],
    "observed_until": [date(2024, 3, 1), date(2024, 6, 30), date(2024, 6, 30)],
})
CHILDREN = pd.DataFrame({"child_id": ["A", "B", "C"], "sex": ["male"] * 3, "ethnicity": ["A"] * 3,
                         "date_of_birth": [date(2008, 1, 1)] * 3})
EVENTS = {
    # formulations 9, 19 and 5 days after admission
    "formulation": pd.DataFrame({"child_id": ["A", "B", "C"], "stay_id": ["A1", "B1", "C1"],
                                 "formulation_date": [date(2024, 1, 10), date(2024, 5, 20), date(2024, 6, 25)],
                                 "formulation_type": ["initial"] * 3, "disciplines_present": [3, 5, 4],
                                 "child_involvement": ["direct", "indirect", "unknown"]}),
    "incident": pd.DataFrame({"child_id": ["A", "A"], "stay_id": ["A1", "A1"],
                              "incident_at": [datetime(2024, 1, 15, 10), datetime(2024, 2, 15, 10)],
                              "incident_kind": ["assault", "restraint"]}),
    "education": pd.DataFrame({"child_id": ["A"], "stay_id": ["A1"], "period_start": [date(2024, 1, 1)],
                               "period_end": [date(2024, 1, 7)], "hours_offered": [20.0],
                               "hours_attended": [15.0]}),
    # A: ORS 20 first; two scores (30 then 24) on the last date
    "measure": pd.DataFrame({"child_id": ["A", "A", "A"], "stay_id": ["A1", "A1", "A1"],
                             "measure_date": [date(2024, 1, 5), date(2024, 2, 20), date(2024, 2, 20)],
                             "instrument": ["ORS"] * 3, "score": [20.0, 30.0, 24.0]}),
}
TRANSITIONS = pd.DataFrame({
    "child_id": ["A", "A", "B", "C"], "move_seq": [1, 2, 1, 1],
    "kind": ["admission", "release", "admission", "admission"],
    "move_date": [date(2024, 1, 1), date(2024, 3, 1), date(2024, 5, 1), date(2024, 6, 20)],
    "from_stay_id": [None, "A1", None, None], "to_stay_id": ["A1", None, "B1", "C1"], "gap_days": [None] * 4,
})


def frames(as_at=None):
    return prepare_frames(STAYS, CHILDREN, EVENTS, TRANSITIONS, as_at=as_at, data_as_at=date(2024, 6, 30))


def value(definition_id: str, params: Params | None = None, by=None, **where) -> pd.Series:
    params = params or Params()
    table = indicators(frames(params.as_at), by or [], params, [definition_id])
    for column, wanted in where.items():
        table = table[table[column] == wanted]
    return table.iloc[0] if len(table) else None


@pytest.mark.parametrize(("window", "numerator", "denominator"), [
    (7, 1, 3),    # only C's (5 days); C has been observed 10 days >= 7, so it counts
    (14, 1, 2),   # A's (9 days); C, open and observed 10 days < 14, is censored out
    (28, 2, 2),   # A and B; C still censored
])
def test_window_changes_the_numerator_and_censors_short_open_stays(window, numerator, denominator):
    row = value("formulation.within_window_of_admission", Params(window_days=window))
    assert (row["numerator"], row["denominator"]) == (numerator, denominator)
    arrivals = value("transition.formulation_at_receiving_within_window", Params(window_days=window))
    assert (arrivals["numerator"], arrivals["denominator"]) == (numerator, denominator)


def test_as_at_cuts_stays_events_and_time_in_custody():
    # as at 1 Feb: only A had arrived, and was still there (31 days observed, 1 Jan - 1 Feb)
    row = value("incident.per_30_days.any_high_risk", Params(as_at=date(2024, 2, 1)))
    assert row["numerator"] == 1 and row["denominator"] == 32
    assert row["value"] == pytest.approx(30 / 32)
    # as at the data's date: both of A's incidents over A's 61 days, B's 61 and C's 11 days
    row = value("incident.per_30_days.any_high_risk")
    assert row["numerator"] == 1 and row["denominator"] == 61 + 61 + 11  # a restraint is not a high-risk behaviour
    restraint = value("incident.per_30_days.restraint", Params(as_at=date(2024, 2, 1)))
    assert restraint["numerator"] == 0
    assert value("formulation.stays_with_formulation", Params(as_at=date(2024, 2, 1)))["denominator"] == 1


@pytest.mark.parametrize(("rule", "last", "change", "under"), [
    ("mean", 27.0, 7.0, 1.0), ("min", 24.0, 4.0, 1.0), ("max", 30.0, 10.0, 0.0),
    ("first_recorded", 30.0, 10.0, 0.0), ("last_recorded", 24.0, 4.0, 1.0),
])
def test_tie_rule_decides_the_score_of_a_date_with_several(rule, last, change, under):
    params = Params(tie_rule=rule)
    assert value("outcome.last_score_mean", params)["value"] == pytest.approx(last)
    assert value("outcome.change_mean", params)["value"] == pytest.approx(change)
    assert value("outcome.last_under_cutoff", params)["numerator"] == under
    assert value("outcome.first_under_cutoff", params)["value"] == pytest.approx(100.0)


def test_categories_map_incident_kinds_at_query_time():
    assert value("incident.children_with.oppositional")["n_units"] == 0  # nothing mapped: no value
    params = Params(categories={**Params().categories, "oppositional": ("restraint",)})
    row = value("incident.children_with.oppositional", params)
    assert (row["numerator"], row["denominator"]) == (1, 3)
    assert "kinds=restraint" in row["parameters"]


def test_involvement_leaves_out_meetings_that_do_not_record_it():
    row = value("formulation.involvement_direct")
    assert (row["numerator"], row["denominator"]) == (1, 2)
    assert value("formulation.mean_disciplines")["value"] == pytest.approx(4.0)


def test_groups_and_margins():
    table = indicators(frames(), ["setting_type", "site_id"], Params(), ["formulation.stays_with_formulation"])
    assert set(table["level"]) == {"setting_type+site_id", "setting_type", "site_id", "all"}
    total = table[table["level"] == "all"].iloc[0]
    assert total["setting_type"] == "all" and total["denominator"] == 3
    with pytest.raises(IndicatorError, match="cannot group by 'colour'"):
        indicators(frames(), ["colour"], Params())
    with pytest.raises(IndicatorError, match="unknown indicator 'formulation.nope'"):
        select(["formulation.nope"])


def test_publication_suppresses_small_counts_and_the_shares_made_of_them():
    definitions = select(["formulation.*", "outcome.change_mean"])
    raw = compute(frames(), definitions, [], Params())
    published = publish(raw, definitions, Disclosure(threshold=7, rounding=5))
    assert published["suppressed"].all()  # every count here is 1 to 3
    assert published["value"].isna().all() and published["numerator"].isna().all()
    assert (raw["publication"] == "NOT FOR PUBLICATION: unsuppressed counts").all()
    # with no threshold, shares are recomputed from the rounded counts (3 of 3 -> 5 of 5)
    loose = publish(raw, definitions, Disclosure(threshold=0, rounding=5))
    row = loose[loose["definition_id"] == "formulation.stays_with_formulation"].iloc[0]
    assert (row["numerator"], row["denominator"], row["value"]) == (5, 5, 100.0)
