"""A temporary UPN (letter in position 13) never conflicts with the child's permanent UPN."""

from __future__ import annotations

import dataclasses

import pandas as pd

import stairs_link.standardise as std
from stairs_link.linkage import LinkageConfig, link_table
from stairs_link.synth import person_records

FAST = LinkageConfig(u_sample_pairs=200_000)


def temporary_upn(permanent: str, letter: str) -> str:
    body = permanent[1:12] + letter
    return std.upn_check_letter(body) + body


def test_upn_temporary_and_permanent_validators() -> None:
    values = pd.Series(["H801200001001", "G80120000101A", "UN2", "H801200001002", None])
    assert std.upn(values).value.notna().tolist() == [True, True, False, False, False]
    assert std.upn_temporary(values).tolist() == [False, True, False, False, False]
    assert std.upn_permanent(values).value.notna().tolist() == [True, False, False, False, False]
    assert not std.upn_permanent(values).invalid[1]  # temporary is not invalid, only not evidence


def test_temporary_upn_does_not_split_a_child() -> None:
    person, truth = person_records(150, 11)
    person = person.merge(truth[["record_key", "true_child_id"]], on="record_key")
    with_upn = person[person["upn"].notna()]
    children = with_upn.groupby("true_child_id").filter(
        lambda g: len(g) >= 2 and g["upn"].nunique() == 1)["true_child_id"].unique()[:10]
    assert len(children) == 10
    changed = person.copy()
    for child in children:
        first = changed.index[(changed["true_child_id"] == child) & changed["upn"].notna()][0]
        changed.loc[first, "upn"] = temporary_upn(changed.loc[first, "upn"], "T")
    assert std.upn_temporary(changed["upn"]).sum() == 10
    table = changed.drop(columns=["true_child_id"])

    def together(config: LinkageConfig) -> int:
        clusters = link_table(table, config).clusters.merge(truth, on="record_key")
        mine = clusters[clusters["true_child_id"].isin(children)]
        return int((mine.groupby("true_child_id")["cluster_id"].nunique() == 1).sum())

    old = dataclasses.replace(FAST, comparisons=tuple(
        dataclasses.replace(c, validator="upn") if c.name == "upn" else c for c in FAST.comparisons))
    assert together(old) == 0  # two valid UPNs: the cannot-link rule refused every merge
    assert together(FAST) >= 9
