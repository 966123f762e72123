"""Running definitions: units summed within groups -> the tidy indicator table, then disclosure control.

One row per (definition, group): the ``by`` columns (``all`` where a coarser level sums over
one), ``level`` (which columns the row is broken down by), ``n_units``, ``numerator``,
``denominator``, ``value`` (= scale x numerator / denominator), ``unit``, the denominator's
wording and the parameters the definition read. With ``margins`` every coarser level of ``by``
(:func:`margin_levels`, down to the overall total) is computed too, so a reader whose cells are
too small can use the next coarser breakdown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stairs_link.errors import IndicatorError
from stairs_link.indicators.definitions.incidents import kinds_of
from stairs_link.indicators.frames import Frames
from stairs_link.indicators.model import GROUP_COLUMNS, Definition, Params
from stairs_link.privacy.disclosure import suppress_counts

ALL = "all"
NOT_FOR_PUBLICATION = "NOT FOR PUBLICATION: unsuppressed counts"

TABLE_COLUMNS = ["definition_id", "level", "n_units", "numerator", "denominator", "value", "unit", "counts",
                 "denominator_label", "parameters", "as_at", "suppressed", "note", "publication"]


@dataclass(frozen=True)
class Disclosure:
    """Small-number suppression as in :mod:`stairs_link.privacy.disclosure` (NHS Digital rule)."""

    threshold: int = 7
    rounding: int = 5

    def label(self) -> str:
        """The short note on every published row (the full rule: :meth:`describe`)."""
        return f"disclosure-controlled: 1-{self.threshold} suppressed, others rounded to {self.rounding}"

    def describe(self) -> str:
        return (f"disclosure-controlled: counts of 1 to {self.threshold} suppressed, other counts rounded to the "
                f"nearest {self.rounding}; a share is suppressed when its numerator or denominator is, and is "
                f"computed from the rounded counts; a mean or rate is suppressed when it rests on 1 to "
                f"{self.threshold} units")


def check_by(by: list[str]) -> list[str]:
    """``by`` validated against :data:`GROUP_COLUMNS` (unknown names list the valid ones)."""
    bad = [b for b in by if b not in GROUP_COLUMNS]
    if bad:
        raise IndicatorError(f"cannot group by '{bad[0]}'", reason="unknown_group",
                             fix=f"use columns from: {', '.join(GROUP_COLUMNS)}")
    if len(set(by)) != len(by):
        raise IndicatorError("a --by column is given twice", reason="duplicate_group", fix="name each column once")
    return list(by)


def margin_levels(by: list[str]) -> list[list[str]]:
    """``by`` and every coarser breakdown, finest first: all subsets of up to three columns (so
    ``site_id,setting_type,year`` also gives setting type by year, setting type alone, all years
    of a site ...), else the prefixes of ``by`` (order the columns coarse to fine)."""
    from itertools import combinations

    if len(by) > 3:
        return [by[:k] for k in range(len(by), -1, -1)]
    return [list(c) for k in range(len(by), -1, -1) for c in combinations(by, k)]


def _parameters(definition: Definition, params: Params) -> str:
    described = params.describe()
    used = [p for p in definition.parameters if p not in ("as_at",)]
    parts = []
    for name in used:
        value = described[name]
        if name == "categories":
            category = definition.id.split(".")[-1]
            value = "+".join(kinds_of(category, params)) or "(none mapped)"
            name = "kinds"
        parts.append(f"{name}={value}")
    return "; ".join(parts)


def compute(frames: Frames, definitions: list[Definition], by: list[str], params: Params, *,
            margins: bool = True) -> pd.DataFrame:
    """The unsuppressed tidy table of ``definitions`` grouped by ``by`` (see module docstring)."""
    by = check_by(by)
    levels = margin_levels(by) if margins else [by]
    pieces = []
    for definition in definitions:
        units = definition.units(frames, params, by)
        note = units.attrs.get("note", "")
        finest = units
        for level in levels:
            if definition.counts == "child" and level != by:
                # a child is one unit per group: at a coarser level its groups merge, so recount
                if definition.reducible and not finest.empty:
                    units = finest.groupby(["child_id", *level], sort=False, dropna=False)[
                        ["numerator", "denominator"]].max().reset_index()
                else:
                    units = definition.units(frames, params, level)
            if units.empty:
                grouped = pd.DataFrame({c: [ALL] for c in by} | {"n_units": [0], "numerator": [np.nan],
                                                                  "denominator": [np.nan]})
                if level:
                    continue
            elif level:
                g = units.groupby(level, sort=True, dropna=False)
                grouped = g[["numerator", "denominator"]].sum()
                grouped.insert(0, "n_units", g.size())
                grouped = grouped.reset_index()
            else:
                grouped = pd.DataFrame({"n_units": [len(units)], "numerator": [units["numerator"].sum()],
                                        "denominator": [units["denominator"].sum()]})
            for column in by:
                if column not in level:
                    grouped[column] = ALL
            grouped["level"] = "+".join(level) if level else ALL
            grouped["definition_id"] = definition.id
            grouped["note"] = note or ("no units in the data" if units.empty else "")
            pieces.append(grouped)
    table = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=[*by, *TABLE_COLUMNS])
    meta = {d.id: d for d in definitions}
    scale = table["definition_id"].map({i: d.scale for i, d in meta.items()}).astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        value = scale * table["numerator"].astype("float64") / table["denominator"].astype("float64")
    table["value"] = value.where(table["denominator"].astype("float64") > 0)
    table["unit"] = table["definition_id"].map({i: d.unit for i, d in meta.items()})
    table["counts"] = table["definition_id"].map({i: d.counts for i, d in meta.items()})
    table["denominator_label"] = table["definition_id"].map({i: d.denominator for i, d in meta.items()})
    table["parameters"] = table["definition_id"].map({i: _parameters(d, params) for i, d in meta.items()})
    table["as_at"] = frames.as_at.isoformat()
    table["suppressed"] = False
    table["publication"] = NOT_FOR_PUBLICATION
    table["n_units"] = table["n_units"].astype("int64")
    return table[["definition_id", *by, *[c for c in TABLE_COLUMNS if c != "definition_id"]]]


def publish(table: pd.DataFrame, definitions: list[Definition], disclosure: Disclosure = Disclosure()) -> pd.DataFrame:
    """``table`` (from :func:`compute`) as it may be published (see :meth:`Disclosure.describe`)."""
    out = table.copy()
    counted = out["definition_id"].map({d.id: d.count_based for d in definitions}).astype(bool)
    scale = out["definition_id"].map({d.id: d.scale for d in definitions}).astype("float64")

    def rounded(values: pd.Series) -> tuple[pd.Series, pd.Series]:
        text = suppress_counts(values.round().astype("Int64"), disclosure.threshold, disclosure.rounding)
        small = text == "*"
        return pd.to_numeric(text.where(~small), errors="coerce"), small.fillna(False).astype(bool)

    n_pub, n_small = rounded(out["n_units"])
    num_pub, num_small = rounded(out["numerator"].where(counted))
    den_pub, den_small = rounded(out["denominator"].where(counted))
    suppressed = n_small | (counted & (num_small | den_small))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (scale * num_pub / den_pub).where(den_pub > 0)
    percent = out["unit"].astype(str).str.startswith("percent")
    value = out["value"].where(~counted, share)
    value = value.round(1).where(percent, value.round(2))
    out["n_units"] = n_pub.where(~suppressed).astype("Int64")
    out["numerator"] = num_pub.where(counted & ~suppressed).round().astype("Int64")  # published counts are whole
    out["denominator"] = den_pub.where(counted & ~suppressed).round().astype("Int64")
    out["value"] = value.where(~suppressed)
    out["suppressed"] = suppressed.to_numpy()
    out["publication"] = disclosure.label()
    return out
