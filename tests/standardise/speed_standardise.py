"""Informal speed of the standardisers on ~1M synthetic person records (not a test).

Run from the repo root: ``python tests/standardise/speed_standardise.py [N_CHILDREN]``.
Values come from the project's generator (``stairs_link.synth``); dates are re-rendered as
``dd/mm/yy`` text and names as ``FAMILY, Given`` so the parsers have real work to do.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pandas as pd  # noqa: E402

from stairs_link import standardise as std  # noqa: E402
from stairs_link.synth import person_records  # noqa: E402


def main(n_children: int = 240_000) -> None:
    person, _ = person_records(n_children, 1)
    n = len(person)
    dob = pd.to_datetime(person["date_of_birth"])
    dates = dob.dt.strftime("%d/%m/%y")
    full = person["family_name"].str.upper() + ", " + person["given_name"]
    spaced_nhs = person["nhs_number"].str.slice(0, 3) + " " + person["nhs_number"].str.slice(3, 6) + " " + person["nhs_number"].str.slice(6)
    ref = dt.date(2026, 1, 31)
    runs = {
        "tidy_text(given_name)": lambda: std.tidy_text(person["given_name"]),
        "fold_name(family_name)": lambda: std.fold_name(person["family_name"]),
        "split_full_name(family_comma_given)": lambda: std.split_full_name(full, "family_comma_given"),
        "parse_dates(dd/mm/yy)": lambda: std.parse_dates(dates, ["%d/%m/%Y", "%d/%m/%y"], reference_date=ref),
        "nhs_number(spaced)": lambda: std.nhs_number(spaced_nhs),
        "upn": lambda: std.upn(person["upn"]),
        "pnc_id": lambda: std.pnc_id(person["pnc_id"]),
        "prison_number": lambda: std.prison_number(person["prison_number"]),
        "postcode": lambda: std.postcode(person["postcode"]),
        "record_key": lambda: std.record_key(person["site_id"], person["source_system"], person["local_id"]),
    }
    print(f"{n:,} synthetic person records")
    for label, run in runs.items():
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        print(f"{label:38s} {elapsed:6.2f} s  {n / elapsed / 1e6:5.2f} M values/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 240_000)
