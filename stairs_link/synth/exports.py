"""Render the synthetic world as site-system exports, plus ground truth and systems.json.

Layout: ``OUT/exports/<site_id>/<system>/<files>``, ``OUT/systems.json`` (how to read each
system: files, format, encoding, delimiter, columns, code sets, date formats; written from
the same spec the renderer uses) and ``OUT/truth/`` (records, pathway, formulations,
bad_rows). Everything is deterministic for ``(n_children, seed)``: no wall-clock time, fixed
timestamps inside XLSX files, explicit encodings and line endings.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link.schema import SCHEMA_VERSION
from stairs_link.synth.damage import DamageConfig
from stairs_link.synth.events import draw_events
from stairs_link.synth.layouts import (
    ARBOR_ETHNICITY,
    DFE_ETHNICITY,
    LAYOUTS,
    NOMIS_ETHNICITY,
    Col,
    FileLayout,
    layout_json,
)
from stairs_link.synth.records import damaged_records, truth_records
from stairs_link.synth.sites import SITES, SYSTEM_KIND, Site
from stairs_link.synth.world import EXTRACT_DATE, World, generate_world, streams

_MONTHS = np.array("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), dtype=object)
BAD_ROW_RATE = 0.005  # share of rows of a person or episode file made deliberately bad (at least 1)


# ---------------------------------------------------------------------------------------
# value formatting (vectorised, locale independent)
# ---------------------------------------------------------------------------------------

def _ymd(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    dt = pd.to_datetime(values)
    ok = dt.notna().to_numpy()
    y = dt.dt.year.fillna(0).astype(np.int64).to_numpy()
    m = dt.dt.month.fillna(1).astype(np.int64).to_numpy()
    d = dt.dt.day.fillna(1).astype(np.int64).to_numpy()
    return y, m, d, ok


def format_ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray, fmt: str,
               hh: np.ndarray | None = None, mi: np.ndarray | None = None) -> np.ndarray:
    """strftime-like formatting of year/month/day arrays (English month names, any locale)."""
    def z(a: np.ndarray, w: int) -> np.ndarray:
        return np.char.zfill(a.astype(np.int64).astype(str), w).astype(object)

    if len(y) == 0:
        return np.array([], dtype=object)
    zeros = np.zeros(len(y), dtype=np.int64)
    tokens = {"%d": z(d, 2), "%m": z(m, 2), "%Y": z(y, 4), "%y": z(y % 100, 2),
              "%b": _MONTHS[np.clip(m - 1, 0, 11)], "%H": z(zeros if hh is None else hh, 2),
              "%M": z(zeros if mi is None else mi, 2), "%S": z(zeros, 2)}
    out = np.full(len(y), "", dtype=object)
    i = 0
    while i < len(fmt):
        tok = fmt[i:i + 2]
        if tok in tokens:
            out = out + tokens[tok]
            i += 2
        else:
            out = out + fmt[i]
            i += 1
    return out


def _format_dates(values: pd.Series, fmt: str) -> np.ndarray:
    """Dates (or datetimes) -> export text; NaT -> None. ``excel_serial`` -> int serial."""
    if fmt in ("excel_serial", "excel_date"):
        dt = pd.to_datetime(values)
        serial = (dt - pd.Timestamp("1899-12-30")).dt.days
        if fmt == "excel_serial":
            return np.where(dt.notna(), serial.fillna(0).astype(np.int64).astype(object), None)
        # pandas Timestamps are datetime subclasses: openpyxl writes them as date cells
        return np.where(dt.notna(), dt.astype(object).to_numpy(), None)
    dt = pd.to_datetime(values)
    y, m, d, ok = _ymd(dt)
    hh = dt.dt.hour.fillna(0).astype(np.int64).to_numpy()
    mi = dt.dt.minute.fillna(0).astype(np.int64).to_numpy()
    return np.where(ok, format_ymd(y, m, d, fmt, hh, mi), None)


def _invert(codes: dict[str, str]) -> dict[str, str]:
    inverse: dict[str, str] = {}
    for raw, canonical in codes.items():
        inverse.setdefault(canonical, raw)
    return inverse


def _number(values: pd.Series, decimal: str) -> np.ndarray:
    """Numbers as text: integers without '.0', decimals with the file's decimal mark."""
    v = pd.to_numeric(values)
    text = np.where(v.notna() & (v == np.round(v)), v.fillna(0).round().astype(np.int64).astype(str),
                    v.astype(str)).astype(object)
    if decimal != ".":
        text = pd.Series(text, dtype=object).str.replace(".", decimal, regex=False).to_numpy(dtype=object)
    return np.where(v.notna(), text, None)


