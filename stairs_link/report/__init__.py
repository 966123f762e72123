"""Evaluator report: one self-contained, disclosure-controlled HTML file from a dataset."""

from __future__ import annotations

from stairs_link.report.render import Disclosure, render_report, suppressed_values

__all__ = ["Disclosure", "render_report", "suppressed_values"]
