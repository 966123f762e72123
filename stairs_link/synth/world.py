"""The synthetic "true world": children, their true details and their pathways through the estate.

Everything is drawn with numpy ``Generator`` streams spawned from one ``SeedSequence(seed)``
in a fixed order, so a world depends only on ``(n_children, seed)`` (and the numpy version's
PCG64 stream, which is platform independent) and never on dict ordering or hash seeds.
All draws are vectorised over children; the only Python loop is over the (at most four)
stay positions of a pathway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stairs_link.synth import ids
from stairs_link.synth.names import ORIGINS, POSTCODE_AREAS
from stairs_link.synth.sites import SITES

# Admissions fall in [WORLD_START, WORLD_CUTOFF]; stays still open at the cutoff have no
# discharge date. Exports are "taken" on EXTRACT_DATE.
WORLD_START = np.datetime64("2018-01-01")
WORLD_CUTOFF = np.datetime64("2025-12-31")
EXTRACT_DATE = "2026-01-31"
MAX_STAYS = 4

# Streams, in the order they are spawned from SeedSequence(seed). Never reorder: append.
STREAMS = ("children", "names", "identifiers", "pathway", "records", "damage", "events", "render", "bad_rows")


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per stage, so adding draws to one stage leaves others intact."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(ss)) for name, ss in zip(STREAMS, children)}


@dataclass
class World:
    """The truth: one row per child and one row per true stay."""

    n_children: int
    seed: int
    children: pd.DataFrame
    stays: pd.DataFrame


def _pool(attr: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flatten one name pool across origins: (names, offset per origin, size per origin)."""
    pools = [getattr(o, attr) for o in ORIGINS]
    sizes = np.array([len(p) for p in pools])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    names = np.array([n for p in pools for n in p], dtype=object)
    return names, offsets, sizes


def _pick(rng: np.random.Generator, attr: str, origin: np.ndarray) -> np.ndarray:
    names, offsets, sizes = _pool(attr)
    idx = offsets[origin] + (rng.random(len(origin)) * sizes[origin]).astype(np.int64)
    return names[idx]


