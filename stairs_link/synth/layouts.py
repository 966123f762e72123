"""Export layouts of the eight synthetic site systems, as data.

Each layout is a list of files; each file a list of columns saying where the value comes
from (a column of the prepared frame), which canonical field it means, and how it is
written (date format, code set). The same spec drives the renderer (``exports.py``) and is
written verbatim to ``systems.json``, so the description the adapter engineer maps from is
exactly what was rendered.

Code sets are given raw -> canonical. Renderers invert them (first raw code listed for a
canonical value wins) unless the column's source already holds raw codes (``raw=True``),
e.g. DfE ethnicity, where several DfE codes map to one NHS code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from stairs_link.schema.codes import DFE_TO_NHS_ETHNICITY

# Date formats use strptime/strftime directives; "excel_serial" means a number of days in
# Excel's 1900 date system (1899-12-30 + serial). Month abbreviations are English.
SEX_NHS = {"1": "male", "2": "female", "9": "indeterminate", "X": "unknown"}
SEX_MFU = {"M": "male", "F": "female", "I": "indeterminate", "U": "unknown"}
SEX_NOMIS = {"M": "male", "F": "female", "NK": "unknown", "NS": "indeterminate"}
SEX_WORDS = {"Male": "male", "Female": "female", "Other": "indeterminate", "Not Known": "unknown"}
SEX_SIMS = {"M": "male", "F": "female"}
SEX_ARBOR = {"Male": "male", "Female": "female", "Unknown": "unknown"}
SEX_903 = {"1": "male", "2": "female"}
NHS_ETHNICITY = {c: c for c in ("A B C D E F G H J K L M N P R S Z 99".split())}
DFE_ETHNICITY = dict(DFE_TO_NHS_ETHNICITY)
# 2011-census style codes as used in prison systems; W3 Gypsy or Irish Traveller -> C.
NOMIS_ETHNICITY = {
    "W1": "A", "W2": "B", "W3": "C", "W9": "C", "M1": "D", "M2": "E", "M3": "F", "M9": "G",
    "A1": "H", "A2": "J", "A3": "K", "A4": "R", "A9": "L", "B1": "M", "B2": "N", "B9": "P",
    "O2": "S", "O9": "S", "NS": "Z",
}
ARBOR_ETHNICITY = {
    "White - British": "A", "White - Irish": "B", "Traveller of Irish heritage": "C", "Gypsy / Roma": "C",
    "Any other White background": "C", "White and Black Caribbean": "D", "White and Black African": "E",
    "White and Asian": "F", "Any other mixed background": "G", "Indian": "H", "Pakistani": "J",
    "Bangladeshi": "K", "Any other Asian background": "L", "Black Caribbean": "M", "Black - African": "N",
    "Any other Black background": "P", "Chinese": "R", "Any other ethnic group": "S",
    "Information refused": "Z", "Information not yet obtained": "99",
}

FORMULATION_TYPE_WORDS = {"Initial": "initial", "Review": "review", "Transition": "transition"}
FORMULATION_TYPE_CODES = {"INIT": "initial", "REV": "review", "TRANS": "transition"}
INVOLVEMENT_WORDS = {"Direct": "direct", "Indirect": "indirect", "None": "none"}
INVOLVEMENT_CODES = {"Y-D": "direct", "Y-I": "indirect", "N": "none"}
MEASURE_S1 = {"ORS": "ORS", "CORS": "CORS", "EQ-5D-Y VAS": "EQ-5D-Y"}
MEASURE_CN = {"Outcome Rating Scale": "ORS", "Child Outcome Rating Scale": "CORS", "EQ5DY-VAS": "EQ-5D-Y"}
DEREG_S1 = {"Released": "community_home", "Released to LA care": "community_care",
            "Transferred": "transfer_secure", "Adult estate": "young_adult_estate",
            "Hospital": "hospital"}
DISCHARGE_CN = {"HOME": "community_home", "LAC": "community_care", "TRF": "transfer_secure",
                "ADULT": "young_adult_estate", "HOSP": "hospital"}
NOMIS_LEGAL = {"REM": "remand", "SENT": "sentenced"}
NOMIS_RELEASE = {"CR": "community_home", "CRLA": "community_care", "TRN": "transfer_secure",
                 "TRNA": "young_adult_estate", "HP": "hospital"}
NOMIS_INCIDENT = {"UOF": "restraint", "SH": "self_harm", "ASSLT": "assault", "SEG": "separation",
                  "HOSP": "hospital_visit"}
NOMIS_INJURY = {"NONE": "none", "MINOR": "no_treatment", "MED": "medical_treatment", "HOSP": "hospital_treatment"}
# Case-manager legal statuses: SSDA903 J1 (remanded); "S25" secure accommodation order
# (s25 Children Act 1989); DTO and S250 custodial sentences. End reasons: SSDA903 episode
# ceased codes E4A (returned home), E14 (remand ended) plus local codes.
CM_LEGAL = {"S25": "welfare_s25", "J1": "remand", "DTO": "sentenced", "S250": "sentenced"}
CM_END = {"E4A": "community_home", "E14": "community_home", "LAC": "community_care",
          "TRF": "transfer_secure", "YAE": "young_adult_estate", "HOS": "hospital"}
CM_INCIDENT = {"Physical Restraint": "restraint", "Self Harm": "self_harm", "Assault": "assault",
               "Single Separation": "separation", "Hospital Attendance": "hospital_visit"}
CM_INJURY = {"None": "none", "Minor - no treatment": "no_treatment", "Treated on site": "medical_treatment",
             "Hospital": "hospital_treatment"}
# Social care: SSDA903 legal status C2 (care order) / V2 (accommodated, s20) for children in
# secure welfare placements (authorised under s25), J1 remanded. Episode ceased (REC):
# E4A returned home, E14 remand ended, E9 sentenced to custody, E8 other, E41 moved to
# another secure placement (local use), E7 moved to adult estate (local use).
SC_LEGAL = {"C2": "welfare_s25", "V2": "welfare_s25", "J1": "remand"}
SC_CEASED = {"E4A": "community_home", "E14": "community_home", "E8": "community_care",
             "E9": "transfer_secure", "E41": "transfer_secure", "E7": "young_adult_estate", "E15": "hospital"}


@dataclass(frozen=True)
class Col:
    """One column of an export file."""

    name: str  # header as written in the export
    source: str  # column of the prepared frame it is rendered from
    canonical: str | None  # canonical field it fills (None: not mapped)
    meaning: str = ""
    date_format: str | None = None  # strftime pattern, or "excel_serial"
    codes: dict[str, str] | None = None  # raw -> canonical
    raw: bool = False  # source already holds raw codes (no inversion)
    required: bool = False  # a blank value makes the row unusable


@dataclass(frozen=True)
class FileLayout:
    """One export file of a system."""

    name: str
    table: str  # canonical table it feeds
    format: str  # csv | xlsx | json
    columns: tuple[Col, ...]
    encoding: str = "utf-8"  # python codec name; utf-8-sig = UTF-8 with BOM
    delimiter: str | None = ","
    line_terminator: str = "\n"
    sheet: str | None = None
    header_row: int = 1  # 1-based row of the header (xlsx)
    json_path: str | None = None  # dotted path to the list of records (json)
    decimal: str = "."
    notes: str = ""


def _person_common(local: str, given: str, family: str, dob: str, fmt: str) -> list[Col]:
    return [
        Col(local, "local_id", "local_id", "record id in this system", required=True),
        Col(given, "given_name", "given_name", "given (first) name"),
        Col(family, "family_name", "family_name", "family name"),
        Col(dob, "date_of_birth", "date_of_birth", "date of birth", date_format=fmt),
    ]


LAYOUTS: dict[str, tuple[FileLayout, ...]] = {
    "systmone": (
        FileLayout("patients.csv", "person", "csv", (
            *_person_common("Patient ID", "Forename", "Surname", "Date of Birth", "%d/%m/%Y"),
            Col("Middle Names", "middle_names", "middle_names", "middle names, space separated"),
            Col("NHS Number", "nhs_number_raw", "nhs_number", "NHS number; some written with spaces (999 123 4567)"),
            Col("Gender", "sex", "sex", "NHS PERSON STATED GENDER CODE", codes=SEX_NHS),
            Col("Ethnicity", "ethnicity", "ethnicity", "NHS ETHNIC CATEGORY code", codes=NHS_ETHNICITY),
            Col("Postcode", "postcode", "postcode", "home postcode"),
        )),
        FileLayout("registrations.csv", "episode", "csv", (
            Col("Patient ID", "local_id", "record_key", "patient the registration belongs to", required=True),
            Col("Registration ID", "episode_id", "episode_id", "id of the registration", required=True),
            Col("Registered", "admission_date", "admission_date", "registered with the setting's health service",
                date_format="%d/%m/%Y", required=True),
            Col("Deregistered", "discharge_date", "discharge_date", "deregistered (blank while registered)",
                date_format="%d/%m/%Y"),
            Col("Deregistration Reason", "discharge_destination", "discharge_destination", "why deregistered",
                codes=DEREG_S1),
        ), notes="Health registrations start a day or two after admission and carry no legal basis."),
        FileLayout("formulations.csv", "formulation", "csv", (
            Col("Patient ID", "local_id", "record_key", "patient", required=True),
            Col("Event Date", "formulation_date", "formulation_date", "date of the formulation meeting",
                date_format="%d/%m/%Y", required=True),
            Col("Formulation Type", "formulation_type", "formulation_type", "", codes=FORMULATION_TYPE_WORDS),
            Col("Disciplines Present", "disciplines_present", "disciplines_present", "number of disciplines"),
            Col("YP Involvement", "child_involvement", "child_involvement", "young person's involvement",
                codes=INVOLVEMENT_WORDS),
        )),
        FileLayout("measures.csv", "measure", "csv", (
            Col("Patient ID", "local_id", "record_key", "patient", required=True),
            Col("Date", "measure_date", "measure_date", "date completed", date_format="%d/%m/%Y", required=True),
            Col("Questionnaire", "instrument", "instrument", "", codes=MEASURE_S1, required=True),
            Col("Score", "score", "score", "total score", required=True),
        )),
    ),
    "carenotes": (
        FileLayout("carenotes_patients.xlsx", "person", "xlsx", (
            Col("Client ID", "local_id", "local_id", "record id in this system", required=True),
            Col("Patient Name", "patient_name", None,
                "'SURNAME, Given Middle': family name in capitals, comma, given name(s); split to "
                "family_name and given_name (first word after the comma; the rest are middle names)"),
            Col("DOB", "date_of_birth", "date_of_birth", "date of birth as an Excel serial number (a plain number)",
                date_format="excel_serial"),
            Col("Sex", "sex", "sex", "", codes=SEX_MFU),
            Col("Ethnicity", "ethnicity_dfe", "ethnicity", "DfE ethnicity code", codes=DFE_ETHNICITY, raw=True),
            Col("NHS No", "nhs_number_raw", "nhs_number", "NHS number"),
            Col("Post Code", "postcode", "postcode", "home postcode"),
        ), sheet="Patients", header_row=3,
            notes="Rows 1-2 hold a title and the run date; the header is on row 3."),
        FileLayout("carenotes_patients.xlsx", "episode", "xlsx", (
            Col("Client ID", "local_id", "record_key", "patient", required=True),
            Col("Spell No", "episode_id", "episode_id", "spell number within the client (unique with Client ID)",
                required=True),
            Col("Admitted", "admission_date", "admission_date", "Excel date cell", date_format="excel_date",
                required=True),
            Col("Discharged", "discharge_date", "discharge_date", "Excel date cell (blank while admitted)",
                date_format="excel_date"),
            Col("Discharge Reason", "discharge_destination", "discharge_destination", "", codes=DISCHARGE_CN),
        ), sheet="Admissions", header_row=1),
        FileLayout("carenotes_patients.xlsx", "formulation", "xlsx", (
            Col("Client ID", "local_id", "record_key", "patient", required=True),
            Col("Date", "formulation_date", "formulation_date", "Excel date cell", date_format="excel_date",
                required=True),
            Col("Type", "formulation_type", "formulation_type", "", codes=FORMULATION_TYPE_CODES),
            Col("No. Disciplines", "disciplines_present", "disciplines_present", ""),
            Col("Involvement", "child_involvement", "child_involvement", "", codes=INVOLVEMENT_CODES),
        ), sheet="Formulations", header_row=1),
        FileLayout("carenotes_patients.xlsx", "measure", "xlsx", (
            Col("Client ID", "local_id", "record_key", "patient", required=True),
            Col("Assessment Date", "measure_date", "measure_date", "Excel date cell", date_format="excel_date",
                required=True),
            Col("Measure", "instrument", "instrument", "", codes=MEASURE_CN, required=True),
            Col("Total", "score", "score", "", required=True),
        ), sheet="Outcomes", header_row=1),
    ),
    "nomis": (
        FileLayout("offenders.txt", "person", "csv", (
            Col("OFFENDER_ID", "local_id", "local_id", "internal offender id", required=True),
            Col("PRISON_NO", "prison_number", "prison_number", "NOMIS prison number A9999AA"),
            Col("PNC", "pnc_raw", "pnc_id", "PNC id, long (2019/0123456X) or short (19/123456X) form"),
            Col("SURNAME", "family_name", "family_name", "family name, capitals"),
            Col("FORENAME_1", "given_name", "given_name", "first forename, capitals"),
            Col("FORENAME_2", "middle_names", "middle_names", "second forename(s), capitals"),
            Col("BIRTH_DATE", "date_of_birth", "date_of_birth", "", date_format="%Y-%m-%d"),
            Col("SEX_CODE", "sex", "sex", "", codes=SEX_NOMIS),
            Col("ETHNIC_CODE", "ethnicity_nomis", "ethnicity", "2011-census style ethnicity code",
                codes=NOMIS_ETHNICITY, raw=True),
            Col("POSTCODE", "postcode", "postcode", "address on reception"),
        ), encoding="cp1252", delimiter="|", line_terminator="\r\n"),
        FileLayout("bookings.txt", "episode", "csv", (
            Col("OFFENDER_ID", "local_id", "record_key", "offender", required=True),
            Col("BOOKING_NO", "episode_id", "episode_id", "booking number", required=True),
            Col("START_DATE", "admission_date", "admission_date", "reception date", date_format="%Y-%m-%d",
                required=True),
            Col("END_DATE", "discharge_date", "discharge_date", "release or transfer date", date_format="%Y-%m-%d"),
            Col("LEGAL_STATUS", "legal_basis", "legal_basis", "", codes=NOMIS_LEGAL),
            Col("RELEASE_REASON", "discharge_destination", "discharge_destination", "", codes=NOMIS_RELEASE),
        ), encoding="cp1252", delimiter="|", line_terminator="\r\n"),
        FileLayout("incidents.txt", "incident", "csv", (
            Col("INCIDENT_ID", "event_id", None, "incident number"),
            Col("OFFENDER_ID", "local_id", "record_key", "offender", required=True),
            Col("INCIDENT_DATE", "incident_date", "incident_at", "date part", date_format="%Y-%m-%d", required=True),
            Col("INCIDENT_TIME", "incident_time", "incident_at", "time part, HH:MM (24h)"),
            Col("INCIDENT_TYPE", "incident_kind", "incident_kind", "", codes=NOMIS_INCIDENT, required=True),
            Col("INJURY_LEVEL", "injury", "injury", "", codes=NOMIS_INJURY),
        ), encoding="cp1252", delimiter="|", line_terminator="\r\n"),
    ),
    "case-manager": (
        FileLayout("young_people.json", "person", "json", (
            *_person_common("ypId", "firstName", "lastName", "dateOfBirth", "%d-%b-%y"),
            Col("middleName", "middle_names", "middle_names", ""),
            Col("gender", "sex", "sex", "", codes=SEX_WORDS),
            Col("ethnicity", "ethnicity_dfe", "ethnicity", "DfE ethnicity code", codes=DFE_ETHNICITY, raw=True),
            Col("nhsNumber", "nhs_number_raw", "nhs_number", ""),
            Col("upn", "upn", "upn", ""),
            Col("pncNumber", "pnc_raw", "pnc_id", "PNC id as typed (long or short form)"),
            Col("laChildId", "la_child_id", "la_child_id", "placing local authority's child id"),
            Col("homePostcode", "postcode_raw", "postcode", "as typed: case and spacing vary"),
        ), json_path="data.youngPeople", notes="Two-digit years: dates of birth are in the past (20yy/19yy)."),
        FileLayout("placements.json", "episode", "json", (
            Col("ypId", "local_id", "record_key", "young person", required=True),
            Col("placementId", "episode_id", "episode_id", "", required=True),
            Col("startDate", "admission_date", "admission_date", "", date_format="%d-%b-%y", required=True),
            Col("endDate", "discharge_date", "discharge_date", "null while placed", date_format="%d-%b-%y"),
            Col("legalStatus", "legal_basis", "legal_basis", "", codes=CM_LEGAL),
            Col("endReason", "discharge_destination", "discharge_destination", "", codes=CM_END),
        ), json_path="data.placements"),
        FileLayout("incidents.json", "incident", "json", (
            Col("incidentRef", "event_id", None, "incident reference"),
            Col("ypId", "local_id", "record_key", "young person", required=True),
            Col("occurredAt", "incident_at", "incident_at", "local date-time", date_format="%Y-%m-%dT%H:%M",
                required=True),
            Col("category", "incident_kind", "incident_kind", "", codes=CM_INCIDENT, required=True),
            Col("injury", "injury", "injury", "", codes=CM_INJURY),
        ), json_path="data.incidents"),
    ),
    "sims": (
        FileLayout("students.csv", "person", "csv", (
            Col("Adno", "local_id", "local_id", "admission number", required=True),
            Col("UPN", "upn", "upn", "unique pupil number"),
            Col("Legal Surname", "family_name", "family_name", ""),
            Col("Forename", "given_name", "given_name", ""),
            Col("Middle Name(s)", "middle_names", "middle_names", ""),
            Col("DOB", "date_of_birth", "date_of_birth", "two-digit year: a date in the past", date_format="%d/%m/%y"),
            Col("Gender", "sex", "sex", "blank when not known", codes=SEX_SIMS),
            Col("Ethnicity", "ethnicity_dfe", "ethnicity", "DfE ethnicity code", codes=DFE_ETHNICITY, raw=True),
            Col("Postcode", "postcode", "postcode", ""),
        ), encoding="utf-8-sig", line_terminator="\r\n"),
        FileLayout("attendance.csv", "education", "csv", (
            Col("Adno", "local_id", "record_key", "pupil", required=True),
            Col("Week Beginning", "period_start", "period_start", "", date_format="%d/%m/%y", required=True),
            Col("Week Ending", "period_end", "period_end", "", date_format="%d/%m/%y", required=True),
            Col("Hours Offered", "hours_offered", "hours_offered", ""),
            Col("Hours Attended", "hours_attended", "hours_attended", ""),
        ), encoding="utf-8-sig", line_terminator="\r\n"),
    ),
    "arbor": (
        FileLayout("arbor_students.csv", "person", "csv", (
            Col("Student ID", "local_id", "local_id", "", required=True),
            Col("First name", "given_name", "given_name", ""),
            Col("Last name", "family_name", "family_name", ""),
            Col("Date of birth", "date_of_birth", "date_of_birth", "", date_format="%d %b %Y"),
            Col("Gender", "sex", "sex", "", codes=SEX_ARBOR),
            Col("Ethnicity", "ethnicity_arbor", "ethnicity", "ethnicity description", codes=ARBOR_ETHNICITY,
                raw=True),
            Col("UPN", "upn", "upn", ""),
            Col("Postcode", "postcode", "postcode", ""),
        ), encoding="cp1252", delimiter=";", line_terminator="\r\n", decimal=","),
        FileLayout("arbor_attendance.csv", "education", "csv", (
            Col("Student ID", "local_id", "record_key", "", required=True),
            Col("Period start", "period_start", "period_start", "", date_format="%d %b %Y", required=True),
            Col("Period end", "period_end", "period_end", "", date_format="%d %b %Y", required=True),
            Col("Scheduled hours", "hours_offered", "hours_offered", "decimal comma"),
            Col("Attended hours", "hours_attended", "hours_attended", "decimal comma"),
        ), encoding="cp1252", delimiter=";", line_terminator="\r\n", decimal=",",
            notes="Each period groups the weeks that start in one calendar month (so it may end early in the next month); hours use a decimal comma."),
    ),
    "lcs": (
        FileLayout("ssd_person.csv", "person", "csv", (
            Col("pers_person_id", "local_id", "local_id", "", required=True),
            Col("pers_legacy_id", "la_child_id", "la_child_id", "placing LA's child number"),
            Col("pers_forename", "given_name", "given_name", ""),
            Col("pers_middle_names", "middle_names", "middle_names", ""),
            Col("pers_surname", "family_name", "family_name", ""),
            Col("pers_sex", "sex", "sex", "", codes=SEX_MFU),
            Col("pers_ethnicity", "ethnicity_dfe", "ethnicity", "DfE ethnicity code", codes=DFE_ETHNICITY, raw=True),
            Col("pers_dob", "date_of_birth", "date_of_birth", "SQL datetime", date_format="%Y-%m-%d %H:%M:%S"),
            Col("pers_upn", "upn", "upn", ""),
            Col("pers_nhs_number", "nhs_number_raw", "nhs_number", ""),
            Col("addr_postcode", "postcode", "postcode", "current address postcode (from ssd_address)"),
        )),
        FileLayout("ssd_cla_episodes.csv", "episode", "csv", (
            Col("clae_cla_episode_id", "episode_id", "episode_id", "", required=True),
            Col("clae_person_id", "local_id", "record_key", "", required=True),
            Col("clae_cla_episode_start_date", "admission_date", "admission_date", "",
                date_format="%Y-%m-%d %H:%M:%S", required=True),
            Col("clae_cla_episode_ceased_date", "discharge_date", "discharge_date", "",
                date_format="%Y-%m-%d %H:%M:%S"),
            Col("clae_legal_status", "legal_basis", "legal_basis", "SSDA903 legal status", codes=SC_LEGAL),
            Col("clae_cla_episode_ceased_reason", "discharge_destination", "discharge_destination",
                "SSDA903 reason episode ceased", codes=SC_CEASED),
            Col("clae_placement_type", "placement", None, "SSDA903 placement type (K1 SCH, R5 YOI/STC)"),
        ), notes="Only welfare and remand stays are care episodes; sentenced stays do not appear."),
    ),
    "mosaic": (
        FileLayout("header.csv", "person", "csv", (
            Col("CHILD", "local_id", "local_id", "child id", required=True),
            Col("FORENAME", "given_name", "given_name", "local addition to the SSDA903 header"),
            Col("SURNAME", "family_name", "family_name", "local addition to the SSDA903 header"),
            Col("SEX", "sex", "sex", "SSDA903 sex", codes=SEX_903),
            Col("DOB", "date_of_birth", "date_of_birth", "", date_format="%d/%m/%Y"),
            Col("ETHNIC", "ethnicity_dfe", "ethnicity", "DfE ethnicity code", codes=DFE_ETHNICITY, raw=True),
            Col("UPN", "upn", "upn", ""),
            Col("LA_CHILD_NO", "la_child_id", "la_child_id", "placing LA's child number"),
        )),
        FileLayout("episodes.csv", "episode", "csv", (
            Col("CHILD", "local_id", "record_key", "child id", required=True),
            Col("DECOM", "admission_date", "admission_date", "date episode commenced", date_format="%d/%m/%Y",
                required=True),
            Col("RNE", "rne", None, "reason for new episode (S = started to be looked after, P = placement change)"),
            Col("LS", "legal_basis", "legal_basis", "legal status", codes=SC_LEGAL),
            Col("PLACE", "placement", None, "placement type (K1 SCH, R5 YOI/STC)"),
            Col("DEC", "discharge_date", "discharge_date", "date episode ceased", date_format="%d/%m/%Y"),
            Col("REC", "discharge_destination", "discharge_destination", "reason episode ceased", codes=SC_CEASED),
            Col("HOME_POST", "postcode", "postcode", "child's home postcode (a person field kept on the episode)"),
        ), notes="episode_id is not exported: use CHILD + DECOM. Only welfare and remand stays appear."),
    ),
}


def layout_json(layout: str) -> list[dict]:
    """The layout as plain data for systems.json (prepared-frame ``source`` names omitted)."""
    out = []
    for f in LAYOUTS[layout]:
        d = asdict(f)
        d["columns"] = [
            {k: v for k, v in c.items() if k not in ("source", "raw") and v not in (None, "", False)}
            for c in d["columns"]
        ]
        if f.format != "csv":  # text-file settings mean nothing for a workbook; JSON is UTF-8 text
            for key in ("delimiter", "line_terminator", "decimal") + (("encoding",) if f.format == "xlsx" else ()):
                d.pop(key)
        if f.format != "xlsx":
            d.pop("header_row")
        out.append({k: v for k, v in d.items() if v is not None and v != ""})
    return out

