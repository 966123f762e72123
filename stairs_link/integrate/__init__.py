"""One record per child: survivorship, nested events, stays and transitions, stable ids.

``build(linked_dir, staged_dirs, out_dir, previous=None)`` writes the integrated dataset
(see docs/dataset.md); the pure functions below are usable on their own.
"""

from __future__ import annotations

from stairs_link.integrate.build import BuildResult, build
from stairs_link.integrate.ids import assign_child_ids
from stairs_link.integrate.survivorship import FIELD_TRUST, resolve_demographics
from stairs_link.integrate.transitions import (
    MOVE_KINDS,
    TransitionRules,
    derive_transitions,
    merge_stays,
)

__all__ = [
    "FIELD_TRUST",
    "MOVE_KINDS",
    "BuildResult",
    "TransitionRules",
    "assign_child_ids",
    "build",
    "derive_transitions",
    "merge_stays",
    "resolve_demographics",
]
