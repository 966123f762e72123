"""Publishing pyarrow part files: one local file in part order, or a dataset for a URL."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from stairs_link.engine.spark.parts import list_parts, part_name, publish, remove, staging_dir, write_part

SCHEMA = pa.schema([("k", pa.int64()), ("v", pa.string())], metadata={b"stairs_link.schema_version": b"1"})


def _part(start: int, n: int) -> pa.Table:
    return pa.table({"k": list(range(start, start + n)), "v": [str(i) for i in range(start, start + n)]}, schema=SCHEMA)


def test_local_publish_is_one_file_in_part_order_with_metadata(tmp_path):
    folder = staging_dir(tmp_path)
    # written out of order, as tasks finish: name order decides row order
    write_part(_part(10, 5), folder, part_name(2))
    write_part(_part(0, 10), folder, part_name(0, 1))
    write_part(_part(15, 0), folder, part_name(3))
    parts = list_parts(folder)
    assert [p.rsplit("/", 1)[1] for p in parts] == [part_name(0, 1), part_name(2), part_name(3)]
    dest = tmp_path / "t.parquet"
    publish(parts, dest, SCHEMA)
    remove(folder)
    table = pq.read_table(dest)
    assert table.column("k").to_pylist() == list(range(15))
    assert table.schema.metadata[b"stairs_link.schema_version"] == b"1"
    assert list_parts(folder) == []


def test_empty_publish_writes_the_schema(tmp_path):
    dest = tmp_path / "empty.parquet"
    publish([], dest, SCHEMA)
    table = pq.read_table(dest)
    assert table.num_rows == 0 and table.schema.names == ["k", "v"]


def test_url_publish_is_a_dataset_directory(tmp_path):
    folder = staging_dir(f"file://{tmp_path}")
    write_part(_part(0, 3), folder, part_name(1))
    write_part(_part(3, 3), folder, part_name(0))
    dest = f"file://{tmp_path}/out/t.parquet"
    publish(list_parts(folder), dest, SCHEMA)
    table = pq.read_table(str(tmp_path / "out" / "t.parquet"))
    assert table.column("k").to_pylist() == [3, 4, 5, 0, 1, 2]  # part 0 first
