"""Benchmark: adapt a 1,000,000-row person export, next to plain pyarrow CSV -> Parquet.

    python bench/bench_adapt.py [--rows 1000000] [--workdir DIR] [--keep]

Writes a systmone-like person CSV (from the synthetic generator's person-level API, in the
layout of a real export: dd/mm/yyyy dates, NHS gender codes, DfE ethnicity codes, raw
identifiers), then runs, each in a fresh subprocess so peak memory is measured per run
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``):

1. ``stairs_link.adapt.adapt`` with a mapping for that layout;
2. a plain ``pyarrow.csv.open_csv`` -> ``pyarrow.parquet.ParquetWriter`` streaming conversion
   of the same file (the floor any adapter has to stand on).

Prints rows/s and peak RSS for both and their ratio. Target (issue 2): >= 100,000 rows/s and
peak < 1.5 GB on 2 cores. The file quotes every field (pyarrow's writer quotes all strings):
the worst case for the per-record quote check that adapt runs on every CSV
(``stairs_link.io.quoting.scan_quotes``), about 22 million quotes. That check is timed inside
the adapt run (its own thread's CPU time and its wall time, the function wrapped in the
worker process) and printed as a share of that run's CPU and wall time; then once more alone
in this process on the same file. The same adapt runs on a second, realistic file with the
same rows quoted only where a value needs it (Python's ``csv`` QUOTE_MINIMAL: no quotes in
this synthetic data). Target (issue 12): the check < 20% of adapt's time at 1,000,000 rows.
POSIX only (the ``resource`` module).

Then (issue 14) nested exports, each at two sizes so it shows whether memory grows with the
file: a FHIR bulk-export NDJSON of UK Core Patient resources (``--ndjson-records``, default
1,000,000; target >= 100,000 records/s) and a DfE CTF XML pupil file (``--ctf-pupils``, default
200,000), adapted with the bundled templates (``uk-core-fhir-patient-ndjson``, ``ctf-pupil``).
``--skip-csv`` / ``--skip-nested`` run one part only.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]

MAPPING = """\
site_id: sch-bench
setting_type: SCH
system_kind: health
source_system: systmone
extracted_at: "2026-03-31"
tables:
  person:
    source: {files: "patients.csv", encoding: utf-8, delimiter: ","}
    fields:
      local_id: PatientID
      given_name: Forename
      middle_names: Middle Names
      family_name: Surname
      date_of_birth: {column: DOB, formats: ['%d/%m/%Y']}
      sex: {column: Gender, codes: nhs_gender_code, unknown_codes: keep_unknown}
      ethnicity: {column: Ethnicity, codes: dfe_to_nhs_ethnicity, unknown_codes: keep_unknown}
      postcode: Postcode
      nhs_number: NHS Number
      upn: UPN
      pnc_id: PNC
"""

NHS_TO_DFE = {"A": "WBRI", "B": "WIRI", "C": "WOTH", "D": "MWBC", "E": "MWBA", "F": "MWAS", "G": "MOTH",
              "H": "AIND", "J": "APKN", "K": "ABAN", "L": "AOTH", "M": "BCRB", "N": "BAFR", "P": "BOTH",
              "R": "CHNE", "S": "OOTH", "Z": "REFU", "99": "NOBT"}
SEX_TO_CODE = {"male": "1", "female": "2", "indeterminate": "9", "unknown": "X"}


def person_frame(rows: int, seed: int = 7) -> pd.DataFrame:
    """``rows`` person records in export form, from the synthetic generator (repeated with
    fresh local ids if one world is smaller than ``rows``)."""
    from stairs_link.synth import person_records

    records, _ = person_records(max(rows // 4, 1000), seed)
    reps = -(-rows // len(records))
    records = pd.concat([records] * reps, ignore_index=True).iloc[:rows]
    dob = pd.to_datetime(records["date_of_birth"])
    return pd.DataFrame({
        "PatientID": np.arange(1, rows + 1).astype(str),
        "Forename": records["given_name"].fillna(""),
        "Middle Names": records["middle_names"].fillna(""),
        "Surname": records["family_name"].fillna(""),
        "DOB": dob.dt.strftime("%d/%m/%Y").fillna(""),
        "Gender": records["sex"].map(SEX_TO_CODE).fillna(""),
        "Ethnicity": records["ethnicity"].map(NHS_TO_DFE).fillna(""),
        "Postcode": records["postcode"].fillna("").str.replace(" ", "", regex=False),
        "NHS Number": records["nhs_number"].fillna(""),
        "UPN": records["upn"].fillna(""),
        "PNC": records["pnc_id"].fillna(""),
    })


# Runs inside the adapt worker: times every call of the quote check adapt makes (io/csv.py
# looks ``scan_quotes`` up in its module namespace at each call, so wrapping it there counts
# exactly the check) and prints the totals, which the parent reads from the worker's output.
TIMED_ADAPT = """
import time
import stairs_link.io.csv as csv_reader
inner, spent = csv_reader.scan_quotes, [0.0, 0.0]
def timed(*args, **kwargs):
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        return inner(*args, **kwargs)
    finally:
        spent[0] += time.perf_counter() - wall
        spent[1] += time.thread_time() - cpu