def render(frame: pd.DataFrame, layout: FileLayout) -> pd.DataFrame:
    """Prepared frame -> the export's columns, values written as the system writes them."""
    out = {}
    for col in layout.columns:
        values = frame[col.source] if col.source in frame.columns else pd.Series([None] * len(frame))
        if col.date_format:
            rendered = _format_dates(values, col.date_format)
        elif col.codes and not col.raw:
            inverse = _invert(col.codes)
            unknown = values.notna() & ~values.isin(list(inverse))
            # A system with no code for "not known"/"indeterminate" leaves the field blank;
            # any other value the layout cannot express is a bug in the spec.
            bad = unknown & ~values.isin(["unknown", "indeterminate"])
            if bad.any():
                raise ValueError(f"{layout.name}:{col.name}: no code for {sorted(set(values[bad]))}")
            rendered = values.map(inverse).to_numpy(dtype=object)
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            if layout.format == "csv":
                rendered = _number(values, layout.decimal)
            else:  # JSON and XLSX hold real numbers
                rendered = np.array(values.astype(object).where(values.notna(), None).tolist(), dtype=object)
        else:
            rendered = values.to_numpy(dtype=object)
        out[col.name] = np.where(pd.isna(rendered), None, rendered)
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------------------
# prepared frames per site system
# ---------------------------------------------------------------------------------------

def _dfe(ethnicity: np.ndarray, origin: np.ndarray) -> np.ndarray:
    inverse = _invert(DFE_ETHNICITY)
    out = pd.Series(ethnicity, dtype=object).map(inverse).to_numpy(dtype=object)
    out = np.where((ethnicity == "C") & (origin == "irish_traveller"), "WIRT", out)
    return np.where((ethnicity == "C") & (origin == "roma"), "WROM", out)


def _nomis_ethnicity(ethnicity: np.ndarray, origin: np.ndarray) -> np.ndarray:
    inverse = _invert(NOMIS_ETHNICITY)
    inverse["99"] = "NS"
    out = pd.Series(ethnicity, dtype=object).map(inverse).to_numpy(dtype=object)
    out = np.where((ethnicity == "C") & (origin == "irish_traveller"), "W3", out)
    return np.where((ethnicity == "S") & (origin == "arabic"), "O2", np.where(ethnicity == "S", "O9", out))


def _arbor_ethnicity(ethnicity: np.ndarray, origin: np.ndarray) -> np.ndarray:
    inverse = _invert(ARBOR_ETHNICITY)
    out = pd.Series(ethnicity, dtype=object).map(inverse).to_numpy(dtype=object)
    out = np.where((ethnicity == "C") & (origin == "roma"), "Gypsy / Roma", out)
    return np.where((ethnicity == "C") & (origin != "irish_traveller") & (origin != "roma"),
                    "Any other White background", out)


def _prepare_person(rec: pd.DataFrame, world: World, rng: np.random.Generator) -> pd.DataFrame:
    p = rec.copy()
    n = len(p)
    origin = world.children["origin"].to_numpy()[p["child_index"].to_numpy()]
    eth = p["ethnicity"].to_numpy(dtype=object)
    p["ethnicity_dfe"] = _dfe(eth, origin)
    p["ethnicity_nomis"] = _nomis_ethnicity(eth, origin)
    p["ethnicity_arbor"] = _arbor_ethnicity(eth, origin)
    nhs = p["nhs_number"].to_numpy(dtype=object)
    spaced = rng.random(n) < 0.5
    p["nhs_number_raw"] = np.where(
        spaced & pd.notna(nhs),
        pd.Series(nhs, dtype=object).str[:3] + " " + pd.Series(nhs, dtype=object).str[3:6] + " "
        + pd.Series(nhs, dtype=object).str[6:], nhs)
    pnc = pd.Series(p["pnc_id"].to_numpy(dtype=object), dtype=object)
    short = pnc.str[2:4] + "/" + pnc.str[5:12].str.lstrip("0") + pnc.str[12:]
    p["pnc_raw"] = np.where((rng.random(n) < 0.4) & pnc.notna(), short, pnc)
    pc = pd.Series(p["postcode"].to_numpy(dtype=object), dtype=object)
    u = rng.random(n)
    p["postcode_raw"] = np.where(u < 0.2, pc.str.replace(" ", "", regex=False),
                                 np.where(u < 0.35, pc.str.lower(), pc))
    given = pd.Series(p["given_name"].to_numpy(dtype=object), dtype=object)
    middle = pd.Series(p["middle_names"].to_numpy(dtype=object), dtype=object)
    p["patient_name"] = (pd.Series(p["family_name"].to_numpy(dtype=object), dtype=object).fillna("") + ", "
                         + given.fillna("") + np.where(middle.notna(), " " + middle.fillna(""), ""))
    return p


