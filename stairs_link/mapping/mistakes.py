"""Signs in staged values that the mapping is wrong (issue 12 item 10): the distribution checks
that `stairs-link check` and `stairs-link mapping check --against` share.

A mapping can be valid and every row can parse while the data is still wrong: a value map
that sends every code to ``male``, a column shift that leaves the sex codes unknown, a name
column that holds dates or codes. Each shows in the distribution of one column of one site
system's staged table, so :func:`find_mistakes` looks at one staged table (and the counts of
its manifest) and returns :class:`Finding` objects: warnings, never failures, each naming the
table, the column, the measured share and the likely fix in the mapping. Only counts and
shares are reported, never a value, except canonical codes (``male``), which are not personal
data.

The rules (thresholds are module constants, documented in docs/quality.md):

* **one value** (:data:`ONE_VALUE_FIELDS`): a coded field with at least ``n`` non-null values
  of which :data:`ONE_VALUE_SHARE` or more are one code. Only fields where one code in nearly
  every row is implausible: sex, ethnicity, legal basis, discharge destination. Not injury
  (most incidents have none), instrument (a site may use one), incident kind (a system may
  record only use of force), formulation type or child involvement (a small extract may hold
  one kind). A single value that is real at a setting type is not flagged
  (:data:`EXPECTED_SINGLE`: young offender institutions for under-18s hold boys only), or in
  a kind of system (:data:`EXPECTED_SINGLE_BY_KIND`: a social care system's placements may all
  be welfare placements, or all remands).
* **mostly unknown** (:data:`UNKNOWN_SHARE`): the codes the value map did not know (the
  manifest's ``unknown_codes``, counted whatever the policy) are more than half of the rows
  read with a value in that field (rows read minus rows staged with the field empty; rows
  rejected for another reason count as having a value, so the share is never overstated).
* **a value map sending every code to one value** (:func:`value_map_mistakes`, from the
  mapping alone, in `mapping check --against`): for the fields of the one-value rule.
* **name holds codes** (:data:`NAME_SHARE`): more than a fifth of a name column's values
  contain a digit (dates, ids) or are a sex code or word (M, F, 1, 2, male ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from stairs_link.mapping.model import Mapping
from stairs_link.schema.tables import TABLES

#: least non-null values for the one-value rule, per (table, field) it applies to. Ethnicity
#: needs more: a small site can be homogeneous.
ONE_VALUE_FIELDS: dict[tuple[str, str], int] = {
    ("person", "sex"): 20,
    ("person", "ethnicity"): 50,
    ("episode", "legal_basis"): 20,
    ("episode", "discharge_destination"): 20,
}
ONE_VALUE_SHARE = 0.98

#: one code that is real for every row at a setting type. Young offender institutions for
#: under-18s in England hold boys only (girls are placed in secure children's homes and the
#: secure training centre; HMPPS youth custody placements), so an all-male YOI is no mistake.
#: The price: at a YOI a value map sending every code to male is not seen by this rule.
EXPECTED_SINGLE: dict[str, dict[tuple[str, str], frozenset[str]]] = {
    "YOI": {("person", "sex"): frozenset({"male"})},
}

#: one code that is real for every row in a kind of system: a local authority social care
#: system records the placements the authority makes, welfare placements (section 25) in an
#: SCH and remands to youth detention accommodation, so at one setting it may hold only one.
EXPECTED_SINGLE_BY_KIND: dict[str, dict[tuple[str, str], frozenset[str]]] = {
    "social_care": {("episode", "legal_basis"): frozenset({"welfare_s25", "remand"})},
}

#: codes that mean "not known" (unknown, not stated): left out of the one-value share
NOT_KNOWN = frozenset({"unknown", "Z", "99"})

UNKNOWN_SHARE = 0.5
UNKNOWN_MIN_ROWS = 20

NAME_FIELDS = ("given_name", "middle_names", "family_name")
NAME_SHARE = 0.2
NAME_MIN_ROWS = 20
#: a value that is a sex code or word, not a name (middle names are often initials: only
#: digits count there)
_SEX_LIKE = re.compile(r"^(?:[mfux129]|male|female|unknown|not known|indeterminate)$", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One sign of a mapping mistake in one column of one staged table."""

    check_id: str  # "<table>.<field>.<rule>": one_value | mostly_unknown | not_a_name
    table: str
    field: str
    count: int  # values showing it
    total: int  # values looked at
    message: str  # what was measured (shares and canonical codes only)
    fix: str  # the likely mistake in the mapping
    flagged: bool = True  # False: the check ran and found nothing (only with ``every=True``)

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 0.0


