"""Events attributed to stays, and which kinds of system recorded each stay.

**Attribution rule** (docs/dataset.md, *Events and stays*). An event row (formulation,
incident, education period, measure, and the episodes themselves) belongs to the stay of the
same child **at the same site** whose dates contain the event's date: admission date <= event
date <= discharge date (an open stay has no upper bound). The date used is the table's date
column of :data:`EVENT_DATES` (an incident's calendar day; an education period's first day).
Stays of one child at one site never overlap (they are merged intervals), so at most one stay
matches. An event that falls in no stay keeps a null ``stay_id`` and its ``stay_rule`` says why:

=================== ==================================================================
``in_stay``         inside a stay (``stay_id`` set)
``before_admission`` before the child's first stay at that site
``after_discharge`` after the discharge of the child's last stay at that site
``between_stays``   after one stay at that site ended and before the next one began
``no_stay_at_site`` the child has no stay at that site at all (no episode recorded there)
=================== ==================================================================

Nothing is moved to the nearest stay: a per-stay figure counts only ``in_stay`` rows, and the
counts of the others are in build.json (``events_outside_stays``) so a reader sees how many.

**Coverage.** A stay is *recorded by* a system kind (health, operations, education,
social_care) when a record of that kind has an episode merged into the stay or an event
attributed to it. Indicators use these flags as denominators: "no formulation in a stay a
health system recorded" differs from "no health record of the stay".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stairs_link.schema.codes import SYSTEM_KIND

#: date column that places a row of each table on the child's pathway.
EVENT_DATES: dict[str, str] = {
    "episode": "admission_date",
    "formulation": "formulation_date",
    "incident": "incident_at",
    "education": "period_start",
    "measure": "measure_date",
}

STAY_RULES = ["in_stay", "before_admission", "after_discharge", "between_stays", "no_stay_at_site"]

#: one boolean column per system kind on stays.parquet.
COVERAGE_COLUMNS = {kind: f"recorded_by_{kind}" for kind in SYSTEM_KIND}


def attribute_to_stays(events: pd.DataFrame, stays: pd.DataFrame, date_column: str) -> tuple[pd.Series, pd.Series]:
    """(stay_id, stay_rule) for every row of ``events`` (aligned to its index).

    ``events`` needs child_id, site_id and ``date_column``; ``stays`` child_id, stay_id, site_id,
    admission_date, discharge_date (null = open). Vectorised: one ``merge_asof`` per call.
    """
    stay_id = pd.Series(None, index=events.index, dtype=object)
    rule = pd.Series("no_stay_at_site", index=events.index, dtype=object)
    if events.empty or stays.empty:
        return stay_id, rule
    day = pd.to_datetime(events[date_column]).dt.normalize().astype("datetime64[ns]")
    left = pd.DataFrame({"_row": np.arange(len(events)), "child_id": events["child_id"].astype(str).to_numpy(),
                         "site_id": events["site_id"].astype(str).to_numpy(), "_day": day.to_numpy()})
    known = left["_day"].notna()
    right = pd.DataFrame({
        "child_id": stays["child_id"].astype(str).to_numpy(),
        "site_id": stays["site_id"].astype(str).to_numpy(),
        "_adm": pd.to_datetime(stays["admission_date"]).astype("datetime64[ns]").to_numpy(),
        "_dis": pd.to_datetime(stays["discharge_date"]).astype("datetime64[ns]").to_numpy(),
        "_stay_id": stays["stay_id"].to_numpy(dtype=object),
    })
    right = right.sort_values("_adm", kind="stable")
    # rank of each stay among the child's stays at the site, and how many there are
    right["_rank"] = right.groupby(["child_id", "site_id"], sort=False).cumcount()
    right["_count"] = right.groupby(["child_id", "site_id"], sort=False)["_adm"].transform("size")
    found = pd.merge_asof(left[known].sort_values("_day", kind="stable"), right, left_on="_day", right_on="_adm",
                          by=["child_id", "site_id"], direction="backward")
    found = found.set_index("_row").reindex(np.arange(len(events)))
    has_stay_at_site = pd.MultiIndex.from_frame(left[["child_id", "site_id"]]).isin(
        pd.MultiIndex.from_frame(right[["child_id", "site_id"]]))
    started = found["_stay_id"].notna().to_numpy()
    inside = started & (found["_dis"].isna().to_numpy() | (found["_day"] <= found["_dis"]).to_numpy())
    last = (found["_rank"] == found["_count"] - 1).to_numpy()
    values = np.select(
        [inside, started & last, started, has_stay_at_site],
        ["in_stay", "after_discharge", "between_stays", "before_admission"],
        "no_stay_at_site",
    )
    rule[:] = values
    stay_id[:] = np.where(inside, found["_stay_id"].to_numpy(dtype=object), None)
    return stay_id, rule


def count_rules(rules: pd.Series) -> dict[str, int]:
    """{rule: rows} for the rules other than ``in_stay`` that occur (build.json)."""
    counts = rules.value_counts()
    return {r: int(counts[r]) for r in STAY_RULES[1:] if r in counts.index}


def stay_coverage(stays: pd.DataFrame, attributed: list[pd.DataFrame], system_kind: pd.Series) -> pd.DataFrame:
    """One boolean column per system kind (:data:`COVERAGE_COLUMNS`) aligned to ``stays``.

    ``attributed``: frames with record_key and stay_id (episodes and events after
    :func:`attribute_to_stays`); ``system_kind``: indexed by record_key.
    """
    parts = [f[["record_key", "stay_id"]] for f in attributed if len(f)]
    out = pd.DataFrame({column: np.zeros(len(stays), dtype=bool) for column in COVERAGE_COLUMNS.values()},
                       index=stays.index)
    if not parts:
        return out
    seen = pd.concat(parts, ignore_index=True).dropna(subset=["stay_id"])
    seen = seen.assign(kind=seen["record_key"].map(system_kind))[["stay_id", "kind"]].drop_duplicates()
    for kind, column in COVERAGE_COLUMNS.items():
        out[column] = stays["stay_id"].isin(seen.loc[seen["kind"] == kind, "stay_id"]).to_numpy()
    return out


def observed_until(stays: pd.DataFrame, episodes: pd.DataFrame, person_extracted: pd.Series) -> pd.Series:
    """Per stay: its discharge date, or for an open stay the latest extract date (the date part
    of ``extracted_at``: the episode's own, else its person record's, ``person_extracted``
    indexed by record_key) of the episodes merged into it, i.e. the day up to which the sources
    saw the child still there. Null when an open stay's extracts carry no date."""
    text = episodes["extracted_at"].astype("string").fillna(
        episodes["record_key"].map(person_extracted).astype("string"))
    extract = pd.to_datetime(text.str[:10], errors="coerce", format="%Y-%m-%d")
    latest = extract.groupby(episodes["stay_id"]).max()
    open_until = stays["stay_id"].map(latest)
    discharge = pd.to_datetime(stays["discharge_date"])
    return discharge.where(discharge.notna(), open_until).dt.date
