"""Evaluation indicators from the integrated dataset, computed at query time.

Each indicator is one declarative :class:`Definition` (``stairs_link/indicators/definitions/``,
one module per evaluation topic) registered by id; windows, the as-at (censor) date, the tie
rule for outcome scores and the incident-category mapping are :class:`Params`, chosen when the
indicators are computed, never fixed by `build`. See docs/indicators.md.

Example::

    from stairs_link.indicators import Params, indicators
    table = indicators("dataset/", by=["setting_type", "year"], params=Params(window_days=14))
"""

from __future__ import annotations

from stairs_link.indicators.compute import ALL, NOT_FOR_PUBLICATION, Disclosure, compute, publish
from stairs_link.indicators.frames import Frames, load_frames, prepare_frames
from stairs_link.indicators.model import (
    DEFAULT_CATEGORIES,
    GROUP_COLUMNS,
    TIE_RULES,
    Definition,
    Params,
    Source,
    get,
    registry,
    select,
)
from stairs_link.indicators.output import indicators, write_indicators

__all__ = [
    "ALL",
    "DEFAULT_CATEGORIES",
    "GROUP_COLUMNS",
    "NOT_FOR_PUBLICATION",
    "TIE_RULES",
    "Definition",
    "Disclosure",
    "Frames",
    "Params",
    "Source",
    "compute",
    "get",
    "indicators",
    "load_frames",
    "prepare_frames",
    "publish",
    "registry",
    "select",
    "write_indicators",
]
