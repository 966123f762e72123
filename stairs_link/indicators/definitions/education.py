"""Topic 4(c): education. Hours per week from the hours each education record reports over its
period, so weekly and monthly reporting give the same figure (a count of rows would not)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stairs_link.indicators.definitions._units import event_units
from stairs_link.indicators.frames import Frames
from stairs_link.indicators.model import Definition, Params, Source, register

TOPIC = "Topic 4: education"
T4C = Source("Topic 4(c): supporting children and young people to live in the community",
             "identifying and setting goals, developing education and employment skills, accessing education and "
             "employment")


def _periods(frames: Frames, by: list[str]) -> pd.DataFrame:
    e = event_units(frames, "education", by, kind="education")
    end = pd.to_datetime(e["period_end"]).fillna(pd.to_datetime(e["period_start"]))
    e = e.assign(days=np.maximum((end - pd.to_datetime(e["period_start"])).dt.days.to_numpy() + 1, 1))
    return e


def _per_week(column: str):
    def units(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
        e = _periods(frames, by)
        e = e[e[column].notna()]
        return e[["child_id", *by]].assign(numerator=e[column].astype("float64").to_numpy(),
                                           denominator=e["days"].astype("float64").to_numpy())
    return units


def _attendance(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
    e = _periods(frames, by)
    e = e[e["hours_offered"].notna() & e["hours_attended"].notna()]
    return e[["child_id", *by]].assign(numerator=e["hours_attended"].astype("float64").to_numpy(),
                                       denominator=e["hours_offered"].astype("float64").to_numpy())


register(Definition(
    id="education.hours_offered_per_week", title="Education hours offered per week", topic=TOPIC, source=T4C,
    unit="hours per week", counts="education record", scale=7.0,
    numerator="hours offered over the education records of stays an education system recorded",
    denominator="days those records cover (period start to end, inclusive)", units=_per_week("hours_offered"),
    recorded_by="education", count_based=False))
register(Definition(
    id="education.hours_attended_per_week", title="Education hours attended per week", topic=TOPIC, source=T4C,
    unit="hours per week", counts="education record", scale=7.0,
    numerator="hours attended over the education records of stays an education system recorded",
    denominator="days those records cover (period start to end, inclusive)", units=_per_week("hours_attended"),
    recorded_by="education", count_based=False))
register(Definition(
    id="education.attendance_percent", title="Education hours attended, percent of hours offered", topic=TOPIC,
    source=T4C, unit="percent of hours", counts="education record",
    numerator="hours attended", denominator="hours offered (records stating both)", units=_attendance,
    recorded_by="education", count_based=False))
