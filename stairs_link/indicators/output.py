"""Computing indicators from a DATASET directory and writing them (what `stairs-link indicators` runs).

OUT/indicators.csv (UTF-8 with BOM, so Excel opens it), OUT/indicators.parquet: the tidy table,
disclosure-controlled; OUT/indicators.json: the definitions used (with their source in the
evaluation report), parameters, data-as-at date and disclosure rule. Only on request
(``unsuppressed=True``) also OUT/indicators_unsuppressed_NOT_FOR_PUBLICATION.csv/.parquet, whose
every row says "NOT FOR PUBLICATION". Each file is written to a temporary name and renamed, so
an interrupted run never leaves a half-written table.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link.indicators.compute import Disclosure, compute, publish
from stairs_link.indicators.frames import Frames, load_frames
from stairs_link.indicators.model import Definition, Params, select

UNSUPPRESSED_STEM = "indicators_unsuppressed_NOT_FOR_PUBLICATION"


def indicators(dataset: str | Path | Frames, by: list[str], params: Params | None = None,
               ids: list[str] | None = None, *, margins: bool = True) -> pd.DataFrame:
    """The unsuppressed indicator table of DATASET (or prepared :class:`Frames`)."""
    params = params or Params()
    frames = dataset if isinstance(dataset, Frames) else load_frames(dataset, params.as_at)
    return compute(frames, select(ids), by, params, margins=margins)


def describe_definition(d: Definition) -> dict[str, object]:
    """A definition as JSON-ready values (indicators.json, the docs and the report)."""
    out = {k: v for k, v in asdict(d).items() if k != "units"}
    out["source"] = {"section": d.source.section, "quote": d.source.quote}
    out["parameters"] = list(d.parameters)
    return out


def _write_text(path: Path, text: str, encoding: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding=encoding, newline="")
    os.replace(tmp, path)


def _write_table(frame: pd.DataFrame, out_dir: Path, stem: str) -> list[str]:
    _write_text(out_dir / f"{stem}.csv", frame.to_csv(index=False, lineterminator="\r\n"), "utf-8-sig")
    tmp = out_dir / f"{stem}.parquet.tmp"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
    os.replace(tmp, out_dir / f"{stem}.parquet")
    return [f"{stem}.csv", f"{stem}.parquet"]


def write_indicators(dataset: str | Path, out_dir: str | Path, by: list[str], params: Params | None = None,
                     ids: list[str] | None = None, *, disclosure: Disclosure | None = None,
                     unsuppressed: bool = False, margins: bool = True) -> dict[str, Any]:
    """Compute and write the indicators of DATASET under OUT (see module docstring); returns the
    content of indicators.json."""
    params = params or Params()
    disclosure = disclosure or Disclosure()
    frames = load_frames(dataset, params.as_at)
    definitions = select(ids)
    raw = compute(frames, definitions, by, params, margins=margins)
    published = publish(raw, definitions, disclosure)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = _write_table(published, out_dir, "indicators")
    for stale in (f"{UNSUPPRESSED_STEM}.csv", f"{UNSUPPRESSED_STEM}.parquet"):
        if not unsuppressed and (out_dir / stale).exists():
            (out_dir / stale).unlink()  # left by an earlier run: never leave one lying beside a new table
    if unsuppressed:
        files += _write_table(raw, out_dir, UNSUPPRESSED_STEM)
    meta: dict[str, Any] = {
        "dataset": str(dataset), "by": by, "as_at": frames.as_at.isoformat(),
        "data_as_at": frames.data_as_at.isoformat() if frames.data_as_at else None,
        "parameters": params.describe(), "disclosure": disclosure.describe(),
        "unsuppressed_written": unsuppressed, "rows": len(published),
        "suppressed_rows": int(published["suppressed"].sum()), "files": [*files, "indicators.json"],
        "definitions": [describe_definition(d) for d in definitions],
    }
    _write_text(out_dir / "indicators.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return meta
