"""The harness tested like any other program: the reference agent passes, broken agents fail as they should."""

from __future__ import annotations

import asyncio

import pytest

from harness.conformance.results import Level, Status
from harness.conformance.runner import RunSettings, run
from harness.conformance.scenarios import discover
from harness.conformance.target import TargetError
from mock_server import ServerConfig
from tests import broken_agents
from tests.conftest import FAST_BACKGROUND

SCENARIOS = {scenario.id: scenario for scenario in discover()}


async def run_agent(factory, scenario_ids: list[str]):
    settings = RunSettings(agent=factory.name, seed=1)
    return await run(settings, [SCENARIOS[i] for i in scenario_ids], adapter_factory=factory)


async def test_reference_agent_passes_every_must_check_of_every_suite() -> None:
    from harness.conformance.adapters.openai_agent import OpenAIAgent

    result = await run_agent(OpenAIAgent, list(SCENARIOS))
    failures = [
        f"{s.scenario}:{c.id} {c.status} {c.measured}"
        for s in result.scenarios
        for c in s.checks
        if c.status is not Status.SUCCESS
    ]
    assert not [s.error for s in result.scenarios if s.error]
    assert failures == []
    assert result.passed
    core = [s for s in result.scenarios if s.suite == "core"]
    assert {c.level for s in core for c in s.checks} == {Level.MUST, Level.SHOULD}


@pytest.mark.parametrize(
    ("agent", "scenario", "check_id"),
    [
        (broken_agents.NullTooEarly, "poll-to-completion", "null-means-done"),
        (broken_agents.RepeatingResume, "stream-cut-and-resume", "resume-exactly-once"),
        (broken_agents.SkippingResume, "cut-mid-delta", "resume-exactly-once"),
        (broken_agents.ResendsPrompt, "poll-to-completion", "poll-without-input"),
        (broken_agents.FailureAsEmptySuccess, "failed-ending", "terminal-honesty"),
        (broken_agents.FailureAsEmptySuccess, "incomplete-stream", "terminal-honesty"),
        (broken_agents.RerunsToolOnResume, "resume-after-submission", "tool-call-once"),
        (broken_agents.PollsInsteadOfSubmitting, "polled-tool-loop", "tool-call-once"),
        (broken_agents.SubmitsOutputTwice, "polled-tool-loop", "tool-call-once"),
        (broken_agents.SubmitsOutputTwice, "parallel-tool-calls", "tool-call-once"),
        # Issue 11: situations no scenario created, and the whole of each rule.
        (broken_agents.FailureAsEmptySuccess, "cancelled-while-streaming", "terminal-honesty"),
        (broken_agents.FailureAsEmptySuccess, "incomplete-polled", "terminal-honesty"),
        (broken_agents.FailureAsEmptySuccess, "failed-polled-partial", "terminal-honesty"),
        (broken_agents.QueuedMeansDone, "phases-paced-by-polls", "null-means-done"),
        (broken_agents.MangledText, "sliced-multibyte", "resume-exactly-once"),
        (broken_agents.OffByOneCursor, "resume-cut-before-terminal", "resume-exactly-once"),
        (broken_agents.NullOnError, "backend-drops-connection", "null-means-done"),
        (broken_agents.TokenOnTerminalUpdate, "stream-to-completion", "null-means-done"),
        (broken_agents.SurrogateToken, "persist-across-restart-stream", "token-persistable"),
    ],
)
async def test_broken_agents_fail_with_the_expected_check(agent, scenario: str, check_id: str) -> None:
    result = await run_agent(agent, [scenario])
    (scenario_result,) = result.scenarios
    statuses = {check.id: check.status for check in scenario_result.checks}
    assert statuses[check_id] is Status.FAILURE, scenario_result.checks
    assert not result.passed
    failing = next(check for check in scenario_result.checks if check.id == check_id)
    assert failing.measured and failing.expected
    assert f"--scenario {scenario}" in scenario_result.reproduce


