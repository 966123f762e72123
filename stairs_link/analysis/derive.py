"""De-identified analysis tables from a DATASET directory (columns: :mod:`stairs_link.analysis.schema`).

Only the columns the schema lists are read or written: no names, dates of birth, postcodes,
identifiers, record keys or exact dates. Stays are renumbered per child (``child_id-S1`` ...)
because the dataset's stay_id holds the admission date. Vectorised throughout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from stairs_link.analysis.schema import TABLES
from stairs_link.errors import AnalysisError
from stairs_link.indicators.frames import age_band
from stairs_link.schema.codes import ETHNIC_GROUP, INCIDENT_KIND
from stairs_link.schema.outputs import verify_dataset

_FIX = "pass the DATASET directory written by `stairs-link build` (this version: it adds stay ids and coverage)"


def _read(dataset: Path, name: str, columns: list[str]) -> pd.DataFrame:
    path = dataset / name
    if not path.exists():
        raise AnalysisError(f"{name} not found in the dataset", reason="missing_file", file=str(path), fix=_FIX)
    names = pq.read_schema(path).names
    missing = [c for c in columns if c not in names]
    if missing:
        raise AnalysisError(f"{name} has no column '{missing[0]}'", reason="missing_column", file=str(path),
                             column=missing[0], fix=_FIX)
    return pq.read_table(path, columns=columns).to_pandas()


def _month(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m").astype(object).where(pd.notna(values), None)


def _ages(children: pd.DataFrame, child_ids: pd.Series, when: pd.Series) -> pd.Series:
    c = children.set_index("child_id")
    if "date_of_birth" in c.columns:
        dob = pd.to_datetime(child_ids.map(c["date_of_birth"]))
        return (pd.to_datetime(when) - dob).dt.days / 365.25
    return pd.to_datetime(when).dt.year - child_ids.map(c["year_of_birth"]).astype("float64")


def analysis_tables(dataset: str | Path) -> dict[str, pd.DataFrame]:
    """Every analysis table of DATASET, columns in schema order (see the module docstring)."""
    dataset = Path(dataset)
    if (dataset / "build.json").exists():  # without it: the missing-file errors below
        verify_dataset(dataset)
    names = pq.read_schema(dataset / "children.parquet").names if (dataset / "children.parquet").exists() else []
    birth = "year_of_birth" if "year_of_birth" in names else "date_of_birth"
    children = _read(dataset, "children.parquet", ["child_id", "sex", "ethnicity", birth, "n_records", "n_systems",
                                                   "min_match_probability"])
    stays = _read(dataset, "stays.parquet", ["child_id", "stay_id", "site_id", "setting_type", "admission_date",
                                             "discharge_date", "legal_basis", "discharge_destination",
                                             "recorded_by_health", "recorded_by_operations", "recorded_by_education",
                                             "recorded_by_social_care", "observed_until"])
    ev_cols = ["child_id", "stay_id", "stay_rule", "site_id", "setting_type"]
    form = _read(dataset, "formulations.parquet", [*ev_cols, "formulation_date", "formulation_type",
                                                   "disciplines_present", "child_involvement"])
    inc = _read(dataset, "incidents.parquet", [*ev_cols, "incident_at", "incident_kind", "injury"])
    edu = _read(dataset, "education.parquet", [*ev_cols, "period_start", "period_end", "hours_offered",
                                               "hours_attended"])
    mea = _read(dataset, "measures.parquet", [*ev_cols, "measure_date", "instrument", "score"])
    moves = _read(dataset, "transitions.parquet", ["child_id", "move_seq", "kind", "move_date", "from_stay_id",
                                                   "from_setting_type", "from_site_id", "to_stay_id",
                                                   "to_setting_type", "to_site_id", "gap_days",
                                                   "discharge_destination", "legal_basis", "age_at_move",
                                                   "formulation_before", "formulation_at_receiving_within_days"])

    # stays, renumbered within each child by admission
    s = stays.sort_values(["child_id", "admission_date", "stay_id"], kind="stable").reset_index(drop=True)
    s["stay_seq"] = s.groupby("child_id", sort=False).cumcount() + 1
    s["new_id"] = s["child_id"] + "-S" + s["stay_seq"].astype(str)
    renumber = s.set_index("stay_id")["new_id"]
    admission = pd.to_datetime(s.set_index("stay_id")["admission_date"])

    def events(frame: pd.DataFrame, date_column: str, month_name: str) -> pd.DataFrame:
        out = frame.copy()
        day = pd.to_datetime(out[date_column]).dt.normalize()
        out[month_name] = _month(day)
        out["day_of_stay"] = ((day - out["stay_id"].map(admission)).dt.days + 1).astype("Int64")
        out["stay_id"] = out["stay_id"].map(renumber)
        return out

    f = events(form, "formulation_date", "formulation_month")
    i = events(inc, "incident_at", "incident_month")
    e = events(edu, "period_start", "period_month")
    end = pd.to_datetime(e["period_end"]).fillna(pd.to_datetime(e["period_start"]))
    e["period_days"] = np.maximum((end - pd.to_datetime(e["period_start"])).dt.days + 1, 1).astype("int64")
    m = events(mea, "measure_date", "measure_month")

    # stay summaries
    s["admission_month"] = _month(s["admission_date"])
    s["discharge_month"] = _month(s["discharge_date"])
    s["open"] = s["discharge_date"].isna()
    last = pd.to_datetime(s["discharge_date"]).fillna(pd.to_datetime(s["observed_until"]))
    s["length_days"] = ((last - pd.to_datetime(s["admission_date"])).dt.days + 1).astype("Int64")
    s["age_band"] = age_band(_ages(children, s["child_id"], s["admission_date"])).to_numpy()
    key = s["new_id"]

    def count(frame: pd.DataFrame, mask: pd.Series | None = None) -> pd.Series:
        rows = frame if mask is None else frame[mask]
        return key.map(rows.groupby("stay_id").size()).fillna(0).astype("int64")

    s["n_formulations"] = count(f)
    s["days_to_first_formulation"] = key.map(f.groupby("stay_id")["day_of_stay"].min() - 1).astype("Int64")
    s["transition_formulation"] = count(f, f["formulation_type"] == "transition") > 0
    s["n_incidents"] = count(i)
    for kind in INCIDENT_KIND:
        s[f"n_{kind}"] = count(i, i["incident_kind"] == kind)
    by_stay = e.groupby("stay_id")
    s["education_days"] = key.map(by_stay["period_days"].sum()).fillna(0).astype("int64")
    s["hours_offered"] = key.map(by_stay["hours_offered"].sum()).fillna(0.0)
    s["hours_attended"] = key.map(by_stay["hours_attended"].sum()).fillna(0.0)
    ors = m[(m["instrument"] == "ORS") & m["stay_id"].notna()]
    per_day = ors.groupby(["stay_id", "day_of_stay"], sort=True)["score"].mean().reset_index()
    s["n_ors"] = count(ors)
    grouped = per_day.groupby("stay_id", sort=False)
    s["first_ors"] = key.map(grouped["score"].first())
    s["last_ors"] = key.map(grouped["score"].last().where(grouped.size() >= 2))

    # children
    c = children.copy()
    c["ethnic_group"] = c["ethnicity"].map(ETHNIC_GROUP).fillna("Unknown")
    first = s.drop_duplicates("child_id").set_index("child_id")
    c["age_band_first_admission"] = c["child_id"].map(first["age_band"]).fillna("unknown")
    c["first_admission_month"] = c["child_id"].map(first["admission_month"])
    c["n_stays"] = c["child_id"].map(s.groupby("child_id").size()).fillna(0).astype("int64")
    c["n_sites"] = c["child_id"].map(s.groupby("child_id")["site_id"].nunique()).fillna(0).astype("int64")
    for column, frame in (("n_moves", moves), ("n_formulations", form), ("n_incidents", inc), ("n_measures", mea)):
        c[column] = c["child_id"].map(frame.groupby("child_id").size()).fillna(0).astype("int64")
    for column in ("n_records", "n_systems"):
        c[column] = c[column].astype("int64")

    # transitions
    t = moves.copy()
    t["move_month"] = _month(t["move_date"])
    t["from_stay_id"] = t["from_stay_id"].map(renumber)
    t["to_stay_id"] = t["to_stay_id"].map(renumber)
    t["age_band_at_move"] = age_band(t["age_at_move"].astype("float64"))
    t = t.rename(columns={"formulation_at_receiving_within_days": "formulation_at_receiving"})

    s = s.drop(columns=["stay_id"]).rename(columns={"new_id": "stay_id"})
    out = {"children": c, "stays": s, "formulations": f, "incidents": i, "education": e, "measures": m,
           "transitions": t}
    return {name: out[name][[col.name for col in TABLES[name]]].reset_index(drop=True) for name in TABLES}
