"""`bgr fuzz` tested like the suites are: the reference agent holds the property, each broken agent is caught,
its failure shrinks to a small scenario, and the scenario file replays the failure through the normal runner."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import seed as hypothesis_seed
from openai import OpenAI

from harness.commands.fuzz import fuzz_command
from harness.conformance.adapters.openai_agent import OpenAIAgent
from harness.conformance.results import Status
from harness.conformance.runner import MODEL, RunSettings, run
from harness.conformance.scenarios import load_conformance_scenario, parse_conformance_scenario, script_of
from harness.conformance.tool import WEATHER
from harness.fuzz.session import FuzzResult, fuzz, resumption_property, scenario_text
from harness.fuzz.strategies import (
    CREATED_FRAME_MAX_BYTES,
    FUZZ_CHECKS,
    STREAM_EVENTS,
    created_frame_bytes,
    fuzz_scenario,
    scenario_data,
    scenario_id,
)
from tests import broken_agents
from tests.raw_http import send

BROKEN = [broken_agents.OffByOneCursor, broken_agents.DropsLastDelta, broken_agents.ResumesFromFirstToken]


async def fuzz_agent(factory, report_dir: Path | None, examples: int, seed: int = 0) -> FuzzResult:
    return await fuzz(RunSettings(factory.name, seed), examples, seed, report_dir, factory, echo=None)


def failing_ids(result) -> set[str]:
    return {check.id for check in result.checks if check.status is Status.FAILURE}


@hypothesis_seed(0)
@settings(max_examples=200, database=None)
@given(scenario_data(stale_resumes=True))
def test_every_drawn_scenario_decodes_and_can_finish(data) -> None:
    scenario = parse_conformance_scenario(scenario_text(data), "<drawn>")
    script = script_of(scenario)
    assert scenario.suite == "fuzz" and script.checks == FUZZ_CHECKS
    assert data["id"] == scenario_id(data)
    assert script.steps[0].kind == "start" and script.steps[0].params["stream"] is True
    # Every rule that can end a stream early is outlasted by unlimited stream calls.
    endings = sum(
        rule["times"]
        for rule in data["rules"]
        if rule["faults"][0]["type"] != "slice_writes" and rule["faults"][0].get("close_after", True)
    )
    unlimited = sum("max_updates" not in step.params for step in script.steps if step.kind in ("start", "resume"))
    assert unlimited >= endings + 1
    for rule in data["rules"]:
        fault = rule["faults"][0]
        if rule.get("match") != {"method": "GET"}:  # may hit the create: `response.created` gets through
            assert fault.get("events", 1) >= 1 and fault.get("after_events", 1) >= 1
            assert fault.get("bytes", CREATED_FRAME_MAX_BYTES) >= CREATED_FRAME_MAX_BYTES


def test_the_created_frame_bound_is_measured_from_the_mocks_own_frame(start_mock) -> None:
    """A drop drawn on the create at the bound still lets the whole `response.created` frame through."""
    mock = start_mock()
    body = {"model": MODEL, "input": "Created.", "background": True, "stream": True, "tools": [WEATHER]}
    whole = send("POST", f"{mock.base_url}/responses", json_body=body).body
    assert len(whole[: whole.index(b"\n\n") + 2]) == created_frame_bytes()
    header = json.dumps([{"type": "drop_after_bytes", "bytes": CREATED_FRAME_MAX_BYTES}])
    with OpenAI(base_url=mock.base_url, api_key="test-key", max_retries=0) as client:
        received = []
        with pytest.raises(openai.APIConnectionError):
            for event in client.responses.create(**body, extra_headers={"X-Bgr-Faults": header}):
                received.append(event)
    assert received and received[0].type == "response.created"


def test_a_plan_without_cuts_or_faults_is_one_unlimited_stream() -> None:
    data = fuzz_scenario(None, [], [])
    assert data["script"] == [{"start": {"stream": True}}]
    assert data["rules"] == []
    assert fuzz_scenario(6, [], [])["script"] == [{"start": {"stream": True, "max_updates": 6}}, {"resume": {}}]
    assert STREAM_EVENTS == 57


async def test_the_reference_agent_holds_the_property(tmp_path: Path) -> None:
    result = await fuzz_agent(OpenAIAgent, tmp_path, examples=25, seed=7)
    assert result.passed, result.explain()
    assert result.calls >= 25 and result.runs >= 20
    assert result.first_failure_at is None
    assert (tmp_path / "hypothesis-db").is_dir()
    assert not list(tmp_path.glob("fuzz-minimal-*.yaml"))


async def test_no_drop_drawn_on_the_create_cuts_its_created_frame(tmp_path: Path) -> None:
    # Seed 3 draws a create drop between 700 bytes (the old bound) and the ~844-byte frame: a false counterexample.
    result = await fuzz_agent(OpenAIAgent, tmp_path, examples=15, seed=3)
    assert result.passed, result.explain()


@pytest.mark.parametrize("agent", BROKEN, ids=lambda agent: agent.name)
async def test_a_broken_agent_is_caught_and_its_failure_shrinks_to_a_replayable_file(agent, tmp_path: Path) -> None:
    result = await fuzz_agent(agent, tmp_path, examples=60)
    assert not result.passed
    assert result.first_failure_at is not None and result.first_failure_at <= 60
    minimal = result.minimal
    assert minimal is not None and minimal.check == "resume-exactly-once"
    assert len(minimal.data["script"]) <= 4 and len(minimal.data["rules"]) <= 1, minimal.yaml
    assert minimal.path == tmp_path / "fuzz-minimal-resume-exactly-once.yaml"
    assert f"--scenario {minimal.path}" in minimal.replay and minimal.result.reproduce == minimal.replay
    assert minimal.reproduced
    # Replayed from the file, as `bgr run --scenario FILE` does: the same check fails.
    assert yaml.safe_load(minimal.path.read_text())["version"] == 1
    scenario = load_conformance_scenario(minimal.path)
    assert scenario.id == minimal.data["id"]
    replayed = await run(RunSettings(agent.name, 0), [scenario], adapter_factory=agent)
    assert minimal.check in failing_ids(replayed.scenarios[0])
    assert (tmp_path / "hypothesis-db").is_dir()
    assert (tmp_path / "report.html").is_file() and (tmp_path / "results.json").is_file()


async def test_a_second_session_starts_from_the_failure_in_the_database(tmp_path: Path) -> None:
    agent = broken_agents.OffByOneCursor
    first = await fuzz_agent(agent, tmp_path, examples=60, seed=1)
    again = await fuzz_agent(agent, tmp_path, examples=60, seed=2)
    assert first.minimal is not None and again.minimal is not None
    assert again.first_failure_at == 1
    assert again.minimal.data["id"] == first.minimal.data["id"]
    assert again.minimal.data["script"] == first.minimal.data["script"]


def test_the_pytest_entry_point_passes_for_the_reference_and_fails_with_the_replay(tmp_path: Path) -> None:
    resumption_property("openai", examples=5, report_dir=tmp_path / "ok")()
    test = resumption_property(
        "broken", adapter_factory=broken_agents.OffByOneCursor, examples=30, report_dir=tmp_path / "bad"
    )
    with pytest.raises(AssertionError, match="replay: bgr run --agent broken --scenario"):
        test()


def test_the_command_exits_1_with_the_minimal_scenario_and_its_replay(tmp_path: Path) -> None:
    agent = "py:tests.broken_agents:OffByOneCursor"
    outcome = CliRunner().invoke(
        fuzz_command, ["--agent", agent, "--examples", "30", "--seed", "0", "--report", str(tmp_path)]
    )
    assert outcome.exit_code == 1, outcome.output
    path = tmp_path / "fuzz-minimal-resume-exactly-once.yaml"
    assert path.is_file()
    assert f"replay: bgr run --agent {agent} --scenario {path} --seed 0" in outcome.output
    assert "max_updates" in outcome.output and "resume-exactly-once" in outcome.output
    assert "Traceback" not in outcome.output


@pytest.mark.parametrize(
    "arguments",
    [["--agent", "nope"], ["--agent", "openai", "--examples", "0"], ["--examples", "3"]],
    ids=["unknown agent", "no examples", "no agent"],
)
def test_usage_errors_exit_2_in_one_line(arguments: list[str]) -> None:
    outcome = CliRunner().invoke(fuzz_command, arguments)
    assert outcome.exit_code == 2
    assert "Traceback" not in outcome.output