def coded_fields(table: str) -> list[str]:
    """The table's fields with a code list (schema/codes.py)."""
    return [c.name for c in TABLES[table] if c.codes]


def find_mistakes(table: str, frame: pd.DataFrame, *, setting_type: str | None = None,
                  unknown_codes: dict[str, int] | None = None, rows_read: int | None = None,
                  system_kind: str | None = None, every: bool = False) -> list[Finding]:
    """The findings for one staged table of one site system (``every=True``: also each check
    that ran and found nothing, ``flagged=False``, so a report can list what passed).

    ``frame``: its staged rows (canonical columns). ``unknown_codes``: per field, how many
    values the value map did not know (the manifest's ``unknown_codes`` summed over the
    table's files); ``rows_read``: the table's rows read (``rows_in`` minus ``rows_skipped``).
    Without them the mostly-unknown rule is not run (a staged table not written by adapt).
    ``setting_type``: the site's (default: the table's ``setting_type`` column);
    ``system_kind``: the system's (health, operations, education, social_care).
    """
    found: list[Finding] = []
    if setting_type is None and "setting_type" in frame.columns and frame["setting_type"].notna().any():
        setting_type = str(frame["setting_type"].dropna().iloc[0])
    expected = {**EXPECTED_SINGLE.get(str(setting_type), {}), **EXPECTED_SINGLE_BY_KIND.get(str(system_kind), {})}
    for (name, field), least in ONE_VALUE_FIELDS.items():
        if name != table or field not in frame.columns:
            continue
        values = frame[field].dropna().astype(str)
        if len(values) < least:
            continue
        # a few "not known" values say nothing about the map: the share is of the known ones,
        # unless (nearly) every value is itself "not known"
        counts = values.value_counts()
        known = values[~values.isin(NOT_KNOWN)]
        what = f"{field} values"
        if counts.iloc[0] / len(values) < ONE_VALUE_SHARE and len(known) >= least:
            counts, values = known.value_counts(), known
            what = f"known {field} values"
        top, n = str(counts.index[0]), int(counts.iloc[0])
        flagged = n / len(values) >= ONE_VALUE_SHARE and top not in expected.get((name, field), frozenset())
        if flagged or every:
            found.append(Finding(
                f"{table}.{field}.one_value", table, field, n, len(values),
                f"{n:,} of {len(values):,} {what} ({n / len(values):.0%}) are `{top}`",
                f"every code maps to `{top}`: check the value map (`codes:`) for {table}.{field} in the mapping "
                f"against the export's codes (a map sending each code to the same value, or the wrong column); "
                f"if nearly every child at this site really is `{top}`, ignore this warning", flagged))
    if unknown_codes and rows_read:
        for field in coded_fields(table):
            if field not in frame.columns:
                continue
            unknown = int(unknown_codes.get(field, 0))
            empty = int(frame[field].isna().sum())
            with_value = max(rows_read - empty, unknown)
            if with_value < UNKNOWN_MIN_ROWS or not (unknown or every):
                continue
            flagged = unknown / with_value > UNKNOWN_SHARE
            if flagged or every:
                found.append(Finding(
                    f"{table}.{field}.mostly_unknown", table, field, unknown, with_value,
                    f"{unknown:,} of {with_value:,} {field} values ({unknown / with_value:.0%}) are codes the value "
                    "map does not know",
                    f"column shift or wrong column mapped: check that `column:` of {table}.{field} names the "
                    "export's column of these codes (the codes are listed, as labels, in the manifest's "
                    "unknown_codes), or add the site's codes to `codes:`", flagged))
    for field in NAME_FIELDS:
        if field not in frame.columns:
            continue
        values = frame[field].dropna().astype(str).str.strip()
        values = values[values != ""]
        if len(values) < NAME_MIN_ROWS:
            continue
        digits = values.str.contains(r"\d", regex=True)
        odd = digits if field == "middle_names" else digits | values.str.fullmatch(_SEX_LIKE)
        n = int(odd.sum())
        flagged = n / len(values) > NAME_SHARE
        if flagged or every:
            what = "contain a digit (dates, ids)" if field == "middle_names" else \
                "contain a digit (dates, ids) or are a sex code (M, F, 1, 2 ...)"
            found.append(Finding(
                f"{table}.{field}.not_a_name", table, field, n, len(values),
                f"{n:,} of {len(values):,} {field} values ({n / len(values):.0%}) {what}",
                f"the mapping probably selects the wrong column for {table}.{field} (a date, id or sex column, or "
                "columns shifted by one): check `column:` against the export's header", flagged))
    # codes the map did not know, kept as `unknown`, also make one value: the specific finding is enough
    shifted = {f.field for f in found if f.flagged and f.check_id.endswith(".mostly_unknown")}
    return [f for f in found if not (f.check_id.endswith(".one_value") and f.field in shifted)]


