"""From the true world to damaged person records: one per child per site system registration.

``person_records`` returns canonical ``person`` rows directly (what a perfect adapter would
stage from the exports) plus the ground truth; the export renderers start from the same
damaged frame (``damaged_records``) and write it in each system's own layout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stairs_link.schema import columns_of
from stairs_link.schema.codes import ETHNIC_GROUP
from stairs_link.standardise import identifiers as std
from stairs_link.synth import damage as dmg
from stairs_link.synth.damage import DamageConfig
from stairs_link.synth.names import NICKNAMES, variant_table
from stairs_link.synth.sites import COVERAGE, NEW_RECORD_ON_READMISSION, SITES, SYSTEM_KIND
from stairs_link.synth.world import EXTRACT_DATE, World, generate_world, streams

# Share of records in each system that hold each identifier / optional field (when the child
# has one). Systems record what their purpose needs: health the NHS number, education the
# UPN, custody the PNC id and prison number, social care the LA child id.
CAPTURE: dict[str, dict[str, float]] = {
    "systmone": {"nhs_number": 0.97, "postcode": 0.9, "middle_names": 1.0, "ethnicity": 0.95},
    "carenotes": {"nhs_number": 0.9, "postcode": 0.8, "middle_names": 0.0, "ethnicity": 0.9},
    "nomis": {"pnc_id": 0.9, "prison_number": 1.0, "postcode": 0.5, "middle_names": 1.0, "ethnicity": 0.97},
    "case-manager": {"pnc_id": 0.6, "la_child_id": 0.7, "nhs_number": 0.3, "upn": 0.3, "postcode": 0.85,
                     "middle_names": 0.5, "ethnicity": 0.8},
    "sims": {"upn": 0.93, "postcode": 0.9, "middle_names": 1.0, "ethnicity": 0.9},
    "arbor": {"upn": 0.9, "postcode": 0.7, "middle_names": 0.0, "ethnicity": 0.85},
    "lcs": {"la_child_id": 1.0, "upn": 0.6, "nhs_number": 0.5, "postcode": 0.9, "middle_names": 1.0,
            "ethnicity": 0.95},
    "mosaic": {"la_child_id": 1.0, "upn": 0.7, "postcode": 0.0, "middle_names": 0.0, "ethnicity": 0.95},
}

IDENTIFIERS = ("nhs_number", "upn", "pnc_id", "prison_number", "la_child_id")
CHECKED_IDENTIFIERS = ("nhs_number", "upn", "pnc_id")  # those with a check character

# How each system stores names (the canonical table keeps the recorded form).
UPPERCASE_FAMILY = {"carenotes", "nomis"}
UPPERCASE_GIVEN = {"nomis"}
ASCII_ONLY = {"nomis", "arbor"}  # cp1252 / ASCII-only systems lose non-Latin-1 characters

# The person export file of each layout (provenance for person_records).
PERSON_FILE: dict[str, str] = {
    "systmone": "patients.csv", "carenotes": "carenotes_patients.xlsx", "nomis": "offenders.txt",
    "case-manager": "young_people.json", "sims": "students.csv", "arbor": "arbor_students.csv",
    "lcs": "ssd_person.csv", "mosaic": "header.csv",
}


def _local_ids(system: str, site_no: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Each system's own local id scheme (unique within a site and system)."""
    seq = seq.astype(np.int64)
    if system == "systmone":
        vals = (5_000_000_000 + site_no * 100_000_000 + seq * 37 + 11).astype(str)
    elif system == "carenotes":
        vals = np.char.add("CN", np.char.zfill((100_000 + seq).astype(str), 6))
    elif system == "nomis":
        vals = (1_100_000 + site_no * 200_000 + seq * 3).astype(str)
    elif system == "case-manager":
        vals = np.char.add(np.char.add("YP-", np.char.zfill((site_no * 10 + 1).astype(str), 2)),
                           np.char.add("-", np.char.zfill((seq + 1).astype(str), 5)))
    elif system == "sims":
        vals = np.char.zfill((seq + 1).astype(str), 6)
    elif system == "arbor":
        vals = np.char.add("STU", (4_000_000 + seq * 7).astype(str))
    elif system == "lcs":
        vals = (300_000 + site_no * 50_000 + seq).astype(str)
    elif system == "mosaic":
        vals = np.char.add("M", np.char.zfill((seq + 1).astype(str), 7))
    else:  # pragma: no cover - registry and schemes are kept together
        raise KeyError(system)
    return vals.astype(object)


