"""Which systems recorded each stay: the denominators of every other indicator
("Barriers to the evaluation": the data were held on multiple and separate systems)."""

from __future__ import annotations

import pandas as pd

from stairs_link.indicators.definitions._units import stay_units
from stairs_link.indicators.frames import Frames
from stairs_link.indicators.model import Definition, Params, Source, register
from stairs_link.schema.codes import SYSTEM_KIND

TOPIC = "Coverage: which systems recorded each stay"
BARRIERS = Source("Barriers to the evaluation", "the data asked for were held on multiple and separate systems, "
                  "including health, operations, and education systems")


def _recorded_by(kind: str):
    def units(frames: Frames, params: Params, by: list[str]) -> pd.DataFrame:
        s = frames.stays
        return stay_units(s, s[f"recorded_by_{kind}"], by)
    return units


for _kind in SYSTEM_KIND:
    register(Definition(
        id=f"coverage.stays_recorded_by.{_kind}", title=f"Stays recorded by a {_kind.replace('_', ' ')} system",
        topic=TOPIC, source=BARRIERS, unit="percent", counts="stay",
        numerator=f"stays with an episode or event from a {_kind.replace('_', ' ')} system",
        denominator="all stays", units=_recorded_by(_kind)))
