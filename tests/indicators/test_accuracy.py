"""Every indicator computed from the built dataset against the same indicator on the truth.

The world: 2,000 children of the project's generator, staged as the exports' values (system
date lags, monthly education returns, damaged identifiers and names), linked by the project's
linkage model (so linkage error is included), built. The truth: the generator's true stays and
events, each stay's coverage flags from the systems that truly recorded it. Tolerances:
percentages within 1 percentage point; means, rates and hours within 1% of the true value
(absolute 0.05 for values under 5, e.g. a rate of 0.3 per 30 days).
"""

from __future__ import annotations

import pandas as pd
import pytest
from indicator_world import N_CHILDREN, SEED, truth_frames  # tests/conftest.py puts it on the path

from stairs_link.indicators import Params, indicators, registry


def _tolerance(unit: str, truth: float) -> float:
    if unit.startswith("percent"):
        return 1.0
    return max(0.01 * abs(truth), 0.05 if abs(truth) < 5 else 0.0)


@pytest.fixture(scope="module")
def compared(world_dataset):
    params = Params()
    built = indicators(world_dataset, ["setting_type"], params)
    truth = indicators(truth_frames(N_CHILDREN, SEED), ["setting_type"], params)
    return built.merge(truth, on=["definition_id", "setting_type", "level"], suffixes=("", "_truth"))


def test_every_registered_indicator_is_compared(compared):
    overall = compared[compared["level"] == "all"]
    assert set(overall["definition_id"]) == set(registry())


def test_each_indicator_is_within_tolerance_of_the_truth(compared):
    rows = compared[compared["value_truth"].notna()]
    assert len(rows) >= 3 * 30  # most indicators, overall and for each setting type
    off = []
    for row in rows.itertuples():
        if abs(row.value - row.value_truth) > _tolerance(row.unit, row.value_truth):
            off.append(f"{row.definition_id} [{row.setting_type}]: {row.value:.3f} vs truth {row.value_truth:.3f}")
    assert not off, "\n".join(off)


def test_an_unmapped_category_gives_no_value_rather_than_zero(compared):
    row = compared[(compared["definition_id"] == "incident.children_with.oppositional")
                   & (compared["level"] == "all")].iloc[0]
    assert pd.isna(row["value"]) and row["n_units"] == 0


def test_coverage_denominator_differs_from_all_stays(compared):
    # a formulation can only be seen where a health system recorded the stay: the denominator
    # is smaller than all stays, so "no formulation" is not confused with "no health record"
    overall = compared[compared["level"] == "all"].set_index("definition_id")
    stays = overall.loc["coverage.stays_recorded_by.health", "n_units"]
    assert overall.loc["formulation.stays_with_formulation", "n_units"] < stays


def test_a_child_counts_once_in_a_total_and_once_in_each_group(world_dataset):
    from stairs_link.indicators import load_frames

    frames = load_frames(world_dataset)
    table = indicators(frames, ["setting_type"], Params(), ["formulation.children_with_formulation"])
    health = frames.stays[frames.stays["recorded_by_health"]]
    total = table[table["level"] == "all"].iloc[0]
    assert total["n_units"] == health["child_id"].nunique()
    per_setting = table[table["level"] == "setting_type"].set_index("setting_type")["n_units"]
    assert per_setting.to_dict() == health.groupby("setting_type")["child_id"].nunique().to_dict()
    assert per_setting.sum() > total["n_units"]  # children who stayed in two kinds of setting