def _episodes(units: pd.DataFrame, system: str, rng: np.random.Generator) -> pd.DataFrame:
    """Stays as this system records them (health registers a day or two late, etc.)."""
    e = units.copy()
    kind = SYSTEM_KIND[system]
    if kind == "social_care":
        e = e[e["legal_basis"].isin(["welfare_s25", "remand"])].copy()
    e = e.sort_values(["record_key", "admission_date"], kind="stable").reset_index(drop=True)
    if kind == "social_care":
        e["placement"] = np.where(e["setting_type"] == "SCH", "K1", "R5")
        e["rne"] = np.where(e.groupby("record_key", sort=False).cumcount() == 0, "S", "P")
    if kind == "health":
        lag = pd.to_timedelta(rng.choice([0, 1, 2], len(e), p=[0.6, 0.3, 0.1]), unit="D")
        e["admission_date"] = e["admission_date"] + lag
        e["discharge_date"] = e["discharge_date"] + pd.to_timedelta(
            rng.choice([0, 1], len(e), p=[0.8, 0.2]), unit="D")
        e["legal_basis"] = None
    nth = e.groupby("record_key", sort=False).cumcount() + 1
    if system == "systmone":
        e["episode_id"] = "R" + (e.index + 1).astype(str).str.zfill(6)
    elif system == "carenotes":
        e["episode_id"] = nth.astype(str)
    elif system == "nomis":
        e["episode_id"] = "B" + (e.index * 7 + 30011).astype(str)
    elif system == "case-manager":
        e["episode_id"] = "PL-" + (e.index + 1).astype(str).str.zfill(6)
    elif system == "lcs":
        e["episode_id"] = (900_000 + e.index).astype(str)
    else:
        e["episode_id"] = e["record_key"].str.rsplit(":", n=1).str[-1] + "-" + nth.astype(str)
    if system == "case-manager":
        # a fifth of sentences are recorded by their statute (s250) rather than as a DTO
        s250 = (e["legal_basis"] == "sentenced").to_numpy() & (rng.random(len(e)) < 0.2)
        e["legal_basis_raw"] = np.where(s250, "S250", None)
    return e


# ---------------------------------------------------------------------------------------
# bad rows (recorded in truth/bad_rows.parquet)
# ---------------------------------------------------------------------------------------

def _bad_date(fmt: str) -> str:
    if fmt == "excel_serial" or fmt == "excel_date":
        return "not known"
    y, m, d = np.array([2009]), np.array([2]), np.array([30])
    return str(format_ymd(y, m, d, fmt)[0])


def _inject_bad_rows(table: pd.DataFrame, layout: FileLayout, rng: np.random.Generator,
                     site_id: str, system: str, record_keys: np.ndarray) -> list[dict]:
    """Make a few rows deliberately bad, in place; return what was done for the truth."""
    n = len(table)
    if n < 10 or layout.table not in ("person", "episode"):
        return []
    # at least two per file, so that each file has both of its kinds of fault
    k = max(2, int(round(n * BAD_ROW_RATE)))
    rows = np.sort(rng.choice(n, size=k, replace=False))
    date_cols = [c for c in layout.columns if c.date_format]
    coded = [c for c in layout.columns if c.codes and c.canonical in ("sex", "legal_basis", "discharge_destination")]
    required_dates = [c for c in date_cols if c.required]
    order = rng.permutation(k)  # which rows get which fault
    bad = []
    for j, row in zip(order.tolist(), rows.tolist()):  # a handful of rows per file
        if layout.table == "person":
            col: Col = date_cols[0] if (j % 2 == 0 or not coded) else coded[0]
            kind = "unparseable_date" if col.date_format else "unknown_code"
        else:
            col = required_dates[0] if j % 2 == 0 or not coded else coded[0]
            kind = "blank_required" if col.date_format else "unknown_code"
        if kind == "unparseable_date":
            raw = _bad_date(col.date_format or "")
        elif kind == "unknown_code":
            raw = "Q"
        else:
            raw = None
        table.iat[row, table.columns.get_loc(col.name)] = raw
        bad.append({"site_id": site_id, "source_system": system, "file": layout.name, "sheet": layout.sheet,
                    "source_row": row + 1, "column": col.name, "raw_value": raw, "kind": kind,
                    "record_key": record_keys[row]})
    return bad


