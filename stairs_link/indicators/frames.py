"""The dataset as the indicators read it: one frame per table, cut at the as-at date.

:func:`load_frames` reads a DATASET directory (only the columns indicators use; never names,
identifiers or dates of birth beyond the age band); :func:`prepare_frames` applies the as-at
date to frames from anywhere (a dataset, or the generator's truth in the tests), so the same
definitions run on both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from stairs_link.errors import IndicatorError
from stairs_link.indicators.model import GROUP_COLUMNS
from stairs_link.schema.codes import ETHNIC_GROUP
from stairs_link.schema.outputs import verify_dataset

#: age in years -> band (the evaluation reports age groups, not ages); "unknown" without a birth date
AGE_BANDS = [(0, 14, "10-13"), (14, 16, "14-15"), (16, 18, "16-17"), (18, 200, "18+")]


def age_band(age: pd.Series) -> pd.Series:
    """Ages in years (float, NaN unknown) -> the band labels of :data:`AGE_BANDS`."""
    out = pd.Series("unknown", index=age.index, dtype=object)
    for low, high, label in AGE_BANDS:
        out[(age >= low) & (age < high)] = label
    return out

STAY_COLUMNS = ["child_id", "stay_id", "site_id", "setting_type", "admission_date", "discharge_date",
                "legal_basis", "discharge_destination", "recorded_by_health", "recorded_by_operations",
                "recorded_by_education", "recorded_by_social_care", "observed_until"]
EVENT_COLUMNS = {
    "formulation": ("formulations.parquet", "formulation_date",
                    ["child_id", "stay_id", "formulation_date", "formulation_type", "disciplines_present",
                     "child_involvement"]),
    "incident": ("incidents.parquet", "incident_at", ["child_id", "stay_id", "incident_at", "incident_kind"]),
    "education": ("education.parquet", "period_start",
                  ["child_id", "stay_id", "period_start", "period_end", "hours_offered", "hours_attended"]),
    "measure": ("measures.parquet", "measure_date", ["child_id", "stay_id", "measure_date", "instrument", "score"]),
}
TRANSITION_COLUMNS = ["child_id", "move_seq", "kind", "move_date", "from_stay_id", "to_stay_id", "gap_days"]


@dataclass
class Frames:
    """Everything the definitions read. ``stays`` has the group columns and ``end`` (the day
    the stay is observed to: discharge, else observed_until, never after ``as_at``); each
    event frame has ``date`` (its day) and keeps only rows in a stay on or before ``as_at``."""

    stays: pd.DataFrame
    events: dict[str, pd.DataFrame]
    transitions: pd.DataFrame
    as_at: date
    data_as_at: date | None
    #: intermediate results definitions share (e.g. first and last scores), keyed by what they depend on
    cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False, compare=False)


def _read(path: Path, columns: list[str], fix: str) -> pd.DataFrame:
    if not path.exists():
        raise IndicatorError(f"{path.name} not found in the dataset", reason="missing_file", file=str(path), fix=fix)
    schema = pq.read_schema(path)
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise IndicatorError(f"{path.name} has no column '{missing[0]}'", reason="missing_column", file=str(path),
                             column=missing[0],
                             fix="rebuild the dataset with this version of `stairs-link build` (it adds stay ids "
                                 "and coverage)")
    return pq.read_table(path, columns=columns).to_pandas()


def load_frames(dataset: str | Path, as_at: date | None = None) -> Frames:
    """Read DATASET (written by `stairs-link build`) and cut it at ``as_at`` (default: its data as at)."""
    dataset = Path(dataset)
    fix = "pass the DATASET directory written by `stairs-link build`"
    if not (dataset / "build.json").exists():
        raise IndicatorError("not a dataset directory (no build.json)", reason="not_a_dataset", file=str(dataset),
                             fix=fix)
    verify_dataset(dataset)
    summary = json.loads((dataset / "build.json").read_text(encoding="utf-8"))
    stated = (summary.get("data_as_at") or {}).get("as_at")
    stays = _read(dataset / "stays.parquet", STAY_COLUMNS, fix)
    child_cols = ["child_id", "sex", "ethnicity"]
    names = pq.read_schema(dataset / "children.parquet").names
    birth = "date_of_birth" if "year_of_birth" not in names else "year_of_birth"
    children = _read(dataset / "children.parquet", [*child_cols, birth], fix)
    events = {t: _read(dataset / f, cols, fix) for t, (f, _, cols) in EVENT_COLUMNS.items()}
    transitions = _read(dataset / "transitions.parquet", TRANSITION_COLUMNS, fix)
    return prepare_frames(stays, children, events, transitions, as_at=as_at,
                          data_as_at=date.fromisoformat(stated) if stated else None)


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize().astype("datetime64[ns]")


def prepare_frames(stays: pd.DataFrame, children: pd.DataFrame, events: dict[str, pd.DataFrame],
                   transitions: pd.DataFrame, *, as_at: date | None = None,
                   data_as_at: date | None = None) -> Frames:
    """Frames from plain tables (columns as in :data:`STAY_COLUMNS`, :data:`EVENT_COLUMNS`,
    :data:`TRANSITION_COLUMNS`; children: child_id, sex, ethnicity, date_of_birth or
    year_of_birth), cut at ``as_at`` (default ``data_as_at``, else the latest date seen)."""
    s = stays.copy()
    s["admission_date"] = _day(s["admission_date"])
    s["discharge_date"] = _day(s["discharge_date"])
    s["observed_until"] = _day(s["observed_until"])
    if as_at is None:
        as_at = data_as_at or pd.concat([s["admission_date"], s["discharge_date"], s["observed_until"]]).max().date()
    cut = pd.Timestamp(as_at)
    s = s[s["admission_date"] <= cut].copy()
    later = s["discharge_date"] > cut  # still there on the as-at date
    s.loc[later, "discharge_date"] = pd.NaT
    s.loc[later, "discharge_destination"] = "unknown"
    s["end"] = s["discharge_date"].fillna(s["observed_until"]).fillna(cut).clip(upper=cut)
    s["end"] = s[["end", "admission_date"]].max(axis=1)
    s["year"] = s["admission_date"].dt.year.astype("int64").astype(str)

    c = children.set_index("child_id")
    s["sex"] = s["child_id"].map(c["sex"]).fillna("unknown")
    s["ethnic_group"] = s["child_id"].map(c["ethnicity"].map(ETHNIC_GROUP)).fillna("Unknown")
    if "date_of_birth" in c.columns:
        age = (s["admission_date"] - pd.to_datetime(s["child_id"].map(c["date_of_birth"]))).dt.days / 365.25
    else:
        age = s["admission_date"].dt.year - s["child_id"].map(c["year_of_birth"]).astype("float64")
    s["age_band"] = age_band(age)
    for column in ("recorded_by_health", "recorded_by_operations", "recorded_by_education",
                   "recorded_by_social_care"):
        s[column] = s[column].fillna(False).astype(bool)
    s = s.reset_index(drop=True)

    kept: dict[str, pd.DataFrame] = {}
    for table, (_, date_column, _) in EVENT_COLUMNS.items():
        e = events[table].copy()
        e["date"] = _day(e[date_column])
        e = e[e["stay_id"].notna() & (e["date"] <= cut) & e["stay_id"].isin(s["stay_id"])]
        kept[table] = e.reset_index(drop=True)
    t = transitions.copy()
    t["move_date"] = _day(t["move_date"])
    t = t[t["move_date"] <= cut].reset_index(drop=True)
    return Frames(stays=s, events=kept, transitions=t, as_at=as_at, data_as_at=data_as_at)


def stay_groups(frames: Frames) -> pd.DataFrame:
    """The group columns of every stay, indexed by stay_id."""
    return frames.stays.set_index("stay_id")[["child_id", *GROUP_COLUMNS]]


def days_in(stays: pd.DataFrame) -> np.ndarray:
    """Days observed in each stay (admission and end day both count; at least 1)."""
    return np.maximum((stays["end"] - stays["admission_date"]).dt.days.to_numpy() + 1, 1)
