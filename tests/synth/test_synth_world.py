"""The true world: pathways obey the rules of the estate, and are deterministic."""

from __future__ import annotations

import pandas as pd
import pytest

from stairs_link.schema.codes import DISCHARGE_DESTINATION, LEGAL_BASIS
from stairs_link.synth import generate_world


@pytest.fixture(scope="module")
def world():
    return generate_world(5000, 21)


def test_pathway_rules(world) -> None:
    s, ch = world.stays, world.children
    sex = ch["sex"].to_numpy()[s["child_index"].to_numpy()]
    assert not ((sex == "female") & (s["setting_type"] == "YOI")).any()  # no girls in YOIs
    assert (s.loc[s["legal_basis"] == "welfare_s25", "setting_type"] == "SCH").all()
    assert set(s["legal_basis"]) <= set(LEGAL_BASIS) and set(s["discharge_destination"].dropna()) <= set(
        DISCHARGE_DESTINATION)
    dob = pd.to_datetime(ch["date_of_birth"].to_numpy()[s["child_index"].to_numpy()])
    age = (pd.to_datetime(s["admission_date"]) - dob).dt.days / 365.25
    assert age.min() >= 10 and age.max() < 18
    nxt = s.groupby("child_index")["admission_date"].shift(-1)
    nxt_site = s.groupby("child_index")["site_id"].shift(-1)
    transfer = s["discharge_destination"] == "transfer_secure"
    assert (nxt[transfer] == s.loc[transfer, "discharge_date"]).all()  # same-day admission elsewhere
    assert (nxt_site[transfer] != s.loc[transfer, "site_id"]).all()
    assert s["discharge_date"].isna().sum() == s["discharge_destination"].isna().sum()
    # every stay is 1..4 per child, numbered in date order
    assert s.groupby("child_index")["stay_no"].apply(lambda x: list(x) == list(range(1, len(x) + 1))).all()
    assert (s.groupby("child_index")["admission_date"].diff().dropna() > pd.Timedelta(0)).all()


def test_children_identifiers_are_distinct(world) -> None:
    ch = world.children
    for field in ("nhs_number", "upn", "pnc_id", "prison_number", "la_child_id"):
        values = ch[field].dropna()
        assert values.is_unique, field
    assert ch["nhs_number"].notna().mean() > 0.95
    # prison numbers exactly for children with a YOI stay
    yoi = set(world.stays.loc[world.stays["setting_type"] == "YOI", "child_index"])
    assert set(ch.index[ch["prison_number"].notna()]) == yoi


def test_names_of_many_origins(world) -> None:
    ch = world.children
    assert ch["origin"].nunique() >= 20
    assert ch["origin"].value_counts(normalize=True).iloc[0] < 0.5  # White British is not everyone
    groups = ch["ethnicity"].str[0].value_counts()
    assert {"A", "D", "M", "N", "J"} <= set(groups.index)


def test_same_seed_same_world_other_seed_other_world() -> None:
    a, b, c = generate_world(400, 1), generate_world(400, 1), generate_world(400, 2)
    pd.testing.assert_frame_equal(a.children, b.children)
    pd.testing.assert_frame_equal(a.stays, b.stays)
    assert not a.children["family_name"].equals(c.children["family_name"])
