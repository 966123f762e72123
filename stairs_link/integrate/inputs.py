"""Loading the inputs of `build`: staged canonical tables from several directories and the
linkage output (clusters, pairs), with the checks that every staged record has one cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link.errors import IntegrationError
from stairs_link.schema import TABLES, arrow_schema, read_table
from stairs_link.schema.extracts import FILE_COLUMN, Superseded, extract_order, supersede
from stairs_link.schema.linked import CLUSTER_ID, check_cluster_columns
from stairs_link.schema.outputs import verify_dataset, verify_linked

#: canonical event tables and the date column that orders them within a child.
EVENT_TABLES: dict[str, str] = {
    "episode": "admission_date",
    "formulation": "formulation_date",
    "incident": "incident_at",
    "education": "period_start",
    "measure": "measure_date",
}

PROVENANCE = ["source_file", "source_row", "extracted_at", "mapping_id"]


@dataclass
class StagedData:
    """All staged tables combined across directories (canonical columns only)."""

    tables: dict[str, pd.DataFrame]
    #: rows dropped because a later extract holds the same record or event, per table.
    duplicates_dropped: dict[str, int] = field(default_factory=dict)
    #: what was superseded or repeated, per table and file
    superseded: Superseded = field(default_factory=Superseded)
    #: the staged person files from oldest to latest extract
    extract_order: list[dict] = field(default_factory=list)
    #: "site_id:source_system" -> its extracts and data period (see :func:`source_periods`)
    sources: dict[str, dict] = field(default_factory=dict)


def _empty_frame(table: str) -> pd.DataFrame:
    return pa.Table.from_batches([], schema=arrow_schema(table)).to_pandas()


#: a dataset's copy of its person records (what `link --previous` and `build --previous` read)
PERSON_RECORDS = "person_records.parquet"

#: the dataset file holding each event table (same names as integrate.build.EVENT_OUTPUTS)
DATASET_EVENT_FILES = {"episode": "episodes.parquet", "formulation": "formulations.parquet",
                       "incident": "incidents.parquet", "education": "education.parquet",
                       "measure": "measures.parquet"}


def previous_frames(dataset: Path) -> dict[str, pd.DataFrame] | None:
    """A previous dataset's person records and event rows as one more (older) extract:
    canonical columns with ``_staged_file``/``_staged_row``. None for a dataset written
    before person records were kept (its ids can still be continued, its years not carried)."""
    dataset = Path(dataset)
    if not (dataset / PERSON_RECORDS).exists():
        return None
    verify_dataset(dataset)
    out: dict[str, pd.DataFrame] = {}
    for name, file in [("person", PERSON_RECORDS), *DATASET_EVENT_FILES.items()]:
        path = dataset / file
        if not path.exists():
            raise IntegrationError(f"previous dataset has no {file}", reason="missing_file", file=str(path),
                                   fix="pass the whole DATASET directory written by `stairs-link build`")
        columns = [c.name for c in TABLES[name] if c.name in pq.read_schema(path).names]
        frame = pq.read_table(path, columns=columns).to_pandas()
        for column in (c.name for c in TABLES[name] if c.name not in columns):
            frame[column] = None
        frame = frame[[c.name for c in TABLES[name]]].copy()
        frame["_staged_file"] = str(path)
        frame["_staged_row"] = range(len(frame))
        out[name] = frame
    return out


def load_staged(staged_dirs: list[Path], earlier: dict[str, pd.DataFrame] | None = None) -> StagedData:
    """Read every canonical table found in ``staged_dirs`` and concatenate per table.

    Several extracts of one system may be staged (e.g. last year's and this year's export):
    the latest version of each record and event is kept (:mod:`stairs_link.schema.extracts`)
    and what was dropped is returned, never hidden. ``earlier``: the rows of a previous
    dataset (:func:`previous_frames`), taken as given before every staged directory.
    """
    if not staged_dirs:
        raise IntegrationError(
            "no staged directories given",
            reason="no_staged",
            fix="pass the directories written by `stairs-link adapt` after the LINKED directory",
        )
    frames: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    for name, frame in (earlier or {}).items():
        frames[name].append(frame)
    for directory in staged_dirs:
        directory = Path(directory)
        if not directory.is_dir():
            raise IntegrationError(
                "staged directory not found",
                reason="missing_staged",
                file=str(directory),
                fix="pass directories written by `stairs-link adapt`",
            )
        if not (directory / "person.parquet").exists():
            raise IntegrationError(
                "staged directory has no person.parquet",
                reason="missing_person",
                file=str(directory),
                fix="every staged directory needs the person table its events refer to; re-run `stairs-link adapt`",
            )
        for name in TABLES:
            path = directory / f"{name}.parquet"
            if path.exists():
                frame = read_table(path, name)
                keep = [c.name for c in TABLES[name]]
                frame = frame[keep].copy()
                frame["_staged_file"] = str(path)
                frame["_staged_row"] = range(len(frame))
                frames[name].append(frame)
    return combine_staged(frames)


def combine_staged(frames: dict[str, list[pd.DataFrame]]) -> StagedData:
    """Concatenate each table's frames (oldest extract first when order decides) and keep
    the latest version of every record and event."""
    tables: dict[str, pd.DataFrame] = {}
    dropped: dict[str, int] = {}
    stats = Superseded()
    order: list[dict] = []
    all_versions = empty_staged("person")
    for name, parts in frames.items():
        if parts:
            parts = [p for p in parts if len(p)] or parts[:1]
            frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        else:
            frame = empty_staged(name)
        if name == "person":
            order = extract_order(frame)
            all_versions = frame
        tables[name], dropped[name] = dedupe_staged(name, frame, stats)
    return StagedData(tables=tables, duplicates_dropped=dropped, superseded=stats, extract_order=order,
                      sources=source_periods(all_versions, tables))


def source_periods(person: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> dict[str, dict]:
    """Per source ("site_id:source_system"): how many extracts its records came in (distinct
    ``extracted_at``, every version), the first and last extraction date, and its data period:
    from the earliest event date it records (any event table) to the last extraction date."""
    if not len(person):
        return {}
    source = person["site_id"].astype(str) + ":" + person["source_system"].astype(str)
    stamps = person["extracted_at"].groupby(source)
    firsts = []
    for name, column in EVENT_TABLES.items():
        frame = tables.get(name)
        if frame is not None and len(frame):
            by = frame["site_id"].astype(str) + ":" + frame["source_system"].astype(str)
            firsts.append(pd.to_datetime(frame[column]).groupby(by).min())
    first_admission = pd.concat(firsts).groupby(level=0).min().dt.date if firsts else pd.Series(dtype=object)
    out: dict[str, dict] = {}
    for name, values in stamps:
        known = values.dropna().astype(str)
        last = known.max() if len(known) else None
        start = first_admission.get(name)
        out[str(name)] = {"extracts": int(known.nunique()), "first_extracted_at": known.min() if len(known) else None,
                          "last_extracted_at": last,
                          "data_period": [None if start is None or pd.isna(start) else str(start),
                                          None if last is None else last[:10]]}
    return dict(sorted(out.items()))


def empty_staged(name: str) -> pd.DataFrame:
    """An empty staged table ``name`` with the ``_staged_file``/``_staged_row`` columns."""
    frame = _empty_frame(name)
    frame["_staged_file"] = pd.Series(dtype="string")
    frame["_staged_row"] = pd.Series(dtype="int64")
    return frame


def dedupe_staged(name: str, frame: pd.DataFrame, stats: Superseded | None = None) -> tuple[pd.DataFrame, int]:
    """Keep the latest version of each record and event of table ``name`` across the extracts
    staged (see :mod:`stairs_link.schema.extracts`); returns the kept rows and how many were
    dropped (details in ``stats`` when given).

    ``frame`` holds the rows in staged-directory order (then row order), with ``_staged_file``.
    Every version of a row shares its record_key, so this can run on any subset of children
    that keeps all rows of each record (the Spark engine runs it per bucket).
    """
    before = len(frame)
    stats = stats if stats is not None else Superseded()
    if name == "person":
        # the same record twice inside one file is the source's own duplicate: the last row wins
        frame = frame.drop_duplicates([FILE_COLUMN, "record_key"], keep="last")
    frame = supersede(name, frame, stats)
    return frame.reset_index(drop=True), before - len(frame)


#: how build treats event rows of no person (build.json ``orphan_events.rule``)
ORPHAN_RULE = ("an event row whose record_key has no person row in the staged directories (after the latest "
               "extract of each record and event is kept) belongs to no child: it is left out of the dataset and "
               "counted here per table and source (site_id:source_system); the rest of the evaluation is built")


def orphan_mask(staged: StagedData, name: str) -> pd.Series:
    """Rows of event table ``name`` whose record_key has no staged person row."""
    return ~staged.tables[name]["record_key"].isin(staged.tables["person"]["record_key"])


def count_orphans(frame: pd.DataFrame) -> dict[str, int]:
    """Orphan event rows per source ("site_id:source_system"), sorted (both engines)."""
    if not len(frame):
        return {}
    source = frame["site_id"].astype(str) + ":" + frame["source_system"].astype(str)
    return {str(k): int(v) for k, v in sorted(source.value_counts().items())}


def drop_orphan_events(staged: StagedData) -> dict[str, dict[str, int]]:
    """Leave out of ``staged`` every event row whose person row is not staged (see
    ORPHAN_RULE) and return how many per table and source. ``adapt`` already rejects such
    rows as ``orphan_event`` within one system; these are what reaches build anyway (a
    staged folder from elsewhere, or edited by hand). Reported, never a reason to refuse."""
    counts: dict[str, dict[str, int]] = {}
    for name in EVENT_TABLES:
        bad = orphan_mask(staged, name)
        if bad.any():
            frame = staged.tables[name]
            counts[name] = count_orphans(frame[bad])
            staged.tables[name] = frame[~bad].reset_index(drop=True)
    return counts


def orphan_summary(counts: dict[str, dict[str, int]]) -> dict:
    """build.json's ``orphan_events``: the rule, the total, and rows per table and source."""
    return {"rule": ORPHAN_RULE, "total": sum(n for by in counts.values() for n in by.values()),
            "tables": {t: dict(sorted(by.items())) for t, by in sorted(counts.items()) if by}}


