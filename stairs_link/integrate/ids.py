"""Stable child ids across runs.

Without a previous dataset, a child's id is ``"C"`` + the first 12 hex digits of
SHA-256 of the smallest ``record_key`` in its cluster: the same records give the same id on
every run and machine, whatever label the linkage gave the cluster. (If two clusters ever
hashed to the same id, or a new id equalled one already used, the later one in record_key
order is re-hashed with a ``#1``, ``#2`` ... suffix.)

With a previous dataset (``--previous``), clusters are compared with the previous children
by shared records:

* each previous child goes to the new cluster holding most of its records (ties: the new
  cluster with the smallest record_key); when its records are now in several clusters the
  other parts get new ids (event ``split``, on every part);
* a new cluster that received several previous children keeps the id of the one with the
  most shared records (ties: the one with more records before, then the smallest id) and
  records the others (event ``merged``);
* a cluster that received exactly one previous child that did not split keeps its id
  (``continued``); a cluster sharing no record with any previous child is ``created``;
* a previous child none of whose records is present any more is listed as ``absent``
  (so the history explains every id that disappears).

``id_history.parquet`` holds the previous history plus one row per child of this run
(``child_id``, ``event``, ``previous_child_ids``, ``run``, ``reason``), with ``run`` counting up
from 1. ``reason`` says why (see :data:`REASONS`).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

ID_EVENTS = ["created", "continued", "merged", "split", "absent"]

#: why an id event happened (id_history.parquet ``reason``).
REASONS = {
    "first_run": "created in a build without --previous",
    "new_records": "created: none of its records belonged to a previous child",
    "shared_records": "continued: it holds the records of exactly one previous child",
    "new_record_links_them": "merged: a record not in the previous dataset links records of several previous children",
    "record_changed": "merged or split: a record of a previous child came in a new version (edited at source) "
                      "and now links elsewhere",
    "relinked": "merged or split: the linkage now joins (or parts) records it parted (or joined) before, "
                "with no new or changed record involved (a different model, threshold or decision)",
    "records_no_longer_staged": "absent: none of the previous child's records is in this build",
}

#: hex digits of SHA-256 kept in a child id (a module constant so tests can force collisions).
ID_HEX_DIGITS = 12


def _hash_id(key: str, attempt: int = 0) -> str:
    text = key if attempt == 0 else f"{key}#{attempt}"
    return "C" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:ID_HEX_DIGITS]


def _fresh_ids(min_keys: pd.Series, taken: set[str]) -> pd.Series:
    """Hash-derived ids for clusters (index = cluster label), avoiding ``taken`` ids."""
    ids = {}
    used = set(taken)
    # hashing is per cluster (not per record) so the loop is over children, not rows
    for label, key in min_keys.sort_values(kind="stable").items():
        attempt = 0
        candidate = _hash_id(key)
        while candidate in used:
            attempt += 1
            candidate = _hash_id(key, attempt)
        used.add(candidate)
        ids[label] = candidate
    return pd.Series(ids, dtype="object").reindex(min_keys.index)


def assign_child_ids(
    clusters: pd.DataFrame, previous: pd.DataFrame | None = None, previous_history: pd.DataFrame | None = None,
    changed: set[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stable ids for the linkage's clusters.

    ``clusters``: record_key, cluster_id (the linkage's run-local cluster label). ``previous``: record_key,
    child_id of the previous dataset. ``changed``: record_keys that came in a new version
    (for the ``reason`` of merges and splits). Returns (record_key -> child_id map, history
    rows of this run appended to ``previous_history``).
    """
    frame = clusters[["record_key", "cluster_id"]].rename(columns={"cluster_id": "cluster"})
    # smallest record_key per cluster (sort + first: avoids a Python fallback on object min)
    min_key = frame.sort_values("record_key").drop_duplicates("cluster").set_index("cluster")["record_key"]
    min_key = min_key.sort_index()
    size = frame.groupby("cluster").size()
    run = 1
    history_before = None
    if previous_history is not None and len(previous_history):
        run = int(previous_history["run"].max()) + 1
        history_before = previous_history

    if previous is None or previous.empty:
        ids = _fresh_ids(min_key, set())
        events = pd.DataFrame({"cluster": ids.index, "child_id": ids.values, "event": "created",
                               "reason": "first_run"})
        events["previous_child_ids"] = [[] for _ in range(len(events))]
    else:
        ids, events = _inherit(frame, min_key, size, previous)
        events["reason"] = _reasons(events, frame, previous, changed or set())

    mapping = frame.assign(child_id=frame["cluster"].map(ids))[["record_key", "child_id"]]
    history = events[["child_id", "event", "previous_child_ids", "reason"]].copy()
    history["run"] = run
    history = history.sort_values(["child_id", "event"], kind="stable")
    if history_before is not None:
        before = history_before.reindex(columns=history.columns)  # files before `reason` lack it
        history = pd.concat([before, history], ignore_index=True)
    history["run"] = history["run"].astype("int32")
    return mapping.reset_index(drop=True), history.reset_index(drop=True)


