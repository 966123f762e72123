"""Linkage quality against ground truth: pairwise and B-cubed scores, and recall by subgroup.

Every figure is computed from the contingency table of (predicted cluster, true child)
cell sizes, never by enumerating record pairs, so evaluating a million records costs a few
group-bys. Definitions (n = number of records in a group, C(n, 2) = n (n - 1) / 2):

* predicted pairs = sum of C(n, 2) over predicted clusters; true pairs = the same over true
  children; true positives = the same over the cells (records sharing both the predicted
  cluster and the true child). Pairwise precision = TP / predicted pairs, recall = TP / true
  pairs, F1 their harmonic mean.
* B-cubed (Bagga & Baldwin 1998; Amigo et al. 2009): per record, precision = |cell| / |its
  predicted cluster| and recall = |cell| / |its true child|, averaged over records.
* Subgroup recall for a column ``g`` (ethnic group, sex, site, ...): a true pair belongs to
  group value ``v`` when at least one of its two records has ``g == v``. For a child-level
  attribute (ethnic group, sex from the truth) both records share the value, so this is
  "the true pairs of the children in group v". For a record-level attribute (site) a pair
  between two sites counts for both, so cross-site links are credited to each site.
  Recall(v) = found pairs of group v / true pairs of group v; precision(v) is defined the
  same way over predicted pairs. Pairs with at least one record in ``v`` are counted as
  C(n, 2) - C(n - n_v, 2) for a group of n records of which n_v are in ``v``.
  Missing values form their own group, labelled ``(missing)``. A group's ``true_children``
  counts the children with at least one record in it (for a site, the children seen there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stairs_link.errors import LinkageError
from stairs_link.schema.linked import check_cluster_columns
from stairs_link.schema.outputs import verify_linked

MISSING_LABEL = "(missing)"


def _pairs(n: pd.Series | np.ndarray) -> np.ndarray:
    """C(n, 2) element-wise, as int64 (exact for any realistic size)."""
    values = np.asarray(n, dtype=np.int64)
    return values * (values - 1) // 2


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when undefined (no pairs at all)."""
    return None if denominator == 0 else float(numerator) / float(denominator)


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _check_keys(frame: pd.DataFrame, columns: Sequence[str], *, what: str, file: str | None) -> None:
    """Required columns present, keys non-null and unique: otherwise a LinkageError."""
    for column in columns:
        if column not in frame.columns:
            raise LinkageError(
                f"{what} has no column '{column}' (it has: {', '.join(map(str, frame.columns))})",
                reason="missing_column",
                file=file,
                column=column,
                fix=f"pass a {what} table with columns {', '.join(columns)}",
            )
        nulls = frame[column].isna().to_numpy()
        if nulls.any():
            row = int(np.flatnonzero(nulls)[0])
            raise LinkageError(
                f"{what} has {int(nulls.sum())} empty value(s) in '{column}'",
                reason="null_key",
                file=file,
                row=row,
                column=column,
                fix=f"every {what} row needs a {column}",
            )
    dup = frame["record_key"].duplicated().to_numpy()
    if dup.any():
        raise LinkageError(
            f"{what} lists {int(dup.sum())} record_key(s) more than once",
            reason="duplicate_record_key",
            file=file,
            row=int(np.flatnonzero(dup)[0]),
            column="record_key",
            fix=f"a {what} table must have exactly one row per record",
        )


def _align(
    clusters: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    clusters_file: str | None,
    truth_file: str | None,
    exclude_unlinked_truth: bool = False,
) -> tuple[pd.DataFrame, int]:
    """Join on record_key, refusing record sets that differ (they would bias the scores).

    With ``exclude_unlinked_truth`` truth records absent from the clusters (e.g. rows rejected
    before linkage) are left out and counted instead; returns (joined frame, count left out).
    """
    _check_keys(clusters, ["record_key", "cluster_id"], what="clusters", file=clusters_file)
    _check_keys(truth, ["record_key", "true_child_id"], what="truth", file=truth_file)
    merged = clusters[["record_key", "cluster_id"]].merge(
        truth, on="record_key", how="outer", indicator=True, validate="one_to_one"
    )
    side = merged["_merge"].to_numpy()
    only_clusters = int((side == "left_only").sum())
    only_truth = int((side == "right_only").sum())
    if exclude_unlinked_truth and only_truth and not only_clusters:
        return merged[side == "both"].drop(columns="_merge").reset_index(drop=True), only_truth
    if only_clusters or only_truth:
        # Record keys carry local ids, so say how many and where, not which.
        if only_clusters:
            rows = np.flatnonzero(~clusters["record_key"].isin(truth["record_key"]).to_numpy())
            raise LinkageError(
                f"{only_clusters} record(s) in clusters are not in the truth "
                f"({only_truth} truth record(s) are not in clusters)",
                reason="record_sets_differ",
                file=clusters_file,
                row=int(rows[0]),
                column="record_key",
                fix="evaluate the linked output of exactly the records the truth describes",
            )
        rows = np.flatnonzero(~truth["record_key"].isin(clusters["record_key"]).to_numpy())
        raise LinkageError(
            f"{only_truth} truth record(s) are not in clusters",
            reason="record_sets_differ",
            file=truth_file,
            row=int(rows[0]),
            column="record_key",
            fix="every input record must appear in clusters.parquet (unlinked ones as singletons); "
                "if rows were rejected before linkage, exclude them explicitly "
                "(--exclude-unlinked-truth), and they are counted in the report",
        )
    return merged.drop(columns="_merge"), 0


