"""Set-up text shared by several test folders (all synthetic).

``tests/`` is on ``sys.path`` while the tests run (pytest puts the folder of the root
``conftest.py`` there), so a test imports these as ``from _helpers import ...``.
"""

from __future__ import annotations

#: A health system's person mapping with the fields every hand-made CSV export here has
#: (PatientID, Forename, Surname, DOB, Gender). A ``str.format`` template: ``sex_policy`` is the
#: Gender column's ``unknown_codes`` policy, ``source_extra`` more ``source:`` keys (e.g.
#: ``", encoding: utf-8"``). Callers append further field lines, or tables, to the text.
SYSTMONE_PERSON_MAPPING = """\
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
"""
