"""Synthetic person records staged for `stairs-link link`, shared by the linkage CLI tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from stairs_link.schema import write_staged
from stairs_link.synth import person_records


def stage_person_systems(root: Path, n_children: int = 60, seed: int = 5) -> tuple[list[str], str, pd.DataFrame,
                                                                                     pd.DataFrame]:
    """The generator's person records written one staged directory per source system under
    ``root``, and a linkage config with a small u sample (fast); returns (directories, config
    path, person records, truth)."""
    person, truth = person_records(n_children, seed)
    dirs = []
    for system, part in person.groupby("source_system"):
        write_staged(root / system, {"person": part})
        dirs.append(str(root / system))
    config = root / "linkage.yaml"
    config.write_text(yaml.safe_dump({"u_sample_pairs": 50_000}), encoding="utf-8")
    return dirs, str(config), person, truth
