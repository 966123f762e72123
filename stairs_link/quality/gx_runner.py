"""Run the expectation suites with great-expectations, offline and quietly.

One ephemeral, in-memory GX context per run (GX is slow to start; tables reuse the same
pandas asset). great_expectations is imported here only, inside :class:`GXRunner`, so the
CLI and the rest of stairs_link never pay its ~2 s import.

Offline: GX 1.24 no longer ships its analytics client (the posthog events of 0.18 are gone;
``GX_ANALYTICS_ENABLED`` and ``analytics_enabled`` remain as switches and are both set to
False here in case a later 1.x brings them back), and its PyPI version checker
(``great_expectations.data_context._version_checker``) is not called by the ephemeral context.
A test runs the checks with ``socket.connect`` blocked to hold us to that.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import pandas as pd

from stairs_link.quality.examples import MAX_EXAMPLES, example_rows
from stairs_link.quality.results import Outcome
from stairs_link.schema.codes import CODE_LISTS
from stairs_link.schema.tables import TABLES

# SUMMARY gives counts and the first few failing row indexes (the examples). With several
# directories COMPLETE is needed for the full index list (per-directory counts); it costs time
# and memory on large failing columns, so it is used only then. The unexpected values GX also
# returns stay in memory and are never written out.
SUMMARY = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES}
COMPLETE = {"result_format": "COMPLETE", "partial_unexpected_count": MAX_EXAMPLES,
            "return_unexpected_index_query": False}


def _quiet_offline_environment() -> None:
    """Switch off GX analytics and progress output before great_expectations is imported."""
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    logging.getLogger("great_expectations").setLevel(logging.ERROR)


class GXRunner:
    """Validates pandas frames against GX 1.x suite JSON through one ephemeral context."""

    def __init__(self) -> None:
        _quiet_offline_environment()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import great_expectations as gx
            from great_expectations.core.expectation_suite import ExpectationSuite
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            config = DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(),
                analytics_enabled=False,
                progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            )
            self.context = gx.get_context(mode="ephemeral", project_config=config)
            asset = self.context.data_sources.add_pandas("stairs_link").add_dataframe_asset("staged")
            self._batch_definition = asset.add_batch_definition_whole_dataframe("whole_table")
        self._suite_class = ExpectationSuite
        self._suites: dict[str, Any] = {}

    def _suite(self, suite_json: dict[str, Any]) -> Any:
        name = str(suite_json.get("name"))  # one per table and variant
        if name not in self._suites:
            self._suites[name] = self._suite_class(**suite_json)
        return self._suites[name]

    def validate(
        self, table: str, suite_json: dict[str, Any], prepared: pd.DataFrame, original: pd.DataFrame,
        *, source: str, show_values: bool, withheld: frozenset[str] = frozenset(),
    ) -> list[Outcome]:
        """Run the suite on ``prepared``; examples are taken from ``original`` (same index),
        never showing the values of the ``withheld`` columns."""
        several = "_q_source" in prepared and prepared["_q_source"].nunique() > 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # a fresh copy has consolidated blocks; GX filters the frame once per metric, and
            # an unconsolidated frame (many added columns) is re-consolidated every time
            batch = self._batch_definition.get_batch(batch_parameters={"dataframe": prepared.copy()})
            validation = batch.validate(self._suite(suite_json),
                                        result_format=COMPLETE if several else SUMMARY)
        # read the result objects directly: to_json_dict() deep-copies every unexpected list
        by_id = {
            result.expectation_config.meta["check_id"]: {
                "success": result.success, "result": result.result or {},
                "exception_info": result.exception_info or {},
            }
            for result in validation.results
        }
        # keep the suite's order (GX reorders results by metric dependencies)
        return [
            _outcome(table, exp, by_id[exp["meta"]["check_id"]], original, source=source,
                     show_values=show_values, withheld=withheld)
            for exp in suite_json["expectations"]
        ]


def _error(data: dict[str, Any]) -> str | None:
    info = data.get("exception_info") or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():  # GX 1.x keys exceptions by metric id
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _outcome(
    table: str, expectation: dict[str, Any], data: dict[str, Any], original: pd.DataFrame,
    *, source: str, show_values: bool, withheld: frozenset[str] = frozenset(),
) -> Outcome:
    meta = expectation["meta"]
    result = data.get("result") or {}
    error = _error(data)
    success = bool(data.get("success")) and error is None
    outcome = Outcome(
        check_id=meta["check_id"], scope="table", source=source, table=table,
        expectation_type=expectation["type"], columns=list(meta["columns"]),
        severity=meta["severity"], success=success, title=meta["title"], why=meta["why"],
        fix=meta["fix"], element_count=result.get("element_count"),
        unexpected_count=result.get("unexpected_count"),
        unexpected_percent=result.get("unexpected_percent"),
        observed_value=_jsonable(result.get("observed_value")),
        kwargs=_jsonable(expectation["kwargs"]), error=error,
    )
    if not success and error is None:
        index = [int(i) for i in result.get("partial_unexpected_index_list") or []]
        outcome.examples = example_rows(original, index, outcome.columns, show_values=show_values,
                                        withheld=withheld)
        every = result.get("unexpected_index_list")
        if every is not None and "_q_source" in original:
            counts = original["_q_source"].iloc[[int(i) for i in every]].value_counts()
            outcome.by_source = {str(k): int(v) for k, v in counts.sort_index().items()}
        if meta["category"] == "validity" and expectation["type"] == "expect_column_values_to_be_in_set":
            outcome.unexpected_values = _code_counts(table, meta["columns"], original)
    return outcome


def _code_counts(table: str, columns: list[str], frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Every out-of-list value of a coded column with its count (codes identify nobody)."""
    coded = {c.name: c.codes for c in TABLES[table] if c.codes}
    if len(columns) != 1 or columns[0] not in coded:
        return []
    values = frame[columns[0]]
    bad = values[values.notna() & ~values.isin(list(CODE_LISTS[coded[columns[0]]]))]
    counts = bad.astype(str).value_counts()
    return [{"value": str(k), "count": int(v)} for k, v in counts.head(20).items()]


def _jsonable(value: Any) -> Any:
    """GX results hold numpy scalars and the like; make them plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
