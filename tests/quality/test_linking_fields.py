"""Flags for records that can only link through few fields, and the link rate per site system."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stairs_link.adapt import adapt
from stairs_link.quality.linked import _link_rate, linking_fields_outcome
from stairs_link.quality.prepare import load_staged

MAPPING = """\
site_id: sch-t
setting_type: SCH
system_kind: social_care
source_system: ssda903
tables:
  person:
    source: {files: header.csv}
    fields:
      local_id: CHILD
      sex: {column: SEX, codes: {'1': male, '2': female}, unknown_codes: keep_unknown}
      date_of_birth: {column: DOB, formats: ['%d/%m/%Y']}
      upn: UPN
"""


def staged_header(tmp_path: Path, upns: list[str]) -> Path:
    rows = "".join(f"C{i},1,0{i % 9 + 1}/01/2008,{u}\n" for i, u in enumerate(upns))
    (tmp_path / "header.csv").write_text("CHILD,SEX,DOB,UPN\n" + rows, encoding="utf-8")
    (tmp_path / "m.yaml").write_text(MAPPING, encoding="utf-8")
    adapt(tmp_path / "m.yaml", [tmp_path / "header.csv"], tmp_path / "staged")
    return tmp_path / "staged"


def test_nameless_records_without_identifiers_are_flagged(tmp_path: Path) -> None:
    outcome = linking_fields_outcome(load_staged(staged_header(tmp_path, ["UN1", "UN2", "H801200001001", "UN3"])),
                                     show_values=False)
    assert outcome is not None and not outcome.success
    assert outcome.unexpected_count == 3 and outcome.observed_value["records_without_names"] == 4


def test_nameless_records_with_upns_pass(tmp_path: Path) -> None:
    outcome = linking_fields_outcome(load_staged(staged_header(tmp_path, ["H801200001001"] * 5 + ["UN1"])),
                                     show_values=False)
    assert outcome is not None and outcome.success and outcome.unexpected_count == 1


def test_link_rate_per_site_system_flags_a_system_linked_to_nothing() -> None:
    keys = [f"s:a:{i}" for i in range(12)] + [f"s:b:{i}" for i in range(12)] + [f"s:c:{i}" for i in range(12)]
    person = pd.DataFrame({"record_key": keys})
    cluster = [f"k{i}" for i in range(12)] + [f"k{i}" for i in range(6)] + [f"z{i}" for i in range(6)] \
        + [f"c{i}" for i in range(12)]
    clusters = pd.DataFrame({"record_key": keys, "cluster_id": cluster})
    outcome = _link_rate(person, clusters, source="linked")
    assert outcome.observed_value["link_rate"] == {"s:a": 0.5, "s:b": 0.5, "s:c": 0.0}
    assert not outcome.success and outcome.unexpected_count == 1
    assert outcome.examples[0]["values"]["site_system"] == "s:c"