csv_reader.scan_quotes = timed
from stairs_link.adapt import adapt
adapt({mapping!r}, [{export!r}], {out!r})
print("quote-check", spent[0], spent[1])
"""

LAUNCHER = """
import resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run([sys.executable, "-c", sys.argv[1]], check=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.perf_counter() - start, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
"""


def child(code: str) -> tuple[float, float, float]:
    """``child_output`` without the worker's output."""
    return child_output(code)[:3]


def child_output(code: str) -> tuple[float, float, float, str]:
    """Run ``code`` in a fresh interpreter; (wall seconds incl. start-up, peak RSS in MB,
    CPU seconds user+system, what the worker printed). CPU time is printed too because wall time on a shared
    machine depends on what else runs.

    A tiny launcher process starts the worker and reads its RUSAGE_CHILDREN: measuring from
    this (large) process would count the memory a forked child inherits before exec.
    """
    out = subprocess.run([sys.executable, "-c", LAUNCHER, code], check=True, cwd=ROOT, capture_output=True, text=True)
    printed, _, last = out.stdout.rstrip("\n").rpartition("\n")
    wall, peak_kb, cpu = last.split()
    return float(wall), int(peak_kb) / 1024, float(cpu), printed


NDJSON_MAPPING = """\
extends: uk-core-fhir-patient-ndjson
site_id: sch-bench
setting_type: SCH
source_system: fhir-bench
extracted_at: '2026-03-31'
tables:
  person:
    source: {files: 'Patient.ndjson'}
"""
CTF_MAPPING = """\
extends: ctf-pupil
site_id: sch-bench
setting_type: SCH
source_system: ctf-bench
extracted_at: '2026-03-31'
"""


def write_ndjson(path: Path, records: int) -> None:
    """``records`` UK Core Patient resources, one per line, from the generator's person records."""
    from stairs_link.synth.formats import _patient

    frame = person_frame(records)
    rows = pd.DataFrame({
        "given_name": frame["Forename"], "middle_names": frame["Middle Names"], "family_name": frame["Surname"],
        "date_of_birth": pd.to_datetime(frame["DOB"], format="%d/%m/%Y"),
        "sex": frame["Gender"].map({"1": "male", "2": "female", "9": "indeterminate", "X": "unknown"}),
        "postcode": frame["Postcode"], "nhs_number_raw": frame["NHS Number"],
        "ethnicity": frame["Ethnicity"].map({v: k for k, v in NHS_TO_DFE.items()}),
    })
    rng = np.random.default_rng(7)
    with path.open("w", encoding="utf-8") as out:
        for i, row in enumerate(rows.to_dict("records")):
            out.write(json.dumps(_patient(row, str(i + 1), rng), ensure_ascii=False) + "\n")


def write_ctf(path: Path, pupils: int) -> None:
    """A CTF XML file of ``pupils`` pupils (header with LA and establishment, then Pupil records)."""
    from xml.sax.saxutils import escape

    frame = person_frame(pupils)
    upn = frame["UPN"].where(frame["UPN"] != "", None)
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<CTfile><Header><SourceSchool><LEA>873</LEA>'
                  "<Estab>4001</Estab></SourceSchool></Header><CTFpupilData>\n")
        for i, row in enumerate(frame.to_dict("records")):
            out.write(f"<Pupil><UPN>{upn.iloc[i] or f'X{i:012d}'}</UPN><Surname>{escape(row['Surname'])}</Surname>"
                      f"<Forename>{escape(row['Forename'])}</Forename>"
                      f"<DOB>{row['DOB'][6:]}-{row['DOB'][3:5]}-{row['DOB'][:2]}</DOB>"
                      f"<Gender>{ {'1': 'M', '2': 'F'}.get(row['Gender'], '') }</Gender>"
                      f"<BasicDetails><MiddleNames>{escape(row['Middle Names'])}</MiddleNames></BasicDetails>"
                      f"<Ethnicity>{row['Ethnicity']}</Ethnicity><Address><PostCode>{row['Postcode']}</PostCode>"
                      "</Address></Pupil>\n")
        out.write("</CTFpupilData></CTfile>\n")


