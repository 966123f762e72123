"""Check results: one :class:`Outcome` per expectation run, gathered in a :class:`CheckResult`.

GX expectations, the structure checks done on the Parquet schema, the checks across staged
directories and the checks after linkage all report in this one format, so check.json and
check.html treat them alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CRITICAL = "critical"
WARNING = "warning"

#: ``Outcome.source`` of a check run over several staged directories at once.
ALL_SOURCES = "all staged directories"

# person problems first: they often explain the event-table ones
_TABLE_ORDER = ("person", "episode", "formulation", "incident", "education", "measure", "rejects",
                "clusters")


@dataclass
class Outcome:
    """The result of one check on one table of one staged (or linked) directory."""

    check_id: str
    scope: str  # "structure" | "table" | "linked"
    source: str  # staged/linked directory the check ran on, or ALL_SOURCES
    table: str
    expectation_type: str
    columns: list[str]
    severity: str
    success: bool
    title: str
    why: str = ""
    fix: str = ""
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed_value: Any = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)
    unexpected_values: list[dict[str, Any]] = field(default_factory=list)  # coded columns only
    by_source: dict[str, int] = field(default_factory=dict)  # unexpected rows per directory
    unit: str = "rows"  # what element_count / unexpected_count count ("children" for linked)
    error: str | None = None  # the check could not run (e.g. GX raised); counts as a failure

    @property
    def blocking(self) -> bool:
        """A failed critical check makes the whole check fail (exit code 1)."""
        return self.severity == CRITICAL and not self.success

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckResult:
    """Everything `stairs-link check` found; ``passed`` is False when a critical check failed."""

    results: list[Outcome]
    out_dir: Path | None = None
    sources: list[str] = field(default_factory=list)
    seconds: float | None = None

    @property
    def passed(self) -> bool:
        return not any(o.blocking for o in self.results)

    @property
    def failures(self) -> list[Outcome]:
        """Failed checks, critical first."""
        failed = [o for o in self.results if not o.success]
        order = {t: i for i, t in enumerate(_TABLE_ORDER)}
        return sorted(failed, key=lambda o: (o.severity != CRITICAL, order.get(o.table, len(order)),
                                             o.source, o.check_id))

    def counts(self) -> dict[str, int]:
        return {
            "checks": len(self.results),
            "passed": sum(o.success for o in self.results),
            "critical_failed": sum(o.blocking for o in self.results),
            "warnings": sum(o.severity == WARNING and not o.success for o in self.results),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "counts": self.counts(),
            "sources": self.sources,
            "seconds": self.seconds,
            "results": [o.to_dict() for o in self.results],
        }
