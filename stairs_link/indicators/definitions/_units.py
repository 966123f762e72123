"""Small vectorised helpers the definitions share: stays as units, per-child reduction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stairs_link.indicators.frames import Frames


def stays_recorded_by(frames: Frames, kind: str | None) -> pd.DataFrame:
    """The stays a system of ``kind`` recorded (all stays for None)."""
    s = frames.stays
    return s if kind is None else s[s[f"recorded_by_{kind}"]]


def stay_units(stays: pd.DataFrame, numerator: pd.Series | np.ndarray, by: list[str],
               denominator: pd.Series | np.ndarray | float = 1.0) -> pd.DataFrame:
    """One unit per stay: the ``by`` columns (and child_id) with numerator and denominator."""
    out = stays[["child_id", *by]].copy()
    out["numerator"] = np.asarray(numerator, dtype="float64")
    out["denominator"] = np.asarray(denominator, dtype="float64") if not np.isscalar(denominator) else denominator
    return out.reset_index(drop=True)


def per_child(units: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Child-level units: one per child within each group; numerator and denominator are
    whether any of the child's stays in the group counts (max)."""
    if units.empty:
        return units
    return units.groupby(["child_id", *by], sort=False, dropna=False)[["numerator", "denominator"]].max().reset_index()


def stays_with(frames: Frames, table: str, mask: pd.Series | None = None) -> pd.Index:
    """stay_ids with at least one row of ``table`` (optionally only rows where ``mask``)."""
    e = frames.events[table]
    if mask is not None:
        e = e[mask]
    return pd.Index(e["stay_id"].unique())


def event_units(frames: Frames, table: str, by: list[str], rows: pd.DataFrame | None = None,
                kind: str | None = None) -> pd.DataFrame:
    """Event rows of ``table`` (or ``rows``) with the group columns of their stay, keeping only
    stays recorded by ``kind``."""
    e = frames.events[table] if rows is None else rows
    s = stays_recorded_by(frames, kind).set_index("stay_id")[["child_id", *[b for b in by if b != "child_id"]]]
    return e.drop(columns=[c for c in s.columns if c in e.columns]).join(s, on="stay_id", how="inner")
