"""Render linkage.html and review.html through :mod:`stairs_link.templating` (jinja2,
autoescape on; templates in ``stairs_link/templates/workbench/``).

The pages are single files: styles, scripts and data are inline (the data as JSON in a
``<script type="application/json">`` element, escaped by jinja's ``tojson``), and nothing is
fetched from anywhere, so they open from a locked-down machine's disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd
from markupsafe import Markup

from stairs_link.errors import LinkageError
from stairs_link.linkage.workbench.data import (
    WATERFALL_MAX_PAIRS,
    Linked,
    linkage_page_data,
    read_linked,
    review_page_data,
)
from stairs_link.schema.outputs import output_unit
from stairs_link.templating import render

TEMPLATES = "workbench"  # stairs_link/templates/workbench/: the pages; static/: their scripts and styles


@dataclass
class Pages:
    """Where the pages were written, and what they hold."""

    linkage_html: Path
    review_html: Path
    review_pairs: int
    waterfall_pairs: int


def asset(name: str) -> Markup:
    """A static script or stylesheet of the package, inlined as is (our own code, no user data);
    a closing ``</script>``/``</style>`` inside it would end the element early, so it is refused."""
    text = resources.files("stairs_link").joinpath("templates", TEMPLATES, "static", name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():
        raise ValueError(f"static asset {name} contains a closing script/style tag")
    return Markup(text)  # package file, checked above


def _write(path: Path, text: str) -> None:
    """Write through a temporary file, so a failed write never leaves half a page."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_pages(linked_dir: str | Path, out_dir: str | Path | None = None, *, truth: pd.DataFrame | None = None,
                max_pairs: int = WATERFALL_MAX_PAIRS, verify: bool = True, run: str | None = None) -> Pages:
    """Write ``linkage.html`` and ``review.html`` for a LINKED directory into ``out_dir`` (default:
    the LINKED directory itself, where they join its completion record: schema/outputs.py).
    ``truth`` (record_key, true_child_id) adds blocking recall. ``verify=False`` only for `link`
    itself, writing the pages into its unit before publishing (``run``: the LINKED name then)."""
    linked = read_linked(linked_dir, verify=verify)
    if out_dir is None or Path(out_dir).resolve() == Path(linked_dir).resolve():
        if not verify:  # link's own unit: its staging folder
            return _write_pages(linked, Path(linked_dir), truth, max_pairs, run or Path(linked_dir).name)
        with output_unit(Path(linked_dir), "link", amend=True) as unit:
            pages = _write_pages(linked, unit.staging, truth, max_pairs, run or Path(linked_dir).name)
        return Pages(Path(linked_dir) / "linkage.html", Path(linked_dir) / "review.html", pages.review_pairs,
                     pages.waterfall_pairs)
    return _write_pages(linked, Path(out_dir), truth, max_pairs, run or Path(linked_dir).name)


def _write_pages(linked: Linked, out: Path, truth: pd.DataFrame | None, max_pairs: int, run: str) -> Pages:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LinkageError(f"cannot create the output directory ({exc})", reason="bad_output", file=str(out),
                           fix="choose a directory you can write to") from None
    common = {"pseudonymised": linked.pseudonymised, "run": run, "asset": asset}
    linkage = linkage_page_data(linked, truth, max_pairs)
    review = review_page_data(linked)
    _write(out / "linkage.html", render(f"{TEMPLATES}/linkage.html", data=linkage, **common))
    _write(out / "review.html", render(f"{TEMPLATES}/review.html", data=review, **common))
    return Pages(out / "linkage.html", out / "review.html", len(review["pairs"]), linkage["waterfall"]["shown"])
