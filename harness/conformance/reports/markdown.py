"""`summary.md`: the verdict, a table of scenarios by checks, and a section per finding to act on."""

from __future__ import annotations

import re
from pathlib import Path

from harness.conformance.reports.summary import (
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
from harness.conformance.results import CheckResult, RunResult, ScenarioResult

FILE_NAME = "summary.md"


def _inline(text: str) -> str:
    """Prose from the model, shown as written: no HTML, no accidental emphasis or table breaks."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # Underscores stay: GitHub never reads them as emphasis inside words such as resp_abc.
    text = re.sub(r"([\\`*|\[\]])", r"\\\1", text)
    return " ".join(text.splitlines())


def _code(text: str) -> str:
    """An inline code span that survives backticks in the text."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def _block(text: str, language: str = "") -> list[str]:
    """A fenced code block longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return [f"{fence}{language}", text, fence]


def _header(result: RunResult) -> list[str]:
    rows = [
        ("agent", _code(result.agent)),
        ("seed", str(result.seed)),
        ("time scale", f"{result.time_scale:g}"),
        ("started", result.started_at),
        ("verdict", f"**{verdict(result)}**"),
        ("checks", counts_line(result)),
        ("scenarios", scenarios_line(result)),
    ]
    return [
        f"# bgr conformance report: {verdict(result)}",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
    ]


def _stale(result: RunResult) -> list[str]:
    if not result.stale_expected_failures:
        return []
    return [
        "## Stale expected failures",
        "",
        "These baseline entries did not fail in this run, which fails the run: remove them from the baseline.",
        "",
        *(f"- {_code(entry)}" for entry in result.stale_expected_failures),
        "",
    ]


def _table(result: RunResult) -> list[str]:
    columns = check_columns(result)
    lines = [
        "## Scenarios by checks",
        "",
        "| scenario | suite | result | " + " | ".join(columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for scenario in result.scenarios:
        checks = check_by_id(scenario)
        cells = [symbol(checks[column]) if column in checks else "" for column in columns]
        lines.append(
            f"| {_inline(scenario.scenario)} | {_inline(scenario.suite)} | {scenario_outcome(scenario)} | "
            + " | ".join(cells)
            + " |"
        )
    lines += ["", SYMBOL_LEGEND, ""]
    return lines


def _finding(scenario: ScenarioResult, check: CheckResult) -> list[str]:
    title = f"### {symbol(check)} {_inline(scenario.scenario)} · {check.id} ({check.level}, {check.status})"
    lines = [title, ""]
    if check.expected_failure:
        lines += ["*Expected failure: listed in the baseline, does not fail the run.*", ""]
    lines += [
        f"> {_inline(check.rule)}",
        "",
        f"- **expected:** {_inline(check.expected)}",
        f"- **measured:** {_inline(check.measured)}",
    ]
    if check.details:
        lines.append(f"- **details:** {_inline(check.details)}")
    lines.append("")
    if check.evidence:
        lines += ["Evidence:", "", *_block("\n".join(check.evidence)), ""]
    lines += ["Reproduce:", "", *_block(scenario.reproduce, "sh"), ""]
    return lines


def _findings(result: RunResult) -> list[str]:
    found = findings(result)
    if not found:
        return []
    lines = ["## Findings", ""]
    for scenario, check in found:
        lines += _finding(scenario, check)
    return lines


def _errors(result: RunResult) -> list[str]:
    errored = [scenario for scenario in result.scenarios if scenario.error is not None]
    if not errored:
        return []
    lines = ["## Harness errors", "", "The harness could not run these scenarios; nothing was judged.", ""]
    for scenario in errored:
        lines += [
            f"### {_inline(scenario.scenario)}",
            "",
            *_block(scenario.error or ""),
            "",
            "Reproduce:",
            "",
            *_block(scenario.reproduce, "sh"),
            "",
        ]
    return lines


def render_markdown(result: RunResult) -> str:
    lines = _header(result) + _stale(result) + _table(result) + _findings(result) + _errors(result)
    return "\n".join(lines).rstrip("\n") + "\n"


def write_markdown(result: RunResult, directory: Path) -> Path:
    path = directory / FILE_NAME
    # An agent's lone surrogate (in a token or its text) must not stop the report.
    path.write_text(render_markdown(result), encoding="utf-8", errors="backslashreplace")
    return path
