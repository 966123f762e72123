"""Clerical review: the review sheet (safe to open in Excel), reviewer decisions, and what the
decisions say about the model near its threshold (precision and recall with Wilson intervals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stairs_link.errors import LinkageError

DECISION_COLUMNS = ("record_key_l", "record_key_r", "decision")
DECISIONS = ("match", "non-match", "unsure")  # unsure: reviewed, left to the model
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", ":")


def excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix a quote to every text cell starting like a formula (= + - @ tab CR :), so a
    spreadsheet shows it as text (OWASP CSV injection guidance)."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column]) or out[column].dtype == object:
            text = out[column].astype("string")
            risky = text.str.startswith(_FORMULA_START).fillna(False)
            out[column] = text.mask(risky, "'" + text)
    return out


def read_decisions(path: str | Path) -> pd.DataFrame:
    """Read a decisions CSV (record_key_l, record_key_r, decision = match / non-match / unsure).

    Rows with an empty decision are skipped (a review sheet part-way through); ``unsure`` rows
    are kept (the model decides those pairs; they stay on the review sheet marked unsure).
    Later rows win over earlier rows for the same pair, so a reviewer can append corrections.
    Reads UTF-8 with or without a byte-order mark (as Excel saves it).
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise LinkageError(f"cannot read decisions file ({exc})", reason="bad_decisions", file=str(path),
                           fix="save it as a UTF-8 CSV with columns record_key_l, record_key_r, decision") from None
    missing = [c for c in DECISION_COLUMNS if c not in frame.columns]
    if missing:
        raise LinkageError(f"decisions file lacks column(s) {', '.join(missing)}", reason="bad_decisions",
                           file=str(path), column=missing[0],
                           fix="the header must include record_key_l, record_key_r, decision")
    frame = frame[list(DECISION_COLUMNS)].apply(lambda s: s.str.strip().str.lstrip("'"))
    frame["decision"] = frame["decision"].str.lower()
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # 1-based data row numbers for messages
    frame = frame[frame["decision"] != ""]  # rows not decided yet (e.g. a half-done review.csv)
    bad = ~frame["decision"].isin(DECISIONS)
    if bad.any():
        raise LinkageError(f"decision must be 'match', 'non-match' or 'unsure' ({int(bad.sum())} row(s) are not)",
                           reason="bad_decisions", file=str(path), row=int(frame.index[bad.to_numpy()][0]),
                           column="decision", fix="write match, non-match or unsure (or leave the cell empty)")
    blank = (frame["record_key_l"] == "") | (frame["record_key_r"] == "")
    if blank.any():
        raise LinkageError("record key is blank", reason="bad_decisions", file=str(path),
                           row=int(frame.index[blank.to_numpy()][0]),
                           column="record_key_l", fix="give both record keys of the pair")
    return frame.reset_index(drop=True)


def excel_unsafe(text: pd.Series) -> pd.Series:
    """Inverse of :func:`excel_safe` for one text column: drop the quote it put before a
    formula-like start."""
    text = text.astype("string")
    quoted = text.str.startswith("'").fillna(False).to_numpy(bool)
    if not quoted.any():
        return text
    rest = text[quoted].str[1:]
    formula = rest.str.startswith(_FORMULA_START).fillna(False).to_numpy(bool)
    out = text.copy()
    out[rest.index[formula]] = rest[formula]
    return out


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion (None without trials)."""
    if trials == 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def _rate(successes: int, trials: int) -> dict[str, Any]:
    ci = wilson_interval(successes, trials)
    return {"estimate": None if trials == 0 else successes / trials, "successes": int(successes),
            "trials": int(trials), "ci95": None if ci is None else [round(ci[0], 4), round(ci[1], 4)]}


def decision_estimates(probability: np.ndarray, is_match: np.ndarray, threshold: float,
                       *, min_labelled: int = 10) -> dict[str, Any]:
    """What reviewer decisions say about linking at ``threshold``, among the labelled pairs.

    ``probability``: the model's match probability of each labelled pair; ``is_match``: the
    reviewer's decision. Precision = labelled matches / labelled pairs the model links
    (probability >= threshold); recall = labelled matches the model links / labelled matches;
    each with a 95% Wilson interval. Reviewed pairs are chosen near the threshold, so these
    describe the model's decisions there, not over all pairs (far from the threshold the
    model is rarely wrong). ``suggested_threshold``: the probability threshold that classifies
    the most labelled pairs correctly (ties: the one nearest ``threshold``), given once at least
    ``min_labelled`` pairs are labelled and both decisions occur; None otherwise.
    """
    probability = np.asarray(probability, dtype=np.float64)
    is_match = np.asarray(is_match, dtype=bool)
    linked = probability >= threshold
    out: dict[str, Any] = {
        "labelled_pairs": int(len(probability)), "labelled_matches": int(is_match.sum()),
        "threshold": threshold,
        "probability_range": (None if len(probability) == 0
                              else [round(float(probability.min()), 4), round(float(probability.max()), 4)]),
        "precision": _rate(int((linked & is_match).sum()), int(linked.sum())),
        "recall": _rate(int((linked & is_match).sum()), int(is_match.sum())),
        "suggested_threshold": None,
    }
    if len(probability) >= min_labelled and is_match.any() and (~is_match).any():
        candidates = np.unique(np.r_[probability[is_match], threshold])  # link from a labelled match up
        candidates = candidates[(candidates > 0) & (candidates < 1)]
        if len(candidates):
            correct = np.array([((probability >= t) == is_match).sum() for t in candidates])
            best = candidates[correct == correct.max()]
            out["suggested_threshold"] = float(best[np.argmin(np.abs(best - threshold))])
            out["suggested_threshold_correct"] = int(correct.max())
    return out


MISSING_LEVEL = "missing"  # level label of a comparison with a missing value (gamma -1)


def level_labels(gamma: pd.Series | np.ndarray, levels: list[str]) -> np.ndarray:
    """Level label per pair for one comparison (``missing`` where gamma is -1)."""
    labels = np.array([MISSING_LEVEL, *levels], dtype=object)
    return labels[np.asarray(gamma, dtype=np.int64) + 1]


def unsure_pairs(decisions: pd.DataFrame | None) -> set[frozenset[str]]:
    """Record-key pairs whose last decision is ``unsure`` (order of the two keys ignored)."""
    if decisions is None or len(decisions) == 0:
        return set()
    last: dict[frozenset[str], str] = {}
    for a, b, d in decisions[list(DECISION_COLUMNS)].itertuples(index=False):  # small: one row per decision
        last[frozenset((a, b))] = d
    return {pair for pair, d in last.items() if d == "unsure"}
