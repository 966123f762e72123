"""`build`: one record per child from staged tables and the linkage's clusters.

Writes DATASET/children.parquet (one row per child_id, nested events), the flat event tables
with child_id, stays.parquet, transitions.parquet, id_history.parquet, record_map.parquet
(record_key -> child_id, what `--previous` reads), copies of the linkage outputs the report
needs (linkage/), and build.json (counts and the rules used).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link import progress as progress_report
from stairs_link.errors import IntegrationError
from stairs_link.integrate.attribution import (
    COVERAGE_COLUMNS,
    EVENT_DATES,
    attribute_to_stays,
    count_rules,
    observed_until,
    stay_coverage,
)
from stairs_link.integrate.ids import assign_child_ids
from stairs_link.integrate.inputs import (
    EVENT_TABLES,
    PERSON_RECORDS,
    StagedData,
    check_clusters_cover,
    drop_orphan_events,
    load_clusters,
    load_pairs,
    load_staged,
    orphan_summary,
    previous_frames,
    read_record_map,
)
from stairs_link.integrate.nested import nest
from stairs_link.integrate.survivorship import (
    FIELDS,
    OPTIONAL_FIELDS,
    identifiers_seen,
    resolve_demographics,
)
from stairs_link.integrate.transitions import TransitionRules, derive_transitions, merge_stays
from stairs_link.schema import arrow_schema, write_table
from stairs_link.schema.outputs import OutputUnit, output_unit, verify_dataset

#: flat output file and nested column name for each canonical event table.
EVENT_OUTPUTS = {
    "episode": ("episodes.parquet", "episodes"),
    "formulation": ("formulations.parquet", "formulations"),
    "incident": ("incidents.parquet", "incidents"),
    "education": ("education.parquet", "education"),
    "measure": ("measures.parquet", "measures"),
}

SOURCE_RECORD_COLUMNS = ["record_key", "site_id", "setting_type", "system_kind", "source_system",
                         "local_id", "extracted_at", "source_file", "source_row", "mapping_id"]

#: the two columns every flat event table ends with (integrate/attribution.py)
STAY_FIELDS = [pa.field("stay_id", pa.string()), pa.field("stay_rule", pa.string(), nullable=False)]

#: linkage outputs copied into DATASET/linkage/ so the report can show linkage quality alone.
LINKAGE_FILES = ["pairs.parquet", "clusters.parquet", "summary.json", "review.csv", "model.json"]

#: every file `build` may write into DATASET (one unit, recorded in complete.json): an earlier
#: build's copy of one this build does not write is deleted when the new one is published
DATASET_FILES = (*(name for name, _ in EVENT_OUTPUTS.values()), "children.parquet", "stays.parquet",
                 "transitions.parquet", "id_history.parquet", "record_map.parquet", PERSON_RECORDS,
                 "build.json", *(f"linkage/{name}" for name in LINKAGE_FILES))


@dataclass
class BuildResult:
    """What `build` wrote and how much."""

    out_dir: Path
    n_children: int
    n_records: int
    n_events: dict[str, int]
    n_stays: int
    n_transitions: int
    id_events: dict[str, int]
    duplicates_dropped: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    #: several extracts combined: their order, what was superseded or repeated, and the
    #: records carried from the previous dataset (docs/dataset.md, *Year after year*)
    extracts_combined: dict = field(default_factory=dict)
    #: event rows of no staged person left out: rule, total, rows per table and source
    #: (integrate.inputs.orphan_summary)
    orphan_events: dict = field(default_factory=lambda: orphan_summary({}))


def build(
    linked_dir: str | Path,
    staged_dirs: list[str | Path],
    out_dir: str | Path,
    *,
    previous: str | Path | None = None,
    readmission_days: int = 90,
    formulation_days: int = 28,
    transfer_days: int = 3,
    merge_gap_days: int = 1,
    young_adult_age: float = 17.75,
) -> BuildResult:
    """Build the integrated dataset (see module docstring and docs/dataset.md)."""
    linked_dir = Path(linked_dir)
    out_dir = Path(out_dir)
    rules = TransitionRules(merge_gap_days=merge_gap_days, transfer_days=transfer_days,
                            readmission_days=readmission_days, formulation_days=formulation_days,
                            young_adult_age=young_adult_age)
    prev_map, prev_history = _load_previous(previous) if previous is not None else (None, None)
    earlier = previous_frames(Path(previous)) if previous is not None else None
    staged = load_staged([Path(d) for d in staged_dirs], earlier=earlier)
    orphans = drop_orphan_events(staged)  # left out and counted (build.json orphan_events), never refused
    clusters = load_clusters(linked_dir)
    person = staged.tables["person"]
    if person.empty:  # a dataset with no child in it is no evaluation input (the Spark build says the same)
        raise IntegrationError("the staged directories hold no person records", reason="no_records",
                               file=", ".join(str(d) for d in staged_dirs),
                               fix="check the adapt manifests (rows staged per table) and pass the directories "
                                   "`stairs-link adapt` wrote for exports that hold children")
    carried = None
    if earlier is not None and prev_map is not None and previous is not None:
        clusters, carried = carry_previous_records(clusters, person, prev_map, str(Path(previous) / PERSON_RECORDS))
    check_clusters_cover(person, clusters, linked_dir)

    record_map, history = assign_child_ids(clusters, prev_map, prev_history,
                                           changed=staged.superseded.changed_records)
    key_to_child = record_map.set_index("record_key")["child_id"]
    # every staged record gets exactly one child (checked above; asserted here as an invariant)
    person = person.assign(child_id=person["record_key"].map(key_to_child))
    assert person["child_id"].notna().all() and not person["record_key"].duplicated().any()

    tables = assemble_children(person, {t: staged.tables[t] for t in EVENT_TABLES}, load_pairs(linked_dir), rules)
    # everything below is one unit: staged inside DATASET, published with complete.json last
    with output_unit(out_dir, "build", owned=DATASET_FILES) as unit:
        files = write_dataset(unit, tables, history, record_map, person, linked_dir)
        return _finish(unit, out_dir, tables, person, history, staged, files, rules, previous, carried, orphans)

def write_dataset(unit: OutputUnit, tables: ChildTables, history: pd.DataFrame, record_map: pd.DataFrame,
                  person: pd.DataFrame, linked_dir: Path) -> list[str]:
    """Write the dataset's tables and the copies of the linkage files into ``unit``."""
    files: list[str] = []
    outputs = tables.outputs()
    for name, data in progress_report.track(outputs.items(), "build: writing tables", total=len(outputs)):
        pq.write_table(data, unit.path(name), compression="zstd")
        files.append(name)

    pq.write_table(_history_arrow(history), unit.path("id_history.parquet"), compression="zstd")
    pq.write_table(pa.Table.from_pandas(record_map.sort_values("record_key"), preserve_index=False),
                   unit.path("record_map.parquet"), compression="zstd")
    # the person records themselves, in the staged form (plain or pseudonymised): next year's
    # `link --previous` scores new records against them, `build --previous` carries them
    canonical = [c for c in arrow_schema("person").names if c in person.columns]
    write_table("person", person.sort_values("record_key", kind="stable")[canonical], unit.path(PERSON_RECORDS))
    files += ["id_history.parquet", "record_map.parquet", PERSON_RECORDS]
    for name in LINKAGE_FILES:  # an earlier build's copy of a file LINKED does not hold is removed at publishing
        if (linked_dir / name).exists():
            shutil.copyfile(linked_dir / name, unit.path(f"linkage/{name}"))
            files.append(f"linkage/{name}")
    return files