def _pairs_touching(group_sizes: pd.Series, in_group_sizes: pd.Series) -> np.ndarray:
    """Pairs with at least one record in the subgroup: C(n, 2) - C(n - n_v, 2)."""
    n = group_sizes.to_numpy(dtype=np.int64)
    n_v = in_group_sizes.to_numpy(dtype=np.int64)
    return _pairs(n) - _pairs(n - n_v)


def _subgroup_table(frame: pd.DataFrame, column: str, min_true_pairs: int) -> dict[str, Any]:
    """Recall and precision per value of ``column`` (see the module docstring for definitions)."""
    values = frame[column].astype("string").fillna(MISSING_LABEL).astype(str)
    data = pd.DataFrame(
        {"cluster_id": frame["cluster_id"].to_numpy(), "true_child_id": frame["true_child_id"].to_numpy(), "v": values.to_numpy()}
    )
    pred_size = data.groupby("cluster_id", sort=False)["v"].transform("size")
    true_size = data.groupby("true_child_id", sort=False)["v"].transform("size")
    cell_size = data.groupby(["cluster_id", "true_child_id"], sort=False)["v"].transform("size")
    data = data.assign(pred_size=pred_size, true_size=true_size, cell_size=cell_size)

    def touching(keys: list[str], size_col: str) -> pd.Series:
        # For each (group key, v): n_v records in v; the group has size n. Sum over groups.
        counts = data.groupby([*keys, "v"], sort=False).agg(n_v=("v", "size"), n=(size_col, "first"))
        counts["touch"] = _pairs_touching(counts["n"], counts["n_v"])
        return counts.groupby("v")["touch"].sum()

    true_pairs = touching(["true_child_id"], "true_size")
    pred_pairs = touching(["cluster_id"], "pred_size")
    found = touching(["cluster_id", "true_child_id"], "cell_size")
    records = data.groupby("v").size()
    children = data.groupby("v")["true_child_id"].nunique()
    table = pd.DataFrame(
        {"records": records, "true_children": children, "true_pairs": true_pairs,
         "found_pairs": found, "predicted_pairs": pred_pairs}
    ).fillna(0).astype("int64").sort_index()

    groups: dict[str, dict[str, Any]] = {}
    for value, row in table.iterrows():  # one iteration per group value, not per record
        recall = _ratio(row["found_pairs"], row["true_pairs"])
        precision = _ratio(row["found_pairs"], row["predicted_pairs"])
        groups[str(value)] = {
            "records": int(row["records"]),
            "true_children": int(row["true_children"]),
            "true_pairs": int(row["true_pairs"]),
            "found_pairs": int(row["found_pairs"]),
            "predicted_pairs": int(row["predicted_pairs"]),
            "recall": recall,
            "precision": precision,
        }
    judged = [g["recall"] for g in groups.values() if g["true_pairs"] >= max(1, min_true_pairs)]
    gap = (max(judged) - min(judged)) if judged else None
    return {
        "groups": groups,
        "recall_gap": gap,
        "recall_gap_min_true_pairs": max(1, min_true_pairs),
    }


