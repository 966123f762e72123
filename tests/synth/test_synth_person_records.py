"""person_records: canonical person rows + truth, deterministic, valid identifiers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stairs_link.schema import CODE_LISTS, to_arrow
from stairs_link.standardise.postcode import postcode
from stairs_link.synth import DamageConfig, generate_world, person_records
from stairs_link.synth.records import _valid


@pytest.fixture(scope="module")
def records() -> tuple[pd.DataFrame, pd.DataFrame]:
    return person_records(2000, 11)


def test_matches_canonical_person_schema(records):
    person, _ = records
    table = to_arrow("person", person)  # raises on a missing required column or bad type
    assert table.num_rows == len(person)
    assert person["record_key"].is_unique
    assert (person["record_key"] == person["site_id"] + ":" + person["source_system"] + ":" + person["local_id"]).all()
    for column in ("setting_type", "system_kind", "sex", "ethnicity"):
        values = set(person[column].dropna())
        assert values <= set(CODE_LISTS[column]), (column, values - set(CODE_LISTS[column]))
    assert set(person["mapping_id"]) == {"synth"}


def test_truth_is_complete_and_aligned(records):
    person, truth = records
    assert list(truth.columns[:4]) == ["record_key", "true_child_id", "ethnic_group", "sex"]
    assert truth["record_key"].tolist() == person["record_key"].tolist()
    assert truth.notna().all().all()
    # most children have several records (several systems, several stays)
    per_child = truth.groupby("true_child_id").size()
    assert per_child.mean() > 2.5
    assert set(truth["ethnic_group"]) >= {"White", "Black", "Mixed", "Asian", "Other"}


def test_deterministic_for_n_and_seed():
    a, ta = person_records(300, 5)
    b, tb = person_records(300, 5)
    c, _ = person_records(300, 6)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(ta, tb)
    assert not a["given_name"].equals(c["given_name"])


def test_identifiers_in_canonical_output_are_valid(records):
    person, _ = records
    for field in ("nhs_number", "upn", "pnc_id"):
        values = person[field].dropna().to_numpy()
        assert len(values) > 100
        assert _valid(field, values).all(), field
    nhs = person["nhs_number"].dropna().iloc[0]
    wrong_check = nhs[:9] + str((int(nhs[9]) + 1) % 10)
    assert _valid("nhs_number", np.array([nhs, wrong_check], dtype=object)).tolist() == [True, False]
    assert person["nhs_number"].dropna().str.startswith("999").all()  # NHS test range
    assert person["prison_number"].dropna().str.fullmatch(r"[A-Z]\d{4}[A-Z]{2}").all()
    checked = postcode(person["postcode"])  # valid UK shape, already in canonical form
    assert not checked.invalid.any()
    assert (checked.value.dropna() == person["postcode"].dropna()).all()


def test_damage_happens_at_configured_scale():
    world = generate_world(1500, 3)
    clean, truth = person_records(1500, 3, DamageConfig(**{k: 0.0 for k in DamageConfig().as_dict()}))
    damaged, _ = person_records(1500, 3)
    ch = world.children.set_index("true_child_id")
    true_dob = pd.to_datetime(ch.loc[truth["true_child_id"], "date_of_birth"]).dt.date.to_numpy()
    assert (clean["date_of_birth"].to_numpy() == true_dob).all()
    dob_diff = (damaged["date_of_birth"].to_numpy() != true_dob).mean()
    assert 0.005 < dob_diff < 0.08
    true_family = ch.loc[truth["true_child_id"], "family_name"].str.upper().to_numpy()
    family_diff = (damaged["family_name"].str.upper().to_numpy() != true_family).mean()
    assert 0.03 < family_diff < 0.3
    # with no damage, every captured NHS number is the child's own
    own = ch.loc[truth["true_child_id"], "nhs_number"].to_numpy()
    has = clean["nhs_number"].notna().to_numpy()
    assert (clean["nhs_number"].to_numpy()[has] == own[has]).all()
