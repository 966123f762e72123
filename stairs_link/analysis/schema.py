"""The analysis tables' schema: every column's type, unit, description, code list and derivation.

Defined once, here; the codebook (Markdown and Frictionless ``datapackage.json``), the Stata and
SPSS value labels and the DuckDB column comments are generated from it, and
:func:`stairs_link.analysis.derive.analysis_tables` is checked against it, so they cannot drift.

Types are Frictionless Table Schema types: ``string``, ``integer``, ``number``, ``boolean``,
``yearmonth`` (``YYYY-MM``). No column holds a name, date of birth, address, identifier of a
source system, record key or exact date (:data:`IDENTIFIABLE` lists what must never appear).
"""

from __future__ import annotations

from dataclasses import dataclass

from stairs_link.schema.codes import (
    CHILD_INVOLVEMENT,
    DISCHARGE_DESTINATION,
    FORMULATION_TYPE,
    INCIDENT_KIND,
    INJURY,
    INSTRUMENT,
    LEGAL_BASIS,
    SETTING_TYPE,
    SEX,
)

ETHNIC_GROUPS = {"White": "White (NHS codes A-C)", "Mixed": "Mixed (D-G)", "Asian": "Asian or Asian British (H-L)",
                 "Black": "Black or Black British (M-P)", "Other": "Other ethnic groups (R, S)",
                 "Unknown": "Not stated or not known (Z, 99, or nothing recorded)"}
AGE_BANDS = {"10-13": "aged 10 to 13", "14-15": "aged 14 or 15", "16-17": "aged 16 or 17", "18+": "aged 18 or over",
             "unknown": "date (or year) of birth not recorded"}
STAY_RULES = {"in_stay": "inside a stay (stay_id set)", "before_admission": "before the child's first stay at the site",
              "after_discharge": "after the child's last stay at the site ended",
              "between_stays": "between two stays of the child at the site",
              "no_stay_at_site": "the child has no stay at that site"}
MOVE_KINDS = {"admission": "arrival from the community (first stay, or a return after more than 90 days)",
              "transfer": "from one stay straight to another (next admission within 3 days)",
              "release": "leaving to the community", "readmission": "arrival within 90 days of a release",
              "young_adult_estate": "leaving to the young adult estate"}
PLACES = {**SETTING_TYPE, "community": "The community (no secure setting)",
          "young_adult_estate": "The young adult / adult estate"}

CODE_LISTS: dict[str, dict[str, str]] = {
    "sex": SEX, "ethnic_group": ETHNIC_GROUPS, "age_band": AGE_BANDS, "setting_type": SETTING_TYPE,
    "place": PLACES, "legal_basis": LEGAL_BASIS, "discharge_destination": DISCHARGE_DESTINATION,
    "formulation_type": FORMULATION_TYPE, "child_involvement": CHILD_INVOLVEMENT, "incident_kind": INCIDENT_KIND,
    "injury": INJURY, "instrument": INSTRUMENT, "stay_rule": STAY_RULES, "move_kind": MOVE_KINDS,
}

#: dataset columns that identify a child or a source record: never in an analysis table.
IDENTIFIABLE = ("given_name", "middle_names", "family_name", "date_of_birth", "postcode", "nhs_number", "upn",
                "pnc_id", "prison_number", "la_child_id", "record_key", "local_id", "episode_id",
                "nhs_numbers_seen", "upns_seen", "pnc_ids_seen", "prison_numbers_seen", "la_child_ids_seen",
                "source_file", "source_row", "admission_date", "discharge_date", "formulation_date",
                "incident_at", "period_start", "period_end", "measure_date", "move_date", "from_date", "to_date",
                "given_name_bf", "family_name_bf", "dob_bf", "postcode_bf", "year_of_birth")


@dataclass(frozen=True)
class Col:
    name: str
    type: str
    description: str
    derivation: str
    unit: str = ""
    codes: str | None = None  # a key of CODE_LISTS
    required: bool = False


def _id(name: str, what: str) -> Col:
    return Col(name, "string", what, "copied", required=True)


def _count(name: str, description: str, derivation: str, unit: str) -> Col:
    """An integer column that is never empty (a count or a number of days)."""
    return Col(name, "integer", description, derivation, unit=unit, required=True)


CHILD_ID = Col("child_id", "string", "Stable pseudonymous id of the child (the dataset's child_id).",
               "children.parquet child_id: 'C' + 12 hex digits of SHA-256 of the child's smallest record key, kept "
               "across runs (docs/dataset.md, Stable child ids)", required=True)
STAY_ID = Col("stay_id", "string", "Id of the stay within these tables: child_id + '-S' + the stay's number.",
              "the child's stays numbered 1, 2, ... by admission date; the dataset's stay_id (which holds the "
              "admission date) is not exported")
