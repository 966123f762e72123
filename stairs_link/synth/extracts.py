"""The synthetic world delivered year after year: annual extracts of every site system.

Each extract is the world as the systems knew it on 31 December of its year, taken on
31 January after (``extracted_at``). Two styles:

* ``cumulative``: each year's export holds everything recorded so far;
* ``year-only``: each year's export holds that year's activity only (the first one: everything
  so far): episodes that overlap the year, events dated in it, and the person records they
  belong to.

Stays still open on the cut-off date are open (no discharge) in that extract and closed in a
later one. Some records are edited between extracts: an earlier extract lacks a value that a
later one holds (a postcode or identifier recorded later, a discharge destination filled in
later). Every extract is cut from the same full frames (:func:`~stairs_link.synth.exports.site_system_frames`),
so local ids, episode ids and values agree across extracts, and the last cumulative extract of
the world's last year is the world's whole export (without planted bad rows).

Truth: ``truth/extracts.parquet`` (which records each extract holds) and ``truth/edits.parquet``
(every value an earlier extract lacks), next to the whole world's truth.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from stairs_link.schema.io import write_staged as publish_staged
from stairs_link.synth.canonical import canonical_table
from stairs_link.synth.damage import DamageConfig
from stairs_link.synth.exports import (
    Drawn,
    _parquet,
    _write_truth,
    draw,
    site_system_frames,
    system_entry,
    write_site_system,
    write_systems_json,
)
from stairs_link.synth.layouts import LAYOUTS
from stairs_link.synth.sites import Site
from stairs_link.synth.world import WORLD_CUTOFF, WORLD_START

STYLES = ("cumulative", "year-only")

#: the date column that places each event table's rows in time (rows up to the cut-off are known).
EVENT_DATE = {"formulation": "formulation_date", "incident": "incident_at", "education": "period_end",
              "measure": "measure_date"}

#: person fields an earlier extract may lack (recorded later), with the export columns holding them.
EDITABLE_PERSON = {"postcode": ("postcode", "postcode_raw"), "nhs_number": ("nhs_number", "nhs_number_raw"),
                   "upn": ("upn",), "pnc_id": ("pnc_id", "pnc_raw"), "la_child_id": ("la_child_id",)}

FIRST_YEAR = int(str(WORLD_START)[:4])
LAST_YEAR = int(str(WORLD_CUTOFF)[:4])


def extract_date(year: int) -> str:
    """The day the extract of ``year`` is taken (31 January after)."""
    return f"{year + 1}-01-31"


@dataclass
class Extract:
    """One annual extract of every site system: prepared frames per (site, system)."""

    year: int
    style: str
    extracted_at: str  # ISO date-time, as the staged extracted_at column holds it
    systems: list[tuple[Site, str, dict[str, pd.DataFrame]]] = field(default_factory=list)


def check_years(years: list[int] | tuple[int, ...]) -> tuple[int, ...]:
    """Years in increasing order within the world's span; ValueError otherwise."""
    years = tuple(int(y) for y in years)
    if not years:
        raise ValueError("give at least one year")
    if list(years) != sorted(set(years)):
        raise ValueError(f"years must be distinct and increasing, got {list(years)}")
    if years[0] < FIRST_YEAR or years[-1] > LAST_YEAR:
        raise ValueError(f"years must lie within the world's span {FIRST_YEAR}-{LAST_YEAR}, got {list(years)}")
    return years


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize()


def _cut(frames: dict[str, pd.DataFrame], cut: pd.Timestamp, start: pd.Timestamp | None
         ) -> dict[str, pd.DataFrame]:
    """A site system's frames as known on ``cut``; with ``start``, only activity from ``start``."""
    out: dict[str, pd.DataFrame] = {}
    ep = frames["episode"]
    adm, dis = _dates(ep["admission_date"]), _dates(ep["discharge_date"])
    keep = adm <= cut
    if start is not None:
        keep &= dis.isna() | (dis >= start)
    ep = ep[keep.to_numpy()].copy()
    still_open = (dis[keep] > cut).to_numpy()
    ep.loc[still_open, "discharge_date"] = pd.NaT
    ep.loc[still_open, "discharge_destination"] = None
    out["episode"] = ep
    for table, column in EVENT_DATE.items():
        if table in frames:
            frame = frames[table]
            when = _dates(frame[column])
            sel = when <= cut
            if start is not None:
                sel &= when >= start
            out[table] = frame[sel.to_numpy()].copy()
    held = pd.concat([f["record_key"] for f in out.values()], ignore_index=True).unique()
    person = frames["person"]
    # a record is in the extract when it holds a row of it, or (a record with no rows of its
    # own, e.g. a social care record of a sentenced stay) it was opened in the period
    first = _dates(person["first_admission"])
    opened = (first <= cut) & (True if start is None else first >= start)
    out["person"] = person[(person["record_key"].isin(held) | opened).to_numpy()].copy()
    return {name: frame.reset_index(drop=True) for name, frame in out.items()}


