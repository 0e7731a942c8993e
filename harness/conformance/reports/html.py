"""`report.html`: one self-contained page (inline CSS and SVG, no script) with the summary and pictures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from harness.conformance.history import utf8_size
from harness.conformance.reports.pictures import KIND_COLORS, Picture, pictures
from harness.conformance.reports.summary import (
    STATUS_SYMBOLS,
    SYMBOL_LEGEND,
    check_by_id,
    check_columns,
    counts_line,
    findings,
    scenario_outcome,
    scenarios_line,
    symbol,
    verdict,
)
from harness.conformance.results import RunResult, ScenarioResult

FILE_NAME = "report.html"
TEMPLATE = "report.html.j2"


@dataclass(frozen=True, slots=True)
class ScenarioView:
    result: ScenarioResult
    anchor: str
    outcome: str
    pictures: list[Picture]
    journal: list[tuple[float, dict[str, Any]]]
    """Journal entries with their seconds since the scenario's first request."""


def scenario_anchor(position: int, scenario: str) -> str:
    """The id of a scenario's section in report.html (the matrix links to it)."""
    return f"s{position}-" + re.sub(r"[^A-Za-z0-9_-]+", "-", scenario)


def _journal(result: ScenarioResult) -> list[tuple[float, dict[str, Any]]]:
    if result.history is None:
        return []
    entries = result.history.server.journal
    times = [entry["received_at"] for entry in entries if isinstance(entry.get("received_at"), int | float)]
    first = min(times, default=0.0)
    return [
        (entry["received_at"] - first if isinstance(entry.get("received_at"), int | float) else float("nan"), entry)
        for entry in entries
    ]


def _view(position: int, result: ScenarioResult) -> ScenarioView:
    drawn = pictures(result.history) if result.history is not None else []
    anchor = scenario_anchor(position, result.scenario)
    return ScenarioView(result, anchor, scenario_outcome(result), drawn, _journal(result))


def _token_size(token: str | None) -> str:
    return "null" if token is None else f"{utf8_size(token)} B"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    environment.filters["token_size"] = _token_size
    environment.filters["symbol"] = symbol
    return environment


def render_html(result: RunResult) -> str:
    # Read through importlib.resources so the template is found in an installed wheel as well as a checkout.
    source = resources.files("harness.conformance.reports").joinpath("templates", TEMPLATE).read_text(encoding="utf-8")
    views = [_view(position, scenario) for position, scenario in enumerate(result.scenarios)]
    anchors = {id(view.result): view.anchor for view in views}
    return (
        _environment()
        .from_string(source)
        .render(
            result=result,
            verdict=verdict(result),
            counts=result.counts(),
            counts_line=counts_line(result),
            scenarios_line=scenarios_line(result),
            columns=check_columns(result),
            views=views,
            checks_of=check_by_id,
            findings=[(anchors[id(scenario)], scenario, check) for scenario, check in findings(result)],
            status_symbols={status.value: sign for status, sign in STATUS_SYMBOLS.items()},
            symbol_legend=SYMBOL_LEGEND,
            kind_colors=KIND_COLORS,
        )
    )


def write_html(result: RunResult, directory: Path) -> Path:
    path = directory / FILE_NAME
    # An agent's lone surrogate (in a token or its text) must not stop the report.
    path.write_text(render_html(result), encoding="utf-8", errors="backslashreplace")
    return path
