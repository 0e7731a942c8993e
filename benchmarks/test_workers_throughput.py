"""Fleet throughput: `bgr serve --workers 2 --store redis://` against one worker on the same Redis, in one run.

Each target is a real `bgr serve` on 127.0.0.1 (one redis-server started here, a database per
fleet; the one-process memory store as the reference without Redis). One asyncio load client
in this process keeps streams in flight on keep-alive connections; rounds of the targets are
interleaved, so a machine that gets busier part-way slows them alike. The summary at the end of
the session gives each target as a ratio of one worker; nothing here asserts on timing.

Measure:  .venv/bin/pytest benchmarks/test_workers_throughput.py --benchmark-enable
Smoke:    .venv/bin/pytest benchmarks   (the default --benchmark-disable: one short round each)
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import aiohttp
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.support import (
    ANSWER_TOKENS,
    EVENTS_PER_STREAM,
    STREAM_REQUEST,
    last_frame_is_completed,
    process_cpu_seconds,
)
from tests.redis_fleet import redis_server, serve_fleet

TARGETS = {"memory, 1 process": ("memory", 1), "redis, 1 worker": ("redis", 1), "redis, 2 workers": ("redis", 2)}
BASELINE = "redis, 1 worker"
CONCURRENCY = 16
"""Streams in flight: enough connections that the kernel spreads them over both workers."""
STREAMS_PER_ROUND = 1500
ROUNDS = 5
WARMUP_STREAMS = 300
SMOKE_STREAMS = 64
ROUND_TIMEOUT_SECONDS = 120.0


@dataclass(slots=True)
class FleetResult:
    rates: dict[str, list[float]] = field(default_factory=dict)
    """Events per wall second, by target, one per round."""
    events: dict[str, int] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    """CPU the target's processes used over all rounds: its workers, and redis-server for a Redis target."""
    measured: bool = False

    def per_cpu_second(self, name: str) -> float | None:
        cpu = self.cpu_seconds.get(name, 0.0)
        return self.events.get(name, 0) / cpu if cpu >= 0.05 else None

    def lines(self) -> list[str]:
        medians = {name: statistics.median(rates) for name, rates in self.rates.items() if rates}
        if BASELINE not in medians:
            return []
        lines = [] if self.measured else ["benchmarks disabled: one short smoke round per target, indicative only"]
        lines.append(f"{'target':<20}{'events/s':>10}{'ratio':>8}{'events/cpu-s':>14}{'ratio':>8}")
        base_cpu = self.per_cpu_second(BASELINE)
        for name, rate in medians.items():
            cpu = self.per_cpu_second(name)
            cpu_cells = ("n/a", "n/a") if cpu is None or base_cpu is None else (f"{cpu:,.0f}", f"{cpu / base_cpu:.2f}x")
            lines.append(
                f"{name:<20}{rate:>10,.0f}{rate / medians[BASELINE]:>7.2f}x{cpu_cells[0]:>14}{cpu_cells[1]:>8}"
            )
        lines.append(
            f"ratios to {BASELINE}; {EVENTS_PER_STREAM} events per stream, {CONCURRENCY} streams in flight; events/s "
            "is the median over rounds; events/cpu-s counts the CPU of the workers and of redis-server. On a busy "
            "machine the scheduler shares CPU per process, so two workers get more of it than one: "
            "compare events/cpu-s too."
        )
        return lines


class _Summary:
    """Registered as a plugin for this session only, so the figures print after the run."""

    def __init__(self, result: FleetResult) -> None:
        self.result = result

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        lines = self.result.lines()
        if lines:
            terminalreporter.section("fleet throughput (events/s, bgr serve --workers)")
            for line in lines:
                terminalreporter.write_line(line)


@dataclass(frozen=True, slots=True)
class Target:
    base_url: str
    pids: tuple[int, ...]
    """Processes whose CPU the target costs."""


@pytest.fixture(scope="module")
def targets() -> Iterator[dict[str, Target]]:
    options = ("--answer-tokens", str(ANSWER_TOKENS), "--host", "127.0.0.1")
    with redis_server() as redis, ExitStack() as stack:
        started = {}
        for db, (name, (store, workers)) in enumerate(TARGETS.items()):
            url = f"{redis.url}/{db}" if store == "redis" else "memory"
            fleet = stack.enter_context(serve_fleet(url, workers, *options))
            pids = (*fleet.pids, redis.process.pid) if store == "redis" else (fleet.process.pid,)
            started[name] = Target(fleet.base_url, pids)
        yield started


async def stream_round(session: aiohttp.ClientSession, url: str, streams: int) -> int:
    """`streams` streamed creates, CONCURRENCY at a time, each read whole and checked; the events received."""
    payload = json.dumps(STREAM_REQUEST).encode()
    tickets = iter(range(streams))

    async def client() -> int:
        events = 0
        for _ in tickets:
            async with session.post(url, data=payload, headers={"Content-Type": "application/json"}) as response:
                body = await response.read()
            count = body.count(b"\n\n")
            if response.status != 200 or count != EVENTS_PER_STREAM or not last_frame_is_completed(body):
                raise AssertionError(f"{url}: HTTP {response.status}, {count} events: {body[-200:]!r}")
            events += count
        return events

    async with asyncio.timeout(ROUND_TIMEOUT_SECONDS):
        return sum(await asyncio.gather(*(client() for _ in range(CONCURRENCY))))


@pytest.mark.benchmark(group="fleet-throughput")
def test_two_workers_against_one(
    benchmark: BenchmarkFixture, targets: dict[str, Target], request: pytest.FixtureRequest
) -> None:
    result = FleetResult(rates={name: [] for name in TARGETS}, measured=not benchmark.disabled)
    request.config.pluginmanager.register(_Summary(result), "bgr-fleet-summary")
    streams = STREAMS_PER_ROUND if result.measured else SMOKE_STREAMS
    with asyncio.Runner() as runner:
        sessions = {
            name: runner.run(_open_session()) for name in TARGETS
        }  # a pool per target: connections stay on their worker
        try:
            if result.measured:
                for name, target in targets.items():
                    runner.run(stream_round(sessions[name], f"{target.base_url}/responses", WARMUP_STREAMS))

            def one_round() -> int:
                events = 0
                for name, target in targets.items():
                    cpu = sum(map(process_cpu_seconds, target.pids))
                    started = time.perf_counter()
                    received = runner.run(stream_round(sessions[name], f"{target.base_url}/responses", streams))
                    result.rates[name].append(received / (time.perf_counter() - started))
                    result.cpu_seconds[name] = (
                        result.cpu_seconds.get(name, 0.0) + sum(map(process_cpu_seconds, target.pids)) - cpu
                    )
                    result.events[name] = result.events.get(name, 0) + received
                    events += received
                return events

            events = benchmark.pedantic(one_round, rounds=ROUNDS if result.measured else 1, iterations=1)
        finally:
            for session in sessions.values():
                runner.run(session.close())
    assert events == streams * EVENTS_PER_STREAM * len(TARGETS)
    benchmark.extra_info.update(
        events_per_second={name: round(statistics.median(rates)) for name, rates in result.rates.items()},
        ratio_to_one_worker={
            name: round(statistics.median(rates) / statistics.median(result.rates[BASELINE]), 3)
            for name, rates in result.rates.items()
        },
        events_per_cpu_second={name: result.per_cpu_second(name) for name in TARGETS},
        concurrency=CONCURRENCY,
        streams_per_round=streams,
    )


async def _open_session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=CONCURRENCY)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))