def _edit(cut_frames: list[dict[str, pd.DataFrame]], rng: np.random.Generator, rate: float,
          year: int, style: str, site: Site, system: str) -> list[dict]:
    """Blank, in the extract of ``year`` (``cut_frames[0]``), a value that a later extract of
    the same record or episode holds; returns the edits for the truth."""
    this, later = cut_frames[0], cut_frames[1:]
    if not later:
        return []
    edits: list[dict] = []
    person = this["person"]
    later_keys = pd.concat([f["person"]["record_key"] for f in later]).unique()
    # one candidate field per record, chosen among those its latest version holds
    fields = list(EDITABLE_PERSON)
    choice = rng.integers(0, len(fields), len(person))
    hit = (rng.random(len(person)) < rate) & person["record_key"].isin(later_keys).to_numpy()
    for k, name in enumerate(fields):
        sel = hit & (choice == k) & person[name].notna().to_numpy()
        if sel.any():
            for column in EDITABLE_PERSON[name]:
                person.loc[sel, column] = None
            edits += [{"style": style, "year": year, "site_id": site.site_id, "source_system": system,
                       "record_key": key, "table": "person", "episode_id": None, "field": name}
                      for key in person.loc[sel, "record_key"]]
    ep = this["episode"]
    later_ep = pd.concat([f["episode"][["record_key", "episode_id"]] for f in later]).drop_duplicates()
    in_later = pd.MultiIndex.from_frame(ep[["record_key", "episode_id"]]).isin(
        pd.MultiIndex.from_frame(later_ep))
    sel = (rng.random(len(ep)) < rate) & in_later & ep["discharge_destination"].notna().to_numpy()
    if sel.any():
        ep.loc[sel, "discharge_destination"] = None
        edits += [{"style": style, "year": year, "site_id": site.site_id, "source_system": system,
                   "record_key": r.record_key, "table": "episode", "episode_id": r.episode_id,
                   "field": "discharge_destination"} for r in ep.loc[sel].itertuples()]
    return edits


@dataclass
class AnnualExtracts:
    """All extracts of one style, oldest first, with what was edited between them."""

    drawn: Drawn
    style: str
    extracts: list[Extract]
    edits: pd.DataFrame


def annual_extracts(drawn: Drawn, years: list[int] | tuple[int, ...], style: str,
                    edit_rate: float = 0.08,
                    full: list[tuple[Site, str, dict[str, pd.DataFrame]]] | None = None) -> AnnualExtracts:
    """Cut the drawn world into annual extracts of ``style`` (see module docstring).
    ``full``: the world's site-system frames when already made (they are the same for every style)."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; valid: {', '.join(STYLES)}")
    years = check_years(years)
    full = full if full is not None else list(site_system_frames(drawn))
    cuts = [pd.Timestamp(f"{y}-12-31") for y in years]
    starts: list[pd.Timestamp | None] = [None] + [pd.Timestamp(f"{y}-01-01") for y in years[1:]]
    if style == "cumulative":
        starts = [None] * len(years)
    extracts = [Extract(y, style, extract_date(y) + "T06:00:00") for y in years]
    # one generator per style, so both styles are reproducible on their own
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([drawn.world.seed, STYLES.index(style)])))
    edits: list[dict] = []
    for site, system, frames in full:
        cut = [_cut(frames, c, s) for c, s in zip(cuts, starts)]
        for k in range(len(years)):
            edits += _edit(cut[k:], rng, edit_rate, years[k], style, site, system)
            extracts[k].systems.append((site, system, cut[k]))
    columns = ["style", "year", "site_id", "source_system", "record_key", "table", "episode_id", "field"]
    return AnnualExtracts(drawn, style, extracts, pd.DataFrame(edits, columns=columns))


def canonical_extracts(n_children: int, seed: int, years: list[int] | tuple[int, ...], style: str,
                       damage: DamageConfig | None = None, edit_rate: float = 0.08, drawn: Drawn | None = None,
                       full: list[tuple[Site, str, dict[str, pd.DataFrame]]] | None = None
                       ) -> tuple[AnnualExtracts, Iterator[tuple[Extract, Site, str, dict[str, pd.DataFrame]]]]:
    """The extracts as canonical tables (what a perfect adapter would stage from each
    extract's exports): (the extracts, an iterator of (extract, site, system, tables))."""

    drawn = drawn if drawn is not None else draw(n_children, seed, damage)
    result = annual_extracts(drawn, years, style, edit_rate, full)

    def tables() -> Iterator[tuple[Extract, Site, str, dict[str, pd.DataFrame]]]:
        for extract in result.extracts:
            for site, system, frames in extract.systems:
                out = {}
                for layout in LAYOUTS[system]:
                    out[layout.table] = canonical_table(layout.table, frames[layout.table], site.site_id,
                                                        site.setting_type, system, layout.name, extract.extracted_at)
                yield extract, site, system, out

    return result, tables()


def write_staged_extracts(out_dir: Path, n_children: int, seed: int, years: list[int] | tuple[int, ...],
                          styles: tuple[str, ...] = STYLES, damage: DamageConfig | None = None,
                          edit_rate: float = 0.08) -> dict[str, dict[int, list[Path]]]:
    """Stage every extract directly (as a perfect adapter would), for tests and benchmarks:
    ``OUT/<style>/<year>/<site>/<system>/<table>.parquet``, plus ``OUT/truth/``.
    Returns {style: {year: [staged directories]}}."""
    out_dir = Path(out_dir)
    drawn = draw(n_children, seed, damage)
    full = list(site_system_frames(drawn))
    staged: dict[str, dict[int, list[Path]]] = {}
    all_edits, held = [], []
    for style in styles:
        result, tables = canonical_extracts(n_children, seed, years, style, edit_rate=edit_rate, drawn=drawn,
                                            full=full)
        staged[style] = {}
        for extract, site, system, frames in tables:
            directory = out_dir / style / str(extract.year) / site.site_id / system
            # published with a staged directory's manifest (the completion record: rows, bytes,
            # sha256 per table) and adapt's main keys
            publish_staged(directory, frames, command="synth", manifest={
                "generator": "stairs_link.synth.extracts (staged directly, no adapt)",
                "site_id": site.site_id, "setting_type": site.setting_type, "source_system": system,
                "extracted_at": extract.extracted_at})
            staged[style].setdefault(extract.year, []).append(directory)
            held.append(_held(extract, site, system, frames["person"]))
        all_edits.append(result.edits)
    _write_extract_truth(out_dir / "truth", drawn, pd.concat(all_edits, ignore_index=True), held)
    return staged


def _held(extract: Extract, site: Site, system: str, person: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"style": extract.style, "year": extract.year, "extracted_at": extract.extracted_at,
                         "site_id": site.site_id, "source_system": system,
                         "record_key": person["record_key"].to_numpy(dtype=object)})