def _group_starts(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a sorted key array: (True where a new group starts, group number of each row)."""
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    return first, np.cumsum(first) - 1


def _position_in_group(first: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run that ``first`` starts."""
    idx = np.arange(len(first))
    return idx - np.maximum.accumulate(np.where(first, idx, 0))


def _registrations(world: World, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Which records exist: one row per (child, site, system, registration), and the
    stay-by-system units (one row per true stay and system that recorded it, with the
    ``record_key`` of the record that holds it). Pure numpy on integer group keys."""
    stays = world.stays
    systems = sorted(SYSTEM_KIND)
    sys_code = {name: i for i, name in enumerate(systems)}
    site_of_stay = stays["site_id"].map({s.site_id: i for i, s in enumerate(SITES)}).to_numpy()
    site_systems = [np.array([sys_code[x] for x in s.systems]) for s in SITES]
    n_sys = np.array([len(x) for x in site_systems])
    offsets = np.concatenate([[0], np.cumsum(n_sys)[:-1]])
    flat_sys = np.concatenate(site_systems)
    # one unit per (stay, system of the stay's site)
    stay_idx = np.repeat(np.arange(len(stays)), n_sys[site_of_stay])
    first_of_stay, _ = _group_starts(stay_idx)
    within = _position_in_group(first_of_stay)
    site_no = site_of_stay[stay_idx]
    system = flat_sys[offsets[site_no] + within]
    child = stays["child_index"].to_numpy()[stay_idx]
    # group = (child, site, system); stays are in admission order within a child already
    gkey = (child.astype(np.int64) * len(SITES) + site_no) * len(systems) + system
    order = np.argsort(gkey, kind="stable")
    stay_idx, site_no, system, child, gkey = stay_idx[order], site_no[order], system[order], child[order], gkey[order]
    first, group = _group_starts(gkey)
    # Coverage decided once per (child, site, system): a child is in a system at a site or not.
    u = rng.random(int(first.sum()))[group]
    kind = np.array([SYSTEM_KIND[x] for x in systems], dtype=object)[system]
    p = np.array([COVERAGE[SYSTEM_KIND[x]] for x in systems])[system]
    looked_after = world.children["looked_after"].to_numpy()[child]
    welfare = (stays["legal_basis"].to_numpy() == "welfare_s25")[stay_idx]
    welfare_here = np.bincount(group, weights=welfare.astype(float))[group] > 0
    covered = np.where(kind == "social_care", welfare_here | (looked_after & (u < 0.6)), u < p)
    stay_idx, site_no, system, child, gkey = (a[covered] for a in (stay_idx, site_no, system, child, gkey))
    first, group = _group_starts(gkey)
    # Re-admission to the same site: most systems reuse the child's record, some open a new one.
    p_new = np.array([NEW_RECORD_ON_READMISSION[x] for x in systems])[system]
    new = first | (rng.random(len(gkey)) < p_new)
    reg_of_unit = np.cumsum(new) - 1  # registration number, global
    adm = stays["admission_date"].to_numpy().astype("datetime64[D]")
    r_child, r_site, r_sys = child[new], site_no[new], system[new]
    r_first_adm = adm[stay_idx[new]]
    # Local ids numbered in order of first admission within each site system.
    reg_order = np.lexsort((reg_of_unit[new], r_child, r_first_adm, r_sys, r_site))
    rank = np.empty(len(reg_order), dtype=np.int64)
    rank[reg_order] = np.arange(len(reg_order))
    block = r_site[reg_order] * len(systems) + r_sys[reg_order]
    block_first, _ = _group_starts(block)
    seq_sorted = _position_in_group(block_first)
    site_ids = np.array([s.site_id for s in SITES], dtype=object)
    settings = np.array([s.setting_type for s in SITES], dtype=object)
    names = np.array(systems, dtype=object)
    regs = pd.DataFrame({
        "child_index": r_child[reg_order],
        "site_no": r_site[reg_order],
        "source_system": names[r_sys[reg_order]],
        "site_id": site_ids[r_site[reg_order]],
        "setting_type": settings[r_site[reg_order]],
        "system_kind": kind_of(names[r_sys[reg_order]]),
        "first_admission": r_first_adm[reg_order],
        "seq": seq_sorted,
    })
    local = np.empty(len(regs), dtype=object)
    for code, name in enumerate(systems):
        sel = r_sys[reg_order] == code
        if sel.any():
            local[sel] = _local_ids(name, regs["site_no"].to_numpy()[sel], seq_sorted[sel])
    regs["local_id"] = local
    regs["record_key"] = regs["site_id"] + ":" + regs["source_system"] + ":" + regs["local_id"]
    units = stays.iloc[stay_idx].reset_index(drop=True)
    units["source_system"] = names[system]
    units["system_kind"] = kind_of(names[system])
    units["record_key"] = regs["record_key"].to_numpy()[rank[reg_of_unit]]
    return regs, units


def kind_of(systems: np.ndarray) -> np.ndarray:
    """System kind of each layout name."""
    return pd.Series(systems, dtype=object).map(SYSTEM_KIND).to_numpy(dtype=object)


def damaged_records(world: World, damage: DamageConfig | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Person records with damage applied, identifiers as *keyed* (possibly failing checks).

    Returns ``(records, units)``. ``records`` has the canonical person fields plus
    ``true_child_id``, ``child_index``, ``site_no``, ``seq``, ``first_admission``,
    ``<identifier>_valid`` flags and ``<identifier>_damage`` notes; ``units`` maps each true
    stay to the ``record_key`` of every system that recorded it (for the event tables).
    """
    damage = damage or DamageConfig()
    r = streams(world.seed)
    rng = r["records"]
    regs, units = _registrations(world, rng)
    rd = r["damage"]
    ch = world.children
    ci = regs["child_index"].to_numpy()
    n = len(regs)
    system = regs["source_system"].to_numpy()

    def col(name: str) -> np.ndarray:
        return ch[name].to_numpy()[ci]

    def draw(rate: float) -> np.ndarray:
        return rd.random(n) < rate

    def capture(field: str) -> np.ndarray:
        rates = np.array([CAPTURE[s].get(field, 0.0) for s in sorted(CAPTURE)])
        code = pd.Index(sorted(CAPTURE)).get_indexer(system)
        return rd.random(n) < rates[code]

    given = col("given_name").copy()
    family = col("family_name").copy()
    middle = col("middle_names").copy()
    alt = col("alt_family_name")
    use_alt = draw(damage.alt_family_name) & pd.notna(alt)
    family = np.where(use_alt, alt, family)
    variants = variant_table()
    m = draw(damage.nickname) & dmg.has_variant(given, NICKNAMES)
    given[m] = dmg.lookup_variant(given[m], NICKNAMES, rd)
    m = draw(damage.transliteration) & dmg.has_variant(given, variants)
    given[m] = dmg.lookup_variant(given[m], variants, rd)
    family_variants = variant_table(family=True)
    m = draw(damage.transliteration) & dmg.has_variant(family, family_variants)
    family[m] = dmg.lookup_variant(family[m], family_variants, rd)
    m = draw(damage.given_typo)
    given[m] = dmg.typos(given[m], rd)
    m = draw(damage.family_typo)
    family[m] = dmg.typos(family[m], rd)
    has_middle = pd.notna(middle)
    m = draw(damage.middle_in_given) & has_middle
    given[m] = given[m] + " " + middle[m]
    middle = np.where(m | draw(damage.middle_dropped) | ~capture("middle_names"), None, middle)
    m = draw(damage.name_swap)
    given[m], family[m] = family[m].copy(), given[m].copy()
    fold = draw(damage.ascii_fold) | np.isin(system, list(ASCII_ONLY))
    given[fold] = dmg.fold_ascii(given[fold])
    family[fold] = dmg.fold_ascii(family[fold])
    mid_fold = fold & pd.notna(middle)
    middle[mid_fold] = dmg.fold_ascii(middle[mid_fold])
    upper_f = np.isin(system, list(UPPERCASE_FAMILY))
    family[upper_f] = pd.Series(family[upper_f], dtype=object).str.upper().to_numpy()
    upper_g = np.isin(system, list(UPPERCASE_GIVEN))
    given[upper_g] = pd.Series(given[upper_g], dtype=object).str.upper().to_numpy()
    mid_up = upper_g & pd.notna(middle)
    middle[mid_up] = pd.Series(middle[mid_up], dtype=object).str.upper().to_numpy()

    dob = col("date_of_birth").astype("datetime64[D]").astype(np.int64)
    dob = dmg.damage_dates(dob, draw(damage.dob_day_month_swap), draw(damage.dob_digit_typo), rd)
    dob_missing = draw(damage.dob_missing)

    sex = col("sex").copy()
    flip = draw(damage.sex_wrong) & np.isin(sex, ["male", "female"])
    sex[flip] = np.where(sex[flip] == "male", "female", "male")
    sex_missing = draw(damage.sex_missing)
    sex = np.where(sex_missing, np.where(rd.random(n) < 0.5, "unknown", None), sex)

    eth = col("ethnicity").copy()
    m = draw(damage.ethnicity_other_code)
    eth[m] = _neighbour_ethnicity(eth[m], rd)
    eth = np.where(draw(damage.ethnicity_missing) | ~capture("ethnicity"), np.where(rd.random(n) < 0.5, "Z", "99"), eth)

    moved = col("moved_postcode")
    postcode = np.where(pd.notna(moved) & draw(damage.postcode_moved), moved, col("postcode"))
    m = draw(damage.postcode_typo)
    postcode[m] = dmg.digit_typos(postcode[m], rd)
    postcode = np.where(capture("postcode"), postcode, None)

    cols = {
        "record_key": regs["record_key"].to_numpy(),
        "site_id": regs["site_id"].to_numpy(),
        "setting_type": regs["setting_type"].to_numpy(),
        "system_kind": regs["system_kind"].to_numpy(),
        "source_system": system,
        "local_id": regs["local_id"].to_numpy(),
        "given_name": given,
        "middle_names": middle,
        "family_name": family,
        "date_of_birth": np.where(dob_missing, np.datetime64("NaT"), dob.astype("datetime64[D]")),
        "sex": sex,
        "ethnicity": eth,
        "postcode": postcode,
    }
    # Identifiers: captured per system, some mistyped, a few valid but another child's.
    for field in IDENTIFIERS:
        true = col(field)
        value = np.where(capture(field) & pd.notna(true), true, None)
        present = pd.notna(value)
        wrong = draw(damage.id_wrong_valid) & present
        if wrong.any():
            pool = true[pd.notna(true)]
            value[wrong] = pool[rd.integers(0, len(pool), int(wrong.sum()))]
        typo = draw(damage.id_mistyped) & present & ~wrong
        if field == "pnc_id":  # the century digits are not covered by the check letter
            head = pd.Series(value[typo], dtype=object).str[:2].to_numpy(dtype=object)
            tail = pd.Series(value[typo], dtype=object).str[2:].to_numpy(dtype=object)
            value[typo] = head + dmg.digit_typos(tail, rd)
        else:
            value[typo] = dmg.digit_typos(value[typo], rd)
        cols[field] = value
        if field in CHECKED_IDENTIFIERS:
            # Untouched values come from the generated (valid) pools, so only the mistyped
            # ones need checking; the tests check the untouched ones independently.
            valid = present.copy()
            valid[typo] = _valid(field, value[typo])
            cols[f"{field}_valid"] = valid
        cols[f"{field}_damage"] = np.where(wrong, "wrong_valid", np.where(typo, "mistyped", None))
    cols["true_child_id"] = col("true_child_id")
    cols["child_index"] = ci
    cols["site_no"] = regs["site_no"].to_numpy()
    cols["seq"] = regs["seq"].to_numpy()
    cols["first_admission"] = regs["first_admission"].to_numpy()
    return pd.DataFrame(cols), units


_NEIGHBOURS = {
    "A": "BC", "B": "AC", "C": "AS", "D": "MGA", "E": "NG", "F": "GH", "G": "DS", "H": "L", "J": "L",
    "K": "L", "L": "HS", "M": "PD", "N": "P", "P": "MN", "R": "L", "S": "CG",
}


def _neighbour_ethnicity(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another plausible code for the same child (e.g. D recorded as M, N as P)."""
    table = {k: tuple(v) for k, v in _NEIGHBOURS.items()}
    return dmg.lookup_variant(codes, table, rng)


def _valid(field: str, values: np.ndarray) -> np.ndarray:
    """True where a keyed identifier passes its check, by the project's own standardisers
    (exactly what an adapter would accept)."""
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    check = {"nhs_number": std.nhs_number, "upn": std.upn, "pnc_id": std.pnc_id}[field]
    result = check(pd.Series(values, dtype=object))
    return result.value.notna().to_numpy()


def person_records(
    n_children: int, seed: int, damage: DamageConfig | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical ``person`` rows for a synthetic world, and the ground truth.

    Identifiers that fail their check are nulled, as an adapter would do (it reports them to
    rejects); valid-but-wrong identifiers stay. Provenance: ``source_file`` is the system's
    person export, ``source_row`` the record's row in it, ``mapping_id`` "synth".
    Truth columns: record_key, true_child_id, ethnic_group, sex (+ ethnicity, name_origin).
    """
    world = generate_world(n_children, seed)
    rec, _ = damaged_records(world, damage)
    return _canonical(rec), truth_records(world, rec)


def _canonical(rec: pd.DataFrame) -> pd.DataFrame:
    cols = {c.name: rec[c.name].to_numpy() for c in columns_of("person") if c.name in rec.columns}
    for field in CHECKED_IDENTIFIERS:
        cols[field] = np.where(rec[f"{field}_valid"].to_numpy(), rec[field].to_numpy(), None)
    cols["date_of_birth"] = pd.to_datetime(rec["date_of_birth"]).dt.date.to_numpy()
    cols["source_file"] = rec["source_system"].map(PERSON_FILE).to_numpy()
    cols["source_row"] = rec["seq"].to_numpy() + 1
    cols["extracted_at"] = np.full(len(rec), EXTRACT_DATE + "T06:00:00", dtype=object)
    cols["mapping_id"] = np.full(len(rec), "synth", dtype=object)
    return pd.DataFrame(cols)


def truth_records(world: World, rec: pd.DataFrame) -> pd.DataFrame:
    """Ground truth per record: record_key -> true child, with true ethnic group and sex."""
    ch = world.children
    ci = rec["child_index"].to_numpy()
    eth = ch["ethnicity"].to_numpy()[ci]
    return pd.DataFrame({
        "record_key": rec["record_key"].to_numpy(),
        "true_child_id": rec["true_child_id"].to_numpy(),
        "ethnic_group": pd.Series(eth).map(ETHNIC_GROUP).to_numpy(),
        "sex": ch["sex"].to_numpy()[ci],
        "ethnicity": eth,
        "name_origin": ch["origin"].to_numpy()[ci],
    })
