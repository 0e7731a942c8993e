"""`bgr run` and `bgr fuzz` over a recorded session: the suites' faults fall on the recorded answer, the
reference agent still passes, a broken agent is caught and its case shrinks to a replay that names the cassette."""

from __future__ import annotations

from click.testing import CliRunner

from harness.commands.run import run_command
from harness.conformance.adapters.openai_agent import OpenAIAgent
from harness.conformance.results import Status
from harness.conformance.runner import RunSettings, run
from harness.conformance.scenarios import discover
from harness.fuzz.session import fuzz
from tests import broken_agents, cassettes

SCENARIOS = {scenario.id: scenario for scenario in discover()}
CUTS = ["stream-cut-and-resume", "cut-mid-delta", "backend-drops-connection", "resume-twice", "failed-stream"]


def _recorded_creates(result) -> list[list[str]]:
    return [
        entry["notes"]
        for scenario in result.scenarios
        for entry in scenario.history.server.journal
        if entry["method"] == "POST" and entry["path"] == "/v1/responses" and entry["status"] == 200
    ]


async def test_the_suites_cut_a_recorded_answer_and_judge_it(tmp_path) -> None:
    path = str(cassettes.pydantic_ai_shaped(tmp_path / "session.yaml"))
    settings = RunSettings("openai", seed=1, cassettes=(path,))
    result = await run(settings, [SCENARIOS[i] for i in CUTS], adapter_factory=OpenAIAgent)
    assert not [s.error for s in result.scenarios if s.error]
    assert [f"{s.scenario}:{c.id}" for s in result.scenarios for c in s.checks if c.status is Status.FAILURE] == []
    creates = _recorded_creates(result)
    assert creates and all(any(path in note for note in notes) for notes in creates)
    truths = [truth for s in result.scenarios for truth in s.history.server.truths.values()]
    assert {truth["text"] for truth in truths if truth["final_status"] == "completed"} == {cassettes.TEXT}
    assert all(f"--cassette {path}" in s.reproduce for s in result.scenarios)

    broken = await run(
        RunSettings(broken_agents.OffByOneCursor.name, seed=1, cassettes=(path,)),
        [SCENARIOS["stream-cut-and-resume"]],
        adapter_factory=broken_agents.OffByOneCursor,
    )
    failed = {c.id for s in broken.scenarios for c in s.checks if c.status is Status.FAILURE}
    assert "resume-exactly-once" in failed


async def test_fuzz_shrinks_a_broken_agent_over_a_recorded_session(tmp_path) -> None:
    path = str(cassettes.pydantic_ai_shaped(tmp_path / "session.yaml"))
    factory = broken_agents.OffByOneCursor
    settings = RunSettings(factory.name, 0, cassettes=(path,))
    result = await fuzz(settings, 30, 0, tmp_path / "report", factory, echo=None)
    minimal = result.minimal
    assert minimal is not None and minimal.reproduced
    assert f"--cassette {path}" in minimal.replay
    assert all(any(path in note for note in notes) for notes in _recorded_creates(result.run_result()))


def test_run_refuses_a_cassette_without_a_recorded_response(tmp_path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("interactions: []\nversion: 1\n")
    outcome = CliRunner().invoke(
        run_command, ["--agent", "openai", "--scenario", "cut-mid-delta", "--cassette", str(empty)]
    )
    assert outcome.exit_code == 1 and "no recorded response" in outcome.output
    assert outcome.output.strip().count("\n") == 0
