"""A tiny hand-made world: three children, two sites, three systems, written as staged
canonical tables plus a perfect clusters.parquet (cluster_id = the true child)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from stairs_link.linkage import write_linked
from stairs_link.schema import replace_staged_tables, write_staged

PERSON_COLUMNS = ["record_key", "site_id", "setting_type", "system_kind", "source_system", "local_id",
                  "given_name", "family_name", "date_of_birth", "sex", "ethnicity", "nhs_number", "upn",
                  "pnc_id", "prison_number", "extracted_at"]

# (true child, site, setting, kind, system, local id, given, family, dob, sex, ethnicity, nhs, upn, pnc, prison, extracted)
PEOPLE = [
    ("A", "sch-a", "SCH", "health", "systmone", "h1", "Amy", "Stone", date(2007, 5, 1), "female", "A",
     "9434765919", None, None, None, "2024-01-01"),
    ("A", "sch-a", "SCH", "operations", "carelog", "o1", "Amy", "Stone", date(2007, 5, 1), "female", "Z",
     None, None, None, None, "2024-01-01"),
    ("A", "yoi-b", "YOI", "operations", "nomis", "n7", "Amie", "Stone", date(2007, 1, 5), "unknown", None,
     None, None, "2020/1234567E", "G5555TT", "2024-02-01"),
    ("A", "yoi-b", "YOI", "education", "sims", "e7", "Amy", "Stone", date(2007, 1, 5), None, None,
     None, "H801200001001", None, None, "2024-02-01"),
    ("B", "yoi-b", "YOI", "operations", "nomis", "n8", "Ben", "Hill", date(2006, 3, 3), "male", "M",
     None, None, None, "A1234BC", "2024-02-01"),
    ("C", "sch-a", "SCH", "health", "systmone", "h2", "Cal", "Moss", date(2005, 2, 1), "male", "B",
     None, None, None, None, "2024-01-01"),
    ("C", "sch-a", "SCH", "operations", "carelog", "o2", "Cal", "Moss", date(2005, 2, 1), "male", "B",
     None, None, None, None, "2024-01-01"),
]

# (record key, admission, discharge, legal basis, destination)
EPISODES = [
    # A: one stay at sch-a seen by two systems with dates a day apart -> one stay
    ("sch-a:systmone:h1", date(2023, 1, 10), date(2023, 3, 1), "remand", "unknown"),
    ("sch-a:carelog:o1", date(2023, 1, 11), date(2023, 3, 1), "remand", "transfer_secure"),
    # A: transfer to yoi-b next day, stay split into two consecutive episodes, then released
    ("yoi-b:nomis:n7", date(2023, 3, 2), date(2023, 4, 30), "sentenced", None),
    ("yoi-b:nomis:n7", date(2023, 5, 1), date(2023, 6, 1), "sentenced", "community_home"),
    # B: released, readmitted 40 days later, still there
    ("yoi-b:nomis:n8", date(2023, 2, 1), date(2023, 2, 20), "remand", "community_home"),
    ("yoi-b:nomis:n8", date(2023, 4, 1), None, "sentenced", None),
    # C: leaves at nearly 18, destination not recorded -> young adult estate
    ("sch-a:systmone:h2", date(2022, 6, 1), date(2023, 1, 20), "welfare_s25", "unknown"),
    ("sch-a:carelog:o2", date(2022, 6, 1), date(2023, 1, 20), "welfare_s25", None),
]

# (record key, formulation date)
FORMULATIONS = [
    ("sch-a:systmone:h1", date(2023, 1, 20)),
    ("yoi-b:nomis:n7", date(2023, 3, 20)),
    ("yoi-b:nomis:n8", date(2023, 6, 1)),
]

TRUE_CHILD = {f"{p[1]}:{p[4]}:{p[5]}": p[0] for p in PEOPLE}


def _provenance(frame: pd.DataFrame, system: str) -> pd.DataFrame:
    frame = frame.copy()
    frame["source_file"] = f"{system}.csv"
    frame["source_row"] = range(1, len(frame) + 1)
    frame["mapping_id"] = system
    return frame


def write_world(root: Path, *, people=PEOPLE, episodes=EPISODES, formulations=FORMULATIONS) -> tuple[Path, list[Path]]:
    """Write one staged directory per site system and LINKED/clusters.parquet (perfect linkage)."""
    person = pd.DataFrame([p[1:] for p in people], columns=PERSON_COLUMNS[1:])
    person.insert(0, "record_key", person["site_id"] + ":" + person["source_system"] + ":" + person["local_id"])
    by_key = person.set_index("record_key")
    ep = pd.DataFrame(episodes, columns=["record_key", "admission_date", "discharge_date", "legal_basis",
                                         "discharge_destination"])
    fo = pd.DataFrame(formulations, columns=["record_key", "formulation_date"])
    staged = []
    for (site, system), rows in person.groupby(["site_id", "source_system"], sort=True):
        directory = root / "staged" / site / system
        tables = {"person": _provenance(rows, system)}
        for name, frame in (("episode", ep), ("formulation", fo)):
            part = frame[frame["record_key"].isin(rows["record_key"])].copy()
            if part.empty:
                continue
            for column in ("site_id", "setting_type", "source_system"):
                part[column] = part["record_key"].map(by_key[column])
            if name == "episode":
                part["episode_id"] = [f"ep{i}" for i in range(len(part))]
            tables[name] = _provenance(part, system)
        write_staged(directory, tables)
        staged.append(directory)
    clusters = pd.DataFrame({"record_key": person["record_key"], "cluster_id": person["record_key"].map(TRUE_CHILD)})
    clusters["cluster_size"] = clusters.groupby("cluster_id")["record_key"].transform("size")
    keys = person["record_key"].tolist()
    pairs = pd.DataFrame([(a, b) for i, a in enumerate(keys) for b in keys[i + 1:]],
                         columns=["record_key_l", "record_key_r"])
    same = pairs["record_key_l"].map(TRUE_CHILD) == pairs["record_key_r"].map(TRUE_CHILD)
    pairs["match_probability"] = same.map({True: 0.99, False: 0.01})
    pairs.loc[pairs["record_key_l"] == "yoi-b:nomis:n7", "match_probability"] = \
        pairs["match_probability"].where(~same, 0.8)
    pairs["match_weight"] = pairs["match_probability"].map(lambda p: 10 if p > 0.5 else -10)
    linked = write_linked(root / "linked", clusters, pairs)
    return linked, staged



def restage(directory: Path, **changed: pd.DataFrame) -> Path:
    """Publish new versions of some tables of a staged directory, through the library's writer
    (so its manifest, the completion record, lists the new files)."""
    replace_staged_tables(directory, changed)
    return directory


def relink(linked: Path, clusters: pd.DataFrame) -> Path:
    """LINKED written again with other clusters (its pairs kept), through the library's writer."""
    pairs = pd.read_parquet(linked / "pairs.parquet") if (linked / "pairs.parquet").exists() else None
    return write_linked(linked, clusters, pairs)
