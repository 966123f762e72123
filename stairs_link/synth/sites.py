"""The fictional sites of the synthetic secure estate and the systems each one runs.

A *system* here is a layout (how its exports look); the same layout runs at several sites,
each with its own local id sequence. Detailed export layouts live in ``layouts.py``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    site_id: str
    setting_type: str  # SCH | STC | YOI
    systems: tuple[str, ...]  # layout names, see SYSTEM_KIND


# layout name -> system kind (canonical code list `system_kind`)
SYSTEM_KIND: dict[str, str] = {
    "systmone": "health",
    "carenotes": "health",
    "nomis": "operations",
    "case-manager": "operations",
    "sims": "education",
    "arbor": "education",
    "lcs": "social_care",
    "mosaic": "social_care",
}

SITES: tuple[Site, ...] = (
    Site("sch-oakfield", "SCH", ("systmone", "case-manager", "sims", "lcs")),
    Site("sch-moorside", "SCH", ("carenotes", "case-manager", "arbor", "mosaic")),
    Site("stc-kestrel", "STC", ("carenotes", "case-manager", "sims", "lcs")),
    Site("yoi-northgate", "YOI", ("systmone", "nomis", "sims")),
    Site("yoi-riverbank", "YOI", ("systmone", "nomis", "arbor")),
)

SITE_INDEX: dict[str, int] = {s.site_id: i for i, s in enumerate(SITES)}

# Probability that a child staying at a site has a record in a system of this kind there.
# Operations systems record every admission (they are how the child is admitted).
# Social care records exist for welfare placements (always) and looked-after children.
COVERAGE: dict[str, float] = {"operations": 1.0, "health": 0.96, "education": 0.88, "social_care": 0.35}

# Systems that open a *new* local record (a within-system duplicate) on re-admission to the
# same site with this probability; the others find and reuse the child's existing record.
NEW_RECORD_ON_READMISSION: dict[str, float] = {
    "systmone": 0.03, "carenotes": 0.15, "nomis": 0.02, "case-manager": 0.25,
    "sims": 0.3, "arbor": 0.3, "lcs": 0.02, "mosaic": 0.05,
}
