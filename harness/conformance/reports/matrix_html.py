"""The compatibility matrix as one self-contained HTML page (`reports/matrix.html`): inline style, no script."""

from __future__ import annotations

from html import escape
from pathlib import Path

from harness.conformance.reports.matrix import LEVELS, Cell, Matrix, Row
from harness.conformance.reports.matrix_markdown import CELL_SYMBOLS, LEGEND, REGENERATE, versions_of

FILE_NAME = "matrix.html"
CELL_COLORS: dict[Cell, str] = {
    Cell.PASS: "#d7f5dd",
    Cell.FAIL: "#f9d0d0",
    Cell.WARN: "#fbeec2",
    Cell.UNKNOWN: "#e6e6f5",
    Cell.SKIPPED: "#eeeeee",
    Cell.NOT_RUN: "#ffffff",
}
LEVEL_COLORS = {1: "#2e7d32", 2: "#b26a00", 3: "#c62828"}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 14px; }
th, td { border: 1px solid #bbb; padding: 4px 8px; text-align: center; }
th.rule { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }
td.agent, td.versions { text-align: left; }
td a { color: inherit; text-decoration: none; display: block; }
.level { color: white; border-radius: 3px; padding: 1px 6px; font-weight: bold; }
code { background: #f4f4f4; padding: 1px 4px; }
"""


def _cell(row: Row, rule_id: str) -> str:
    verdict = row.verdicts[rule_id]
    text = CELL_SYMBOLS[verdict.cell]
    if verdict.cell in (Cell.FAIL, Cell.WARN):
        text += f" {verdict.failing}/{verdict.judged}"
    title = escape(f"{rule_id}: {verdict.cell.value}")
    inner = text if verdict.cell is Cell.NOT_RUN else f'<a href="{escape(verdict.evidence)}">{text}</a>'
    return f'<td style="background:{CELL_COLORS[verdict.cell]}" title="{title}">{inner}</td>'


def render_matrix_html(matrix: Matrix) -> str:
    heads = "".join(f'<th class="rule">{escape(rule.id)} ({escape(rule.level)})</th>' for rule in matrix.rules)
    body = []
    for row in matrix.rows:
        level = (
            f'<span class="level" style="background:{LEVEL_COLORS[row.level]}">{row.level}</span> '
            f"{row.musts_passing}/{row.musts_decided} MUST"
        )
        cells = "".join(_cell(row, rule.id) for rule in matrix.rules)
        agent = f'<a href="{escape(row.directory)}/report.html">{escape(row.agent)}</a>'
        body.append(
            f'<tr><td class="agent">{agent}</td><td class="versions">{escape(versions_of(row))}</td>'
            f"<td>{level}</td>{cells}</tr>"
        )
    levels = "; ".join(f"<b>{level}</b>: {escape(text)}" for level, text in LEVELS.items())
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>bgr compatibility matrix</title>'
        f"<style>{STYLE}</style></head><body>\n<h1>bgr compatibility matrix</h1>\n"
        "<p>Each row is one published report, each column a rule of the contract, each cell that rule over every "
        "scenario of the run that checks it. A cell links to its evidence in the framework's report.</p>\n"
        f"<p>Levels, in the manner of the MCP SDK tiers: {levels}.</p>\n"
        f"<table><thead><tr><th>agent</th><th>versions</th><th>level</th>{heads}</tr></thead>\n"
        f"<tbody>{''.join(body)}</tbody></table>\n"
        f"<p>{escape(LEGEND)}</p>\n<p>Regenerate: <code>{escape(REGENERATE)}</code></p>\n</body></html>\n"
    )


def write_matrix_html(matrix: Matrix, directory: Path) -> Path:
    path = directory / FILE_NAME
    path.write_text(render_matrix_html(matrix), encoding="utf-8")
    return path
