"""A 300-child world from the project's generator, staged as canonical tables.

Person rows come from ``stairs_link.synth.person_records`` (canonical rows as an adapter would
stage them); each record gets the true stays of its child at its site as episodes, and about
two thirds of stays get a formulation some days after admission. Clusters are the truth
(a perfect linkage), so the report tests do not depend on the linkage stage.

With ``cutoff`` the world is staged as it was known on that date (an earlier year's exports):
only episodes admitted before it (still open if discharged later), formulations before it, and
the person records those episodes belong to.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stairs_link.linkage import write_linked
from stairs_link.schema import write_staged
from stairs_link.synth import generate_world, person_records


def write_synthetic_world(root: Path, n_children: int = 300, seed: int = 42,
                          cutoff: str | None = None) -> tuple[Path, list[Path]]:
    person, truth = person_records(n_children, seed)
    stays = generate_world(n_children, seed).stays
    rng = np.random.default_rng(seed)
    owner = person[["record_key", "site_id", "setting_type", "source_system"]].merge(
        truth[["record_key", "true_child_id"]], on="record_key")
    episodes = owner.merge(stays.drop(columns=["setting_type"]), on=["true_child_id", "site_id"])
    episodes["episode_id"] = "ep" + episodes.groupby("record_key").cumcount().astype(str)
    episodes["admission_date"] = pd.to_datetime(episodes["admission_date"]).dt.date
    episodes["discharge_date"] = pd.to_datetime(episodes["discharge_date"]).dt.date
    # one formulation per stay for ~2/3 of stays, recorded by the stay's first record
    firsts = episodes.drop_duplicates(["true_child_id", "site_id", "admission_date"]).copy()
    firsts = firsts[rng.random(len(firsts)) < 0.66]
    firsts["formulation_date"] = (pd.to_datetime(firsts["admission_date"])
                                  + pd.to_timedelta(rng.integers(0, 60, len(firsts)), unit="D")).dt.date
    firsts["formulation_type"] = "initial"
    if cutoff is not None:
        limit = pd.Timestamp(cutoff).date()
        episodes = episodes[episodes["admission_date"] < limit].copy()
        later = episodes["discharge_date"].notna() & (episodes["discharge_date"] >= limit)
        episodes.loc[later, "discharge_date"] = None
        episodes.loc[later, "discharge_destination"] = None
        firsts = firsts[firsts["formulation_date"] < limit]
        person = person[person["record_key"].isin(episodes["record_key"])]
        truth = truth[truth["record_key"].isin(person["record_key"])]
    staged = []
    for (site, system), rows in person.groupby(["site_id", "source_system"], sort=True):
        directory = root / "staged" / site / system
        tables = {"person": rows}
        for name, frame in (("episode", episodes), ("formulation", firsts)):
            tables[name] = frame[frame["record_key"].isin(rows["record_key"])].assign(
                source_file=f"{system}.csv", source_row=1, mapping_id="synth")
        write_staged(directory, tables)
        staged.append(directory)
    linked = write_linked(root / "linked", truth.rename(columns={"true_child_id": "cluster_id"})[
        ["record_key", "cluster_id"]])
    (root / "truth").mkdir()
    truth.to_parquet(root / "truth" / "records.parquet", index=False)
    stays.to_parquet(root / "truth" / "pathway.parquet", index=False)
    return linked, staged
