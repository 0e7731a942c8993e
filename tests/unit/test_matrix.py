"""The compatibility matrix: cells, levels and both renderers, on fixture results; and the published page is current."""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from harness.conformance.agent_versions import agent_versions
from harness.conformance.baseline import load_baseline
from harness.conformance.reports.expected_failures import write_expected_failures
from harness.conformance.reports.matrix import Cell, load_matrix, row_of
from harness.conformance.reports.matrix_html import render_matrix_html
from harness.conformance.reports.matrix_markdown import render_matrix_markdown
from tests.paths import ROOT

MUSTS = ("null-means-done", "resume-exactly-once", "terminal-honesty")


def check(check_id: str, status: str, level: str = "MUST") -> dict[str, Any]:
    return {"id": check_id, "level": level, "status": status, "expected_failure": False}


def results(agent: str, scenarios: list[tuple[str, list[dict[str, Any]]]], *, error: str | None = None) -> dict:
    return {
        "agent": agent,
        "version": 1,
        "passed": all(c["status"] != "FAILURE" for _, checks in scenarios for c in checks) and error is None,
        "extra": {"versions": {agent: "1.0"}},
        "scenarios": [
            {"scenario": name, "checks": checks, "error": error if i == 0 else None}
            for i, (name, checks) in enumerate(scenarios)
        ],
    }


def publish(directory: Path, folder: str, data: dict) -> None:
    (directory / folder).mkdir()
    (directory / folder / "results.json").write_text(json.dumps(data), encoding="utf-8")


def test_a_cell_fails_when_any_scenario_fails_and_links_to_the_first_failure() -> None:
    row = row_of(
        "fw",
        results(
            "fw",
            [
                ("a", [check("null-means-done", "SUCCESS")]),
                ("b", [check("null-means-done", "FAILURE"), check("backoff", "WARNING", "SHOULD")]),
                ("c", [check("null-means-done", "FAILURE"), check("backoff", "SKIPPED", "SHOULD")]),
            ],
        ),
    )
    verdict = row.verdicts["null-means-done"]
    assert (verdict.cell, verdict.failing, verdict.judged) == (Cell.FAIL, 2, 3)
    assert verdict.evidence == "fw/report.html#s1-b"
    assert row.verdicts["backoff"].cell is Cell.WARN


@pytest.mark.parametrize(
    ("statuses", "cell"),
    [
        (["SUCCESS", "SKIPPED"], Cell.PASS),
        (["UNKNOWN", "SKIPPED"], Cell.UNKNOWN),
        (["SKIPPED", "SKIPPED"], Cell.SKIPPED),
        (["SUCCESS", "WARNING"], Cell.WARN),
    ],
)
def test_a_cell_sums_the_statuses_of_its_scenarios(statuses: list[str], cell: Cell) -> None:
    row = row_of("fw", results("fw", [(f"s{i}", [check("timeout", s, "SHOULD")]) for i, s in enumerate(statuses)]))
    assert row.verdicts["timeout"].cell is cell


def test_levels_every_must_most_or_few(tmp_path: Path) -> None:
    every = [(m, [check(m, "SUCCESS")]) for m in MUSTS] + [("w", [check("backoff", "WARNING", "SHOULD")])]
    most = [(m, [check(m, "FAILURE" if m == MUSTS[0] else "SUCCESS")]) for m in MUSTS]
    few = [(m, [check(m, "SUCCESS" if m == MUSTS[0] else "FAILURE")]) for m in MUSTS]
    for folder, scenarios in (("every", every), ("most", most), ("few", few)):
        publish(tmp_path, folder, results(folder, scenarios))
    publish(tmp_path, "errored", results("errored", every, error="TargetError: no mock"))
    matrix = load_matrix(tmp_path)
    assert {row.directory: row.level for row in matrix.rows} == {"every": 1, "most": 2, "few": 3, "errored": 2}


def test_rules_not_checked_by_a_run_are_not_run_and_musts_come_first(tmp_path: Path) -> None:
    publish(tmp_path, "fw", results("fw", [("a", [check("backoff", "SUCCESS", "SHOULD")])]))
    publish(tmp_path, "openai", results("openai", [("a", [check("terminal-honesty", "SUCCESS")])]))
    matrix = load_matrix(tmp_path)
    assert [row.agent for row in matrix.rows] == ["openai", "fw"], "the reference agent's row first"
    levels = [rule.level for rule in matrix.rules]
    assert levels == sorted(levels, key=lambda level: level != "MUST")
    assert matrix.rows[1].verdicts["terminal-honesty"].cell is Cell.NOT_RUN


def test_a_results_file_of_another_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        row_of("fw", {**results("fw", []), "version": 9})


def test_both_renderers_link_every_failure_and_the_html_is_self_contained(tmp_path: Path) -> None:
    publish(tmp_path, "fw", results("fw", [("cut-mid-delta", [check("resume-exactly-once", "FAILURE")])]))
    matrix = load_matrix(tmp_path)
    markdown, html = render_matrix_markdown(matrix), render_matrix_html(matrix)
    assert "[✗ 1/1](fw/report.html#s0-cut-mid-delta)" in markdown
    assert "fw 1.0" in markdown
    assert 'href="fw/report.html#s0-cut-mid-delta"' in html
    assert "<script" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "no external assets"


def test_the_published_matrix_is_what_bgr_matrix_renders_from_the_published_results() -> None:
    matrix = load_matrix(ROOT / "reports")
    assert (ROOT / "reports" / "matrix.md").read_text(encoding="utf-8") == render_matrix_markdown(matrix)
    assert (ROOT / "reports" / "matrix.html").read_text(encoding="utf-8") == render_matrix_html(matrix)


def test_the_expected_failures_of_a_run_are_its_must_failures_as_baseline_lines(tmp_path: Path) -> None:
    data = results(
        "fw",
        [
            ("cut-mid-delta", [check("resume-exactly-once", "FAILURE"), check("null-means-done", "SUCCESS")]),
            ("self-poll-backoff", [check("backoff", "WARNING", "SHOULD")]),
            ("failed-ending", [check("terminal-honesty", "FAILURE")]),
        ],
    )
    data["seed"] = 0
    path = write_expected_failures(data, tmp_path)
    entries = load_baseline(path, {"cut-mid-delta", "self-poll-backoff", "failed-ending"})
    assert entries == {"cut-mid-delta:resume-exactly-once", "failed-ending:terminal-honesty"}
    assert path.read_text().startswith("# bgr expected failures of fw (fw 1.0)")


def test_a_run_records_the_versions_of_the_agents_packages_and_none_for_unknown_agents() -> None:
    assert agent_versions("pydantic-ai") == {
        "pydantic-ai-slim": metadata.version("pydantic-ai-slim"),
        "openai": metadata.version("openai"),
    }
    assert agent_versions("cmd:node my-driver.js") == {}