# ---------------------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------------------

def _write_csv(table: pd.DataFrame, path: Path, layout: FileLayout) -> None:
    text = table.to_csv(index=False, sep=layout.delimiter or ",", lineterminator=layout.line_terminator)
    # utf-8-sig writes the BOM; cp1252 fails loudly on a character it cannot hold (a bug here)
    path.write_bytes(text.encode(layout.encoding))


def _write_json(tables: list[tuple[FileLayout, pd.DataFrame]], path: Path, site_id: str,
                extract_date: str = EXTRACT_DATE) -> None:
    layout, table = tables[0]
    records = [{k: v for k, v in zip(table.columns, row)} for row in table.itertuples(index=False, name=None)]
    section = layout.json_path.split(".")[-1] if layout.json_path else "records"
    doc = {"export": {"system": "case-manager", "site": site_id, "generated": extract_date + "T06:00:00"},
           "data": {section: records}}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _write_xlsx(tables: list[tuple[FileLayout, pd.DataFrame]], path: Path, site_id: str,
                extract_date: str = EXTRACT_DATE) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for layout, table in tables:
        ws = wb.create_sheet(layout.sheet or "Sheet1")
        if layout.header_row > 1:
            ws.append([f"CareNotes export - {site_id}"])
            ws.append([f"Run date: {pd.Timestamp(extract_date).strftime('%d/%m/%Y')}"])
            for _ in range(layout.header_row - 3):
                ws.append([])
        ws.append(list(table.columns))
        date_cols = [i for i, c in enumerate(layout.columns) if c.date_format == "excel_date"]
        for row in table.itertuples(index=False, name=None):
            ws.append(list(row))
        for i in date_cols:
            for cell in ws.iter_cols(min_col=i + 1, max_col=i + 1, min_row=layout.header_row + 1):
                for c in cell:
                    if c.value is not None and not isinstance(c.value, str):
                        c.number_format = "DD/MM/YYYY"
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(_fixed_zip(buffer.getvalue(), extract_date))


