"""Linkage specification: comparisons, blocking rules and thresholds as plain typed objects.

The spec is kept apart from its execution (as in Splink): a :class:`LinkageConfig` is a
dataclass that loads from YAML or a dict and dumps to JSON; the engine modules
(``prepare``, ``blocking``, ``compare``, ``model``, ``cluster``) execute it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from stairs_link.errors import LinkageError
from stairs_link.linkage.comparisons import Comparison, kind, kind_names

COMPARISON_KINDS = kind_names()  # the built-in kinds (linkage/comparisons/); validation asks the registry
# upn_permanent: a temporary UPN (letter in position 13) counts as no UPN, so it never
# conflicts with the child's permanent UPN (schools issue one until the permanent is known).
VALIDATORS = ("nhs_number", "upn", "upn_permanent", "pnc_id")
# Key transforms allowed in blocking keys ``column:transform`` (see prepare.Features.codes).
KEY_TRANSFORMS = ("fold", "metaphone", "soundex", "nysiis", "first1", "first2", "first3",
                  "year", "month", "day", "swapfree", "outward", "valid",
                  # pseudonymised mode: MinHash bands of a Bloom encoding (linkage/bloom_comparisons.py)
                  *(f"minhash{b}" for b in range(8)))


@dataclass(frozen=True)
class BlockingRule:
    """Candidate pairs = records agreeing on every key. A key is ``column`` or ``column:transform``
    (transforms: fold, metaphone, soundex, nysiis, first1-3, year, month, day, outward, valid,
    swapfree = a date with day and month in either order); ``a|b:transform`` is the unordered
    pair of two columns (agrees when the values are swapped). With ``when_missing`` the rule
    only makes pairs in which at least one record lacks that column (a cheap net for records
    the other rules cannot block, e.g. without a date of birth)."""

    name: str
    keys: tuple[str, ...]
    when_missing: str | None = None  # only pairs in which at least one record lacks this column

    def columns(self) -> list[str]:
        return [c for k in self.keys for c in k.split(":")[0].split("|")]


def _default_comparisons() -> tuple[Comparison, ...]:
    return (
        Comparison("given_name", "name", "given_name", other_column="family_name",
                   thresholds=(0.92, 0.80), phonetic=True, nicknames=True, tokens=True,
                   term_frequency=True),
        Comparison("family_name", "name", "family_name", other_column="given_name",
                   thresholds=(0.92, 0.80), phonetic=True, tokens=True, term_frequency=True),
        Comparison("date_of_birth", "date", "date_of_birth"),
        Comparison("sex", "exact", "sex", null_values=("unknown", "indeterminate")),
        Comparison("postcode", "postcode", "postcode"),
        Comparison("nhs_number", "identifier", "nhs_number", validator="nhs_number"),
        Comparison("upn", "identifier", "upn", validator="upn_permanent"),
        Comparison("pnc_id", "identifier", "pnc_id", validator="pnc_id"),
    )


def _default_blocking() -> tuple[BlockingRule, ...]:
    # Chosen by measured blocking recall on synthetic data (person_records(25000, 1)): these
    # rules find ~99.6% of true pairs with ~1.8M candidate pairs per 100k records, and every
    # rule grows linearly with the number of records (no names-only rule: common names would
    # make those quadratic). "a|b" keys are order-free, so a given/family swap still blocks;
    # "swapfree" dates agree when day and month are swapped.
    return (
        BlockingRule("nhs_number", ("nhs_number:valid",)),
        BlockingRule("upn", ("upn:valid",)),
        BlockingRule("pnc_id", ("pnc_id:valid",)),
        BlockingRule("postcode", ("postcode",)),
        BlockingRule("dob_given_initial", ("date_of_birth:swapfree", "given_name:first1")),
        BlockingRule("dob_family_initial", ("date_of_birth:swapfree", "family_name:first1")),
        BlockingRule("dob_initials_any_order", ("date_of_birth", "given_name|family_name:first1")),
        BlockingRule("family_phonetic_birthday", ("family_name:metaphone", "date_of_birth:month",
                                                  "date_of_birth:day")),
        BlockingRule("given_phonetic_birthday", ("given_name:metaphone", "date_of_birth:month",
                                                 "date_of_birth:day")),
        BlockingRule("names_phonetic_birth_year", ("given_name|family_name:metaphone", "date_of_birth:year")),
        BlockingRule("names_phonetic_no_dob", ("given_name|family_name:metaphone",),
                     when_missing="date_of_birth"),
        # Sources without names (SSDA903 by design) block on date of birth with sex and the
        # postcode district (identifiers have their own rules above); only pairs in which one
        # record has no family name, so the rule adds few pairs. Date of birth and sex alone
        # are not enough: children share them, and such a pair would link on that alone.
        BlockingRule("dob_sex_district_nameless", ("date_of_birth:swapfree", "sex", "postcode:outward"),
                     when_missing="family_name"),
    )


@dataclass(frozen=True)
class LinkageConfig:
    """Everything that decides how records are linked; defaults fit the canonical person table.

    Thresholds are match probabilities: pairs at or above ``link_threshold`` are linked
    (subject to cannot-link rules); pairs within ``review_band`` go to clerical review.
    """

    comparisons: tuple[Comparison, ...] = field(default_factory=_default_comparisons)
    blocking: tuple[BlockingRule, ...] = field(default_factory=_default_blocking)
    link_threshold: float = 0.5
    review_band: tuple[float, float] = (0.2, 0.8)
    keep_pairs_min_probability: float = 0.01
    deterministic_identifiers: tuple[str, ...] = ("nhs_number", "upn", "pnc_id")
    deterministic_conflict_weight: float = -8.0
    cannot_link_identifiers: tuple[str, ...] = ("nhs_number", "upn", "pnc_id")
    cannot_link_same_source: bool = False
    max_cluster_size: int = 25
    max_pairs: int = 200_000_000
    u_sample_pairs: int = 1_000_000
    em_max_iterations: int = 100
    em_tolerance: float = 1e-5
    chunk_pairs: int = 4_000_000
    seed: int = 42
    record_key: str = "record_key"
    source_columns: tuple[str, ...] = ("site_id", "source_system")

    def __post_init__(self) -> None:
        problems = []
        names = [c.name for c in self.comparisons]
        if len(set(names)) != len(names):
            problems.append("comparison names must be unique")
        for c in self.comparisons:
            if c.kind not in kind_names():
                problems.append(f"comparison '{c.name}': unknown kind '{c.kind}' "
                                f"(valid: {', '.join(kind_names())})")
            if c.validator is not None and c.validator not in VALIDATORS:
                problems.append(f"comparison '{c.name}': unknown validator '{c.validator}' "
                                f"(valid: {', '.join(VALIDATORS)})")
            if c.term_frequency and c.kind in kind_names() and not kind(c.kind).term_frequency:
                problems.append(f"comparison '{c.name}': term_frequency is not supported for {c.kind}s")
            if not c.thresholds or any(not 0 < t <= 1 for t in c.thresholds) \
                    or list(c.thresholds) != sorted(c.thresholds, reverse=True):
                problems.append(f"comparison '{c.name}': thresholds must be in (0, 1], descending")
        for rule in self.blocking:
            for key in rule.keys:
                parts = key.split(":")
                if len(parts) > 2 or (len(parts) == 2 and parts[1] not in KEY_TRANSFORMS):
                    problems.append(f"blocking rule '{rule.name}': bad key '{key}' (transforms: "
                                    f"{', '.join(KEY_TRANSFORMS)})")
        if not self.blocking:
            problems.append("at least one blocking rule is needed")
        lo, hi = self.review_band
        if not 0 <= lo <= hi <= 1 or not 0 < self.link_threshold < 1:
            problems.append("link_threshold must be in (0, 1) and review_band 0 <= low <= high <= 1")
        for ident in (*self.deterministic_identifiers, *self.cannot_link_identifiers):
            if ident not in names:
                problems.append(f"identifier '{ident}' is not one of the comparisons ({', '.join(names)})")
        if problems:
            raise LinkageError("invalid linkage configuration: " + "; ".join(problems),
                               reason="bad_config", fix="correct the configuration file")

    # ---- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, file: str | None = None) -> LinkageConfig:
        """Build from a dict as written in YAML; unknown keys are an error listing valid ones."""
        if not isinstance(data, dict):
            raise LinkageError("linkage configuration must be a mapping", reason="bad_config",
                               file=file, fix="write key: value pairs at the top level")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LinkageError(f"unknown configuration key(s): {', '.join(unknown)}",
                               reason="bad_config", file=file,
                               fix=f"valid keys: {', '.join(sorted(known))}")
        kwargs: dict[str, Any] = {}
        try:
            for key, value in data.items():
                if key == "comparisons":
                    kwargs[key] = tuple(_comparison(c) for c in value)
                elif key == "blocking":
                    kwargs[key] = tuple(BlockingRule(r["name"], tuple(r["keys"]), r.get("when_missing"))
                                        for r in value)
                elif isinstance(value, list):
                    kwargs[key] = tuple(value)
                else:
                    kwargs[key] = value
        except (TypeError, KeyError) as exc:
            raise LinkageError(f"malformed configuration entry ({exc!r})", reason="bad_config",
                               file=file, fix="see docs/linkage.md for the configuration format") from None
        try:
            return cls(**kwargs)
        except LinkageError as exc:
            exc.file = file
            raise

    @classmethod
    def from_yaml(cls, path: str | Path) -> LinkageConfig:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise LinkageError(f"cannot read linkage configuration ({exc})", reason="bad_config",
                               file=str(path), fix="check the path and the YAML syntax") from None
        return cls.from_dict(data or {}, file=str(path))

    @classmethod
    def preset(cls, name: str) -> LinkageConfig:
        """A bundled configuration (``linkage/data/presets/<name>.yaml``), e.g. ``febrl4``."""
        from importlib import resources

        folder = resources.files("stairs_link.linkage").joinpath("data/presets")
        names = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))
        if name not in names:
            raise LinkageError(f"unknown linkage preset '{name}'", reason="bad_config",
                               fix=f"use one of: {', '.join(names)}")
        data = yaml.safe_load(folder.joinpath(f"{name}.yaml").read_text(encoding="utf-8"))
        return cls.from_dict(data, file=f"preset {name}")

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def comparison(self, name: str) -> Comparison:
        for c in self.comparisons:
            if c.name == name:
                return c
        raise LinkageError(f"no comparison named '{name}'", reason="bad_config")


def _comparison(data: dict[str, Any]) -> Comparison:
    valid = {f.name for f in fields(Comparison)}
    unknown = sorted(set(data) - valid)
    if unknown:
        raise LinkageError(f"comparison '{data.get('name')}': unknown key(s) {', '.join(unknown)}",
                           reason="bad_config", fix=f"valid keys: {', '.join(sorted(valid))}")
    data = dict(data)
    if "thresholds" in data:
        data["thresholds"] = tuple(float(t) for t in data["thresholds"])
    if "null_values" in data:
        data["null_values"] = tuple(str(v) for v in data["null_values"])
    return Comparison(**data)
