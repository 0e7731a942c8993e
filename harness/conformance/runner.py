"""Runs scenarios against an agent: one mock, one fresh agent per scenario, record first, judge after."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import shlex
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from harness.conformance.adapters import make_adapter
from harness.conformance.adapters.base import AgentAdapter, AgentEnvironment, one_line
from harness.conformance.agent_versions import agent_versions
from harness.conformance.caller import FOREIGN_TOKEN, Caller
from harness.conformance.checks import CHECKS
from harness.conformance.history import SELF_POLL_MARK, History, ServerRecord
from harness.conformance.journal_scope import own_entries, response_id_in
from harness.conformance.mock_admin import MockAdmin
from harness.conformance.results import CheckResult, RunResult, ScenarioResult, Status
from harness.conformance.scenarios import (
    DEFAULT_PROMPT,
    SCENARIOS_DIR,
    ConformanceScenario,
    bound_rules,
    script_of,
)
from harness.conformance.schedule import QUIET_SECONDS, Plan, concurrent_plan
from harness.conformance.stalls import StallProbe, stall_probe
from harness.conformance.target import DEFAULT_TIME_SCALE, Target, open_target
from harness.conformance.tool import HarnessTool
from mock_server.recorded import recorded_prompt

__all__ = [
    "DEFAULT_TIME_SCALE",
    "MODEL",
    "AdapterFactory",
    "Progress",
    "RunSettings",
    "judge",
    "reproduce_command",
    "run",
    "run_scenario",
    "scenario_result",
]

MODEL = "gpt-4o"
NO_FULL_COLLECTION = 1_000_000
"""The collector's third threshold during a run: young collections before a full one, so never. The first full
collection would otherwise come whenever the objects promoted since the last one (during the imports) reach a
quarter of what it found, and scan everything the run has made so far: a pause in the middle of a timed poller."""


@dataclass(frozen=True, slots=True)
class RunSettings:
    agent: str
    seed: int | None = None
    """None: the default (0), or the external mock's."""
    time_scale: float | None = None
    """Real seconds per scenario second; None: the default (0.02), or the external mock's."""
    base_url: str | None = None
    """An already running bgr mock (its root or /v1 URL); None starts one."""
    expected_failures: frozenset[str] = frozenset()
    """`scenario:check` entries known to fail."""
    jobs: int = 1
    """Scenarios played at once on the one mock (1: one after the other, in the given order)."""
    cassettes: tuple[str, ...] = ()
    """vcrpy cassettes whose recorded answers the mock serves (matched on the input); their prompt is every
    scenario's."""


Progress = Callable[[ConformanceScenario, ScenarioResult | None], None]
AdapterFactory = Callable[[], AgentAdapter]


async def run(
    settings: RunSettings,
    scenarios: Sequence[ConformanceScenario],
    progress: Progress | None = None,
    adapter_factory: AdapterFactory | None = None,
    target: Target | None = None,
) -> RunResult:
    """`adapter_factory` overrides `settings.agent` (for agents that are not on the command line).

    `target`: the mock to play on, opened from `settings` by the caller (None: opened here, and closed after).
    """
    started = datetime.now(UTC).isoformat(timespec="seconds")
    results: list[ScenarioResult | None] = [None] * len(scenarios)
    with contextlib.ExitStack() as opened:
        if target is None:
            target = opened.enter_context(
                open_target(settings.base_url, settings.seed, settings.time_scale, settings.cassettes)
            )
        async with MockAdmin(target.url) as admin, stall_probe(target.clock) as probe:

            async def play(index: int, polling: asyncio.Event | None = None) -> None:
                scenario = scenarios[index]
                if progress:
                    progress(scenario, None)
                try:
                    results[index] = await run_scenario(
                        settings, target, scenario, admin, adapter_factory, probe, polling
                    )
                finally:
                    if polling is not None:  # a scenario that ended before its poller began holds nobody up
                        polling.set()
                if progress:
                    progress(scenario, results[index])

            # What lives on (modules, the agent's models) is left out of the collector's sweeps: a full collection
            # of it stops the loop for ~100 ms, which a timed poller would show as a late poll. It is frozen as it
            # is, without a full collection first (another ~100 ms, on the way to every timed scenario), and no
            # full collection runs until the run ends: what the scenarios leave as garbage is kept until then.
            thresholds = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(thresholds[0], thresholds[1], NO_FULL_COLLECTION)
            try:
                if settings.jobs <= 1:  # one after the other, in the given order
                    for index in range(len(scenarios)):
                        await play(index)
                        if index == 0:
                            gc.freeze()  # the models built on the agent's first answers
                else:
                    await _play_concurrently(concurrent_plan(scenarios), settings.jobs, play, target)
            finally:
                gc.set_threshold(*thresholds)
                gc.unfreeze()
    results = [_mark_expected(result, settings.expected_failures) for result in results if result is not None]
    listed = {f"{r.scenario}:{c.id}" for r in results for c in r.checks}
    failing = {f"{r.scenario}:{c.id}" for r in results for c in r.checks if c.status is Status.FAILURE}
    stale = tuple(sorted(entry for entry in settings.expected_failures if entry in listed and entry not in failing))
    extra = {"versions": agent_versions(settings.agent)} if adapter_factory is None else {}
    return RunResult(settings.agent, target.seed, target.time_scale, started, tuple(results), stale, extra)


