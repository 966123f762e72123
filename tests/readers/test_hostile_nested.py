"""Issue 12, items 7 and 8 for the nested readers: depth limits (JSON, NDJSON, XML), duplicate
keys, objects where a scalar belongs, and the sha256 covering the bytes the rows came from."""

from __future__ import annotations

import hashlib
import json
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_nested_readers import mapping, patient, staged

import stairs_link.io.nested as nested
from stairs_link.adapt.run import adapt
from stairs_link.errors import InputFileError

DEEP = 100_000
ID_ONLY = "    fields:\n      local_id: id\n"


def rejects(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "rejects.parquet")


def counts(result) -> tuple[int, int, int]:  # noqa: ANN001
    source = result.manifest["sources"][0]
    return source["rows_in"], source["rows_staged"], source["rows_rejected"]


def _adapt_measured(m: Path, path: Path, out: Path):  # noqa: ANN202
    """adapt, with the peak of Python memory it allocated and its time."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = adapt(m, [path], out)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, peak, time.perf_counter() - started


@pytest.mark.parametrize("fmt", ["json", "ndjson", "ndjson-per-record", "xml"])
def test_a_record_nested_100000_deep_is_a_too_deep_reject_in_bounded_memory(
        tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # was: JSON 1.6 GB then MemoryError (prefixes of every level built), XML quadratic time
    if fmt == "xml":
        path = tmp_path / "d.xml"
        path.write_text("<R><P><id>p1</id>" + "<a>" * DEEP + "x" + "</a>" * DEEP + "</P><P><id>p2</id></P></R>",
                        encoding="utf-8")
        m = mapping(tmp_path, "{files: d.xml, records_path: R/P}", ID_ONLY)
    elif fmt == "json":
        path = tmp_path / "b.json"
        path.write_text('{"entry": [{"id": "p1", "x": ' + "[" * DEEP + "]" * DEEP + '}, {"id": "p2"}]}',
                        encoding="utf-8")
        m = mapping(tmp_path, "{files: b.json, records_path: entry}", ID_ONLY)
    else:
        if fmt == "ndjson-per-record":  # the reader the fast path falls back to
            monkeypatch.setattr(nested, "schema_for", lambda *a: (_ for _ in ()).throw(nested.ShapeError("x")))
        path = tmp_path / "p.ndjson"
        path.write_text('{"id": "p1", "x": ' + "[" * DEEP + "]" * DEEP + '}\n{"id": "p2"}\n', encoding="utf-8")
        m = mapping(tmp_path, "{files: p.ndjson}", ID_ONLY)
    result, peak, seconds = _adapt_measured(m, path, tmp_path / "out")
    assert counts(result) == (2, 1, 1)
    assert staged(tmp_path / "out")["local_id"].tolist() == ["p2"]
    bad = rejects(tmp_path / "out")
    assert bad["reason"].tolist() == ["too_deep"] and bad["source_row"].tolist() == [1]
    assert "64 levels" in bad["message"][0]
    print(f"{fmt}: {DEEP:,} levels, peak Python memory {peak / 1e6:.1f} MB, {seconds:.2f} s")
    assert peak < 60e6  # the deep part is never built (the file itself is 0.2-0.7 MB)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_document_nested_100000_deep_outside_its_records_is_an_error_naming_the_file(
        tmp_path: Path, fmt: str) -> None:
    if fmt == "json":
        path = tmp_path / "b.json"
        path.write_text("[" * DEEP + "]" * DEEP, encoding="utf-8")
        m = mapping(tmp_path, "{files: b.json, records_path: entry}", ID_ONLY)
    else:
        path = tmp_path / "d.xml"
        path.write_text("<R>" + "<a>" * DEEP + "</a>" * DEEP + "</R>", encoding="utf-8")
        m = mapping(tmp_path, "{files: d.xml, records_path: R/P}", ID_ONLY)
    tracemalloc.start()
    try:
        with pytest.raises(InputFileError) as info:
            adapt(m, [path], tmp_path / "out")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.reason == "too_deep" and info.value.file.endswith(path.name)
    assert "Fix:" in str(info.value)
    assert peak < 60e6
    assert not (tmp_path / "out" / "person.parquet").exists()


DUPLICATED = '{"id": "p1", "birthDate": "2008-01-02", "birthDate": "2009-03-04", "gender": "female"}'
NESTED_DUPLICATE = ('{"id": "p2", "name": [{"use": "official", "family": "Off", "family": "Other", '
                    '"given": ["Ann"]}], "gender": "female"}')
UNREAD_DUPLICATE = '{"id": "p3", "meta": {"tag": 1, "tag": 2}, "gender": "female"}'
DUP_FIELDS = """\
    fields:
      local_id: id
      family_name: "name[use=official].family"
      date_of_birth: birthDate