def _finish(unit: OutputUnit, out_dir: Path, tables: ChildTables, person: pd.DataFrame, history: pd.DataFrame,
            staged: StagedData, files: list[str], rules: TransitionRules, previous: str | Path | None,
            carried: pd.DataFrame | None, orphans: dict[str, dict[str, int]]) -> BuildResult:
    """build.json (counts and rules) into ``unit``; returns what was written."""
    this_run = history[history["run"] == history["run"].max()]
    result = BuildResult(
        out_dir=out_dir,
        n_children=tables.children.num_rows,
        n_records=len(person),
        n_events={t: data.num_rows for t, data in tables.events.items()},
        n_stays=tables.stays.num_rows,
        n_transitions=tables.transitions.num_rows,
        id_events=count_events(this_run["event"]),
        duplicates_dropped=staged.duplicates_dropped,
        files=files,
        extracts_combined=extracts_summary(staged.extract_order, staged.superseded.to_dict(), previous, carried,
                                           staged.sources),
        orphan_events=orphan_summary(orphans),
    )
    summary = build_summary(result, rules, tables.transition_kinds, tables.stay_rules, tables.extracts)
    unit.path("build.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return result


def extracts_summary(order: list[dict], superseded: dict, previous: str | Path | None,
                     carried: pd.DataFrame | None, sources: dict[str, dict] | None = None) -> dict:
    """build.json's ``extracts_combined``: the staged person files from oldest to latest extract
    (the rule: ``extracted_at``, then the order given), what was superseded or repeated, the
    previous dataset and how many of its records were carried without a new version."""
    return {"rule": "latest extracted_at wins; equal or missing dates: the later in the order given "
                    "(a previous dataset comes before every staged directory)",
            "order": order, **superseded,
            "previous_dataset": None if previous is None else str(previous),
            "previous_years_carried": carried is not None,
            "records_carried": None if carried is None else int(len(carried)),
            "sources": sources or {}}


def carry_previous_records(clusters: pd.DataFrame, person: pd.DataFrame, prev_map: pd.DataFrame,
                           previous_file: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clusters for the previous dataset's records that LINKED does not hold (linked without
    ``--previous``, e.g. only this year's extracts): each joins the cluster that most of its
    previous child's other records are in now, else stays with its previous child's other such
    records. Returns (clusters with them, the carried rows)."""
    from_previous = person["_staged_file"] == previous_file
    missing = person.loc[from_previous & ~person["record_key"].isin(clusters["record_key"]), ["record_key"]]
    if missing.empty:
        return clusters, missing.assign(cluster_id=pd.Series(dtype=object))
    old = prev_map.set_index("record_key")["child_id"]
    missing = missing.assign(old=missing["record_key"].map(old).to_numpy())
    now = clusters.assign(old=clusters["record_key"].map(old)).dropna(subset=["old"])
    where = (now.groupby(["old", "cluster_id"]).size().rename("n").reset_index()
             .sort_values(["old", "n", "cluster_id"], ascending=[True, False, True], kind="stable")
             .drop_duplicates("old").set_index("old")["cluster_id"])
    label = missing["old"].map(where)
    missing["cluster_id"] = label.where(label.notna(), "previous:" + missing["old"].astype(str))
    return pd.concat([clusters, missing[["record_key", "cluster_id"]]], ignore_index=True), missing


def count_events(values: pd.Series) -> dict[str, int]:
    """{value: count}, keys sorted (id events, transition kinds in build.json)."""
    return {k: int(v) for k, v in values.value_counts().sort_index().items()}


def build_summary(result: BuildResult, rules: TransitionRules, transition_kinds: dict[str, int],
                  stay_rules: dict[str, dict[str, int]] | None = None,
                  extracts: dict[str, str] | None = None) -> dict:
    """The content of build.json (both engines)."""
    return asdict(result) | {"out_dir": str(result.out_dir), "rules": asdict(rules),
                             "transition_kinds": dict(sorted(transition_kinds.items())),
                             "events_outside_stays": {t: dict(sorted(r.items())) for t, r in sorted((stay_rules or {}).items())},
                             "data_as_at": data_as_at(extracts or {})}


def extract_dates(person: pd.DataFrame) -> dict[str, str]:
    """"site_id:source_system" -> the latest ``extracted_at`` of its person records (sorted)."""
    known = person[person["extracted_at"].notna()]
    latest = known.groupby(known["site_id"].astype(str) + ":" + known["source_system"].astype(str))["extracted_at"].max()
    return {k: str(v) for k, v in sorted(latest.items())}


def merge_extract_dates(parts: list[dict[str, str]]) -> dict[str, str]:
    """The latest date per source over several :func:`extract_dates` results (Spark buckets)."""
    out: dict[str, str] = {}
    for part in parts:
        for source, when in part.items():
            out[source] = max(out.get(source, when), when)
    return dict(sorted(out.items()))


def data_as_at(extracts: dict[str, str]) -> dict:
    """build.json's "data as at": each source's extract date, the dataset's as-at date (the
    latest of them) and the censor rule for open stays (docs/dataset.md, *Data as at*)."""
    days = sorted({v[:10] for v in extracts.values()})
    return {
        "as_at": days[-1] if days else None,
        "earliest_extract": days[0] if days else None,
        "extracts": extracts,
        "open_stays": "an open stay is observed until the latest extract date of the systems whose episodes "
                      "it merges (stays.observed_until); indicators censor time in custody at the earlier of "
                      "that date and --as-at",
    }


@dataclass
class ChildTables:
    """The per-child outputs of one set of children (all of them, or one Spark bucket), each
    sorted by child_id: flat event tables, children (nested), stays, transitions."""

    events: dict[str, pa.Table]
    children: pa.Table
    stays: pa.Table
    transitions: pa.Table
    transition_kinds: dict[str, int]
    #: per event table, rows outside any stay by rule (integrate/attribution.py)
    stay_rules: dict[str, dict[str, int]] = field(default_factory=dict)
    #: "site_id:source_system" -> latest extracted_at of its records (data as at)
    extracts: dict[str, str] = field(default_factory=dict)

    def outputs(self) -> dict[str, pa.Table]:
        """Output file name -> table, in the order the embedded build writes them."""
        flat = {EVENT_OUTPUTS[t][0]: data for t, data in self.events.items()}
        return flat | {"children.parquet": self.children, "stays.parquet": self.stays,
                       "transitions.parquet": self.transitions}


def assemble_children(
    person: pd.DataFrame,
    events: dict[str, pd.DataFrame],
    pairs: pd.DataFrame | None,
    rules: TransitionRules,
    *,
    fields: list[str] | None = None,
) -> ChildTables:
    """Everything in the dataset that is computed child by child.

    ``person``: the de-duplicated person rows with ``child_id``; ``events``: the de-duplicated
    rows of each table of :data:`EVENT_TABLES` (staged order, with ``_staged_file`` and
    ``_staged_row``), all of them belonging to those children; ``pairs``: linked pairs (or None).
    Nothing here looks beyond one child, so any subset of children holding all their rows gives
    those children's rows of the whole result. ``fields``: the demographic fields to resolve
    (default: from ``person``; pass the whole dataset's choice when ``person`` is a subset).
    """
    key_to_child = person.set_index("record_key")["child_id"]
    child_ids = pd.Series(sorted(person["child_id"].unique()), dtype=object)

    # flat event tables, sorted by child then date
    frames: dict[str, pd.DataFrame] = {}
    for table, date_column in EVENT_TABLES.items():
        frame = events[table].drop(columns=["_staged_file", "_staged_row"])
        frame.insert(0, "child_id", frame["record_key"].map(key_to_child))
        assert frame["child_id"].notna().all()
        frames[table] = frame.sort_values(["child_id", date_column, "record_key"], kind="stable").reset_index(drop=True)

    # stays first, so that every event row can carry the stay it falls in (integrate/attribution.py)
    stays = merge_stays(frames["episode"], rules)
    stay_rules: dict[str, dict[str, int]] = {}
    for table, frame in frames.items():
        stay_id, rule = attribute_to_stays(frame, stays, EVENT_DATES[table])
        frame["stay_id"] = stay_id
        frame["stay_rule"] = rule
        stay_rules[table] = count_rules(rule)
    by_key = person.set_index("record_key")
    stays = pd.concat([stays, stay_coverage(stays, list(frames.values()), by_key["system_kind"])], axis=1)
    stays["observed_until"] = observed_until(stays, frames["episode"], by_key["extracted_at"])

    tables: dict[str, pa.Table] = {}
    for table, frame in frames.items():
        schema = pa.schema([pa.field("child_id", pa.string(), nullable=False), *arrow_schema(table), *STAY_FIELDS],
                           metadata={b"stairs_link.table": f"dataset.{table}".encode()})
        tables[table] = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)

    # children: resolved demographics + identifiers + link confidence + nested lists
    children = resolve_demographics(person, fields)
    children = children.merge(_link_summary(person, pairs), on="child_id", how="left")
    children = children.sort_values("child_id").reset_index(drop=True)
    assert children["child_id"].tolist() == child_ids.tolist()
    table = pa.Table.from_pandas(children, preserve_index=False)
    # resolved fields keep their canonical types even when every value is null
    person_schema = arrow_schema("person")
    for name in [*FIELDS, *(f for f in OPTIONAL_FIELDS if f in table.column_names)]:
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table.column(name).cast(person_schema.field(name).type))
    for name, column in identifiers_seen(person, child_ids).items():
        table = table.append_column(name, column)
    for event_table, (_, column) in EVENT_OUTPUTS.items():
        table = table.append_column(column, nest(child_ids, tables[event_table]))
    sources = person.sort_values(["child_id", "record_key"], kind="stable")[["child_id", *SOURCE_RECORD_COLUMNS]]
    # explicit types: a subset of children may hold only nulls in a column
    source_schema = pa.schema([pa.field("child_id", pa.string()),
                               *[pa.field(c, person_schema.field(c).type) for c in SOURCE_RECORD_COLUMNS]])
    sources = pa.Table.from_pandas(sources, schema=source_schema, preserve_index=False)
    table = table.append_column("source_records", nest(child_ids, sources))

    # transitions
    dob = children.set_index("child_id")["date_of_birth"]
    transitions = derive_transitions(stays, dob, frames["formulation"], rules)
    return ChildTables(events=tables, children=table, stays=_stays_arrow(stays),
                       transitions=_transitions_arrow(transitions),
                       transition_kinds=count_events(transitions["kind"]),
                       stay_rules=stay_rules, extracts=extract_dates(person))


def _load_previous(previous: str | Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """record_key -> child_id of a previous dataset (record_map.parquet) and its id history."""
    previous = Path(previous)
    if (previous / "record_map.parquet").exists():
        verify_dataset(previous)
    mapping = read_record_map(
        previous / "record_map.parquet",
        missing="previous dataset has no record_map.parquet",
        fix="pass the DATASET directory written by an earlier `stairs-link build` (the whole directory)",
        rebuild="re-create it with `stairs-link build`",
    )
    history_path = previous / "id_history.parquet"
    history = pq.read_table(history_path).to_pandas() if history_path.exists() else None
    return mapping[["record_key", "child_id"]], history


def _link_summary(person: pd.DataFrame, pairs: pd.DataFrame | None) -> pd.DataFrame:
    """Per child: records, systems, sites, and min/mean match probability of the edges inside
    the cluster (pairs the linkage linked, or every scored pair when it does not say which);
    null for a single-record child or when no pairs file exists."""
    per_child = person.groupby("child_id").agg(
        n_records=("record_key", "size"),
        n_sites=("site_id", "nunique"),
    )
    # a "system" is one source system at one site (the unit a staged directory holds)
    systems = person[["child_id", "site_id", "source_system"]].drop_duplicates()
    per_child["n_systems"] = systems.groupby("child_id").size()
    per_child["n_edges"] = 0
    per_child["min_match_probability"] = float("nan")
    per_child["mean_match_probability"] = float("nan")
    if pairs is not None and len(pairs):
        key = person.set_index("record_key")["child_id"]
        left = pairs["record_key_l"].map(key)
        right = pairs["record_key_r"].map(key)
        inside = pairs[left.notna() & (left == right)].assign(child_id=left)
        stats = inside.groupby("child_id")["match_probability"].agg(["size", "min", "mean"])
        per_child["n_edges"] = stats["size"].reindex(per_child.index).fillna(0)
        per_child["min_match_probability"] = stats["min"].reindex(per_child.index)
        per_child["mean_match_probability"] = stats["mean"].reindex(per_child.index)
    per_child["n_edges"] = per_child["n_edges"].astype("int32")
    for column in ("n_records", "n_systems", "n_sites"):
        per_child[column] = per_child[column].astype("int32")
    return per_child.reset_index()


def _stays_arrow(stays: pd.DataFrame) -> pa.Table:
    schema = pa.schema([
        ("child_id", pa.string()), ("stay_id", pa.string()), ("site_id", pa.string()),
        ("setting_type", pa.string()), ("admission_date", pa.date32()), ("discharge_date", pa.date32()),
        ("legal_basis", pa.string()), ("discharge_destination", pa.string()),
        ("n_episodes", pa.int32()), ("n_systems", pa.int32()),
        *[(column, pa.bool_()) for column in COVERAGE_COLUMNS.values()],
        ("observed_until", pa.date32()),
    ])
    return pa.Table.from_pandas(stays, schema=schema, preserve_index=False)


def _transitions_arrow(transitions: pd.DataFrame) -> pa.Table:
    schema = pa.schema([
        ("child_id", pa.string()), ("move_seq", pa.int32()), ("kind", pa.string()), ("move_date", pa.date32()),
        ("from_site_id", pa.string()), ("from_setting_type", pa.string()), ("from_stay_id", pa.string()),
        ("from_date", pa.date32()),
        ("to_site_id", pa.string()), ("to_setting_type", pa.string()), ("to_stay_id", pa.string()),
        ("to_date", pa.date32()),
        ("gap_days", pa.int32()), ("discharge_destination", pa.string()), ("legal_basis", pa.string()),
        ("age_at_move", pa.float64()),
        ("formulation_before", pa.bool_()), ("formulation_at_receiving_within_days", pa.bool_()),
    ])
    return pa.Table.from_pandas(transitions, schema=schema, preserve_index=False)


def _history_arrow(history: pd.DataFrame) -> pa.Table:
    schema = pa.schema([("child_id", pa.string()), ("event", pa.string()),
                        ("previous_child_ids", pa.list_(pa.string())), ("run", pa.int32()), ("reason", pa.string())])
    history = history.assign(previous_child_ids=history["previous_child_ids"].apply(list))
    return pa.Table.from_pandas(history, schema=schema, preserve_index=False)
