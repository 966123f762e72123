"""Column-name synonyms for canonical fields, used to draft mappings and to suggest fixes.

Lower-case, punctuation-free forms (see :func:`normalise_header`). Drawn from the public column
lists in shared/domain/README.md (Standard Safeguarding Dataset ``pers_*``, SSDA903, DfE
pupil columns, SystmOne-style exports) plus common variants.
"""

from __future__ import annotations

import re

SYNONYMS: dict[str, list[str]] = {
    "local_id": ["id", "local id", "patient id", "patientid", "person id", "pers person id", "child", "child id",
                 "childid", "client id", "client no", "client number", "pupil id", "student id", "clae person id", "record id", "case id", "system id", "prisoner id",
                 "offender id", "internal id", "mis id", "admission no", "adno", "young person id", "ypid", "yp id"],
    "given_name": ["forename", "forenames", "forename 1", "forename1", "first name", "firstname", "given name", "givenname",
                   "pers forename", "legal forename", "christian name", "fname", "first"],
    "middle_names": ["middle name", "middle names", "middlename", "other names", "second name", "forename 2",
                     "forename2", "second forename", "middle name s", "other forenames"],
    "family_name": ["surname", "last name", "lastname", "family name", "familyname", "pers surname",
                    "legal surname", "lname", "last"],
    "date_of_birth": ["dob", "d o b", "date of birth", "dateofbirth", "birth date", "birthdate",
                      "pers dob", "born", "birth dt", "dt of birth"],
    "sex": ["sex", "gender", "pers sex", "pers gender", "gender code", "sex code", "stated gender"],
    "ethnicity": ["ethnicity", "ethnic", "ethnic group", "ethnic origin", "pers ethnicity", "ethnic code",
                  "ethnic category", "ethnicity code"],
    "postcode": ["postcode", "post code", "postal code", "home post", "home postcode", "address postcode", "zip"],
    "nhs_number": ["nhs number", "nhs no", "nhsno", "nhs num", "nhs", "nhsnumber", "nhs id"],
    "upn": ["upn", "unique pupil number", "pers upn", "pupil number"],
    "pnc_id": ["pnc", "pnc id", "pnc number", "pnc no", "pncid", "police national computer"],
    "prison_number": ["prison no", "prison number", "prisoner number", "nomis number", "noms number",
                      "noms id", "nomis id", "offender no", "booking no"],
    "la_child_id": ["la child id", "la id", "pers single unique id", "pers legacy id", "legacy id", "child la id", "lcs id", "mosaic id",
                    "local authority id", "la child ref"],
    "extracted_at": ["extracted at", "extract date", "extraction date", "extracted", "export date", "run date"],
    "episode_id": ["episode id", "episode", "clae cla episode id", "spell no", "spell number", "spell id", "stay id", "admission id", "movement id", "booking id", "placement id"],
    "admission_date": ["admission date", "admitted", "admission", "date admitted", "decom", "start date",
                       "arrival date", "reception date", "admit date", "episode start", "registered",
                       "registration date", "clae cla episode start date", "placement start"],
    "discharge_date": ["discharge date", "discharged", "date discharged", "dec", "end date", "release date",
                       "leaving date", "left", "departure date", "episode end", "deregistered",
                       "deregistration date", "clae cla episode ceased date", "placement end"],
    "legal_basis": ["legal basis", "legal status", "ls", "status", "legal", "custody type", "placement basis"],
    "discharge_destination": ["discharge destination", "destination", "reason", "rec", "release destination",
                              "discharge reason", "leaving reason", "movement reason", "release reason",
                              "end reason", "deregistration reason", "reason episode ceased"],
    "formulation_date": ["formulation date", "meeting date", "date", "formulation dt", "event date"],
    "formulation_type": ["formulation type", "type", "meeting type", "review type"],
    "disciplines_present": ["disciplines present", "disciplines", "number of disciplines", "professions present",
                            "attendees disciplines"],
    "child_involvement": ["child involvement", "involvement", "yp involvement", "child involved"],
    "incident_at": ["incident at", "incident date", "incident datetime", "date time", "datetime", "occurred at",
                    "incident time", "occurred"],
    "incident_kind": ["incident kind", "incident type", "type", "category", "kind"],
    "injury": ["injury", "injury outcome", "injury level", "injuries"],
    "period_start": ["period start", "from", "week start", "week beginning", "week commencing", "start",
                     "start date"],
    "period_end": ["period end", "to", "week end", "week ending", "end", "end date"],
    "hours_offered": ["hours offered", "offered", "hours available", "offered hours", "scheduled hours"],
    "hours_attended": ["hours attended", "attended", "attended hours", "hours present"],
    "measure_date": ["measure date", "date", "assessment date", "score date", "completed"],
    "instrument": ["instrument", "measure", "tool", "questionnaire", "scale"],
    "score": ["score", "total", "total score", "result", "value"],
}

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_header(name: str) -> str:
    """'D.O.B' -> 'd o b', 'pers_dob' -> 'pers dob', 'DateOfBirth' -> 'date of birth'."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name))
    return _NON_ALNUM.sub(" ", spaced.lower()).strip()


def synonym_for(name: str, candidates: list[str]) -> str | None:
    """The canonical field among ``candidates`` that ``name`` is a known synonym of, if any."""
    key = normalise_header(name)
    for field in candidates:
        if key == field.replace("_", " ") or key in SYNONYMS.get(field, ()):
            return field
    return None
