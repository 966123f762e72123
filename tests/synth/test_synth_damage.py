"""Vectorised damage operations and identifier generation, on small hand-made arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz.distance import DamerauLevenshtein

from stairs_link.standardise.identifiers import nhs_check_digit, pnc_check_letter, upn_check_letter
from stairs_link.synth import damage as dmg
from stairs_link.synth import ids
from stairs_link.synth.names import NICKNAMES, ORIGINS, variant_table


def test_typos_are_one_edit_away() -> None:
    names = np.array(["Smith", "O'Brien", "Nguyễn", "Li", "A", "Abdirahman"] * 50, dtype=object)
    out = dmg.typos(names, np.random.default_rng(1))
    dist = [DamerauLevenshtein.distance(a, b) for a, b in zip(names, out)]
    assert set(dist) == {1}
    assert all(isinstance(x, str) for x in out)


def test_digit_typos_change_exactly_one_or_swap_two_digits() -> None:
    values = np.array(["9434765919", "2020/1234567E", "AB1 2CD"] * 40, dtype=object)
    out = dmg.digit_typos(values, np.random.default_rng(2))
    for a, b in zip(values, out):
        assert a != b and len(a) == len(b)
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        assert len(diff) in (1, 2)
        assert all(a[i].isdigit() for i in diff)


def test_damage_dates_swap_day_and_month_only_when_possible() -> None:
    days = np.array(["2008-03-07", "2008-03-25", "2008-05-05"], dtype="datetime64[D]").astype(np.int64)
    swap = np.array([True, True, True])
    out = dmg.damage_dates(days, swap, np.zeros(3, bool), np.random.default_rng(0)).astype("datetime64[D]")
    assert out.astype(str).tolist() == ["2008-07-03", "2008-03-25", "2008-05-05"]


def test_damage_dates_typos_stay_valid_dates() -> None:
    days = np.arange(10_000, 12_000, dtype=np.int64)
    out = dmg.damage_dates(days, np.zeros(len(days), bool), np.ones(len(days), bool), np.random.default_rng(3))
    assert (out != days).mean() > 0.9
    assert pd.Series(out.astype("datetime64[D]")).notna().all()


def test_variant_lookup_only_changes_names_with_variants() -> None:
    names = np.array(["Mohammed", "Jack", "Alexander", None], dtype=object)
    out = dmg.lookup_variant(names, NICKNAMES | variant_table(), np.random.default_rng(0))
    assert out[1] == "Jack" and out[3] is None
    assert out[0] in variant_table()["Mohammed"]
    assert out[2] in NICKNAMES["Alexander"]


def test_fold_ascii() -> None:
    out = dmg.fold_ascii(np.array(["Wójcik", "Nguyễn", "Ștefan", "Smith"], dtype=object))
    assert out.tolist() == ["Wojcik", "Nguyen", "Stefan", "Smith"]


def test_generated_identifiers_agree_with_standardise_helpers() -> None:
    rng = np.random.default_rng(5)
    nhs = ids.draw_nhs_numbers(rng, 500)
    assert len(set(nhs)) == 500
    assert all(nhs_check_digit(n[:9]) == int(n[9]) for n in nhs)
    upn = ids.draw_upns(rng, 500)
    assert len(set(upn)) == 500 and all(upn_check_letter(u[1:]) == u[0] for u in upn)
    pnc = ids.draw_pnc_ids(rng, np.full(500, 2021))
    assert len(set(pnc)) == 500 and all(pnc_check_letter(p[2:4], p[5:12]) == p[12] for p in pnc)
    prison = ids.draw_prison_numbers(rng, 500)
    assert len(set(prison)) == 500
    # documented examples from shared/domain/README.md
    assert ids.nhs_check_digits(np.array([943476591, 943476591])).tolist() == [9, 9]  # 9434765919 valid
    assert ids.upn_check_letters(np.array([801200001001])).tolist() == ["H"]
    # PNC: agree with the scalar helper on arbitrary values (the README's "2020/1234567E"
    # example does not satisfy its own stated rule: int("201234567") % 23 == 0 -> "Z")
    yy, serial = np.array([20, 5, 99]), np.array([1234567, 42, 9999999])
    assert ids.pnc_check_letters(yy, serial).tolist() == [
        pnc_check_letter(f"{y:02d}", f"{s:07d}") for y, s in zip(yy, serial)]


def test_origins_cover_many_communities_and_valid_ethnicity_codes() -> None:
    from stairs_link.schema import CODE_LISTS

    assert len(ORIGINS) >= 20
    for origin in ORIGINS:
        assert abs(sum(p for _, p in origin.ethnicity) - 1) < 1e-9, origin.name
        assert {c for c, _ in origin.ethnicity} <= set(CODE_LISTS["ethnicity"])
        assert origin.male and origin.female and origin.family


def test_family_only_variants_never_touch_given_names() -> None:
    assert "Lee" not in variant_table() and "Li" not in variant_table()
    assert "Lee" in variant_table(family=True)["Li"]
