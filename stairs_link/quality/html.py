"""check.html: a page a site data officer can read without knowing great-expectations.

Top: passed or not, in one sentence. Then one card per failed check (critical first): what
is wrong, which table and column, how many rows, a few examples (row numbers; values masked
unless --show-values) and what to do. Passed checks are listed, folded, at the end.
"""

from __future__ import annotations

from html import escape
from typing import Any

from stairs_link.quality.results import ALL_SOURCES, WARNING, CheckResult, Outcome

_CSS = """
body{font-family:system-ui,Segoe UI,Arial,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em} .verdict{font-size:1.2em;padding:.8em 1em;border-radius:6px}
.pass{background:#e6f4ea;border:1px solid #7bc48f} .fail{background:#fdecea;border:1px solid #e57373}
.card{border:1px solid #ccc;border-left:6px solid #999;border-radius:4px;padding:.6em 1em;margin:1em 0}
.card.critical{border-left-color:#c62828} .card.warning{border-left-color:#f9a825}
.tag{display:inline-block;font-size:.8em;padding:.1em .5em;border-radius:3px;color:#fff}
.tag.critical{background:#c62828} .tag.warning{background:#b07d00}
table{border-collapse:collapse;margin:.4em 0} td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left;font-size:.92em}
.muted{color:#666;font-size:.9em} code{background:#f3f3f3;padding:0 .2em}
"""


def _rows(outcome: Outcome) -> str:
    if outcome.unexpected_count is None:
        return ""
    text = f"{outcome.unexpected_count:,} {outcome.unit}"
    if outcome.element_count:
        text += f" of {outcome.element_count:,}"
    if outcome.unexpected_percent is not None:
        text += f" ({outcome.unexpected_percent:.1f}%)"
    return text


def _examples(outcome: Outcome) -> str:
    parts = []
    if outcome.unexpected_values:
        items = "".join(
            f"<tr><td><code>{escape(str(v['value']))}</code></td><td>{v['count']:,}</td></tr>"
            for v in outcome.unexpected_values
        )
        parts.append(f"<p>Values found:</p><table><tr><th>value</th><th>rows</th></tr>{items}</table>")
    if outcome.examples:
        columns = sorted({c for e in outcome.examples for c in e["values"]})
        where = ["directory"] if any("directory" in e for e in outcome.examples) else []
        head = "".join(f"<th>{escape(c)}</th>" for c in [*where, "file", "row", *columns])
        body = "".join(
            "<tr>" + "".join(
                f"<td>{escape(_text(v))}</td>"
                for v in [*[e.get(w) for w in where], e.get("source_file"), e.get("source_row"),
                          *[e["values"].get(c) for c in columns]]
            ) + "</tr>"
            for e in outcome.examples
        )
        parts.append(f"<p>Examples:</p><table><tr>{head}</tr>{body}</table>")
    return "".join(parts)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _card(outcome: Outcome) -> str:
    where = f"table <b>{escape(outcome.table)}</b>"
    if outcome.columns:
        where += ", column " + ", ".join(f"<b>{escape(c)}</b>" for c in outcome.columns)
    source = f"<div class='muted'>{escape(outcome.source)}</div>" if outcome.source else ""
    problem = (
        f"<p>The check could not run: {escape(outcome.error)}</p>" if outcome.error else
        f"<p><b>Affected:</b> {escape(_rows(outcome))}</p>" if _rows(outcome) else ""
    )
    if outcome.by_source and outcome.source not in outcome.by_source:  # several directories
        items = "".join(f"<li>{escape(d)}: {n:,}</li>" for d, n in outcome.by_source.items())
        problem += f"<p>Rows affected per staged directory:</p><ul>{items}</ul>"
    observed = ""
    if outcome.observed_value is not None and outcome.scope in ("structure", "linked"):
        observed = f"<p><b>Found:</b> {escape(str(outcome.observed_value))}</p>"
    return (
        f"<div class='card {escape(outcome.severity)}'>"
        f"<span class='tag {escape(outcome.severity)}'>{escape(outcome.severity)}</span> "
        f"<b>Expected: {escape(outcome.title)}</b> — {where}{source}"
        f"{problem}{observed}<p><b>Why it matters:</b> {escape(outcome.why)}</p>"
        f"{_examples(outcome)}<p><b>What to do:</b> {escape(outcome.fix)}</p></div>"
    )


def _summary(result: CheckResult) -> str:
    """One line per directory checked: how many critical problems and warnings it has."""
    rows = []
    # ALL_SOURCES, or in a run mixing plain and pseudonymised directories one group per variant
    groups = list(dict.fromkeys(o.source for o in result.results if o.source.startswith(ALL_SOURCES)))
    for source in [*result.sources, *groups]:
        mine = [o for o in result.results if o.source == source]
        critical = sum(o.blocking for o in mine)
        warned = sum(o.severity == WARNING and not o.success for o in mine)
        label = ("checks across all directories" + source.removeprefix(ALL_SOURCES)
                 if source.startswith(ALL_SOURCES) else source)
        rows.append(f"<tr><td>{escape(label)}</td><td>{critical}</td><td>{warned}</td></tr>")
    return ("<table><tr><th>checked</th><th>critical problems</th><th>warnings</th></tr>"
            + "".join(rows) + "</table>")


def render_html(result: CheckResult, *, show_values: bool) -> str:
    """The whole check report as one self-contained HTML page."""
    counts = result.counts()
    if result.passed:
        verdict = (f"<div class='verdict pass'>Passed: no critical problems. "
                   f"{counts['warnings']} warning(s) to look at.</div>")
    else:
        verdict = (f"<div class='verdict fail'>Not ready: {counts['critical_failed']} critical "
                   f"problem(s) must be fixed; {counts['warnings']} warning(s).</div>")
    privacy = ("Example values are shown in full (--show-values): this page contains personal "
               "data; handle it as such." if show_values else
               "Example values are masked (e.g. <code>94*******9</code>); rows are identified by "
               "export file and row number. Run with --show-values to see real values.")
    failures = "".join(_card(o) for o in result.failures) or "<p>Nothing failed.</p>"
    passed = "".join(
        f"<tr><td>{escape(o.severity)}</td><td>{escape(o.table)}</td>"
        f"<td>{escape(', '.join(o.columns))}</td><td>{escape(o.title)}</td>"
        f"<td class='muted'>{escape(o.source)}</td></tr>"
        for o in result.results if o.success
    )
    sources = _summary(result)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>stairs-link quality check</title><style>{_CSS}</style></head><body>"
        f"<h1>Quality check</h1>{verdict}"
        f"<p class='muted'>{counts['checks']} checks, {counts['passed']} passed. "
        f"{privacy}</p>{sources}"
        f"<h2>What needs attention</h2>{failures}"
        f"<h2>Checks that passed</h2><details><summary>{counts['passed']} checks</summary>"
        f"<table><tr><th>severity</th><th>table</th><th>columns</th><th>check</th><th>where</th></tr>"
        f"{passed}</table></details>"
        f"<p class='muted'>Critical problems make <code>stairs-link check</code> exit with code 1; "
        f"warnings never do. Every check, with its counts, is in check.json.</p>"
        "</body></html>\n"
    )
