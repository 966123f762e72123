"""Column names of the linked directory's ``clusters.parquet`` (written by ``stairs-link link``).

``cluster_id`` is the run-local label the linkage gives each cluster (``child-0000000``,
numbered by the cluster's smallest record key). It is not the stable ``child_id`` that
``build`` assigns (``dataset/children.parquet``, ``record_map.parquet``): the two are never
to be joined. Linked directories written before the rename called this column ``child_id``;
readers reject them with :func:`check_cluster_columns` instead of mistaking the label for
the stable id.
"""

from __future__ import annotations

from collections.abc import Iterable

from stairs_link.errors import StairsLinkError

CLUSTER_ID = "cluster_id"
CLUSTER_COLUMNS = ("record_key", CLUSTER_ID, "cluster_size")
OLD_CLUSTER_ID = "child_id"  # the name linked directories before the rename used


def check_cluster_columns(columns: Iterable[str], path: str, error: type[StairsLinkError]) -> None:
    """Raise ``error`` (the reading layer's error class) when ``columns`` are those of a
    clusters table written before ``child_id`` was renamed ``cluster_id``."""
    names = set(columns)
    if CLUSTER_ID not in names and OLD_CLUSTER_ID in names:
        raise error(
            "this clusters table was written by an older stairs-link: its cluster label column "
            "is called 'child_id', which now means only the stable id that `build` assigns "
            "(the run-local label is now 'cluster_id')",
            reason="old_linked_format", file=path, column=OLD_CLUSTER_ID,
            fix="re-run `stairs-link link` on the same staged directories to re-create the "
                "linked directory, then run `build` on it",
        )