def unclustered_error(count: int, file: str, row: int, linked_dir: str | Path) -> IntegrationError:
    """Staged person records in no cluster (``row``: 0-based row of the first in ``file``)."""
    return IntegrationError(
        f"{count} staged person record(s) are not in any cluster of {_clusters_path(linked_dir)}",
        reason="unclustered_record", file=file, row=row + 1, column="record_key",
        fix="run `stairs-link link` on the same staged directories you pass to `build`",
    )


def unstaged_error(count: int, row: int, linked_dir: str | Path) -> IntegrationError:
    """Clustered records not staged (``row``: 0-based row of the first in clusters.parquet)."""
    return IntegrationError(
        f"{count} clustered record(s) are not in the staged directories given",
        reason="unstaged_record", file=_clusters_path(linked_dir), row=row + 1, column="record_key",
        fix="pass `build` every staged directory that was passed to `stairs-link link`",
    )


def null_cluster_error(count: int, row: int, column: str, path: str) -> IntegrationError:
    """Rows of clusters.parquet with an empty record_key or cluster_id (``row``: 0-based)."""
    return IntegrationError(
        f"{count} row(s) of clusters.parquet have an empty record_key or cluster_id",
        reason="null_cluster", file=path, row=row + 1, column=column,
        fix="re-create it with `stairs-link link`",
    )


