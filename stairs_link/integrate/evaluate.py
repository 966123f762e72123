"""Checking built transitions against a synthetic world's ground-truth pathway.

The true moves are derived from ``truth/pathway.parquet`` (one row per true stay) by the same
rules as the built ones (:func:`derive_transitions`), so the comparison measures what the data
and the linkage lose, not a difference of definitions. Each built child is mapped to the true
child that most of its records belong to; a true move counts as reproduced when a built move of
that child has the same kind, from-site and to-site, is the same occurrence of that combination
in the child's pathway, and its date is within ``date_tolerance_days``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stairs_link.integrate.transitions import TransitionRules, derive_transitions, merge_stays

_KEY = ["true_child_id", "kind", "from_site_id", "to_site_id"]


@dataclass(frozen=True)
class TransitionAgreement:
    """How well built moves reproduce the true ones."""

    true_moves: int
    built_moves: int
    matched: int

    @property
    def share_reproduced(self) -> float:
        """Share of true moves found among the built moves (recall)."""
        return self.matched / self.true_moves if self.true_moves else 1.0

    @property
    def share_correct(self) -> float:
        """Share of built moves that are true moves (precision)."""
        return self.matched / self.built_moves if self.built_moves else 1.0


def true_transitions(pathway: pd.DataFrame, rules: TransitionRules = TransitionRules()) -> pd.DataFrame:
    """Moves of the true pathway (child_id = true_child_id), by the same rules as `build`."""
    stays = pathway.rename(columns={"true_child_id": "child_id"}).assign(source_system="truth")
    return derive_transitions(merge_stays(stays, rules), rules=rules)


def compare_transitions(
    built: pd.DataFrame,
    record_map: pd.DataFrame,
    truth_records: pd.DataFrame,
    truth_pathway: pd.DataFrame,
    *,
    rules: TransitionRules = TransitionRules(),
    date_tolerance_days: int = 7,
) -> TransitionAgreement:
    """Compare built transitions with the truth (see module docstring)."""
    owner = record_map.merge(truth_records[["record_key", "true_child_id"]], on="record_key")
    owner = owner.groupby(["child_id", "true_child_id"]).size().rename("n").reset_index()
    owner = owner.sort_values(["child_id", "n", "true_child_id"], ascending=[True, False, True])
    owner = owner.drop_duplicates("child_id").set_index("child_id")["true_child_id"]
    b = built.assign(true_child_id=built["child_id"].map(owner))
    t = true_transitions(truth_pathway, rules).rename(columns={"child_id": "true_child_id"})
    b, t = _occurrence(b), _occurrence(t)
    both = t.merge(b, on=[*_KEY, "_occ"], suffixes=("_true", "_built"))
    days = (pd.to_datetime(both["move_date_true"]) - pd.to_datetime(both["move_date_built"])).dt.days.abs()
    matched = int((days <= date_tolerance_days).sum())
    return TransitionAgreement(true_moves=len(t), built_moves=len(built), matched=matched)


def _occurrence(moves: pd.DataFrame) -> pd.DataFrame:
    moves = moves.copy()
    for column in ("from_site_id", "to_site_id"):
        moves[column] = moves[column].fillna("")
    moves = moves.sort_values([*_KEY, "move_date"], kind="stable")
    moves["_occ"] = moves.groupby(_KEY, dropna=False).cumcount()
    return moves


def compare_dataset(dataset_dir: str | Path, truth_dir: str | Path, **kwargs) -> TransitionAgreement:
    """:func:`compare_transitions` on a dataset directory and a synthetic ``truth/`` directory."""
    dataset_dir, truth_dir = Path(dataset_dir), Path(truth_dir)
    return compare_transitions(
        pd.read_parquet(dataset_dir / "transitions.parquet"),
        pd.read_parquet(dataset_dir / "record_map.parquet"),
        pd.read_parquet(truth_dir / "records.parquet"),
        pd.read_parquet(truth_dir / "pathway.parquet"),
        **kwargs,
    )