def evaluate_clusters(
    clusters: pd.DataFrame,
    truth: pd.DataFrame,
    by: Sequence[str] = (),
    *,
    min_true_pairs: int = 1,
    exclude_unlinked_truth: bool = False,
    clusters_file: str | None = None,
    truth_file: str | None = None,
) -> dict[str, Any]:
    """Score predicted clusters against the truth without enumerating record pairs.

    ``clusters`` has ``record_key``, ``cluster_id``; ``truth`` has ``record_key``,
    ``true_child_id`` and any ``by`` columns (join them on beforehand if they live elsewhere).
    Both must describe exactly the same records. ``min_true_pairs`` excludes groups with fewer
    true pairs from the recall gap (they are still listed, with their counts).
    ``exclude_unlinked_truth`` scores only truth records present in the clusters (records
    rejected before linkage), reporting how many were left out; otherwise that is an error.

    Returns a JSON-ready dict: records, true/predicted children and pairs, true positives,
    pairwise ``precision``/``recall``/``f1``, ``bcubed_precision``/``bcubed_recall``/
    ``bcubed_f1``, and ``by[column]`` = {"groups": {value: counts + recall + precision},
    "recall_gap": max - min recall}.
    """
    by = list(by)
    for column in by:
        if column not in truth.columns:
            raise LinkageError(
                f"cannot evaluate by '{column}': the truth table has no such column",
                reason="missing_column",
                file=truth_file,
                column=column,
                fix="join the column onto the truth first (e.g. from the staged person tables)",
            )
    frame, excluded = _align(clusters, truth[["record_key", "true_child_id", *by]],
                             clusters_file=clusters_file, truth_file=truth_file,
                             exclude_unlinked_truth=exclude_unlinked_truth)
    n_records = len(frame)
    if n_records == 0:
        raise LinkageError("no records to evaluate", reason="empty", file=clusters_file,
                           fix="link a non-empty person table first")

    pred_sizes = frame.groupby("cluster_id", sort=False).size()
    true_sizes = frame.groupby("true_child_id", sort=False).size()
    cells = frame.groupby(["cluster_id", "true_child_id"], sort=False).size()
    predicted_pairs = int(_pairs(pred_sizes).sum())
    true_pairs = int(_pairs(true_sizes).sum())
    tp = int(_pairs(cells).sum())
    precision = _ratio(tp, predicted_pairs)
    recall = _ratio(tp, true_pairs)

    # B-cubed: the n_ct records of a cell each score n_ct/|pred| and n_ct/|true|.
    cell_n = cells.to_numpy(dtype=np.float64)
    cell_pred = pred_sizes.reindex(cells.index.get_level_values(0)).to_numpy(dtype=np.float64)
    cell_true = true_sizes.reindex(cells.index.get_level_values(1)).to_numpy(dtype=np.float64)
    b3_precision = float((cell_n**2 / cell_pred).sum() / n_records)
    b3_recall = float((cell_n**2 / cell_true).sum() / n_records)

    # Children whose records are all in one predicted cluster and with nothing else there.
    true_of_cell = cells.index.get_level_values(1)
    exact = (cell_n == cell_pred) & (cell_n == cell_true)
    result: dict[str, Any] = {
        "records": n_records,
        "truth_records_excluded": excluded,
        "true_children": int(len(true_sizes)),
        "predicted_children": int(len(pred_sizes)),
        "true_pairs": true_pairs,
        "predicted_pairs": predicted_pairs,
        "true_positive_pairs": tp,
        "false_positive_pairs": predicted_pairs - tp,
        "false_negative_pairs": true_pairs - tp,
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "bcubed_precision": b3_precision,
        "bcubed_recall": b3_recall,
        "bcubed_f1": _f1(b3_precision, b3_recall),
        "children_exactly_recovered": int(pd.Index(true_of_cell[exact]).nunique()),
        "by": {},
    }
    for column in by:
        result["by"][column] = _subgroup_table(frame, column, min_true_pairs)
    return result


# --------------------------------------------------------------------------- file helpers

def _read_parquet(path: Path, what: str) -> pd.DataFrame:
    if not path.exists():
        raise LinkageError(f"{what} not found", reason="missing_file", file=str(path),
                           fix=f"check the path to the {what}")
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise LinkageError(f"{what} is not a readable Parquet file ({type(exc).__name__})",
                           reason="corrupt_parquet", file=str(path),
                           fix=f"re-create the {what}; do not edit Parquet files by hand") from None


def load_clusters(linked: str | Path) -> tuple[pd.DataFrame, str]:
    """Read ``LINKED/clusters.parquet`` (or a clusters Parquet file given directly: another
    tool's clusters, which carry no completion record). A directory must be one a finished
    `stairs-link link` wrote whole (``complete.json``), like every reader of LINKED."""
    path = Path(linked)
    if path.is_dir():
        verify_linked(path)
        path = path / "clusters.parquet"
    frame = _read_parquet(path, "clusters table")
    check_cluster_columns(frame.columns, str(path), LinkageError)
    return frame, str(path)


