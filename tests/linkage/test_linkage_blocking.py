"""Blocking: pair generation against brute force, de-duplication across rules, explain, guard."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from stairs_link.errors import LinkageError
from stairs_link.linkage.blocking import blocked_pairs, count_pairs, iter_pairs, plan_blocking
from stairs_link.linkage.config import BlockingRule, LinkageConfig
from stairs_link.linkage.prepare import Features


def _brute(key: np.ndarray) -> set[tuple[int, int]]:
    return {(a, b) for a, b in itertools.combinations(range(len(key)), 2) if key[a] >= 0 and key[a] == key[b]}


@pytest.mark.parametrize("chunk", [1, 7, 10_000])
def test_iter_pairs_equals_brute_force(chunk):
    key = np.random.default_rng(0).integers(-1, 12, 150)
    found = [p for i, j in iter_pairs(key, chunk) for p in zip(i.tolist(), j.tolist())]
    assert len(found) == len(set(found)) == count_pairs(key)
    assert set(found) == _brute(key)


def _people() -> pd.DataFrame:
    return pd.DataFrame({
        "given_name": ["Ann", "Ann", "Anne", "Bob", "Smith", "Ann"],
        "family_name": ["Smith", "Smith", "Smith", "Smith", "Ann", "Jones"],
        "postcode": ["M1 1AE", "M1 1AE", None, "M1 1AE", "M1 1AE", "M1 1AE"],
    })


def test_each_pair_once_with_first_rule_that_finds_it():
    config = LinkageConfig(blocking=(BlockingRule("names", ("given_name", "family_name")),
                                     BlockingRule("postcode", ("postcode",)),
                                     BlockingRule("swap", ("given_name|family_name",))),
                           deterministic_identifiers=(), cannot_link_identifiers=())
    plan = plan_blocking(config, Features(_people()))
    seen = {}
    for i, j, mask, rule in blocked_pairs(plan, 2):
        for a, b, m in zip(i.tolist(), j.tolist(), mask.tolist()):
            assert (a, b) not in seen
            seen[(a, b)] = (rule, m)
    assert seen[(0, 1)][0] == 0 and seen[(0, 1)][1] == 0b111  # found by names, agrees on all three
    assert seen[(0, 4)][0] == 1  # postcode
    assert seen[(1, 4)][1] & 0b100  # swapped names agree on the order-free key
    assert (0, 2) not in seen  # Anne has no postcode and another given name
    assert len(seen) == len(_brute(plan.keys[1]) | _brute(plan.keys[0]) | _brute(plan.keys[2]))


def test_explain_and_max_pairs_guard_names_the_rule():
    config = LinkageConfig(blocking=(BlockingRule("names", ("given_name", "family_name")),
                                     BlockingRule("postcode", ("postcode",))),
                           deterministic_identifiers=(), cannot_link_identifiers=())
    plan = plan_blocking(config, Features(_people()))
    assert plan.counts == {"names": 1, "postcode": 10}
    text = plan.explain()
    assert "names" in text and "postcode" in text and "11" in text
    plan.check(11)
    with pytest.raises(LinkageError) as err:
        plan.check(10)
    assert "rule 'postcode'" in str(err.value) and "tighten blocking rule 'postcode'" in str(err.value)


def test_bad_blocking_key_is_a_config_error():
    with pytest.raises(LinkageError, match="bad key 'postcode:shout'"):
        LinkageConfig(blocking=(BlockingRule("p", ("postcode:shout",)),))


def test_when_missing_rule_pairs_only_records_lacking_the_column():
    rng = np.random.default_rng(1)
    key = rng.integers(-1, 6, 120)
    missing = rng.random(120) < 0.2
    from stairs_link.linkage.blocking import count_pairs_missing, iter_pairs_missing

    found = [p for i, j in iter_pairs_missing(key, missing, 9) for p in zip(i.tolist(), j.tolist())]
    expected = {(a, b) for a, b in _brute(key) if missing[a] or missing[b]}
    assert len(found) == len(set(found)) == count_pairs_missing(key, missing)
    assert set(found) == expected


def test_swapfree_date_key_agrees_on_day_month_swap():
    import datetime as dt

    frame = pd.DataFrame({"d": [dt.date(2008, 3, 7), dt.date(2008, 7, 3), dt.date(2008, 3, 8), None]})
    codes = Features(frame).key_codes("d:swapfree", {})
    assert codes[0] == codes[1] != codes[2] and codes[3] == -1
