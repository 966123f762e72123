"""Helpers both linkage engines use (embedded ``pipeline`` and ``engine.spark``), so the two
report timings, judge the deterministic pass, refuse bad person tables and write summary.json
with one piece of code rather than two copies that could drift apart.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stairs_link import progress
from stairs_link.errors import LinkageError
from stairs_link.linkage.comparisons import kind
from stairs_link.linkage.config import LinkageConfig
from stairs_link.linkage.model import FSModel, estimate_prior, fit_m, unpack
from stairs_link.linkage.review import decision_estimates, unsure_pairs


class Clock:
    """Stage timings (seconds, rounded to ms) for summary.json; with ``progress`` each lap is
    also reported as ``<label>: <stage> done in <s> s`` (:func:`stairs_link.progress.message`:
    on stderr under the CLI)."""

    def __init__(self, progress: bool, label: str = "link") -> None:
        self.progress = progress
        self.label = label
        self.timings: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        """Record the time since the previous lap (or since construction) under ``stage``."""
        now = time.perf_counter()
        self.timings[stage] = round(now - self._t, 3)
        self._t = now
        if self.progress:
            progress.message(f"{self.label}: {stage} done in {self.timings[stage]:.1f} s")


def missing_record_key_error(key: str) -> LinkageError:
    """The error both engines raise when the person table has no record key column."""
    return LinkageError("person table has no record key column", reason="missing_column", column=key,
                        fix="stage the table with `stairs-link adapt` (it writes record_key)")


def null_record_key_error(key: str, row: int) -> LinkageError:
    """The error for a null record key at 1-based ``row``."""
    return LinkageError("record key is null", reason="null_key", row=row, column=key,
                        fix="every person record needs a record_key")


def duplicate_record_key_error(key: str, value: Any, duplicates: int, row: int) -> LinkageError:
    """The error for a record key ``value`` repeated (first repeat at 1-based ``row``)."""
    return LinkageError(f"record key '{value}' occurs more than once ({duplicates} duplicates)",
                        reason="duplicate_key", row=row, column=key,
                        fix="link each staged directory once; record keys must be unique in one person table "
                            "(the embedded engine keeps the latest of several extracts of a system; "
                            "--engine spark does not combine extracts: link them on the embedded engine)")


def deterministic_fields(config: LinkageConfig) -> tuple[list[int], list[int], list[int], list[int]]:
    """Comparison indices the deterministic pass uses: (identifiers it links on, all
    identifiers, demographics it judges a shared identifier by, the names and dates among
    them). Demographics are names, dates, exact fields and their Bloom encodings, not the
    postcode (siblings share an address)."""
    comps = config.comparisons
    role = [kind(c.kind).role for c in comps]  # each kind's role (linkage/comparisons/)
    det_ks = [k for k, c in enumerate(comps) if c.name in config.deterministic_identifiers]
    ident_ks = [k for k in range(len(comps)) if role[k] == "identifier"]
    # a Bloom encoding of the postcode is an address, not a demographic
    demo_ks = [k for k in range(len(comps)) if k not in ident_ks and role[k] in ("name_date", "demographic")
               and not (comps[k].kind == "bloom" and comps[k].column == "postcode_bf")]
    name_date_ks = [k for k in demo_ks if role[k] == "name_date"]
    return det_ks, ident_ks, demo_ks, name_date_ks


def tf_form(name: str) -> str:
    """The string form term frequencies are counted on for a comparison kind."""
    return kind(name).tf_form


def deterministic_pass(gamma: np.ndarray, pw: np.ndarray, config: LinkageConfig, det_ks: list[int],
                       demo_ks: list[int], name_date_ks: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(det, conflict) per pair: ``det`` where a deterministic identifier agrees exactly (before
    conflicts are removed: callers apply ``det &= ~conflict``); ``conflict`` where such a pair's
    demographic evidence adds up to less than the configured weight, or names and date of birth
    all disagree outright (rule-based, so it holds even when a small training set gives weak
    weights)."""
    comps = config.comparisons
    det = np.zeros(len(gamma), dtype=bool)
    for k in det_ks:
        det |= gamma[:, k] == len(comps[k].levels()) - 1
    demo_gamma = gamma[:, name_date_ks]
    all_else = ((demo_gamma == 0) | (demo_gamma < 0)).all(axis=1) & ((demo_gamma == 0).sum(axis=1) >= 2)
    conflict = det & ((pw[:, demo_ks].sum(axis=1) < config.deterministic_conflict_weight) | all_else)
    return det, conflict


