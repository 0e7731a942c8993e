"""Reports: renderers of one RunResult. They decide nothing; every status and verdict is in the model."""

from __future__ import annotations

from pathlib import Path

from harness.conformance.reports.html import render_html, write_html
from harness.conformance.reports.json_report import render_json, write_json
from harness.conformance.reports.junit import render_junit, write_junit
from harness.conformance.reports.markdown import render_markdown, write_markdown
from harness.conformance.results import RunResult

__all__ = [
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "write_reports",
]


def write_reports(result: RunResult, directory: Path) -> dict[str, Path]:
    """Write results.json, junit.xml, summary.md and report.html; return their paths by format."""
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "json": write_json(result, directory),
        "junit": write_junit(result, directory),
        "markdown": write_markdown(result, directory),
        "html": write_html(result, directory),
    }