async def test_expected_failures_baseline_and_staleness() -> None:
    settings = RunSettings(
        agent="broken",
        seed=1,
        expected_failures=frozenset({"poll-to-completion:null-means-done", "stream-to-completion:null-means-done"}),
    )
    scenarios = [SCENARIOS["poll-to-completion"], SCENARIOS["stream-to-completion"]]
    result = await run(settings, scenarios, adapter_factory=broken_agents.NullTooEarly)
    poll = result.scenarios[0]
    assert [c.expected_failure for c in poll.checks if c.id == "null-means-done"] == [True]
    assert not poll.failed
    # The stream scenario's null-means-done passes for this agent: its baseline entry is stale and fails the run.
    assert result.stale_expected_failures == ("stream-to-completion:null-means-done",)
    assert not result.passed


async def test_against_an_external_mock_via_base_url(start_mock) -> None:
    from harness.conformance.adapters.openai_agent import OpenAIAgent

    mock = await asyncio.to_thread(start_mock, ServerConfig(seed=3, time_scale=0.5, background=FAST_BACKGROUND))
    settings = RunSettings(agent="openai", base_url=mock.base_url)
    result = await run(
        settings, [SCENARIOS["stream-cut-and-resume"], SCENARIOS["failed-ending"]], adapter_factory=OpenAIAgent
    )
    assert result.passed, [(s.scenario, s.error, [c.status for c in s.checks]) for s in result.scenarios]
    # The external mock's seed and time scale were adopted, and its replay command goes back to it.
    assert (result.seed, result.time_scale) == (3, 0.5)
    assert all(s.history is not None and s.history.time_scale == 0.5 for s in result.scenarios)
    assert result.scenarios[0].reproduce.endswith(f"--seed 3 --time-scale 0.5 --base-url {mock.base_url}")
    # The scenarios' rules were removed again, and their requests are in the external mock's journal.
    assert await asyncio.to_thread(lambda: mock.call(lambda: mock.server.state.rules.rules())) == []
    assert len(await asyncio.to_thread(mock.journal)) >= 3


@pytest.mark.parametrize(
    ("asked", "words"),
    [({"seed": 4}, "runs with seed 3, not 4"), ({"time_scale": 0.02}, "runs at time scale 0.5, not 0.02")],
)
async def test_an_external_mock_with_other_settings_stops_the_run(start_mock, asked, words) -> None:
    mock = await asyncio.to_thread(start_mock, ServerConfig(seed=3, time_scale=0.5))
    with pytest.raises(TargetError) as raised:
        await run(RunSettings(agent="openai", base_url=mock.base_url, **asked), [SCENARIOS["failed-ending"]])
    assert words in str(raised.value) and "\n" not in str(raised.value)
    assert await asyncio.to_thread(mock.journal) == []  # stopped before the agent made a call


async def test_a_programs_own_poller_is_judged_from_the_wire() -> None:
    """The cmd: example driver polls on its own (poll_until_done): backoff and timeout are judged, not skipped."""
    import sys

    settings = RunSettings(agent=f"cmd:{sys.executable} examples/python_driver.py", seed=1)
    scenarios = [SCENARIOS["three-capped-polls"], SCENARIOS["self-poll-timeout"]]
    result = await run(settings, scenarios)
    statuses = {(s.scenario, c.id): c.status for s in result.scenarios for c in s.checks}
    assert statuses[("three-capped-polls", "backoff")] is Status.SUCCESS, result.scenarios[0].checks
    assert statuses[("self-poll-timeout", "timeout")] is Status.SUCCESS
    journal = result.scenarios[0].history.server.journal
    marks = [entry for entry in journal if entry["method"] == "MARK"]
    polls = [entry for entry in journal if entry["method"] == "GET"]
    assert len(marks) == 1 and len(polls) == 8  # 1, 2, 4, 8, 16, 30, 30, 30: three capped waits