"""


@pytest.mark.parametrize("fmt", ["json", "ndjson", "ndjson-per-record"])
def test_a_duplicated_key_the_mapping_reads_is_a_reject_naming_the_key_not_the_values(
        tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # was: the last value won silently (every JSON parser keeps one)
    lines = [DUPLICATED, NESTED_DUPLICATE, UNREAD_DUPLICATE, json.dumps(patient(4))]
    if fmt == "json":
        path = tmp_path / "b.json"
        path.write_text('{"entry": [' + ",\n".join(lines) + "]}", encoding="utf-8")
        m = mapping(tmp_path, "{files: b.json, records_path: entry}", DUP_FIELDS)
    else:
        if fmt == "ndjson-per-record":
            monkeypatch.setattr(nested, "schema_for", lambda *a: (_ for _ in ()).throw(nested.ShapeError("x")))
        path = tmp_path / "p.ndjson"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        m = mapping(tmp_path, "{files: p.ndjson}", DUP_FIELDS)
    result = adapt(m, [path], tmp_path / "out")
    assert counts(result) == (4, 2, 2)
    # a repeated key nothing reads changes no staged value: staged
    assert staged(tmp_path / "out")["local_id"].tolist() == ["p3", "p4"]
    bad = rejects(tmp_path / "out")
    assert bad["reason"].tolist() == ["duplicate_key"] * 2 and bad["source_row"].tolist() == [1, 2]
    assert "'birthDate'" in bad["message"][0] and "'name.family'" in bad["message"][1]
    text = " ".join(bad["message"]) + " ".join(map(str, bad["raw_value"]))
    assert not any(value in text for value in ("2008-01-02", "2009-03-04", "Off", "Other"))


def test_ndjson_fast_path_and_per_record_reader_agree_on_hostile_lines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [json.dumps(patient(i)) for i in range(30)]
    lines[10] = DUPLICATED.replace('"p1"', '"p10"')
    lines[20] = '{"id": "p20", "x": ' + "[" * 70 + "]" * 70 + "}"
    (tmp_path / "p.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    m = mapping(tmp_path, "{files: p.ndjson}", DUP_FIELDS)
    fast = adapt(m, [tmp_path / "p.ndjson"], tmp_path / "fast").manifest
    monkeypatch.setattr(nested, "schema_for", lambda *a: (_ for _ in ()).throw(nested.ShapeError("x")))
    slow = adapt(m, [tmp_path / "p.ndjson"], tmp_path / "slow").manifest
    assert fast["sources"] == slow["sources"] and fast["sources"][0]["rows_rejected"] == 2
    pd.testing.assert_frame_equal(rejects(tmp_path / "fast"), rejects(tmp_path / "slow"))
    assert rejects(tmp_path / "fast")["reason"].tolist() == ["duplicate_key", "too_deep"]
    assert fast["inputs"] == slow["inputs"]


def test_an_xml_element_where_a_value_belongs_is_not_a_scalar(tmp_path: Path) -> None:
    (tmp_path / "d.xml").write_text("<R><P><id>1</id><Surname><First>Lee</First></Surname></P>"
                                    "<P><id>2</id><Surname>Ray</Surname></P></R>", encoding="utf-8")
    m = mapping(tmp_path, "{files: d.xml, records_path: R/P}", ID_ONLY + "      family_name: Surname\n")
    result = adapt(m, [tmp_path / "d.xml"], tmp_path / "out")
    assert counts(result) == (2, 1, 1)
    assert rejects(tmp_path / "out")["reason"].tolist() == ["not_a_scalar"]
    assert staged(tmp_path / "out")["family_name"].tolist() == ["Ray"]


@pytest.mark.parametrize("fmt", ["json", "ndjson", "xml"])
def test_the_manifest_checksum_is_of_the_bytes_read_and_a_growing_file_is_refused(
        tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if fmt == "xml":
        path = tmp_path / "d.xml"
        path.write_text("<R>" + "".join(f"<P><id>{i}</id></P>" for i in range(2000)) + "</R>\n", encoding="utf-8")
        m = mapping(tmp_path, "{files: d.xml, records_path: R/P}", ID_ONLY)
    elif fmt == "json":
        path = tmp_path / "b.json"
        path.write_text(json.dumps({"entry": [patient(i) for i in range(2000)]}) + "\n", encoding="utf-8")
        m = mapping(tmp_path, "{files: b.json, records_path: entry}", ID_ONLY)
    else:
        path = tmp_path / "p.ndjson"
        path.write_text("".join(json.dumps(patient(i)) + "\n" for i in range(2000)), encoding="utf-8")
        m = mapping(tmp_path, "{files: p.ndjson}", ID_ONLY)
        monkeypatch.setattr(nested, "ARROW_BLOCK_BYTES", 64 << 10)
    (entry,) = adapt(m, [path], tmp_path / "out").manifest["inputs"]
    data = path.read_bytes()
    assert (entry["sha256"], entry["bytes"]) == (hashlib.sha256(data).hexdigest(), len(data))

    import stairs_link.adapt.run as run

    real = run._adapt_batch
    grown = []

    def growing(*args: object, **kwargs: object) -> object:
        if not grown:  # the export system appends while adapt reads
            with path.open("ab") as handle:
                handle.write(b"\n" if fmt != "ndjson" else (json.dumps(patient(9999)) + "\n").encode())
            grown.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(run, "_adapt_batch", growing)
    with pytest.raises(InputFileError) as info:
        adapt(m, [path], tmp_path / "out2")
    assert info.value.reason == "source_changed" and info.value.file.endswith(path.name)
    assert not (tmp_path / "out2" / "manifest.json").exists()


def _depth(value: object) -> int:
    """Nesting depth of parsed JSON (a record {...} is 1), iteratively."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


