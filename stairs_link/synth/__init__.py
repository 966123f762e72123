"""Deterministic synthetic generator: a true world of children and pathways, then renderers.

Public API:

* :func:`generate_world` - the truth (children and stays), deterministic for (n, seed);
* :func:`person_records` - canonical ``person`` rows + ground truth, fast (vectorised), for
  linkage tests and benchmarks;
* :func:`write_exports` - site-system exports + ground truth + systems.json (the CLI);
* :func:`canonical_tables` - every canonical table as a perfect adapter would stage it;
  :func:`write_staged` writes them as staged directories, :func:`truth_clusters` gives the
  clusters of a perfect linkage;
* :class:`DamageConfig` - every damage rate, with documented defaults.
"""

from __future__ import annotations

from stairs_link.synth.canonical import canonical_tables, truth_clusters, write_staged
from stairs_link.synth.damage import DamageConfig
from stairs_link.synth.exports import write_exports
from stairs_link.synth.records import person_records
from stairs_link.synth.world import World, generate_world

__all__ = ["DamageConfig", "World", "canonical_tables", "generate_world", "person_records", "truth_clusters",
           "write_exports", "write_staged"]
