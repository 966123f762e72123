"""Distribution checks (issue 12 item 10): signs that a site system's mapping is wrong, as
warnings in check.json / check.html. The rules are ``stairs_link.mapping.mistakes`` (shared
with `mapping check --against`); this module turns each into an :class:`Outcome`, one per
check that ran, so the passed ones are listed too.

They are computed in pandas, not as great-expectations expectations, because the same code
runs in `mapping check --against` (which never loads great-expectations) and because the
one-value rule depends on the directory's setting type (an all-male YOI is real).
"""

from __future__ import annotations

from stairs_link.mapping.mistakes import Finding, find_mistakes, manifest_counts
from stairs_link.quality.prepare import Staged
from stairs_link.quality.results import WARNING, Outcome

_TITLES = {
    "one_value": "'{field}' is not one code in (nearly) every row",
    "mostly_unknown": "most '{field}' codes are known to the value map",
    "not_a_name": "'{field}' holds names, not digits or codes",
}

_WHY = {
    "one_value": "A value map that sends every code to the same value (or maps the wrong column) makes every "
                 "child look alike in that field; every other check still passes.",
    "mostly_unknown": "When most codes are unknown to the value map, the mapping usually reads the wrong column "
                      "(columns shifted, or swapped with another field).",
    "not_a_name": "A name column full of dates, ids or sex codes means the mapping reads the wrong column; "
                  "linkage then compares nonsense.",
}


def distribution_outcomes(staged: Staged) -> list[Outcome]:
    """Every distribution check on every table of one staged directory (site system)."""
    out: list[Outcome] = []
    kind = (staged.manifest or {}).get("system_kind")
    person = staged.tables["person"].frame
    if kind is None and "system_kind" in person.columns and person["system_kind"].notna().any():
        kind = str(person["system_kind"].dropna().iloc[0])
    for name, table in staged.tables.items():
        frame = table.frame
        unknown, rows = manifest_counts(staged.manifest, name)
        system = _system(frame)
        for finding in find_mistakes(name, frame, unknown_codes=unknown, rows_read=rows, system_kind=kind,
                                     every=True):
            out.append(_outcome(finding, str(staged.directory), system))
    return out


def _system(frame) -> str:  # noqa: ANN001 - a staged pandas frame
    for column in ("site_id", "source_system"):
        if column not in frame.columns or not frame[column].notna().any():
            return ""
    return f"{frame['site_id'].dropna().iloc[0]}:{frame['source_system'].dropna().iloc[0]}"


def _outcome(finding: Finding, source: str, system: str) -> Outcome:
    rule = finding.check_id.rsplit(".", 1)[1]
    where = f" ({system})" if system else ""
    return Outcome(
        check_id=finding.check_id, scope="table", source=source, table=finding.table,
        expectation_type=f"stairs_link.distribution.{rule}", columns=[finding.field], severity=WARNING,
        success=not finding.flagged, title=_TITLES[rule].format(field=finding.field) + where,
        why=f"{_WHY[rule]} Measured{where}: {finding.message}.", fix=finding.fix[0].upper() + finding.fix[1:],
        element_count=finding.total, unexpected_count=finding.count,
        unexpected_percent=round(100.0 * finding.share, 1), unit="values",
        observed_value=round(finding.share, 4),
    )
