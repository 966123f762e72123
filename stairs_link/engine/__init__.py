"""Execution engines: ``embedded`` (the default: numpy/pandas on one machine, in
``stairs_link.linkage`` / ``integrate``) and ``spark`` (the same model on a Spark cluster,
in :mod:`stairs_link.engine.spark`, needs the optional ``pyspark`` extra).

The Spark engine reuses the embedded engine's pure functions (comparison kernels, EM on
pattern counts, constrained clustering) inside Spark tasks, so both give the same results.
"""

from __future__ import annotations

import os

from stairs_link.errors import StairsLinkError

ENGINES = ("embedded", "spark")
MASTER_ENV = "STAIRS_LINK_SPARK_MASTER"
INSTALL_HINT = 'pip install "stairs-link[spark]"'


class EngineError(StairsLinkError):
    """An engine cannot run here (e.g. pyspark or Java missing, or an unknown engine name)."""

    layer = "engine"


def check_engine(name: str) -> str:
    """``name`` if it is a known engine, else an EngineError listing the valid ones."""
    if name not in ENGINES:
        raise EngineError(f"unknown engine '{name}'", reason="bad_engine",
                          fix=f"use one of: {', '.join(ENGINES)}")
    return name


def default_master() -> str:
    """Spark master URL from ``STAIRS_LINK_SPARK_MASTER``, else ``local[*]``."""
    return os.environ.get(MASTER_ENV) or "local[*]"
