"""Shared text of the small hand-made exports and mapping (synthetic)."""

from __future__ import annotations

from _helpers import SYSTMONE_PERSON_MAPPING

PERSON_MAPPING = SYSTMONE_PERSON_MAPPING + """\
      nhs_number: NHS Number
      postcode: Postcode
"""

HEADER = "PatientID,Forename,Surname,DOB,Gender,NHS Number,Postcode\n"
ROWS = [
    "1,John,Smith,03/04/2009,1,9434765919,sw1a1aa\n",
    "2, Mary ,Jones,31/02/2010,2,9434765918,XX\n",
    "3,Amir,Khan,01/01/08,9,,\n",
]