TRICKY = st.text(alphabet='[]{}"\\:,ab ', max_size=8)  # brackets, quotes and backslashes inside strings
LEAF = st.one_of(st.none(), st.integers(), TRICKY)


@given(st.lists(st.tuples(st.recursive(LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(TRICKY, inner, max_size=3)), max_leaves=12),
    st.integers(min_value=0, max_value=nested.MAX_DEPTH + 3)), min_size=1, max_size=6))
@settings(max_examples=300, deadline=None)
def test_the_fast_paths_depth_count_equals_the_parsed_depth(lines: list[tuple[object, int]]) -> None:
    """line_depths / _deep_line (numpy over the bytes) against the depth of the parsed lines,
    with strings full of brackets, quotes and backslashes."""
    records = []
    for value, wraps in lines:
        for i in range(wraps):
            value = [value] if i % 2 else {"k": value}
        records.append(value)
    text = "".join(json.dumps(r) + "\n" for r in records).encode()
    data = np.frombuffer(text, dtype=np.uint8)
    starts = np.concatenate([[0], np.flatnonzero(data == 0x0A) + 1])[:-1]
    counted = nested.line_depths(data, starts)
    for record, line, depth in zip(records, text.splitlines(), counted.tolist()):
        if b"\\\\" not in line:
            assert depth == _depth(record)
    assert nested._deep_line(text) == any(_depth(r) > nested.MAX_DEPTH for r in records)


def test_a_json_number_beyond_64_bits_is_read_not_a_broken_file(tmp_path: Path) -> None:
    """yajl2_c refuses an integer outside 64 bits ('integer overflow'); such a file is read with
    ijson's Python backend, and the number staged as written."""
    records = [dict(patient(1), id="12345678901234567890123"), patient(2)]
    (tmp_path / "b.json").write_text(json.dumps({"entry": records}).replace('"12345678901234567890123"',
                                                                            "12345678901234567890123"), encoding="utf-8")
    assert b": 12345678901234567890123," in (tmp_path / "b.json").read_bytes()
    m = mapping(tmp_path, "{files: b.json, records_path: entry}", ID_ONLY)
    result = adapt(m, [tmp_path / "b.json"], tmp_path / "out")
    assert counts(result) == (2, 2, 0)
    assert staged(tmp_path / "out")["local_id"].tolist() == ["12345678901234567890123", "p2"]
