"""The registered indicator definitions, one module per evaluation topic (importing registers them)."""

from __future__ import annotations

from stairs_link.indicators.definitions import coverage, education, formulations, incidents, outcomes, pathways

__all__ = ["coverage", "education", "formulations", "incidents", "outcomes", "pathways"]