def fit_model(patterns: pd.DataFrame, config: LinkageConfig, u: list[np.ndarray], base: int,
              total_pairs: float, counts: dict[str, int]) -> FSModel:
    """Train the model from blocked-pair pattern counts (code, mask, n) and the u estimates:
    m by EM per blocking rule (sessions named by rule), then the prior from the pattern
    weights; ``counts`` (u_sample_pairs, records, blocked_pairs) is added to its training record."""
    comps = config.comparisons
    rule_columns = [set(r.columns()) for r in config.blocking]
    m, training = fit_m(patterns, comps, rule_columns, u, base,
                        max_iter=config.em_max_iterations, tol=config.em_tolerance)
    for s in training["em_sessions"]:
        s["rule"] = config.blocking[s["rule"]].name
    fs = FSModel(comps, m, u, 0.5, training)
    by_code = patterns.groupby("code")["n"].sum()
    pattern_weight = fs.partial_weights(unpack(by_code.index.to_numpy(), len(comps), base)).sum(axis=1)
    fs.prior = estimate_prior(pattern_weight.astype(np.float64), by_code.to_numpy(), total_pairs)
    fs.training.update(counts)
    return fs


def decision_pairs(a: np.ndarray, b: np.ndarray, decisions: pd.DataFrame, dtype: type = np.int32
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Reviewer decisions as (i, j, is_match) record indices, i < j, plus the count of rows whose
    keys are unknown (``a``/``b``: record index of each row's left/right key, -1 where unknown).
    A later row for the same pair corrects an earlier one; pairs whose last row is ``unsure``
    are left out (the model decides them)."""
    known = (a >= 0) & (b >= 0) & (a != b)
    decision = decisions["decision"].to_numpy()
    frame = pd.DataFrame({"i": np.minimum(a, b)[known], "j": np.maximum(a, b)[known],
                          "match": (decision == "match")[known], "unsure": (decision == "unsure")[known]})
    frame = frame.drop_duplicates(["i", "j"], keep="last")  # later rows correct earlier ones
    frame = frame[~frame["unsure"]]  # unsure: reviewed, but the model decides
    return (frame["i"].to_numpy(dtype), frame["j"].to_numpy(dtype), frame["match"].to_numpy(),
            int((~known).sum()))


def decisions_summary(n_decisions: int, unknown_decisions: int, unsure: int = 0) -> dict[str, int]:
    """summary.json ``decisions``: given, applied (match / non-match), with unknown record keys,
    and unsure (reviewed, left to the model)."""
    return {"given": n_decisions + unknown_decisions + unsure, "applied": n_decisions,
            "unknown_record_keys": unknown_decisions, "unsure": unsure}


def add_decision_figures(summary: dict[str, Any], decisions: pd.DataFrame | None, probability: np.ndarray,
                         is_match: np.ndarray, threshold: float, threshold_from_decisions: str = "off") -> None:
    """summary.json: the count of pairs last decided ``unsure`` (in ``decisions``) and
    ``decision_estimates`` (precision and recall among the decided pairs, whose model
    ``probability`` and reviewer ``is_match`` are given; see ``review.decision_estimates``).
    ``threshold_from_decisions``: off / applied / not enough decisions."""
    unsure = len(unsure_pairs(decisions))
    summary["decisions"]["unsure"] = unsure
    summary["decisions"]["given"] += unsure
    summary["decision_estimates"] = {**decision_estimates(probability, is_match, threshold),
                                     "threshold_from_decisions": threshold_from_decisions}


def thresholds_summary(config: LinkageConfig) -> dict[str, Any]:
    """summary.json ``thresholds``: the decision thresholds, and the link threshold as a weight."""
    return {"link_threshold": config.link_threshold, "review_band": list(config.review_band),
            "keep_pairs_min_probability": config.keep_pairs_min_probability,
            "link_threshold_weight": math.log2(config.link_threshold / (1 - config.link_threshold)),
            "deterministic_conflict_weight": config.deterministic_conflict_weight}


def model_with_overrides(model: dict[str, Any], config: LinkageConfig | None) -> dict[str, Any]:
    """A loaded model.json with ``max_pairs`` and ``chunk_pairs`` taken from ``config`` (the
    only settings that may change with a given model: they do not change results)."""
    if config is None:
        return model
    return {**model, "config": {**model["config"], "max_pairs": config.max_pairs,
                                "chunk_pairs": config.chunk_pairs}}


def json_text(data: dict) -> str:
    """``data`` as indented JSON text (numpy scalars as Python numbers)."""
    return json.dumps(data, indent=2, default=_json_default) + "\n"


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented UTF-8 JSON (numpy scalars as Python numbers)."""
    path.write_text(json_text(data), encoding="utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value)}")
