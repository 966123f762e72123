"""Stays merge the episodes of several systems; moves are classified by the documented windows."""

from __future__ import annotations

from datetime import date

import pandas as pd

from stairs_link.integrate import TransitionRules, derive_transitions, merge_stays


def _episodes(rows):
    return pd.DataFrame(rows, columns=["child_id", "site_id", "setting_type", "source_system", "admission_date",
                                       "discharge_date", "legal_basis", "discharge_destination"])


def test_overlapping_episodes_of_several_systems_are_one_stay():
    ep = _episodes([
        ("c1", "s1", "SCH", "health", date(2023, 1, 10), date(2023, 3, 1), "remand", None),
        ("c1", "s1", "SCH", "ops", date(2023, 1, 11), date(2023, 2, 27), "unknown", "transfer_secure"),
        ("c1", "s1", "SCH", "ops", date(2023, 2, 28), date(2023, 3, 2), None, None),  # adjacent split
        ("c1", "s1", "SCH", "ops", date(2023, 6, 1), None, "sentenced", None),  # later, open stay
    ])
    stays = merge_stays(ep)
    assert len(stays) == 2
    first, second = stays.iloc[0], stays.iloc[1]
    assert (first["admission_date"], first["discharge_date"]) == (date(2023, 1, 10), date(2023, 3, 2))
    assert first["n_episodes"] == 3 and first["n_systems"] == 2
    assert first["legal_basis"] == "remand" and first["discharge_destination"] == "transfer_secure"
    assert second["discharge_date"] is None and second["legal_basis"] == "sentenced"


def test_no_moves_between_systems_of_one_setting():
    ep = _episodes([
        ("c1", "s1", "SCH", sys, date(2023, 1, 10), date(2023, 3, 1), "remand", "community_home")
        for sys in ("health", "ops", "edu")
    ])
    moves = derive_transitions(merge_stays(ep))
    assert moves["kind"].tolist() == ["admission", "release"]


def test_kinds_follow_the_windows():
    ep = _episodes([
        ("c1", "s1", "SCH", "h", date(2023, 1, 1), date(2023, 2, 1), None, None),
        ("c1", "s2", "YOI", "h", date(2023, 2, 3), date(2023, 3, 1), None, "community_home"),  # gap 2: transfer
        ("c1", "s2", "YOI", "h", date(2023, 4, 1), date(2023, 5, 1), None, None),  # gap 31: readmission
        ("c1", "s1", "SCH", "h", date(2023, 12, 1), date(2024, 1, 5), None, "young_adult_estate"),  # gap 214
    ])
    moves = derive_transitions(merge_stays(ep), rules=TransitionRules(readmission_days=90))
    assert moves["kind"].tolist() == ["admission", "transfer", "release", "readmission", "release", "admission",
                                      "young_adult_estate"]
    assert moves["gap_days"].tolist()[1:5] == [2, 31, 31, 214]
    assert moves["move_seq"].tolist() == list(range(1, 8))
    # a wider window turns the late return into a readmission
    wide = derive_transitions(merge_stays(ep), rules=TransitionRules(readmission_days=300))
    assert wide["kind"].tolist()[5] == "readmission"


def test_age_rule_for_young_adult_estate_only_when_destination_unknown():
    ep = _episodes([
        ("c1", "s1", "YOI", "h", date(2023, 1, 1), date(2023, 6, 1), None, "unknown"),
        ("c2", "s1", "YOI", "h", date(2023, 1, 1), date(2023, 6, 1), None, "community_home"),
        ("c3", "s1", "YOI", "h", date(2023, 1, 1), date(2023, 6, 1), None, None),
    ])
    dob = pd.Series({"c1": date(2005, 6, 10), "c2": date(2005, 6, 10), "c3": date(2007, 1, 1)})
    moves = derive_transitions(merge_stays(ep), dob)
    leaving = moves[moves["from_stay_id"].notna()].set_index("child_id")["kind"]
    assert leaving.to_dict() == {"c1": "young_adult_estate", "c2": "release", "c3": "release"}


def test_formulation_flags():
    ep = _episodes([
        ("c1", "s1", "SCH", "h", date(2023, 1, 1), date(2023, 2, 1), None, None),
        ("c1", "s2", "YOI", "h", date(2023, 2, 2), date(2023, 5, 1), None, None),
        ("c2", "s1", "SCH", "h", date(2023, 1, 1), date(2023, 2, 1), None, None),
        ("c2", "s2", "YOI", "h", date(2023, 2, 2), date(2023, 5, 1), None, None),
    ])
    formulations = pd.DataFrame({
        "child_id": ["c1", "c1", "c2", "c2"],
        "site_id": ["s1", "s2", "s2", "s1"],
        "formulation_date": [date(2023, 1, 15), date(2023, 2, 20), date(2023, 4, 1), date(2022, 12, 1)],
    })
    moves = derive_transitions(merge_stays(ep), formulations=formulations, rules=TransitionRules(formulation_days=28))
    transfers = moves[moves["kind"] == "transfer"].set_index("child_id")
    assert transfers.loc["c1", "formulation_before"] == True  # noqa: E712 - pandas boolean
    assert transfers.loc["c1", "formulation_at_receiving_within_days"] == True  # noqa: E712
    # c2: the s1 formulation predates the stay, the s2 one is 58 days after arrival
    assert transfers.loc["c2", "formulation_before"] == False  # noqa: E712
    assert transfers.loc["c2", "formulation_at_receiving_within_days"] == False  # noqa: E712
    admissions = moves[moves["kind"] == "admission"]
    assert admissions["formulation_before"].isna().all()
