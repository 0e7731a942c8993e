"""Property-based fuzzing of resumption: generated scenarios against one agent, failures shrunk to a file.

The property: for every scenario `harness.fuzz.strategies.scenario_data()` draws (cuts, drops on
the create or on resumes, sliced writes, stalls, a 429/503 on a resume, restarts), the scenario runs
and no MUST check fails. `fuzz()` starts one mock for the session, lets Hypothesis draw and run
scenarios, and when one fails, shrinks it to a minimal one (one per failing check), writes it as a
scenario file, replays that file through the normal runner (as `bgr run --scenario FILE` would) and
returns it with its history and checks, ready for `harness.conformance.reports.write_reports`.

Hypothesis keeps the failures it found in `<report_dir>/hypothesis-db`, so the next session starts
from them. The seed makes a session replayable: same seed, same agent, same scenarios.

From an agent's own pytest (the test fails with the minimal scenario, its check and the replay command):

    from harness.fuzz.session import resumption_property

    test_resumption = resumption_property("py:my_agent.bgr:make_adapter", examples=50, seed=0)

or, for more control (`report_dir` keeps the example database and the reports):

    result = asyncio.run(fuzz(RunSettings("cmd:node driver.js"), examples=50, seed=0, report_dir=tmp_path))
    assert result.passed, result.explain()
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml
from hypothesis import HealthCheck, Phase, Verbosity, given
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as hypothesis_settings
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from harness.conformance.adapters.base import one_line
from harness.conformance.mock_admin import MockAdmin, MockAdminError
from harness.conformance.results import RunResult, ScenarioResult, Status
from harness.conformance.runner import (
    AdapterFactory,
    RunSettings,
    reproduce_command,
    run,
    run_scenario,
    scenario_result,
)
from harness.conformance.scenarios import ConformanceScenario, load_conformance_scenario, parse_conformance_scenario
from harness.conformance.target import FUZZ_TIME_SCALE, Target, TargetError, open_target
from harness.fuzz.strategies import FUZZ_CHECKS, scenario_data
from mock_server.scenario_file import FORMAT_VERSION

__all__ = [
    "DEFAULT_SHRINK_BUDGET",
    "Counterexample",
    "FuzzError",
    "FuzzProgress",
    "FuzzResult",
    "fuzz",
    "resumption_property",
]

DEFAULT_SHRINK_BUDGET = 150
"""Scenarios run after the first failure (further search and shrinking); then the smallest failure so far stands."""
EXAMPLE_TIMEOUT_SCENARIO_SECONDS = 600.0
"""A generated scenario needs a few scenario seconds; one still running after this is reported as hung."""
EXAMPLE_TIMEOUT_FLOOR_SECONDS = 15.0
ERROR_KEY = "error"
"""The failure key of a scenario that did not run to the end (an agent that hangs, a harness error)."""


class FuzzError(RuntimeError):
    """The session could not go on (the mock is unreachable, the harness broke): not a counterexample."""


@dataclass(frozen=True, slots=True)
class FuzzProgress:
    calls: int
    """Examples tried so far (shrinking included; a scenario seen before is not run again)."""
    runs: int
    """Scenarios actually run."""
    budget: int
    """Examples asked for."""
    failing: tuple[str, ...]
    """Check ids (or `error`) with a failing scenario so far."""
    shrinking: bool
    """A failure was found: what runs now searches for a smaller one."""
    last: ScenarioResult | None = None


Progress = Callable[[FuzzProgress], None]


@dataclass(frozen=True, slots=True)
class Counterexample:
    check: str
    """The first MUST check that failed (or `error`): shrinking kept this one failing."""
    data: dict[str, Any]
    """The scenario as written to `path`."""
    path: Path
    replay: str
    """The command that replays it."""
    result: ScenarioResult
    """Its run through the normal runner from `path` (the fuzzing run when the replay did not fail)."""
    reproduced: bool
    """The replay from the file failed the same check."""
    yaml: str
    """The file's text."""


