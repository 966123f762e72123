"""stairs-link: one record per child from the scattered systems of England's secure estate.

The pipeline, one sub-package per stage:
export -> ``mapping`` -> ``adapt`` (staged canonical Parquet, see ``schema``) -> ``quality``
-> ``linkage`` -> ``integrate`` (one record per child) -> ``report``.
"""

__version__ = "0.1.0"
