"""Small hand-made exports and mappings for the adapter tests (all synthetic)."""

from __future__ import annotations

from pathlib import Path

import pytest
from adapt_data import PERSON_MAPPING


@pytest.fixture
def person_mapping(tmp_path: Path):
    """Write the person mapping with a given unknown-code policy; returns its path."""

    def make(sex_policy: str = "keep_unknown", source_extra: str = "") -> Path:
        path = tmp_path / "mapping.yaml"
        path.write_text(PERSON_MAPPING.format(sex_policy=sex_policy, source_extra=source_extra), encoding="utf-8")
        return path

    return make


@pytest.fixture
def export_dir(tmp_path: Path):
    """Write patients.csv from lines (header included); returns the export directory."""

    def make(text: str | bytes, name: str = "patients.csv") -> Path:
        folder = tmp_path / "export"
        folder.mkdir(exist_ok=True)
        data = text.encode("utf-8") if isinstance(text, str) else text
        (folder / name).write_bytes(data)
        return folder

    return make
