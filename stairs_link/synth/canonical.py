"""All canonical tables of a synthetic world, as a perfect adapter would stage them.

For tests and benchmarks of the later stages (quality, linkage, integration) that want the
events too, without writing and adapting files: :func:`write_staged` writes them as staged
directories, :func:`truth_clusters` is what a perfect linkage of them would give. Values are exactly the exported ones
(same frames, same draws) except that the deliberately bad rows planted in the exports are
not planted here; provenance names the export file and row each value was written to.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stairs_link.schema import columns_of
from stairs_link.schema.io import write_staged as publish_staged
from stairs_link.synth.damage import DamageConfig
from stairs_link.synth.exports import draw, site_system_frames
from stairs_link.synth.layouts import LAYOUTS
from stairs_link.synth.records import CHECKED_IDENTIFIERS, truth_records
from stairs_link.synth.world import EXTRACT_DATE

TABLE_NAMES = ("person", "episode", "formulation", "incident", "education", "measure")


def _to_date(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values).dt.date.to_numpy(dtype=object)


def canonical_table(name: str, frame: pd.DataFrame, site_id: str, setting_type: str, system: str, file: str,
                    extracted_at: str = EXTRACT_DATE + "T06:00:00") -> pd.DataFrame:
    """One prepared frame of a site system as the canonical table ``name`` (provenance: the
    export ``file``, its row numbers, ``extracted_at``)."""
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for col in columns_of(name):
        if col.name in frame.columns:
            out[col.name] = frame[col.name].to_numpy()
    if name == "person":
        for field in CHECKED_IDENTIFIERS:  # a failing identifier is nulled (the adapter reports it)
            out[field] = np.where(frame[f"{field}_valid"].to_numpy(dtype=bool), frame[field].to_numpy(), None)
    else:
        out["site_id"], out["setting_type"], out["source_system"] = site_id, setting_type, system
    for col in columns_of(name):
        if str(col.type) == "date32[day]" and col.name in out.columns:
            out[col.name] = _to_date(out[col.name])
    if name == "incident":
        out["incident_at"] = pd.to_datetime(frame["incident_at"]).to_numpy()
    out["source_file"] = file
    out["source_row"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    out["extracted_at"] = extracted_at
    out["mapping_id"] = "synth"
    return out


def canonical_tables(
    n_children: int, seed: int, damage: DamageConfig | None = None
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Every canonical table (person, episode, formulation, incident, education, measure) of
    the world ``(n_children, seed)``, and the record truth (as ``person_records`` returns).

    ``person`` holds the same rows as :func:`person_records` (possibly in another order).
    """
    drawn = draw(n_children, seed, damage)
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLE_NAMES}
    for site, system, frames in site_system_frames(drawn):
        for layout in LAYOUTS[system]:  # one file (or sheet) per table and system
            parts[layout.table].append(
                canonical_table(layout.table, frames[layout.table], site.site_id, site.setting_type, system, layout.name))
    tables = {}
    for name, frames_ in parts.items():
        tables[name] = (pd.concat(frames_, ignore_index=True) if frames_
                        else pd.DataFrame(columns=[c.name for c in columns_of(name)]))
    return tables, truth_records(drawn.world, drawn.records)


def write_staged(tables: dict[str, pd.DataFrame], root: Path) -> list[Path]:
    """Write canonical ``tables`` (as :func:`canonical_tables` returns them) the way `adapt`
    stages each site system's export: ``root/<site_id>/<source_system>/<table>.parquet``, an
    event table only where that system holds rows of it, with the manifest (completion record)
    :func:`stairs_link.schema.write_staged` publishes. Returns the directories in (site,
    system) order."""
    staged = []
    for (site, system), rows in tables["person"].groupby(["site_id", "source_system"], sort=True):
        directory = root / site / system
        system_tables = {"person": rows}
        for name in TABLE_NAMES[1:]:
            part = tables[name][tables[name]["record_key"].isin(rows["record_key"])]
            if len(part):
                system_tables[name] = part
        publish_staged(directory, system_tables, command="synth")
        staged.append(directory)
    return staged


def truth_clusters(truth: pd.DataFrame) -> pd.DataFrame:
    """A perfect linkage's clusters (the columns of LINKED/clusters.parquet that `build` reads):
    each record key with its true child as ``cluster_id``."""
    return truth.rename(columns={"true_child_id": "cluster_id"})[["record_key", "cluster_id"]]
