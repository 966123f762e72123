"""Stable ids through the real linkage: last year's world, then this year's, linked separately.

Year 1 is the generator's 300-child world as known on 2023-01-01; year 2 is the whole world.
Each year is linked by ``stairs_link.linkage.link`` on its own, so clusters can differ between
the years; building year 2 with ``previous=`` year 1 must keep the ids of year-1 children.
The share kept is printed (pytest -s).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from synthetic_world import write_synthetic_world

from stairs_link.integrate import build
from stairs_link.linkage import link


@pytest.fixture(scope="module")
def two_years(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("years")
    _, staged1 = write_synthetic_world(root / "y1", cutoff="2023-01-01")
    link(staged1, root / "y1" / "linked_real")
    build(root / "y1" / "linked_real", staged1, root / "ds1")
    _, staged2 = write_synthetic_world(root / "y2")
    link(staged2, root / "y2" / "linked_real")
    build(root / "y2" / "linked_real", staged2, root / "ds2", previous=root / "ds1")
    build(root / "y2" / "linked_real", staged2, root / "ds2_again", previous=root / "ds2")
    return root / "ds1", root / "ds2"


def test_earlier_children_keep_their_ids(two_years):
    ds1, ds2 = two_years
    before = pd.read_parquet(ds1 / "record_map.parquet")
    after = pd.read_parquet(ds2 / "record_map.parquet").rename(columns={"child_id": "now"})
    both = before.merge(after, on="record_key")
    assert len(both) == len(before)  # every year-1 record is still there
    # a year-1 child keeps its id when most of its records carry it in year 2
    majority = both.groupby(["child_id", "now"]).size().rename("n").reset_index()
    majority = majority.sort_values(["child_id", "n"], ascending=[True, False]).drop_duplicates("child_id")
    kept = (majority["child_id"] == majority["now"]).mean()
    print(f"\nyear-1 children keeping their id after a new year of exports: {kept:.1%} "
          f"of {before['child_id'].nunique()}")
    assert kept >= 0.95
    history = pd.read_parquet(ds2 / "id_history.parquet")
    assert sorted(history["run"].unique()) == [1, 2]
    run2 = history[history["run"] == 2]
    assert run2.loc[run2["event"] != "absent", "child_id"].is_unique
    assert set(run2.loc[run2["event"] != "absent", "child_id"]) == set(after["now"])
    assert (run2["event"] == "created").sum() > 0  # children first admitted after the cutoff


def test_rebuild_on_unchanged_input_continues_every_child(two_years):
    _, ds2 = two_years
    again = ds2.parent / "ds2_again"
    assert pd.read_parquet(again / "record_map.parquet").equals(pd.read_parquet(ds2 / "record_map.parquet"))
    history = pd.read_parquet(again / "id_history.parquet")
    assert set(history.loc[history["run"] == 3, "event"]) == {"continued"}
