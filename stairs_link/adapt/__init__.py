"""Adapters: read a site system's export (CSV, XLSX, JSON) and apply its mapping, giving
staged canonical Parquet tables, a rejects table and a manifest. See docs/mapping-format.md."""

from __future__ import annotations

from stairs_link.adapt.run import AdaptResult, adapt

__all__ = ["AdaptResult", "adapt"]
