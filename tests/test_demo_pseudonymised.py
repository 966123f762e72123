"""`stairs-link demo --pseudonymise`: the whole pipeline without plaintext (issue 6).

Every byte of every file under DIR/staged, DIR/linked and DIR/dataset is scanned for the
plain values of the same run: the names, dates of birth (several formats), postcodes and
identifiers a plain `adapt` of the same sample exports stages or rejects. Parquet files are
scanned twice: as raw (compressed) bytes, and decoded with every column rendered as text
(binary columns as hex). The scanner is shown to work on the plain run's own output.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from stairs_link.cli import cli, demo_cmd

SCANNED = ("staged", "linked", "dataset")
IDENTIFIERS = ("nhs_number", "upn", "pnc_id", "prison_number", "la_child_id")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, Path]:
    """(pseudonymised demo dir, CLI result, plain staged dir of the same sample exports)."""
    from stairs_link.adapt import adapt

    base = tmp_path_factory.mktemp("pseudo-demo")
    out = base / "demo"
    result = CliRunner().invoke(cli, ["demo", "--pseudonymise", "--out", str(out), "-q"])
    plain = base / "plain"
    sample, mappings = demo_cmd.sample_locations(out, progress=False)
    for site, system, mapping, export_dir in demo_cmd.sample_systems(sample, mappings):
        adapt(mapping, [export_dir], plain / site / system)
    return out, result, plain


def _date_forms(dates: pd.Series) -> set[str]:
    d = pd.to_datetime(dates.dropna(), errors="coerce").dropna()
    forms = set()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d"):
        forms |= set(d.dt.strftime(fmt))
    return forms


def plain_values(plain: Path) -> dict[str, set[str]]:
    """Plain values by kind, from the plain staged person tables and rejects of the same run."""
    person = pd.concat([pd.read_parquet(p) for p in sorted(plain.glob("*/*/person.parquet"))], ignore_index=True)
    names: set[str] = set()
    for column in ("given_name", "family_name", "middle_names"):
        for value in person[column].dropna().astype(str):
            names |= {part for part in re.split(r"[\s\-']+", value) if len(part) >= 3}
    values = {
        "name": names,
        "date_of_birth": _date_forms(person["date_of_birth"]),
        "postcode": {p for p in person["postcode"].dropna().astype(str) if len(p) >= 5}
        | {p.replace(" ", "") for p in person["postcode"].dropna().astype(str) if len(p) >= 5},
    }
    for column in IDENTIFIERS:
        values[column] = {v for v in person[column].dropna().astype(str) if len(v) >= 6}
    rejects = pd.concat([pd.read_parquet(p) for p in sorted(plain.glob("*/*/rejects.parquet"))], ignore_index=True)
    raw = rejects[rejects["column"].notna()]
    values["rejected_raw_value"] = {v.strip() for v in raw["raw_value"].dropna().astype(str) if len(v.strip()) >= 6}
    return values


def _parquet_text(path: Path) -> tuple[str, bytes]:
    """A Parquet file decoded: (every text-like value of every column, one per line, nested
    values flattened; the bytes of binary columns). Distinct values only: that is all a
    search for values needs, and it keeps the scan fast."""
    table = pq.read_table(path)
    lines: set[str] = set()
    binary: list[bytes] = []

    def walk(value: object) -> None:
        if isinstance(value, bytes):
            binary.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif value is not None:
            lines.add(str(value))

    for column in table.columns:
        nested = pa.types.is_nested(column.type)
        walk((column if nested else column.unique()).to_pylist())
    # column statistics (min/max per row group) sit uncompressed in the footer: a classic leak
    metadata = pq.ParquetFile(path).metadata
    for group in range(metadata.num_row_groups):
        for index in range(metadata.num_columns):
            stats = metadata.row_group(group).column(index).statistics
            if stats is not None and stats.has_min_max:
                walk(stats.min)
                walk(stats.max)
    return "\n".join(sorted(lines)), b"\n".join(binary)


def find_all(haystack: bytes, needles: set[bytes]) -> set[bytes]:
    """The needles occurring in haystack (exact bytes): one vectorised polynomial hash per
    window length over the whole haystack, candidates verified exactly."""
    found: set[bytes] = set()
    data = np.frombuffer(haystack, dtype=np.uint8).astype(np.uint64)
    by_length: dict[int, set[bytes]] = {}
    for needle in needles:
        by_length.setdefault(len(needle), set()).add(needle)
    for length, group in by_length.items():
        if len(data) < length:
            continue
        powers = np.uint64(1099511628211) ** np.arange(length, dtype=np.uint64)  # wraps mod 2**64
        windows = np.lib.stride_tricks.sliding_window_view(data, length)
        hashes = windows @ powers
        targets = np.array([np.frombuffer(n, dtype=np.uint8).astype(np.uint64) @ powers for n in group])
        for position in np.flatnonzero(np.isin(hashes, targets)):
            candidate = haystack[position:position + length]
            if candidate in group:
                found.add(candidate)
    return found


def _standalone(haystack: bytes, needles: set[bytes]) -> set[bytes]:
    """The needles found in text as whole values: not inside a longer run of letters and
    digits (a date of birth inside a hex token is chance, not a leak)."""
    found = set()
    for needle in find_all(haystack, needles):
        pattern = rb"(?<![A-Za-z0-9])" + re.escape(needle) + rb"(?![A-Za-z0-9])"
        if re.search(pattern, haystack):
            found.add(needle)
    return found


#: Raw (compressed, or random: Bloom filters, tokens) bytes are searched for values of this
#: many bytes or more. A 4-byte value matches random bytes with probability 256**-4 per
#: position: over the demo's 2.4 MB of raw Parquet and binary-column bytes and its 371 plain
#: values of 4-5 bytes that is 0.21 expected chance hits per run (the key, so the bytes,
#: change every run: a clean-clone test run failed that way once). 6 bytes or more: 3e-5.
#: Shorter values are still searched where a leak would put them in the clear: decoded
#: values and the footer's column statistics, as whole words.
RAW_MIN_BYTES = 6


def _html_without_package_code(text: str) -> str:
    """An HTML page's markup and embedded data, without its inline scripts and styles: those
    are the package's own code, the same bytes for every run (English words in them such as
    "white-space" or "Wilson" would match surnames), while the data they draw from (the
    ``<script type="application/json">`` element) is kept and scanned."""
    text = re.sub(r"<style>.*?</style>", "", text, flags=re.S)
    return re.sub(r"<script>.*?</script>", "", text, flags=re.S)


def scan(root: Path, values: dict[str, set[str]]) -> list[tuple[str, str, str]]:
    """(file, kind, value) for every plain value found in any file under root/SCANNED.

    * raw bytes of every Parquet file (compressed) and the bytes of its binary columns:
      every value of RAW_MIN_BYTES or more, names as staged and in upper case;
    * text (CSV, JSON, HTML as written less its inline code, see _html_without_package_code;
      Parquet decoded, every column and the column statistics as text): every value as a whole
      value, names of 3 characters or more case-insensitively as whole words.
    """
    kind_of: dict[bytes, tuple[str, str]] = {}
    for kind, found in values.items():
        for value in found:
            # lower case is left out: the base64 Arrow schema in Parquet metadata is
            # letter noise in which short lower-case words occur by chance
            forms = {value, value.upper()} if kind == "name" else {value}
            for form in forms:
                kind_of[form.encode("utf-8")] = (kind, value)
    long_needles = {n for n in kind_of if len(n) >= RAW_MIN_BYTES}
    names = {v.upper() for v in values.get("name", ())}
    hits = []
    files = sorted(p for part in SCANNED for p in (root / part).rglob("*") if p.is_file())
    assert files, f"nothing to scan under {root}"
    for path in files:
        raw = path.read_bytes()
        if path.suffix == ".parquet":
            text, binary = _parquet_text(path)
            raw_parts = [raw, binary]
        else:  # text files: their bytes are the text scanned below
            text, raw_parts = raw.decode("utf-8", errors="replace"), []
            if path.suffix == ".html":
                text = _html_without_package_code(text)
        found = set()
        for part in raw_parts:
            found |= find_all(part, long_needles)
        found |= _standalone(text.encode("utf-8"), {n for n, (kind, _) in kind_of.items() if kind != "name"})
        words = set(re.findall(r"(?<![A-Z0-9])[A-Z]{3,}(?![A-Z0-9])", text.upper()))
        found |= {w.encode("utf-8") for w in words & names}
        for needle in found:
            kind, value = kind_of.get(needle, ("name", needle.decode("utf-8")))
            hits.append((str(path.relative_to(root)), kind, value))
    return hits


def test_demo_runs_in_pseudonymised_mode_with_key_outside_outputs(runs):
    out, result, _ = runs
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "pseudonymised mode" in result.output
    key = out / "key"
    assert key.is_file() and str(key) in result.output
    key_text = key.read_text(encoding="utf-8")
    secret = [line for line in key_text.splitlines() if line and not line.startswith("#")][-1].strip()
    assert secret not in result.output
    for part in SCANNED:
        assert (out / part).is_dir()
        assert not list((out / part).rglob("key"))
        for path in (out / part).rglob("*"):  # the key never appears in any output
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
    manifests = [json.loads(p.read_text(encoding="utf-8")) for p in (out / "staged").glob("*/*/manifest.json")]
    assert len(manifests) == len(list((out / "staged").glob("*/*")))
    assert len({m["pseudonymisation"]["key_id"] for m in manifests}) == 1


def test_scanner_finds_plain_values_in_the_plain_run(runs):
    """Positive control: the same scan on the plain staged data finds every kind of value."""
    out, _, plain = runs
    values = plain_values(plain)
    assert all(values[k] for k in ("name", "date_of_birth", "postcode", "nhs_number", "upn", "pnc_id"))
    control = plain.parent / "control"
    (control / "staged").mkdir(parents=True)
    for p in sorted(plain.glob("*/*"))[:3]:
        target = control / "staged" / p.parent.name / p.name
        target.mkdir(parents=True)
        for f in p.iterdir():
            target.joinpath(f.name).write_bytes(f.read_bytes())
    for part in ("linked", "dataset"):
        (control / part).mkdir()
    kinds = {kind for _, kind, _ in scan(control, values)}
    assert {"name", "date_of_birth", "postcode", "nhs_number"} <= kinds


def test_no_plain_value_anywhere_in_pseudonymised_outputs(runs):
    out, result, plain = runs
    assert result.exit_code == 0
    values = plain_values(plain)
    hits = scan(out, values)
    assert not hits, f"{len(hits)} plain values found, e.g. {[(f, k) for f, k, _ in hits[:10]]}"


def test_pseudonymised_pipeline_still_links_and_builds(runs):
    out, result, _ = runs
    assert result.exit_code == 0
    person = pd.concat([pd.read_parquet(p) for p in sorted((out / "staged").glob("*/*/person.parquet"))])
    assert person[["given_name", "family_name", "date_of_birth", "postcode"]].isna().all().all()
    assert person["family_name_bf"].notna().mean() > 0.9
    model = json.loads((out / "linked" / "model.json").read_text(encoding="utf-8"))
    kinds = {c["kind"] for c in model["config"]["comparisons"]}
    assert "bloom" in kinds  # the pseudonymised preset was picked from the manifests
    children = pd.read_parquet(out / "dataset" / "children.parquet", columns=["child_id"])
    assert children["child_id"].is_unique and len(children) > 0
    f1 = float(re.search(r"pairwise F1 against the generator's truth: ([0-9.]+)", result.output).group(1))
    print(f"\npseudonymised demo: linkage F1 {f1:.4f}, {len(children)} children")
    assert f1 > 0.98
    episodes = pd.concat([pd.read_parquet(p) for p in sorted((out / "staged").glob("*/*/episode.parquet"))])
    assert episodes["age_at_admission"].notna().mean() > 0.9
    assert episodes["age_at_admission"].dropna().between(8, 21).all()


def test_find_all_finds_values_in_random_bytes_and_nothing_else():
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    haystack = noise[:1000] + b"9434765919" + noise[1000:150_000] + b"Oliver" + noise[150_000:]
    assert find_all(haystack, {b"9434765919", b"Oliver", b"4010232137", b"Amelia"}) == {b"9434765919", b"Oliver"}
