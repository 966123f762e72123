"""Issue 12, item 7 (mapping part): YAML alias expansion and nesting are bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from stairs_link.errors import MappingError
from stairs_link.mapping.loader import load_mapping


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    # was: 14 s and 1.6 GB in `mapping check` for 464 bytes; 9 levels: MemoryError traceback
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ",".join(f"*{prev}" for _ in range(9)) + "]")
    (tmp_path / "m.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(MappingError) as info:
        load_mapping(tmp_path / "m.yaml")
    assert [p.reason for p in info.value.problems] == ["yaml_too_complex"] and "aliases" in str(info.value)


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("a: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    with pytest.raises(MappingError) as info:
        load_mapping(tmp_path / "m.yaml")
    assert [p.reason for p in info.value.problems] == ["yaml_too_complex"] and "nested" in str(info.value)
