"""The linkage workbench: two offline HTML pages written beside a LINKED directory's files.

* ``linkage.html``: the model (match weights, m and u per level, EM sessions), the match-weight
  histogram with the threshold and review band, blocking rules with pair counts and recall,
  cluster sizes, unlinked records, decisions' precision/recall, and a waterfall for any pair.
* ``review.html``: the uncertain pairs side by side for clerical review by keyboard, exporting
  ``decisions.csv`` for ``stairs-link link --decisions``.

Both are built only from what linkage writes (model.json, pairs.parquet, clusters.parquet,
review.csv, summary.json), so ``stairs-link explain LINKED`` can write them for any earlier run.
They are working pages, not published outputs: no disclosure control is applied.
"""

from __future__ import annotations

from stairs_link.linkage.workbench.pages import write_pages

__all__ = ["write_pages"]
