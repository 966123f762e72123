"""Mapping files: the model, loading with templates, whole-file validation, scaffolding.

A mapping says, for one site system, where each canonical field comes from in its export.
See docs/mapping-format.md.
"""

from __future__ import annotations

from stairs_link.mapping.loader import load_mapping, validate_mapping
from stairs_link.mapping.model import FieldSpec, Mapping, SourceSpec, TableSpec

__all__ = ["FieldSpec", "Mapping", "SourceSpec", "TableSpec", "load_mapping", "validate_mapping"]