def bench_nested(work: Path, kind: str, sizes: list[int]) -> list[tuple[int, float, float, float]]:
    """Adapt a generated NDJSON or CTF file of each size in a fresh process: (records, wall, RSS MB, CPU)."""
    results = []
    for size in sizes:
        export = work / f"{kind}-{size}"
        export.mkdir(parents=True, exist_ok=True)
        name = "Patient.ndjson" if kind == "ndjson" else "ctf.xml"
        if not (export / name).exists():
            t = time.perf_counter()
            (write_ndjson if kind == "ndjson" else write_ctf)(export / name, size)
            print(f"wrote {size:,} {kind} records ({(export / name).stat().st_size / 1e6:.0f} MB) in "
                  f"{time.perf_counter() - t:.0f}s", file=sys.stderr)
        mapping = work / f"{kind}.yaml"
        mapping.write_text(NDJSON_MAPPING if kind == "ndjson" else CTF_MAPPING, encoding="utf-8")
        out = work / f"staged-{kind}-{size}"
        wall, peak, cpu = child(f"""
from stairs_link.adapt import adapt
adapt({str(mapping)!r}, [{str(export)!r}], {str(out)!r})
""")
        source = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["sources"][0]
        assert source["rows_in"] == size == source["rows_staged"] + source["rows_rejected"] + source["rows_skipped"]
        results.append((size, wall, peak, cpu))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ndjson-records", type=int, default=1_000_000)
    parser.add_argument("--ctf-pupils", type=int, default=200_000)
    parser.add_argument("--skip-csv", action="store_true")
    parser.add_argument("--skip-nested", action="store_true")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-adapt-"))
    if not args.skip_nested:
        nested_report(work, args.ndjson_records, args.ctf_pupils)
    if args.skip_csv:
        return
    csv_report(work, args.rows)


def write_exports(work: Path, rows: int) -> dict[str, Path]:
    """The person export twice: every field quoted (pyarrow's writer quotes every string: the
    quote check's worst case) and quoted only where needed (Python's csv QUOTE_MINIMAL)."""
    exports = {"every field quoted": work / "export", "quoted where needed": work / "export-minimal"}
    if all((folder / "patients.csv").exists() for folder in exports.values()):
        return exports
    t = time.perf_counter()
    frame = person_frame(rows)
    for label, folder in exports.items():
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "patients.csv"
        if label == "every field quoted":
            pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path)
        else:
            frame.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n", encoding="utf-8")
        print(f"wrote {rows:,} rows, {label} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f}s",
              file=sys.stderr)
    return exports


