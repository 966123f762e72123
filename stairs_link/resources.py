"""Where the project's bundled data lives: mappings, expectation suites and the sample data.

They are kept once, at the repository root (``mappings/``, ``expectations/``,
``sample_data/``). A built wheel carries a copy of each under ``stairs_link/_bundled/``
(copied by ``setup.py`` at build time, so the copy cannot drift from the repository);
an editable install or a source checkout reads the repository's directories directly.
"""

from __future__ import annotations

from pathlib import Path

#: The directories bundled into a wheel, by name (the same name at the repository root).
BUNDLED = ("mappings", "expectations", "sample_data")

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLE_DIR = PACKAGE_DIR / "_bundled"
REPO_ROOT = PACKAGE_DIR.parent


def data_dir(name: str) -> Path:
    """The directory holding bundled data ``name`` (one of ``BUNDLED``).

    The wheel's copy when the package was installed from a wheel, else the repository's
    directory (which may not exist: callers say what is missing)."""
    if name not in BUNDLED:
        raise ValueError(f"unknown bundled directory {name!r}; one of {', '.join(BUNDLED)}")
    bundled = BUNDLE_DIR / name
    return bundled if bundled.is_dir() else REPO_ROOT / name