def _write_extract_truth(truth: Path, drawn: Drawn, edits: pd.DataFrame, held: list[pd.DataFrame]) -> None:
    if truth.exists():
        shutil.rmtree(truth)
    _write_truth(truth, drawn.world, drawn.records, drawn.units, drawn.events, [])
    edits = edits.astype({"year": np.int64})
    _parquet(edits, truth / "edits.parquet")
    frame = pd.concat(held, ignore_index=True)
    frame["year"] = frame["year"].astype(np.int64)
    _parquet(frame, truth / "extracts.parquet")


def write_extract_exports(out_dir: Path, n_children: int, seed: int, years: list[int] | tuple[int, ...],
                          styles: tuple[str, ...] = STYLES, progress: Callable[[str], None] | None = None,
                          damage: DamageConfig | None = None, edit_rate: float = 0.08) -> Path:
    """Write annual extracts as site-system exports:
    ``OUT/extracts/<style>/<year>/exports/<site>/<system>/...`` with a ``systems.json`` per
    extract (its ``extracted_at``), and ``OUT/truth/`` (the whole world's truth plus
    extracts.parquet and edits.parquet). No bad rows are planted in extracts. Returns ``out_dir``.
    """
    say = progress or (lambda message: None)
    out_dir = Path(out_dir)
    years = check_years(years)
    say(f"drawing a world of {n_children} children (seed {seed})")
    drawn = draw(n_children, seed, damage)
    full = list(site_system_frames(drawn))
    if (out_dir / "extracts").exists():
        shutil.rmtree(out_dir / "extracts")
    all_edits, held = [], []
    for style in styles:
        result = annual_extracts(drawn, years, style, edit_rate, full)
        for extract in result.extracts:
            root = out_dir / "extracts" / style / str(extract.year)
            systems, n_records = [], 0
            for site, system, frames in extract.systems:
                write_site_system(root / "exports" / site.site_id / system, site, system, frames, None,
                                  extract_date(extract.year))
                systems.append(system_entry(site, system))
                held.append(_held(extract, site, system, frames["person"]))
                n_records += len(frames["person"])
            write_systems_json(root / "systems.json", systems, n_children, seed, extract_date(extract.year),
                               {"extract": {"style": style, "year": extract.year,
                                            "period_end": f"{extract.year}-12-31"}})
            say(f"  {style} {extract.year}: {n_records} person records (extracted {extract.extracted_at})")
        all_edits.append(result.edits)
    _write_extract_truth(out_dir / "truth", drawn, pd.concat(all_edits, ignore_index=True), held)
    say(f"wrote {len(styles)} x {len(years)} annual extracts under {out_dir / 'extracts'}")
    return out_dir
