"""Each real framework's adapter through the harness: what it does still matches its published report.

The smoke tests (every push) run each adapter through one scenario that streams, is cut and resumes,
and one whose streamed tool call is cut inside its arguments (the framework's tool loop, or the one its
users write, must run the harness's tool once);
the `matrix` tests (`pytest -m matrix`) run every suite, and the litellm proxy, whose start takes
seconds and whose dependencies are not in the `test` extra. Either way a verdict that differs from
the published `reports/<folder>/results.json` fails: the matrix must be regenerated (`bgr run ...
--report`, then `bgr matrix`) when a framework's behaviour changes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.conformance.adapters.openai_node import NODE_AGENT_DIR
from harness.conformance.baseline import load_baseline
from harness.conformance.history import History
from harness.conformance.reports.expected_failures import FILE_NAME
from harness.conformance.results import RunResult
from harness.conformance.runner import RunSettings, run
from harness.conformance.scenarios import discover
from tests.node_packages import ensure_node_packages
from tests.paths import ROOT

SCENARIOS = {str(scenario.id): scenario for scenario in discover()}
SMOKE_SCENARIO = "stream-cut-and-resume"
TOOL_SCENARIO = "tool-call-cut-in-arguments"
FRAMEWORKS = {"pydantic-ai": "pydantic-ai", "litellm": "litellm", "openai-node": "openai-node"}
"""`--agent` name -> folder of its published report."""
PROXY = {"litellm-proxy": "litellm-proxy"}
YARDSTICKS = {"openai": "openai", "agent-framework": "agent-framework-python"}


def published(folder: str) -> dict[str, Any]:
    return json.loads((ROOT / "reports" / folder / "results.json").read_text(encoding="utf-8"))


def verdicts(scenarios: list[dict[str, Any]]) -> dict[str, str]:
    return {f"{s['scenario']}:{c['id']}": c["status"] for s in scenarios for c in s["checks"]}


def baseline(folder: str) -> frozenset[str]:
    """The folder's published expected failures (`bgr matrix` writes one for each failing report)."""
    path = ROOT / "reports" / folder / FILE_NAME
    return load_baseline(path, set(SCENARIOS)) if path.exists() else frozenset()


async def run_as_published(agent: str, folder: str, scenario_ids: list[str]) -> tuple[RunResult, dict[str, Any]]:
    """The run the report was made from, with the report's baseline: it passes exactly when nothing changed."""
    report = published(folder)
    settings = RunSettings(
        agent=agent, seed=report["seed"], time_scale=report["time_scale"], expected_failures=baseline(folder)
    )
    return await run(settings, [SCENARIOS[i] for i in scenario_ids]), report


def compare(result: RunResult, report: dict[str, Any], scenario_ids: list[str]) -> None:
    assert [s.error for s in result.scenarios if s.error] == []
    measured = verdicts(result.as_dict()["scenarios"])
    expected = verdicts([s for s in report["scenarios"] if s["scenario"] in scenario_ids])
    assert measured == expected
    assert result.passed, "with the published expected failures, as in a framework's CI"


async def smoke(agent: str, folder: str, scenario_id: str) -> tuple[RunResult, History]:
    """One scenario through the framework, with the verdicts its report publishes."""
    if agent == "openai-node":
        ensure_node_packages(NODE_AGENT_DIR)
    result, report = await run_as_published(agent, folder, [scenario_id])
    compare(result, report, [scenario_id])
    (scenario,) = result.scenarios
    assert scenario.history is not None
    return result, scenario.history


@pytest.mark.parametrize(("agent", "folder"), FRAMEWORKS.items())
async def test_each_framework_streams_is_cut_and_resumes_as_its_report_says(agent: str, folder: str) -> None:
    result, history = await smoke(agent, folder, SMOKE_SCENARIO)
    assert [call.step for call in history.calls] == ["start", "resume"]
    assert result.extra["versions"], "the run records which versions it judged"


@pytest.mark.parametrize(("agent", "folder"), FRAMEWORKS.items())
async def test_each_framework_runs_the_harness_tool_once_across_a_cut_as_its_report_says(
    agent: str, folder: str
) -> None:
    result, history = await smoke(agent, folder, TOOL_SCENARIO)
    assert [(run.name, run.arguments) for run in history.tool_executions] == [("get_weather", '{"city":"Paris"}')]
    assert {check.id: check.status.value for check in result.scenarios[0].checks}["tool-call-once"] == "SUCCESS"


@pytest.mark.matrix
@pytest.mark.parametrize(("agent", "folder"), {**YARDSTICKS, **FRAMEWORKS, **PROXY}.items())
async def test_every_suite_gives_the_published_verdicts(agent: str, folder: str) -> None:
    if agent == "litellm-proxy":
        pytest.importorskip("fastapi", reason="the litellm proxy needs pip install -e '.[litellm-proxy]'")
    ids = [s["scenario"] for s in published(folder)["scenarios"]]
    result, report = await run_as_published(agent, folder, ids)
    compare(result, report, ids)
