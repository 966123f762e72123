"""`check`: run every quality check on staged (and linked) directories, write the reports."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pandas as pd

from stairs_link import progress
from stairs_link.errors import QualityError
from stairs_link.quality.distributions import distribution_outcomes
from stairs_link.quality.html import render_html
from stairs_link.quality.linked import MAX_CLUSTER_SIZE, is_linked_dir, linked_checks, linking_fields_outcome
from stairs_link.quality.prepare import Staged, StagedTable, load_staged, prepare
from stairs_link.quality.results import ALL_SOURCES, CheckResult, Outcome
from stairs_link.quality.suites import NULLED, PSEUDONYMISED, TOKEN_CHECKS, VARIANTS, load_suite
from stairs_link.schema.tables import TABLES

#: Columns whose values never appear in the examples of pseudonymised directories, not even
#: with --show-values: tokens and encodings mean nothing to a reader and are pseudonymised
#: personal data; the plaintext columns should be empty, and if not, must not spread further.
#: (Encodings, any ``*_bf`` column, are withheld everywhere by ``examples.show``.)
WITHHELD_PSEUDONYMISED = frozenset(
    {c for columns in TOKEN_CHECKS.values() for c in columns} | set(NULLED))


def split_dirs(directories: list[Path]) -> tuple[list[Path], list[Path]]:
    """Sort the given directories into staged ones and linked ones (holding clusters.parquet)."""
    staged: list[Path] = []
    linked: list[Path] = []
    for directory in map(Path, directories):
        # anything that is not a linked directory is read as staged; load_staged then says
        # exactly what is missing from it
        (linked if is_linked_dir(directory) else staged).append(directory)
    return staged, linked


def check(
    staged_dirs: list[Path],
    out_dir: Path,
    *,
    show_values: bool = False,
    suites_dir: Path | None = None,
    max_cluster_size: int = MAX_CLUSTER_SIZE,
) -> CheckResult:
    """Check staged directories (and any linked directory among them); write check.json and
    check.html to ``out_dir``. ``result.passed`` is False when any critical check failed.

    >>> result = check([Path("staged/sch-oakfield-systmone")], Path("report"))  # doctest: +SKIP
    """
    started = time.perf_counter()
    staged_paths, linked_paths = split_dirs(list(staged_dirs))
    if not staged_paths:
        raise QualityError(
            "no staged directory given", reason="no_staged_dirs",
            fix="pass at least one --out directory of `stairs-link adapt` (with a linked "
                "directory, pass the staged directories it was built from too)",
        )
    staged: list[Staged] = [load_staged(p) for p in staged_paths]
    for s in staged:
        prepare(s)

    from stairs_link.quality.gx_runner import GXRunner  # imports great_expectations

    runner = GXRunner()
    results: list[Outcome] = [o for s in staged for o in s.structure]
    # plain and pseudonymised directories are checked by their own suite variant; a run with
    # both validates each group on its own (uniqueness is then judged within each group)
    groups = {v: [s for s in staged if s.variant == v] for v in VARIANTS}
    groups = {v: members for v, members in groups.items() if members}
    suites = sum(1 for members in groups.values() for name in TABLES if any(name in s.tables for s in members))
    with progress.stage("check: suites", total=suites, unit="suites") as bar:
        for variant, members in groups.items():
            withheld = WITHHELD_PSEUDONYMISED if variant == PSEUDONYMISED else frozenset()
            for name in TABLES:
                parts = [(str(s.directory), s.tables[name]) for s in members if name in s.tables]
                if not parts:
                    continue
                # one validation per table over every directory (GX's cost is per expectation,
                # not per row), with the directory kept in _q_source for the per-directory breakdown
                original = _concat([t.frame.assign(_q_source=d) for d, t in parts])
                prepared = _concat([_prepared(t).assign(_q_source=d) for d, t in parts])
                results.extend(runner.validate(
                    name, load_suite(name, suites_dir, variant), prepared, original,
                    source=_group_source(members, several_groups=len(groups) > 1, variant=variant),
                    show_values=show_values, withheld=withheld,
                ))
                bar.advance()
    for s in staged:
        outcome = linking_fields_outcome(s, show_values=show_values)
        if outcome is not None:
            results.append(outcome)
        results.extend(distribution_outcomes(s))
    for linked in linked_paths:
        results.extend(linked_checks(linked, staged, show_values=show_values,
                                     max_cluster_size=max_cluster_size))

    result = CheckResult(results=results, out_dir=Path(out_dir),
                         sources=[str(p) for p in [*staged_paths, *linked_paths]])
    result.seconds = round(time.perf_counter() - started, 3)
    write_reports(result, Path(out_dir), show_values=show_values)
    return result


def _group_source(members: list[Staged], *, several_groups: bool, variant: str) -> str:
    """Outcome.source of a validation: the directory, or which group of directories."""
    if len(members) == 1:
        return str(members[0].directory)
    return f"{ALL_SOURCES} ({variant})" if several_groups else ALL_SOURCES


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # all-null columns in some directories
        return pd.concat(frames, ignore_index=True)


def write_reports(result: CheckResult, out_dir: Path, *, show_values: bool) -> None:
    """check.json (every check, machine-readable) and check.html (for people)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {**result.to_dict(), "show_values": show_values}
    (out_dir / "check.json").write_text(
        json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    (out_dir / "check.html").write_text(render_html(result, show_values=show_values), encoding="utf-8")


def _prepared(table: StagedTable) -> pd.DataFrame:
    """The table with its derived _q_ columns (load_staged always prepares it)."""
    if table.prepared is None:
        raise RuntimeError(f"staged table {table.name} was read without its derived columns")
    return table.prepared
