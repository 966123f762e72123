"""Aggregates shown in the evaluator report, computed from a dataset directory.

Every function returns RAW counts (integers); the report suppresses them before anything is
drawn or written (see :mod:`stairs_link.report.render`). Nothing here returns a row per child.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from stairs_link.errors import IntegrationError
from stairs_link.schema.outputs import verify_dataset, verify_linked
from stairs_link.standardise.dates import as_seconds

SETTING_ORDER = ["community", "SCH", "STC", "YOI", "young_adult_estate"]
DELAY_BINS = [(0, 7, "0-7 days"), (8, 14, "8-14 days"), (15, 28, "15-28 days"), (29, 56, "29-56 days"),
              (57, 90, "57-90 days"), (91, None, "over 90 days")]
CLUSTER_SIZE_LABELS = ["1", "2", "3", "4", "5", "6-9", "10 or more"]


@dataclass
class Dataset:
    """The parts of a dataset directory the report reads."""

    children: pd.DataFrame  # child_id, n_records (no personal fields are loaded)
    sources: pd.DataFrame  # child_id, record_key, site_id, setting_type, system_kind, source_system
    stays: pd.DataFrame
    transitions: pd.DataFrame
    formulations: pd.DataFrame
    events: dict[str, pd.DataFrame]  # table -> child_id, site_id
    pairs: pd.DataFrame | None
    review: pd.DataFrame | None
    linkage_summary: dict | None
    id_history: pd.DataFrame | None = None


def load_dataset(dataset_dir: Path, linked_dir: Path | None = None) -> Dataset:
    """Read what the report needs; personal columns (names, DOB, identifiers) are never loaded."""
    dataset_dir = Path(dataset_dir)
    needed = ["children.parquet", "stays.parquet", "transitions.parquet", "formulations.parquet"]
    for name in needed:
        if not (dataset_dir / name).exists():
            raise IntegrationError(
                f"{name} not found in the dataset directory",
                reason="missing_dataset_table",
                file=str(dataset_dir / name),
                fix="run `stairs-link build LINKED STAGED... --out DATASET` first and pass DATASET",
            )
    verify_dataset(dataset_dir)  # a dataset a finished build wrote whole, or refused
    if linked_dir is not None:
        verify_linked(linked_dir, ("pairs.parquet",))
    table = pq.read_table(dataset_dir / "children.parquet", columns=["child_id", "n_records", "source_records"])
    children = table.select(["child_id", "n_records"]).to_pandas()
    lengths = pc.list_value_length(table.column("source_records")).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(table.column("source_records").combine_chunks())
    sources = pd.DataFrame({
        "child_id": np.repeat(table.column("child_id").to_numpy(zero_copy_only=False), lengths),
        **{c: flat.field(c).to_numpy(zero_copy_only=False)
           for c in ("record_key", "site_id", "setting_type", "system_kind", "source_system")},
    }) if len(flat) else pd.DataFrame(columns=["child_id", "record_key", "site_id", "setting_type",
                                               "system_kind", "source_system"])
    events = {}
    for name in ("episodes", "formulations", "incidents", "education", "measures"):
        path = dataset_dir / f"{name}.parquet"
        events[name] = pq.read_table(path, columns=["child_id", "site_id"]).to_pandas() if path.exists() \
            else pd.DataFrame(columns=["child_id", "site_id"])
    linkage = Path(linked_dir) if linked_dir is not None else dataset_dir / "linkage"
    pairs = None
    if (linkage / "pairs.parquet").exists():
        pairs = pq.read_table(linkage / "pairs.parquet", columns=["match_weight", "match_probability"]).to_pandas()
    review = pd.read_csv(linkage / "review.csv", encoding="utf-8-sig") if (linkage / "review.csv").exists() else None
    summary = None
    if (linkage / "summary.json").exists():
        summary = json.loads((linkage / "summary.json").read_text(encoding="utf-8"))
    formulations = pq.read_table(dataset_dir / "formulations.parquet",
                                 columns=["child_id", "site_id", "formulation_date"]).to_pandas()
    return Dataset(
        children=children,
        sources=sources,
        stays=pq.read_table(dataset_dir / "stays.parquet").to_pandas(),
        transitions=pq.read_table(dataset_dir / "transitions.parquet").to_pandas(),
        formulations=formulations,
        events=events,
        pairs=pairs,
        review=review,
        linkage_summary=summary,
        id_history=pq.read_table(dataset_dir / "id_history.parquet", columns=["event", "run"]).to_pandas()
        if (dataset_dir / "id_history.parquet").exists() else None,
    )


def coverage_by_site(data: Dataset) -> pd.DataFrame:
    """Per site: setting type, kinds of system, and records, children, stays and event rows (raw counts)."""
    src = data.sources
    out = src.groupby("site_id").agg(
        setting_type=("setting_type", "first"),
        system_kinds=("system_kind", lambda s: ", ".join(sorted(set(s)))),  # one call per site
        records=("record_key", "size"),
        children=("child_id", "nunique"),
    )
    out["stays"] = data.stays.groupby("site_id").size().reindex(out.index).fillna(0).astype(int)
    for name, frame in data.events.items():
        if name == "episodes":
            continue
        out[name] = frame.groupby("site_id").size().reindex(out.index).fillna(0).astype(int)
    return out.reset_index()


def link_rate_by_system(data: Dataset) -> pd.DataFrame:
    """Per site system: records, records linked to a record of another site system, and the rate.
    A system whose records linked to nothing else usually has a mapping or format problem."""
    src = data.sources.assign(system=data.sources["site_id"].astype(str) + "/" + data.sources["source_system"].astype(str))
    systems_per_child = src.groupby("child_id")["system"].nunique()
    linked = src["child_id"].map(systems_per_child).fillna(0) > 1
    out = src.assign(linked=linked).groupby(["site_id", "source_system"], sort=True).agg(
        system_kind=("system_kind", "first"), records=("record_key", "size"), linked=("linked", "sum"))
    out["link_rate"] = out["linked"] / out["records"]
    return out.reset_index()


def cluster_sizes(data: Dataset) -> pd.DataFrame:
    """Children by number of linked records (banded so no single large cluster stands out)."""
    n = data.children["n_records"].to_numpy()
    bands = np.select([n <= 5, n <= 9], [n.astype(str), "6-9"], "10 or more")
    counts = pd.Series(bands).value_counts().reindex(CLUSTER_SIZE_LABELS, fill_value=0)
    return pd.DataFrame({"records per child": counts.index, "children": counts.to_numpy()})


def weight_histogram(pairs: pd.DataFrame, bins: int = 20) -> pd.DataFrame:
    """Scored pairs by match weight band."""
    weights = pairs["match_weight"].to_numpy(dtype=float)
    weights = weights[np.isfinite(weights)]
    if weights.size == 0:
        return pd.DataFrame({"match weight": [], "pairs": []})
    counts, edges = np.histogram(weights, bins=bins)
    labels = [f"{lo:.1f} to {hi:.1f}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return pd.DataFrame({"match weight": labels, "pairs": counts})


def transition_matrix(data: Dataset) -> pd.DataFrame:
    """Moves between setting types (rows: from, columns: to), community and young adult estate included."""
    t = data.transitions
    present = [s for s in SETTING_ORDER if s in set(t["from_setting_type"]) | set(t["to_setting_type"])]
    others = sorted((set(t["from_setting_type"]) | set(t["to_setting_type"])) - set(SETTING_ORDER))
    order = present + others
    matrix = pd.crosstab(t["from_setting_type"], t["to_setting_type"])
    return matrix.reindex(index=[o for o in order if o != "young_adult_estate"],
                          columns=[o for o in order if o != "community"] + (["community"] if "community" in order else []),
                          fill_value=0)


def moves_by_kind(data: Dataset) -> pd.DataFrame:
    """Moves by kind, with how many had a formulation before and one at the receiving setting."""
    t = data.transitions
    out = t.groupby("kind").agg(
        moves=("child_id", "size"),
        children=("child_id", "nunique"),
        formulation_before=("formulation_before", lambda s: int(s.fillna(False).astype(bool).sum())),
        formulation_at_receiving=("formulation_at_receiving_within_days",
                                  lambda s: int(s.fillna(False).astype(bool).sum())),
    )
    order = ["admission", "transfer", "readmission", "release", "young_adult_estate"]
    return out.reindex([k for k in order if k in out.index] + sorted(set(out.index) - set(order))).reset_index()


def _stay_formulations(data: Dataset) -> pd.DataFrame:
    """Per stay: admission, setting type, and the first formulation at that site during the stay."""
    stays = data.stays.copy()
    stays["admission_date"] = as_seconds(stays["admission_date"])
    stays["_end"] = as_seconds(stays["discharge_date"]).fillna(pd.Timestamp("2262-01-01"))
    f = data.formulations.copy()
    f["formulation_date"] = as_seconds(f["formulation_date"])
    hit = stays[["stay_id", "child_id", "site_id", "admission_date", "_end"]].merge(f, on=["child_id", "site_id"])
    hit = hit[(hit["formulation_date"] >= hit["admission_date"]) & (hit["formulation_date"] <= hit["_end"])]
    first = hit.groupby("stay_id")["formulation_date"].min()
    stays["first_formulation"] = stays["stay_id"].map(first)
    stays["days_to_formulation"] = (stays["first_formulation"] - stays["admission_date"]).dt.days
    return stays


def formulation_coverage(data: Dataset) -> pd.DataFrame:
    """Stays by setting type and admission year, and how many had a formulation during the stay."""
    stays = _stay_formulations(data)
    stays["year"] = stays["admission_date"].dt.year
    out = stays.groupby(["setting_type", "year"]).agg(
        stays=("stay_id", "size"),
        with_formulation=("first_formulation", "count"),
    )
    return out.reset_index()


def formulation_delay(data: Dataset) -> pd.DataFrame:
    """Stays by setting type and days from admission to the first formulation (banded)."""
    stays = _stay_formulations(data)
    days = stays["days_to_formulation"]
    labels = np.full(len(stays), "none during the stay", dtype=object)
    for lo, hi, label in DELAY_BINS:
        mask = (days >= lo) & ((days <= hi) if hi is not None else True)
        labels[mask.to_numpy()] = label
    stays["band"] = labels
    order = [b[2] for b in DELAY_BINS] + ["none during the stay"]
    table = pd.crosstab(stays["band"], stays["setting_type"]).reindex(order, fill_value=0)
    table.index.name = "time to first formulation"
    return table.reset_index()


def formulation_median_days(data: Dataset) -> pd.DataFrame:
    """Median days to first formulation by setting type, with the number of stays it rests on."""
    stays = _stay_formulations(data)
    known = stays[stays["days_to_formulation"].notna()]
    out = known.groupby("setting_type")["days_to_formulation"].agg(["size", "median"])
    return out.rename(columns={"size": "stays"}).reset_index()


def id_events(data: Dataset) -> pd.DataFrame:
    """Children of the latest run by how their id came about (created, continued, merged, split, absent)."""
    history = data.id_history
    if history is None or history.empty:
        return pd.DataFrame({"event": [], "children": []})
    latest = history[history["run"] == history["run"].max()]
    order = ["continued", "created", "merged", "split", "absent"]
    counts = latest["event"].value_counts()
    events = [e for e in order if e in counts.index] + sorted(set(counts.index) - set(order))
    return pd.DataFrame({"event": events, "children": [int(counts[e]) for e in events]})
