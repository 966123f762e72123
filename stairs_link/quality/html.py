"""check.html: a page a site data officer can read without knowing great-expectations.

Top: passed or not, in one sentence. Then one card per failed check (critical first): what
is wrong, which table and column, how many rows, a few examples (row numbers; values masked
unless --show-values) and what to do. Passed checks are listed, folded, at the end.
"""

from __future__ import annotations

from typing import Any

from stairs_link.quality.results import ALL_SOURCES, WARNING, CheckResult, Outcome
from stairs_link.templating import render

# The page's wording and layout are in stairs_link/templates/check.html (styles: check.css);
# this module only works out what goes on it.


def _rows(outcome: Outcome) -> str:
    if outcome.unexpected_count is None:
        return ""
    text = f"{outcome.unexpected_count:,} {outcome.unit}"
    if outcome.element_count:
        text += f" of {outcome.element_count:,}"
    if outcome.unexpected_percent is not None:
        text += f" ({outcome.unexpected_percent:.1f}%)"
    return text


def _examples(outcome: Outcome) -> dict[str, list] | None:
    """Header and rows of the examples table (values as text), or None without examples."""
    if not outcome.examples:
        return None
    columns = sorted({c for e in outcome.examples for c in e["values"]})
    where = ["directory"] if any("directory" in e for e in outcome.examples) else []
    rows = [[_text(v) for v in [*[e.get(w) for w in where], e.get("source_file"), e.get("source_row"),
                                *[e["values"].get(c) for c in columns]]]
            for e in outcome.examples]
    return {"head": [*where, "file", "row", *columns], "rows": rows}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _card(outcome: Outcome) -> dict[str, Any]:
    """What one failed check's card shows."""
    several = bool(outcome.by_source) and outcome.source not in outcome.by_source  # several directories
    return {
        "severity": outcome.severity, "title": outcome.title, "table": outcome.table,
        "columns": list(outcome.columns), "source": outcome.source, "error": outcome.error,
        "affected": _rows(outcome),
        "per_source": list(outcome.by_source.items()) if several else [],
        "observed": str(outcome.observed_value)
        if outcome.observed_value is not None and outcome.scope in ("structure", "linked") else None,
        "why": outcome.why, "fix": outcome.fix,
        "found_values": [{"value": str(v["value"]), "count": v["count"]} for v in outcome.unexpected_values],
        "examples": _examples(outcome),
    }


def _summary(result: CheckResult) -> list[dict[str, Any]]:
    """One row per directory checked: how many critical problems and warnings it has."""
    rows = []
    # ALL_SOURCES, or in a run mixing plain and pseudonymised directories one group per variant
    groups = list(dict.fromkeys(o.source for o in result.results if o.source.startswith(ALL_SOURCES)))
    for source in [*result.sources, *groups]:
        mine = [o for o in result.results if o.source == source]
        critical = sum(o.blocking for o in mine)
        warned = sum(o.severity == WARNING and not o.success for o in mine)
        label = ("checks across all directories" + source.removeprefix(ALL_SOURCES)
                 if source.startswith(ALL_SOURCES) else source)
        rows.append({"label": label, "critical": critical, "warnings": warned})
    return rows


def render_html(result: CheckResult, *, show_values: bool) -> str:
    """The whole check report as one self-contained HTML page."""
    return render("check.html", title="stairs-link quality check", passed=result.passed,
                  counts=result.counts(), show_values=show_values, summary=_summary(result),
                  cards=[_card(o) for o in result.failures],
                  passed_checks=[o for o in result.results if o.success])
