"""Year after year in pseudonymised mode: the dataset keeps its person records pseudonymised
exactly as staged, and next year's records are scored against them (link --previous)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from stairs_link.errors import LinkageError
from stairs_link.integrate import build
from stairs_link.linkage import link
from stairs_link.privacy.staged import pseudonymise_staged
from stairs_link.synth.extracts import write_staged_extracts

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
YEARS = (2024, 2025)


@pytest.fixture(scope="module")
def pseudo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("pseudo_years")
    plain = write_staged_extracts(root / "plain", 200, 7, YEARS, styles=("year-only",))["year-only"]
    staged: dict[int, list[Path]] = {}
    for year, dirs in plain.items():
        staged[year] = []
        for d in dirs:
            out = root / "pseudo" / str(year) / d.parent.name / d.name
            pseudonymise_staged(d, out, KEY)
            staged[year].append(out)
    first, second = staged[YEARS[0]], staged[YEARS[1]]
    link(first, root / "linked-1")
    build(root / "linked-1", first, root / "dataset-1")
    link(second, root / "linked-2", previous=root / "dataset-1")
    build(root / "linked-2", second, root / "dataset-2", previous=root / "dataset-1")
    link([*first, *second], root / "linked-full")
    return {"root": root, "plain": plain, "staged": staged}


def test_dataset_keeps_person_records_pseudonymised(pseudo):
    records = pd.read_parquet(pseudo["root"] / "dataset-1" / "person_records.parquet")
    assert records["given_name_bf"].notna().all() and records["given_name"].isna().all()
    assert records["date_of_birth"].isna().all() and records["family_name"].isna().all()


def _truth(pseudo: dict) -> pd.Series:
    """Pseudonymised record_key -> true child (pseudonymise_staged keeps the row order)."""
    truth = pd.read_parquet(pseudo["root"] / "plain" / "truth" / "records.parquet").set_index("record_key")
    pairs = []
    for year in YEARS:
        for plain, coded in zip(pseudo["plain"][year], pseudo["staged"][year]):
            a = pd.read_parquet(plain / "person.parquet", columns=["record_key"])["record_key"]
            b = pd.read_parquet(coded / "person.parquet", columns=["record_key"])["record_key"]
            pairs.append(pd.Series(a.map(truth["true_child_id"]).to_numpy(), index=b.to_numpy()))
    both = pd.concat(pairs)
    return both[~both.index.duplicated()]


def test_incremental_linkage_works_on_pseudonymised_years(pseudo):
    root = pseudo["root"]
    truth = _truth(pseudo)
    before, now = (pd.read_parquet(root / f"dataset-{k}" / "record_map.parquet") for k in (1, 2))
    before["true"], now["true"] = before["record_key"].map(truth), now["record_key"].map(truth)
    assert before["true"].notna().all() and now["true"].notna().all()
    ids_before = before.groupby("true")["child_id"].agg(set)
    main_now = now.groupby("true")["child_id"].agg(lambda ids: ids.value_counts().index[0])
    returning = ids_before.index.intersection(main_now.index)
    new_id = [t for t in returning if main_now[t] not in ids_before[t]]
    print(f"\npseudonymised: {len(returning)} returning children, {len(new_id)} got a new id")
    assert len(returning) > 100 and len(new_id) <= len(returning) // 50
    inc = pd.read_parquet(root / "linked-2" / "clusters.parquet")
    full = pd.read_parquet(root / "linked-full" / "clusters.parquet")
    label = "cluster_id" if "cluster_id" in inc.columns else "child_id"

    def partition(frame: pd.DataFrame) -> set[frozenset[str]]:
        return {frozenset(g) for _, g in frame.groupby(label)["record_key"]}

    same = partition(inc) & partition(full)
    print(f"\npseudonymised: {len(same)} of {len(partition(full))} children identical in incremental and full")
    assert len(same) >= 0.97 * len(partition(full))


def test_mixing_plain_and_pseudonymised_years_is_refused(pseudo, tmp_path):
    with pytest.raises(LinkageError) as err:
        link(pseudo["plain"][YEARS[1]], tmp_path / "l", previous=pseudo["root"] / "dataset-1")
    assert err.value.reason == "mixed_pseudonymisation"
    other = []
    for d in pseudo["plain"][YEARS[1]]:
        out = tmp_path / "other" / d.parent.name / d.name
        pseudonymise_staged(d, out, OTHER_KEY)
        other.append(out)
    with pytest.raises(LinkageError) as err:
        link(other, tmp_path / "l2", previous=pseudo["root"] / "dataset-1")
    assert err.value.reason == "different_keys"