def duplicate_record_error(count: int, row: int, path: str) -> IntegrationError:
    """Records in more than one row of clusters.parquet (``count`` extra rows; ``row``: 0-based)."""
    return IntegrationError(
        f"{count} record(s) appear in more than one row of clusters.parquet;"
        " a record must belong to exactly one child",
        reason="duplicate_record", file=path, row=row + 1, column="record_key",
        fix="re-create it with `stairs-link link` (each record must be in exactly one cluster)",
    )


def _clusters_path(linked_dir: str | Path) -> str:
    text = str(linked_dir)
    return f"{text.rstrip('/')}/clusters.parquet" if "://" in text else str(Path(linked_dir) / "clusters.parquet")


def read_record_map(path: Path, *, missing: str, fix: str, rebuild: str,
                    id_column: str = "child_id") -> pd.DataFrame:
    """Read a Parquet file of (record_key, ``id_column``, ...) rows, with clear errors when the
    file or one of the two columns is missing."""
    if not path.exists():
        raise IntegrationError(missing, reason="missing_file", file=str(path), fix=fix)
    frame = pq.read_table(path).to_pandas()
    if id_column == CLUSTER_ID:
        check_cluster_columns(frame.columns, str(path), IntegrationError)
    for column in ("record_key", id_column):
        if column not in frame.columns:
            raise IntegrationError(f"required column missing from {path.name}", reason="missing_column",
                                   file=str(path), column=column, fix=rebuild)
    return frame


