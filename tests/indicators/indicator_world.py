"""A synthetic world built into a dataset, and the same world's truth as indicator frames.

``build_world`` stages every canonical table of the generator's world (as a perfect adapter
would, ``stairs_link.synth.canonical_tables`` and ``write_staged``: the exported values, with the systems' own
date jitter, monthly education reporting, duplicate records ...) one directory per site
system, links them with the project's linkage (``linkage="model"``, the default; ``"truth"``
clusters by the true child instead, to measure integration alone), and runs `build`. ``truth_frames`` turns the generator's true
stays and events into the frames the indicators read, with each stay's coverage flags from
the systems that truly recorded it, so one definition runs on both.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stairs_link.indicators import Frames, prepare_frames
from stairs_link.integrate import build, derive_transitions
from stairs_link.linkage import write_linked
from stairs_link.linkage.pipeline import link_table
from stairs_link.synth import canonical_tables, truth_clusters, write_staged
from stairs_link.synth.exports import draw
from stairs_link.synth.world import EXTRACT_DATE

#: the world of the indicator tests (the issue's 2,000-child check)
N_CHILDREN = 2000
SEED = 7


def build_world(root: Path, n_children: int, seed: int, linkage: str = "model") -> Path:
    """Stage, link and build the world; returns the DATASET directory."""
    tables, truth = canonical_tables(n_children, seed)
    staged = write_staged(tables, root / "staged")
    clusters = truth_clusters(truth) if linkage == "truth" else link_table(tables["person"]).clusters
    linked = write_linked(root / "linked", clusters)
    build(linked, staged, root / "dataset")
    return root / "dataset"


def truth_frames(n_children: int, seed: int, as_at=None) -> Frames:
    """The generator's truth as indicator frames (stay_id = true child + stay number)."""
    drawn = draw(n_children, seed)
    world = drawn.world
    stays = world.stays.copy()
    stays["child_id"] = stays["true_child_id"]
    stays["stay_id"] = stays["true_child_id"] + ":" + stays["stay_no"].astype(str)
    key = stays.set_index(["child_index", "stay_no"])["stay_id"]
    units = drawn.units
    for kind in ("health", "operations", "education", "social_care"):
        held = units[units["system_kind"] == kind]
        if kind == "social_care":  # care systems export only welfare and remand placements (synth/exports.py)
            held = held[held["legal_basis"].isin(["welfare_s25", "remand"])]
        held = held[["child_index", "stay_no"]].drop_duplicates()
        ids = set(key.reindex(pd.MultiIndex.from_frame(held)).dropna())
        stays[f"recorded_by_{kind}"] = stays["stay_id"].isin(ids)
    stays["observed_until"] = pd.to_datetime(stays["discharge_date"]).fillna(pd.Timestamp(EXTRACT_DATE))
    stays["discharge_destination"] = stays["discharge_destination"].fillna("unknown")
    children = world.children.rename(columns={"true_child_id": "child_id"})[
        ["child_id", "sex", "ethnicity", "date_of_birth"]]
    events = {}
    for table, frame in drawn.events.items():
        e = frame.copy()
        e["child_id"] = e["true_child_id"]
        e["stay_id"] = key.reindex(pd.MultiIndex.from_frame(e[["child_index", "stay_no"]])).to_numpy()
        events[table] = e
    columns = ["child_id", "stay_id", "site_id", "setting_type", "admission_date", "discharge_date",
               "legal_basis", "discharge_destination"]
    dob = children.set_index("child_id")["date_of_birth"]
    transitions = derive_transitions(stays[columns], dob)
    return prepare_frames(stays, children, events, transitions, as_at=as_at,
                          data_as_at=pd.Timestamp(EXTRACT_DATE[:10]).date())