def _inherit(
    frame: pd.DataFrame, min_key: pd.Series, size: pd.Series, previous: pd.DataFrame
) -> tuple[pd.Series, pd.DataFrame]:
    prev = previous[["record_key", "child_id"]].rename(columns={"child_id": "old"})
    old_size = prev.groupby("old").size()
    shared = frame.merge(prev, on="record_key").groupby(["cluster", "old"]).size().rename("n").reset_index()
    shared["cluster_min_key"] = shared["cluster"].map(min_key)
    shared["old_size"] = shared["old"].map(old_size)
    # each old child goes to the new cluster holding most of its records
    best = shared.sort_values(["old", "n", "cluster_min_key"], ascending=[True, False, True], kind="stable")
    best = best.drop_duplicates("old", keep="first")
    split_olds = set(shared.loc[shared["old"].duplicated(keep=False), "old"])
    # among the old children a cluster received, the one with most shared records keeps its id
    keep = best.sort_values(["cluster", "n", "old_size", "old"], ascending=[True, False, False, True], kind="stable")
    keepers = keep.drop_duplicates("cluster", keep="first").set_index("cluster")["old"]
    n_received = best.groupby("cluster").size().reindex(min_key.index, fill_value=0)

    ids = pd.Series(index=min_key.index, dtype="object")
    ids.loc[keepers.index] = keepers
    need_new = ids.isna()
    taken = set(prev["old"].unique())
    ids.loc[need_new] = _fresh_ids(min_key[need_new], taken)

    # events per new cluster
    shared = shared.sort_values(["cluster", "old"], kind="stable")
    olds_in = shared.groupby("cluster", sort=False)["old"].agg(list)
    touched_split = shared["old"].isin(split_olds).groupby(shared["cluster"]).any()
    touched_split = touched_split.reindex(min_key.index, fill_value=False)
    event = pd.Series("created", index=min_key.index, dtype="object")
    event[min_key.index.isin(olds_in.index)] = "continued"
    event[touched_split.to_numpy()] = "split"
    event[(n_received > 1).to_numpy()] = "merged"
    previous_ids = olds_in.reindex(min_key.index)
    previous_ids = previous_ids.where(previous_ids.notna(), pd.Series([[]] * len(previous_ids), index=previous_ids.index))
    events = pd.DataFrame({"cluster": min_key.index, "child_id": ids.values, "event": event.values,
                           "previous_child_ids": previous_ids.values})
    gone = sorted(set(old_size.index) - set(shared["old"]))
    if gone:
        events = pd.concat([events, pd.DataFrame({
            "cluster": None, "child_id": gone, "event": "absent",
            "previous_child_ids": [[g] for g in gone],
        })], ignore_index=True)
    return ids, events


def _reasons(events: pd.DataFrame, frame: pd.DataFrame, previous: pd.DataFrame, changed: set[str]) -> pd.Series:
    """The ``reason`` of each event of this run (see :data:`REASONS`)."""
    has_new = (~frame["record_key"].isin(previous["record_key"])).groupby(frame["cluster"]).any()
    has_changed = frame["record_key"].isin(list(changed)).groupby(frame["cluster"]).any()
    cluster = events["cluster"]
    new = cluster.map(has_new).fillna(False).astype(bool).to_numpy()
    edited = cluster.map(has_changed).fillna(False).astype(bool).to_numpy()
    # a split shows on every part: any part's changed record explains them all (and a merge
    # of previous children one of which had a changed record)
    touched = set(previous.loc[previous["record_key"].isin(list(changed)), "child_id"]) if changed else set()
    if touched:
        edited |= events["previous_child_ids"].map(lambda ids: not touched.isdisjoint(ids)).to_numpy(dtype=bool)
    event = events["event"].to_numpy()
    moved = np.isin(event, ["merged", "split"])
    reason = np.select(
        [event == "created", event == "continued", event == "absent",
         moved & edited, (event == "merged") & new],
        ["new_records", "shared_records", "records_no_longer_staged", "record_changed", "new_record_links_them"],
        "relinked")
    return pd.Series(reason, index=events.index, dtype=object)