@pytest.mark.parametrize(
    ("agent", "failing"),
    [
        (broken_agents.SurrogateToken, {("persist-across-restart-poll", "token-persistable")}),
        (broken_agents.NulToken, set()),
        (broken_agents.MegabyteToken, {("token-size-budget", "token-size")}),
    ],
    ids=lambda value: getattr(value, "name", ""),
)
async def test_any_token_gets_a_verdict_and_a_written_report(agent, failing, tmp_path) -> None:
    """Invalid UTF-8, NUL bytes, a megabyte: verdicts and all four reports, never a traceback."""
    import json
    import xml.etree.ElementTree as ET

    from harness.conformance.reports import write_reports

    result = await run_agent(agent, ["persist-across-restart-poll", "token-size-budget"])
    assert [s.error for s in result.scenarios] == [None, None]
    bad = {
        (s.scenario, c.id) for s in result.scenarios for c in s.checks if c.status in (Status.FAILURE, Status.WARNING)
    }
    assert bad == failing
    paths = write_reports(result, tmp_path)
    saved = json.loads(paths["json"].read_text(encoding="ascii" if agent is broken_agents.SurrogateToken else "utf-8"))
    assert saved["scenarios"][0]["history"]["calls"][0]["token_out"].endswith(agent.suffix)
    ET.parse(paths["junit"])
    assert "persist-across-restart-poll" in paths["markdown"].read_text(encoding="utf-8")
    assert "persist-across-restart-poll" in paths["html"].read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("agent", "scenario", "check_id"),
    [
        (broken_agents.NoSequenceCheck, "repeated-event", "sequence-dedupe"),
        (broken_agents.NoSequenceCheck, "skipped-event", "sequence-dedupe"),
        (broken_agents.IgnoresDeadline, "self-poll-deadline", "timeout"),
        (broken_agents.NullOnTimeout, "self-poll-timeout", "timeout"),
        (broken_agents.IgnoresRetryAfter, "self-poll-rate-limited", "backoff"),
        (broken_agents.FixedIntervalPoller, "three-capped-polls", "backoff"),
        (broken_agents.UncappedPoller, "three-capped-polls", "backoff"),
    ],
)
async def test_broken_agents_get_the_expected_warning(agent, scenario: str, check_id: str) -> None:
    """SHOULD rules broken: a WARNING with expected against measured, the run still passing its MUSTs."""
    result = await run_agent(agent, [scenario])
    (scenario_result,) = result.scenarios
    failing = next(check for check in scenario_result.checks if check.id == check_id)
    assert failing.status is Status.WARNING, scenario_result.checks
    assert failing.measured and failing.expected


DROP_AFTER_THE_TERMINAL_EVENT = """\
version: 1
id: drop-after-the-terminal-event
suite: fuzz
description: Found by bgr fuzz (seed 11) - the resume gets the terminal event, then the connection drops.
rules:
  - match: {method: GET}
    times: 1
    faults: [{type: drop_after_events, events: 1}]
script:
  - start: {stream: true, max_updates: 56}
  - resume: {}
  - resume: {}
checks: [resume-exactly-once, null-means-done]
"""


async def test_a_drop_after_the_terminal_event_ends_the_run_as_completed() -> None:
    from harness.conformance.adapters.openai_agent import OpenAIAgent
    from harness.conformance.scenarios import parse_conformance_scenario

    scenario = parse_conformance_scenario(DROP_AFTER_THE_TERMINAL_EVENT, "<drop-after-the-terminal-event>")
    result = (await run(RunSettings("openai", seed=11), [scenario], adapter_factory=OpenAIAgent)).scenarios[0]
    assert {check.id: check.status for check in result.checks} == {
        "resume-exactly-once": Status.SUCCESS,
        "null-means-done": Status.SUCCESS,
    }, result.checks
    assert result.history is not None and result.history.calls[1].status == "completed"