def _fixed_zip(data: bytes, extract_date: str = EXTRACT_DATE) -> bytes:
    """Rewrite an XLSX (zip) with fixed entry times and document timestamps: byte-stable."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                import re

                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                                 rb"\g<1>" + extract_date.encode() + rb"T06:00:00Z\g<3>", content)
            stamp = pd.Timestamp(extract_date)
            entry = zipfile.ZipInfo(info.filename, date_time=(stamp.year, stamp.month, stamp.day, 6, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, content)
    return out.getvalue()


# ---------------------------------------------------------------------------------------
# main entry
# ---------------------------------------------------------------------------------------

def _event_frames(system: str, units_sys: pd.DataFrame, events: dict[str, pd.DataFrame],
                  rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    kind = SYSTEM_KIND[system]
    link = units_sys[["child_index", "stay_no", "record_key", "local_id"]]
    frames: dict[str, pd.DataFrame] = {"episode": _episodes(units_sys, system, rng)}
    if kind == "health":
        frames["formulation"] = events["formulation"].merge(link, on=["child_index", "stay_no"], how="inner")
        frames["measure"] = events["measure"].merge(link, on=["child_index", "stay_no"], how="inner")
    elif kind == "operations":
        inc = events["incident"].merge(link, on=["child_index", "stay_no"], how="inner")
        inc["incident_date"] = inc["incident_at"].dt.normalize()
        inc["incident_time"] = inc["incident_at"].dt.strftime("%H:%M")
        prefix = "IR" if system == "nomis" else "INC-"
        inc["event_id"] = prefix + (np.arange(len(inc)) + 1).astype(str)
        frames["incident"] = inc
    elif kind == "education":
        edu = events["education"].merge(link, on=["child_index", "stay_no"], how="inner")
        if system == "arbor":
            month = pd.to_datetime(edu["period_start"]).dt.to_period("M").astype(str)
            edu = edu.groupby(["record_key", "local_id", month.rename("month")], sort=True).agg(
                period_start=("period_start", "min"), period_end=("period_end", "max"),
                hours_offered=("hours_offered", "sum"), hours_attended=("hours_attended", "sum"),
            ).reset_index()
        frames["education"] = edu
    return frames


@dataclass
class Drawn:
    """Everything drawn for one (n_children, seed): the world, damaged records, events."""

    world: World
    records: pd.DataFrame  # damaged person records (see records.damaged_records)
    units: pd.DataFrame  # true stay x system that recorded it, with record_key and local_id
    events: dict[str, pd.DataFrame]  # true events (see events.draw_events)


def draw(n_children: int, seed: int, damage: DamageConfig | None = None) -> Drawn:
    world = generate_world(n_children, seed)
    rec, units = damaged_records(world, damage)
    events = draw_events(world, streams(seed)["events"])
    units = units.merge(rec[["record_key", "local_id"]], on="record_key", how="left")
    return Drawn(world, rec, units, events)


def site_system_frames(drawn: Drawn) -> Iterator[tuple[Site, str, dict[str, pd.DataFrame]]]:
    """For each site system in a fixed order: the prepared frame of each table it exports.

    Shared by the export writer and :func:`stairs_link.synth.canonical_tables`, so the
    canonical tables are exactly the exported values (before bad rows are planted).
    """
    rng = streams(drawn.world.seed)["render"]
    rec, units = drawn.records, drawn.units
    for site_no, site in enumerate(SITES):
        for system in site.systems:
            sel = (rec["site_no"] == site_no).to_numpy() & (rec["source_system"] == system).to_numpy()
            person = _prepare_person(rec[sel].sort_values("seq", kind="stable").reset_index(drop=True),
                                     drawn.world, rng)
            units_sys = units[(units["site_id"] == site.site_id) & (units["source_system"] == system)]
            yield site, system, {"person": person, **_event_frames(system, units_sys, drawn.events, rng)}


def write_exports(out_dir: Path, n_children: int, seed: int,
                  progress: Callable[[str], None] | None = None, damage: DamageConfig | None = None) -> Path:
    """Write exports + truth + systems.json for a world of ``n_children`` under ``out_dir``.

    An existing ``exports/`` or ``truth/`` under ``out_dir`` is replaced, so re-running
    gives exactly the files of this run. Returns ``out_dir``.
    """
    say = progress or (lambda message: None)
    out_dir = Path(out_dir)
    say(f"drawing a world of {n_children} children (seed {seed})")
    drawn = draw(n_children, seed, damage)
    world, rec, units, events = drawn.world, drawn.records, drawn.units, drawn.events
    bad_rng = streams(seed)["bad_rows"]
    for sub in ("exports", "truth"):
        if (out_dir / sub).exists():
            shutil.rmtree(out_dir / sub)
    systems = []
    bad_rows: list[dict] = []
    for site, system, frames in site_system_frames(drawn):
        bad_rows += write_site_system(out_dir / "exports" / site.site_id / system, site, system, frames, bad_rng)
        systems.append(system_entry(site, system))
        say(f"  {site.site_id}/{system}: {len(frames['person'])} person records")
    _write_truth(out_dir / "truth", world, rec, units, events, bad_rows)
    write_systems_json(out_dir / "systems.json", systems, n_children, seed, EXTRACT_DATE)
    say(f"wrote {len(rec)} person records for {n_children} children under {out_dir}")
    return out_dir


def write_site_system(directory: Path, site: Site, system: str, frames: dict[str, pd.DataFrame],
                      bad_rng: np.random.Generator | None, extract_date: str = EXTRACT_DATE) -> list[dict]:
    """Render one site system's prepared frames as its export files under ``directory``;
    with ``bad_rng`` a few rows are made deliberately bad (returned for the truth)."""
    directory.mkdir(parents=True, exist_ok=True)
    bad_rows: list[dict] = []
    grouped: dict[str, list[tuple[FileLayout, pd.DataFrame]]] = {}
    for layout in LAYOUTS[system]:
        frame = frames[layout.table]
        table = render(frame, layout)
        if "legal_basis_raw" in frame.columns and "legalStatus" in table.columns:
            raw = frame["legal_basis_raw"].to_numpy(dtype=object)
            table["legalStatus"] = np.where(pd.notna(raw), raw, table["legalStatus"].to_numpy(dtype=object))
        if bad_rng is not None:
            bad_rows += _inject_bad_rows(table, layout, bad_rng, site.site_id, system,
                                         frame["record_key"].to_numpy(dtype=object))
        grouped.setdefault(layout.name, []).append((layout, table))
    for name, tables in grouped.items():
        fmt = tables[0][0].format
        if fmt == "csv":
            _write_csv(tables[0][1], directory / name, tables[0][0])
        elif fmt == "json":
            _write_json(tables, directory / name, site.site_id, extract_date)
        else:
            _write_xlsx(tables, directory / name, site.site_id, extract_date)
    return bad_rows


def system_entry(site: Site, system: str) -> dict:
    """systems.json entry of one site system."""
    return {
        "site_id": site.site_id, "source_system": system, "system_kind": SYSTEM_KIND[system],
        "setting_type": site.setting_type, "directory": f"exports/{site.site_id}/{system}",
        "record_key": f"{site.site_id}:{system}:<local_id>", "files": layout_json(system),
    }


def write_systems_json(path: Path, systems: list[dict], n_children: int, seed: int, extract_date: str,
                       extra: dict | None = None) -> None:
    """systems.json: how to read each system's export, and when the exports were taken."""
    doc = {
        "generator": {"n_children": n_children, "seed": seed, "schema_version": SCHEMA_VERSION,
                      "extracted_at": extract_date + "T06:00:00",
                      "two_digit_years": "all dates are in the past relative to extracted_at", **(extra or {})},
        "conventions": {
            "canonical": "the canonical field a column fills (stairs_link.schema); absent: not mapped",
            "record_key": "a column whose canonical field is record_key holds the local id of the person "
                          "record it belongs to; record_key = '<site_id>:<source_system>:<local id>'",
            "codes": "raw value -> canonical code; any other value is not in the code set",
            "date_format": "strftime pattern (English month names); excel_serial = number of days since "
                           "1899-12-30 stored as a number; excel_date = a date-formatted Excel cell",
            "required": "a blank value makes the row unusable",
            "blank": "an empty CSV field, a null JSON value or an empty cell means 'not recorded'",
        },
        "systems": systems,
    }
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({b"stairs_link.truth": path.stem.encode()})
    pq.write_table(table, path, compression="zstd")


