"""Shared text of the small hand-made exports and mapping (synthetic)."""

from __future__ import annotations

PERSON_MAPPING = """\
site_id: sch-oak
setting_type: SCH
system_kind: health
source_system: systmone
extracted_at: "2026-03-31"
tables:
  person:
    source: {{files: "patients*.csv"{source_extra}}}
    fields:
      local_id: PatientID
      given_name: Forename
      family_name: Surname
      date_of_birth: {{column: DOB, formats: ['%d/%m/%Y', '%d/%m/%y']}}
      sex: {{column: Gender, codes: nhs_gender_code, unknown_codes: {sex_policy}}}
      nhs_number: NHS Number
      postcode: Postcode
"""

HEADER = "PatientID,Forename,Surname,DOB,Gender,NHS Number,Postcode\n"
ROWS = [
    "1,John,Smith,03/04/2009,1,9434765919,sw1a1aa\n",
    "2, Mary ,Jones,31/02/2010,2,9434765918,XX\n",
    "3,Amir,Khan,01/01/08,9,,\n",
]