def csv_report(work: Path, rows: int) -> None:
    """Adapt each person export in a fresh process beside plain pyarrow; the quote check's
    share of each adapt run, measured inside it, and the check timed alone."""
    from stairs_link.io.quoting import scan_quotes

    exports = write_exports(work, rows)
    mapping = work / "systmone.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    csv_path = exports["every field quoted"] / "patients.csv"
    names = list(pd.read_csv(csv_path, nrows=0).columns)
    baseline = f"""
import pyarrow as pa, pyarrow.csv as c, pyarrow.parquet as pq
r = c.open_csv({str(csv_path)!r}, read_options=c.ReadOptions(block_size=16 << 20),
               convert_options=c.ConvertOptions(column_types={{n: pa.string() for n in {names!r}}}))
w = pq.ParquetWriter({str(work / 'plain.parquet')!r}, r.schema, compression='zstd')
for b in r: w.write_batch(b)
w.close()
"""
    base_wall, base_peak, base_cpu = child(baseline)
    print(f"rows: {rows:,}")
    print(f"pyarrow CSV->Parquet (every field quoted): {base_wall:6.2f}s wall {rows / base_wall:10,.0f} rows/s | "
          f"{base_cpu:6.2f}s CPU | peak RSS {base_peak:6.0f} MB")
    shares, speed_ok = [], False
    for label, export in exports.items():
        out = work / ("staged" if label == "every field quoted" else "staged-minimal")
        adapt_wall, adapt_peak, adapt_cpu, printed = child_output(
            TIMED_ADAPT.format(mapping=str(mapping), export=str(export), out=str(out)))
        timing = [line for line in printed.splitlines() if line.startswith("quote-check ")][-1]
        quote_wall, quote_cpu = (float(x) for x in timing.split()[1:])
        source = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["sources"][0]
        assert source["rows_in"] == rows == source["rows_staged"] + source["rows_rejected"]
        print(f"stairs-link adapt ({label}): {adapt_wall:6.2f}s wall {rows / adapt_wall:10,.0f} rows/s | "
              f"{adapt_cpu:6.2f}s CPU | peak RSS {adapt_peak:6.0f} MB | staged {source['rows_staged']:,}, "
              f"rejected {source['rows_rejected']:,}")
        if label == "every field quoted":
            speed_ok = rows / adapt_wall >= 100_000 and adapt_peak < 1536
            print(f"  ratio adapt/pyarrow: {adapt_wall / base_wall:.1f}x wall time, {adapt_cpu / base_cpu:.1f}x CPU "
                  f"time, {adapt_peak / base_peak:.1f}x peak memory")
        share, cpu_share = quote_wall / adapt_wall, quote_cpu / adapt_cpu
        shares.append(max(share, cpu_share))
        print(f"  quote check inside that run: {quote_cpu:.2f}s CPU = {100 * cpu_share:.1f}% of adapt's CPU time, "
              f"{quote_wall:.2f}s wall = {100 * share:.1f}% of adapt's wall time")
        # the check alone, in this process, on the same file (in the page cache, as in adapt)
        path = export / "patients.csv"
        t, c = time.perf_counter(), time.process_time()
        scan = scan_quotes(path, header_lines=1, delimiter=",", columns=len(names),
                           encoding="utf-8")
        alone_cpu, alone_wall = time.process_time() - c, time.perf_counter() - t
        quotes = path.read_bytes().count(b'"')
        print(f"  quote check alone: {alone_cpu:.2f}s CPU, {alone_wall:.2f}s wall ({scan.physical_lines:,} lines, "
              f"{quotes:,} quotes, {len(scan.stray)} stray)")
    print(f"quote check target < 20% of adapt's time (CPU and wall, both files): "
          f"{'met' if max(shares) < 0.2 else 'NOT met'}")
    load = os.getloadavg()[0]
    print(f"(load average at the end: {load:.1f} on {os.cpu_count()} cores; wall times include interpreter "
          "start-up and imports in each fresh process)")
    print(f"target >= 100,000 rows/s and < 1.5 GB (every field quoted): {'met' if speed_ok else 'NOT met'}")


def nested_report(work: Path, ndjson_records: int, ctf_pupils: int) -> None:
    """Time NDJSON and CTF adapts at a quarter and the full size; print them side by side."""
    for kind, full, target in (("ndjson", ndjson_records, 100_000), ("ctf", ctf_pupils, None)):
        sizes = sorted({max(full // 4, 1), full})
        rows = bench_nested(work, kind, sizes)
        for size, wall, peak, cpu in rows:
            print(f"{kind:<6} {size:>9,} records: {wall:6.2f}s wall {size / wall:10,.0f} records/s | "
                  f"{cpu:6.2f}s CPU {size / cpu:10,.0f} records/CPU-s | peak RSS {peak:6.0f} MB")
        if len(rows) == 2:
            print(f"{kind:<6} peak RSS x{rows[1][2] / rows[0][2]:.2f} for x{rows[1][0] / rows[0][0]:.0f} the records "
                  "(bounded memory: well below the size ratio)")
        if target:
            size, wall, _, cpu = rows[-1]
            print(f"{kind:<6} target >= {target:,} records/s: {'met' if size / wall >= target else 'NOT met'} on wall "
                  f"time, {'met' if size / cpu >= target else 'NOT met'} per CPU second "
                  f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
