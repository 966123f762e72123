"""Stays and transitions: the child's pathway through the secure estate.

A *stay* is a continuous period at one site. Several systems of one setting (health, custody,
education) each record the same stay as an episode with slightly different dates, and one
system may split a stay into consecutive episodes; so the episodes of a child at a site whose
intervals overlap or are adjacent (next admission no more than ``merge_gap_days`` after the
running latest discharge) are merged into ONE stay. They are never counted as moves.

A *move* (one row of ``transitions.parquet``) is each change of place in the child's pathway:

==================== =================================================================
``admission``        arrival from the community: the child's first stay, or a return
                     later than ``readmission_days`` after a release
``transfer``         from one stay straight to another (next admission no more than
                     ``transfer_days`` after the discharge; overlapping dates included)
``release``          leaving to the community: the last stay, or a gap longer than
                     ``transfer_days`` before the next stay
``readmission``      arrival from the community within ``readmission_days`` of a release
``young_adult_estate`` leaving to the young adult estate: discharge destination says so,
                     or (destination not recorded/other) the last stay ended at age
                     ``young_adult_age`` or over
==================== =================================================================

The community and the young adult estate appear as ``setting_type`` ``community`` and
``young_adult_estate`` with no site.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stairs_link.standardise.dates import as_seconds

COMMUNITY = "community"
YOUNG_ADULT_ESTATE = "young_adult_estate"
MOVE_KINDS = ["admission", "transfer", "release", "readmission", "young_adult_estate"]
_OPEN_END = pd.Timestamp("2262-01-01")


@dataclass(frozen=True)
class TransitionRules:
    """Windows (in days) used to merge episodes and classify moves; documented in docs/dataset.md."""

    merge_gap_days: int = 1
    transfer_days: int = 3
    readmission_days: int = 90
    formulation_days: int = 28
    young_adult_age: float = 17.75


STAY_COLUMNS = [
    "child_id", "stay_id", "site_id", "setting_type", "admission_date", "discharge_date",
    "legal_basis", "discharge_destination", "n_episodes", "n_systems",
]


def merge_stays(episodes: pd.DataFrame, rules: TransitionRules = TransitionRules()) -> pd.DataFrame:
    """Merge a child's overlapping/adjacent episodes at the same site into stays.

    ``episodes`` needs child_id, site_id, setting_type, source_system, admission_date,
    discharge_date (null = still there), legal_basis, discharge_destination.
    """
    if episodes.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in STAY_COLUMNS})
    ep = episodes[["child_id", "site_id", "setting_type", "source_system", "admission_date",
                   "discharge_date", "legal_basis", "discharge_destination"]].copy()
    ep["admission_date"] = as_seconds(ep["admission_date"])
    ep["discharge_date"] = as_seconds(ep["discharge_date"])
    ep["_end"] = ep["discharge_date"].fillna(_OPEN_END)
    # an episode discharged before it was admitted still covers its admission day
    ep["_end"] = ep[["_end", "admission_date"]].max(axis=1)
    ep = ep.sort_values(["child_id", "site_id", "admission_date", "_end"], kind="stable").reset_index(drop=True)
    group = ep["child_id"].astype(str) + "\x1f" + ep["site_id"].astype(str)
    running_end = ep.groupby(group, sort=False)["_end"].cummax()
    previous_end = running_end.groupby(group, sort=False).shift(1)
    starts = previous_end.isna() | (ep["admission_date"] > previous_end + pd.Timedelta(days=rules.merge_gap_days))
    ep["_stay"] = starts.cumsum()
    ep["_open"] = ep["discharge_date"].isna()

    known_basis = ep["legal_basis"].notna() & (ep["legal_basis"] != "unknown")
    known_dest = ep["discharge_destination"].notna() & (ep["discharge_destination"] != "unknown")
    grouped = ep.groupby("_stay", sort=True)
    stays = grouped.agg(
        child_id=("child_id", "first"),
        site_id=("site_id", "first"),
        setting_type=("setting_type", "first"),
        admission_date=("admission_date", "min"),
        _end=("_end", "max"),
        _open=("_open", "any"),
        n_episodes=("site_id", "size"),
        n_systems=("source_system", "nunique"),
    )
    # legal basis of the earliest episode that records one; destination of the latest-ending
    basis = ep[known_basis].sort_values(["_stay", "admission_date"], kind="stable").drop_duplicates("_stay")
    dest = ep[known_dest].sort_values(["_stay", "_end"], kind="stable").drop_duplicates("_stay", keep="last")
    stays["legal_basis"] = basis.set_index("_stay")["legal_basis"].reindex(stays.index)
    stays["discharge_destination"] = dest.set_index("_stay")["discharge_destination"].reindex(stays.index)
    stays.loc[stays["legal_basis"].isna(), "legal_basis"] = "unknown"
    stays.loc[stays["discharge_destination"].isna(), "discharge_destination"] = "unknown"
    # still there if the latest-ending episode is open (an open episode always ends latest)
    stays["discharge_date"] = stays["_end"].where(~stays["_open"])
    stays["stay_id"] = (
        stays["child_id"].astype(str) + ":" + stays["site_id"].astype(str) + ":"
        + stays["admission_date"].dt.strftime("%Y-%m-%d")
    )
    stays = stays.sort_values(["child_id", "admission_date", "_end", "site_id"], kind="stable")
    stays["admission_date"] = stays["admission_date"].dt.date
    stays["discharge_date"] = stays["discharge_date"].dt.date
    stays.loc[stays["discharge_date"].isna(), "discharge_date"] = None
    return stays[STAY_COLUMNS].reset_index(drop=True)


TRANSITION_COLUMNS = [
    "child_id", "move_seq", "kind", "move_date",
    "from_site_id", "from_setting_type", "from_stay_id", "from_date",
    "to_site_id", "to_setting_type", "to_stay_id", "to_date",
    "gap_days", "discharge_destination", "legal_basis", "age_at_move",
    "formulation_before", "formulation_at_receiving_within_days",
]


def derive_transitions(
    stays: pd.DataFrame,
    date_of_birth: pd.Series | None = None,
    formulations: pd.DataFrame | None = None,
    rules: TransitionRules = TransitionRules(),
) -> pd.DataFrame:
    """Every move of every child from its stays (output of :func:`merge_stays`).

    ``date_of_birth`` is indexed by child_id (for the age rule and ``age_at_move``);
    ``formulations`` (child_id, site_id, formulation_date) sets the two formulation flags.
    """
    if stays.empty:
        return _empty_transitions()
    s = stays.copy()
    s["admission_date"] = as_seconds(s["admission_date"])
    s["discharge_date"] = as_seconds(s["discharge_date"])
    s = s.sort_values(["child_id", "admission_date", "discharge_date", "site_id"], kind="stable").reset_index(drop=True)
    by_child = s.groupby("child_id", sort=False)
    nxt = pd.DataFrame({c: by_child[c].shift(-1) for c in ["site_id", "setting_type", "stay_id",
                                                           "admission_date", "legal_basis"]})
    has_next = nxt["stay_id"].notna()
    gap = (nxt["admission_date"] - s["discharge_date"]).dt.days
    # an open stay followed by another stay: the child must have moved; treat as a transfer
    transfer = has_next & (gap.isna() | (gap <= rules.transfer_days))
    prev_gap = gap.groupby(s["child_id"], sort=False).shift(1)
    prev_transfer = transfer.groupby(s["child_id"], sort=False).shift(1).astype("boolean").fillna(False).astype(bool)
    first = ~s["child_id"].duplicated()

    pieces = []
    # arrivals from the community
    arrive = first | ~prev_transfer
    a = s[arrive]
    a_gap = prev_gap[arrive]
    pieces.append(pd.DataFrame({
        "child_id": a["child_id"],
        "kind": np.where(a_gap.notna() & (a_gap <= rules.readmission_days), "readmission", "admission"),
        "from_site_id": None, "from_setting_type": COMMUNITY, "from_stay_id": None, "from_date": pd.NaT,
        "from_admission": pd.NaT,
        "to_site_id": a["site_id"], "to_setting_type": a["setting_type"], "to_stay_id": a["stay_id"],
        "to_date": a["admission_date"], "gap_days": a_gap.where(~first[arrive]),
        "discharge_destination": None, "legal_basis": a["legal_basis"], "_order": 1,
    }))
    # transfers
    t = s[transfer]
    tn = nxt[transfer]
    pieces.append(pd.DataFrame({
        "child_id": t["child_id"], "kind": "transfer",
        "from_site_id": t["site_id"], "from_setting_type": t["setting_type"], "from_stay_id": t["stay_id"],
        "from_date": t["discharge_date"], "from_admission": t["admission_date"],
        "to_site_id": tn["site_id"], "to_setting_type": tn["setting_type"], "to_stay_id": tn["stay_id"],
        "to_date": tn["admission_date"], "gap_days": gap[transfer],
        "discharge_destination": t["discharge_destination"], "legal_basis": tn["legal_basis"], "_order": 0,
    }))
    # leaving to the community or the young adult estate
    leave = ~transfer & s["discharge_date"].notna()
    lv = s[leave]
    to_yae = lv["discharge_destination"] == YOUNG_ADULT_ESTATE
    if date_of_birth is not None:
        dob = as_seconds(lv["child_id"].map(date_of_birth))
        age = (lv["discharge_date"] - dob).dt.days / 365.25
        undetermined = lv["discharge_destination"].isin(["unknown", "other"]) | lv["discharge_destination"].isna()
        to_yae = to_yae | (undetermined & ~has_next[leave] & (age >= rules.young_adult_age))
    pieces.append(pd.DataFrame({
        "child_id": lv["child_id"],
        "kind": np.where(to_yae, "young_adult_estate", "release"),
        "from_site_id": lv["site_id"], "from_setting_type": lv["setting_type"], "from_stay_id": lv["stay_id"],
        "from_date": lv["discharge_date"], "from_admission": lv["admission_date"],
        "to_site_id": None, "to_setting_type": np.where(to_yae, YOUNG_ADULT_ESTATE, COMMUNITY),
        "to_stay_id": None, "to_date": pd.NaT, "gap_days": gap[leave],
        "discharge_destination": lv["discharge_destination"], "legal_basis": None, "_order": 0,
    }))
    moves = pd.concat([p for p in pieces if len(p)], ignore_index=True)
    for column in ("from_date", "to_date", "from_admission"):
        moves[column] = as_seconds(moves[column])
    moves["move_date"] = moves["from_date"].fillna(moves["to_date"])
    moves = moves.sort_values(["child_id", "move_date", "_order", "to_date"], kind="stable").reset_index(drop=True)
    moves["move_seq"] = moves.groupby("child_id", sort=False).cumcount().astype("int32") + 1
    moves["gap_days"] = moves["gap_days"].astype("Int32")

    if date_of_birth is not None:
        dob = as_seconds(moves["child_id"].map(date_of_birth))
        moves["age_at_move"] = ((moves["move_date"] - dob).dt.days / 365.25).round(2)
    else:
        moves["age_at_move"] = np.nan
    moves["formulation_before"], moves["formulation_at_receiving_within_days"] = _formulation_flags(
        moves, formulations, rules.formulation_days
    )
    for column in ("move_date", "from_date", "to_date"):
        moves[column] = moves[column].dt.date
        moves.loc[moves[column].isna(), column] = None
    return moves[TRANSITION_COLUMNS]


def _formulation_flags(
    moves: pd.DataFrame, formulations: pd.DataFrame | None, days: int
) -> tuple[pd.Series, pd.Series]:
    """(formulation at the sending site during the stay up to the move; formulation at the
    receiving site within ``days`` of arrival). Null where there is no sending/receiving setting."""
    has_from = moves["from_stay_id"].notna()
    has_to = moves["to_stay_id"].notna()
    before = pd.Series(False, index=moves.index, dtype="boolean")
    after = pd.Series(False, index=moves.index, dtype="boolean")
    if formulations is not None and len(formulations):
        f = formulations[["child_id", "site_id", "formulation_date"]].copy()
        f["formulation_date"] = as_seconds(f["formulation_date"])
        m = moves[["child_id", "from_site_id", "from_admission", "move_date"]].reset_index()
        hit = m.merge(f, left_on=["child_id", "from_site_id"], right_on=["child_id", "site_id"])
        hit = hit[(hit["formulation_date"] >= hit["from_admission"]) & (hit["formulation_date"] <= hit["move_date"])]
        before[before.index.isin(hit["index"])] = True
        m = moves[["child_id", "to_site_id", "to_date"]].reset_index()
        hit = m.merge(f, left_on=["child_id", "to_site_id"], right_on=["child_id", "site_id"])
        hit = hit[(hit["formulation_date"] >= hit["to_date"])
                  & (hit["formulation_date"] <= hit["to_date"] + pd.Timedelta(days=days))]
        after[after.index.isin(hit["index"])] = True
    before[~has_from] = pd.NA
    after[~has_to] = pd.NA
    return before, after


def _empty_transitions() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in TRANSITION_COLUMNS})
