"""Plain vs pseudonymised linkage, side by side (issue 6): does linking on keyed tokens and
Bloom-filter encodings cost accuracy?

For each dataset the same person table is linked twice with ``stairs_link.linkage.link_table``:

* plain: the engine's defaults (FEBRL4: the same configuration as ``bench_linkage.py``);
* pseudonymised: the table through ``stairs_link.privacy.pseudonymise_frame`` with a fresh
  random key (names, date of birth, postcode -> Bloom encodings; identifiers -> keyed tokens;
  plaintext nulled), linked with the bundled ``pseudonymised`` preset (Dice levels, token
  agreement, MinHash blocking). FEBRL4's extra fields are encoded too (free text and codes
  as Bloom filters in their own spaces, ``state`` as a token), as clkhash's FEBRL schema does.

Both are scored with ``stairs_link.linkage.evaluate.evaluate_clusters`` against the truth
(the truth's record keys mapped to the pseudonymised ones with the same key).

Published reference: clkhash + anonlink reached precision 1.000, recall 0.992 on FEBRL4 at
threshold 0.8. Target: pseudonymised F1 within 0.5 points of plain F1.

Usage (from the repository root):
    python bench/bench_privacy.py                        # febrl4 and synth 11.5k
    python bench/bench_privacy.py --sizes febrl4,25k --json bench_privacy.json
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_linkage import Dataset, _stairs_config, febrl4, parse_size, synthetic  # noqa: E402

FEBRL_TEXT = ("address_1", "address_2", "suburb", "soc_sec_id", "street_number")


def pseudonymise_person(person: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """The person table as a site would send it with ``adapt --pseudonymise`` (plus FEBRL's
    extra columns, encoded in their own Bloom spaces, ``state`` tokenised)."""
    from stairs_link.privacy import NAME_PARAMS, bloom_encode, keyed_token, pseudonymise_frame

    out = pseudonymise_frame("person", person, key)
    for column in FEBRL_TEXT:
        if column in person.columns:
            text = person[column].astype("string").str.strip().str.upper()
            out[f"{column}_bf"] = bloom_encode(text, key, column.replace("_", "-"), NAME_PARAMS)
            out[column] = None
    if "state" in person.columns:
        out["state"] = keyed_token(person["state"].astype("string"), key, "state")
    return out


def pseudonymised_config(person: pd.DataFrame, plain_config: Any) -> Any:
    """The ``pseudonymised`` preset, mirroring the plain configuration: the same comparisons
    (by name; e.g. none for FEBRL4's absent NHS number), FEBRL4's extra fields as Bloom
    comparisons, the same identifier and cannot-link rules."""
    from stairs_link.linkage import BlockingRule, Comparison, LinkageConfig

    config = LinkageConfig.preset("pseudonymised")
    plain_names = {c.name for c in plain_config.comparisons}
    comparisons = [c for c in config.comparisons if c.name in plain_names]
    for column in (c for c in FEBRL_TEXT if f"{c}_bf" in person.columns):
        thresholds = (0.9, 0.75) if column in ("address_1", "address_2", "suburb") else (0.85, 0.7)
        comparisons.append(Comparison(column, "bloom", f"{column}_bf", thresholds=thresholds))
    if "state" in person.columns:
        comparisons.append(Comparison("state", "exact", "state"))
    blocking = list(config.blocking)
    if "soc_sec_id_bf" in person.columns:
        blocking += [BlockingRule("soc_sec_id", ("soc_sec_id_bf",)),
                     BlockingRule("suburb_family_band0", ("suburb_bf", "family_name_bf:minhash0"))]
    # rules on columns without any value (FEBRL4: tokens, postcode_bf is kept) find nothing
    blocking = [b for b in blocking if all(person[c].notna().any() for c in b.columns())]
    return replace(config, comparisons=tuple(comparisons), blocking=tuple(blocking),
                   deterministic_identifiers=plain_config.deterministic_identifiers,
                   cannot_link_identifiers=plain_config.cannot_link_identifiers,
                   cannot_link_same_source=plain_config.cannot_link_same_source)


def run_one(person: pd.DataFrame, truth: pd.DataFrame, config: Any) -> dict[str, Any]:
    from stairs_link.linkage import link_table
    from stairs_link.linkage.evaluate import evaluate_clusters

    start = time.perf_counter()
    output = link_table(person, config=config, progress=False)
    seconds = time.perf_counter() - start
    result = evaluate_clusters(output.clusters[["record_key", "cluster_id"]], truth[["record_key", "true_child_id"]])
    return {"records": len(person), "precision": result["precision"], "recall": result["recall"],
            "f1": result["f1"], "bcubed_f1": result["bcubed_f1"], "seconds": round(seconds, 2),
            "compared_pairs": output.summary["compared_pairs"]}


def bench(dataset: Dataset) -> dict[str, Any]:
    from stairs_link.privacy.record_keys import pseudonymised_record_keys

    plain_config = _stairs_config(dataset.person, dataset.link_only_column)
    key = secrets.token_bytes(32)  # a fresh key per run, never written anywhere
    pseudo_person = pseudonymise_person(dataset.person, key)
    pseudo_truth = dataset.truth.assign(record_key=pseudonymised_record_keys(dataset.truth["record_key"], key))
    return {
        "plain": run_one(dataset.person, dataset.truth, plain_config),
        "pseudonymised": run_one(pseudo_person, pseudo_truth, pseudonymised_config(pseudo_person, plain_config)),
    }


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="febrl4,11.5k",
                        help="comma-separated: febrl4 and/or synthetic record counts (e.g. 11.5k, 25k)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results = {}
    for item in args.sizes.split(","):
        dataset = febrl4() if item.strip() == "febrl4" else synthetic(parse_size(item), args.seed)
        print(f"{dataset.name}: linking plain and pseudonymised ...", file=sys.stderr)
        results[dataset.name] = bench(dataset)
    header = f"{'dataset':<14} {'mode':<14} {'records':>8} {'precision':>9} {'recall':>8} {'F1':>8} " \
             f"{'B3 F1':>8} {'pairs':>10} {'link s':>7}"
    print(header)
    print("-" * len(header))
    for name, modes in results.items():
        for mode, r in modes.items():
            print(f"{name:<14} {mode:<14} {r['records']:>8,} {_fmt(r['precision']):>9} {_fmt(r['recall']):>8} "
                  f"{_fmt(r['f1']):>8} {_fmt(r['bcubed_f1']):>8} {r['compared_pairs']:>10,} {r['seconds']:>7.1f}")
        gap = (modes["plain"]["f1"] - modes["pseudonymised"]["f1"]) * 100
        print(f"{name:<14} F1 gap (plain - pseudonymised): {gap:+.2f} points")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