@dataclass(frozen=True, slots=True)
class FuzzResult:
    agent: str
    seed: int
    settings: RunSettings
    examples: int
    """Examples asked for."""
    calls: int
    """Examples tried, shrinking included."""
    runs: int
    """Scenarios run (a scenario drawn twice runs once)."""
    first_failure_at: int | None
    """The example (1-based) that first failed; None when the property held."""
    counterexamples: tuple[Counterexample, ...]
    database: Path | None
    wall_seconds: float
    started_at: str
    target: Target
    """The mock the session ran against: its seed and time scale are the replay's."""
    reports: dict[str, Path] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.counterexamples

    @property
    def minimal(self) -> Counterexample | None:
        return self.counterexamples[0] if self.counterexamples else None

    def run_result(self) -> RunResult:
        """The counterexamples as a RunResult, for `harness.conformance.reports.write_reports`."""
        scenarios = tuple(counterexample.result for counterexample in self.counterexamples)
        extra = {
            "fuzz": {
                "seed": self.seed,
                "examples": self.examples,
                "calls": self.calls,
                "runs": self.runs,
                "first_failure_at": self.first_failure_at,
                "files": [str(counterexample.path) for counterexample in self.counterexamples],
            }
        }
        return RunResult(self.agent, self.target.seed, self.target.time_scale, self.started_at, scenarios, (), extra)

    def explain(self) -> str:
        """What was found, for a test failure or a terminal: each minimal scenario, its verdict and its replay."""
        if self.passed:
            return f"the property held over {self.calls} examples (seed {self.seed})"
        parts = [f"bgr fuzz found {len(self.counterexamples)} counterexample(s) (seed {self.seed})"]
        for counterexample in self.counterexamples:
            parts += [
                f"--- {counterexample.check}: {_verdict_line(counterexample.result, counterexample.check)}",
                counterexample.yaml.rstrip(),
                f"written to {counterexample.path}",
                f"replay: {counterexample.replay}",
            ]
            if not counterexample.reproduced:
                parts.append("the replay from the file did not fail again: the agent may not be deterministic")
        return "\n".join(parts)


async def fuzz(
    settings: RunSettings,
    examples: int,
    seed: int,
    report_dir: Path | None,
    adapter_factory: AdapterFactory | None = None,
    progress: Progress | None = None,
    *,
    stale_resumes: bool = False,
    shrink_budget: int = DEFAULT_SHRINK_BUDGET,
    echo: Callable[[str], object] | None = print,
) -> FuzzResult:
    """Run up to `examples` generated scenarios against the agent; shrink, write and replay any failure.

    `stale_resumes` also draws resumes from an older token (a caller's breach of the contract, to see
    what the agent does). `echo` prints the seed and what was found (None: silent).
    """
    if examples < 1:
        raise ValueError(f"examples must be at least 1, got {examples}")
    began = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    say = echo or (lambda _text: None)
    say(f"bgr fuzz: agent {settings.agent}, seed {seed}, {examples} examples (replay the session with --seed {seed})")
    database = report_dir / "hypothesis-db" if report_dir is not None else None
    try:
        opened = open_target(settings.base_url, settings.seed, settings.time_scale, settings.cassettes)
        target = opened.__enter__()
    except TargetError as error:
        raise FuzzError(str(error)) from None
    try:
        session = _Session(settings, target, adapter_factory, progress, examples, shrink_budget)
        work = asyncio.ensure_future(asyncio.to_thread(session.explore, seed, database, stale_resumes))
        try:
            failures = await asyncio.shield(work)
        except asyncio.CancelledError:
            session.stop.set()  # the worker stops before its next example
            with contextlib.suppress(BaseException):
                await work
            raise
    finally:
        opened.__exit__(None, None, None)
    counterexamples = []
    for failure in sorted(failures, key=lambda failure: _check_order(failure.key)):
        counterexamples.append(await _settle(failure, settings, target, adapter_factory, report_dir, seed, session))
    result = FuzzResult(
        agent=settings.agent,
        seed=seed,
        settings=settings,
        examples=examples,
        calls=session.calls,
        runs=session.runs,
        first_failure_at=session.first_failure_at,
        counterexamples=tuple(counterexamples),
        database=database,
        wall_seconds=round(time.monotonic() - began, 3),
        started_at=started_at,
        target=target,
    )
    if counterexamples and report_dir is not None:
        from harness.conformance.reports import write_reports

        result = dataclasses.replace(result, reports=write_reports(result.run_result(), report_dir))
    say(result.explain())
    return result


def resumption_property(
    agent: str,
    *,
    adapter_factory: AdapterFactory | None = None,
    examples: int = 50,
    seed: int = 0,
    time_scale: float | None = FUZZ_TIME_SCALE,
    report_dir: Path | str | None = ".bgr-fuzz",
) -> Callable[[], None]:
    """A pytest test: `test_resumption = resumption_property("py:pkg.mod:factory")` in a test module.

    It fails with the minimal counterexample, its verdict and its replay command. `report_dir` keeps
    the Hypothesis database (the next run starts from known failures), the scenario files and reports.
    """

    def test_resumption() -> None:
        directory = Path(report_dir) if report_dir is not None else None
        settings = RunSettings(agent, seed, time_scale)
        result = asyncio.run(fuzz(settings, examples, seed, directory, adapter_factory, echo=None))
        if not result.passed:
            raise AssertionError(result.explain())

    return test_resumption


class _Cancelled(BaseException):
    """Stops the Hypothesis run at once: a BaseException, so it is not taken for a failing example."""


class _Aborted(BaseException):
    """The harness itself failed: stop the session, do not shrink it."""


