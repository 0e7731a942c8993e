"""Runs scenarios against an agent: one mock, one fresh agent per scenario, record first, judge after."""

from __future__ import annotations

import contextlib
import hashlib
import shlex
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from harness.adapters import make_adapter
from harness.adapters.base import AgentAdapter, AgentEnvironment
from harness.caller import Caller
from harness.checks import CHECKS
from harness.history import History, ServerRecord
from harness.mock_admin import MockAdmin
from harness.results import CheckResult, RunResult, ScenarioResult, Status
from harness.scenarios import SCENARIOS_DIR, Scenario
from mock_server import MockServer, ServerConfig, Timing

DEFAULT_TIME_SCALE = 0.02
"""Scenario seconds run 50x faster than real ones unless asked otherwise."""
MODEL = "gpt-4o"
HARNESS_BACKGROUND = Timing(queue_seconds=1.0, first_token_seconds=0.5, tokens_per_second=40.0)


@dataclass(frozen=True, slots=True)
class RunSettings:
    agent: str
    seed: int = 0
    time_scale: float = DEFAULT_TIME_SCALE
    base_url: str | None = None
    """An already running bgr mock (its root or /v1 URL); None starts one."""
    expected_failures: frozenset[str] = frozenset()
    """`scenario:check` entries known to fail."""


Progress = Callable[[Scenario, ScenarioResult | None], None]
AdapterFactory = Callable[[], AgentAdapter]


async def run(
    settings: RunSettings,
    scenarios: Sequence[Scenario],
    progress: Progress | None = None,
    adapter_factory: AdapterFactory | None = None,
) -> RunResult:
    """`adapter_factory` overrides `settings.agent` (for agents that are not on the command line)."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    results = []
    async with _mock(settings) as admin:
        for scenario in scenarios:
            if progress:
                progress(scenario, None)
            result = await run_scenario(settings, scenario, admin, adapter_factory)
            results.append(result)
            if progress:
                progress(scenario, result)
    results = [_mark_expected(result, settings.expected_failures) for result in results]
    listed = {f"{r.scenario}:{c.id}" for r in results for c in r.checks}
    failing = {f"{r.scenario}:{c.id}" for r in results for c in r.checks if c.status is Status.FAILURE}
    stale = tuple(sorted(entry for entry in settings.expected_failures if entry in listed and entry not in failing))
    return RunResult(settings.agent, settings.seed, settings.time_scale, started, tuple(results), stale)


async def run_scenario(
    settings: RunSettings, scenario: Scenario, admin: MockAdmin, adapter_factory: AdapterFactory | None = None
) -> ScenarioResult:
    began = time.monotonic()
    marker = f"[bgr:{scenario.id}:{_nonce(settings.seed, scenario.id)}]"
    position = await admin.journal_position()
    rule_ids = [await admin.add_rule(rule) for rule in scenario.rules(marker)]
    adapter = adapter_factory() if adapter_factory else make_adapter(settings.agent)
    environment = AgentEnvironment(f"{admin.url}/v1", "bgr-test-key", MODEL, settings.time_scale)
    caller = Caller(adapter, settings.time_scale, mark=admin.mark)
    error = None
    try:
        await adapter.start(environment)
        await caller.play(replace(scenario, prompt=f"{scenario.prompt} {marker}"))
    except Exception as failure:
        error = f"{type(failure).__name__}: {' '.join(str(failure).split())[:300]}"
    finally:
        with contextlib.suppress(Exception):
            await adapter.close()
        for rule_id in rule_ids:
            await admin.delete_rule(rule_id)
    journal = tuple(await admin.journal_since(position))
    truths = {}
    for entry in journal:
        response_id = entry.get("response_id")
        if entry["method"] == "POST" and entry["path"] == "/v1/responses" and response_id:
            truth = await admin.truth(response_id)
            if truth is not None:
                truths[response_id] = truth
    history = History(
        scenario=scenario.id,
        agent=settings.agent,
        seed=settings.seed,
        time_scale=settings.time_scale,
        calls=tuple(caller.calls),
        server=ServerRecord(journal, truths),
        expectations=dict(scenario.expect),
    )
    checks = tuple(_judge(check_id, history, caller.skipped) for check_id in scenario.checks) if error is None else ()
    return ScenarioResult(
        scenario=scenario.id,
        suite=scenario.suite,
        description=scenario.description,
        agent=settings.agent,
        seed=settings.seed,
        reproduce=reproduce_command(settings, scenario),
        duration_seconds=round(time.monotonic() - began, 3),
        checks=checks,
        history=history,
        error=error,
    )


def reproduce_command(settings: RunSettings, scenario: Scenario) -> str:
    # A scenario from a file outside the suites is replayed by its file, not its id.
    in_suites = scenario.path.startswith(str(SCENARIOS_DIR)) or not scenario.path
    reference = scenario.id if in_suites else scenario.path
    parts = ["bgr", "run", "--agent", settings.agent, "--scenario", reference, "--seed", str(settings.seed)]
    parts += ["--time-scale", f"{settings.time_scale:g}"]
    return shlex.join(parts)


def _judge(check_id: str, history: History, skipped: str | None) -> CheckResult:
    check = CHECKS[check_id]
    result = check(history)
    if skipped is not None and result.status is not Status.SUCCESS:
        return CheckResult(check.id, check.level, Status.SKIPPED, check.rule, "-", "-", f"agent cannot: {skipped}")
    return result


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


@contextlib.asynccontextmanager
async def _mock(settings: RunSettings) -> AsyncIterator[MockAdmin]:
    if settings.base_url is not None:
        url = settings.base_url.rstrip("/").removesuffix("/v1")
        async with MockAdmin(url) as admin:
            yield admin
        return
    config = ServerConfig(seed=settings.seed, time_scale=settings.time_scale, background=HARNESS_BACKGROUND)
    async with MockServer(config) as server, MockAdmin(server.url) as admin:
        yield admin