def _write_truth(truth: Path, world: World, rec: pd.DataFrame, units: pd.DataFrame,
                 events: dict[str, pd.DataFrame], bad_rows: list[dict]) -> None:
    truth.mkdir(parents=True, exist_ok=True)
    records = truth_records(world, rec)
    for field in ("nhs_number", "upn", "pnc_id", "prison_number", "la_child_id"):
        records[f"{field}_damage"] = rec[f"{field}_damage"].to_numpy(dtype=object)
    _parquet(records, truth / "records.parquet")
    stays = world.stays.drop(columns=["child_index"]).copy()
    for c in ("admission_date", "discharge_date"):
        stays[c] = pd.to_datetime(stays[c]).dt.date
    _parquet(stays, truth / "pathway.parquet")
    health = units[units["system_kind"] == "health"][["child_index", "stay_no", "record_key"]]
    form = events["formulation"].merge(health, on=["child_index", "stay_no"], how="left")
    form = form.rename(columns={"record_key": "recorded_in"}).drop(columns=["child_index"])
    form["formulation_date"] = pd.to_datetime(form["formulation_date"]).dt.date
    _parquet(form, truth / "formulations.parquet")
    # which records hold each true stay (one row per stay and recording system)
    held = units[["child_index", "stay_no", "site_id", "source_system", "record_key"]].copy()
    held.insert(0, "true_child_id", world.children["true_child_id"].to_numpy()[held["child_index"].to_numpy()])
    _parquet(held.drop(columns=["child_index"]).reset_index(drop=True), truth / "stay_records.parquet")
    bad = pd.DataFrame(bad_rows, columns=["site_id", "source_system", "file", "sheet", "source_row", "column",
                                          "raw_value", "kind", "record_key"])
    bad["source_row"] = bad["source_row"].astype(np.int64)
    _parquet(bad, truth / "bad_rows.parquet")
