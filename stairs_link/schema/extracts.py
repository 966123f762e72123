"""Several extracts of one system: the latest version of each record and event wins.

A source record is identified across extracts by its ``record_key`` (site, system, local id).
Extracts are ordered by ``extracted_at`` (an extract without one counts as older than any
dated one), then by the order the staged directories were given. For each record the person
row of the latest extract is kept; for each *event* the rows of the latest extract holding it
are kept and earlier versions are superseded. An event is identified by its table's key:

* ``episode``: ``record_key`` + ``episode_id`` (the system's own stay id); when the id was
  generated from the export row by ``adapt`` (``<file>#<row>``, not stable across extracts) the
  admission date stands for it; then, whatever the ids, an episode of the same record with the
  same admission date in a later extract supersedes it (a stay open in one extract and closed
  in the next is one stay);
* ``formulation``: ``record_key``, ``formulation_date``, ``formulation_type``;
* ``incident``: ``record_key``, ``incident_at``, ``incident_kind``;
* ``education``: ``record_key``, ``period_start``;
* ``measure``: ``record_key``, ``measure_date``, ``instrument``.

An event missing from a later extract is kept (a year-only extract leaves out earlier years).
Rows with the same key inside the winning extract are all kept (they are the source's own rows).
The same record or event in two extracts with the same ``extracted_at`` but different contents
is an error naming both files. Layer: used by ``linkage`` (person rows) and ``integrate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stairs_link.errors import SchemaError
from stairs_link.schema.tables import TABLES

#: provenance columns: not part of a row's content when comparing versions.
PROVENANCE = ("source_file", "source_row", "extracted_at", "mapping_id")

#: columns (besides record_key) that identify an event across extracts, per table.
EVENT_KEYS: dict[str, tuple[str, ...]] = {
    "episode": ("episode_id",),
    "formulation": ("formulation_date", "formulation_type"),
    "incident": ("incident_at", "incident_kind"),
    "education": ("period_start",),
    "measure": ("measure_date", "instrument"),
}

#: bookkeeping columns the staged frames carry (set by the loaders).
FILE_COLUMN = "_staged_file"
ROW_COLUMN = "_staged_row"


@dataclass
class Superseded:
    """What supersession dropped, per table: ``superseded`` (an earlier, different version of
    a record or event), ``repeated`` (an identical copy from another extract)."""

    superseded: dict[str, int] = field(default_factory=dict)
    repeated: dict[str, int] = field(default_factory=dict)
    by_file: dict[str, dict[str, int]] = field(default_factory=dict)
    #: record_keys whose person row was replaced by a different version
    changed_records: set[str] = field(default_factory=set)

    def add(self, table: str, superseded: int, repeated: int, files: pd.Series) -> None:
        self.superseded[table] = self.superseded.get(table, 0) + superseded
        self.repeated[table] = self.repeated.get(table, 0) + repeated
        for name, count in files.value_counts().sort_index().items():
            per = self.by_file.setdefault(str(name), {})
            per[table] = per.get(table, 0) + int(count)

    def total(self) -> int:
        return sum(self.superseded.values()) + sum(self.repeated.values())

    def to_dict(self) -> dict:
        return {"superseded": dict(sorted(self.superseded.items())), "repeated": dict(sorted(self.repeated.items())),
                "dropped_by_file": {k: dict(sorted(v.items())) for k, v in sorted(self.by_file.items())}}


def content_columns(table: str, frame: pd.DataFrame) -> list[str]:
    """The canonical columns of ``table`` present in ``frame`` that are not provenance."""
    return [c.name for c in TABLES[table] if c.name not in PROVENANCE and c.name in frame.columns]


def row_hash(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """A 64-bit hash of each row's values in ``columns`` (equal rows, equal hashes)."""
    if not len(frame):
        return np.zeros(0, dtype=np.uint64)
    return pd.util.hash_pandas_object(frame[columns].astype(object), index=False).to_numpy()


def extract_rank(frame: pd.DataFrame, file_order: dict[str, int] | None = None) -> np.ndarray:
    """Rank of each row's extract: later ``extracted_at`` first, then later in the order given
    (``file_order``: staged file -> position; default, order of first appearance)."""
    files = frame[FILE_COLUMN]
    order = file_order or {f: i for i, f in enumerate(files.unique())}
    stamp = pd.to_datetime(frame["extracted_at"], errors="coerce", format="ISO8601", utc=True)
    # NaT (no extracted_at) becomes the smallest int64: older than any date
    ns = stamp.dt.tz_convert(None).to_numpy().astype("datetime64[ns]").astype(np.int64)
    position = files.map(order).to_numpy(dtype=np.int64)
    keys = pd.DataFrame({"s": ns, "p": position})
    return keys.groupby(["s", "p"], sort=True).ngroup().to_numpy()


def _generated_episode_ids(frame: pd.DataFrame) -> np.ndarray:
    """True where ``episode_id`` is adapt's row-generated ``<source_file>#<source_row>``."""
    if not len(frame):
        return np.zeros(0, dtype=bool)
    expected = frame["source_file"].astype(str) + "#" + frame["source_row"].astype("Int64").astype(str)
    return (frame["episode_id"].astype(str) == expected).to_numpy()


