"""Topics 1(e) and 5(a): outcome measures (ORS by default), first against last score per child.

A child's *first* score is the score on the earliest date with a score of the instrument, the
*last* on the latest date; several scores on one of those dates are made one by the tie rule
(``--tie-rule``: mean, min, max, first_recorded, last_recorded; recorded order is the dataset's
row order). Change needs scores on two different dates. Per child within each group of
``--by`` (a child measured at two sites has a first and last score at each).
"""

from __future__ import annotations

import pandas as pd

from stairs_link.indicators.definitions._units import event_units
from stairs_link.indicators.frames import Frames
from stairs_link.indicators.model import Definition, Params, Source, register

TOPIC = "Topics 1 and 5: outcome measures"
ORS = Source("Topic 1(e), footnote 46", "The average score was 27.65/40. Higher scores indicate higher levels of "
             "positive mental health and wellbeing and scores less than 28 indicate the experience of distress.")
T5A = Source("Topic 5(a): value to children and young people", "the time that a child or young person would need "
             "to sustain an improvement in wellbeing")

_TIE = {"mean": "mean", "min": "min", "max": "max", "first_recorded": "first", "last_recorded": "last"}


def first_last(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
    """Per child within each group: first and last score (tie rule applied) and date counts."""
    key = ("first_last", params.instrument, params.tie_rule, tuple(by))
    if key not in frames.cache:
        frames.cache[key] = _first_last(frames, params, by)
    return frames.cache[key]


def _first_last(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
    m = frames.events["measure"]
    m = m[m["instrument"] == params.instrument]
    m = event_units(frames, "measure", by, rows=m, kind="health")
    keys = ["child_id", *by]
    if m.empty:
        return pd.DataFrame(columns=[*keys, "first", "last", "n_dates"])
    per_day = m.groupby([*keys, "date"], sort=True, dropna=False)["score"].agg(_TIE[params.tie_rule]).reset_index()
    grouped = per_day.groupby(keys, sort=False, dropna=False)
    out = grouped["score"].agg(first="first", last="last").reset_index()
    out["n_dates"] = grouped["date"].size().to_numpy()
    return out


def _value(column: str, need_two: bool):
    def units(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
        fl = first_last(frames, params, by)
        if need_two:
            fl = fl[fl["n_dates"] >= 2]
        value = fl["last"] - fl["first"] if column == "change" else fl[column]
        return fl[["child_id", *by]].assign(numerator=value.astype("float64").to_numpy(), denominator=1.0)
    return units


def _under(column: str, need_two: bool):
    def units(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
        fl = first_last(frames, params, by)
        if need_two:
            fl = fl[fl["n_dates"] >= 2]
        return fl[["child_id", *by]].assign(numerator=(fl[column] < params.cutoff).to_numpy(dtype="float64"),
                                            denominator=1.0)
    return units


_P = ("instrument", "tie_rule")
register(Definition(
    id="outcome.first_score_mean", title="First outcome score", topic=TOPIC, source=ORS, unit="mean",
    counts="child", scale=1.0, numerator="sum of each child's first score", denominator="children with a score",
    units=_value("first", False), parameters=_P, recorded_by="health", count_based=False, reducible=False))
register(Definition(
    id="outcome.last_score_mean", title="Last outcome score", topic=TOPIC, source=ORS, unit="mean",
    counts="child", scale=1.0, numerator="sum of each child's last score",
    denominator="children with scores on two or more dates", units=_value("last", True), parameters=_P,
    recorded_by="health", count_based=False, reducible=False))
register(Definition(
    id="outcome.change_mean", title="Change from first to last outcome score", topic=TOPIC, source=T5A,
    unit="mean", counts="child", scale=1.0, numerator="sum of (last score - first score)",
    denominator="children with scores on two or more dates", units=_value("change", True), parameters=_P,
    recorded_by="health", count_based=False, reducible=False))
register(Definition(
    id="outcome.first_under_cutoff", title="Children under the clinical cut-off at their first score", topic=TOPIC,
    source=ORS, unit="percent", counts="child", numerator="children whose first score is under --cutoff (28)",
    denominator="children with a score", units=_under("first", False), parameters=(*_P, "cutoff"),
    recorded_by="health", reducible=False))
register(Definition(
    id="outcome.last_under_cutoff", title="Children under the clinical cut-off at their last score", topic=TOPIC,
    source=ORS, unit="percent", counts="child", numerator="children whose last score is under --cutoff (28)",
    denominator="children with scores on two or more dates", units=_under("last", True),
    parameters=(*_P, "cutoff"), recorded_by="health", reducible=False))