def value_map_mistakes(mapping: Mapping) -> list[Finding]:
    """Value maps that send every code they know to one canonical value (at least two source
    codes, all to the same code, codes meaning "not known" aside), for the fields of the
    one-value rule: a mistake whatever the site's children are, so this also covers the
    case the one-value rule cannot see (an all-male YOI). Read from the mapping itself, no data."""
    found = []
    for (table, field), _ in ONE_VALUE_FIELDS.items():
        spec = mapping.tables[table].fields.get(field) if table in mapping.tables else None
        if spec is None or not spec.codes:
            continue
        if (table, field) in EXPECTED_SINGLE_BY_KIND.get(mapping.system_kind, {}):
            continue  # e.g. a care system's map of its remand codes only
        known = {key: value for key, value in spec.codes.items() if value not in NOT_KNOWN}
        targets = set(known.values())
        if len(known) >= 2 and len(targets) == 1:
            target = targets.pop()
            found.append(Finding(
                f"{table}.{field}.value_map_one_value", table, field, len(known), len(spec.codes),
                f"the value map (`codes:`) sends all {len(known)} of its known codes to `{target}`",
                f"every code maps to `{target}`: give each source code its own canonical code in `codes:` of "
                f"{table}.{field} (e.g. the female code to `female`)" if field == "sex" else
                f"every code maps to `{target}`: give each source code its own canonical code in `codes:` of "
                f"{table}.{field}"))
    return found


def manifest_counts(manifest: dict | None, table: str) -> tuple[dict[str, int], int | None]:
    """From adapt's manifest: per field, the values the value map did not know (summed over
    the table's files; each field's listed codes, or the one 'not listed' total), and the
    table's rows read (rows_in minus rows_skipped); ({}, None) without a manifest."""
    if not isinstance(manifest, dict):
        return {}, None
    unknown: dict[str, int] = {}
    rows = 0
    seen = False
    for source in manifest.get("sources") or []:
        if not isinstance(source, dict) or source.get("table") != table:
            continue
        seen = True
        rows += int(source.get("rows_in", 0)) - int(source.get("rows_skipped", 0))
        for field, codes in (source.get("unknown_codes") or {}).items():
            if isinstance(codes, dict):
                unknown[field] = unknown.get(field, 0) + sum(int(n) for n in codes.values())
    return unknown, (rows if seen else None)


__all__ = ["Finding", "coded_fields", "find_mistakes", "manifest_counts", "value_map_mistakes"]
