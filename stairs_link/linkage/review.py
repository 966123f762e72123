"""Clerical review: the review sheet (safe to open in Excel) and reviewer decisions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stairs_link.errors import LinkageError

DECISION_COLUMNS = ("record_key_l", "record_key_r", "decision")
DECISIONS = ("match", "non-match")
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
    """Read a decisions CSV (record_key_l, record_key_r, decision = match / non-match).

    Later rows win over earlier rows for the same pair, so a reviewer can append corrections.
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
    bad = ~frame["decision"].isin(DECISIONS)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise LinkageError(f"decision must be 'match' or 'non-match' ({int(bad.sum())} row(s) are not)",
                           reason="bad_decisions", file=str(path), row=row, column="decision",
                           fix="write match or non-match in every row")
    blank = (frame["record_key_l"] == "") | (frame["record_key_r"] == "")
    if blank.any():
        row = int(np.flatnonzero(blank.to_numpy())[0]) + 1
        raise LinkageError("record key is blank", reason="bad_decisions", file=str(path), row=row,
                           column="record_key_l", fix="give both record keys of the pair")
    return frame