def load_truth(truth: str | Path) -> tuple[pd.DataFrame, str]:
    """Read a truth Parquet file, or ``records.parquet`` in a synth truth directory."""
    path = Path(truth)
    if path.is_dir():
        path = path / "records.parquet" if (path / "records.parquet").exists() else path / "truth" / "records.parquet"
    return _read_parquet(path, "truth table"), str(path)


# Derivable from record_key by the stage contract: f"{site_id}:{source_system}:{local_id}".
_KEY_PARTS = {"site_id": 0, "source_system": 1}


def attach_columns(
    truth: pd.DataFrame,
    by: Sequence[str],
    *,
    clusters: pd.DataFrame | None = None,
    staged: Sequence[str | Path] = (),
) -> pd.DataFrame:
    """Add each ``by`` column the truth lacks, from the clusters table, staged person tables,
    or (site_id, source_system) the record_key itself; error if none has it."""
    out = truth
    person: pd.DataFrame | None = None
    for column in by:
        if column in out.columns:
            continue
        if clusters is not None and column in clusters.columns:
            out = out.merge(clusters[["record_key", column]], on="record_key", how="left")
            continue
        if staged and person is None:
            frames = []
            for directory in staged:
                p = Path(directory)
                p = p / "person.parquet" if p.is_dir() else p
                frames.append(_read_parquet(p, "staged person table"))
            person = pd.concat(frames, ignore_index=True)
        if person is not None and column in person.columns:
            part = person[["record_key", column]].drop_duplicates("record_key")
            out = out.merge(part, on="record_key", how="left")
            continue
        if column in _KEY_PARTS:
            split = out["record_key"].astype(str).str.split(":", n=2, expand=True)
            out = out.assign(**{column: split[_KEY_PARTS[column]]})
            continue
        raise LinkageError(
            f"cannot evaluate by '{column}': not in the truth, the clusters or the staged person tables",
            reason="missing_column",
            column=column,
            fix="pass --staged with the staged directories, or choose a column the truth has "
                "(e.g. ethnic_group, sex, site_id)",
        )
    return out


# --------------------------------------------------------------------------- formatting

def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def format_report(result: dict[str, Any]) -> str:
    """A readable plain-text table of an :func:`evaluate_clusters` result (counts only, no ids)."""
    lines = [
        f"records               {result['records']:>12,}",
        *([f"truth records left out {result['truth_records_excluded']:>10,}  (not in the linked output)"]
          if result.get("truth_records_excluded") else []),
        f"true children         {result['true_children']:>12,}",
        f"predicted children    {result['predicted_children']:>12,}",
        f"children recovered    {result['children_exactly_recovered']:>12,}  (all records together, nothing else)",
        f"true pairs            {result['true_pairs']:>12,}",
        f"predicted pairs       {result['predicted_pairs']:>12,}",
        f"true positive pairs   {result['true_positive_pairs']:>12,}",
        "",
        f"{'':20}{'precision':>10}{'recall':>10}{'F1':>10}",
        f"{'pairwise':20}{_fmt(result['precision']):>10}{_fmt(result['recall']):>10}{_fmt(result['f1']):>10}",
        f"{'B-cubed':20}{_fmt(result['bcubed_precision']):>10}{_fmt(result['bcubed_recall']):>10}"
        f"{_fmt(result['bcubed_f1']):>10}",
    ]
    for column, table in result["by"].items():
        lines += ["", f"by {column}:",
                  f"  {'group':<18}{'records':>9}{'children':>10}{'true prs':>10}{'found':>10}"
                  f"{'recall':>9}{'precision':>10}"]
        for value, g in table["groups"].items():
            lines.append(
                f"  {value[:18]:<18}{g['records']:>9,}{g['true_children']:>10,}{g['true_pairs']:>10,}"
                f"{g['found_pairs']:>10,}{_fmt(g['recall']):>9}{_fmt(g['precision']):>10}"
            )
        gap = table["recall_gap"]
        gap_text = "n/a" if gap is None else f"{gap * 100:.2f} percentage points"
        lines.append(f"  recall gap (max - min over groups with >= {table['recall_gap_min_true_pairs']} "
                     f"true pairs): {gap_text}")
    return "\n".join(lines)
