"""Transitions rebuilt from episodes as several systems record them match the generator's truth.

The generator's true stays are copied into the episodes of 1-3 systems per stay, each with its
own dates (a day early or late) and some stays split into two consecutive episodes; merging
stays and deriving moves must give back the true moves. The figure is printed (pytest -s).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stairs_link.integrate import derive_transitions, merge_stays
from stairs_link.integrate.evaluate import compare_transitions, true_transitions
from stairs_link.synth import generate_world


@pytest.fixture(scope="module")
def world():
    return generate_world(300, 42)


def _as_recorded(stays: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Each true stay as 1-3 systems record it: jittered dates, some stays split in two."""
    copies = rng.integers(1, 4, len(stays))
    ep = stays.loc[stays.index.repeat(copies)].reset_index(drop=True)
    ep["source_system"] = np.concatenate([np.arange(c) for c in copies]).astype(str)
    jitter = pd.to_timedelta(rng.integers(-1, 2, len(ep)), unit="D")
    ep["admission_date"] = pd.to_datetime(ep["admission_date"]) + jitter * (ep["source_system"] != "0")
    ep["discharge_date"] = pd.to_datetime(ep["discharge_date"]) - jitter * (ep["source_system"] == "2")
    # the first system forgets the destination on a third of its rows
    forget = (ep["source_system"] == "1") & (rng.random(len(ep)) < 0.33)
    ep.loc[forget, "discharge_destination"] = None
    # a quarter of long stays are split into two consecutive episodes by one system
    length = (ep["discharge_date"] - ep["admission_date"]).dt.days
    split = (ep["source_system"] == "0") & (length > 20) & (rng.random(len(ep)) < 0.25)
    middle = ep.loc[split, "admission_date"] + pd.to_timedelta(length[split] // 2, unit="D")
    second = ep[split].copy()
    second["admission_date"] = middle + pd.Timedelta(days=1)
    ep.loc[split, "discharge_date"] = middle
    ep.loc[split, "discharge_destination"] = None
    return pd.concat([ep, second], ignore_index=True).rename(columns={"true_child_id": "child_id"})


def test_stays_and_moves_reproduce_the_true_pathways(world):
    rng = np.random.default_rng(7)
    episodes = _as_recorded(world.stays, rng)
    stays = merge_stays(episodes)
    assert len(stays) == len(world.stays)
    dob = world.children.set_index("true_child_id")["date_of_birth"]
    built = derive_transitions(stays, dob)
    record_map = pd.DataFrame({"record_key": world.children["true_child_id"], "child_id": world.children["true_child_id"]})
    truth_records = record_map.rename(columns={"child_id": "true_child_id"})
    agreement = compare_transitions(built, record_map, truth_records, world.stays)
    print(f"\ntrue moves reproduced from multi-system episodes: {agreement.matched}/{agreement.true_moves} "
          f"= {agreement.share_reproduced:.1%}; built moves correct: {agreement.share_correct:.1%}")
    assert agreement.true_moves == len(true_transitions(world.stays)) > 500
    assert agreement.share_reproduced == pytest.approx(1.0)
    assert agreement.share_correct == pytest.approx(1.0)


def test_true_pathway_has_every_kind_of_move(world):
    kinds = set(true_transitions(world.stays)["kind"])
    assert kinds == {"admission", "transfer", "release", "readmission", "young_adult_estate"}
