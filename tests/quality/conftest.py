"""Small hand-made canonical staged directories for the quality tests (all synthetic)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from stairs_link.schema import write_staged as stage
from stairs_link.standardise import nhs_check_digit, pnc_check_letter, upn_check_letter

EXTRACTED = "2024-03-31T09:00:00"


def valid_nhs_numbers(n: int) -> list[str]:
    """Synthetic NHS numbers with a valid modulus-11 check digit."""
    out, prefix = [], 401023210
    while len(out) < n:
        digit = nhs_check_digit(str(prefix))
        if digit is not None:
            out.append(f"{prefix}{digit}")
        prefix += 7
    return out


def make_tables(site: str = "sch-oakfield", system: str = "systmone", n: int = 6) -> dict[str, pd.DataFrame]:
    """A clean staged dataset: n person records, one stay each, one row in every event table."""
    keys = [f"{site}:{system}:L{i:03d}" for i in range(n)]
    nhs = valid_nhs_numbers(n)
    upns = [upn_check_letter(f"80120000{i:03d}1") + f"80120000{i:03d}1" for i in range(n)]
    pncs = [f"2019/{1000 + i:07d}" + pnc_check_letter("19", f"{1000 + i:07d}") for i in range(n)]
    common = {"source_file": "patients.csv", "extracted_at": EXTRACTED, "mapping_id": "test"}
    person = pd.DataFrame({
        "record_key": keys, "site_id": site, "setting_type": "SCH", "system_kind": "health",
        "source_system": system, "local_id": [f"L{i:03d}" for i in range(n)],
        "given_name": [f"Given{i}" for i in range(n)], "family_name": [f"Family{i}" for i in range(n)],
        "date_of_birth": [dt.date(2008, 1 + i % 12, 1 + i) for i in range(n)],
        "sex": ["male", "female"] * (n // 2) + ["male"] * (n % 2),
        "ethnicity": ["A", "N", "J", "C", "M", "Z"][: n] + ["A"] * max(0, n - 6),
        "postcode": ["LS1 4AP"] * n, "nhs_number": nhs, "upn": upns, "pnc_id": pncs,
        "prison_number": [None] * n, "la_child_id": [None] * n,
        "source_row": range(1, n + 1), **common,
    })
    event = {"record_key": keys, "site_id": site, "setting_type": "SCH", "source_system": system,
             "source_row": range(1, n + 1), **common}
    episode = pd.DataFrame({**event, "episode_id": [f"E{i}" for i in range(n)],
                            "admission_date": [dt.date(2023, 1, 10 + i) for i in range(n)],
                            "discharge_date": [dt.date(2023, 6, 1 + i) for i in range(n)],
                            "legal_basis": "welfare_s25", "discharge_destination": "community_home"})
    formulation = pd.DataFrame({**event, "formulation_date": [dt.date(2023, 2, 1 + i) for i in range(n)],
                                "formulation_type": "initial", "disciplines_present": 3,
                                "child_involvement": "direct"})
    incident = pd.DataFrame({**event, "incident_at": [dt.datetime(2023, 3, 1 + i, 14, 30) for i in range(n)],
                             "incident_kind": "restraint", "injury": "none"})
    education = pd.DataFrame({**event, "period_start": [dt.date(2023, 2, 1)] * n,
                              "period_end": [dt.date(2023, 2, 28)] * n,
                              "hours_offered": 60.0, "hours_attended": 50.0})
    measure = pd.DataFrame({**event, "measure_date": [dt.date(2023, 2, 2)] * n,
                            "instrument": "ORS", "score": 25.0})
    return {"person": person, "episode": episode, "formulation": formulation,
            "incident": incident, "education": education, "measure": measure}


def write_staged(directory: Path, tables: dict[str, pd.DataFrame]) -> Path:
    """A staged directory with its manifest (the library's writer, as adapt publishes)."""
    stage(directory, tables)
    return directory


@pytest.fixture
def clean_staged(tmp_path: Path) -> Path:
    return write_staged(tmp_path / "staged_clean", make_tables())
