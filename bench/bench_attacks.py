"""Attacks on the pseudonymised encodings beside linkage quality, old vs new scheme (issue 18).

For each size a synthetic world is pseudonymised twice with a fresh random key, once with the
scheme before issue 18 (v1: double hashing, no diffusion) and once with the default (v2:
random hashing + keyed linear diffusion). On each, an attacker *without the key* runs:

* frequency alignment (``stairs_link.privacy.attacks.frequency_attack``): given names within
  sex, family names and postcodes overall, dates of birth within the clear year of birth;
* pattern mining (``pattern_mining_attack``): atoms mined from bit positions set together,
  labelled by conditional frequency alignment with the public list's n-grams and a value-level
  hard-EM, each encoding matched to the candidates (public names / postcodes, every date of
  the record's clear year of birth) or rebuilt by chaining its bigrams.

Attacker knowledge: the encodings, the encoding parameters (from the manifest), the clear
columns (sex, year of birth) and a public list from a comparable population: another sample
of the generator (seed 2) with at least 2,330 children (about 10,000 records), never the key.
Schemes (``--schemes``, default ``v1,v2``): v1 the old encoding, v1-balanced, v1-random
(random hashing alone), v2-t2 / v2 / v2-t5 (diffusion over 2, 3, 5 input bits), v2-blip0.02 /
v2-blip0.05 (v2 with random bit flipping per record).

Printed: share of records whose value the attacker names exactly, per field and attack,
beside linkage F1 (plain, and pseudonymised with that scheme; ``link_table``, bundled
``pseudonymised`` preset) and the link time.

Usage (from the repository root):
    python bench/bench_attacks.py --sizes 1.3k,10k,100k
    python bench/bench_attacks.py --sizes 10k --schemes v1,v1-balanced,v1-random,v2-t2,v2,v2-t5,v2-blip0.02
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_linkage import RECORDS_PER_CHILD, _stairs_config, parse_size  # noqa: E402
from bench_privacy import pseudonymised_config, run_one  # noqa: E402

PUBLIC_MIN_CHILDREN = 2330


def clear_values(person: pd.DataFrame) -> dict[str, pd.Series]:
    """The plaintext each encoding was made from (what a re-identification must name)."""
    from stairs_link.standardise import fold_name

    dob = pd.to_datetime(person["date_of_birth"], errors="coerce")
    return {"given_name": fold_name(person["given_name"]).reset_index(drop=True),
            "family_name": fold_name(person["family_name"]).reset_index(drop=True),
            "date_of_birth": dob.dt.strftime("%Y%m%d").astype("string").reset_index(drop=True),
            "postcode": person["postcode"].astype("string").reset_index(drop=True)}


def attack_all(enc: pd.DataFrame, truth: dict[str, pd.Series], public: dict[str, pd.Series],
               public_person: pd.DataFrame, params: Any) -> dict[str, dict[str, float]]:
    from stairs_link.privacy.attacks import (
        dates_of_years,
        frequency_attack,
        pattern_mining_attack,
        reidentification_rate,
        year_digits,
    )

    enc = enc.reset_index(drop=True)
    yob = pd.to_datetime(enc["year_of_birth"].astype("Int64").astype("string") + "-01-01",
                         errors="coerce").dt.year.astype("Int64").astype("string")
    pub_yob = pd.to_datetime(public_person["date_of_birth"], errors="coerce").dt.year.astype("Int64").astype("string")
    rates: dict[str, dict[str, float]] = {f: {} for f in truth}
    seconds: dict[str, float] = {}
    # frequency alignment
    freq = {
        "given_name": frequency_attack(enc["given_name_bf"], public["given_name"], enc["sex"], public_person["sex"]),
        "family_name": frequency_attack(enc["family_name_bf"], public["family_name"]),
        "date_of_birth": frequency_attack(enc["dob_bf"], public["date_of_birth"], yob, pub_yob.reset_index(drop=True)),
        "postcode": frequency_attack(enc["postcode_bf"], public["postcode"]),
    }
    for field, report in freq.items():
        rates[field]["frequency"] = reidentification_rate(report.guesses[0], truth[field])
    # pattern mining: one run per filter space (given and family names share one)
    names = pattern_mining_attack([enc["given_name_bf"], enc["family_name_bf"]], params.name,
                                  pd.concat([public["given_name"], public["family_name"]]))
    seconds["names"] = names.seconds
    rates["given_name"]["pattern"] = reidentification_rate(names.guesses[0], truth["given_name"])
    rates["family_name"]["pattern"] = reidentification_rate(names.guesses[1], truth["family_name"])
    dob = pattern_mining_attack([enc["dob_bf"]], params.date_of_birth, public["date_of_birth"],
                                candidates=dates_of_years, strata=[yob], known_grams=year_digits)
    seconds["date_of_birth"] = dob.seconds
    rates["date_of_birth"]["pattern"] = reidentification_rate(dob.guesses[0], truth["date_of_birth"])
    postcode = pattern_mining_attack([enc["postcode_bf"]], params.postcode, public["postcode"])
    seconds["postcode"] = postcode.seconds
    rates["postcode"]["pattern"] = reidentification_rate(postcode.guesses[0], truth["postcode"])
    rates["_atoms"] = {"names": names.atoms, "date_of_birth": dob.atoms, "postcode": postcode.atoms}
    rates["_seconds"] = seconds
    return rates


def _variant(base: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(base, name=replace(base.name, **changes), date_of_birth=replace(base.date_of_birth, **changes),
                   postcode=replace(base.postcode, **changes))


def _schemes() -> dict[str, Any]:
    from stairs_link.privacy import PrivacyParams

    return {
        "v1": PrivacyParams.v1,  # the encoding before issue 18
        "v1-balanced": lambda: _variant(PrivacyParams.v1(), balanced=True),
        "v1-random": lambda: _variant(PrivacyParams.v1(), hashing="random"),
        "v2-t2": lambda: _variant(PrivacyParams(), diffusion=2),
        "v2": PrivacyParams,  # the default
        "v2-t5": lambda: _variant(PrivacyParams(), diffusion=5),
        "v2-blip0.02": lambda: _variant(PrivacyParams(), flip=0.02),
        "v2-blip0.05": lambda: _variant(PrivacyParams(), flip=0.05),
    }


SCHEMES = _schemes()


def bench_size(records: int, seed: int, schemes: list[str]) -> dict[str, Any]:
    from stairs_link.linkage.evaluate import evaluate_clusters  # noqa: F401  (imported by run_one)
    from stairs_link.privacy import pseudonymise_frame
    from stairs_link.privacy.record_keys import pseudonymised_record_keys
    from stairs_link.synth import person_records

    children = max(1, int(round(records / RECORDS_PER_CHILD)))
    person, truth = person_records(children, seed)
    public_person, _ = person_records(max(children, PUBLIC_MIN_CHILDREN), seed + 1)
    clear = clear_values(person)
    public = clear_values(public_person)
    plain_config = _stairs_config(person, None)
    out: dict[str, Any] = {"records": len(person), "public_records": len(public_person),
                           "plain": run_one(person, truth, plain_config)}
    for scheme in schemes:
        params = SCHEMES[scheme]()
        key = secrets.token_bytes(32)  # fresh per run, never written; the attacker never has it
        enc = pseudonymise_frame("person", person, key, params)
        start = time.perf_counter()
        rates = attack_all(enc, clear, public, public_person, params)
        attack_s = time.perf_counter() - start
        pseudo_truth = truth.assign(record_key=pseudonymised_record_keys(truth["record_key"], key))
        linkage = run_one(enc, pseudo_truth, pseudonymised_config(enc, plain_config))
        out[scheme] = {"attacks": rates, "attack_seconds": round(attack_s, 1), "linkage": linkage}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1.3k,10k", help="comma-separated record counts (e.g. 1.3k,10k,100k)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schemes", default="v1,v2",
                        help=f"comma-separated, first is the old one: {', '.join(SCHEMES)} (v2 = the default)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results = {}
    for item in args.sizes.split(","):
        records = parse_size(item)
        print(f"{item}: encoding (v1, v2), attacking, linking ...", file=sys.stderr)
        results[item] = bench_size(records, args.seed, args.schemes.split(","))
    fields = ("given_name", "family_name", "date_of_birth", "postcode")
    header = (f"{'size':<6} {'records':>8} {'scheme':<13} {'attack':<10} "
              + " ".join(f"{f:>13}" for f in fields) + f" {'F1 plain':>9} {'F1 pseudo':>9} {'gap pts':>7} "
              f"{'link s':>7} {'plain s':>7}")
    print(header)
    print("-" * len(header))
    for item, r in results.items():
        plain = r["plain"]
        for scheme in args.schemes.split(","):
            s = r[scheme]
            link = s["linkage"]
            for attack in ("frequency", "pattern"):
                cells = " ".join(f"{100 * s['attacks'][f][attack]:>12.2f}%" for f in fields)
                print(f"{item:<6} {r['records']:>8,} {scheme:<13} {attack:<10} {cells} {plain['f1']:>9.4f} "
                      f"{link['f1']:>9.4f} {100 * (plain['f1'] - link['f1']):>+7.2f} {link['seconds']:>7.1f} "
                      f"{plain['seconds']:>7.1f}")
            eps = SCHEMES[scheme]().name.blip_epsilon()
            print(f"{'':<6} {'':>8} {scheme:<13} atoms mined: {s['attacks']['_atoms']}, "
                  f"attacks took {s['attack_seconds']} s, {link['compared_pairs']:,} pairs compared"
                  + (f", BLIP epsilon per name bigram {eps:.0f}" if eps else ""))
        print(f"{'':<6} public list: {r['public_records']:,} records (another sample of the generator)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
