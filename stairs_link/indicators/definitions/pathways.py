"""Recommendation 5 and Topic 4(c): formulations across moves, re-admission, the young adult estate.

A move's group columns are those of the stay it concerns: the receiving stay for arrivals, the
sending stay for departures (so "by site" means the site the child arrived at or left).
"""

from __future__ import annotations

import pandas as pd

from stairs_link.indicators.definitions._units import stays_recorded_by
from stairs_link.indicators.frames import Frames
from stairs_link.indicators.model import Definition, Params, Source, register

TOPIC = "Recommendation 5 and Topic 4: transitions"
REC5 = Source("Recommendation 5", "Formulations should move with children and young people as they transition in "
              "and out of the secure estate, to maximise 'shared understanding'.")
T4C = Source("Topic 4(c): supporting children and young people to live in the community",
             "working with the placement and the child or young person on reformulations ahead of transition "
             "(updating their formulation, such as to include anticipated placement needs)")
T4A = Source("Topic 4(a), box quote 8", "people leave here and come back after a few weeks")
T4C_YAE = Source("Topic 4(c), box 4(c)(i) quote 2", "we start the transition period for moving to a young adults' "
                 "estate at about seven months before the 18th birthday")

ARRIVALS = ("admission", "readmission", "transfer")
DEPARTURES = ("transfer", "release", "young_adult_estate")


def _moves(frames: Frames, kinds: tuple[str, ...], stay_column: str, by: list[str],
           kind: str | None = "health") -> pd.DataFrame:
    t = frames.transitions
    t = t[t["kind"].isin(kinds) & t[stay_column].notna()]
    s = stays_recorded_by(frames, kind).set_index("stay_id")
    cols = ["admission_date", "end", "discharge_date", *[b for b in by if b not in ("child_id",)]]
    return t.drop(columns=["child_id"]).join(s[["child_id", *dict.fromkeys(cols)]], on=stay_column, how="inner")


def _formulation_after_arrival(kinds: tuple[str, ...]):
    def units(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
        m = _moves(frames, kinds, "to_stay_id", by)
        f = frames.events["formulation"]
        admission = f["stay_id"].map(frames.stays.set_index("stay_id")["admission_date"])
        early = f.loc[(f["date"] - admission).dt.days <= params.window_days, "stay_id"].unique()
        # censor: an open receiving stay observed for less than the window is not yet known
        observed = ((m["end"] - m["admission_date"]).dt.days >= params.window_days) | m["discharge_date"].notna()
        m = m[observed]
        return m[["child_id", *by]].assign(numerator=m["to_stay_id"].isin(early).to_numpy(dtype="float64"),
                                           denominator=1.0)
    return units


def _formulation_before_leaving(transition_only: bool):
    def units(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
        m = _moves(frames, DEPARTURES, "from_stay_id", by)
        f = frames.events["formulation"]
        if transition_only:
            f = f[f["formulation_type"] == "transition"]
        # moves numbered by position: the join in _moves leaves no index to rely on (an empty
        # one comes back indexed by the stay column, so reset_index() gave no 'index' column)
        hit = m[["from_stay_id", "move_date"]].assign(move_row=range(len(m))).merge(
            f[["stay_id", "date"]], left_on="from_stay_id", right_on="stay_id")
        hit = hit.loc[hit["date"] <= hit["move_date"], "move_row"].unique()
        numerator = pd.Series(range(len(m))).isin(hit).to_numpy(dtype="float64")
        return m[["child_id", *by]].assign(numerator=numerator, denominator=1.0)
    return units


def _readmitted(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
    m = _moves(frames, ("release",), "from_stay_id", by, kind=None)
    # censor: a release less than --readmission-days before the as-at date is not yet known
    m = m[m["move_date"] + pd.Timedelta(days=params.readmission_days) <= pd.Timestamp(frames.as_at)]
    back = m["gap_days"].notna() & (m["gap_days"].astype("float64") <= params.readmission_days)
    return m[["child_id", *by]].assign(numerator=back.to_numpy(dtype="float64"), denominator=1.0)


def _young_adult(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
    m = _moves(frames, ("release", "young_adult_estate"), "from_stay_id", by, kind=None)
    return m[["child_id", *by]].assign(numerator=(m["kind"] == "young_adult_estate").to_numpy(dtype="float64"),
                                       denominator=1.0)


def _at_receiving(id_: str, moves: str, which: str, kinds: tuple[str, ...], censored: str = "") -> Definition:
    """Moves of ``kinds`` (called ``moves``; ``which`` says which) with a formulation at the
    receiving setting within the window."""
    return Definition(
        id=id_, title=f"{moves.capitalize()} with a formulation at the receiving setting within N days", topic=TOPIC,
        source=REC5, unit="percent", counts="move", year_of="admission date of the receiving stay",
        numerator=f"{which} whose receiving stay has a formulation meeting no more than --window days after admission",
        denominator=f"{moves} into stays recorded by a health system, leaving out open stays observed for less than "
                    f"--window days{censored}",
        units=_formulation_after_arrival(kinds), parameters=("window_days", "as_at"), recorded_by="health")


def _before_leaving(id_: str, title: str, source: Source, numerator: str, transition_only: bool) -> Definition:
    """Departures from health-recorded stays with a formulation (of type 'transition' only, or
    any) in the stay left, on or before the move."""
    return Definition(
        id=id_, title=title, topic=TOPIC, source=source, unit="percent", counts="move",
        year_of="admission date of the stay left", numerator=numerator,
        denominator="departures from stays recorded by a health system",
        units=_formulation_before_leaving(transition_only), recorded_by="health")


register(_at_receiving("transition.formulation_at_receiving_within_window", "arrivals",
                       "arrivals (admission, re-admission, transfer in)", ARRIVALS, " (censored at the as-at date)"))
register(_at_receiving("transition.transfer_formulation_at_receiving_within_window", "transfers",
                       "transfers within the secure estate", ("transfer",)))
register(_before_leaving(
    "transition.transition_formulation_before_leaving", "Departures preceded by a transition formulation", T4C,
    "departures (transfer, release, move to the young adult estate) with a formulation of type 'transition' in "
    "the stay left, on or before the move", transition_only=True))
register(_before_leaving(
    "transition.any_formulation_before_leaving", "Departures preceded by any formulation in the stay", REC5,
    "departures with a formulation meeting of any type in the stay left, on or before the move",
    transition_only=False))
register(Definition(
    id="transition.readmitted_within_days", title="Releases followed by a re-admission", topic=TOPIC, source=T4A,
    unit="percent", counts="move", year_of="admission date of the stay left",
    numerator="releases followed by a new stay no more than --readmission-days later",
    denominator="releases at least --readmission-days before the as-at date (later ones are censored)",
    units=_readmitted, parameters=("readmission_days", "as_at")))
register(Definition(
    id="transition.to_young_adult_estate", title="Departures from the estate to the young adult estate",
    topic=TOPIC, source=T4C_YAE, unit="percent", counts="move", year_of="admission date of the stay left",
    numerator="moves to the young adult estate",
    denominator="departures from the children's secure estate (releases and moves to the young adult estate)",
    units=_young_adult))