def event_key(table: str, frame: pd.DataFrame) -> pd.Series:
    """The identity of each row of ``table`` across extracts (see module docstring), as text."""
    parts = [frame["record_key"].astype(str)]
    if table == "person":
        return parts[0]
    if table == "episode":
        own = frame["episode_id"].astype(str)
        generated = _generated_episode_ids(frame)
        admitted = "adm:" + frame["admission_date"].astype(str)
        parts.append(pd.Series(np.where(generated, admitted, "id:" + own), index=frame.index))
    else:
        parts += [frame[c].astype(str) for c in EVENT_KEYS[table]]
    key = parts[0]
    for p in parts[1:]:
        key = key + "\x1f" + p
    return key


def _supersede_on(table: str, frame: pd.DataFrame, key: pd.Series, rank: np.ndarray, stats: Superseded
                  ) -> pd.DataFrame:
    if not len(frame):
        return frame
    content = content_columns(table, frame)
    hashes = row_hash(frame, content)
    work = pd.DataFrame({"key": key.to_numpy(), "rank": rank, "hash": hashes,
                         "file": frame[FILE_COLUMN].to_numpy(), "stamp": frame["extracted_at"].to_numpy()})
    best = work.groupby("key", sort=False)["rank"].transform("max").to_numpy()
    keep = rank == best
    _check_conflicts(table, work, frame)
    dropped = work[~keep]
    if len(dropped):
        # a dropped row is a repeat when the kept version of its key has a row with its content
        kept = work[keep]
        kept_pairs = pd.MultiIndex.from_arrays([kept["key"], kept["hash"]])
        repeat = pd.MultiIndex.from_arrays([dropped["key"], dropped["hash"]]).isin(kept_pairs)
        stats.add(table, int((~repeat).sum()), int(repeat.sum()), dropped["file"])
        if table == "person":
            stats.changed_records.update(dropped.loc[~repeat, "key"].astype(str))
    return frame[keep]


def _check_conflicts(table: str, work: pd.DataFrame, frame: pd.DataFrame) -> None:
    """The same key in two files with the same (non-empty) extracted_at must hold the same rows."""
    dated = work[work["stamp"].notna()]
    if not len(dated):
        return
    files = dated.groupby(["key", "stamp"], sort=False)["file"].transform("nunique")
    shared = dated[files.to_numpy() > 1]
    if not len(shared):
        return
    # order-independent digest of each file's rows for the key
    digest = shared.groupby(["key", "stamp", "file"], sort=False)["hash"].sum()  # uint64, wraps
    spread = digest.groupby(level=["key", "stamp"], sort=False).nunique()
    bad = spread[spread > 1]
    if not len(bad):
        return
    key, stamp = bad.index[0]
    files = sorted(shared.loc[(shared["key"] == key).to_numpy() & (shared["stamp"] == stamp).to_numpy(), "file"].unique())
    row = frame.loc[(work["key"] == key).to_numpy() & (work["file"] == files[1]).to_numpy()]
    record = str(row["record_key"].iloc[0])
    what = "record" if table == "person" else f"{table} row"
    raise SchemaError(
        f"conflicting extracts: the same {what} of {record} has different contents in {files[0]} and "
        f"{files[1]}, both extracted_at {stamp} ({len(bad)} such {'records' if table == 'person' else 'events'})",
        reason="conflicting_extracts", file=files[1], row=int(row[ROW_COLUMN].iloc[0]) + 1 if ROW_COLUMN in row else None,
        column="extracted_at",
        fix="stage each extract of a system once, with its own extraction date (`stairs-link adapt "
            "--extracted-at`); if these are two different exports, one of them carries the wrong date",
    )


def supersede(table: str, frame: pd.DataFrame, stats: Superseded, file_order: dict[str, int] | None = None
              ) -> pd.DataFrame:
    """Keep the latest version of each record (``person``) or event of ``frame`` (rows of
    ``table`` from one or more extracts, with ``_staged_file``); counts go to ``stats``.
    Rows keep their order. Runs on any subset holding all rows of each record."""
    if not len(frame) or frame[FILE_COLUMN].nunique() < 2:
        return frame
    rank = extract_rank(frame, file_order)
    kept = _supersede_on(table, frame, event_key(table, frame), rank, stats)
    if table == "episode" and len(kept):
        # whatever the ids: the same record's stay admitted on the same day is one stay
        by_day = kept["record_key"].astype(str) + "\x1f" + kept["admission_date"].astype(str)
        kept = _supersede_on(table, kept, by_day, extract_rank(kept, file_order), stats)
    return kept


def extract_order(frame: pd.DataFrame) -> list[dict]:
    """The staged files of ``frame`` (person rows) from oldest to latest extract, for reports:
    file, extracted_at (latest in the file) and position in the order given."""
    if not len(frame):
        return []
    order = {f: i for i, f in enumerate(frame[FILE_COLUMN].unique())}
    info = frame.groupby(FILE_COLUMN, sort=False)["extracted_at"].max()
    rank = extract_rank(frame, order)
    file_rank = pd.Series(rank).groupby(frame[FILE_COLUMN].to_numpy()).max()
    rows = [{"file": str(f), "extracted_at": (None if pd.isna(info[f]) else str(info[f])),
             "position_given": order[f] + 1} for f in order]
    return sorted(rows, key=lambda r: int(file_rank[r["file"]]))
