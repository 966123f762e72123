"""Survivorship: one value per child for each demographic field, chosen from all its records.

Rule (the same for every field, vectorised over all children at once):

1. only *valid* values take part (non-null; for ``sex`` not ``unknown``; for ``ethnicity``
   not ``Z``/``99``);
2. the value held by the most records wins;
3. a tie goes to the value recorded by the system kind most trusted for that field
   (:data:`FIELD_TRUST`, e.g. NHS number and date of birth from health, UPN from education,
   PNC id and prison number from operations);
4. then to the value from the latest ``extracted_at``;
5. then to the smallest value (so the result never depends on input order).

When no valid value exists, the "not known" code is used for ``sex``/``ethnicity`` if any record
carried it, otherwise the field is null.

:data:`OPTIONAL_FIELDS` (``year_of_birth``, written by ``adapt --pseudonymise`` in place of the
date of birth) are resolved by the same rule when the person records hold any value for them,
and left out otherwise, so plain datasets keep their columns.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from stairs_link.integrate.nested import nest_values
from stairs_link.standardise.dates import as_seconds

#: fields resolved for each child, in output order.
FIELDS = [
    "given_name",
    "middle_names",
    "family_name",
    "date_of_birth",
    "sex",
    "ethnicity",
    "postcode",
    "nhs_number",
    "upn",
    "pnc_id",
    "prison_number",
    "la_child_id",
]

#: fields resolved only when some person record holds a value (pseudonymised mode), with
#: their output type (values are voted on as text, like the others).
OPTIONAL_FIELDS: dict[str, str] = {"year_of_birth": "Int32"}

#: identifiers listed in full (every distinct value seen) on the child record.
IDENTIFIERS = ["nhs_number", "upn", "pnc_id", "prison_number", "la_child_id"]

_HEALTH_FIRST = ["health", "social_care", "education", "operations"]
_EDUCATION_FIRST = ["education", "social_care", "health", "operations"]
_OPERATIONS_FIRST = ["operations", "health", "social_care", "education"]
_SOCIAL_CARE_FIRST = ["social_care", "education", "health", "operations"]

#: system kinds in order of trust, per field. Health systems verify NHS number and date of
#: birth against the NHS Spine (PDS) and record self-reported ethnicity; education systems own
#: the UPN (DfE); custody systems own PNC id and prison number; local authorities own their
#: child id and usually the legal name and home address.
FIELD_TRUST: dict[str, list[str]] = {
    "given_name": _SOCIAL_CARE_FIRST,
    "middle_names": _SOCIAL_CARE_FIRST,
    "family_name": _SOCIAL_CARE_FIRST,
    "date_of_birth": _HEALTH_FIRST,
    "year_of_birth": _HEALTH_FIRST,  # like the date of birth it stands in for
    "sex": _HEALTH_FIRST,
    "ethnicity": _HEALTH_FIRST,
    "postcode": _SOCIAL_CARE_FIRST,
    "nhs_number": _HEALTH_FIRST,
    "upn": _EDUCATION_FIRST,
    "pnc_id": _OPERATIONS_FIRST,
    "prison_number": _OPERATIONS_FIRST,
    "la_child_id": _SOCIAL_CARE_FIRST,
}

#: values that are recorded but say "not known": used only when nothing better exists.
NOT_KNOWN: dict[str, set[str]] = {"sex": {"unknown"}, "ethnicity": {"Z", "99"}}


def resolved_fields(person: pd.DataFrame) -> list[str]:
    """:data:`FIELDS`, plus the :data:`OPTIONAL_FIELDS` some record of ``person`` holds."""
    optional = [f for f in OPTIONAL_FIELDS if f in person.columns and person[f].notna().any()]
    return [*FIELDS, *optional]


def resolve_demographics(person: pd.DataFrame, fields: list[str] | None = None) -> pd.DataFrame:
    """One row per ``child_id`` with each field of :func:`resolved_fields` resolved by the
    rule above.

    ``person`` needs ``child_id``, ``system_kind``, ``extracted_at`` and the field columns.
    Also returns ``<field>_n_values``: how many distinct valid values the child's records hold
    (more than 1 means the records disagree and the rule had to choose). ``fields`` overrides
    :func:`resolved_fields` (the Spark engine passes the whole dataset's choice to each bucket).
    """
    fields = resolved_fields(person) if fields is None else fields
    base = person[["child_id", "system_kind", "extracted_at", *fields]].copy()
    base["date_of_birth"] = as_seconds(base["date_of_birth"]).dt.strftime("%Y-%m-%d")
    long = base.melt(
        id_vars=["child_id", "system_kind", "extracted_at"],
        value_vars=fields,
        var_name="field",
        value_name="value",
    )
    long = long[long["value"].notna() & (long["value"].astype(str).str.strip() != "")]
    long["value"] = long["value"].astype(str)
    long["valid"] = True
    for name, codes in NOT_KNOWN.items():
        long.loc[(long["field"] == name) & long["value"].isin(codes), "valid"] = False
    trust = pd.DataFrame(
        [(f, kind, rank) for f, kinds in FIELD_TRUST.items() for rank, kind in enumerate(kinds)],
        columns=["field", "system_kind", "trust_rank"],
    )
    long = long.merge(trust, on=["field", "system_kind"], how="left")
    long["trust_rank"] = long["trust_rank"].fillna(len(_HEALTH_FIRST)).astype(int)
    # ISO timestamps sort as text: rank them as integers so the aggregation stays in Cython
    extracted = long["extracted_at"].fillna("").astype(str)
    long["latest"] = pd.Series(pd.Categorical(extracted, categories=sorted(extracted.unique()), ordered=True)
                               .codes, index=long.index)
    long["valid"] = long["valid"].astype("int8")
    votes = (
        long.groupby(["child_id", "field", "value"], sort=False)
        .agg(
            valid=("valid", "max"),
            n=("valid", "size"),
            trust_rank=("trust_rank", "min"),
            latest=("latest", "max"),
        )
        .reset_index()
    )
    votes["valid"] = votes["valid"].astype(bool)
    # invalid ("not known") values rank below every valid one, whatever their count
    votes = votes.sort_values(
        ["child_id", "field", "valid", "n", "trust_rank", "latest", "value"],
        ascending=[True, True, False, False, True, False, True],
        kind="stable",
    )
    chosen = votes.drop_duplicates(["child_id", "field"], keep="first")
    wide = chosen.pivot(index="child_id", columns="field", values="value")
    n_values = votes[votes["valid"]].groupby(["child_id", "field"]).size().unstack("field")
    children = pd.DataFrame(index=pd.Index(sorted(person["child_id"].unique()), name="child_id"))
    for name in fields:
        children[name] = wide[name] if name in wide.columns else None
    children["date_of_birth"] = as_seconds(children["date_of_birth"]).dt.date
    for name, dtype in OPTIONAL_FIELDS.items():
        if name in children:
            children[name] = pd.to_numeric(children[name]).astype(dtype)
    for name in fields:
        column = n_values[name] if name in n_values.columns else pd.Series(dtype="float64")
        children[f"{name}_n_values"] = column.reindex(children.index).fillna(0).astype("int32")
    return children.reset_index()


def identifiers_seen(person: pd.DataFrame, child_ids: pd.Series) -> dict[str, pa.ListArray]:
    """For each identifier, a list array aligned to ``child_ids`` (sorted, unique): every
    distinct value the child's records hold, sorted (possibly empty)."""
    out = {}
    for name in IDENTIFIERS:
        values = person.loc[person[name].notna(), ["child_id", name]].drop_duplicates()
        values = values.sort_values(["child_id", name], kind="stable")
        out[f"{name}s_seen"] = nest_values(child_ids, values["child_id"], pa.array(values[name], pa.string()))
    return out
