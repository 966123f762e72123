"""`python -m stairs_link.schema [PATH]` regenerates the data dictionary (default docs/schema.md)."""

import sys
from pathlib import Path

from stairs_link.schema.dictionary import render_dictionary

target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/schema.md")
target.write_text(render_dictionary(), encoding="utf-8")
print(f"wrote {target}")
