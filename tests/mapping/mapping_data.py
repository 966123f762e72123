"""A small valid mapping shared by the mapping tests (synthetic)."""

from __future__ import annotations

GOOD = """\
site_id: sch-oak
setting_type: SCH
system_kind: health
source_system: systmone
tables:
  person:
    source: {files: "patients*.csv"}
    fields:
      local_id: PatientID
      given_name: Forename
      family_name: Surname
      date_of_birth: {column: DOB, formats: ['%d/%m/%Y']}
      sex: {column: Gender, codes: nhs_gender_code, unknown_codes: keep_unknown}
"""
