"""Topic 1: multi-agency, co-produced formulations (and recommendation 4 on involvement).

Formulations are recorded by health systems, so every denominator here is the stays (or
children with a stay) that a health system recorded: a stay no health system saw cannot show
a formulation, and counting it would read as "no formulation".
"""

from __future__ import annotations

import pandas as pd

from stairs_link.indicators.definitions._units import event_units, per_child, stay_units, stays_recorded_by, stays_with
from stairs_link.indicators.frames import Frames
from stairs_link.indicators.model import Definition, Params, Source, register

TOPIC = "Topic 1: formulations"
T1A = Source("Topic 1(a): Implementation of multi-agency, co-produced formulations",
             "In the administrative site data, 85% (503/589) of children and young people had a formulation and, "
             "on average, five different professional disciplines were present at formulation meetings.")
T1A_REFORM = Source("Topic 1(a)", "By year three, reviewing and updating formulations (or re-formulating) was "
                    "consistently described by staff across the five case study sites.")
T1B = Source("Topic 1(b) and recommendation 4", "Staff should involve children and young people in formulations "
             "directly where possible, or indirectly if direct involvement is not possible")


def _children_with(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
    stays = stays_recorded_by(frames, "health")
    return per_child(stay_units(stays, stays["stay_id"].isin(stays_with(frames, "formulation")), by), by)


def _stays_with(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
    stays = stays_recorded_by(frames, "health")
    return stay_units(stays, stays["stay_id"].isin(stays_with(frames, "formulation")), by)


def _within_window(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
    stays = stays_recorded_by(frames, "health")
    f = frames.events["formulation"]
    admission = f["stay_id"].map(frames.stays.set_index("stay_id")["admission_date"])
    early = stays_with(frames, "formulation", (f["date"] - admission).dt.days <= params.window_days)
    # censor: a stay still open that has not yet been observed for the whole window is left out
    observed = (stays["end"] - stays["admission_date"]).dt.days >= params.window_days
    stays = stays[observed | stays["discharge_date"].notna()]
    return stay_units(stays, stays["stay_id"].isin(early), by)


def _meetings(frames: Frames, by: list[str]) -> pd.DataFrame:
    return event_units(frames, "formulation", by, kind="health")


def _mean_disciplines(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
    m = _meetings(frames, by)
    m = m[m["disciplines_present"].notna()]
    return m[["child_id", *by]].assign(numerator=m["disciplines_present"].astype("float64").to_numpy(), denominator=1.0)


def _involvement(level: str):
    def units(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
        m = _meetings(frames, by)
        m = m[m["child_involvement"].notna() & (m["child_involvement"] != "unknown")]
        return m[["child_id", *by]].assign(numerator=(m["child_involvement"] == level).to_numpy(dtype="float64"),
                                           denominator=1.0)
    return units


def _reformulated(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
    stays = stays_recorded_by(frames, "health")
    per_stay = frames.events["formulation"].groupby("stay_id")["date"].nunique()
    meetings = stays["stay_id"].map(per_stay).fillna(0).to_numpy()
    stays = stays[meetings >= 1]
    return stay_units(stays, meetings[meetings >= 1] >= 2, by)


register(Definition(
    id="formulation.children_with_formulation", title="Children with a formulation", topic=TOPIC, source=T1A,
    unit="percent", counts="child",
    numerator="children with at least one formulation meeting recorded during a stay",
    denominator="children with at least one stay recorded by a health system",
    units=_children_with, recorded_by="health"))
register(Definition(
    id="formulation.stays_with_formulation", title="Stays with a formulation", topic=TOPIC, source=T1A,
    unit="percent", counts="stay", numerator="stays with at least one formulation meeting",
    denominator="stays recorded by a health system", units=_stays_with, recorded_by="health"))
register(Definition(
    id="formulation.within_window_of_admission", title="Stays with a formulation within N days of admission",
    topic=TOPIC, source=Source("Recommendation 5 and Topic 1(a)", "Formulations should move with children and "
                               "young people as they transition in and out of the secure estate"),
    unit="percent", counts="stay",
    numerator="stays with a formulation meeting no more than --window days after admission",
    denominator="stays recorded by a health system, leaving out open stays observed for less than --window days "
                "(censored at the as-at date)",
    units=_within_window, parameters=("window_days", "as_at"), recorded_by="health"))
register(Definition(
    id="formulation.mean_disciplines", title="Professional disciplines at formulation meetings",
    topic=TOPIC, source=T1A, unit="mean", counts="formulation meeting", scale=1.0,
    numerator="sum of disciplines present over meetings that record the number",
    denominator="formulation meetings that record the number of disciplines present",
    units=_mean_disciplines, recorded_by="health", count_based=False))
for _level, _text in (("direct", "took part directly"), ("indirect", "was involved indirectly (views sought "
                                                                     "and represented)"),
                      ("none", "was not involved")):
    register(Definition(
        id=f"formulation.involvement_{_level}", title=f"Formulation meetings where the child {_text}",
        topic=TOPIC, source=T1B, unit="percent", counts="formulation meeting",
        numerator=f"meetings with child involvement '{_level}'",
        denominator="formulation meetings that record the child's involvement (not 'unknown')",
        units=_involvement(_level), recorded_by="health"))
register(Definition(
    id="formulation.reformulated", title="Stays with a re-formulation", topic=TOPIC, source=T1A_REFORM,
    unit="percent", counts="stay",
    numerator="stays with formulation meetings on two or more different days",
    denominator="stays recorded by a health system with at least one formulation meeting",
    units=_reformulated, recorded_by="health"))

