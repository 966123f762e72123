"""The indicator model: query-time parameters, one declarative definition per indicator, a registry.

A :class:`Definition` is plain data (id, title, topic, its source in the evaluation report,
what is counted over what, unit, which parameters it reads) plus one function that turns the
dataset's frames into *units* (one row per stay, child, move, formulation ...) with a numerator
and a denominator each. Summing units within groups gives the tidy indicator table
(:mod:`stairs_link.indicators.compute`). Definitions register themselves by module (one module
per evaluation topic); :func:`get` looks one up by id and lists the valid ids otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from stairs_link.errors import IndicatorError

if TYPE_CHECKING:
    import pandas as pd

    from stairs_link.indicators.frames import Frames

#: the incident kinds of the canonical schema mapped to the evaluation's high-risk behaviours
#: and restrictive practices (docs/indicators.md, *Categories*). "oppositional" has no canonical
#: kind: a site that records it maps its own kind with ``--category oppositional=KIND``.
DEFAULT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "violent_behaviour": ("assault",),
    "self_harm": ("self_harm",),
    "oppositional": (),
    "restraint": ("restraint",),
    "separation": ("separation",),
    "hospital_visit": ("hospital_visit",),
}

TIE_RULES = ("mean", "min", "max", "first_recorded", "last_recorded")

#: what a unit may be grouped by (``--by``), all resolved on every unit frame.
GROUP_COLUMNS = ("site_id", "setting_type", "year", "legal_basis", "sex", "ethnic_group", "age_band")


@dataclass(frozen=True)
class Params:
    """Query-time parameters (none is fixed at build time)."""

    #: days after arrival for "formulation within N days" (recommendation 5)
    window_days: int = 28
    #: censor date: stays admitted later are left out, later events ignored, open stays and
    #: time in custody cut there (default: the dataset's data-as-at date)
    as_at: date | None = None
    #: several scores of one child on the same (first or last) date: how to make one
    tie_rule: str = "mean"
    #: outcome measure instrument and its clinical cut-off ("under the cut-off" = distress)
    instrument: str = "ORS"
    cutoff: float = 28.0
    #: days after a release within which a return is a re-admission
    readmission_days: int = 90
    #: high-risk behaviour / restrictive practice category -> incident kinds
    categories: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_CATEGORIES))

    def __post_init__(self) -> None:
        if self.tie_rule not in TIE_RULES:
            raise IndicatorError(f"unknown tie rule '{self.tie_rule}'", reason="unknown_tie_rule",
                                 fix=f"use one of: {', '.join(TIE_RULES)}")
        if self.window_days < 0 or self.readmission_days < 0:
            raise IndicatorError("windows must be 0 days or more", reason="bad_window",
                                 fix="pass a whole number of days >= 0")

    def describe(self) -> dict[str, object]:
        """The parameters as JSON-ready values (written beside every indicator table)."""
        return {"window_days": self.window_days, "as_at": self.as_at.isoformat() if self.as_at else None,
                "tie_rule": self.tie_rule, "instrument": self.instrument, "cutoff": self.cutoff,
                "readmission_days": self.readmission_days,
                "categories": {k: list(v) for k, v in self.categories.items()}}


@dataclass(frozen=True)
class Source:
    """Where the evaluation report asks for the figure (section and its words)."""

    section: str
    quote: str


@dataclass(frozen=True)
class Definition:
    """One indicator. ``units(frames, params, by)`` returns one row per counted unit (a stay, a
    move, a meeting; a child *within each group* of ``by``, so a child with stays at two sites
    counts once at each) with the ``by`` columns, ``numerator`` and ``denominator``."""

    id: str
    title: str
    topic: str
    source: Source
    unit: str  # "percent", "mean", "per 30 days", "hours per week", "percent of hours"
    counts: str  # what one unit is: "child", "stay", "move", "formulation meeting"
    numerator: str
    denominator: str
    units: Callable[[Frames, Params, list[str]], pd.DataFrame]
    scale: float = 100.0  # value = scale * sum(numerator) / sum(denominator)
    parameters: tuple[str, ...] = ()
    #: system kind whose records make up the denominator (None: all stays)
    recorded_by: str | None = None
    year_of: str = "admission date of the stay"
    #: numerator and denominator are counts of units (shares) and are disclosure-controlled as
    #: counts; otherwise only the number of units is (means, rates)
    count_based: bool = True
    #: a child-level unit at a coarser level is the max over the child's finer units (any stay
    #: counts); False when it must be recomputed per level (first and last scores)
    reducible: bool = True


_REGISTRY: dict[str, Definition] = {}
#: id prefixes in the order the evaluation's topics come (tables and the report follow it)
TOPIC_ORDER = ("formulation", "transition", "outcome", "incident", "education", "coverage")


def register(definition: Definition) -> Definition:
    """Add ``definition`` to the registry (each id once)."""
    if definition.id in _REGISTRY:
        raise ValueError(f"indicator {definition.id} registered twice")  # a bug, not user input
    _REGISTRY[definition.id] = definition
    return definition


def registry() -> dict[str, Definition]:
    """Every registered definition by id, in registration (topic) order."""
    from stairs_link.indicators import definitions  # noqa: F401 - importing registers them

    order = {prefix: i for i, prefix in enumerate(TOPIC_ORDER)}
    ids = sorted(_REGISTRY, key=lambda i: order.get(i.split(".")[0], len(order)))  # stable within a topic
    return {i: _REGISTRY[i] for i in ids}


def get(indicator_id: str) -> Definition:
    """The definition ``indicator_id``; an unknown id lists the valid ones."""
    found = registry()
    if indicator_id in found:
        return found[indicator_id]
    prefix = [i for i in found if i.startswith(indicator_id + ".")]
    if prefix:
        raise IndicatorError(f"'{indicator_id}' is a group of indicators, not one", reason="indicator_group",
                             fix=f"select with a pattern such as '{indicator_id}.*', or one of: {', '.join(prefix)}")
    raise IndicatorError(f"unknown indicator '{indicator_id}'", reason="unknown_indicator",
                         fix=f"use one of: {', '.join(found)}")


def select(patterns: list[str] | None) -> list[Definition]:
    """Definitions matching ``patterns`` (ids or ``topic.*`` shell patterns); all when empty."""
    import fnmatch

    found = registry()
    if not patterns:
        return list(found.values())
    chosen: list[Definition] = []
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            hits = [d for i, d in found.items() if fnmatch.fnmatchcase(i, pattern)]
            if not hits:
                raise IndicatorError(f"no indicator matches '{pattern}'", reason="unknown_indicator",
                                     fix=f"use one of: {', '.join(found)}")
        else:
            hits = [get(pattern)]
        chosen += [d for d in hits if d not in chosen]
    return chosen