async def _play_concurrently(
    plan: Plan, jobs: int, play: Callable[[int, asyncio.Event | None], Awaitable[None]], target: Target
) -> None:
    """Up to `jobs` at once in the order of `plan`: the timed ones, then the rest once every timed poller is
    `QUIET_SECONDS` past its start (`harness.conformance.schedule` says why)."""
    slots = asyncio.Semaphore(jobs)
    polling = {index: asyncio.Event() for index in plan.timed}

    async def in_slot(index: int) -> None:
        async with slots:
            await play(index, polling.get(index))

    async with asyncio.TaskGroup() as group:
        for index in plan.timed:
            group.create_task(in_slot(index))
        for began in polling.values():
            await began.wait()
        if polling:
            gc.freeze()  # the models built on the agent's first answers, in the timed scenarios' creates
            await target.clock.sleep(QUIET_SECONDS)
        for index in plan.rest:
            group.create_task(in_slot(index))


async def run_scenario(
    settings: RunSettings,
    target: Target,
    scenario: ConformanceScenario,
    admin: MockAdmin,
    adapter_factory: AdapterFactory | None = None,
    probe: StallProbe | None = None,
    polling: asyncio.Event | None = None,
) -> ScenarioResult:
    """`probe`: the run's, whose stalls in this scenario's time go into its history for the timing checks.
    `polling`: set when the agent's own poller begins (the self-poll mark is in the journal)."""
    began = time.monotonic()
    began_at = target.clock.now()
    script = script_of(scenario)
    marker = f"[bgr:{scenario.id}:{_nonce(target.seed, str(scenario.id))}]"
    position = await admin.recent_position()
    rule_ids = await admin.add_rules(bound_rules(scenario, marker))
    adapter = adapter_factory() if adapter_factory else make_adapter(settings.agent)
    tool = HarnessTool(target.clock)
    environment = AgentEnvironment(f"{target.url}/v1", "bgr-test-key", MODEL, target.clock, tool)
    marks: list[int] = []

    async def mark(label: str) -> None:
        marks.append(await admin.mark(label))
        if label == SELF_POLL_MARK and polling is not None:
            polling.set()

    caller = Caller(adapter, target.clock, mark=mark, tool=tool)
    error = None
    try:
        await adapter.start(environment)
        prompt = recorded_prompt(settings.cassettes) if settings.cassettes else scenario.prompt or DEFAULT_PROMPT
        await caller.play(replace(scenario, prompt=f"{prompt} {marker}"))
    except Exception as failure:
        error = f"{type(failure).__name__}: {one_line(str(failure))}"
    finally:
        with contextlib.suppress(Exception):
            await adapter.close()
        await admin.delete_rules(rule_ids)
    # Other scenarios may be playing on the same mock: keep only this one's entries.
    foreign = response_id_in(FOREIGN_TOKEN) if any(step.kind == "foreign-token" for step in script.steps) else None
    handed_over = [foreign] if foreign else []
    journal = own_entries(await admin.journal_since(position), marker, marks, handed_over)
    truths = {}
    for entry in journal:
        response_id = entry.get("response_id")
        if entry["method"] == "POST" and entry["path"] == "/v1/responses" and response_id:
            truth = await admin.truth(response_id)
            if truth is not None:
                truths[response_id] = truth
    history = History(
        scenario=str(scenario.id),
        agent=settings.agent,
        seed=target.seed,
        time_scale=target.time_scale,
        calls=tuple(caller.calls),
        server=ServerRecord(journal, truths),
        stopped=caller.stopped,
        token_budget_bytes=script.token_budget_bytes,
        tool_executions=tuple(tool.executions),
        stalls=probe.between(began_at, target.clock.now()) if probe else (),
    )
    checks = tuple(judge(check_id, history) for check_id in script.checks) if error is None else ()
    return scenario_result(
        settings, target, scenario, time.monotonic() - began, checks=checks, history=history, error=error
    )


def scenario_result(
    settings: RunSettings,
    target: Target,
    scenario: ConformanceScenario,
    seconds: float,
    *,
    checks: tuple[CheckResult, ...] = (),
    history: History | None = None,
    error: str | None = None,
) -> ScenarioResult:
    """One scenario's result, whoever ran it (the runner, or the fuzzer for a scenario that hung)."""
    return ScenarioResult(
        scenario=str(scenario.id),
        suite=str(scenario.suite),
        description=scenario.description or "",
        agent=settings.agent,
        seed=target.seed,
        reproduce=reproduce_command(settings, target, scenario),
        duration_seconds=round(seconds, 3),
        checks=checks,
        history=history,
        error=error,
    )


def judge(check_id: str, history: History) -> CheckResult:
    """A check's verdict: from the history alone, so a saved history is judged the same again."""
    return CHECKS[check_id](history)


def reproduce_command(settings: RunSettings, target: Target, scenario: ConformanceScenario | str) -> str:
    """The one command that replays a scenario (an id of the suites, or a file) against the same mock."""
    if isinstance(scenario, str):
        reference = scenario
    else:
        # A scenario from a file outside the suites is replayed by its file, not its id.
        in_suites = scenario.path.startswith(str(SCENARIOS_DIR)) or not scenario.path
        reference = str(scenario.id) if in_suites else scenario.path
    parts = ["bgr", "run", "--agent", settings.agent, "--scenario", reference, "--seed", str(target.seed)]
    parts += ["--time-scale", f"{target.time_scale:g}"]
    if settings.base_url is not None:
        parts += ["--base-url", settings.base_url]
    for cassette in settings.cassettes:
        parts += ["--cassette", cassette]
    return shlex.join(parts)


def _mark_expected(result: ScenarioResult, expected: frozenset[str]) -> ScenarioResult:
    checks = tuple(
        replace(check, expected_failure=True)
        if f"{result.scenario}:{check.id}" in expected and check.status is Status.FAILURE
        else check
        for check in result.checks
    )
    return replace(result, checks=checks)


def _nonce(seed: int, scenario_id: str) -> str:
    return hashlib.blake2b(f"{seed}:{scenario_id}".encode(), digest_size=4).hexdigest()