class _Failing(AssertionError):
    """A generated scenario failed; one subclass per failing check, so Hypothesis shrinks each apart."""

    def __init__(self, key: str, data: dict[str, Any], result: ScenarioResult) -> None:
        super().__init__(f"{key}: {_verdict_line(result, key)}")
        self.key = key
        self.data = data
        self.result = result


_FAILING_TYPES: dict[str, type[_Failing]] = {}


def _failing_type(key: str) -> type[_Failing]:
    if key not in _FAILING_TYPES:
        _FAILING_TYPES[key] = type(f"Failing[{key}]", (_Failing,), {})
    return _FAILING_TYPES[key]


@dataclass(slots=True)
class _Session:
    """The state of one fuzzing session, shared by every example (run on the worker thread)."""

    settings: RunSettings
    target: Target
    adapter_factory: AdapterFactory | None
    progress: Progress | None
    examples: int
    shrink_budget: int
    stop: threading.Event = field(default_factory=threading.Event)
    calls: int = 0
    runs: int = 0
    first_failure_at: int | None = None
    runs_at_first_failure: int = 0
    seen: dict[bytes, tuple[str | None, ScenarioResult]] = field(default_factory=dict)
    """Each scenario's outcome by its content: a scenario drawn again is not run again (nor flaky)."""
    failing: dict[str, None] = field(default_factory=dict)

    def explore(self, seed: int, database: Path | None, stale_resumes: bool) -> list[_Failing]:
        # One event loop for every example, as `bgr run` has: an agent that leaves its HTTP client for the
        # garbage collector gets it closed on a loop that is still open.
        with asyncio.Runner() as runner:
            try:
                admin = runner.run(_open_admin(self.target.url))
            except MockAdminError as error:
                raise FuzzError(str(error)) from None
            try:
                return self._explore(runner, admin, seed, database, stale_resumes)
            finally:
                runner.run(admin.__aexit__(None, None, None))
                gc.collect()

    def _explore(
        self, runner: asyncio.Runner, admin: MockAdmin, seed: int, database: Path | None, stale_resumes: bool
    ) -> list[_Failing]:
        def resumption_holds(data: dict[str, Any]) -> None:
            self.check(runner, admin, data)

        configured = hypothesis_settings(
            max_examples=self.examples,
            database=_namespaced(database, self.namespace()),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
            derandomize=False,
            report_multiple_bugs=True,
            print_blob=False,
            verbosity=Verbosity.quiet,
        )
        test = configured(hypothesis_seed(seed)(given(scenario_data(stale_resumes=stale_resumes))(resumption_holds)))
        try:
            test()
        except _Aborted as aborted:
            raise FuzzError(str(aborted)) from None
        except BaseException as found:
            failures = list(_leaves(found))
            if failures and all(isinstance(failure, _Failing) for failure in failures):
                return [failure for failure in failures if isinstance(failure, _Failing)]
            if isinstance(found, _Cancelled | KeyboardInterrupt):
                raise
            raise FuzzError(f"{type(found).__name__}: {one_line(str(found))}") from found
        return []

    def namespace(self) -> bytes:
        """Examples of one agent are kept apart from another's: a pass would delete the other's failures."""
        factory = getattr(self.adapter_factory, "__qualname__", "") if self.adapter_factory else ""
        return f"bgr-fuzz:{self.settings.agent}:{factory}:".encode()

    def check(self, runner: asyncio.Runner, admin: MockAdmin, data: dict[str, Any]) -> None:
        if self.stop.is_set():
            raise _Cancelled
        content = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        outcome = self.seen.get(content)
        if outcome is None:
            if self.first_failure_at is not None and self.runs - self.runs_at_first_failure >= self.shrink_budget:
                return  # budget spent: untried candidates pass, so the smallest failure so far stands
            self.calls += 1
            outcome = self.seen[content] = self.run_new(runner, admin, data)
        else:
            self.calls += 1
        key, result = outcome
        if key is not None:
            raise _failing_type(key)(key, data, result)

    def run_new(
        self, runner: asyncio.Runner, admin: MockAdmin, data: dict[str, Any]
    ) -> tuple[str | None, ScenarioResult]:
        result = self.run_one(runner, admin, data)
        key = _failure_key(result)
        self.runs += 1
        if key is not None:
            self.failing.setdefault(key)
            if self.first_failure_at is None:
                self.first_failure_at = self.calls
                self.runs_at_first_failure = self.runs
        if self.progress is not None:
            shrinking = self.first_failure_at is not None
            state = FuzzProgress(self.calls, self.runs, self.examples, tuple(self.failing), shrinking, result)
            try:
                self.progress(state)
            except Exception as error:  # not the agent's failure: never shrink it
                raise _Aborted(f"the progress callback failed: {type(error).__name__}: {error}") from None
        return key, result

    def run_one(self, runner: asyncio.Runner, admin: MockAdmin, data: dict[str, Any]) -> ScenarioResult:
        # Through the one decoder, from the very text `_settle` would write: what runs is what replays.
        scenario = parse_conformance_scenario(scenario_text(data), f"<bgr fuzz {data['id']}>")
        timeout = max(EXAMPLE_TIMEOUT_FLOOR_SECONDS, self.target.clock.real_seconds(EXAMPLE_TIMEOUT_SCENARIO_SECONDS))
        began = time.monotonic()
        try:
            work = run_scenario(self.settings, self.target, scenario, admin, self.adapter_factory)
            return runner.run(asyncio.wait_for(work, timeout))
        except TimeoutError:
            return _hung(self.settings, self.target, scenario, time.monotonic() - began, timeout)
        except Exception as error:  # the agent's errors are caught inside run_scenario: this is the harness
            raise _Aborted(f"{type(error).__name__}: {one_line(str(error))}") from None


