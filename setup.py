"""Build hook: copy the repository's mappings/, expectations/ and sample_data/ into the wheel.

Everything else about the package is in pyproject.toml. The copies land in
``stairs_link/_bundled/`` of the build (never in the source tree), so the wheel always
carries exactly the repository's files; ``stairs_link.resources`` finds them.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("mappings", "expectations", "sample_data")


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the repository's directories directly
        target = Path(self.build_lib) / "stairs_link" / "_bundled"
        for name in BUNDLED:
            source = ROOT / name
            if not source.is_dir():
                raise SystemExit(f"setup.py: {source} is missing; build from a full checkout or sdist")
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(source, target / name)


setup(cmdclass={"build_py": BuildPyWithData})
