"""Set-up text shared by several test folders (all synthetic).

``tests/`` is on ``sys.path`` while the tests run (pytest puts the folder of the root
``conftest.py`` there), so a test imports these as ``from _helpers import ...``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

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


CHROMIUM = "/usr/bin/chromium"  # Debian's; no browser is ever downloaded
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's python package driving /usr/bin/chromium) for the page
    tests. Without either, a test skips locally and FAILS in CI (CI=true), where .ci/run
    installs both, so a missing browser can never pass as a skip there."""
    missing = not Path(CHROMIUM).exists()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("browser tests need Chromium at /usr/bin/chromium and the playwright package "
                        "(.ci/run installs them)")
        pytest.skip("Chromium (/usr/bin/chromium) or playwright is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
