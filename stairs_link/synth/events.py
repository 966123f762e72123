"""True events during each stay: formulations, incidents, education periods, outcome measures.

Drawn per stay, vectorised with ``np.repeat`` over per-stay counts. Rates are plausible, not
measured: the SECURE STAIRS evaluation found a formulation for about 85% of cases (503/589),
so an initial formulation is planned for 85% of stays (a short stay may end before it
happens); reviews roughly quarterly; transition formulations before some moves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stairs_link.synth.world import WORLD_CUTOFF, World


@dataclass(frozen=True)
class EventRates:
    """Event rates used by :func:`draw_events` (documented defaults)."""

    initial_formulation: float = 0.85  # share of stays with an initial formulation planned
    initial_delay_mean_days: float = 15.0  # mean days from admission to initial formulation
    review_every_days: float = 90.0  # mean interval between review formulations
    transition_formulation: float = 0.45  # share of moves preceded by a transition formulation
    # incidents per 30 days in custody, by kind (higher in STC/YOI for restraint/separation)
    restraint_per_30d: float = 0.5
    self_harm_per_30d: float = 0.15
    assault_per_30d: float = 0.3
    separation_per_30d: float = 0.2
    hospital_visit_per_30d: float = 0.04
    measure_every_days: float = 42.0  # ORS/CORS roughly every six weeks


def _stay_frame(world: World) -> pd.DataFrame:
    s = world.stays.copy()
    adm = s["admission_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    end = s["discharge_date"].to_numpy().astype("datetime64[D]")
    cutoff = WORLD_CUTOFF.astype("datetime64[D]").astype(np.int64)
    end = np.where(np.isnat(end), cutoff, end.astype(np.int64))
    s["_adm"] = adm
    s["_end"] = end
    s["_len"] = np.maximum(end - adm, 1)
    s["_age"] = (adm - world.children["date_of_birth"].to_numpy().astype("datetime64[D]").astype(np.int64)[
        s["child_index"].to_numpy()]) / 365.25
    return s


def _days(values: np.ndarray) -> np.ndarray:
    return values.astype(np.int64).astype("datetime64[D]")


def _expand(stays: pd.DataFrame, counts: np.ndarray) -> pd.DataFrame:
    idx = np.repeat(np.arange(len(stays)), counts)
    return stays.iloc[idx].reset_index(drop=True)


def draw_events(world: World, rng: np.random.Generator, rates: EventRates | None = None) -> dict[str, pd.DataFrame]:
    """True formulations, incidents, education periods and measures, keyed by child and stay."""
    rates = rates or EventRates()
    s = _stay_frame(world)
    n = len(s)
    keys = ["true_child_id", "child_index", "stay_no", "site_id", "setting_type"]

    # Formulations ---------------------------------------------------------------------
    delay = rng.gamma(1.5, rates.initial_delay_mean_days / 1.5, n).astype(np.int64) + 1
    initial = (rng.random(n) < rates.initial_formulation) & (s["_adm"].to_numpy() + delay < s["_end"].to_numpy())
    parts = []
    f0 = s.loc[initial, keys].copy()
    f0["formulation_date"] = _days(s["_adm"].to_numpy()[initial] + delay[initial])
    f0["formulation_type"] = "initial"
    parts.append(f0)
    n_rev = rng.poisson(np.maximum(s["_len"].to_numpy() - 30, 0) / rates.review_every_days)
    rv = _expand(s, n_rev)
    span = np.maximum(rv["_len"].to_numpy() - 30, 1)
    rv_date = rv["_adm"].to_numpy() + 30 + (rng.random(len(rv)) * span).astype(np.int64)
    f1 = rv[keys].copy()
    f1["formulation_date"] = _days(rv_date)
    f1["formulation_type"] = "review"
    parts.append(f1)
    moving = s["discharge_destination"].notna().to_numpy()
    p_tr = np.where(s["discharge_destination"].isin(["transfer_secure", "young_adult_estate"]), 0.6,
                    rates.transition_formulation)
    before = rng.integers(2, 22, n)
    tr = moving & (rng.random(n) < p_tr) & (s["_end"].to_numpy() - before > s["_adm"].to_numpy())
    f2 = s.loc[tr, keys].copy()
    f2["formulation_date"] = _days(s["_end"].to_numpy()[tr] - before[tr])
    f2["formulation_type"] = "transition"
    parts.append(f2)
    form = pd.concat(parts, ignore_index=True)
    m = len(form)
    form["disciplines_present"] = rng.choice(np.arange(1, 7), m, p=[0.08, 0.2, 0.3, 0.22, 0.12, 0.08]).astype(np.int32)
    form["child_involvement"] = rng.choice(np.array(["direct", "indirect", "none"], dtype=object), m, p=[0.5, 0.3, 0.2])
    form = form.sort_values(["child_index", "formulation_date", "formulation_type"], kind="stable", ignore_index=True)

    # Incidents ------------------------------------------------------------------------
    custody = s["setting_type"].isin(["STC", "YOI"]).to_numpy()
    female = (world.children["sex"].to_numpy()[s["child_index"].to_numpy()] == "female")
    months = s["_len"].to_numpy() / 30.0
    inc_parts = []
    kinds = {
        "restraint": rates.restraint_per_30d * np.where(custody, 1.4, 1.0),
        "self_harm": rates.self_harm_per_30d * np.where(female, 3.0, 1.0),
        "assault": rates.assault_per_30d * np.where(custody, 1.2, 0.8),
        "separation": rates.separation_per_30d * np.where(s["setting_type"].to_numpy() == "YOI", 2.0, 0.6),
        "hospital_visit": rates.hospital_visit_per_30d * np.ones(n),
    }
    for kind in sorted(kinds):
        count = rng.poisson(kinds[kind] * months)
        ev = _expand(s, count)
        day = ev["_adm"].to_numpy() + (rng.random(len(ev)) * ev["_len"].to_numpy()).astype(np.int64)
        minute = rng.integers(7 * 60, 23 * 60, len(ev))
        e = ev[keys].copy()
        e["incident_at"] = _days(day).astype("datetime64[s]") + (minute * 60).astype("timedelta64[s]")
        e["incident_kind"] = kind
        injury_p = {"restraint": [0.78, 0.14, 0.06, 0.02], "assault": [0.7, 0.18, 0.09, 0.03],
                    "self_harm": [0.3, 0.35, 0.27, 0.08], "separation": [0.97, 0.03, 0.0, 0.0],
                    "hospital_visit": [0.0, 0.0, 0.4, 0.6]}[kind]
        e["injury"] = rng.choice(np.array(["none", "no_treatment", "medical_treatment", "hospital_treatment"],
                                          dtype=object), len(e), p=injury_p)
        inc_parts.append(e)
    incidents = pd.concat(inc_parts, ignore_index=True).sort_values(
        ["child_index", "incident_at", "incident_kind"], kind="stable", ignore_index=True)

    # Education: one row per week of the stay (renderers may aggregate to months) ----------
    weeks = np.maximum(s["_len"].to_numpy() // 7, 1)
    ed = _expand(s, weeks)
    wk = ed.groupby(["child_index", "stay_no"], sort=False).cumcount().to_numpy()
    start = ed["_adm"].to_numpy() + 7 * wk
    e = ed[keys].copy()
    e["period_start"] = _days(start)
    e["period_end"] = _days(np.minimum(start + 6, ed["_end"].to_numpy()))
    # 15-30 hours a week offered (SCHs offer more), attendance varies by child and by week
    offered = np.where(ed["setting_type"].to_numpy() == "YOI", rng.integers(8, 21, len(ed)),
                       rng.integers(18, 31, len(ed))).astype(float)
    child_rate = rng.beta(6, 2, len(world.children))[ed["child_index"].to_numpy()]
    attended = np.round(offered * np.clip(child_rate + rng.normal(0, 0.1, len(ed)), 0, 1) * 2) / 2
    e["hours_offered"] = offered
    e["hours_attended"] = attended
    education = e.reset_index(drop=True)

    # Outcome measures -----------------------------------------------------------------
    n_meas = 1 + rng.poisson(s["_len"].to_numpy() / rates.measure_every_days)
    ms = _expand(s, n_meas)
    nth = ms.groupby(["child_index", "stay_no"], sort=False).cumcount().to_numpy()
    date = np.minimum(ms["_adm"].to_numpy() + 3 + (nth * rates.measure_every_days).astype(np.int64),
                      ms["_end"].to_numpy())
    young = ms["_age"].to_numpy() < 13
    meas = ms[keys].copy()
    meas["measure_date"] = _days(date)
    meas["instrument"] = np.where(young, "CORS", "ORS").astype(object)
    # ORS/CORS 0-40, under 28 = distress; scores tend to rise during a stay
    base = rng.normal(24, 7, len(world.children))[ms["child_index"].to_numpy()]
    meas["score"] = np.round(np.clip(base + 0.8 * nth + rng.normal(0, 3, len(ms)), 0, 40), 1)
    # EQ-5D-Y visual analogue scale at admission for every stay
    eq = s[keys].copy()
    eq["measure_date"] = _days(np.minimum(s["_adm"].to_numpy() + 5, s["_end"].to_numpy()))
    eq["instrument"] = "EQ-5D-Y"
    eq["score"] = np.round(np.clip(rng.normal(65, 18, n), 0, 100), 0)
    measures = pd.concat([meas, eq], ignore_index=True).sort_values(
        ["child_index", "measure_date", "instrument"], kind="stable", ignore_index=True)
    return {"formulation": form, "incident": incidents, "education": education, "measure": measures}
