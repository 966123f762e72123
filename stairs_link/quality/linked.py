"""Checks after linkage, in pandas (GX validates one table at a time; these need joins).
They report in the same :class:`Outcome` format as the suites.

* linked (``LINKED/clusters.parquet``: record_key, cluster_id, cluster_size): every clustered
  record is known, cluster_size is right, no oversized clusters (critical: chaining in the
  linker), and contradictions within one child (warnings: different sex or date of birth
  across records, overlapping stays at two different sites). Contradictions are warnings
  because damaged source data produces a few even when linkage is right; each one is worth
  a look in the clerical review.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from stairs_link.errors import QualityError
from stairs_link.quality.examples import MAX_EXAMPLES, example_rows
from stairs_link.quality.prepare import Staged, read_parquet
from stairs_link.quality.results import CRITICAL, WARNING, Outcome
from stairs_link.schema.linked import CLUSTER_COLUMNS, check_cluster_columns
from stairs_link.schema.outputs import verify_linked
from stairs_link.standardise.dates import as_seconds

#: A child passes through at most a few settings with 2-4 systems each; a cluster larger than
#: this almost always means the linker chained different children together.
MAX_CLUSTER_SIZE = 20

#: Stays at two sites may overlap by this many days without being flagged: systems at two
#: settings often record one transfer a day or two apart (arrival keyed in the next day).
OVERLAP_TOLERANCE_DAYS = 2


def is_linked_dir(directory: Path) -> bool:
    return (directory / "clusters.parquet").exists()


def _concat(staged: list[Staged], table: str, columns: list[str]) -> pd.DataFrame:
    frames = [
        s.tables[table].frame[columns].assign(_staged=str(s.directory))
        for s in staged if table in s.tables
    ]
    if not frames:
        return pd.DataFrame(columns=[*columns, "_staged"])
    return pd.concat(frames, ignore_index=True)


def read_clusters(directory: Path) -> pd.DataFrame:
    """LINKED/clusters.parquet with its required columns, or a clear error."""
    path = directory / "clusters.parquet"
    if path.exists():
        verify_linked(directory)  # refused unless a finished `stairs-link link` wrote it whole
    try:
        return read_parquet(path, CLUSTER_COLUMNS, fix="re-create it with `stairs-link link`")
    except QualityError as exc:
        if exc.reason == "missing_column":  # a linked directory from before the rename?
            check_cluster_columns(pq.read_schema(path).names, str(path), QualityError)
        raise


def _outcome(check_id: str, title: str, severity: str, columns: list[str], *, source: str,
             table: str, element_count: int, bad_count: int, why: str, fix: str,
             examples: list[dict[str, Any]], observed: Any = None, unit: str = "rows") -> Outcome:
    return Outcome(
        unit=unit,
        check_id=check_id, scope="linked", source=source, table=table,
        expectation_type=f"stairs_link.{check_id.split('.', 1)[1]}", columns=columns,
        severity=severity, success=bad_count == 0, title=title, why=why, fix=fix,
        element_count=element_count, unexpected_count=bad_count,
        unexpected_percent=100.0 * bad_count / max(element_count, 1), examples=examples,
        observed_value=observed,
    )


def _child_examples(frame: pd.DataFrame, children: pd.Index, columns: list[str], *,
                    show_values: bool) -> list[dict[str, Any]]:
    """The records of the first few offending children, grouped by child."""
    chosen = frame[frame["cluster_id"].isin(children[:3])].sort_values(["cluster_id", "source_file"])
    return example_rows(frame, chosen.index.tolist(), ["cluster_id", *columns],
                        show_values=show_values, limit=MAX_EXAMPLES * 2)


def linked_checks(
    linked_dir: Path, staged: list[Staged], *, show_values: bool,
    max_cluster_size: int = MAX_CLUSTER_SIZE,
) -> list[Outcome]:
    """Checks on one linked directory against the staged directories it was built from."""
    source = str(linked_dir)
    clusters = read_clusters(linked_dir)
    person = _concat(staged, "person", ["record_key", "site_id", "date_of_birth", "dob_bf", "sex",
                                        "source_file", "source_row"])
    common = dict(source=source, table="clusters")
    out = []

    unknown = ~clusters["record_key"].isin(person["record_key"])
    out.append(_outcome(
        "linked.record_key.known", "every clustered record is in the staged data", CRITICAL,
        ["record_key"], element_count=len(clusters), bad_count=int(unknown.sum()),
        examples=[{"source_file": "clusters.parquet", "source_row": int(i) + 1, "values": {}}
                  for i in clusters.index[unknown][:MAX_EXAMPLES]],
        why="A clustered record that is not in the staged directories cannot be checked or built.",
        fix="Pass the same staged directories that `stairs-link link` was run on.", **common,
    ))

    sizes = clusters.groupby("cluster_id")["record_key"].transform("size")
    wrong_size = clusters["cluster_size"] != sizes
    out.append(_outcome(
        "linked.cluster_size.consistent", "cluster_size equals the number of records of the child",
        CRITICAL, ["cluster_size"], element_count=len(clusters), bad_count=int(wrong_size.sum()),
        examples=example_rows(clusters.assign(source_file="clusters.parquet",
                                              source_row=clusters.index + 1),
                              clusters.index[wrong_size].tolist(), ["cluster_id", "cluster_size"],
                              show_values=show_values),
        why="Later stages use cluster_size to spot singletons and large clusters.",
        fix="Re-create clusters.parquet with `stairs-link link`.", **common,
    ))

    per_child = clusters.groupby("cluster_id").size()
    oversized = per_child[per_child > max_cluster_size]
    out.append(_outcome(
        "linked.cluster_size.not_oversized",
        f"no child has more than {max_cluster_size} records", CRITICAL, ["cluster_id"],
        element_count=len(per_child), bad_count=len(oversized), unit="children",
        observed={"largest_cluster": int(per_child.max()) if len(per_child) else 0},
        examples=[{"source_file": "clusters.parquet", "source_row": None,
                   "values": {"cluster_id": str(c), "cluster_size": int(n)}}
                  for c, n in oversized.sort_values(ascending=False).head(MAX_EXAMPLES).items()],
        why="A child passes through a few settings with a few systems each; a very large "
            "cluster means the linker chained different children together.",
        fix="Raise the match threshold or tighten blocking in `stairs-link link`, then review "
            "the largest clusters in review.csv.", **common,
    ))

    records = person.merge(clusters[["record_key", "cluster_id"]], on="record_key", how="inner")
    multi = records.groupby("cluster_id")["record_key"].transform("size") > 1
    records = records[multi].reset_index(drop=True)
    n_children = int(records["cluster_id"].nunique())
    # pseudonymised mode nulls date_of_birth and keeps its keyed Bloom encoding: equal dates
    # give equal encodings under one key, so the encoding stands in for the date
    dob = "dob_bf" if records["date_of_birth"].isna().all() and records["dob_bf"].notna().any() \
        else "date_of_birth"
    for name, column, label in (("sex", "sex", "sex"), ("date_of_birth", dob, "date of birth")):
        values = records[column]
        if column == "sex":
            values = values.where(values != "unknown")
        distinct = values.groupby(records["cluster_id"]).nunique()
        bad = distinct[distinct > 1].index
        out.append(_outcome(
            f"linked.{name}.consistent", f"one {label} per child", WARNING, [column],
            element_count=n_children, bad_count=len(bad), unit="children",
            examples=_child_examples(records, bad, [column, "site_id"], show_values=show_values),
            why=f"Records linked into one child disagree on {label}: either a recording error "
                "at a site or two different children linked together.",
            fix="Review these children in review.csv; correct the source record if it is a "
                "recording error, or raise the match threshold if they are different children.",
            source=source, table="person",
        ))

    out.append(_overlaps(staged, clusters, show_values=show_values, source=source))
    out.append(_link_rate(person, clusters, source=source))
    return out


#: A site system with at least this many records, none of them linked to a record of another
#: site system, is flagged: its records probably cannot link (a mapping or a format problem).
MIN_RECORDS_FOR_LINK_RATE = 10


def _link_rate(person: pd.DataFrame, clusters: pd.DataFrame, *, source: str) -> Outcome:
    """Link rate per site system: the share of its records linked to a record of another site
    system. A system whose records linked to nothing else is flagged (warning)."""
    records = person[["record_key"]].merge(clusters[["record_key", "cluster_id"]], on="record_key", how="inner")
    system = records["record_key"].str.rsplit(":", n=1).str[0]  # 'site:system'
    records = records.assign(system=system)
    systems_per_child = records.groupby("cluster_id")["system"].nunique()
    linked = records["cluster_id"].map(systems_per_child) > 1
    rate = linked.groupby(records["system"]).mean().sort_index()
    size = records.groupby("system").size()
    isolated = [str(s) for s in rate.index if rate[s] == 0 and size[s] >= MIN_RECORDS_FOR_LINK_RATE]
    return _outcome(
        "linked.site_system.links", "every site system's records link to other systems", WARNING,
        ["record_key"], element_count=len(rate), bad_count=len(isolated), unit="site systems",
        observed={"link_rate": {str(k): round(float(v), 4) for k, v in rate.items()},
                  "records": {str(k): int(v) for k, v in size.items()}},
        examples=[{"source_file": "clusters.parquet", "source_row": None,
                   "values": {"site_system": name, "records": int(size[name]), "link_rate": 0.0}}
                  for name in isolated[:MAX_EXAMPLES]],
        why="Children in the secure estate are recorded by several systems; a site system none "
            "of whose records linked to another system's usually has a mapping that selects the "
            "wrong fields, or records with too few fields to link (see person.linking_fields).",
        fix="Check the system's mapping with `stairs-link mapping check --against` and its staged "
            "person table in the check report; the link rate of every site system is listed here.",
        source=source, table="person",
    )


#: Fields linkage compares; a record with fewer than MIN_LINKING_FIELDS of them filled can
#: hardly be told apart from other children (date of birth and sex alone are shared).
LINKING_FIELDS = ("given_name", "family_name", "date_of_birth", "sex", "postcode", "nhs_number", "upn", "pnc_id")
STRONG_FIELDS = ("nhs_number", "upn", "pnc_id")
MIN_LINKING_FIELDS = 3
FEW_FIELDS_SHARE = 0.2  # flag the table when at least this share of its records has few fields


def linking_fields_outcome(staged: Staged, *, show_values: bool) -> Outcome | None:
    """A person table whose records can link only through few fields (e.g. no names and no
    identifiers: SSDA903 records without a postcode have only date of birth and sex)."""
    if "person" not in staged.tables:
        return None
    frame = staged.tables["person"].frame
    present = [c for c in LINKING_FIELDS if c in frame.columns]
    if not present or not len(frame):
        return None
    # pseudonymised tables keep Bloom encodings / tokens in place of names and dates
    filled = pd.DataFrame({c: frame[c].notna() for c in present})
    for column, encoded in (("given_name", "given_name_bf"), ("family_name", "family_name_bf"),
                            ("date_of_birth", "dob_bf"), ("postcode", "postcode_bf")):
        if column in filled and encoded in frame.columns:
            filled[column] |= frame[encoded].notna()
    if "sex" in filled:
        filled["sex"] &= ~frame["sex"].isin(["unknown"])
    count = filled.sum(axis=1)
    strong = filled[[c for c in STRONG_FIELDS if c in filled]].any(axis=1)
    nameless = ~filled[[c for c in ("given_name", "family_name") if c in filled]].any(axis=1)
    few = (count < MIN_LINKING_FIELDS) | (nameless & ~strong)
    examples = example_rows(frame, frame.index[few].tolist()[:MAX_EXAMPLES], ["record_key"], show_values=show_values)
    return Outcome(
        check_id="person.linking_fields.enough", scope="table", source=str(staged.directory), table="person",
        expectation_type="stairs_link.linking_fields", columns=["record_key"], severity=WARNING,
        success=float(few.mean()) < FEW_FIELDS_SHARE,
        title=f"fewer than {FEW_FIELDS_SHARE:.0%} of records can link only through few fields "
              "(no names and no identifiers, or under three linking fields)",
        why="Linkage needs several agreeing fields; a record with only date of birth and sex (or "
            "fewer) cannot be told apart from other children born the same day, so it is left "
            "unlinked rather than risk a wrong link.",
        fix="Map every linking field the export has (a postcode kept in another file: `from_table:`; "
            "identifiers such as UPN or NHS number); if the system holds no more, expect these "
            "records to stay unlinked.",
        element_count=len(frame), unexpected_count=int(few.sum()),
        unexpected_percent=100.0 * float(few.mean()), examples=examples,
        observed_value={"records_without_names": int(nameless.sum()),
                        "mean_linking_fields": round(float(count.mean()), 2)},
    )


def _overlaps(staged: list[Staged], clusters: pd.DataFrame, *, show_values: bool,
              source: str) -> Outcome:
    """Stays of one child at two different sites that overlap in time (vectorised self-join)."""
    episodes = _concat(staged, "episode", ["record_key", "site_id", "admission_date",
                                           "discharge_date", "extracted_at", "source_file",
                                           "source_row"])
    episodes = episodes.merge(clusters[["record_key", "cluster_id"]], on="record_key", how="inner")
    start = as_seconds(episodes["admission_date"])
    # an open stay lasts until the export was taken
    end = as_seconds(episodes["discharge_date"]).fillna(
        pd.to_datetime(episodes["extracted_at"].astype("string").str.slice(0, 10), errors="coerce"))
    stays = pd.DataFrame({"cluster_id": episodes["cluster_id"], "site_id": episodes["site_id"],
                          "start": start, "end": end, "row": episodes.index})
    pairs = stays.merge(stays, on="cluster_id", suffixes=("_a", "_b"))
    shared = (pairs[["end_a", "end_b"]].min(axis=1) - pairs[["start_a", "start_b"]].max(axis=1))
    overlap = pairs[(pairs["site_id_a"] < pairs["site_id_b"])
                    & (shared > pd.Timedelta(days=OVERLAP_TOLERANCE_DAYS))]
    bad = pd.Index(overlap["cluster_id"].unique())
    first = overlap[overlap["cluster_id"].isin(bad[:3])]
    rows = pd.unique(first[["row_a", "row_b"]].to_numpy().ravel())
    rows = episodes.loc[rows].sort_values(["cluster_id", "site_id"]).index.tolist()
    return _outcome(
        "linked.episode.no_overlap",
        f"no child is in two settings at once (overlaps over {OVERLAP_TOLERANCE_DAYS} days)", WARNING,
        ["admission_date", "discharge_date", "site_id"], source=source, table="episode",
        element_count=int(stays["cluster_id"].nunique()), bad_count=len(bad), unit="children",
        examples=example_rows(episodes, rows, ["cluster_id", "site_id", "admission_date",
                                               "discharge_date"],
                              show_values=show_values, limit=MAX_EXAMPLES * 2),
        why="A child cannot be in two settings at once: either a date is wrong (often a missing "
            "or mistyped discharge date) or two different children were linked together.",
        fix="Check the admission and discharge dates at both sites; if they are right, review "
            "the link in review.csv.",
    )
