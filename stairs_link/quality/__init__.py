"""Quality checks on staged (and linked) data, and the site x field coverage matrix.

``check`` runs the great-expectations suites in ``expectations/`` (plus structure checks,
checks across directories and checks after linkage) and writes check.json / check.html;
``coverage`` writes the site x field completeness matrix and heatmap.

Importing this package is cheap: pandas and great-expectations are imported only when a
function is called (great-expectations only by ``check``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from stairs_link.quality.results import CheckResult

__all__ = ["CheckResult", "Outcome", "check", "coverage"]


def check(
    staged_dirs: list[Path],
    out_dir: Path,
    *,
    show_values: bool = False,
    max_cluster_size: int | None = None,
    suites_dir: Path | None = None,
) -> CheckResult:
    """Check staged directories (and linked ones among them), write check.json and
    check.html to ``out_dir``; ``.passed`` is False when a critical check failed.
    ``max_cluster_size`` defaults to 20, ``suites_dir`` to the repository's expectations/."""
    from stairs_link.quality.linked import MAX_CLUSTER_SIZE
    from stairs_link.quality.runner import check as _check

    return _check(staged_dirs, out_dir, show_values=show_values, suites_dir=suites_dir,
                  max_cluster_size=MAX_CLUSTER_SIZE if max_cluster_size is None else max_cluster_size)


def coverage(staged_dirs: list[Path], out_dir: Path) -> pd.DataFrame:
    """Site x field completeness matrix, written as Parquet, CSV and a heatmap PNG."""
    from stairs_link.quality.site_coverage import coverage as _coverage

    return _coverage(staged_dirs, out_dir)


def __getattr__(name: str) -> object:
    if name in ("CheckResult", "Outcome"):
        from stairs_link.quality import results

        return getattr(results, name)
    raise AttributeError(name)
