"""Probabilistic record linkage: one cluster_id for every record of the same child.

Public API: :class:`LinkageConfig` (the spec), :func:`link_table` (a person DataFrame in,
:class:`LinkOutput` out) and :func:`link` (staged directories in, a LINKED directory out).
See docs/linkage.md.
"""

from __future__ import annotations

from stairs_link.linkage.config import BlockingRule, Comparison, LinkageConfig
from stairs_link.linkage.pipeline import LinkOutput, link, link_table, write_linked

__all__ = ["BlockingRule", "Comparison", "LinkageConfig", "LinkOutput", "link", "link_table", "write_linked"]
