"""Coverage: which canonical fields each site actually provides (site x field completeness).

The direct answer to the evaluation's finding of "little overlap in information available
across multiple sites". A cell is the share of the site's rows of that table where the field
is filled; a site with no rows of a table scores 0 for its fields (it provides none of them).
Keys and provenance columns, which every staged row has, are left out, and so are the
pseudonymised-mode columns when no site fills them. For a pseudonymised site, a name, date of
birth or postcode counts as provided where its Bloom encoding is filled (the plain column is
nulled on purpose).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stairs_link.errors import QualityError
from stairs_link.privacy.pseudonymise import BLOOM_COLUMNS
from stairs_link.quality.prepare import load_staged
from stairs_link.schema.tables import TABLES

#: Columns every staged row carries (keys and provenance): not informative for coverage.
_ALWAYS_THERE = frozenset({
    "record_key", "site_id", "setting_type", "system_kind", "source_system", "local_id",
    "source_file", "source_row", "extracted_at", "mapping_id",
})

FIELDS = [f"{t}.{c.name}" for t, cols in TABLES.items() for c in cols if c.name not in _ALWAYS_THERE]

#: Columns filled only in pseudonymised mode (`adapt --pseudonymise`); shown only when some
#: site fills them, so a plaintext run does not show them as "not provided" everywhere.
PSEUDONYMISED_ONLY = frozenset(
    f"{t}.{c.name}" for t, cols in TABLES.items() for c in cols
    if c.description.startswith("Pseudonymised mode")
)


#: Plain person fields that pseudonymised mode replaces by an encoding: covered where the
#: encoding is filled. ``middle_names`` is dropped there without an encoding, so it shows
#: as not provided.
ENCODED_AS = {source: encoded for encoded, (source, _) in BLOOM_COLUMNS.items()}


def coverage_matrix(staged_dirs: list[Path]) -> pd.DataFrame:
    """Site x ``table.field`` completeness (0..1), sites as the index, fields in schema order."""
    if not staged_dirs:
        raise QualityError("no staged directory given", reason="no_staged_dirs",
                           fix="pass one or more --out directories of `stairs-link adapt`")
    parts: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES}
    for directory in staged_dirs:
        staged = load_staged(directory)
        for name, table in staged.tables.items():
            parts[name].append(table.frame)
    sites = sorted(pd.concat([f["site_id"] for f in parts["person"]]).dropna().unique())
    columns = {}
    for name, frames in parts.items():
        fields = [c.name for c in TABLES[name] if c.name not in _ALWAYS_THERE]
        if not frames:
            for field in fields:
                columns[f"{name}.{field}"] = pd.Series(0.0, index=sites)
            continue
        frame = pd.concat(frames, ignore_index=True)
        present = frame[fields].notna()
        for plain, encoded in ENCODED_AS.items():
            if name == "person" and encoded in frame:
                # pseudonymised mode nulls the plain column and keeps its encoding: the site
                # did provide the field (for linkage), so it counts as covered
                present[plain] = present[plain] | frame[encoded].notna()
        filled = present.groupby(frame["site_id"]).mean()
        filled = filled.reindex(sites).fillna(0.0)
        for field in fields:
            columns[f"{name}.{field}"] = filled[field].astype(float)
    matrix = pd.DataFrame(columns, index=pd.Index(sites, name="site_id"))[FIELDS]
    unused = [f for f in PSEUDONYMISED_ONLY if not (matrix[f] > 0).any()]
    return matrix.drop(columns=unused)


def coverage(staged_dirs: list[Path], out_dir: Path) -> pd.DataFrame:
    """Build the matrix and write coverage.parquet, coverage.csv and coverage.png to ``out_dir``."""
    matrix = coverage_matrix([Path(d) for d in staged_dirs])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    matrix.reset_index().to_parquet(out_dir / "coverage.parquet", index=False)
    # utf-8-sig: a byte-order mark, so Excel on Windows reads the file as UTF-8
    matrix.to_csv(out_dir / "coverage.csv", encoding="utf-8-sig", lineterminator="\n", float_format="%.4f")
    plot_heatmap(matrix, out_dir / "coverage.png")
    return matrix


def plot_heatmap(matrix: pd.DataFrame, path: Path) -> Path:
    """A site x field heatmap (share filled, 0 white to 1 dark) saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed; safe on servers and in tests
    import matplotlib.pyplot as plt

    width = max(8.0, 0.28 * matrix.shape[1] + 3)
    height = max(2.5, 0.45 * matrix.shape[0] + 2.2)
    fig, ax = plt.subplots(figsize=(width, height))
    if matrix.empty:  # no person rows at all: say so rather than draw an empty grid
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No person records in the staged directories", ha="center", va="center")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path
    image = ax.imshow(matrix.to_numpy(), aspect="auto", cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(matrix.shape[0]), matrix.index, fontsize=8)
    if matrix.size <= 600:  # small enough to print each share in its cell
        for (i, j), share in np.ndenumerate(matrix.to_numpy()):
            ax.text(j, i, f"{share:.0%}", ha="center", va="center", fontsize=5.5,
                    color="white" if share > 0.6 else "black")
    ax.set_title("Share of rows with the field filled, by site")
    fig.colorbar(image, ax=ax, fraction=0.02, pad=0.01, label="share filled")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
