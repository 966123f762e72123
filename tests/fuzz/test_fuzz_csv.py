"""Issue 12, item 12: hostile CSV exports through the real CLI keep every invariant of
fuzz_world.py (exit 0/1/2, no traceback, Error/Fix, rows in = staged + rejected + skipped =
the generator's records, no personal value outside the tables, nothing half-written).

Each mutation of csv_mutations.py runs once on its own (table-driven), then hypothesis
combines several on the same file."""

from __future__ import annotations

import pytest
from csv_mutations import ALL, FATAL_MUTATIONS, FILE_MUTATIONS, ROW_MUTATIONS, Doc, accented_names, known_gap, parse
from fuzz_world import World, fuzz, run_adapt
from hypothesis import assume, given
from hypothesis import strategies as st


def _base(world: World) -> Doc:
    return parse(world.csv.data.decode("utf-8"))


def _run(world: World, doc: Doc, pseudonymise: bool) -> dict | None:
    outcome = run_adapt(world, world.csv, {"patients.csv": doc.to_bytes()}, records=doc.records,
                        allowed=doc.exits, pseudonymise=pseudonymise, extra_values=doc.values,
                        expect=doc.expect)
    return outcome.manifest


def test_the_unmutated_export_is_read_whole(world: World) -> None:
    manifest = _run(world, _base(world), pseudonymise=False)
    assert manifest is not None and manifest["sources"][0]["rows_in"] == world.csv.records


@pytest.mark.parametrize("name", sorted(ALL))
def test_each_mutation_alone(world: World, name: str) -> None:
    doc = _base(world)
    picks = iter(range(3, 1000, 7))
    mutated = ALL[name](doc, lambda n: next(picks) % n)
    assert mutated != doc, "the mutation changed nothing"
    manifest = _run(world, mutated, pseudonymise=sorted(ALL).index(name) % 2 == 0)
    if name == "stray_quote":
        assert manifest is not None
        assert manifest["sources"][0]["lines"]["quote_imbalance_records"] == 1


MUTATION = st.sampled_from(sorted(ROW_MUTATIONS) * 3 + sorted(FILE_MUTATIONS) + sorted(FATAL_MUTATIONS))


@fuzz(max_examples=12)
@given(data=st.data(), names=st.lists(MUTATION, min_size=1, max_size=5), pseudonymise=st.booleans())
def test_mutations_combined(world: World, data: st.DataObject, names: list[str], pseudonymise: bool) -> None:
    doc = _base(world)
    for name in names:
        doc = ALL[name](doc, lambda n: data.draw(st.integers(0, n - 1)) if n > 1 else 0)
    assume(known_gap(doc) is None)  # each known bug has its own strict xfail in test_fuzz_found.py
    _run(world, doc, pseudonymise)


def test_one_bad_byte_does_not_garble_the_other_names(world: World) -> None:
    # the case: one Word apostrophe in a UTF-8 file once turned "Zoë" into "ZoÃ«"
    doc = accented_names(_base(world), lambda n: 2 % n)
    line = max(doc.data_lines())
    fields = doc.fields(line)
    fields[2] = "O\udc92" + fields[2]  # a cp1252 apostrophe in a surname (not UTF-8)
    doc = doc.with_line(line, fields, "Word apostrophe")
    assert doc.expect
    _run(world, doc, pseudonymise=False)
