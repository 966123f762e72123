"""A tuned Splink 5 (DuckDB) linkage of a canonical person table: the benchmark's reference.

This is what a competent analyst would build with Splink for this data, so that comparing
stairs-link against it is fair:

* blocking: identifiers (NHS number, UPN, PNC ID), date of birth, full name, family name +
  birth year + given initial, family name + birth day and month, given name + birth month
  or day (day-month swaps), postcode + given-name initial, and phonetic codes of both names
  (several rules, OR-ed, duplicate pairs removed by Splink; 99.7% blocking recall at 105k);
* comparisons: given and family name (exact with term-frequency adjustment, Jaro-Winkler
  0.92 / 0.88, metaphone, Jaro-Winkler 0.7), the two names swapped, date of birth (exact,
  day-month swap, one-character typo, within a month / a year), sex, postcode (full,
  sector, district), and each identifier (exact, one-character keying error, different);
* training without labels: prior from deterministic rules, u by random sampling (fixed
  seed), m by EM on two training blocking rules (each rule trains the comparisons it does
  not block on);
* predict above a low probability, then connected components at a high threshold.

Run directly for one linkage (the benchmark calls it in a separate process):
    python bench/splink_reference.py PERSON.parquet CLUSTERS.parquet [--link-only-column COL]
Splink is a benchmark-only dependency (the `bench` extra), never imported by stairs_link.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa

# Cluster threshold: the best mean F1 over the 11.5k and 100k synthetic sets of 0.9-0.999
# (bench/README.md has the sweep); one value for every dataset, as an analyst would fix it.
PREDICT_THRESHOLD = 0.5
CLUSTER_THRESHOLD = 0.99
U_MAX_PAIRS = 1e6  # 5e6-2e7 gave the same F1 (11.5k, 100k, FEBRL4) at 1.5-3x the training time
SEED = 42

NAME_COLUMNS = ("given_name", "family_name")
ID_COLUMNS = ("nhs_number", "upn", "pnc_id")
# Not canonical, but compared when a benchmark table carries them (FEBRL4's address and
# social security fields): free text by Jaro-Winkler, codes by edit distance.
EXTRA_TEXT_COLUMNS = ("address_1", "address_2", "suburb")
EXTRA_CODE_COLUMNS = ("street_number", "soc_sec_id", "state")
UK_POSTCODE = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$"


def _metaphone(values: pd.Series) -> pd.Series:
    """Metaphone of each name, computed once per distinct value (names repeat a lot)."""
    import jellyfish

    distinct = values.dropna().unique()
    codes = {v: (jellyfish.metaphone(v) or None) for v in distinct}
    return values.map(codes)


def prepare(person: pd.DataFrame) -> pa.Table:
    """Columns Splink compares: names upper-cased, metaphone codes, date of birth as DATE
    plus its parts (for the day-month swap level). Empty strings become nulls, as Splink
    treats '' as a value."""
    out = pd.DataFrame({"unique_id": person["record_key"].astype(str)})
    for column in NAME_COLUMNS:
        values = person[column].astype("string").str.upper().str.strip().replace("", pd.NA)
        out[column] = values
        out[f"{column}_mp"] = _metaphone(values.astype(object).where(values.notna(), None))
    dob = pd.to_datetime(person["date_of_birth"], errors="coerce")
    out["date_of_birth"] = dob.dt.date
    out["dob_year"] = dob.dt.year.astype("Int32")
    out["dob_month"] = dob.dt.month.astype("Int32")
    out["dob_day"] = dob.dt.day.astype("Int32")
    for column in ("sex", "postcode", *ID_COLUMNS):  # canonical: always present for Splink
        out[column] = (person[column].astype("string").str.strip().replace("", pd.NA)
                       if column in person.columns else pd.Series(pd.NA, index=person.index, dtype="string"))
    for column in (*EXTRA_TEXT_COLUMNS, *EXTRA_CODE_COLUMNS):  # optional extras
        if column in person.columns:
            out[column] = person[column].astype("string").str.strip().replace("", pd.NA)
    table = pa.Table.from_pandas(out, preserve_index=False)
    return table.set_column(
        table.schema.get_field_index("date_of_birth"), "date_of_birth",
        table.column("date_of_birth").cast(pa.date32()),
    )


def _settings(link_type: str, present: set[str], uk_postcodes: bool):
    """The Splink model: comparisons and prediction blocking rules (only on present columns)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    def name_comparison(column: str):
        return cl.CustomComparison(
            output_column_name=column,
            comparison_levels=[
                cll.NullLevel(column),
                cll.ExactMatchLevel(column, term_frequency_adjustments=True),
                cll.JaroWinklerLevel(column, 0.92),
                cll.JaroWinklerLevel(column, 0.88),
                cll.ExactMatchLevel(f"{column}_mp").configure(label_for_charts="Metaphone match"),
                cll.JaroWinklerLevel(column, 0.7),
                cll.ElseLevel(),
            ],
        )

    comparisons = [
        name_comparison("given_name"),
        name_comparison("family_name"),
        cl.CustomComparison(
            output_column_name="names_swapped",
            comparison_levels=[
                cll.CustomLevel("(given_name_l IS NULL OR family_name_l IS NULL OR "
                                "given_name_r IS NULL OR family_name_r IS NULL)").configure(is_null_level=True),
                cll.ColumnsReversedLevel("given_name", "family_name", symmetrical=True),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="date_of_birth",
            comparison_levels=[
                cll.NullLevel("date_of_birth"),
                cll.ExactMatchLevel("date_of_birth"),
                cll.CustomLevel(
                    "dob_year_l = dob_year_r AND dob_month_l = dob_day_r AND dob_day_l = dob_month_r",
                    label_for_charts="Day and month swapped",
                ),
                cll.LevenshteinLevel(
                    __import__("splink").ColumnExpression("date_of_birth").cast_to_string(), 1
                ).configure(label_for_charts="One character different"),
                cll.AbsoluteDateDifferenceLevel("date_of_birth", input_is_string=False,
                                                threshold=1, metric="month"),
                cll.AbsoluteDateDifferenceLevel("date_of_birth", input_is_string=False,
                                                threshold=1, metric="year"),
                cll.ElseLevel(),
            ],
        ),
    ]
    if "sex" in present:
        comparisons.append(cl.ExactMatch("sex"))
    if "postcode" in present:
        # Splink's postcode levels (sector, district) assume UK postcodes.
        comparisons.append(cl.PostcodeComparison("postcode") if uk_postcodes
                           else cl.DamerauLevenshteinAtThresholds("postcode", 1))
    for column in (*ID_COLUMNS, *EXTRA_CODE_COLUMNS):
        if column in present:
            comparisons.append(cl.DamerauLevenshteinAtThresholds(column, 1))
    for column in EXTRA_TEXT_COLUMNS:
        if column in present:
            comparisons.append(cl.JaroWinklerAtThresholds(column, [0.94, 0.8]))

    rules = [block_on(c) for c in (*ID_COLUMNS, "soc_sec_id") if c in present]
    rules += [
        block_on("date_of_birth"),
        block_on("given_name", "family_name"),
        # (family, year) alone made 3.8M of 6.4M pairs at 105k; these two keep its blocking
        # recall (99.675% vs 99.682% of true pairs) with 0.73M pairs.
        block_on("family_name", "dob_year", "substr(given_name, 1, 1)"),
        block_on("family_name", "dob_month", "dob_day"),
        block_on("given_name", "dob_year", "dob_month"),
        block_on("given_name", "dob_year", "dob_day"),  # catches day-month swaps
        block_on("given_name_mp", "family_name_mp"),
    ]
    if "postcode" in present:
        rules.append(block_on("postcode", "substr(given_name, 1, 1)"))
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def splink_link(
    person: pd.DataFrame,
    *,
    link_only_column: str | None = None,
    predict_threshold: float = PREDICT_THRESHOLD,
    cluster_threshold: float = CLUSTER_THRESHOLD,
) -> tuple[pd.DataFrame, dict]:
    """Link ``person`` with Splink; returns clusters (record_key, cluster_id) and timings.

    With ``link_only_column`` the records are split into one input table per value and
    linked across tables only (FEBRL4's two files), otherwise deduplicated as one table.
    """
    import splink.comparison_level_library  # noqa: F401 - fail early if splink is missing
    from splink import DuckDBAPI, Linker, block_on

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prepared = prepare(person)
    present = {c for c in ("sex", "postcode", *ID_COLUMNS, *EXTRA_TEXT_COLUMNS, *EXTRA_CODE_COLUMNS)
               if c in prepared.column_names and prepared.column(c).null_count < prepared.num_rows}
    postcodes = prepared.column("postcode").to_pandas().dropna()
    uk_postcodes = bool(len(postcodes)) and postcodes.str.match(UK_POSTCODE).mean() > 0.5
    db_api = DuckDBAPI()
    if link_only_column:
        groups = person[link_only_column].astype(str).to_numpy()
        inputs = [db_api.register(prepared.filter(pa.array(groups == g)), table_name=f"t_{i}")
                  for i, g in enumerate(sorted(set(groups)))]
        link_type = "link_only"
    else:
        inputs = db_api.register(prepared, table_name="person")
        link_type = "dedupe_only"
    linker = Linker(inputs, _settings(link_type, present, uk_postcodes), log_level=logging.WARNING)
    timings["prepare"] = time.perf_counter() - t0

    t = time.perf_counter()
    deterministic = [block_on("given_name", "family_name", "date_of_birth")]
    deterministic += [block_on(c) for c in ID_COLUMNS if c in present]
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
    # Each EM session trains the comparisons its rule does not block on.
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"), estimate_without_term_frequencies=True)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "family_name"), estimate_without_term_frequencies=True)
    timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=predict_threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=cluster_threshold)
    result = clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    timings["predict_cluster"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    out = result.rename(columns={"unique_id": "record_key"})
    return out, {"timings": timings, "link_type": link_type,
                 "comparisons": sorted(present | {"given_name", "family_name", "date_of_birth"})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("person", type=Path, help="canonical person Parquet")
    parser.add_argument("clusters", type=Path, help="where to write record_key, cluster_id")
    parser.add_argument("--link-only-column", default=None)
    parser.add_argument("--predict-threshold", type=float, default=PREDICT_THRESHOLD)
    parser.add_argument("--cluster-threshold", type=float, default=CLUSTER_THRESHOLD)
    args = parser.parse_args(argv)
    person = pd.read_parquet(args.person)
    clusters, info = splink_link(person, link_only_column=args.link_only_column,
                                 predict_threshold=args.predict_threshold,
                                 cluster_threshold=args.cluster_threshold)
    clusters.to_parquet(args.clusters, index=False)
    json.dump(info, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
