"""The compatibility matrix as Markdown (`reports/matrix.md`): a renderer of `Matrix`, deciding nothing."""

from __future__ import annotations

from pathlib import Path

from harness.conformance.reports.matrix import LEVELS, Cell, Matrix, Row

FILE_NAME = "matrix.md"
CELL_SYMBOLS: dict[Cell, str] = {
    Cell.PASS: "✓",
    Cell.FAIL: "✗",
    Cell.WARN: "⚠",
    Cell.UNKNOWN: "?",
    Cell.SKIPPED: "○",
    Cell.NOT_RUN: "-",
}
LEGEND = (
    "✓ pass · ✗ fail (a MUST broken) · ⚠ warning (a SHOULD broken) · ? undecided · ○ skipped (the agent cannot) · "
    "- not run (no published scenario checks it). A failing cell reads failing/judged scenarios and links to the "
    "first one's evidence in the framework's report."
)
REGENERATE = "bgr matrix  # reads reports/*/results.json; rerun after publishing a report"


def versions_of(row: Row) -> str:
    return ", ".join(f"{name} {version}" for name, version in row.versions.items()) or "-"


def _cell(row: Row, rule_id: str) -> str:
    verdict = row.verdicts[rule_id]
    sign = CELL_SYMBOLS[verdict.cell]
    if verdict.cell in (Cell.FAIL, Cell.WARN):
        return f"[{sign} {verdict.failing}/{verdict.judged}]({verdict.evidence})"
    if verdict.cell is Cell.NOT_RUN:
        return sign
    return f"[{sign}]({verdict.summary})"


def render_matrix_markdown(matrix: Matrix) -> str:
    header = ["agent", "versions", "level", *(f"{rule.id} ({rule.level})" for rule in matrix.rules)]
    lines = [
        "# bgr compatibility matrix",
        "",
        "Each row is one published report (`reports/<folder>/`), each column a rule of the contract",
        "(`CONTRACT.md` section 1), each cell that rule over every scenario of the run that checks it.",
        "",
        "Levels, in the manner of the MCP SDK tiers: "
        + "; ".join(f"**{level}**: {text}" for level, text in LEVELS.items())
        + " (of the MUST rules the run decided; a scenario the harness could not run keeps a row off level 1).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in matrix.rows:
        agent = f"[{row.agent}]({row.directory}/summary.md)"
        level = f"{row.level} ({row.musts_passing}/{row.musts_decided} MUST)"
        cells = [_cell(row, rule.id) for rule in matrix.rules]
        lines.append("| " + " | ".join([agent, versions_of(row), level, *cells]) + " |")
    lines += ["", LEGEND, "", "Regenerate:", "", "```sh", REGENERATE, "```", ""]
    return "\n".join(lines)


def write_matrix_markdown(matrix: Matrix, directory: Path) -> Path:
    path = directory / FILE_NAME
    path.write_text(render_matrix_markdown(matrix), encoding="utf-8")
    return path