def load_clusters(linked_dir: Path) -> pd.DataFrame:
    """Read LINKED/clusters.parquet: one row per record_key with the linkage's cluster label
    (LINKED refused unless a finished `stairs-link link` wrote it whole: schema/outputs.py)."""
    path = Path(linked_dir) / "clusters.parquet"
    if path.exists():
        verify_linked(linked_dir)
    frame = read_record_map(path, missing="clusters.parquet not found in the linked directory",
                            fix="run `stairs-link link STAGED... --out LINKED` first and pass LINKED",
                            rebuild="re-create it with `stairs-link link`", id_column=CLUSTER_ID)
    null = frame["record_key"].isna() | frame[CLUSTER_ID].isna()
    if null.any():
        row = int(null.to_numpy().nonzero()[0][0])
        column = "record_key" if frame["record_key"].isna().iloc[row] else CLUSTER_ID
        raise null_cluster_error(int(null.sum()), row, column, str(path))
    dup = frame["record_key"].duplicated(keep=False)
    if dup.any():
        row = int(dup.to_numpy().nonzero()[0][0])
        raise duplicate_record_error(int(frame["record_key"].duplicated().sum()), row, str(path))
    frame[CLUSTER_ID] = frame[CLUSTER_ID].astype(str)
    return frame[["record_key", CLUSTER_ID]].reset_index(drop=True)


def check_clusters_cover(person: pd.DataFrame, clusters: pd.DataFrame, linked_dir: Path) -> None:
    """Every staged person record is in exactly one cluster, and every clustered record is staged."""
    bad = ~person["record_key"].isin(clusters["record_key"])
    if bad.any():
        first = person[bad].iloc[0]
        raise unclustered_error(int(bad.sum()), first["_staged_file"], int(first["_staged_row"]), linked_dir)
    extra = ~clusters["record_key"].isin(person["record_key"])
    if extra.any():
        raise unstaged_error(int(extra.sum()), int(extra.to_numpy().nonzero()[0][0]), linked_dir)


def load_pairs(linked_dir: Path) -> pd.DataFrame | None:
    """The linked pairs of LINKED/pairs.parquet (record_key_l, record_key_r, match_weight,
    match_probability), or None when the file is absent."""
    path = Path(linked_dir) / "pairs.parquet"
    if not path.exists():
        return None
    wanted = ["record_key_l", "record_key_r", "match_weight", "match_probability"]
    schema = pq.read_schema(path)
    missing = [c for c in wanted if c not in schema.names]
    if missing:
        raise IntegrationError(
            "required column missing from pairs.parquet",
            reason="missing_column",
            file=str(path),
            column=missing[0],
            fix="re-create it with `stairs-link link`",
        )
    # when the linkage marks which pairs it linked, only those are the cluster's edges
    if "linked" in schema.names:
        frame = pq.read_table(path, columns=[*wanted, "linked"]).to_pandas()
        return frame[frame["linked"].fillna(False).astype(bool)][wanted].reset_index(drop=True)
    return pq.read_table(path, columns=wanted).to_pandas()