EVENT_STAY_ID = Col("stay_id", "string", "The stay the row falls in (see stays.stay_id); empty outside every stay.",
                    "dataset stay_id of the row (same child, same site, date inside the stay), renumbered")
STAY_RULE = Col("stay_rule", "string", "Where the row fell relative to the child's stays.",
                "dataset stay_rule (docs/dataset.md, Events and stays)", codes="stay_rule", required=True)
SITE = Col("site_id", "string", "Site identifier.", "copied", required=True)
SETTING = Col("setting_type", "string", "Kind of setting.", "copied", codes="setting_type", required=True)
DAY = Col("day_of_stay", "integer", "Day of the stay the row falls on (1 = admission day); empty outside stays.",
          "row date - stay admission date + 1", unit="days")


def _month(name: str, what: str) -> Col:
    return Col(name, "yearmonth", f"Calendar month of the {what}.", f"year and month of the dataset's {what}",
               unit="YYYY-MM")


TABLES: dict[str, list[Col]] = {
    "children": [
        CHILD_ID,
        Col("sex", "string", "Sex / stated gender (resolved over the child's records).",
            "children.parquet sex (survivorship, docs/dataset.md)", codes="sex"),
        Col("ethnic_group", "string", "Broad ethnic group.", "children.parquet ethnicity (NHS ETHNIC CATEGORY) "
            "grouped", codes="ethnic_group", required=True),
        Col("age_band_first_admission", "string", "Age band at the first admission.",
            "age at the earliest stay's admission from the date (or year) of birth, banded", codes="age_band",
            required=True),
        _month("first_admission_month", "first admission"),
        _count("n_stays", "Stays of the child.", "rows of stays", "stays"),
        _count("n_sites", "Different sites the child stayed at.", "distinct stays.site_id", "sites"),
        _count("n_moves", "Moves of the child (admissions, transfers, releases ...).", "rows of transitions", "moves"),
        _count("n_formulations", "Formulation meetings recorded for the child.", "rows of formulations", "meetings"),
        _count("n_incidents", "Incidents recorded for the child.", "rows of incidents", "incidents"),
        _count("n_measures", "Outcome measure scores recorded for the child.", "rows of measures", "scores"),
        _count("n_records", "Source records linked into the child.", "children.parquet n_records", "records"),
        _count("n_systems", "Source systems (system at a site) holding a record of the child.",
               "children.parquet n_systems", "systems"),
        Col("min_match_probability", "number", "Lowest match probability of the links inside the child "
            "(link confidence; empty for a single record).", "children.parquet min_match_probability",
            unit="probability 0-1"),
    ],
    "stays": [
        STAY_ID, CHILD_ID,
        Col("stay_seq", "integer", "Number of the stay among the child's stays (1 = first).",
            "order of admission", required=True),
        SITE, SETTING,
        _month("admission_month", "admission"),
        _month("discharge_month", "discharge (empty while still there)"),
        Col("open", "boolean", "Still there at the data-as-at date (no discharge recorded).",
            "stays.discharge_date is empty", required=True),
        _count("length_days", "Days in the stay, counting admission and last day.",
               "discharge (or, for an open stay, observed_until: the latest extract date) - admission + 1", "days"),
        Col("age_band", "string", "Age band at admission.", "age at admission banded", codes="age_band",
            required=True),
        Col("legal_basis", "string", "Legal basis of the stay.", "stays.legal_basis (earliest episode recording "
            "one)", codes="legal_basis", required=True),
        Col("discharge_destination", "string", "Where the child went on leaving.", "stays.discharge_destination",
            codes="discharge_destination"),
        *[Col(f"recorded_by_{kind}", "boolean", f"A {kind.replace('_', ' ')} system recorded the stay.",
              f"stays.recorded_by_{kind}: an episode or event of a {kind.replace('_', ' ')} system is in the stay",
              required=True)
          for kind in ("health", "operations", "education", "social_care")],
        _count("n_formulations", "Formulation meetings in the stay.", "formulations with this stay_id", "meetings"),
        Col("days_to_first_formulation", "integer", "Days from admission to the first formulation meeting "
            "(0 = admission day); empty without one.", "first formulation date - admission date", unit="days"),
        Col("transition_formulation", "boolean", "A formulation of type 'transition' was held in the stay.",
            "any formulation in the stay with formulation_type = transition", required=True),
        _count("n_incidents", "Incidents in the stay (all kinds).", "incidents with this stay_id", "incidents"),
        *[_count(f"n_{kind}", f"Incidents of kind '{kind}' in the stay.",
                 f"incidents with this stay_id and incident_kind = {kind}", "incidents") for kind in INCIDENT_KIND],
        _count("education_days", "Days covered by the stay's education records.",
               "sum over education rows of (period_end - period_start + 1)", "days"),
        Col("hours_offered", "number", "Education hours offered over those days.", "sum of hours_offered",
            unit="hours", required=True),
        Col("hours_attended", "number", "Education hours attended over those days.", "sum of hours_attended",
            unit="hours", required=True),
        _count("n_ors", "ORS scores in the stay.", "measures with instrument ORS", "scores"),
        Col("first_ors", "number", "ORS score on the stay's first ORS date (mean of that date's scores).",
            "earliest ORS date in the stay, mean score", unit="ORS points 0-40"),
        Col("last_ors", "number", "ORS score on the stay's last ORS date (mean of that date's scores); empty with "
            "fewer than two dates.", "latest ORS date in the stay, mean score", unit="ORS points 0-40"),
    ],
    "formulations": [
        CHILD_ID, EVENT_STAY_ID, STAY_RULE, SITE, SETTING, _month("formulation_month", "formulation meeting"), DAY,
        Col("formulation_type", "string", "Initial, review or transition formulation.", "copied",
            codes="formulation_type"),
        Col("disciplines_present", "integer", "Professional disciplines present.", "copied", unit="disciplines"),
        Col("child_involvement", "string", "How the child was involved.", "copied", codes="child_involvement"),
    ],
    "incidents": [
        CHILD_ID, EVENT_STAY_ID, STAY_RULE, SITE, SETTING, _month("incident_month", "incident"), DAY,
        Col("incident_kind", "string", "Kind of incident.", "copied", codes="incident_kind", required=True),
        Col("injury", "string", "Injury outcome.", "copied", codes="injury"),
    ],
    "education": [
        CHILD_ID, EVENT_STAY_ID, STAY_RULE, SITE, SETTING, _month("period_month", "reporting period's first day"),
        DAY,
        Col("period_days", "integer", "Days the record covers (weekly or monthly reporting).",
            "period_end - period_start + 1", unit="days", required=True),
        Col("hours_offered", "number", "Hours of education offered in the period.", "copied", unit="hours"),
        Col("hours_attended", "number", "Hours of education attended in the period.", "copied", unit="hours"),
    ],
    "measures": [
        CHILD_ID, EVENT_STAY_ID, STAY_RULE, SITE, SETTING, _month("measure_month", "measure"), DAY,
        Col("instrument", "string", "Outcome measure instrument.", "copied", codes="instrument", required=True),
        Col("score", "number", "Score on the instrument's scale.", "copied", unit="instrument points",
            required=True),
    ],
    "transitions": [
        CHILD_ID,
        Col("move_seq", "integer", "Number of the move within the child's pathway.", "copied", required=True),
        Col("kind", "string", "Kind of move.", "transitions.kind (docs/dataset.md, Transitions)", codes="move_kind",
            required=True),
        _month("move_month", "move"),
        Col("from_stay_id", "string", "Stay left (see stays.stay_id); empty for an arrival from the community.",
            "renumbered from_stay_id"),
        Col("from_setting_type", "string", "Kind of place left.", "copied", codes="place", required=True),
        Col("from_site_id", "string", "Site left.", "copied"),
        Col("to_stay_id", "string", "Stay entered; empty for a release.", "renumbered to_stay_id"),
        Col("to_setting_type", "string", "Kind of place entered.", "copied", codes="place", required=True),
        Col("to_site_id", "string", "Site entered.", "copied"),
        Col("gap_days", "integer", "Days between the discharge and the next admission.", "copied", unit="days"),
        Col("discharge_destination", "string", "Recorded destination of the stay left.", "copied",
            codes="discharge_destination"),
        Col("legal_basis", "string", "Legal basis of the stay entered.", "copied", codes="legal_basis"),
        Col("age_band_at_move", "string", "Age band at the move.", "transitions.age_at_move banded",
            codes="age_band", required=True),
        Col("formulation_before", "boolean", "A formulation was recorded in the stay left, on or before the move "
            "(any type; see indicators for transition formulations).", "copied"),
        Col("formulation_at_receiving", "boolean", "A formulation at the receiving setting within "
            "the build's --formulation-days of arrival (fixed at build; the indicators take any window).",
            "transitions.formulation_at_receiving_within_days (renamed: Stata names have at most 32 characters)"),
    ],
}

TABLE_DESCRIPTIONS = {
    "children": "One row per child: demographics as bands and groups, counts, link confidence.",
    "stays": "One row per stay: setting, months, length, legal basis, destination, which systems recorded it, "
             "and summaries of its formulations, incidents, education and outcome scores.",
    "formulations": "One row per formulation meeting, with the stay it falls in.",
    "incidents": "One row per incident, with the stay it falls in.",
    "education": "One row per education record (a week or a month), with the stay it falls in.",
    "measures": "One row per outcome measure score, with the stay it falls in.",
    "transitions": "One row per move of a child's pathway.",
}
PRIMARY_KEYS = {"children": ["child_id"], "stays": ["stay_id"], "transitions": ["child_id", "move_seq"]}