async def _settle(
    failure: _Failing,
    settings: RunSettings,
    target: Target,
    adapter_factory: AdapterFactory | None,
    report_dir: Path | None,
    seed: int,
    session: _Session,
) -> Counterexample:
    """Write the minimal scenario, then replay the file through the normal runner, as a user would."""
    name = f"fuzz-minimal-{failure.key}.yaml" if report_dir is not None else f"bgr-fuzz-minimal-{failure.key}.yaml"
    path = (report_dir or Path.cwd()) / name
    replay = reproduce_command(settings, target, str(path))
    found = (
        f"`bgr fuzz --agent {settings.agent} --seed {seed} --examples {session.examples}`, shrunk: the smallest "
        "scenario "
        f"found that fails {failure.key} (first failure at example {session.first_failure_at}, "
        f"scenarios run: {session.runs})"
    )
    data = {**failure.data, "description": f"Minimal counterexample for {failure.key}, found by {found}."}
    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Found by bgr fuzz (seed {seed}). Replay with:\n#   {replay}\n"
    text = header + scenario_text(data)
    path.write_text(text)
    replay_settings = dataclasses.replace(settings, seed=target.seed, time_scale=target.time_scale)
    replayed = (
        await run(replay_settings, [load_conformance_scenario(path)], adapter_factory=adapter_factory)
    ).scenarios[0]
    reproduced = _failure_key(replayed) == failure.key
    result = replayed if reproduced else failure.result
    return Counterexample(
        failure.key,
        data,
        path,
        replay,
        dataclasses.replace(result, reproduce=replay, description=data["description"]),
        reproduced,
        text,
    )


async def _open_admin(url: str) -> MockAdmin:
    admin = MockAdmin(url)
    try:
        return await admin.__aenter__()
    except BaseException:
        await admin.__aexit__(None, None, None)  # its session exists even when the health check failed
        raise


def scenario_text(data: dict[str, Any]) -> str:
    """A generated scenario as a scenario file (the one format, its version first)."""
    # libyaml's emitter when there is one: 10x the pure-Python one, on every example.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump({"version": FORMAT_VERSION, **data}, Dumper=dumper, sort_keys=False, width=120, allow_unicode=True)


class _Namespaced(ExampleDatabase):
    """Another database with every key prefixed."""

    def __init__(self, inner: ExampleDatabase, prefix: bytes) -> None:
        super().__init__()
        self._inner = inner
        self._prefix = prefix

    def save(self, key: bytes, value: bytes) -> None:
        self._inner.save(self._prefix + key, value)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return self._inner.fetch(self._prefix + key)

    def delete(self, key: bytes, value: bytes) -> None:
        self._inner.delete(self._prefix + key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self._inner.move(self._prefix + src, self._prefix + dest, value)


def _namespaced(directory: Path | None, prefix: bytes) -> ExampleDatabase | None:
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    return _Namespaced(DirectoryBasedExampleDatabase(str(directory)), prefix)


def _failure_key(result: ScenarioResult) -> str | None:
    if result.error is not None:
        return ERROR_KEY
    for check in result.checks:
        if check.status is Status.FAILURE and not check.expected_failure:
            return check.id
    return None


def _check_order(key: str) -> int:
    return FUZZ_CHECKS.index(key) if key in FUZZ_CHECKS else len(FUZZ_CHECKS)


def _verdict_line(result: ScenarioResult, key: str) -> str:
    if result.error is not None:
        return result.error
    for check in result.checks:
        if check.id == key:
            return check.measured
    return "passed"


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def _hung(
    settings: RunSettings, target: Target, scenario: ConformanceScenario, seconds: float, timeout: float
) -> ScenarioResult:
    error = f"TimeoutError: the scenario did not finish within {timeout:g} s"
    return scenario_result(settings, target, scenario, seconds, error=error)
