"""Topic 5(a) high-risk behaviours and the restrictive practices the evaluation names
(restraint, separation, hospital visits), per child and per 30 days in custody.

Incident kinds map to the evaluation's categories at query time (``Params.categories``,
``--category NAME=KIND[,KIND...]``); the default mapping is in
:data:`stairs_link.indicators.model.DEFAULT_CATEGORIES`. A category no kind maps to (by default
``oppositional``: no canonical kind records it) gives no value, never a zero. Incidents are
recorded by operations (custody) systems: denominators are the stays an operations system
recorded, and time in custody is counted from admission to discharge, or to the day the stay is
observed to (``observed_until``, never after the as-at date) for an open stay.
"""

from __future__ import annotations

import pandas as pd

from stairs_link.indicators.definitions._units import per_child, stay_units, stays_recorded_by
from stairs_link.indicators.frames import Frames, days_in
from stairs_link.indicators.model import DEFAULT_CATEGORIES, Definition, Params, Source, register

TOPIC = "Topic 5: high-risk behaviours and restrictive practices"
T5A = Source("Topic 5(a), footnote 64", "This used a complete case analysis of site administrative data on "
             "different high-risk behaviors across SCH sites with available data.")
T5C = Source("Topic 5(c)", "within a two-year timeframe both SCHs reported a substantive reduction in restraints")
HIGH_RISK = ("violent_behaviour", "oppositional", "self_harm")
LABELS = {"violent_behaviour": "violent behaviour", "oppositional": "oppositional behaviour", "self_harm": "self-harm",
          "restraint": "restraint", "separation": "separation", "hospital_visit": "hospital visit",
          "any_high_risk": "any high-risk behaviour (violent, oppositional, self-harm)"}


def kinds_of(category: str, params: Params) -> tuple[str, ...]:
    if category == "any_high_risk":
        return tuple(k for c in HIGH_RISK for k in params.categories.get(c, ()))
    return tuple(params.categories.get(category, ()))


def _counts(frames: Frames, params: Params, category: str, by: list[str]) -> tuple[pd.DataFrame, pd.Series] | None:
    kinds = kinds_of(category, params)
    if not kinds:
        return None
    stays = stays_recorded_by(frames, "operations")
    i = frames.events["incident"]
    per_stay = i[i["incident_kind"].isin(kinds)].groupby("stay_id").size()
    return stays, stays["stay_id"].map(per_stay).fillna(0)


def _children_with(category: str):
    def units(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
        found = _counts(frames, params, category, by)
        if found is None:
            return pd.DataFrame(columns=["child_id", *by, "numerator", "denominator"])
        stays, n = found
        return per_child(stay_units(stays, n > 0, by), by)
    return units


def _rate(category: str):
    def units(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
        found = _counts(frames, params, category, by)
        if found is None:
            return pd.DataFrame(columns=["child_id", *by, "numerator", "denominator"])
        stays, n = found
        return stay_units(stays, n, by, denominator=days_in(stays))
    return units


for _category in (*DEFAULT_CATEGORIES, "any_high_risk"):
    _source = T5C if _category == "restraint" else T5A
    register(Definition(
        id=f"incident.children_with.{_category}", title=f"Children with {LABELS[_category]}", topic=TOPIC,
        source=_source, unit="percent", counts="child",
        numerator=f"children with at least one incident of category '{_category}' during a stay",
        denominator="children with at least one stay recorded by an operations (custody) system",
        units=_children_with(_category), parameters=("categories", "as_at"), recorded_by="operations"))
    register(Definition(
        id=f"incident.per_30_days.{_category}", title=f"Incidents of {LABELS[_category]} per 30 days in custody",
        topic=TOPIC, source=_source, unit="per 30 days", counts="stay", scale=30.0,
        numerator=f"incidents of category '{_category}' during stays recorded by an operations system",
        denominator="days in those stays (admission to discharge, open stays to observed_until or the as-at date)",
        units=_rate(_category), parameters=("categories", "as_at"), recorded_by="operations", count_based=False))