def _postcodes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Valid-shaped UK postcodes (outward: real area + district; inward: digit + 2 letters)."""
    inward_letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"), dtype=object)  # no C I K M O V
    area = np.array(POSTCODE_AREAS, dtype=object)[rng.integers(0, len(POSTCODE_AREAS), n)]
    district = rng.integers(1, 30, n).astype(str).astype(object)
    sector = rng.integers(0, 10, n).astype(str).astype(object)
    unit = inward_letters[rng.integers(0, 20, n)] + inward_letters[rng.integers(0, 20, n)]
    return area + district + " " + sector + unit


def _children(r: dict[str, np.random.Generator], n: int) -> pd.DataFrame:
    rng = r["children"]
    weights = np.array([o.weight for o in ORIGINS])
    origin = rng.choice(len(ORIGINS), size=n, p=weights / weights.sum())
    # Sex: the estate is mostly boys; girls are placed in SCHs and STCs only.
    sex = rng.choice(np.array(["male", "female", "indeterminate"], dtype=object), size=n, p=[0.875, 0.123, 0.002])
    # True ethnicity, conditional on origin.
    u = rng.random(n)
    ethnicity = np.empty(n, dtype=object)
    for k, o in enumerate(ORIGINS):  # loop over ~27 origins, vectorised within
        sel = origin == k
        codes = np.array([c for c, _ in o.ethnicity], dtype=object)
        cum = np.cumsum([p for _, p in o.ethnicity])
        ethnicity[sel] = codes[np.minimum(np.searchsorted(cum / cum[-1], u[sel], side="right"), len(codes) - 1)]

    rn = r["names"]
    female = sex == "female"
    male_given = _pick(rn, "male", origin)
    female_given = _pick(rn, "female", origin)
    given = np.where(female, female_given, male_given)
    middle_m = _pick(rn, "male", origin)
    middle_f = _pick(rn, "female", origin)
    middle = np.where(female, middle_f, middle_m)
    middle_rate = np.array([o.middle_rate for o in ORIGINS])[origin]
    has_middle = (rn.random(n) < middle_rate) & (middle != given)
    middle = np.where(has_middle, middle, None)
    family = _pick(rn, "family", origin)
    # Some children are known by more than one family name: double-barrelled, or the other
    # parent's name. The alternative is recorded in some systems (see DamageConfig).
    other = _pick(rn, "family", origin)
    kind = rn.random(n)
    has_alt = (rn.random(n) < 0.15) & (other != family)
    alt_family = np.where(kind < 0.4, family + "-" + other, other)
    alt_family = np.where(has_alt, alt_family, None)

    ri = r["identifiers"]
    nhs = ids.draw_nhs_numbers(ri, n)
    nhs = np.where(ri.random(n) < 0.98, nhs, None)  # a few children never registered with a GP
    upn = ids.draw_upns(ri, n)
    upn = np.where(ri.random(n) < 0.95, upn, None)  # e.g. recently arrived children
    postcode = _postcodes(ri, n)
    moved = _postcodes(ri, n)
    moved = np.where(ri.random(n) < 0.35, moved, None)
    # LA child number: "<LA code>-<7 digits>", distinct across children
    la_key = ids.dedupe(ri, ri.integers(201, 939, n) * 10_000_000 + ri.integers(0, 10_000_000, n),
                         lambda k: ri.integers(201, 939, k) * 10_000_000 + ri.integers(0, 10_000_000, k))
    la_child_id = ids.zfill(la_key // 10_000_000, 3) + "-" + ids.zfill(la_key % 10_000_000, 7)
    looked_after = ri.random(n) < 0.45
    has_pnc = ri.random(n) < 0.92  # applied only to children with a remand/sentenced stay
    pnc_serial_draw = ri.random(n)  # spare draw reserved for PNC year jitter

    return pd.DataFrame({
        "true_child_id": np.char.add("TC", np.char.zfill(np.arange(1, n + 1).astype(str), 7)).astype(object),
        "origin": np.array([o.name for o in ORIGINS], dtype=object)[origin],
        "sex": sex,
        "ethnicity": ethnicity,
        "given_name": given,
        "middle_names": middle,
        "family_name": family,
        "alt_family_name": alt_family,
        "postcode": postcode,
        "moved_postcode": moved,
        "nhs_number": nhs,
        "upn": upn,
        "la_child_id": la_child_id,
        "_looked_after": looked_after,
        "_has_pnc": has_pnc,
        "_pnc_u": pnc_serial_draw,
    })


_SETTINGS = np.array(["SCH", "STC", "YOI"], dtype=object)
_SITE_IDS = np.array([s.site_id for s in SITES], dtype=object)
_SITE_SETTING = np.array([s.setting_type for s in SITES], dtype=object)


def _choose_site(rng: np.random.Generator, setting: np.ndarray) -> np.ndarray:
    """A site index of the given setting type, uniformly among the sites of that type."""
    out = np.empty(len(setting), dtype=np.int64)
    u = rng.random(len(setting))
    for st in _SETTINGS:
        candidates = np.flatnonzero(_SITE_SETTING == st)
        sel = setting == st
        out[sel] = candidates[(u[sel] * len(candidates)).astype(np.int64)]
    return out


def _pathways(rng: np.random.Generator, children: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """True stays (vectorised over children, looping over the stay position)."""
    n = len(children)
    days = (WORLD_CUTOFF - WORLD_START).astype(int)
    first_adm = WORLD_START.astype("datetime64[D]").astype(np.int64) + rng.integers(0, days - 60, n)
    ages = np.arange(10, 18)
    age0 = rng.choice(ages, size=n, p=np.array([1, 2, 4, 8, 14, 22, 26, 23]) / 100) + rng.random(n)
    dob = first_adm - np.round(age0 * 365.25).astype(np.int64)
    # exact 18th birthday: same month/day as DOB, 18 years on (29 Feb -> 1 Mar)
    dob_dt = pd.to_datetime(dob.astype("datetime64[D]"))
    b18 = (dob_dt + pd.DateOffset(years=18)).values.astype("datetime64[D]").astype(np.int64)
    n_stays = rng.choice(np.arange(1, MAX_STAYS + 1), size=n, p=[0.5, 0.28, 0.14, 0.08])
    female = (children["sex"] == "female").to_numpy()
    looked_after = children["_looked_after"].to_numpy()

    rows: list[pd.DataFrame] = []
    alive = np.ones(n, dtype=bool)
    prev_site = np.full(n, -1)
    prev_dis = np.zeros(n, dtype=np.int64)
    next_kind = np.zeros(n, dtype=np.int64)  # 0 transfer, 1 re-admission within weeks, 2 later
    for k in range(MAX_STAYS):
        active = alive & (k < n_stays)
        if k == 0:
            adm = first_adm.copy()
        else:
            gap = np.select(
                [next_kind == 0, next_kind == 1],
                [np.zeros(n, dtype=np.int64), rng.integers(7, 91, n)],
                rng.integers(91, 730, n),
            )
            adm = prev_dis + gap
        age = (adm - dob) / 365.25
        active &= (age < 18) & (adm <= WORLD_CUTOFF.astype("datetime64[D]").astype(np.int64))
        # Setting type by age and sex: younger children and girls go to SCHs/STCs; boys of
        # 15-17 mostly to YOIs. (No girls have been held in YOIs in England since 2013.)
        u = rng.random(n)
        older_boy = (~female) & (age >= 15)
        setting = np.where(
            older_boy,
            np.where(u < 0.1, "SCH", np.where(u < 0.25, "STC", "YOI")),
            np.where(u < 0.62, "SCH", "STC"),
        ).astype(object)
        site = _choose_site(rng, setting)
        # Re-admissions often return to the same site; transfers always go somewhere else.
        same = (k > 0) & (next_kind >= 1) & (rng.random(n) < 0.5) & (prev_site >= 0)
        if k > 0:
            prev_setting = _SITE_SETTING[np.maximum(prev_site, 0)]
            same &= ~(female & (prev_setting == "YOI"))
            site = np.where(same, prev_site, site)
            clash = (next_kind == 0) & (site == prev_site)
            # move to the next site in the list that the child may be placed in
            for step in range(1, len(SITES)):
                cand = (prev_site + step) % len(SITES)
                ok = clash & ~(female & (_SITE_SETTING[cand] == "YOI"))
                site = np.where(ok, cand, site)
                clash &= ~ok
        setting = _SITE_SETTING[site]
        u = rng.random(n)
        legal = np.where(
            setting == "SCH",
            np.where(u < (0.35 + 0.25 * looked_after), "welfare_s25", np.where(u < 0.75, "remand", "sentenced")),
            np.where(u < 0.45, "remand", "sentenced"),
        ).astype(object)
        length = np.select(
            [legal == "welfare_s25", legal == "remand"],
            [rng.gamma(2.0, 60.0, n), rng.gamma(1.5, 45.0, n)],
            rng.gamma(2.5, 50.0, n),
        ).astype(np.int64) + 3
        dis = adm + length
        kind = rng.choice(3, size=n, p=[0.3, 0.35, 0.35])
        last = k == n_stays - 1
        u = rng.random(n)
        community = np.where(looked_after | (legal == "welfare_s25"), "community_care", "community_home")
        dest = np.where(last, np.where(u < 0.015, "hospital", community),
                        np.where(kind == 0, "transfer_secure", community)).astype(object)
        # Turning 18 in custody: moved to the young adult estate shortly after the birthday;
        # welfare placements end at 18.
        turns18 = dis >= b18
        yae = turns18 & (legal != "welfare_s25")
        dis = np.where(yae, np.maximum(adm + 3, b18 + rng.integers(0, 60, n)), dis)
        dis = np.where(turns18 & ~yae, np.maximum(adm + 3, b18 - 1), dis)
        dest = np.where(yae, "young_adult_estate", np.where(turns18, "community_care", dest)).astype(object)
        open_stay = dis > WORLD_CUTOFF.astype("datetime64[D]").astype(np.int64)
        sel = np.flatnonzero(active)
        rows.append(pd.DataFrame({
            "child_index": sel,
            "stay_no": k + 1,
            "site_id": _SITE_IDS[site[sel]],
            "setting_type": setting[sel],
            "admission_date": adm[sel].astype("datetime64[D]"),
            "discharge_date": np.where(open_stay[sel], np.datetime64("NaT"), dis[sel].astype("datetime64[D]")),
            "legal_basis": legal[sel],
            "discharge_destination": np.where(open_stay[sel], None, dest[sel]),
        }))
        alive = active & ~turns18 & ~open_stay & ~last
        prev_site = np.where(active, site, prev_site)
        prev_dis = dis
        next_kind = np.where(dest == "transfer_secure", 0, np.where(kind == 0, 1, kind))
    stays = pd.concat(rows, ignore_index=True).sort_values(["child_index", "stay_no"], ignore_index=True)
    # A transfer is always followed by a stay: the next admission is the same day, which is
    # before the 18th birthday (else the stay ended in the young adult estate) and before the cutoff.
    return stays, dob


def generate_world(n_children: int, seed: int) -> World:
    """Draw ``n_children`` children and their true pathways; deterministic for (n, seed)."""
    if n_children < 1:
        raise ValueError("n_children must be at least 1")
    r = streams(seed)
    children = _children(r, n_children)
    stays, dob = _pathways(r["pathway"], children)
    children["date_of_birth"] = dob.astype("datetime64[D]")
    # PNC ids for most children with a remand or sentenced stay (year of first such stay).
    custody = stays[stays["legal_basis"] != "welfare_s25"].groupby("child_index")["admission_date"].min()
    has_pnc = np.zeros(n_children, dtype=bool)
    has_pnc[custody.index.to_numpy()] = True
    has_pnc &= children["_has_pnc"].to_numpy()
    first_custody = np.full(n_children, np.datetime64("2020-01-01"), dtype="datetime64[D]")
    first_custody[custody.index.to_numpy()] = custody.to_numpy().astype("datetime64[D]")
    # Arrest (and PNC record) happens before admission: up to two years earlier.
    years = first_custody.astype("datetime64[Y]").astype(np.int64) + 1970
    years = years - (children["_pnc_u"].to_numpy() < 0.4).astype(np.int64)
    ri = r["identifiers"]
    pnc = ids.draw_pnc_ids(ri, years)
    children["pnc_id"] = np.where(has_pnc, pnc, None)
    yoi_children = np.zeros(n_children, dtype=bool)
    yoi_children[stays.loc[stays["setting_type"] == "YOI", "child_index"].to_numpy()] = True
    prison = ids.draw_prison_numbers(ri, n_children)
    children["prison_number"] = np.where(yoi_children, prison, None)
    welfare = np.zeros(n_children, dtype=bool)
    welfare[stays.loc[stays["legal_basis"] == "welfare_s25", "child_index"].to_numpy()] = True
    children["looked_after"] = children["_looked_after"].to_numpy() | welfare
    children["la_child_id"] = np.where(children["looked_after"], children["la_child_id"], None)
    children = children.drop(columns=["_looked_after", "_has_pnc", "_pnc_u"])
    stays.insert(0, "true_child_id", children["true_child_id"].to_numpy()[stays["child_index"].to_numpy()])
    return World(n_children=n_children, seed=seed, children=children, stays=stays)
