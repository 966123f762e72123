"""Canonical code lists. Every coded column in the canonical schema takes values from here.

Sources are in ``shared/domain/README.md``: NHS Data Dictionary ETHNIC CATEGORY and PERSON
STATED GENDER CODE; SSDA903 legal statuses and episode-ceased reasons; the published safety
statistics for the secure estate (assaults, self-harm, use of force, separation).
"""

from __future__ import annotations

SETTING_TYPE = {
    "SCH": "Secure children's home",
    "STC": "Secure training centre",
    "YOI": "Young offender institution",
}

SYSTEM_KIND = {
    "health": "Health record system (e.g. SystmOne)",
    "operations": "Custody / case management system (e.g. p-NOMIS, YJAF)",
    "education": "Education management system (e.g. SIMS, Arbor)",
    "social_care": "Local authority social care system (e.g. Liquidlogic LCS, Mosaic)",
}

SEX = {
    "male": "Male (NHS gender code 1)",
    "female": "Female (NHS gender code 2)",
    "indeterminate": "Indeterminate (NHS gender code 9)",
    "unknown": "Not known (NHS gender code X)",
}

# NHS Data Dictionary ETHNIC CATEGORY (2001 census based), as used by NHS systems.
ETHNICITY = {
    "A": "White - British",
    "B": "White - Irish",
    "C": "White - Any other White background",
    "D": "Mixed - White and Black Caribbean",
    "E": "Mixed - White and Black African",
    "F": "Mixed - White and Asian",
    "G": "Mixed - Any other mixed background",
    "H": "Asian or Asian British - Indian",
    "J": "Asian or Asian British - Pakistani",
    "K": "Asian or Asian British - Bangladeshi",
    "L": "Asian or Asian British - Any other Asian background",
    "M": "Black or Black British - Caribbean",
    "N": "Black or Black British - African",
    "P": "Black or Black British - Any other Black background",
    "R": "Other ethnic groups - Chinese",
    "S": "Other ethnic groups - Any other ethnic group",
    "Z": "Not stated",
    "99": "Not known",
}

# Broad groups used for subgroup reporting (linkage bias, coverage).
ETHNIC_GROUP = {
    **{code: "White" for code in "ABC"},
    **{code: "Mixed" for code in "DEFG"},
    **{code: "Asian" for code in "HJKL"},
    **{code: "Black" for code in "MNP"},
    **{code: "Other" for code in "RS"},
    "Z": "Unknown",
    "99": "Unknown",
}

# DfE ethnicity codes (census) to NHS ETHNIC CATEGORY. WIRT (Traveller of Irish heritage)
# and WROM (Gypsy/Roma) have no NHS code of their own; NHS guidance places them under
# "Any other White background" (C). REFU (refused) -> Z, NOBT (not obtained) -> 99.
DFE_TO_NHS_ETHNICITY = {
    "WBRI": "A", "WIRI": "B", "WOTH": "C", "WIRT": "C", "WROM": "C",
    "MWBC": "D", "MWBA": "E", "MWAS": "F", "MOTH": "G",
    "AIND": "H", "APKN": "J", "ABAN": "K", "AOTH": "L",
    "BCRB": "M", "BAFR": "N", "BOTH": "P",
    "CHNE": "R", "OOTH": "S", "REFU": "Z", "NOBT": "99",
}

LEGAL_BASIS = {
    "welfare_s25": "Welfare placement, section 25 Children Act 1989 (secure accommodation order)",
    "remand": "Remanded to youth detention accommodation",
    "sentenced": "Serving a custodial sentence (e.g. DTO, s250/s259 Sentencing Act 2020)",
    "other": "Another recorded legal basis",
    "unknown": "Legal basis not recorded",
}

DISCHARGE_DESTINATION = {
    "community_home": "Released to family or own home in the community",
    "community_care": "Released to a local authority placement (foster/residential care)",
    "transfer_secure": "Transferred to another setting in the children's secure estate",
    "young_adult_estate": "Moved to the young adult / adult estate (usually around 18)",
    "hospital": "Transferred to a secure hospital",
    "other": "Another recorded destination",
    "unknown": "Destination not recorded",
}

FORMULATION_TYPE = {
    "initial": "First formulation after admission",
    "review": "Re-formulation / review",
    "transition": "Formulation for a move out of the setting (transition planning)",
}

CHILD_INVOLVEMENT = {
    "direct": "The child took part in the formulation",
    "indirect": "The child's views were sought and represented",
    "none": "The child was not involved",
    "unknown": "Involvement not recorded",
}

INCIDENT_KIND = {
    "restraint": "Use of force / restrictive physical intervention",
    "self_harm": "Self-harm",
    "assault": "Assault (on a child or on staff)",
    "separation": "Separation / single separation",
    "hospital_visit": "Attendance at hospital",
    "other": "Another recorded incident",
}

INJURY = {
    "none": "No injury",
    "no_treatment": "Injury, no treatment needed",
    "medical_treatment": "Injury needing medical treatment on site",
    "hospital_treatment": "Injury needing hospital treatment",
    "unknown": "Not recorded",
}

INSTRUMENT = {
    "ORS": "Outcome Rating Scale (0-40; under 28 indicates distress)",
    "CORS": "Child Outcome Rating Scale (0-40)",
    "EQ-5D-Y": "EQ-5D-Y visual analogue scale (0-100)",
    "SDQ": "Strengths and Difficulties Questionnaire total difficulties (0-40)",
}

INSTRUMENT_RANGE = {"ORS": (0, 40), "CORS": (0, 40), "EQ-5D-Y": (0, 100), "SDQ": (0, 40)}

CODE_LISTS: dict[str, dict[str, str]] = {
    "setting_type": SETTING_TYPE,
    "system_kind": SYSTEM_KIND,
    "sex": SEX,
    "ethnicity": ETHNICITY,
    "legal_basis": LEGAL_BASIS,
    "discharge_destination": DISCHARGE_DESTINATION,
    "formulation_type": FORMULATION_TYPE,
    "child_involvement": CHILD_INVOLVEMENT,
    "incident_kind": INCIDENT_KIND,
    "injury": INJURY,
    "instrument": INSTRUMENT,
}
